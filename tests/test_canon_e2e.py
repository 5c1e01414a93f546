"""CanonCamera against the simulated EOS body over real sockets: the session set-up,
properties from GetEvent, the remote release to the card and to the host's RAM, the
EOS M's release, live view, the lens drive, polled events, pairing, and ``--vendor auto``; with the
transactions each operation costs."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from conftest import count_operations
from ptpd.camera import InitFailed, Target, vendor, verify
from ptpd.camera.auto import AutoCamera
from ptpd.camera.canon import CanonCamera
from ptpd.camera.generic import PAIRING_PROMPT, GenericCamera
from ptpd.canon.codes import CanonOperationCode as EOS
from ptpd.canon.codes import CanonPropCode as C
from ptpd.canon.packets import encode_set_property
from ptpd.protocol.codes import OperationCode as OP
from ptpd.simulator import start_simulator
from ptpd.simulator.canon.device import LENS_POSITIONS
from ptpd.simulator.jpeg import read_exif

pytestmark = pytest.mark.timeout(60)


def sequence(sim: Any) -> list[int]:
    """The operations the body receives from now on, in order."""
    seen: list[int] = []
    plan = sim.faults.on_transaction

    def record(code: int, *args: Any, **kw: Any) -> Any:
        seen.append(code)
        return plan(code, *args, **kw)

    sim.faults.on_transaction = record
    return seen


def run(
    body: Callable[[Any, CanonCamera], Awaitable[None]],
    *,
    connect: bool = True,
    camera: dict[str, Any] | None = None,
    **options: Any,
) -> None:
    async def main() -> None:
        sim = await start_simulator("canon", "127.0.0.1", 0, initial_images=options.pop("initial_images", 1), **options)
        cam = CanonCamera("127.0.0.1", sim.port, guid=uuid.uuid4().bytes, **(camera or {}))
        try:
            if connect:
                await cam.connect()
            await body(sim, cam)
        finally:
            await cam.close()
            await sim.close()

    asyncio.run(main())


def test_set_up_follows_libgphoto2s_order_and_reads_the_dump() -> None:
    async def t(sim: Any, cam: CanonCamera) -> None:
        ops = sequence(sim)
        await cam.connect()
        assert ops == [
            OP.OpenSession,
            OP.GetDeviceInfo,
            EOS.SetRemoteMode,
            EOS.SetEventMode,
            EOS.SetRequestOLCInfoGroup,
            EOS.GetEvent,
            EOS.GetEvent,
        ]  # the dump, then an empty reply
        (session,) = sim.device.sessions
        assert (session.remote_mode, session.event_mode) == (1, 1)
        assert len(cam.eos.values) == len(sim.device.values) and cam.eos.allowed[C.ISOSpeed][1] == 0x48
        info = await cam.info()
        assert (info.vendor, info.manufacturer, info.model) == ("canon", "Canon Inc.", "Canon EOS 1300D")
        assert info.extra["camera_name"] == "EOS1300D" and info.extra["vendor_extension_id"] == 6
        assert C.ISOSpeed in info.properties and not info.extra["eos_m"]

    run(t, connect=False)


def test_properties_read_and_written_with_labels_and_counted_transactions() -> None:
    async def t(sim: Any, cam: CanonCamera) -> None:
        state = {pv.name: pv.label for pv in await cam.state()}
        assert state["iso"] == "100" and state["shutter-speed"] == "1/250" and state["f-number"] == "f/5.6"
        assert (
            state["exp-bias"] == "0" and state["whitebalance"] == "auto" and state["image-format"] == "large fine jpeg"
        )
        assert state["exposure-program"] == "M" and state["battery"] == "100%"
        ops = count_operations(sim)
        assert (await cam.set("iso", "400")).label == "400"
        assert (await cam.set("shutter", "1/125")).value == 0x70
        assert (await cam.set("exp-bias", "-2/3")).value == 0xFB
        assert (await cam.set("effect", "Monochrome")).label == "monochrome"
        assert ops == {EOS.SetDevicePropValueEx: 4}  # one transaction a set, no read-back
        assert sim.device.values[C.ISOSpeed] == 0x58 and sim.device.values[C.ExpCompensation] == 0xFB
        assert (await cam.get("iso")).label == "400"
        before = sum(ops.values())
        assert (await cam.get("f-number")).label == "f/5.6"  # fresh state: no transaction
        assert sum(ops.values()) == before
        d = await cam.describe("iso")
        assert d.form == "enum" and d.writable and [label for _, label in d.allowed][:3] == ["auto", "100", "200"]
        with pytest.raises(ValueError, match="allowed: auto, 100, 200"):
            await cam.set("iso", "125")  # not this body's: no transaction
        with pytest.raises(ValueError, match=r"cannot read '0.1'.*allowed: -5, -4 2/3"):
            await cam.set("exp-bias", "0.1")  # refused with the body's steps, not rounded
        with pytest.raises(ValueError, match="read-only"):
            await cam.set("battery", "50%")
        with pytest.raises(ValueError, match="not offered by this camera"):
            await cam.get("flashmode")
        assert ops[EOS.SetDevicePropValueEx] == 4
        unnamed = await cam.get(0xD1A9)  # a property ptpd's table leaves unnamed
        assert (unnamed.name, unnamed.value) == ("0xD1A9", 2)
        assert "iso" in await cam.property_names() and "0xD1A9" in await cam.property_names()

    run(t)


def test_capture_to_the_card() -> None:
    async def t(sim: Any, cam: CanonCamera) -> None:
        await cam.set("iso", "800")
        ops = sequence(sim)
        shot = await cam.capture()
        assert shot.object is not None and shot.object.filename == "IMG_0002.JPG"
        assert (shot.object.width, shot.object.height) == (1536, 1024) and shot.object.storage_id == 0x00020001
        release = [op for op in ops if op in (EOS.RemoteReleaseOn, EOS.RemoteReleaseOff)]
        assert release == [EOS.RemoteReleaseOn, EOS.RemoteReleaseOn, EOS.RemoteReleaseOff, EOS.RemoteReleaseOff]
        t_ = shot.transfer()
        assert t_ is not None
        got = await cam.fetch(t_)
        verify(got.data, got.size, got.format, got.filename)
        assert read_exif(bytes(got.data))["iso"] == 800
        assert shot.handle is not None
        await cam.delete(shot.handle)
        assert OP.DeleteObject in ops and shot.handle not in sim.device.store

    run(t)


def test_capture_to_the_hosts_ram_is_released_after_the_download() -> None:
    async def t(sim: Any, cam: CanonCamera) -> None:
        ops = sequence(sim)
        assert (await cam.set("capture-target", "pc")).value == 4
        assert EOS.PCHDDCapacity in ops  # the body counts its shots from the host's room
        shot = await cam.capture()
        assert shot.object is not None and shot.object.storage_id == 0 and shot.handle in sim.device.ram
        t_ = shot.transfer()
        assert t_ is not None
        got = await cam.fetch(t_)
        verify(got.data, got.size, got.format, got.filename)
        assert OP.GetPartialObject in ops and ops[-1] == EOS.TransferComplete and not sim.device.ram
        assert shot.handle is not None
        await cam.delete(shot.handle)
        assert OP.DeleteObject not in ops  # nothing left on the camera

    run(t)


def test_an_eos_m_releases_once_and_streams_on_its_own_output() -> None:
    async def t(sim: Any, cam: CanonCamera) -> None:
        (session,) = sim.device.sessions
        assert cam.eos_m and session.remote_mode == 0x15
        ops = sequence(sim)
        shot = await cam.capture()
        assert shot.object is not None and shot.object.filename == "IMG_0002.JPG"
        assert [op for op in ops if op in (EOS.RemoteReleaseOn, EOS.RemoteReleaseOff)] == [
            EOS.RemoteReleaseOn,
            EOS.RemoteReleaseOff,
        ]
        frames = cam.liveview()
        first = await asyncio.wait_for(frames.__anext__(), 5)
        await frames.aclose()
        assert first.jpeg[:2] == b"\xff\xd8"
        assert sim.device.values[C.EVFOutputDevice] == 0  # put back

    run(t, model="Canon EOS M")


def test_live_view_frames_and_the_output_put_back() -> None:
    async def t(sim: Any, cam: CanonCamera) -> None:
        frames = cam.liveview()
        got = []
        async for f in frames:
            got.append(f)
            if len(got) == 5:
                break
        assert sim.device.values[C.EVFOutputDevice] == 2  # PC while it runs
        await frames.aclose()
        assert [f.counter for f in got] == [1, 2, 3, 4, 5]
        assert all((f.width, f.height) == (1056, 704) and bytes(f.jpeg[:2]) == b"\xff\xd8" for f in got)
        assert sim.device.values[C.EVFOutputDevice] == 0 and cam.eos.values[C.EVFOutputDevice] == 0

    run(t)


def test_drive_lens_steps_the_focus_in_live_view() -> None:
    """DriveLens moves the lens only in live view (turned on first); the pictures are
    focused where it stands: the ground at the bottom sharp near, the horizon far."""
    from test_jobs import sharpness

    async def shot(cam: CanonCamera) -> bytes:
        s = await cam.capture()
        tr = s.transfer()
        assert tr is not None  # a capture's picture is known to the camera
        got = await cam.fetch(tr)
        return bytes(got.data)

    async def t(sim: Any, cam: CanonCamera) -> None:
        assert await cam.supports_focus_drive() and cam.focus_drive_settings == ("evf-output",)
        assert (await cam.get("evf-output")).value == 0 and sim.device.lens is None
        ops = sequence(sim)
        assert await cam.focus_step(0)  # readies: live view on, nothing moved
        assert sim.device.values[C.EVFOutputDevice] == 2 and sim.device.lens is None and EOS.DriveLens not in ops
        assert await cam.focus_step(-LENS_POSITIONS)  # all the way near (it stops at the end)
        # a drive each, and a few more refused while live view was starting (waited out)
        assert sim.device.lens == 0 and LENS_POSITIONS <= ops.count(EOS.DriveLens) <= LENS_POSITIONS + 5
        shots["near"] = await shot(cam)
        assert await cam.focus_step(LENS_POSITIONS)
        assert sim.device.lens == LENS_POSITIONS - 1
        shots["far"] = await shot(cam)

    shots: dict[str, bytes] = {}
    run(t)
    bands = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in shots.items():
            path = f"{tmp}/{name}.jpg"
            with open(path, "wb") as f:
                f.write(data)
            bands[name] = (sharpness(path, 0.95, 1.0), sharpness(path, 0.35, 0.4))  # the near ground, the hills
    assert bands["near"][0] > 10 * bands["far"][0] and bands["far"][1] > 10 * bands["near"][1], bands


def test_polled_events_report_changes_and_new_objects() -> None:
    async def t(sim: Any, cam: CanonCamera) -> None:
        seen: list[Any] = []

        async def listen() -> None:
            async for e in cam.events():
                seen.append(e)

        task = asyncio.create_task(listen())
        await asyncio.sleep(0.1)
        # a change the camera makes by itself (here: through another path than set())
        await cam.raw(EOS.SetDevicePropValueEx, (), encode_set_property(C.WhiteBalance, (1).to_bytes(4, "little")))
        await cam.capture()
        await asyncio.sleep(0.5)
        names = [(e.name, e.params[:1]) for e in seen]
        assert ("property_changed", (C.WhiteBalance,)) in names and ("object_added", (4,)) in names
        assert (await cam.get("whitebalance")).label == "daylight"
        sim.drop_all()
        await asyncio.wait_for(task, 5)  # the events end with the link

    run(t)


def test_pairing_waits_for_the_user_and_tries_again_within_the_window() -> None:
    told: list[str] = []
    timing = {"timeout": 1.5, "pairing_timeout": 6.0, "on_pairing": told.append}

    async def held(sim: Any, cam: CanonCamera) -> None:
        cam.pairing_notice_after = 0.3
        await cam.connect()  # the Ack comes 0.8 s later: the user was told at 0.3 s
        assert told == [PAIRING_PROMPT] and cam.paired_with_prompt and sim.pairing_prompts == 1

    run(held, connect=False, camera=timing, pairing_delay=0.8)
    told.clear()

    async def refused(sim: Any, cam: CanonCamera) -> None:
        await cam.connect()  # refused at 0.3 s (prompt still up), tried again, accepted
        assert told and cam.paired_with_prompt and sim.pairing_prompts == 1

    run(refused, connect=False, camera=timing, pairing_delay=1.0, pairing_hold=0.3)

    async def declined(sim: Any, cam: CanonCamera) -> None:
        with pytest.raises(InitFailed, match="did not accept this computer"):
            await cam.connect()

    run(
        declined,
        connect=False,
        camera=dict(timing, timeout=0.5, pairing_timeout=0.6),
        pairing_delay=0.1,
        pairing_hold=0.2,
        refuse_pairing=True,
    )


def test_auto_takes_the_dialect_from_device_info() -> None:
    async def t(kind: str) -> type:
        sim = await start_simulator(kind, "127.0.0.1", 0, initial_images=1)
        target = Target("127.0.0.1", (sim.port,) * 3, uuid.uuid4().bytes, "pytest", 5.0)
        cam = vendor("auto").make(target)
        assert isinstance(cam, AutoCamera)
        try:
            ops = sequence(sim)
            await cam.connect()
            assert ops.count(OP.OpenSession) == 1  # the standard session is taken over, not opened twice
            info = await cam.info()
            assert info.vendor == ("canon" if kind == "canon" else "generic")
            assert (await cam.get("iso")).label == ("100" if kind == "canon" else "200")  # each body's default
            return type(cam.camera)
        finally:
            await cam.close()
            await sim.close()

    assert asyncio.run(t("canon")) is CanonCamera
    assert asyncio.run(t("generic")) is GenericCamera


def test_a_standard_property_named_like_an_eos_one_goes_by_its_code() -> None:
    cam = CanonCamera("127.0.0.1")
    cam.eos.values.update({C.BatteryPower: 2, 0x5001: 50, 0x5003: "640x480"})
    assert (cam._name(C.BatteryPower), cam._name(0x5001), cam._name(0x5003)) == ("battery", "0x5001", "imagesize")
    assert cam._resolve("battery") == (C.BatteryPower, True) and cam._resolve("0x5001") == (0x5001, True)


def test_faults_a_busy_answer_and_a_link_dropped_mid_download_then_resumed() -> None:
    from ptpd.camera import ResponseError, TransferInterrupted

    async def t(sim: Any, cam: CanonCamera) -> None:
        sim.faults.busy_next()
        with pytest.raises(ResponseError) as busy:
            await cam.set("iso", "400")
        assert busy.value.code == 0x2019 and cam.eos.values[C.ISOSpeed] == 0x48  # not kept
        assert (await cam.set("iso", "400")).label == "400"
        shot = await cam.capture()
        t_ = shot.transfer()
        assert t_ is not None
        sim.faults.drop_next("mid-data", 0.5)
        with pytest.raises(TransferInterrupted):
            await cam.fetch(t_)
        cam2 = CanonCamera("127.0.0.1", sim.port, guid=cam.guid)
        await cam2.connect()  # a new session, as the daemon's reconnect makes
        try:
            got = await cam2.resume(t_)
            verify(got.data, got.size, got.format, got.filename)
            assert read_exif(bytes(got.data))["iso"] == 400 and t_.resumes == 1
        finally:
            await cam2.close()

    run(t)
