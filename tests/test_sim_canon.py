"""The simulated EOS body driven by a raw PTP/IP client over a real socket.

Each answer is checked against what libgphoto2 needs and what real bodies send (research
notes §11.1): DeviceInfo as real bodies report it, GetEvent always with a data phase
(exactly 8 bytes when empty), the dump's order, gphoto2's own SetDevicePropValueEx bytes
taken and echoed, the release flow to the card and to the host's RAM, the EOS M's Button
record, live view not ready until the output is set, the pairing prompt, a silent event
channel.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from PIL import Image

from ptpd.canon import events as ev
from ptpd.canon.codes import CanonEventCode as E
from ptpd.canon.codes import CanonOperationCode as EOS
from ptpd.canon.codes import CanonPropCode as C
from ptpd.canon.packets import viewfinder_jpeg
from ptpd.protocol import datasets
from ptpd.protocol.codes import OperationCode as OP
from ptpd.protocol.codes import ResponseCode as RC
from ptpd.simulator import start_simulator
from ptpd.simulator.canon import STORAGE_ID
from ptpd.simulator.jpeg import read_exif
from test_simulator_helpers import SimClient

pytestmark = pytest.mark.timeout(60)

ISO_400 = bytes.fromhex("0c000000 03d10000 58000000".replace(" ", ""))  # gphoto2 --set-config iso=400
TO_HOST = bytes.fromhex("0c0000001cd1000004000000")
EVF_PC = bytes.fromhex("0c000000b0d1000002000000")
EVF_MOBILE2 = bytes.fromhex("0c000000b0d1000008000000")
END = bytes.fromhex("0800000000000000")


def run(body: Callable[[Any], Awaitable[None]], **options: Any) -> None:
    async def main() -> None:
        sim = await start_simulator("canon", "127.0.0.1", 0, initial_images=options.pop("initial_images", 1), **options)
        try:
            await body(sim)
        finally:
            await sim.close()

    asyncio.run(main())


async def remote(sim: Any) -> SimClient:
    c = await SimClient.connect(sim.port)
    assert (await c.transact(EOS.SetRemoteMode, (1,)))[0].code == RC.OK
    assert (await c.transact(EOS.SetEventMode, (1,)))[0].code == RC.OK
    return c


async def records(c: SimClient) -> tuple[ev.Record, ...]:
    resp, data = await c.transact(EOS.GetEvent)
    assert resp.code == RC.OK and data is not None and data.endswith(END)
    return ev.decode_events(data)


async def poll_for(c: SimClient, want: Callable[[ev.Record], bool], timeout: float = 10.0) -> list[ev.Record]:
    seen: list[ev.Record] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen += await records(c)
        if any(want(r) for r in seen):
            return seen
        await asyncio.sleep(0.02)
    raise AssertionError(f"no such record in {seen}")


def test_device_info_is_a_canon_body_with_eos_operations_and_no_eos_properties() -> None:
    async def t(sim: Any) -> None:
        c = await SimClient.connect(sim.port)
        resp, data = await c.transact(OP.GetDeviceInfo)
        di = datasets.DeviceInfo.decode(data or b"", strict=True)
        assert (di.vendor_extension_id, di.manufacturer, di.model) == (6, "Canon Inc.", "Canon EOS 1300D")
        assert {
            EOS.GetEvent,
            EOS.SetRemoteMode,
            EOS.RemoteReleaseOn,
            EOS.SetDevicePropValueEx,
            EOS.GetViewFinderData,
        } <= set(di.operations_supported)
        assert di.device_properties_supported == ()  # else libgphoto2 reads them with GetDevicePropDesc
        # everything listed is answered (nothing 0x2005, unlike the emulator)
        for op in di.operations_supported:
            if op == OP.CloseSession:
                continue
            assert (await c.transact(op, ()))[0].code != RC.OperationNotSupported, hex(op)
        await c.close()

    run(t)


def test_get_event_dumps_once_then_reports_changes_only() -> None:
    async def t(sim: Any) -> None:
        c = await SimClient.connect(sim.port)
        assert await records(c) == ()  # no event mode yet: just the end record
        c2 = await remote(sim)
        first = await records(c2)
        kinds = [type(r).__name__ for r in first]
        # a real body's order: CTGInfoCheckComplete, values, CTGInfoCheckComplete, lists
        assert first[0] == ev.Unknown(E.CTGInfoCheckComplete, STORAGE_ID.to_bytes(4, "little"))
        second_ctg = kinds.index("Unknown", 1)
        assert set(kinds[1:second_ctg]) == {"PropValue"} and set(kinds[second_ctg + 1 :]) == {"AvailList"}
        values = {r.code: r.data for r in first if isinstance(r, ev.PropValue)}
        assert values[C.ISOSpeed] == bytes.fromhex("48000000")  # scalars in 4 bytes, as real bodies send
        assert (
            values[C.CaptureDestination] == bytes.fromhex("02000000")
            and int.from_bytes(values[C.AvailableShots], "little") > 0
        )
        assert C.EVFOutputDevice in values and C.FocusMode in values  # what libgphoto2's prepare waits for
        lists = {r.code: r for r in first if isinstance(r, ev.AvailList)}
        assert lists[C.ISOSpeed].kind == 3 and lists[C.ISOSpeed].count == 9
        assert lists[C.ImageFormat].count * 20 == len(lists[C.ImageFormat].data)  # one-file structs
        resp, data = await c2.transact(EOS.GetEvent)
        assert data == END  # nothing new: exactly the 8-byte end record
        await c.close()
        await c2.close()

    run(t)


def test_set_property_ex_takes_gphoto2s_bytes_and_reports_the_change() -> None:
    async def t(sim: Any) -> None:
        c = await remote(sim)
        await records(c)
        assert (await c.transact(EOS.SetDevicePropValueEx, (), ISO_400))[0].code == RC.OK
        assert await records(c) == (ev.PropValue(C.ISOSpeed, bytes.fromhex("58000000")),)
        refused = {
            "not in the allowed list": (bytes.fromhex("0c00000003d1000059000000"), RC.InvalidDevicePropValue),
            "read-only": (bytes.fromhex("0c00000011d1000001000000"), RC.AccessDenied),
            "unknown": (bytes.fromhex("0c000000fed1000001000000"), RC.DevicePropNotSupported),
            "cut short": (bytes.fromhex("0c00000003d10000"), RC.InvalidDevicePropFormat),
        }
        for what, (payload, code) in refused.items():
            assert (await c.transact(EOS.SetDevicePropValueEx, (), payload))[0].code == code, what
        assert await records(c) == ()  # nothing changed
        await c.close()

    run(t)


def _jpeg_iso(data: bytes) -> int:
    return int(read_exif(data)["iso"])


def test_release_to_the_card() -> None:
    async def t(sim: Any) -> None:
        c = await remote(sim)
        await records(c)
        await c.transact(EOS.SetDevicePropValueEx, (), ISO_400)
        await records(c)
        assert (await c.transact(EOS.RemoteReleaseOn, (1, 0)))[0].code == RC.OK
        assert await records(c) == (sim.device.value_record(C.FocusInfoEx),)  # the focus result (autofocus)
        assert (await c.transact(EOS.RemoteReleaseOn, (2, 0)))[0].code == RC.OK
        assert (await c.transact(EOS.RemoteReleaseOn, (2, 0)))[0].code == RC.DeviceBusy  # still taking the first
        assert (await c.transact(EOS.RemoteReleaseOff, (2,)))[0].code == RC.OK
        seen = await poll_for(c, lambda r: isinstance(r, ev.ObjectAdded))
        assert (await c.transact(EOS.RemoteReleaseOff, (1,)))[0].code == RC.OK
        added = next(r for r in seen if isinstance(r, ev.ObjectAdded))
        assert added.storage_id == STORAGE_ID and added.filename == "IMG_0002.JPG" and added.format == 0x3801
        shots = [r for r in seen if isinstance(r, ev.PropValue) and r.code == C.AvailableShots]
        assert shots and int.from_bytes(shots[0].data, "little") == 3074
        _, raw = await c.transact(OP.GetObjectInfo, (added.handle,))
        oi = datasets.ObjectInfo.decode(raw or b"", strict=True)
        assert (oi.storage_id, oi.filename, oi.object_compressed_size, oi.parent_object) == (
            STORAGE_ID,
            "IMG_0002.JPG",
            added.size,
            added.parent,
        )
        _, jpeg = await c.transact(OP.GetObject, (added.handle,))
        assert jpeg is not None and len(jpeg) == added.size and _jpeg_iso(jpeg) == 400
        assert read_exif(jpeg)["make"] == "Canon" and read_exif(jpeg)["model"] == "Canon EOS 1300D"
        assert c.events.empty()  # an EOS body says nothing on the event channel
        await c.close()

    run(t)


def test_release_to_the_hosts_ram() -> None:
    async def t(sim: Any) -> None:
        c = await remote(sim)
        await records(c)
        assert (await c.transact(EOS.SetDevicePropValueEx, (), TO_HOST))[0].code == RC.OK
        await c.transact(EOS.PCHDDCapacity, (0x0FFFFFFF, 0x1000, 1))
        changes = await records(c)
        assert changes[0] == ev.PropValue(C.CaptureDestination, bytes.fromhex("04000000"))
        await c.transact(EOS.RemoteReleaseOn, (1, 0))
        await c.transact(EOS.RemoteReleaseOn, (2, 0))
        await c.transact(EOS.RemoteReleaseOff, (2,))
        await c.transact(EOS.RemoteReleaseOff, (1,))
        seen = await poll_for(c, lambda r: isinstance(r, ev.ObjectTransfer))
        t_rec = next(r for r in seen if isinstance(r, ev.ObjectTransfer))
        first, rest = t_rec.size // 2, t_rec.size - t_rec.size // 2
        _, a = await c.transact(OP.GetPartialObject, (t_rec.handle, 0, first))
        resp, b = await c.transact(OP.GetPartialObject, (t_rec.handle, first, 1 << 20))
        assert resp.params == (rest,) and a is not None and b is not None and len(a + b) == t_rec.size
        assert (a + b)[:2] == b"\xff\xd8" and (a + b)[-2:] == b"\xff\xd9"
        assert sim.device.store.handles(STORAGE_ID, 0x3801, 0) == [3]  # not on the card
        assert (await c.transact(EOS.TransferComplete, (t_rec.handle,)))[0].code == RC.OK
        assert (await c.transact(OP.GetPartialObject, (t_rec.handle, 0, 10)))[0].code == RC.InvalidObjectHandle
        await c.close()

    run(t)


def test_an_eos_m_reports_button_4_before_its_picture() -> None:
    async def t(sim: Any) -> None:
        c = await SimClient.connect(sim.port)
        _, data = await c.transact(OP.GetDeviceInfo)
        assert datasets.DeviceInfo.decode(data or b"").model == "Canon EOS M"
        await c.transact(EOS.SetRemoteMode, (0x15,))
        assert (await c.transact(EOS.GetRemoteMode))[0].params == (0x15,)
        await c.transact(EOS.SetEventMode, (1,))
        await records(c)
        assert (await c.transact(EOS.RemoteReleaseOn, (3, 0)))[0].code == RC.OK
        seen = await poll_for(c, lambda r: isinstance(r, ev.ObjectAdded))
        kinds = [r for r in seen if isinstance(r, (ev.OLCInfo, ev.ObjectAdded))]
        assert isinstance(kinds[0], ev.OLCInfo) and kinds[0].button == 4 and isinstance(kinds[1], ev.ObjectAdded)
        await c.transact(EOS.RemoteReleaseOff, (3,))
        # its live view runs on the MOBILE2 output its libgphoto2 prepare sets, not on PC
        await c.transact(EOS.SetDevicePropValueEx, (), EVF_PC)
        await asyncio.sleep(0.2)
        assert (await c.transact(EOS.GetViewFinderData, (0x00200000, 0, 0)))[0].code == 0xA102
        await c.transact(EOS.SetDevicePropValueEx, (), EVF_MOBILE2)
        await asyncio.sleep(0.2)
        resp, data = await c.transact(EOS.GetViewFinderData, (0x00200000, 0, 0))
        assert resp.code == RC.OK and viewfinder_jpeg(data or b"") is not None
        await c.close()

    run(t, model="Canon EOS M")


def test_live_view_is_not_ready_until_the_output_is_set_then_sends_a_blob_list() -> None:
    async def t(sim: Any) -> None:
        c = await remote(sim)
        await records(c)
        view = (0x00200000, 0, 0)
        assert (await c.transact(EOS.GetViewFinderData, view))[0].code == 0xA102  # ObjectNotReady
        await c.transact(EOS.SetDevicePropValueEx, (), EVF_PC)
        assert (await c.transact(EOS.GetViewFinderData, view))[0].code == 0xA102  # warming up
        await asyncio.sleep(0.2)
        resp, data = await c.transact(EOS.GetViewFinderData, view)
        assert resp.code == RC.OK and data is not None and data.endswith(END)
        jpeg = viewfinder_jpeg(data)
        assert jpeg is not None
        with Image.open(io.BytesIO(bytes(jpeg))) as im:
            assert im.size == (1056, 704)  # a real body's live-view frame size
        # every blob at least 8 bytes and the list exact: nothing after the end blob
        pos = 0
        while True:
            n = int.from_bytes(data[pos : pos + 4], "little")
            assert n >= 8
            pos += n
            if n == 8:
                break
        assert pos == len(data)
        await c.close()

    run(t)


def test_pairing_prompt_holds_the_ack_then_refuses_and_remembers_the_guid() -> None:
    async def quick(sim: Any) -> None:
        t0 = time.monotonic()
        c = await SimClient.connect(sim.port)  # the user accepts within the hold
        assert 0.4 < time.monotonic() - t0 < 2.0 and sim.pairing_prompts == 1
        await c.close()
        t0 = time.monotonic()
        c = await SimClient.connect(sim.port)  # known now: no prompt
        assert time.monotonic() - t0 < 0.3 and sim.pairing_prompts == 1
        await c.close()

    run(quick, pairing_delay=0.5)

    async def slow(sim: Any) -> None:
        with pytest.raises(ConnectionRefusedError, match="reason=1"):
            await SimClient.connect(sim.port)  # held 0.3 s, then refused; the prompt stays up
        await asyncio.sleep(0.5)
        c = await SimClient.connect(sim.port)  # the user accepted meanwhile
        await c.close()
        assert sim.pairing_prompts == 1

    run(slow, pairing_delay=0.6, pairing_hold=0.3)

    async def declined(sim: Any) -> None:
        for _ in range(2):
            with pytest.raises(ConnectionRefusedError, match="reason=1"):
                await SimClient.connect(sim.port)

    run(declined, pairing_delay=0.1, pairing_hold=0.2, refuse_pairing=True)
