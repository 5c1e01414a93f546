"""A data-in phase brings no more than its transaction allows, whatever the camera sends.

Before these limits a camera could answer GetObject for an object it declared as 10 KB
with 1.5 GB (the daemon's RSS reached 3 GB; ``ptpctl download`` saved a 1 GiB file),
and a data phase of unknown length ran to the connection's 4 GiB cap. Now the
initiator says what it expects (the object's declared size, a dataset's budget) and the
channel cancels the transaction on the packet header that crosses it: nothing past it
is buffered, the camera's leftovers are dropped as they arrive, and the channel carries
the next transaction. Sans-I/O here (split every way), and through the asyncio
initiator against a camera that streams without end.
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc

import pytest

from feeding import SPLITS, feed
from ptpd.protocol import events as ev
from ptpd.protocol import packets as pk
from ptpd.protocol.budgets import DATASET_LIMIT
from ptpd.protocol.codes import OperationCode
from ptpd.protocol.connection import InitiatorConnection, State
from ptpd.protocol.errors import DataOverrun, ProtocolError
from ptpd.protocol.events import NEED_DATA
from ptpd.protocol.initiator import PTPIPInitiator

GUID = bytes(range(16))
CANCEL_1 = pk.Cancel(1).encode()


def ready() -> InitiatorConnection:
    """An initiator on the command channel, session open, next TID 1."""
    i = InitiatorConnection()
    i.send(ev.InitCommandRequest(GUID, "h"))
    i.receive_data(pk.InitCommandAck(1, GUID, "c").encode())
    assert isinstance(i.next_event(), ev.InitCommandAck)
    i.send(i.request(OperationCode.OpenSession, (1,)))
    i.receive_data(pk.OperationResponse(0x2001, 0).encode())
    assert i.next_event() == ev.OperationResponse(0x2001, 0)
    return i


def get_object(i: InitiatorConnection, limit: int) -> None:
    req = i.request(OperationCode.GetObject, (7,))
    assert req.transaction_id == 1
    i.send(req)
    i.expect_data(limit)


def next_transaction_works(i: InitiatorConnection) -> None:
    req = i.request(OperationCode.GetStorageIDs)
    i.send(req)
    i.receive_data(
        pk.StartData(req.transaction_id, 8).encode()
        + pk.EndData(req.transaction_id, b"\x01\x00\x00\x00\x01\x00\x01\x00").encode()
    )
    i.receive_data(pk.OperationResponse(0x2001, req.transaction_id).encode())
    assert i.next_event() == ev.DataIn(req.transaction_id, b"\x01\x00\x00\x00\x01\x00\x01\x00")
    assert i.next_event() == ev.OperationResponse(0x2001, req.transaction_id)


@pytest.mark.parametrize("split", SPLITS)
def test_a_start_data_announcing_more_than_allowed_is_cancelled_at_once(split):
    i = ready()
    get_object(i, 10_000)
    got = feed(i, pk.StartData(1, 1_500_000_000).encode(), split)
    assert got == [ev.DataTooLarge(1, 1_500_000_000, 10_000)]
    assert i.state is State.READY and i.transaction_id is None
    assert i.data_to_send() == CANCEL_1
    # the camera goes on regardless: dropped as it comes, then the channel carries on
    leftovers = (
        pk.Data(1, b"x" * 100_000).encode() * 3
        + pk.EndData(1, b"y").encode()
        + pk.OperationResponse(0x201F, 1).encode()
    )
    assert feed(i, leftovers, "odd" if split == "bytewise" else split) == []
    next_transaction_works(i)


@pytest.mark.parametrize("announced", [pk.UNKNOWN_DATA_LENGTH, 1_000_000], ids=["unknown-length", "announced-1MB"])
@pytest.mark.parametrize("split", ["whole", "odd"])
def test_bytes_past_the_limit_are_cancelled_on_the_header_that_crosses_it(announced, split):
    i = ready()
    get_object(i, 10_000)
    assert feed(i, pk.StartData(1, announced).encode(), split) == (
        [] if announced != 1_000_000 else [ev.DataTooLarge(1, 1_000_000, 10_000)]
    )
    if announced == 1_000_000:
        return  # refused at Start Data (above)
    assert feed(i, pk.Data(1, b"a" * 6_000).encode(), split) == []
    # the header of a packet that would pass the limit is enough: its payload is not waited for
    header = pk.Data(1, b"b" * 6_000).encode()[:12]
    assert feed(i, header, split) == [ev.DataTooLarge(1, 12_000, 10_000)]
    assert i.data_to_send() == CANCEL_1
    assert feed(i, b"b" * 6_000 + pk.EndData(1).encode() + pk.OperationResponse(0x2001, 1).encode(), split) == []
    next_transaction_works(i)


def test_a_phase_within_the_limit_is_whole():
    i = ready()
    get_object(i, 10_000)
    wire = pk.StartData(1, 10_000).encode() + pk.Data(1, b"z" * 9_000).encode() + pk.EndData(1, b"z" * 1_000).encode()
    got = feed(i, wire + pk.OperationResponse(0x2001, 1).encode(), "odd")
    assert got == [ev.DataIn(1, b"z" * 10_000), ev.OperationResponse(0x2001, 1)]


def test_a_cancelled_phase_costs_no_memory():
    # 200 MiB of leftovers in 1 MiB packets: none of it is buffered (before: each
    # leftover packet was waited for whole)
    i = ready()
    get_object(i, 10_000)
    feed(i, pk.StartData(1, pk.UNKNOWN_DATA_LENGTH).encode())
    packet = pk.Data(1, bytes(1024 * 1024)).encode()
    tracemalloc.start()
    try:
        got = []
        for _ in range(200):
            for k in range(0, len(packet), 256 * 1024):  # reads of the adapter's size
                got += feed(i, packet[k : k + 256 * 1024])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got == [ev.DataTooLarge(1, 1024 * 1024, 10_000)]
    assert peak < 2 * 1024 * 1024


def test_more_than_start_data_announced_is_still_a_broken_stream():
    # not the transaction's limit but the wire's own promise: the link is reset
    i = ready()
    get_object(i, 10_000)
    i.receive_data(pk.StartData(1, 100).encode() + pk.Data(1, b"x" * 200).encode())
    with pytest.raises(ProtocolError, match="more than the 100 announced"):
        while i.next_event() is not NEED_DATA:
            pass
    assert i.state is State.ERROR


def test_a_huge_control_packet_is_refused_on_its_length():
    i = ready()
    i.send(i.request(OperationCode.GetDeviceInfo))
    # an Event claiming 60 MB: only data packets are ever that big
    i.receive_data((60_000_000).to_bytes(4, "little") + (8).to_bytes(4, "little"))
    with pytest.raises(ProtocolError, match="only data packets"):
        i.next_event()


# -- through the asyncio initiator ----------------------------------------------------------


async def _camera(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, phases: dict[int, bytes]) -> None:
    """A PTP/IP camera on one socket that answers each operation in ``phases`` with an
    unknown-length data phase of its bytes repeated without end (or until told to stop
    by the number of repeats), then serves OpenSession and GetStorageIDs properly."""

    async def packet() -> bytes:
        head = await reader.readexactly(8)
        return head + await reader.readexactly(int.from_bytes(head[:4], "little") - 8)

    init = await packet()
    if pk.decode_packet(init).TYPE is pk.PacketType.INIT_COMMAND_REQUEST:
        writer.write(pk.InitCommandAck(1, GUID, "hostile").encode())
    else:
        writer.write(pk.InitEventAck().encode())
        await reader.read()  # the event channel idles
        return
    while True:
        try:
            p = pk.decode_packet(await packet())
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        if isinstance(p, pk.Cancel):
            continue
        assert isinstance(p, pk.OperationRequest)
        tid = p.transaction_id
        if p.code in phases:
            writer.write(pk.StartData(tid, pk.UNKNOWN_DATA_LENGTH).encode())
            chunk = pk.Data(tid, phases[p.code]).encode()
            try:
                for _ in range(400):  # 400 x 256 KiB = 100 MiB, never mind the Cancel
                    writer.write(chunk)
                    await writer.drain()
            except ConnectionError:
                return
            writer.write(pk.EndData(tid).encode() + pk.OperationResponse(0x2001, tid).encode())
        elif p.code == OperationCode.GetStorageIDs:
            writer.write(pk.StartData(tid, 8).encode() + pk.EndData(tid, b"\x01\x00\x00\x00\x01\x00\x01\x00").encode())
            writer.write(pk.OperationResponse(0x2001, tid).encode())
        else:
            writer.write(pk.OperationResponse(0x2001, tid).encode())
        await writer.drain()


async def _against_hostile_camera() -> tuple[float, float, int, str, bytes]:
    big = b"\x00" * (256 * 1024)
    phases: dict[int, bytes] = {OperationCode.GetObject: big, OperationCode.GetObjectInfo: big}
    server = await asyncio.start_server(lambda r, w: _camera(r, w, phases), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    cam = PTPIPInitiator("127.0.0.1", port, timeout=5.0)
    try:
        await cam.connect()
        await cam.open_session()
        t = time.monotonic()
        with pytest.raises(DataOverrun) as exc_info:
            await cam.transact(OperationCode.GetObject, (7,), max_data=10_000)
        t_object = time.monotonic() - t
        t = time.monotonic()
        with pytest.raises(DataOverrun) as dataset:  # a dataset's own budget, by default
            await cam.transact(OperationCode.GetObjectInfo, (7,))
        t_dataset = time.monotonic() - t
        assert dataset.value.limit == DATASET_LIMIT
        # the camera's 100 MiB of leftovers are dropped; the link carries the next one
        _, ids = await cam.call(OperationCode.GetStorageIDs, timeout=20.0)
        return t_object, t_dataset, exc_info.value.limit, str(exc_info.value), bytes(ids)
    finally:
        await cam.close(close_session=False)
        server.close()
        await server.wait_closed()


def test_the_initiator_cancels_an_overrun_and_carries_on():
    t_object, t_dataset, limit, message, ids = asyncio.run(_against_hostile_camera())
    assert limit == 10_000 and "10000 bytes allowed" in message
    assert t_object < 2.0 and t_dataset < 2.0  # stopped on the crossing packet, not at the end
    assert ids == b"\x01\x00\x00\x00\x01\x00\x01\x00"
