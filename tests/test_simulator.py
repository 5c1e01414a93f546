"""The generic simulated camera over real loopback sockets.

A host made of the protocol-wire sans-I/O InitiatorConnection (tests/test_simulator_helpers.py)
talks to ``start_simulator("generic")``; datasets are decoded with ptpd.protocol.datasets,
images with Pillow.
"""

from __future__ import annotations

import asyncio
import io
import struct
from collections.abc import Awaitable, Callable
from fractions import Fraction
from typing import Any

import pytest
from PIL import Image

from ptpd.protocol import datasets
from ptpd.protocol import packets as pk
from ptpd.protocol.codes import DevicePropCode as DP
from ptpd.protocol.codes import EventCode as EC
from ptpd.protocol.codes import ObjectFormat
from ptpd.protocol.codes import OperationCode as OP
from ptpd.protocol.codes import ResponseCode as RC
from ptpd.protocol.errors import CameraDisconnected
from ptpd.protocol.framing import PacketBuffer
from ptpd.simulator import start_simulator
from ptpd.simulator.jpeg import read_exif
from test_simulator_helpers import SimClient

ALL = 0xFFFFFFFF
STORAGE = 0x00010001


def run(test: Callable[..., Awaitable[Any]], timeout: float = 30, **sim_options: Any) -> Any:
    """Start a generic simulator on a free port, run ``test(sim)``, always close it."""

    async def main() -> Any:
        sim = await start_simulator("generic", "127.0.0.1", 0, **sim_options)
        try:
            return await asyncio.wait_for(test(sim), timeout)
        finally:
            await sim.close()

    return asyncio.run(main())


def u32_array(data: bytes | None) -> tuple[int, ...]:
    assert data is not None
    return datasets.decode_uint32_array(data)


def u16(v: int) -> bytes:
    return struct.pack("<H", v)


# -- sessions -------------------------------------------------------------------------------


def test_device_info_before_and_after_open_session() -> None:
    async def t(sim: Any) -> None:
        c = await SimClient.connect(sim.port, open_session=False)
        resp, data = await c.transact(OP.GetDeviceInfo)
        assert data is not None
        assert resp.code == RC.OK
        before = datasets.DeviceInfo.decode(data)
        assert before.manufacturer == "ptpd" and before.model == "Test Cam"
        assert before.vendor_extension_id == 0
        for op in (
            OP.GetDeviceInfo,
            OP.OpenSession,
            OP.GetObjectHandles,
            OP.GetObject,
            OP.InitiateCapture,
            OP.GetPartialObject,
            OP.GetThumb,
            OP.SetDevicePropValue,
        ):
            assert op in before.operations_supported
        assert set(before.device_properties_supported) >= {
            DP.BatteryLevel,
            DP.ImageSize,
            DP.WhiteBalance,
            DP.FNumber,
            DP.FocusMode,
            DP.ExposureTime,
            DP.ExposureProgramMode,
            DP.ExposureBiasCompensation,
            DP.ExposureIndex,
            DP.FlashMode,
            DP.CaptureDelay,
            DP.EffectMode,
        }
        assert EC.ObjectAdded in before.events_supported and EC.CaptureComplete in before.events_supported
        resp, _ = await c.transact(OP.OpenSession, (7,))
        assert resp.code == RC.OK
        resp, data = await c.transact(OP.GetDeviceInfo)
        assert data is not None
        assert resp.code == RC.OK and datasets.DeviceInfo.decode(data) == before
        await c.close()

    run(t, model="Test Cam")


def test_operations_need_an_open_session_and_open_twice_is_refused() -> None:
    async def t(sim: Any) -> None:
        c = await SimClient.connect(sim.port, open_session=False)
        for op, params in (
            (OP.GetStorageIDs, ()),
            (OP.GetObjectHandles, (ALL, 0, ALL)),
            (OP.InitiateCapture, (0, 0)),
            (OP.GetDevicePropDesc, (DP.ExposureIndex,)),
            (OP.CloseSession, ()),
        ):
            resp, data = await c.transact(op, params)
            assert resp.code == RC.SessionNotOpen and data is None, hex(op)
        assert (await c.transact(OP.OpenSession, (0,)))[0].code == RC.InvalidParameter
        assert (await c.transact(OP.OpenSession, (1,)))[0].code == RC.OK
        resp, _ = await c.transact(OP.OpenSession, (2,))
        assert resp.code == RC.SessionAlreadyOpen and resp.params == (1,)
        assert (await c.transact(OP.CloseSession))[0].code == RC.OK
        assert (await c.transact(OP.GetStorageIDs))[0].code == RC.SessionNotOpen
        await c.close()

    run(t)


def test_sequential_sessions_in_one_process() -> None:
    async def t(sim: Any) -> None:
        handles = None
        for i in range(3):
            c = await SimClient.connect(sim.port)
            resp, data = await c.transact(OP.GetObjectHandles, (ALL, 0, 0))
            assert resp.code == RC.OK
            assert handles is None or u32_array(data) == handles  # the card survives sessions
            handles = u32_array(data)
            assert (await c.transact(OP.CloseSession))[0].code == RC.OK
            if i == 1:  # also on the same connection pair, a new session after CloseSession
                assert (await c.transact(OP.OpenSession, (5,)))[0].code == RC.OK
            await c.close()
        # closing sockets without CloseSession (gphoto2 style) leaves the camera usable
        c = await SimClient.connect(sim.port)
        await c.close()
        c = await SimClient.connect(sim.port)
        assert (await c.transact(OP.GetStorageIDs))[0].code == RC.OK
        await c.close()
        assert sim.sessions_opened == 6

    run(t)


def test_new_host_takes_over_and_bad_event_binding_is_refused() -> None:
    async def t(sim: Any) -> None:
        a = await SimClient.connect(sim.port)
        b = await SimClient.connect(sim.port)  # a reconnecting host must not find the camera stuck
        assert (await b.transact(OP.GetStorageIDs))[0].code == RC.OK
        with pytest.raises((CameraDisconnected, ConnectionError)):  # the camera dropped it
            await a.transact(OP.GetStorageIDs, timeout=3)
        # an Init Event Request naming no live connection gets Init Fail
        r, w = await asyncio.open_connection("127.0.0.1", sim.port)
        w.write(pk.InitEventRequest(b.number + 100).encode())
        reply = await asyncio.wait_for(r.read(64), 5)
        assert pk.decode_packet(reply) == pk.InitFail(3)
        w.close()
        await a.close()
        await b.close()

    run(t)


def test_probe_first_then_init_and_probe_on_event_channel() -> None:
    async def t(sim: Any) -> None:
        r, w = await asyncio.open_connection("127.0.0.1", sim.port)
        w.write(pk.ProbeRequest().encode())
        assert await asyncio.wait_for(r.readexactly(8), 5) == pk.ProbeResponse().encode()
        w.write(pk.InitCommandRequest(bytes(16), "raw").encode())
        buf = PacketBuffer()
        buf.feed(await asyncio.wait_for(r.read(1024), 5))
        packet = buf.next_packet()
        assert packet is not None
        ack = pk.decode_packet(packet)
        assert isinstance(ack, pk.InitCommandAck) and ack.name and len(ack.guid) == 16
        r2, w2 = await asyncio.open_connection("127.0.0.1", sim.port)
        w2.write(pk.InitEventRequest(ack.connection_number).encode())
        assert await asyncio.wait_for(r2.readexactly(8), 5) == pk.InitEventAck().encode()
        w2.write(pk.ProbeRequest().encode())
        assert await asyncio.wait_for(r2.readexactly(8), 5) == pk.ProbeResponse().encode()
        # garbage as a first packet: the connection is closed, the server keeps serving
        r3, w3 = await asyncio.open_connection("127.0.0.1", sim.port)
        w3.write(pk.OperationRequest(1, OP.GetDeviceInfo, 0).encode())
        assert await asyncio.wait_for(r3.read(64), 5) == b""
        for x in (w, w2, w3):
            x.close()
        c = await SimClient.connect(sim.port)
        await c.close()

    run(t)


# -- objects -----------------------------------------------------------------------------------


def test_storage_and_object_handles_root_all_and_folder() -> None:
    async def t(sim: Any) -> None:
        c = await SimClient.connect(sim.port)
        resp, data = await c.transact(OP.GetStorageIDs)
        assert u32_array(data) == (STORAGE,)
        resp, data = await c.transact(OP.GetStorageInfo, (STORAGE,))
        assert data is not None
        info = datasets.StorageInfo.decode(data)
        assert info.storage_type == 4 and info.max_capacity >= info.free_space_in_bytes > 0
        assert (await c.transact(OP.GetStorageInfo, (0x00020001,)))[0].code == RC.InvalidStorageID

        root = u32_array(await c.data(OP.GetObjectHandles, (ALL, 0, ALL)))
        assert len(root) == 1
        dcim = datasets.ObjectInfo.decode(await c.data(OP.GetObjectInfo, root))
        assert (dcim.filename, dcim.object_format, dcim.association_type, dcim.parent_object) == ("DCIM", 0x3001, 1, 0)
        sub = u32_array(await c.data(OP.GetObjectHandles, (STORAGE, 0, root[0])))
        assert len(sub) == 1
        files = u32_array(await c.data(OP.GetObjectHandles, (STORAGE, 0, sub[0])))
        everything = u32_array(await c.data(OP.GetObjectHandles, (STORAGE, 0, 0)))
        assert len(files) == 4 and set(everything) == {root[0], sub[0], *files}
        jpegs = u32_array(await c.data(OP.GetObjectHandles, (ALL, ObjectFormat.EXIF_JPEG, 0)))
        assert set(jpegs) == set(files)
        resp, _ = await c.transact(OP.GetNumObjects, (ALL, 0, sub[0]))
        assert resp.code == RC.OK and resp.params == (4,)
        # a file is no folder; an unknown handle is neither
        assert (await c.transact(OP.GetObjectHandles, (STORAGE, 0, files[0])))[0].code == RC.InvalidParentObject
        assert (await c.transact(OP.GetObjectHandles, (STORAGE, 0, 0xDEAD)))[0].code == RC.InvalidParentObject
        await c.close()

    run(t, initial_images=4)


def test_get_object_partial_object_thumb_and_delete() -> None:
    async def t(sim: Any) -> None:
        c = await SimClient.connect(sim.port)
        handles = u32_array(await c.data(OP.GetObjectHandles, (ALL, ObjectFormat.EXIF_JPEG, 0)))
        h = handles[0]
        info = datasets.ObjectInfo.decode(await c.data(OP.GetObjectInfo, (h,)))
        resp, data = await c.transact(OP.GetObject, (h,))
        assert resp.code == RC.OK and data is not None and len(data) == info.object_compressed_size
        img = Image.open(io.BytesIO(data))
        assert img.format == "JPEG" and img.size == (info.image_pix_width, info.image_pix_height)
        assert data[:3] == b"\xff\xd8\xff" and data[-2:] == b"\xff\xd9"
        # GetPartialObject: Param1 = bytes sent, pieces add up to the object
        pieces = []
        offset = 0
        while offset < len(data):
            resp, part = await c.transact(OP.GetPartialObject, (h, offset, 10_000))
            assert resp.code == RC.OK and part is not None and resp.params == (len(part),)
            pieces.append(part)
            offset += len(part)
        assert b"".join(pieces) == data
        resp, tail = await c.transact(OP.GetPartialObject, (h, len(data), 10))
        assert resp.params == (0,) and not tail
        assert (await c.transact(OP.GetPartialObject, (h, len(data) + 1, 10)))[0].code == RC.InvalidParameter
        # GetThumb: a real small JPEG, as ObjectInfo describes it
        resp, thumb = await c.transact(OP.GetThumb, (h,))
        assert thumb is not None
        t_img = Image.open(io.BytesIO(thumb))
        assert t_img.format == "JPEG" and t_img.size == (info.thumb_pix_width, info.thumb_pix_height)
        assert info.thumb_format == ObjectFormat.JFIF and len(thumb) == info.thumb_compressed_size
        assert t_img.size[0] <= 160
        # DeleteObject
        assert (await c.transact(OP.DeleteObject, (h, 0)))[0].code == RC.OK
        for op in (OP.GetObjectInfo, OP.GetObject, OP.GetThumb, OP.DeleteObject):
            assert (await c.transact(op, (h,)))[0].code == RC.InvalidObjectHandle
        left = u32_array(await c.data(OP.GetObjectHandles, (ALL, ObjectFormat.EXIF_JPEG, 0)))
        assert left == handles[1:]
        await c.close()

    run(t)


def test_bad_requests_get_response_codes_and_the_connection_stays() -> None:
    async def t(sim: Any) -> None:
        c = await SimClient.connect(sim.port)
        cases = [
            (OP.GetObjectInfo, (0x12345,), RC.InvalidObjectHandle),
            (OP.GetObject, (0,), RC.InvalidObjectHandle),
            (OP.SendObjectInfo, (), RC.OperationNotSupported),
            (OP.FormatStore, (STORAGE,), RC.OperationNotSupported),
            (0x9999, (), RC.OperationNotSupported),
            (OP.GetStorageIDs, (1,), RC.ParameterNotSupported),
            (OP.GetObjectInfo, (1, 2), RC.ParameterNotSupported),
            (OP.GetDevicePropDesc, (0x5555,), RC.DevicePropNotSupported),
            (OP.GetDevicePropValue, (0xD001,), RC.DevicePropNotSupported),
            (OP.InitiateCapture, (0x00020001, 0), RC.InvalidStorageID),
            (OP.InitiateCapture, (0, ObjectFormat.PNG), RC.InvalidObjectFormatCode),
            (OP.GetObjectHandles, (0, 0, 0), RC.InvalidStorageID),
        ]
        for op, params, code in cases:
            resp, data = await c.transact(op, params)
            assert (hex(op), resp.code) == (hex(op), code)
            assert data is None
        # a data-out operation we do not support still has its data phase read
        resp, _ = await c.transact(OP.SendObject, (), data_out=b"x" * 1000)
        assert resp.code == RC.OperationNotSupported
        assert (await c.transact(OP.GetStorageIDs))[0].code == RC.OK  # still in step
        await c.close()

    run(t)


# -- properties ------------------------------------------------------------------------------------


def test_property_descriptions_values_and_changes() -> None:
    async def t(sim: Any) -> None:
        c = await SimClient.connect(sim.port)
        resp, data = await c.transact(OP.GetDevicePropDesc, (DP.ExposureIndex,))
        assert data is not None
        desc = datasets.DevicePropDesc.decode(data)
        assert desc.datatype == 0x0004 and desc.writable and isinstance(desc.form, datasets.Enumeration)
        assert 400 in desc.form.values and desc.current == 200
        battery = datasets.DevicePropDesc.decode(await c.data(OP.GetDevicePropDesc, (DP.BatteryLevel,)))
        assert not battery.writable and isinstance(battery.form, datasets.Range) and battery.form.maximum == 100
        size = datasets.DevicePropDesc.decode(await c.data(OP.GetDevicePropDesc, (DP.ImageSize,)))
        assert size.datatype == 0xFFFF and isinstance(size.form, datasets.Enumeration)
        assert "640x480" in size.form.values

        resp, _ = await c.transact(OP.SetDevicePropValue, (DP.ExposureIndex,), data_out=u16(400))
        assert resp.code == RC.OK
        e = await c.event()
        assert (e.code, e.params) == (EC.DevicePropChanged, (DP.ExposureIndex,))
        assert await c.data(OP.GetDevicePropValue, (DP.ExposureIndex,)) == u16(400)
        desc = datasets.DevicePropDesc.decode(await c.data(OP.GetDevicePropDesc, (DP.ExposureIndex,)))
        assert desc.current == 400  # gphoto2 reads current values from the desc

        refused = [
            ((DP.ExposureIndex,), u16(401), RC.InvalidDevicePropValue),
            ((DP.FNumber,), u16(1), RC.InvalidDevicePropValue),
            ((DP.ExposureIndex,), b"\x90", RC.InvalidDevicePropFormat),
            ((DP.ExposureIndex,), b"\x90\x01\x00", RC.InvalidDevicePropFormat),
            ((DP.BatteryLevel,), b"\x05", RC.AccessDenied),
            ((0x5555,), u16(1), RC.DevicePropNotSupported),
        ]
        for params, value, code in refused:
            resp, _ = await c.transact(OP.SetDevicePropValue, params, data_out=value)
            assert resp.code == code, (params, value)
        assert await c.data(OP.GetDevicePropValue, (DP.ExposureIndex,)) == u16(400)
        # a string property: ImageSize
        from ptpd.protocol.datatypes import encode_value

        resp, _ = await c.transact(OP.SetDevicePropValue, (DP.ImageSize,), data_out=encode_value(0xFFFF, "640x480"))
        assert resp.code == RC.OK
        resp, _ = await c.transact(OP.SetDevicePropValue, (DP.ImageSize,), data_out=encode_value(0xFFFF, "1x1"))
        assert resp.code == RC.InvalidDevicePropValue
        # ResetDevicePropValue puts ISO back
        assert (await c.transact(OP.ResetDevicePropValue, (DP.ExposureIndex,)))[0].code == RC.OK
        assert await c.data(OP.GetDevicePropValue, (DP.ExposureIndex,)) == u16(200)
        await c.close()

    run(t)


def test_data_out_with_unknown_phase_a_probe_inside_it_and_a_cancelled_one() -> None:
    async def t(sim: Any) -> None:
        c = await SimClient.connect(sim.port)
        r, w = c.cmd.reader, c.cmd.writer

        async def packets_until_response() -> list[pk.Packet]:
            buf, out = PacketBuffer(), list[pk.Packet]()
            while not out or not isinstance(out[-1], pk.OperationResponse):
                raw = buf.next_packet()
                if raw is None:
                    buf.feed(await asyncio.wait_for(r.read(4096), 5))
                    continue
                out.append(pk.decode_packet(raw))
            return out

        # DataPhase Unknown (3) on an operation that always sends data: the data-out is
        # read all the same, and a Probe Request in the middle of it is answered
        w.write(pk.OperationRequest(3, OP.SetDevicePropValue, 50, (DP.ExposureIndex,)).encode())
        w.write(pk.StartData(50, 2).encode() + pk.ProbeRequest().encode())
        w.write(pk.EndData(50, u16(800)).encode())
        got = await packets_until_response()
        assert got == [pk.ProbeResponse(), pk.OperationResponse(RC.OK, 50)]
        # a data-out cancelled after Start Data gets no response; the next request does
        w.write(pk.OperationRequest(2, OP.SetDevicePropValue, 51, (DP.ExposureIndex,)).encode())
        w.write(pk.StartData(51, 2).encode() + pk.Cancel(51).encode())
        w.write(pk.OperationRequest(1, OP.GetDevicePropValue, 52, (DP.ExposureIndex,)).encode())
        got = await packets_until_response()
        assert got == [pk.StartData(52, 2), pk.EndData(52, u16(800)), pk.OperationResponse(RC.OK, 52)]
        await c.close()

    run(t)


# -- capture -------------------------------------------------------------------------------------


def test_capture_events_and_exif_carry_the_settings_in_force() -> None:
    async def t(sim: Any) -> None:
        c = await SimClient.connect(sim.port)
        settings = {
            DP.ExposureIndex: u16(1600),
            DP.ExposureTime: struct.pack("<I", 40),  # 1/250 s
            DP.FNumber: u16(560),
            DP.WhiteBalance: u16(6),  # tungsten
            DP.ExposureBiasCompensation: struct.pack("<h", -667),
        }
        from ptpd.protocol.datatypes import encode_value

        settings[DP.ImageSize] = encode_value(0xFFFF, "640x480")
        for code, value in settings.items():
            assert (await c.transact(OP.SetDevicePropValue, (code,), data_out=value))[0].code == RC.OK
        before = set(u32_array(await c.data(OP.GetObjectHandles, (ALL, 0, 0))))
        resp, _ = await c.transact(OP.InitiateCapture, (0, 0))
        assert resp.code == RC.OK
        added = await c.event_of(EC.ObjectAdded, EC.CaptureComplete)
        done = await c.event()
        assert added.code == EC.ObjectAdded and added.transaction_id == resp.transaction_id
        assert done.code == EC.CaptureComplete and done.transaction_id == resp.transaction_id
        handle = added.params[0]
        assert handle not in before
        info = datasets.ObjectInfo.decode(await c.data(OP.GetObjectInfo, (handle,)))
        assert info.filename.endswith(".JPG") and (info.image_pix_width, info.image_pix_height) == (640, 480)
        resp, data = await c.transact(OP.GetObject, (handle,))
        assert data is not None
        assert len(data) == info.object_compressed_size
        img = Image.open(io.BytesIO(data))
        assert img.size == (640, 480)
        exif = img.getexif().get_ifd(0x8769)
        assert exif[0x8827] == 1600  # ISOSpeedRatings, read with Pillow alone
        assert Fraction(exif[0x829A]) == Fraction(1, 250)
        assert Fraction(exif[0x829D]) == Fraction(56, 10)
        assert Fraction(exif[0x9204]) == Fraction(-667, 1000)
        assert exif[0xA403] == 1  # manual white balance (not auto)
        meta = read_exif(data)
        assert "whitebalance=tungsten" in meta["description"]
        # the date in the EXIF is the camera's clock (DateTime property) at capture
        clock = await c.data(OP.GetDevicePropValue, (DP.DateTime,))
        assert meta["datetime"][:10].replace(":", "") == info.capture_date[:8]
        assert clock is not None and len(clock) > 1
        await c.close()

    run(t)


def test_capture_after_date_set_and_with_delay() -> None:
    async def t(sim: Any) -> None:
        from ptpd.protocol.datatypes import encode_value

        c = await SimClient.connect(sim.port)
        assert (
            await c.transact(OP.SetDevicePropValue, (DP.DateTime,), data_out=encode_value(0xFFFF, "20200102T030405"))
        )[0].code == RC.OK
        assert (await c.transact(OP.SetDevicePropValue, (DP.CaptureDelay,), data_out=struct.pack("<I", 1000)))[
            0
        ].code == RC.OK
        resp, _ = await c.transact(OP.InitiateCapture, (0, 0))
        assert resp.code == RC.OK
        # a second capture while the first is still on its self-timer: busy
        assert (await c.transact(OP.InitiateCapture, (0, 0)))[0].code == RC.DeviceBusy
        added = await c.event_of(EC.ObjectAdded, EC.CaptureComplete, timeout=10)
        assert (await c.event()).code == EC.CaptureComplete
        data = await c.data(OP.GetObject, (added.params[0],))
        assert read_exif(data)["datetime"].startswith("2020:01:02 03:04")
        await c.close()

    run(t)


def test_big_object_for_benchmarks_streams_in_chunks() -> None:
    async def t(sim: Any) -> None:
        c = await SimClient.connect(sim.port)
        handles = u32_array(await c.data(OP.GetObjectHandles, (ALL, ObjectFormat.EXIF_JPEG, 0)))
        infos = [datasets.ObjectInfo.decode(await c.data(OP.GetObjectInfo, (h,))) for h in handles]
        big = next(i for h, i in zip(handles, infos) if i.object_compressed_size == 3 * 1024 * 1024)
        h = handles[infos.index(big)]
        resp, data = await c.transact(OP.GetObject, (h,))
        assert data is not None
        assert resp.code == RC.OK and len(data) == 3 * 1024 * 1024
        img = Image.open(io.BytesIO(data))
        img.load()  # padding segments are legal JPEG: it decodes
        assert data[-2:] == b"\xff\xd9"
        await c.close()

    run(t, big_object_mb=3, initial_images=1)


def test_latency_model_delays_each_transaction() -> None:
    async def t(sim: Any) -> float:
        c = await SimClient.connect(sim.port)
        loop = asyncio.get_running_loop()
        start = loop.time()
        for _ in range(5):
            await c.transact(OP.GetStorageIDs)
        elapsed = loop.time() - start
        await c.close()
        return elapsed

    # a lower bound only: the delay is a sleep, so it can never come out shorter
    assert run(t, latency_ms=60) >= 5 * 0.06


def test_unknown_vendor_is_refused() -> None:
    with pytest.raises(ValueError):
        asyncio.run(start_simulator("nikon"))


def test_link_mbps_paces_object_data_as_a_camera_link_would() -> None:
    """``link_mbps``: a 4 MiB object at 20 MB/s cannot arrive in less than ~0.21 s; the
    same object with no limit is not held back (and both arrive whole)."""
    import time

    from ptpd.camera.generic import GenericCamera

    async def fetch_big(link_mbps: float) -> tuple[float, int]:
        sim = await start_simulator("generic", "127.0.0.1", 0, big_object_mb=4, initial_images=0, link_mbps=link_mbps)
        cam = GenericCamera(sim.host, sim.port, timeout=10)
        try:
            await cam.connect()
            big = max(await cam.objects(), key=lambda o: o.size)
            t0 = time.monotonic()
            data = await cam.download(big.handle)
            took = time.monotonic() - t0
            assert len(data) == big.size and bytes(data[:2]) == b"\xff\xd8"
            return took, big.size
        finally:
            await cam.close()
            await sim.close()

    paced, size = asyncio.run(asyncio.wait_for(fetch_big(20.0), 30))
    assert size == 4 * 1024 * 1024
    # the pacing waits after each 1 MiB packet: all but the last are held to the rate
    assert paced >= (size - 1024 * 1024) / 20e6
    unpaced, _ = asyncio.run(asyncio.wait_for(fetch_big(0.0), 30))
    assert unpaced < paced
