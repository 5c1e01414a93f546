"""The simulator's options for camera-link benchmarks: pictures of a real camera's size,
a camera that answers in a spread of times, and the Fuji body's VendorExtensionID."""

from __future__ import annotations

import asyncio
import io
import random
import subprocess
import sys
import time
from typing import Any

import pytest
from PIL import Image

from ptpd.protocol import datasets
from ptpd.protocol.codes import OperationCode as OP
from ptpd.simulator import start_simulator
from ptpd.simulator.fuji.device import FujiDevice
from ptpd.simulator.fuji.profiles import get_profile
from ptpd.simulator.generic import CameraConfig, GenericCamera
from ptpd.simulator.jpeg import encode_jpeg, pad_jpeg, read_exif
from ptpd.simulator.serving import AnswerTime
from test_simulator_helpers import SimClient

pytestmark = pytest.mark.timeout(60)
MIB = 1024 * 1024


def test_padding_keeps_the_jfif_and_exif_blocks_first() -> None:
    src = encode_jpeg(Image.new("RGB", (64, 48), (200, 20, 20)), exif={"make": "ptpd", "iso": 640})
    big = pad_jpeg(src, 200_000)
    assert len(big) == 200_000
    # SOI, JFIF (APP0) and EXIF (APP1) come first, as encoded; the padding after them
    lead = src.index(b"Exif") + 8
    assert big[:lead] == src[:lead] and big.index(b"\xff\xef") > lead
    assert read_exif(big)["iso"] == 640
    with Image.open(io.BytesIO(big)) as im:
        im.load()
        assert im.size == (64, 48)


def test_image_mb_makes_every_picture_that_size_and_a_real_jpeg() -> None:
    cam = GenericCamera(CameraConfig(initial_images=2, image_mb=1.5))
    files = [o for o in cam.store if not o.is_folder]
    assert len(files) == 2
    for o in files:
        assert o.size == int(1.5 * MIB) and o.data[:2] == b"\xff\xd8" and o.data[-2:] == b"\xff\xd9"
        assert read_exif(o.data)["make"] == "ptpd"
        with Image.open(io.BytesIO(o.data)) as im:
            im.load()
            assert im.size == o.image_size
    plain = GenericCamera(CameraConfig(initial_images=1))
    (o,) = [o for o in plain.store if not o.is_folder]
    assert o.size < MIB  # without the option: as encoded


def test_answer_time_is_latency_plus_a_seeded_uniform_spread() -> None:
    assert [AnswerTime(7.0).next_ms() for _ in range(3)] == [7.0, 7.0, 7.0]
    a, b = AnswerTime(5.0, 15.0, seed=3), AnswerTime(5.0, 15.0, seed=3)
    xs = [a.next_ms() for _ in range(500)]
    assert xs == [b.next_ms() for _ in range(500)]  # the same dice, the same delays
    assert all(5.0 <= x <= 20.0 for x in xs)
    assert min(xs) < 6.0 and max(xs) > 19.0  # spread over the whole range
    with pytest.raises(ValueError):
        AnswerTime(-1.0)


def test_generic_camera_waits_the_jittered_time_per_transaction() -> None:
    n, jitter = 8, 40.0
    dice = random.Random(0)  # the simulator's own dice, seed 0
    least = sum(dice.uniform(0.0, jitter) for _ in range(n + 1)) / 1000  # + the OpenSession

    async def main() -> float:
        sim = await start_simulator("generic", "127.0.0.1", 0, initial_images=0, latency_jitter_ms=jitter)
        try:
            t0 = time.monotonic()
            c = await SimClient.connect(sim.port)
            for _ in range(n):
                await c.transact(OP.GetStorageIDs)
            took = time.monotonic() - t0
            await c.close()
            return took
        finally:
            await sim.close()

    took = asyncio.run(asyncio.wait_for(main(), 30))
    # a lower bound only: each delay is a sleep, never shorter than drawn
    assert took >= least - 0.002, (took, least)


def test_fuji_device_info_reports_the_vendor_extension_asked_for() -> None:
    dev = FujiDevice(get_profile(None), initial_images=0)
    assert datasets.DeviceInfo.decode(dev.device_info([OP.GetDeviceInfo])).vendor_extension_id == 0
    dev.vendor_extension_id = 0x0E

    async def main() -> Any:
        sim = await start_simulator(
            "fuji", "127.0.0.1", 0, initial_images=0, vendor_extension_id=0x0E, latency_jitter_ms=2.0
        )
        try:
            return sim.device.vendor_extension_id, sim.answer_time.jitter_ms
        finally:
            await sim.close()

    assert datasets.DeviceInfo.decode(dev.device_info([OP.GetDeviceInfo])).vendor_extension_id == 0x0E
    assert asyncio.run(asyncio.wait_for(main(), 30)) == (0x0E, 2.0)


def test_simulate_cli_takes_jitter_and_image_size() -> None:
    cp = subprocess.run(
        [sys.executable, "-m", "ptpd", "simulate", "--help"], capture_output=True, text=True, timeout=30
    )
    assert cp.returncode == 0 and "--jitter" in cp.stdout and "--image-mb" in cp.stdout
    cp = subprocess.run(
        [sys.executable, "-m", "ptpd", "simulate", "--vendor", "fuji", "--image-mb", "2"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert cp.returncode != 0 and "--image-mb is for --vendor generic only" in cp.stderr
