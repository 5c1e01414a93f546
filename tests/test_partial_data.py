"""A data phase the link cuts short still gives what arrived (sans-I/O, time passed in).

A download is one GetObject (or one GetPartialObject for the rest) so that the link is
busy for all of it; what makes that safe is that a drop mid-phase costs nothing already
received: the channel hands out the bytes of the cut phase (``received_so_far``), in
order from its first byte, after EOF between or inside packets, after its deadline
passed (the transaction cancelled), and while the phase still runs (a reset the channel
is never told of). A stream the peer garbled hands out nothing. Both dialects.
"""

from __future__ import annotations

import random

import pytest

from feeding import SPLITS, feed
from ptpd.fuji.connection import FujiInitiatorConnection
from ptpd.fuji.events import InitRequest, OperationRequest
from ptpd.fuji.packets import Container
from ptpd.protocol import events as ev
from ptpd.protocol import packets as pk
from ptpd.protocol.connection import FILL_THRESHOLD, InitiatorConnection, State
from ptpd.protocol.dataphase import DATA_HEADER_SIZE, data_packets
from ptpd.protocol.errors import ProtocolError, StreamCut, Timeout
from ptpd.protocol.sansio import ConnectionClosed
from test_fuji_golden import FUJI_APP_GUID, INIT_ACK

GUID = bytes(range(16))
OBJECT = random.Random(25).randbytes(3 * 65536 + 777)  #: big: received in place
SMALL = OBJECT[: FILL_THRESHOLD // 2]  #: small: kept as packets, joined at the end
CHUNK = 65536  #: payload per Data packet


def session(timeout: float | None = None) -> InitiatorConnection:
    i = InitiatorConnection(timeout=timeout)
    i.send(ev.InitCommandRequest(GUID, "host"), now=0.0)
    i.receive_data(pk.InitCommandAck(1, GUID, "camera").encode(), now=0.0)
    assert isinstance(i.next_event(), ev.InitCommandAck)
    return i


def get_object(i: InitiatorConnection, now: float = 10.0) -> int:
    req = i.request(0x1009, (1,))
    i.send(req, now=now)
    return req.transaction_id


def phase_cut_at(tid: int, payload: bytes, cut: int) -> bytes:
    """The wire bytes of ``payload``'s data-in phase up to payload byte ``cut`` (which may
    fall inside a Data packet): Start Data, whole Data packets, part of the next."""
    wire = b"".join(bytes(p) for p in data_packets(tid, payload, CHUNK))
    pos = len(pk.StartData(tid, len(payload)).encode())
    taken = 0
    while taken < cut:  # walk the packets to the byte that ends the cut
        n = min(CHUNK, cut - taken)
        pos += DATA_HEADER_SIZE + n
        taken += n
    return wire[:pos]


@pytest.mark.parametrize("payload", [OBJECT, SMALL], ids=["in-place", "small"])
@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("cut", [CHUNK, 2 * CHUNK + 1000, 5])
def test_eof_mid_phase_leaves_the_bytes_that_arrived(payload: bytes, split: str, cut: int) -> None:
    cut = min(cut, len(payload) - 1)
    i = session()
    tid = get_object(i)
    wire = phase_cut_at(tid, payload, cut)
    feed(i, wire, split, now=11.0)
    i.receive_data(b"", now=11.5)
    inside = cut % CHUNK != 0
    if inside:
        with pytest.raises(StreamCut):  # EOF inside a Data packet: cut short, not garbage
            i.next_event()
    else:
        assert isinstance(i.next_event(), ConnectionClosed)
    assert i.intact
    got = bytes(i.received_so_far(tid))
    # a phase received in place keeps even the piece of the packet it was reading; a small
    # one keeps whole packets only (the piece was still in the receive buffer)
    kept = cut if payload is OBJECT or not inside else cut - cut % CHUNK
    assert got == payload[:kept]
    assert i.received_so_far(tid + 1) == b""  # another transaction's: nothing


@pytest.mark.parametrize("payload", [OBJECT, SMALL], ids=["in-place", "small"])
def test_a_deadline_that_passes_mid_phase_leaves_the_bytes(payload: bytes) -> None:
    i = session(timeout=2.0)
    tid = get_object(i, now=100.0)
    cut = len(payload) // 2 // CHUNK * CHUNK or len(payload) // 2
    wire = phase_cut_at(tid, payload, cut)
    i.receive_data(wire, now=100.5)
    while i.next_event() is not ev.NEED_DATA:
        pass
    # the link goes silent: nothing comes, time passes
    i.handle_timer(102.4)
    with pytest.raises(Timeout):
        i.handle_timer(102.6)
    assert i.state is State.READY and i.data_to_send() == pk.Cancel(tid).encode()
    expect = payload[:cut] if payload is OBJECT else payload[: cut - cut % CHUNK]
    assert bytes(i.received_so_far(tid)) == expect
    # a packet of the cancelled phase still on its way is dropped, and does not add to it
    rest = b"".join(bytes(p) for p in data_packets(tid, payload, CHUNK))[len(wire) :]
    i.receive_data(rest[: DATA_HEADER_SIZE + 10], now=102.7)
    assert bytes(i.received_so_far(tid)) == expect
    # the next transaction starts clean
    get_object(i, now=103.0)
    assert i.received_so_far(tid) == b""


def test_while_the_phase_runs_the_bytes_so_far_are_there() -> None:
    """A reset (ECONNRESET, a user timeout) is the adapter's to see: the channel is never
    told, and hands out what the phase holds as it is."""
    i = session()
    tid = get_object(i)
    wire = phase_cut_at(tid, OBJECT, 2 * CHUNK + 99)
    feed(i, wire, "odd", now=11.0)
    assert bytes(i.received_so_far(tid)) == OBJECT[: 2 * CHUNK + 99]


def test_a_garbled_stream_hands_out_nothing() -> None:
    """Bytes after garbage are not trusted: a packet of an unknown type mid-phase."""
    i = session()
    tid = get_object(i)
    bogus = (12).to_bytes(4, "little") + (0x77).to_bytes(4, "little") + bytes(4)
    i.receive_data(phase_cut_at(tid, OBJECT, CHUNK) + bogus, now=11.0)
    with pytest.raises(ProtocolError) as info:
        while i.next_event() is not ev.NEED_DATA:
            pass
    assert not isinstance(info.value, StreamCut) and not i.intact
    assert i.received_so_far(tid) == b""


# -- Fuji: a data container is one packet ---------------------------------------------------


def fuji_transaction(timeout: float | None = None) -> tuple[FujiInitiatorConnection, int]:
    c = FujiInitiatorConnection(timeout=timeout)
    c.send(InitRequest(FUJI_APP_GUID, "ptpd"), now=0.0)
    c.receive_data(INIT_ACK, now=0.0)
    c.next_event()
    tid = c.new_transaction_id()
    c.send(OperationRequest(0x101B, tid, (1, 0, len(OBJECT))), now=10.0)
    return c, tid


@pytest.mark.parametrize("split", SPLITS[:2])
def test_fuji_eof_inside_the_data_container_leaves_what_arrived(split: str) -> None:
    c, tid = fuji_transaction()
    wire = Container.data(0x101B, tid, OBJECT).encode()
    cut = 12 + 100_000
    feed(c, wire[:cut], split, now=11.0)
    assert bytes(c.received_so_far(tid)) == OBJECT[:100_000]  # still arriving
    c.receive_data(b"", now=11.5)
    with pytest.raises(StreamCut):
        c.next_event()
    assert c.intact and bytes(c.received_so_far(tid)) == OBJECT[:100_000]
    assert c.received_so_far(tid + 1) == b""


def test_fuji_deadline_mid_container_leaves_what_arrived() -> None:
    c, tid = fuji_transaction(timeout=2.0)
    c.receive_data(Container.data(0x101B, tid, OBJECT).encode()[: 12 + 70_000], now=10.5)
    c.next_event()
    with pytest.raises(Timeout):
        c.handle_timer(12.6)  # no progress for 2 s: Fuji cannot cancel, the stream is over
    assert c.intact and bytes(c.received_so_far(tid)) == OBJECT[:70_000]


def test_fuji_garbled_stream_hands_out_nothing() -> None:
    c, tid = fuji_transaction()
    c.receive_data((5).to_bytes(4, "little") + bytes(8), now=11.0)  # a length under the header
    with pytest.raises(ProtocolError):
        c.next_event()
    assert not c.intact and c.received_so_far(tid) == b""
