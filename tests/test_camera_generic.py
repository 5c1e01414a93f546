"""GenericCamera against the generic simulator over real sockets, and the property labels."""

from __future__ import annotations

import asyncio
import dataclasses
import io
from typing import Any

import pytest

from conftest import count_operations
from ptpd.camera import properties as props
from ptpd.camera.generic import GenericCamera, event_name
from ptpd.protocol.errors import ResponseError

pytestmark = pytest.mark.timeout(60)


# -- labels, from ptp.md §6 units (not from our own formatter) ---------------------------------


@pytest.mark.parametrize(
    ("code", "raw", "label"),
    [
        (0x500D, 40, "1/250"),  # 1/10000 s units: 40 = 1/250 s
        (0x500D, 100, "1/100"),
        (0x500D, 3333, "1/3"),
        (0x500D, 167, "1/60"),
        (0x500D, 20000, "2s"),
        (0x500D, 5000, "1/2"),
        (0x500D, 6000, "0.6s"),
        (0x5007, 280, "f/2.8"),  # ×100
        (0x5007, 1100, "f/11"),
        (0x5007, 0xFFFF, "auto"),
        (0x5010, 667, "+2/3"),  # 1/1000 EV
        (0x5010, -333, "-1/3"),
        (0x5010, -334, "-1/3"),
        (0x5010, 0, "0"),
        (0x5010, 1333, "+1 1/3"),
        (0x5010, -2000, "-2"),
        (0x5010, 500, "+1/2"),
        (0x500F, 800, "800"),
        (0x500F, 0xFFFF, "auto"),
        (0x5005, 2, "automatic"),
        (0x5005, 6, "tungsten"),
        (0x5005, 0x8001, "0x8001"),  # vendor value
        (0x500C, 2, "off"),
        (0x500A, 3, "automatic macro"),
        (0x500E, 3, "aperture priority"),
        (0x5017, 2, "black and white"),
        (0x501C, 1, "center spot"),
        (0x5012, 0, "off"),
        (0x5012, 2000, "2s"),
        (0x5001, 75, "75%"),
        (0x5003, "6000x4000", "6000x4000"),
    ],
)
def test_labels_both_ways(code, raw, label):
    assert props.format_value(code, raw) == label
    back = props.parse_value(code, label, is_string=isinstance(raw, str))
    assert props.format_value(code, back) == label


@pytest.mark.parametrize(
    ("code", "text", "allowed", "raw"),
    [
        (0x500D, "1/250", None, 40),
        (0x500D, "2s", None, 20000),
        (0x500D, "0x28", None, 40),  # raw hex
        (0x500D, "40", None, 40),  # a bare integer is raw
        (0x5007, "f/2.8", None, 280),
        (0x5007, "F2.8", None, 280),
        (0x5007, "2.8", None, 280),
        (0x5010, "+1/3", [-667, -334, 0, 334, 667], 334),  # snapped to the camera's value
        (0x5010, "-1/3", [-667, -333, 0, 333, 667], -333),
        (0x5010, "2/3", None, 667),
        (0x5010, "-1.5", None, -1500),
        (0x500F, "auto", None, 0xFFFF),
        (0x500F, "ISO 400", None, 400),
        (0x5005, "Automatic", None, 2),
        (0x5005, "auto", None, 2),
        (0x5005, "one-push automatic", None, 3),
        (0x5005, "0x2", None, 2),
        (0x5017, "sepia", None, 3),
        (0x5012, "10s", None, 10000),
    ],
)
def test_parse_spellings(code, text, allowed, raw):
    assert props.parse_value(code, text, allowed) == raw


def test_unparseable_value_is_value_error():
    with pytest.raises(ValueError):
        props.parse_value(0x5005, "purple")


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("iso", 0x500F),
        ("whitebalance", 0x5005),
        ("exposure", 0x500D),
        ("exp-bias", 0x5010),
        ("effect", 0x5017),
        ("delay", 0x5012),
        ("flashmode", 0x500C),
        ("focusmtr", 0x501C),
        ("battery", 0x5001),
        ("fnumber", 0x5007),
        ("focusmode", 0x500A),
        ("program", 0x500E),
        ("imagesize", 0x5003),
        ("ISO", 0x500F),
        ("ExposureIndex", 0x500F),
        ("0x500F", 0x500F),
        ("500f", 0x500F),
        ("20495", 0x500F),
        (0x500F, 0x500F),
    ],
)
def test_property_names(name, code):
    assert props.property_code(name) == code


def test_unknown_property_name():
    with pytest.raises(ValueError):
        props.property_code("loudness")
    assert props.property_name(0xD0FF) == "0xD0FF"
    assert set(props.UNIFIED_NAMES) <= {p.name for p in props.PROPERTIES}


def test_event_names():
    assert event_name(0x4002) == "object_added"
    assert event_name(0x400D) == "capture_complete"
    assert event_name(0x4006) == "property_changed"
    assert event_name(0xC001) == "event_0xC001"


# -- against the simulator --------------------------------------------------------------------


def with_camera(fn):
    """Run ``fn(cam, sim)`` with a connected GenericCamera on a fresh generic simulator."""

    def run() -> Any:
        simulator = pytest.importorskip("ptpd.simulator")

        async def main() -> Any:
            sim = await simulator.start_simulator("generic", "127.0.0.1", 0)
            cam = GenericCamera(sim.host, sim.port, timeout=5)
            try:
                await cam.connect()
                return await fn(cam, sim)
            finally:
                await cam.close()
                await sim.close()

        return asyncio.run(asyncio.wait_for(main(), 50))

    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run


@with_camera
async def test_info_and_names(cam, sim):
    assert cam.connected
    info = await cam.info()
    assert info.vendor == "generic" and info.model
    assert 0x100E in info.operations
    names = await cam.property_names()
    for n in ("iso", "whitebalance", "exposure", "exp-bias", "battery", "fnumber"):
        assert n in names


@with_camera
async def test_get_set_describe(cam, sim):
    desc = await cam.describe("iso")
    assert desc.form == "enum" and desc.writable
    labels = [label for _, label in desc.allowed]
    target = next(label for label in labels if label != desc.current.label)
    got = await cam.set("iso", target)
    assert got.label == target and got.name == "iso"
    assert (await cam.get("0x500F")).label == target
    with pytest.raises(ValueError) as info:
        await cam.set("iso", "123")
    for label in labels:  # the message lists what is allowed
        assert label in str(info.value)
    got = await cam.set("exposure", "1/250")
    assert got.value == 40 and got.label == "1/250"
    got = await cam.set("whitebalance", "tungsten")
    assert got.value == 6
    got = await cam.set("exp-bias", "-1/3")
    assert got.label == "-1/3"
    with pytest.raises(ValueError):
        await cam.set("battery", 50)  # read-only
    with pytest.raises(ValueError):
        await cam.get("loudness")


@with_camera
async def test_state_lists_every_advertised_property(cam, sim):
    state = await cam.state()
    info = await cam.info()
    assert {p.code for p in state} == set(info.properties)
    assert all(p.label for p in state if p.name != "datetime" or p.value)


@with_camera
async def test_capture_download_and_exif(cam, sim):
    from PIL import Image

    await cam.set("iso", "800")
    before = {o.handle for o in await cam.objects()}
    result = await cam.capture()
    assert result.handle is not None and result.handle not in before
    assert result.object is not None and not result.object.is_folder
    seen = []
    data = await cam.download(result.handle, progress=lambda done, total: seen.append((done, total)))
    assert len(data) == result.object.size
    assert seen[-1] == (len(data), len(data))
    img = Image.open(io.BytesIO(data))
    assert img.format == "JPEG"
    exif = img.getexif().get_ifd(0x8769)
    assert exif.get(0x8827) == 800  # ISOSpeedRatings: the setting in force
    # partial download from an offset matches the tail
    tail = await cam.download(result.handle, offset=1000)
    assert tail == data[1000:]
    # the GetObject path gives the same bytes
    cam._supports = lambda op: op != 0x101B
    assert await cam.download(result.handle) == data
    assert await cam.download(result.handle, offset=10) == data[10:]
    await cam.delete(result.handle)
    assert result.handle not in {o.handle for o in await cam.objects()}
    with pytest.raises(ResponseError):
        await cam.download(result.handle)


@with_camera
async def test_objects_walk(cam, sim):
    objs = await cam.objects()
    folders = [o for o in objs if o.is_folder]
    files = [o for o in objs if not o.is_folder]
    assert any(o.filename == "DCIM" for o in folders)
    assert files and all(o.size > 0 for o in files)
    by_handle = {o.handle: o for o in objs}
    assert all(o.parent == 0 or o.parent in by_handle for o in objs)


@with_camera
async def test_events_with_names(cam, sim):
    got: list = []

    async def collect():
        async for e in cam.events():
            got.append(e)

    task = asyncio.create_task(collect())
    await asyncio.sleep(0.05)
    await cam.set("whitebalance", "daylight")
    await cam.capture()
    for _ in range(100):
        names = {e.name for e in got}
        if {"property_changed", "object_added", "capture_complete"} <= names:
            break
        await asyncio.sleep(0.02)
    names = {e.name for e in got}
    assert {"property_changed", "object_added", "capture_complete"} <= names
    changed = next(e for e in got if e.name == "property_changed")
    assert changed.params[0] == 0x5005
    task.cancel()


@with_camera
async def test_raw_and_keepalive(cam, sim):
    r = await cam.raw(0x1001)
    assert r.code == 0x2001 and len(r.data) > 20
    r = await cam.raw(0x9999)
    assert r.code == 0x2005  # OperationNotSupported is returned, not raised
    await cam.keepalive()


def test_close_is_idempotent():
    simulator = pytest.importorskip("ptpd.simulator")

    async def main():
        sim = await simulator.start_simulator("generic", "127.0.0.1", 0)
        try:
            cam = GenericCamera(sim.host, sim.port, timeout=5)
            await cam.close()  # never connected
            await cam.connect()
            await cam.close()
            await cam.close()
            assert not cam.connected
            await cam.connect()  # a second session on the same object
            assert cam.connected
            await cam.close()
        finally:
            await sim.close()

    asyncio.run(asyncio.wait_for(main(), 30))


# -- the description cache: one transaction per get and per set ---------------------------------

GET_DESC, GET_VALUE, SET_VALUE, RESET_VALUE = 0x1014, 0x1015, 0x1016, 0x1017
ISO = 0x500F


def dial(sim: Any, code: int, values: tuple[int, ...]) -> None:
    """Change what the simulated camera allows for ``code`` (a mode dial), telling no one."""
    table = sim.camera.properties
    table._specs[code] = dataclasses.replace(table.spec(code), values=values)


async def next_prop_changed(sub: Any, code: int) -> None:
    while True:
        e = await sub.get(timeout=5)
        if e.code == 0x4006 and e.params[:1] == (code,):
            return


@with_camera
async def test_steady_state_get_is_one_GetDevicePropValue_and_set_one_SetDevicePropValue(cam, sim):
    seen = count_operations(sim)
    first = await cam.get("iso")  # the first use describes the property: one GetDevicePropDesc
    assert seen == {GET_DESC: 1} and first.label == "200"
    for value in ("800", "400", "1600", "1600", "3200", "100"):
        seen.clear()
        got = await cam.set("iso", value)
        assert seen == {SET_VALUE: 1}, value
        assert got.label == value and got.value == int(value) and got.name == "iso" and got.datatype == 0x0004
        assert sim.camera.properties.get(ISO) == int(value)  # the camera took it
        seen.clear()
        now = await cam.get("iso")
        assert seen == {GET_VALUE: 1}
        assert now == got
    # writes back to back: the camera's DevicePropChanged echo of each is not news
    for value in ("800", "400", "6400"):
        seen.clear()
        assert (await cam.set("iso", value)).value == int(value)
        assert seen == {SET_VALUE: 1}
    assert (await cam.get("iso")).value == 6400
    # another property, then keepalive (battery): one GetDevicePropValue each once described
    await cam.get("whitebalance")
    seen.clear()
    assert (await cam.set("whitebalance", "tungsten")).value == 6
    assert (await cam.get("whitebalance")).label == "tungsten"
    await cam.keepalive()
    await cam.keepalive()
    assert seen == {SET_VALUE: 1, GET_VALUE: 2, GET_DESC: 1}  # battery described once, then read


@with_camera
async def test_get_reads_the_value_every_time(cam, sim):
    await cam.get("iso")
    sim.camera.properties.set(ISO, 1600)  # changed on the camera; no event
    seen = count_operations(sim)
    assert (await cam.get("iso")).value == 1600
    assert seen == {GET_VALUE: 1}


@with_camera
async def test_describe_always_asks_the_camera(cam, sim):
    await cam.set("iso", "800")
    sim.camera.properties.set(ISO, 3200)
    seen = count_operations(sim)
    desc = await cam.describe("iso")
    assert desc.current.value == 3200 and desc.current.label == "3200"
    assert seen == {GET_DESC: 1}


@with_camera
async def test_refused_value_is_refused_before_sending(cam, sim):
    await cam.get("iso")
    seen = count_operations(sim)
    with pytest.raises(ValueError) as info:
        await cam.set("iso", "123")
    for label in ("100", "200", "400", "800", "1600", "3200", "6400"):
        assert label in str(info.value)
    with pytest.raises(ValueError, match="read-only"):
        await cam.set("battery", 50)  # described on first use, but never written
    assert seen == {GET_DESC: 1}
    assert sim.camera.properties.get(ISO) == 200


@with_camera
async def test_prop_changed_event_makes_the_next_use_reread_the_desc(cam, sim):
    await cam.set("iso", "800")
    await cam.get("iso")  # a round trip: the camera's echo of our write has arrived
    dial(sim, ISO, (100, 200, 400, 800, 12800))  # the camera now allows 12800 ...
    seen = count_operations(sim)
    with pytest.raises(ValueError, match="not allowed"):
        await cam.set("iso", "12800")  # ... but has not said so: the cached desc refuses
    assert seen == {}
    # The camera says iso changed (here: a reset by another program on this session).
    with cam.link.subscribe() as sub:
        assert (await cam.raw(RESET_VALUE, (ISO,))).code == 0x2001
        await next_prop_changed(sub, ISO)
    seen.clear()
    assert (await cam.get("iso")).value == 200  # the reset value, from a fresh desc
    assert seen == {GET_DESC: 1}
    seen.clear()
    assert (await cam.set("iso", "12800")).value == 12800  # allowed now, without another desc
    assert seen == {SET_VALUE: 1}
    assert sim.camera.properties.get(ISO) == 12800
    assert [label for _, label in (await cam.describe("iso")).allowed] == ["100", "200", "400", "800", "12800"]


@with_camera
async def test_camera_refusal_drops_the_cached_desc(cam, sim):
    await cam.get("iso")
    dial(sim, ISO, (100, 200, 400))  # 800 went away, unannounced
    seen = count_operations(sim)
    with pytest.raises(ResponseError) as info:
        await cam.set("iso", "800")
    assert info.value.code == 0x201C  # InvalidDevicePropValue
    with pytest.raises(ValueError, match="allowed: 100, 200, 400$"):
        await cam.set("iso", "800")  # the desc was read again: refused before sending
    assert seen == {SET_VALUE: 1, GET_DESC: 1}


def test_a_new_session_starts_with_an_empty_cache():
    simulator = pytest.importorskip("ptpd.simulator")

    async def main():
        sim = await simulator.start_simulator("generic", "127.0.0.1", 0)
        try:
            cam = GenericCamera(sim.host, sim.port, timeout=5)
            await cam.connect()
            await cam.get("iso")
            await cam.close()
            dial(sim, ISO, (200, 25600))
            seen = count_operations(sim)
            await cam.connect()
            assert (await cam.set("iso", "25600")).value == 25600
            assert seen[GET_DESC] == 1 and seen[SET_VALUE] == 1
            await cam.close()
            other = GenericCamera(sim.host, sim.port, timeout=5)  # a new camera object too
            await other.connect()
            seen.clear()
            assert (await other.get("iso")).value == 25600
            assert seen == {GET_DESC: 1}
            await other.close()
        finally:
            await sim.close()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_desc_cache_events_and_echoes():
    from ptpd.protocol.datasets import DevicePropDesc, Enumeration

    def desc(code: int) -> DevicePropDesc:
        return DevicePropDesc(code, 0x0004, 1, 1, 1, Enumeration((1, 2)))

    cache = props.DescCache()
    for c in (0x5001, 0x5005, ISO):
        cache.put(desc(c))
    cache.event(0x4006, (0x5005,))  # DevicePropChanged names its property
    assert 0x5005 not in cache and ISO in cache and len(cache) == 2
    # our write's echo is not news, once, and only until the next operation has ended
    cache.wrote(ISO)
    cache.settle()
    cache.event(0x4006, (ISO,))
    assert ISO in cache
    cache.event(0x4006, (ISO,))  # a second one is news
    assert ISO not in cache
    cache.put(desc(ISO))
    cache.wrote(ISO)
    cache.settle()  # the write
    cache.settle()  # the next operation: the echo never came, the arming lapses
    cache.event(0x4006, (ISO,))
    assert ISO not in cache
    cache.put(desc(ISO))
    cache.wrote(ISO)
    cache.unwrote(ISO)  # refused: no echo due
    cache.event(0x4006, (ISO,))
    assert ISO not in cache
    for code, params in ((0x4008, ()), (0x400B, ()), (0x4006, ())):  # DeviceInfoChanged, DeviceReset, unnamed
        cache.put(desc(ISO))
        cache.put(desc(0x5001))
        cache.event(code, params)
        assert len(cache) == 0
    cache.put(desc(ISO))
    cache.event(0x4002, (7,))  # ObjectAdded changes no desc
    assert cache.get(ISO) == desc(ISO)
