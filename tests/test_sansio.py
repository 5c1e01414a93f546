"""The sans-I/O base both dialects share: one sentinel, one event base, the same deadlines.

Every test here passes time in (``now``) and never sleeps. Each runs against the standard
initiator and Fuji's alike, through a small driver per dialect that writes the camera's
bytes from the references (ptpip.md §2/§4, fuji-ptpip.md §4): the deadline rules must hold
the same on both, and only what a timeout does differs (the standard initiator cancels,
Fuji's dialect has no Cancel and breaks the channel).
"""

from __future__ import annotations

import struct

import pytest

from feeding import pieces
from ptpd.fuji import connection as fc
from ptpd.fuji import events as fe
from ptpd.protocol import connection as pc
from ptpd.protocol import events as pe
from ptpd.protocol import packets as pk
from ptpd.protocol.errors import LocalProtocolError, ProtocolError, Timeout
from ptpd.protocol.sansio import DEFAULT_MIN_PROGRESS, NEED_DATA, ConnectionClosed, ConnectionEvent
from test_fuji_golden import EVENT_OBJECT_ADDED, INIT_ACK

T = 10.0  #: the channel's timeout in these tests
GUID = bytes(range(16))


class Standard:
    """The standard initiator's command channel (ptpip.md)."""

    name = "standard"

    @staticmethod
    def handshaken(**kw):
        c = pc.InitiatorConnection(timeout=T, **kw)
        c.send(pe.InitCommandRequest(GUID, "h"), now=0.0)
        c.receive_data(pk.InitCommandAck(1, GUID, "c").encode(), now=0.0)
        assert isinstance(c.next_event(), pe.InitCommandAck)
        return c

    @staticmethod
    def request(c, now, timeout=None) -> int:
        req = c.request(0x1009, (1,))
        c.send(req, now=now, timeout=timeout)
        return req.transaction_id

    @staticmethod
    def data_start(tid: int, total: int) -> bytes:
        # Start Data (20 bytes: u64 total), then the header of one Data packet that
        # carries the whole payload (ptpip.md §4)
        return struct.pack("<IIIQ", 20, 9, tid, total) + struct.pack("<III", 12 + total, 10, tid)

    @staticmethod
    def data_end_and_response(tid: int) -> bytes:
        return struct.pack("<III", 12, 12, tid) + struct.pack("<IIHI", 14, 7, 0x2001, tid)

    @staticmethod
    def response(tid: int) -> bytes:
        return struct.pack("<IIHI", 14, 7, 0x2001, tid)  # Operation Response, OK

    @staticmethod
    def event(tid: int) -> bytes:
        return struct.pack("<IIHII", 18, 8, 0x4002, tid, 5)  # ObjectAdded on the command channel

    @staticmethod
    def payload_of(events) -> bytes:
        (data,) = [e for e in events if isinstance(e, pe.DataIn)]
        return bytes(data.payload)

    @staticmethod
    def fresh():
        return pc.InitiatorConnection(timeout=T)

    @staticmethod
    def init_request():
        return pe.InitCommandRequest(GUID, "h")

    @staticmethod
    def after_timeout(c, tid: int) -> None:
        # cancelled (ptpip.md §6): the Cancel waits in data_to_send, the channel is READY
        assert c.state is pc.State.READY
        assert c.data_to_send() == struct.pack("<III", 12, 11, tid)
        late = Standard.response(tid)
        c.receive_data(late, now=99.0)
        assert c.next_event() is NEED_DATA  # the late answer is dropped
        nxt = Standard.request(c, 100.0)
        c.receive_data(Standard.response(nxt), now=101.0)
        assert c.next_event() == pe.OperationResponse(0x2001, nxt)


class Fuji:
    """Fuji's command channel (fuji-ptpip.md §4: 12-byte containers, one data container)."""

    name = "fuji"

    @staticmethod
    def handshaken(**kw):
        c = fc.FujiInitiatorConnection(timeout=T, **kw)
        c.send(fe.InitRequest(GUID, "h"), now=0.0)
        c.receive_data(INIT_ACK, now=0.0)  # the X-T1's, fuji-ptpip.md §3.2
        assert isinstance(c.next_event(), fe.InitAccepted)
        return c

    @staticmethod
    def request(c, now, timeout=None) -> int:
        tid = c.new_transaction_id()
        c.send(fe.OperationRequest(0x9022, tid), now=now, timeout=timeout)
        return tid

    @staticmethod
    def data_start(tid: int, total: int) -> bytes:
        return struct.pack("<IHHI", 12 + total, 2, 0x9022, tid)  # data container header

    @staticmethod
    def data_end_and_response(tid: int) -> bytes:
        return Fuji.response(tid)

    @staticmethod
    def response(tid: int) -> bytes:
        return struct.pack("<IHHI", 12, 3, 0x2001, tid)

    @staticmethod
    def event(tid: int) -> bytes:
        return EVENT_OBJECT_ADDED  # the X-T1's, fuji-ptpip.md §7

    @staticmethod
    def payload_of(events) -> bytes:
        (data,) = [e for e in events if isinstance(e, fe.Data)]
        return data.payload

    @staticmethod
    def fresh():
        return fc.FujiInitiatorConnection(timeout=T)

    @staticmethod
    def init_request():
        return fe.InitRequest(GUID, "h")

    @staticmethod
    def after_timeout(c, tid: int) -> None:
        # no Cancel in this dialect: the channel is broken for good
        assert c.state is fc.State.ERROR
        with pytest.raises(ProtocolError):
            c.next_event()
        with pytest.raises(LocalProtocolError):
            Fuji.request(c, 100.0)


DIALECTS = [Standard, Fuji]
dialects = pytest.mark.parametrize("d", DIALECTS, ids=lambda d: d.name)


def drain(c) -> list:
    out = []
    while (e := c.next_event()) is not NEED_DATA:
        out.append(e)
    return out


def test_one_sentinel_one_event_base_one_closed_event():
    assert pe.NEED_DATA is fe.NEED_DATA is NEED_DATA
    assert pe.ConnectionClosed is fe.ConnectionClosed is ConnectionClosed
    assert pe.ConnectionEvent is fe.ConnectionEvent is ConnectionEvent
    for module in (pe, fe):
        events = [
            v
            for v in vars(module).values()
            if isinstance(v, type) and issubclass(v, ConnectionEvent) and v is not ConnectionEvent
        ]
        assert len(events) > 5
        for cls in events:
            assert cls.__dataclass_params__.frozen


@dialects
def test_no_timer_at_rest_or_without_a_clock(d):
    c = d.handshaken()
    assert c.get_timer() is None  # nothing owed
    plain = d.fresh()
    plain.send(d.init_request())  # no now given: no timer runs
    assert plain.get_timer() is None


@dialects
def test_the_handshake_has_a_deadline_and_breaks_the_channel(d):
    c = d.fresh()
    c.send(d.init_request(), now=50.0)
    assert c.get_timer() == 50.0 + T
    c.handle_timer(59.9)
    with pytest.raises(Timeout):
        c.handle_timer(60.0)
    assert c.state.name == "ERROR"
    assert c.get_timer() is None


@dialects
def test_response_deadline_events_are_no_progress(d):
    c = d.handshaken()
    tid = d.request(c, now=100.0)
    assert c.get_timer() == 100.0 + T
    # an event on the command channel is harmless, but it is not an answer
    c.receive_data(d.event(tid), now=109.0)
    assert len(drain(c)) == 1
    assert c.get_timer() == 100.0 + T
    c.handle_timer(109.99)
    with pytest.raises(Timeout, match="no progress"):
        c.handle_timer(110.0)
    d.after_timeout(c, tid)


@dialects
def test_a_trickle_is_no_progress(d):
    """A camera that keeps sending a byte a second times out like a silent one."""
    c = d.handshaken()
    tid = d.request(c, now=0.0)
    c.receive_data(d.data_start(tid, 1_000_000), now=1.0)
    drain(c)
    start = c.get_timer()
    assert start is not None and start <= 1.0 + T
    for second in range(2, 11):
        c.receive_data(b"x", now=float(second))
        assert drain(c) == []
        assert c.get_timer() == start  # the bytes did not move the deadline
    with pytest.raises(Timeout):
        c.handle_timer(start)


@dialects
@pytest.mark.parametrize(
    ("split", "min_progress"),
    [("whole", DEFAULT_MIN_PROGRESS), ("odd", DEFAULT_MIN_PROGRESS), ("bytewise", 64)],
)
def test_steady_data_keeps_the_exchange_alive(d, split, min_progress):
    """min_progress bytes per timeout keep a long transfer going: here 20 timeouts long,
    its bytes fed whole, in odd chunks or one by one."""
    c = d.handshaken(min_progress=min_progress)
    tid = d.request(c, now=0.0)
    ticks = 20
    payload = bytes(range(256)) * (ticks * min_progress // 256) if min_progress >= 256 else bytes(ticks * min_progress)
    c.receive_data(d.data_start(tid, len(payload)), now=0.0)
    events = drain(c)
    now = 0.0
    for i in range(ticks):
        now += T  # each tick brings min_progress bytes, just in time
        c.handle_timer(now - 0.001)
        piece = payload[i * min_progress : (i + 1) * min_progress]
        for chunk in pieces(piece, split, (1, 7, 3, 13, 2, 31, 5, 10007)):
            c.receive_data(chunk, now=now)
            events += drain(c)
        assert c.get_timer() == now + T
    c.receive_data(d.data_end_and_response(tid), now=now)
    events += drain(c)
    assert d.payload_of(events) == payload
    assert c.get_timer() is None


@dialects
def test_a_send_may_bring_its_own_timeout(d):
    c = d.handshaken()
    tid = d.request(c, now=0.0, timeout=100.0)  # e.g. Fuji's pairing prompt
    assert c.get_timer() == 100.0
    c.handle_timer(99.0)
    c.receive_data(d.response(tid), now=50.0)
    drain(c)
    assert c.get_timer() is None
    d.request(c, now=60.0)  # the next exchange has the channel's timeout again
    assert c.get_timer() == 60.0 + T


@dialects
def test_a_new_state_is_progress(d):
    """Data in (or its start) moves the exchange on: the response then has its own time."""
    c = d.handshaken()
    tid = d.request(c, now=0.0)
    c.receive_data(d.data_start(tid, 3) + b"abc", now=8.0)
    drain(c)
    if d is Standard:
        c.receive_data(struct.pack("<III", 12, 12, tid), now=9.0)  # End Data
        drain(c)
    assert c.get_timer() == (9.0 if d is Standard else 8.0) + T
    c.receive_data(d.response(tid), now=15.0)
    drain(c)
    assert c.get_timer() is None


def test_standard_probe_deadline_is_its_own():
    c = Standard.handshaken()
    c.send(pe.ProbeRequest(), now=5.0, timeout=2.0)
    assert c.get_timer() == 7.0
    with pytest.raises(Timeout, match="Probe Response"):
        c.handle_timer(7.0)
    assert c.state is pc.State.READY and c.get_timer() is None  # the caller decides
    tid = Standard.request(c, now=8.0)
    c.send(pe.ProbeRequest(), now=9.0, timeout=1.0)
    assert c.get_timer() == 10.0  # the earlier of the two
    c.receive_data(pk.ProbeResponse().encode(), now=9.5)
    assert drain(c) == [pe.ProbeResponse()]
    assert c.get_timer() == 8.0 + T
    assert tid == c.transaction_id


def test_fuji_data_out_waits_on_us_until_it_is_sent():
    c = Fuji.handshaken()
    tid = c.new_transaction_id()
    c.send(fe.OperationRequest(0x1016, tid, (0xDF01,), data_out=True), now=0.0, timeout=30.0)
    assert c.get_timer() is None  # we owe the data container
    c.send(fe.Data(0x1016, tid, b"\x05\x00"), now=1.0)
    assert c.get_timer() == 31.0  # the request's timeout lasts the whole exchange


@dialects
def test_min_progress_is_a_knob(d):
    c = d.handshaken(min_progress=100)
    tid = d.request(c, now=0.0)
    c.receive_data(d.data_start(tid, 1000), now=1.0)
    drain(c)
    c.receive_data(bytes(100), now=5.0)
    drain(c)
    assert c.get_timer() == 5.0 + T
