"""Big data phases received in place: one buffer sized by Start Data, filled as bytes come.

The initiator reads with ``get_buffer``/``buffer_updated`` (asyncio.BufferedProtocol) or
``receive_data``; either way a phase of FILL_THRESHOLD bytes or more must come out whole
and exact, as the one ``bytearray`` the socket wrote into, whatever the packet and read
splits, with cancel, probes, EOF and lying lengths handled as for small phases.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from ptpd.protocol import events as ev
from ptpd.protocol import packets as pk
from ptpd.protocol.channel import ChannelConnection
from ptpd.protocol.codes import OperationCode
from ptpd.protocol.connection import FILL_THRESHOLD, READ_SIZE, InitiatorConnection, ResponderConnection, State
from ptpd.protocol.errors import ProtocolError
from ptpd.protocol.events import NEED_DATA

GUID = bytes(range(16))
BIG = bytes(random.Random(7).randbytes((1 << 20) + 1234))


def drain(conn: ChannelConnection) -> list[Any]:
    out = []
    while (e := conn.next_event()) is not NEED_DATA:
        out.append(e)
    return out


def read_into(conn: InitiatorConnection, wire: bytes, sizes: list[int]) -> tuple[list[Any], list[tuple[Any, int]]]:
    """Play ``wire`` as asyncio's BufferedProtocol reading does: recv_into each buffer the
    connection hands out (kept alive until the events are handled, as asyncio does).
    Returns the events and, per read, (object read into, bytes read)."""
    events, reads = [], []
    pos, i = 0, 0
    while pos < len(wire):
        buf = conn.get_buffer(-1)
        n = min(len(buf), sizes[i % len(sizes)], len(wire) - pos)
        buf[:n] = wire[pos : pos + n]
        reads.append((buf.obj, n))
        conn.buffer_updated(n)
        pos += n
        i += 1
        events += drain(conn)
        del buf
    return events, reads


def ready_pair(chunk_size: int = 64 * 1024) -> tuple[InitiatorConnection, ResponderConnection]:
    i, r = InitiatorConnection(), ResponderConnection(chunk_size=chunk_size)
    r.receive_data(i.send(ev.InitCommandRequest(GUID, "host")))
    assert drain(r)
    i.receive_data(r.send(ev.InitCommandAck(1, GUID, "camera")))
    assert drain(i)
    return i, r


def request(i: InitiatorConnection, r: ResponderConnection, code: int = 0x1009) -> int:
    req = i.request(code, (1,))
    r.receive_data(i.send(req))
    assert drain(r) == [req]
    return req.transaction_id


@pytest.mark.parametrize("chunk", [64 * 1024, 1000, 1 << 20])
@pytest.mark.parametrize("sizes", [[1 << 20], [5, 100_000, 3, 12, 77_777], [1, 2, 3, 9000]])
def test_big_phase_is_read_into_its_buffer(chunk, sizes):
    i, r = ready_pair(chunk)
    tid = request(i, r)
    wire = r.send(ev.DataIn(tid, BIG)) + r.send(ev.OperationResponse(0x2001, tid))
    events, reads = read_into(i, wire, sizes)
    assert [type(e) for e in events] == [ev.DataIn, ev.OperationResponse]
    data = events[0].payload
    assert isinstance(data, bytearray) and data == BIG
    # The socket wrote the payload straight into the returned buffer: all but what came
    # with Start Data in the first read (at most READ_SIZE); between packets only the next
    # header is read into scratch.
    direct = sum(n for obj, n in reads if obj is data)
    assert direct >= len(BIG) - READ_SIZE
    assert i.state is State.READY


@pytest.mark.parametrize("step", [1, 7, 4096, 1 << 20])
def test_receive_data_fills_the_same_way(step):
    i, r = ready_pair(10_000)
    tid = request(i, r)
    payload = BIG if step > 100 else BIG[: FILL_THRESHOLD + 5]  # keep the small steps quick
    wire = r.send(ev.DataIn(tid, payload)) + r.send(ev.OperationResponse(0x2001, tid))
    events = []
    for pos in range(0, len(wire), step):
        i.receive_data(wire[pos : pos + step])
        events += drain(i)
    assert events == [ev.DataIn(tid, payload), ev.OperationResponse(0x2001, tid)]
    assert isinstance(events[0].payload, bytearray)


def test_small_and_unknown_length_phases_stay_bytes():
    i, r = ready_pair()
    tid = request(i, r)
    i.receive_data(r.send(ev.DataIn(tid, b"x" * 100)) + r.send(ev.OperationResponse(0x2001, tid)))
    got = drain(i)
    assert type(got[0].payload) is bytes and got[0].payload == b"x" * 100
    # Start Data with the "unknown" length: collected and joined, not preallocated
    tid = request(i, r)
    wire = (
        pk.StartData(tid, pk.UNKNOWN_DATA_LENGTH).encode()
        + pk.Data(tid, BIG[:70_000]).encode()
        + pk.EndData(tid, BIG[70_000:]).encode()
        + pk.OperationResponse(0x2001, tid).encode()
    )
    events, _ = read_into(i, wire, [50_000])
    assert events[0].payload == BIG and type(events[0].payload) is bytes


def test_above_the_preallocation_cap_is_joined():
    i = InitiatorConnection(max_preallocate=FILL_THRESHOLD)
    r = ResponderConnection()
    r.receive_data(i.send(ev.InitCommandRequest(GUID, "host")))
    drain(r)
    i.receive_data(r.send(ev.InitCommandAck(1, GUID, "camera")))
    drain(i)
    tid = request(i, r)
    wire = r.send(ev.DataIn(tid, BIG)) + r.send(ev.OperationResponse(0x2001, tid))
    events, _ = read_into(i, wire, [100_000])
    assert events[0].payload == BIG and type(events[0].payload) is bytes


def test_probe_between_data_packets():
    i, r = ready_pair(100_000)
    tid = request(i, r)
    parts = r.send_parts(ev.DataIn(tid, BIG))
    # Start Data, then header+payload pairs: put a Probe Request after the first Data packet
    probe = pk.ProbeRequest().encode()
    wire = b"".join(bytes(p) for p in parts[:3]) + probe + b"".join(bytes(p) for p in parts[3:])
    wire += r.send(ev.OperationResponse(0x2001, tid))
    events, _ = read_into(i, wire, [40_000, 12, 100_000])
    assert [type(e) for e in events] == [ev.ProbeRequest, ev.DataIn, ev.OperationResponse]
    assert events[1].payload == BIG
    assert i.data_to_send() == pk.ProbeResponse().encode()


def test_cancel_in_the_middle_of_a_packet_drops_the_rest():
    i, r = ready_pair(100_000)
    tid = request(i, r)
    wire = r.send(ev.DataIn(tid, BIG))
    events, _ = read_into(i, wire[: 20 + 12 + 50_000], [1 << 20])  # inside the first Data packet
    assert events == [] and i.data_progress == (50_000, len(BIG))
    cancel = i.send(ev.Cancel(tid))
    assert cancel == pk.Cancel(tid).encode() and i.state is State.READY
    # the camera had already sent the rest, and the response: all dropped
    rest = wire[20 + 12 + 50_000 :] + pk.OperationResponse(0x2001, tid).encode()
    events, _ = read_into(i, rest, [30_000, 1 << 20])
    assert events == [] and i.state is State.READY
    # the channel carries the next transaction
    req = i.request(0x1009, (2,))
    i.send(req)
    wire = (
        pk.StartData(req.transaction_id, len(BIG)).encode()
        + pk.EndData(req.transaction_id, BIG).encode()
        + pk.OperationResponse(0x2001, req.transaction_id).encode()
    )
    events, _ = read_into(i, wire, [65_536])
    assert events == [ev.DataIn(req.transaction_id, BIG), ev.OperationResponse(0x2001, req.transaction_id)]


def test_eof_inside_a_packet():
    i, r = ready_pair()
    tid = request(i, r)
    wire = r.send(ev.DataIn(tid, BIG))
    read_into(i, wire[:100_000], [1 << 20])
    i.receive_data(b"")
    with pytest.raises(ProtocolError, match="closed inside"):
        i.next_event()
    assert i.state is State.ERROR


def test_more_than_announced_is_refused_at_the_header():
    i, r = ready_pair()
    tid = request(i, r)
    wire = pk.StartData(tid, FILL_THRESHOLD).encode()
    # a Data packet claiming 2x the announced total: refused before its payload comes
    header = pk.Data(tid, bytes(FILL_THRESHOLD * 2)).header()
    i.receive_data(wire + header)
    with pytest.raises(ProtocolError, match="more than"):
        i.next_event()


def test_wrong_transaction_in_a_big_phase():
    i, r = ready_pair()
    tid = request(i, r)
    i.receive_data(pk.StartData(tid, FILL_THRESHOLD).encode() + pk.Data(tid + 5, b"x").encode())
    with pytest.raises(ProtocolError, match="transaction"):
        drain(i)


def test_short_phase_is_refused():
    i, r = ready_pair()
    tid = request(i, r)
    wire = pk.StartData(tid, FILL_THRESHOLD + 10).encode() + pk.EndData(tid, bytes(FILL_THRESHOLD)).encode()
    with pytest.raises(ProtocolError, match="ended after"):
        read_into(i, wire, [1 << 20])


def test_initiator_and_camera_download_over_sockets():
    """GetObject / GetPartialObject through real sockets: the BufferedProtocol path."""
    from ptpd.camera.generic import GenericCamera
    from ptpd.simulator import generic as simgen
    from ptpd.simulator import start_simulator

    async def t() -> None:
        sim = await start_simulator("generic", big_object_mb=3, initial_images=1)
        try:
            async with GenericCamera(sim.host, sim.port, name="test") as cam:
                big = max(await cam.objects(), key=lambda o: o.size)
                seen: list[tuple[int, int]] = []
                data = await cam.download(big.handle, progress=lambda d, n: seen.append((d, n)))
                assert isinstance(data, bytearray) and len(data) == big.size == 3 * 1024 * 1024
                assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
                assert seen[-1] == (big.size, big.size)
                assert [d for d, _ in seen] == sorted(d for d, _ in seen)
                assert await cam.download(big.handle, offset=123_457) == data[123_457:]
                # a camera that sends at most 1 MiB per GetPartialObject: pieced together
                table, key = simgen._HANDLERS, OperationCode.GetPartialObject
                original = table[key]

                def capped(self, tid, p, d):
                    return original(self, tid, (p[0], p[1], min(p[2], 1 << 20)), d)

                table[key] = capped
                try:
                    progress: list[tuple[int, int]] = []
                    tail = await cam.download(big.handle, progress=lambda d, n: progress.append((d, n)), offset=1000)
                finally:
                    table[key] = original
                assert tail == data[1000:]
                assert progress[0] == (0, big.size - 1000) and progress[-1] == (big.size - 1000, big.size - 1000)
        finally:
            await sim.close()

    asyncio.run(asyncio.wait_for(t(), 60))


@pytest.mark.parametrize("total", [FILL_THRESHOLD, 50 * 1024 * 1024, 1_000_000_000, 0xFFFFFFFE])
def test_memory_follows_the_bytes_not_the_announcement(total):
    """A Start Data that announces much and sends little costs little memory."""
    import tracemalloc

    i, r = ready_pair()
    tid = request(i, r)
    sent = 300_000
    wire = pk.StartData(tid, total).encode() + pk.Data(tid, bytes(min(sent, total))).header()
    wire += BIG[: min(sent, total)]
    tracemalloc.start()
    try:
        read_into(i, wire, [100_000])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * sent  # the buffer doubles, with one zeroed block in flight
    assert i.data_progress == (min(sent, total), total)


def test_a_view_held_on_the_buffer_does_not_break_growth():
    """Growing in place needs no live view of the buffer; with one, the bytes are copied."""
    i, r = ready_pair(1 << 20)
    tid = request(i, r)
    wire = r.send(ev.DataIn(tid, BIG)) + r.send(ev.OperationResponse(0x2001, tid))
    held = []
    events = []
    for pos in range(0, len(wire), 70_000):
        buf = i.get_buffer(-1)
        n = min(len(buf), 70_000, len(wire) - pos)
        buf[:n] = wire[pos : pos + n]
        held.append(buf)  # never released: an export on the buffer
        i.buffer_updated(n)
        events += drain(i)
        if n < 70_000:  # read less than offered: feed the rest the other way
            i.receive_data(wire[pos + n : pos + 70_000])
            events += drain(i)
    assert events[0].payload == BIG
