"""Our Fuji initiator (FujiCamera) against our simulated X-T1, over real loopback sockets."""

from __future__ import annotations

import asyncio
import dataclasses
import io
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from PIL import Image

from conftest import count_operations
from ptpd.camera.fuji import FujiCamera
from ptpd.fuji.codes import FujiPropCode
from ptpd.fuji.errors import NameNotAccepted, PairingRefused
from ptpd.fuji.link import PAIRING_PROMPT
from ptpd.protocol.errors import ResponseError
from ptpd.simulator import start_simulator
from ptpd.simulator.fuji import session as sim_fuji_session

pytestmark = pytest.mark.timeout(60)


def run(body: Callable[[Any], Awaitable[None]], **options: Any) -> None:
    options.setdefault("pairing_delay", 0.0)

    async def main() -> None:
        sim = await start_simulator("fuji", "127.0.0.1", 0, **options)
        try:
            await body(sim)
        finally:
            await sim.close()

    asyncio.run(main())


def camera(sim: Any, **kw: Any) -> FujiCamera:
    return FujiCamera(sim.host, sim.port, event_port=sim.event_port, liveview_port=sim.liveview_port, timeout=10, **kw)


def test_bring_up_with_delayed_pairing_prompt_then_no_prompt() -> None:
    told: list[str] = []

    async def body(sim: Any) -> None:
        cam = camera(sim, on_pairing=told.append, pairing_notice_after=0.1)
        await cam.connect()
        assert cam.connected and cam.link.paired_with_prompt
        await cam.close()
        assert told == [PAIRING_PROMPT]
        # The camera now knows the name: a second connection is not held.
        cam = camera(sim, on_pairing=told.append, pairing_notice_after=0.1)
        await cam.connect()
        assert not cam.link.paired_with_prompt
        await cam.close()
        assert told == [PAIRING_PROMPT]

    run(body, pairing_delay=0.6)


def test_refused_pairing_is_a_clear_error() -> None:
    async def body(sim: Any) -> None:
        cam = camera(sim)
        with pytest.raises(PairingRefused, match="refused|closed"):
            await cam.connect()
        assert not cam.connected

    run(body, refuse_pairing=True, pairing_delay=0.1)


def test_unknown_name_with_strict_camera() -> None:
    async def body(sim: Any) -> None:
        cam = camera(sim, name="stranger")
        with pytest.raises(NameNotAccepted, match="did not accept the client name 'stranger'"):
            await cam.connect()
        cam = camera(sim, name="ptpd")
        await cam.connect()
        await cam.close()

    run(body, strict_name=True, paired_names=["ptpd"])


def test_info_describe_get_set() -> None:
    async def body(sim: Any) -> None:
        async with camera(sim) as cam:
            info = await cam.info()
            assert info.vendor == "fuji" and info.model == "X-T1" and "5.51" in info.version
            assert info.extra["app_version"] == "0x00020001"
            names = [e["name"] for e in info.extra["property_list"]]
            assert names == ["delay", "flashmode", "whitebalance", "exp-bias", "effect", "iso", "recmode", "focusmtr"]

            d = await cam.describe("iso")
            assert d.form == "enum" and len(d.allowed) == 25 and d.current.label == "S6400"
            assert d.allowed[0] == (0x80000190, "S400")

            assert (await cam.get("iso")).label == "S6400"
            assert (await cam.get("effect")).label == "Velvia"
            # human labels
            assert (await cam.set("iso", "800")).value == 800
            assert (await cam.set("iso", "L100")).value == 0x40000064
            assert (await cam.set("effect", "Velvia")).label == "Velvia"
            assert (await cam.set("effect", "classic chrome")).value == 11
            assert (await cam.set("exp-bias", "-1/3")).value == -333
            assert (await cam.set("exp-bias", "+1 2/3")).label == "1 2/3"
            assert (await cam.set("focusmtr", "4x4")).label == "4x4"
            assert (await cam.set("delay", "2s")).label == "2s"
            assert (await cam.set("whitebalance", "shade")).value == 0x8006
            # raw hex
            assert (await cam.set("iso", "0x80001900")).label == "S6400"
            assert (await cam.set("0xD001", "0x3")).label == "ASTIA"
            assert (await cam.set("film simulation", 1)).label == "PROVIA"
            # refused before sending, with what is allowed
            with pytest.raises(ValueError, match="allowed: off, 2s, 10s"):
                await cam.set("delay", "5s")
            with pytest.raises(ValueError, match="PROVIA, Velvia"):
                await cam.set("effect", "ETERNA")
            # the live-view size is a text property: by label or by rank
            sizes = [raw for raw, _ in (await cam.describe("liveview-size")).allowed if isinstance(raw, str)]
            assert len(sizes) == 3
            by_area = sorted(sizes, key=lambda s: int(s.split("x")[0]) * int(s.split("x")[1]))
            assert (await cam.set("liveview-size", "xga")).value == by_area[2]
            assert (await cam.set("liveview-size", by_area[1])).value == by_area[1]
            with pytest.raises(ValueError, match=", ".join(sizes)):
                await cam.set("liveview-size", "800x600")

    run(body)


@pytest.mark.parametrize(
    ("mode", "present", "absent"),
    [
        ("P", set(), {0x5007, 0xD240}),
        ("A", {0x5007}, {0xD240}),
        ("S", {0xD240}, {0x5007}),
        ("M", {0x5007, 0xD240}, set()),
    ],
)
def test_state_in_each_exposure_mode(mode: str, present: set[int], absent: set[int]) -> None:
    async def body(sim: Any) -> None:
        async with camera(sim) as cam:
            assert (await cam.set("exposure-program", mode)).label == mode
            state = await cam.state()
            codes = {v.code for v in state}
            labels = {v.name: v.label for v in state}
            assert labels["exposure-program"] == mode
            assert present <= codes and not (absent & codes)
            assert labels["effect"] == "Velvia" and labels["battery"] == "3/3"
            if 0x5007 in codes:
                assert labels["f-number"].startswith("f/") or labels["f-number"] == "auto"

    run(body)


def test_capture_twice_in_a_row_with_preview() -> None:
    async def body(sim: Any) -> None:
        async with camera(sim) as cam:
            before = (await cam.get("captures-remaining")).value
            for _ in range(2):
                shot = await cam.capture()
                assert shot.preview and shot.preview[:2] == b"\xff\xd8"
                Image.open(io.BytesIO(shot.preview)).verify()
            after = (await cam.get("captures-remaining")).value
            assert isinstance(before, int) and after == before - 2

    run(body)


def test_capture_reports_the_new_object_whose_download_carries_the_settings() -> None:
    async def body(sim: Any) -> None:
        async with camera(sim) as cam:
            await cam.set("iso", "800")
            await cam.set("effect", "classic chrome")
            await cam.set("exp-bias", "-2/3")
            before = {o.handle for o in await cam.objects()}
            sent: list[int] = []
            real = cam.link.transact

            async def spy(code: int, *args: Any, **kw: Any) -> Any:
                sent.append(int(code))
                return await real(code, *args, **kw)

            cam.link.transact = spy  # type: ignore[method-assign]  # a spy on this camera's link
            shot = await cam.capture()
            assert shot.handle is not None
            cam.link.transact = real  # type: ignore[method-assign]  # the spy removed
            # listed before the release and after CaptureComplete, never between the
            # release and the preview fetch (fuji-ptpip.md §7)
            assert sent == [0x1007, 0x100E, 0x9022, 0x1007, 0x1008]
            assert shot.preview and shot.preview[:2] == b"\xff\xd8"
            after = {o.handle: o for o in await cam.objects()}
            assert set(after) - before == {shot.handle}
            assert shot.object == after[shot.handle] and not shot.object.is_folder
            assert shot.object.filename.upper().endswith(".JPG")

            data = await cam.download(shot.handle)
            assert len(data) == shot.object.size
            img = Image.open(io.BytesIO(data))
            img.load()  # decodes the whole image: a valid JPEG
            assert img.format == "JPEG" and img.size == (shot.object.width, shot.object.height)
            exif = img.getexif()
            assert exif[0x010F] == "FUJIFILM" and exif[0x0110] == "X-T1"  # Make, Model
            sub = exif.get_ifd(0x8769)  # Exif IFD
            assert sub[0x8827] == 800  # ISOSpeedRatings
            assert float(sub[0x9204]) == pytest.approx(-2 / 3, abs=0.01)  # ExposureBiasValue
            assert b"Classic Chrome" in bytes(sub[0x9286])  # UserComment: the film simulation

            # a second shot reports its own, newer object
            again = await cam.capture()
            assert again.handle is not None and again.handle > shot.handle

    run(body)


def test_capture_without_object_listing_reports_no_handle(monkeypatch: pytest.MonkeyPatch) -> None:
    # A body without GetObjectHandles (the X-T1 in remote mode): the simulated camera
    # answers OperationNotSupported on the wire.
    monkeypatch.delitem(sim_fuji_session.HANDLERS, 0x1007)

    async def body(sim: Any) -> None:
        async with camera(sim) as cam:
            sent: list[int] = []
            real = cam.link.transact

            async def spy(code: int, *args: Any, **kw: Any) -> Any:
                sent.append(int(code))
                return await real(code, *args, **kw)

            cam.link.transact = spy  # type: ignore[method-assign]  # a spy on this camera's link
            for _ in range(2):
                shot = await cam.capture()
                assert shot.handle is None and shot.object is None
                assert shot.preview and shot.preview[:2] == b"\xff\xd8"
            assert sent.count(0x1007) == 1  # the refusal is remembered
            assert sent.count(0x9022) == 2 and 0x1008 not in sent

    run(body)


def test_liveview_100_frames_and_size() -> None:
    async def body(sim: Any) -> None:
        async with camera(sim) as cam:
            await cam.set_liveview_size("qvga")
            frames = []
            agen = cam.liveview()
            async for f in agen:
                frames.append(f)
                if len(frames) == 100:
                    break
            await agen.aclose()
            assert len(frames) == 100
            assert all(isinstance(f.jpeg, memoryview) and bytes(f.jpeg[:2]) == b"\xff\xd8" for f in frames)
            img = Image.open(io.BytesIO(bytes(frames[-1].jpeg)))
            assert img.size == (frames[-1].width, frames[-1].height)
            assert img.size[0] <= 320
            assert [f.time for f in frames] == sorted(f.time for f in frames)
            assert len({f.counter for f in frames}) > 50
            # still usable for commands afterwards
            assert (await cam.get("effect")).label == "Velvia"

    run(body, liveview_fps=200.0)


def test_objects_and_download() -> None:
    async def body(sim: Any) -> None:
        async with camera(sim) as cam:
            objs = [o for o in await cam.objects() if not o.is_folder]
            assert objs, "the simulated card starts with pictures"
            data = await cam.download(objs[0].handle)
            assert len(data) == objs[0].size and data[:2] == b"\xff\xd8"
            tail = await cam.download(objs[0].handle, offset=100)
            assert tail == data[100:]
            # the steps need the size: one GetObjectInfo, none when the caller knows it
            seen = count_operations(sim)
            assert await cam.download(objs[0].handle) == data
            assert seen[0x1008] == 1  # GetObjectInfo
            assert await cam.download(objs[0].handle, size=objs[0].size) == data
            assert seen[0x1008] == 1 and seen[0x101B] >= 2  # GetPartialObject steps for both

    run(body)


# -- property round trips: one transaction each once described ------------------------------------

GET_DESC, GET_VALUE, SET_VALUE = 0x1014, 0x1015, 0x1016


def test_get_and_set_are_one_transaction_each() -> None:
    async def body(sim: Any) -> None:
        async with camera(sim) as cam:  # the 0x902B list describes iso, effect, delay, ...
            seen = count_operations(sim)
            assert (await cam.get("iso")).label == "S6400"
            assert seen == {GET_VALUE: 1}
            for value, raw in (("800", 800), ("L100", 0x40000064), ("S6400", 0x80001900), ("3200", 3200)):
                seen.clear()
                got = await cam.set("iso", value)
                assert seen == {SET_VALUE: 1}, value
                assert got.value == raw and got.name == "iso"
                assert sim.device.values[FujiPropCode.ExposureIndex] == raw  # the camera took it
                seen.clear()
                assert await cam.get("iso") == got
                assert seen == {GET_VALUE: 1}
            seen.clear()
            assert (await cam.set("effect", "classic chrome")).value == 11
            assert (await cam.set("delay", "2s")).label == "2s"
            assert seen == {SET_VALUE: 2}
            # not in the list: described by the first set only
            seen.clear()
            assert (await cam.set("liveview-size", "vga")).label == "640x480"
            small = await cam.set("liveview-size", "qvga")  # the smallest the body offers
            assert seen == {GET_DESC: 1, SET_VALUE: 2}
            assert small.value == sim.device.values[FujiPropCode.LiveViewImageSize] != "640x480"
            # a refused value is refused before anything is sent
            seen.clear()
            with pytest.raises(ValueError, match="S400"):
                await cam.set("iso", "123")
            assert seen == {}

    run(body)


def test_camera_refusal_drops_the_cached_description() -> None:
    async def body(sim: Any) -> None:
        async with camera(sim) as cam:
            code = FujiPropCode.FilmSimulation
            spec = sim.device.specs[code]
            assert 11 in spec.values
            # the body stops offering classic chrome, and tells no one
            sim.device.specs[code] = dataclasses.replace(spec, values=tuple(v for v in spec.values if v != 11))
            seen = count_operations(sim)
            with pytest.raises(ResponseError) as info:
                await cam.set("effect", "classic chrome")
            assert info.value.code == 0x201C
            with pytest.raises(ValueError, match="allowed"):
                await cam.set("effect", "classic chrome")  # described again: refused here
            assert seen == {SET_VALUE: 1, GET_DESC: 1}

    run(body)
