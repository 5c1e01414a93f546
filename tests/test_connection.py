"""Sans-I/O PTP/IP channels: both roles against each other and against hand-written bytes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeding import SPLITS, feed
from ptpd.protocol import events as ev
from ptpd.protocol import packets as pk
from ptpd.protocol.connection import (
    INITIATOR_TRANSITIONS,
    RESPONDER_TRANSITIONS,
    Channel,
    InitiatorConnection,
    ResponderConnection,
    State,
)
from ptpd.protocol.errors import LocalProtocolError, ProtocolError, Timeout
from ptpd.protocol.events import NEED_DATA

GUID_I = bytes(range(16))
GUID_R = bytes(range(0xF0, 0x100))


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace("|", " "))


class Pair:
    """Initiator and responder for both channels of one session (h11's ConnectionPair)."""

    def __init__(self, split: str = "whole", chunk_size: int = 64 * 1024) -> None:
        self.split = split
        self.i_cmd = InitiatorConnection()
        self.r_cmd = ResponderConnection(chunk_size=chunk_size)
        self.i_evt = InitiatorConnection()
        self.r_evt = ResponderConnection()

    def to_responder(self, event, cmd: bool = True) -> list:
        src, dst = (self.i_cmd, self.r_cmd) if cmd else (self.i_evt, self.r_evt)
        return feed(dst, src.send(event), self.split)

    def to_initiator(self, event, cmd: bool = True) -> list:
        src, dst = (self.r_cmd, self.i_cmd) if cmd else (self.r_evt, self.i_evt)
        return feed(dst, src.send(event), self.split)

    def handshake(self) -> None:
        assert self.to_responder(ev.InitCommandRequest(GUID_I, "host")) == [ev.InitCommandRequest(GUID_I, "host")]
        assert self.r_cmd.channel is Channel.COMMAND
        got = self.to_initiator(ev.InitCommandAck(42, GUID_R, "camera"))
        assert got == [ev.InitCommandAck(42, GUID_R, "camera")]
        assert self.i_cmd.connection_number == 42
        assert self.to_responder(ev.InitEventRequest(42), cmd=False) == [ev.InitEventRequest(42)]
        assert self.r_evt.channel is Channel.EVENT
        assert self.to_initiator(ev.InitEventAck(), cmd=False) == [ev.InitEventAck()]
        assert self.i_cmd.state is State.READY and self.i_evt.state is State.EVENTS

    def transact(self, code, params=(), data_out=None, data_in=None, response=0x2001, rparams=()):
        req = self.i_cmd.request(code, params, data_out=data_out is not None)
        got = self.to_responder(req)
        assert got == [req]
        if data_out is not None:
            assert self.to_responder(ev.DataOut(req.transaction_id, data_out)) == [
                ev.DataOut(req.transaction_id, data_out)
            ]
        received = []
        if data_in is not None:
            received += self.to_initiator(ev.DataIn(req.transaction_id, data_in))
        received += self.to_initiator(ev.OperationResponse(response, req.transaction_id, rparams))
        return req, received


@pytest.mark.parametrize("split", SPLITS)
def test_full_session(split):
    p = Pair(split, chunk_size=1000)
    p.handshake()
    # GetDeviceInfo before the session: TID 0
    req, got = p.transact(0x1001, data_in=b"devinfo")
    assert req.transaction_id == 0
    assert got == [ev.DataIn(0, b"devinfo"), ev.OperationResponse(0x2001, 0)]
    req, got = p.transact(0x1002, (1,))
    assert req.transaction_id == 0 and p.i_cmd.session_open
    # inside the session TIDs count from 1
    big = bytes(range(256)) * 20  # 5120 bytes: several Data packets + End Data
    req, got = p.transact(0x1009, (7,), data_in=big)
    assert req.transaction_id == 1
    assert got == [ev.DataIn(1, big), ev.OperationResponse(0x2001, 1)]
    req, got = p.transact(0x1016, (0x500F,), data_out=b"\x90\x01")
    assert req.transaction_id == 2 and req.data_phase == 2
    assert got == [ev.OperationResponse(0x2001, 2)]
    req, got = p.transact(0x100E, (0, 0))
    assert p.to_initiator(ev.Event(0x4002, req.transaction_id, (99,)), cmd=False) == [ev.Event(0x4002, 3, (99,))]
    assert p.to_initiator(ev.Event(0x400D, 3), cmd=False) == [ev.Event(0x400D, 3)]
    # an error before the data phase: response only
    req, got = p.transact(0x1009, (12345,), response=0x2009)
    assert got == [ev.OperationResponse(0x2009, 4)]
    # empty data-in
    req, got = p.transact(0x1007, (1, 0, 0), data_in=b"")
    assert got == [ev.DataIn(5, b""), ev.OperationResponse(0x2001, 5)]
    req, got = p.transact(0x1003)
    assert not p.i_cmd.session_open and p.i_cmd.next_transaction_id == 0
    # peer closes
    p.i_cmd.receive_data(b"")
    assert p.i_cmd.next_event() == ev.ConnectionClosed()
    assert p.i_cmd.next_event() == ev.ConnectionClosed()


@pytest.mark.parametrize("split", SPLITS)
def test_golden_handshake_bytes(split):
    """Init Command Request / Ack / Init Event written by hand from ptpip.md §2."""
    i = InitiatorConnection()
    wire = i.send(ev.InitCommandRequest(GUID_I, "ab"))
    assert wire == h("22000000 01000000 000102030405060708090a0b0c0d0e0f 6100620000 00 00000100")
    r = ResponderConnection()
    assert feed(r, wire, split) == [ev.InitCommandRequest(GUID_I, "ab", 0x00010000)]
    ack = r.send(ev.InitCommandAck(1, b"\xff" * 16, "X"))
    assert ack == h("24000000 02000000 01000000" + "ff" * 16 + "5800 0000 00000100")
    # a Fuji-style responder version other than 1.0 is accepted by the initiator
    got = feed(i, h("24000000 02000000 05000000" + "ee" * 16 + "5900 0000 01000100"), split)
    assert got == [ev.InitCommandAck(5, b"\xee" * 16, "Y", 0x00010001)]
    e = InitiatorConnection()
    assert e.send(ev.InitEventRequest(5)) == h("0c000000 03000000 05000000")
    assert feed(e, h("08000000 04000000"), split) == [ev.InitEventAck()]
    assert feed(e, h("12000000 08000000 0240 05000000 10000000"), split) == [ev.Event(0x4002, 5, (0x10,))]
    # a data phase as ptpip.md §4 draws it: Start Data, Data, End Data, then the response
    i.send(i.request(0x1001))
    wire = h(
        "14000000 09000000 00000000 0500000000000000"  # Start Data: TID 0, 5 bytes
        "0f000000 0a000000 00000000 616263"  # Data: "abc"
        "0e000000 0c000000 00000000 6465"  # End Data: "de"
        "0e000000 07000000 0120 00000000"  # Operation Response: OK
    )
    assert feed(i, wire, split) == [ev.DataIn(0, b"abcde"), ev.OperationResponse(0x2001, 0)]


def _ready_initiator() -> InitiatorConnection:
    i = InitiatorConnection()
    i.send(ev.InitCommandRequest(GUID_I, "h"))
    i.receive_data(pk.InitCommandAck(1, GUID_R, "c").encode())
    assert isinstance(i.next_event(), ev.InitCommandAck)
    return i


DATA_IN_SPLITS = {
    "all in End Data": [pk.StartData(0, 6), pk.EndData(0, b"abcdef")],
    "empty End Data": [pk.StartData(0, 6), pk.Data(0, b"abc"), pk.Data(0, b"def"), pk.EndData(0, b"")],
    "data then end": [pk.StartData(0, 6), pk.Data(0, b"abcd"), pk.EndData(0, b"ef")],
    "byte packets": [pk.StartData(0, 6), *[pk.Data(0, bytes([c])) for c in b"abcde"], pk.EndData(0, b"f")],
    "unknown length": [pk.StartData(0, pk.UNKNOWN_DATA_LENGTH), pk.Data(0, b"abc"), pk.EndData(0, b"def")],
}


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("case", list(DATA_IN_SPLITS))
def test_data_in_any_split(case, split):
    i = _ready_initiator()
    i.send(i.request(0x1001))
    wire = b"".join(p.encode() for p in DATA_IN_SPLITS[case]) + pk.OperationResponse(0x2001, 0).encode()
    assert feed(i, wire, split) == [ev.DataIn(0, b"abcdef"), ev.OperationResponse(0x2001, 0)]


@pytest.mark.parametrize(
    "packets",
    [
        [pk.StartData(0, 7), pk.EndData(0, b"abcdef")],  # short
        [pk.StartData(0, 5), pk.Data(0, b"abcdef")],  # more than announced
        [pk.StartData(0, 6), pk.EndData(9, b"abcdef")],  # wrong TID
        [pk.StartData(3, 6)],  # Start Data for another transaction
        [pk.Data(0, b"x")],  # Data without Start Data
        [pk.EndData(0, b"")],  # stray End Data
        [pk.StartData(0, 1), pk.StartData(0, 1)],  # second Start Data
        [pk.OperationResponse(0x2001, 5)],  # response for another transaction
        [pk.OperationRequest(1, 0x1001, 0)],  # a request sent to the initiator
        [pk.InitCommandAck(1, GUID_R, "again")],  # second Ack
        [pk.InitEventAck()],  # event ack on the command channel
    ],
    ids=lambda ps: "+".join(type(p).__name__ for p in ps),
)
def test_stray_packets_are_protocol_errors(packets):
    i = _ready_initiator()
    i.send(i.request(0x1001))
    i.receive_data(b"".join(p.encode() for p in packets))
    with pytest.raises(ProtocolError):
        while i.next_event() is not NEED_DATA:
            pass
    assert i.state is State.ERROR
    with pytest.raises(ProtocolError):  # and stays broken
        i.next_event()


def test_data_cap():
    i = InitiatorConnection(max_data_size=10)
    i.send(ev.InitCommandRequest(GUID_I, "h"))
    i.receive_data(pk.InitCommandAck(1, GUID_R, "c").encode())
    i.next_event()
    i.send(i.request(0x1009, (1,)))
    i.receive_data(pk.StartData(0, 11).encode())
    with pytest.raises(ProtocolError):
        i.next_event()


def test_responder_rejects_stray_and_pipelined():
    r = ResponderConnection()
    r.receive_data(pk.InitCommandRequest(GUID_I, "h").encode())
    r.next_event()
    r.send(ev.InitCommandAck(1, GUID_R, "c"))
    r.receive_data(pk.OperationRequest(1, 0x1001, 0).encode() + pk.OperationRequest(1, 0x1001, 1).encode())
    assert isinstance(r.next_event(), ev.OperationRequest)
    with pytest.raises(ProtocolError):
        r.next_event()


def test_responder_rejects_response_and_event_packets():
    for bad in (pk.OperationResponse(0x2001, 0), pk.Event(0x4002), pk.InitEventAck()):
        r = ResponderConnection()
        r.receive_data(bad.encode())
        with pytest.raises(ProtocolError):
            r.next_event()


def test_data_out_split_and_responder_reassembly():
    r = ResponderConnection()
    r.receive_data(pk.InitCommandRequest(GUID_I, "h").encode())
    r.next_event()
    r.send(ev.InitCommandAck(1, GUID_R, "c"))
    wire = b"".join(
        p.encode()
        for p in [
            pk.OperationRequest(2, 0x1016, 0, (0x5005,)),
            pk.StartData(0, 2),
            pk.Data(0, b"\x02"),
            pk.EndData(0, b"\x00"),
        ]
    )
    assert feed(r, wire, "bytewise") == [ev.OperationRequest(0x1016, 0, (0x5005,), 2), ev.DataOut(0, b"\x02\x00")]
    assert r.send(ev.OperationResponse(0x2001, 0)) == h("0e000000 07000000 0120 00000000")


def test_initiator_data_out_chunking():
    i = InitiatorConnection(chunk_size=4)
    i.send(ev.InitCommandRequest(GUID_I, "h"))
    i.receive_data(pk.InitCommandAck(1, GUID_R, "c").encode())
    i.next_event()
    req = i.request(0x100D, data_out=True)
    i.send(req)
    wire = i.send(ev.DataOut(0, b"0123456789"))
    assert wire == b"".join(
        p.encode() for p in [pk.StartData(0, 10), pk.Data(0, b"0123"), pk.Data(0, b"4567"), pk.EndData(0, b"89")]
    )
    with pytest.raises(LocalProtocolError):  # one data phase only
        i.send(ev.DataOut(0, b""))


def test_init_fail_both_sides():
    i = InitiatorConnection()
    i.send(ev.InitCommandRequest(GUID_I, "h"))
    r = ResponderConnection()
    r.receive_data(pk.InitCommandRequest(GUID_I, "h").encode())
    r.next_event()
    wire = r.send(ev.InitFail(1))
    assert wire == h("0c000000 05000000 01000000")
    assert r.state is State.CLOSED
    with pytest.raises(LocalProtocolError):
        r.send(ev.InitCommandAck(1, GUID_R, "c"))
    i.receive_data(wire)
    assert i.next_event() == ev.InitFail(1)
    assert i.state is State.CLOSED
    with pytest.raises(LocalProtocolError):
        i.send(i.request(0x1001))
    # event channel refused too
    e = InitiatorConnection()
    e.send(ev.InitEventRequest(9))
    e.receive_data(h("0c000000 05000000 03000000"))
    assert e.next_event() == ev.InitFail(3)


def test_probe_first_then_classification():
    r = ResponderConnection()
    r.receive_data(h("08000000 0d000000"))
    assert r.next_event() == ev.ProbeRequest()
    assert r.channel is None and r.state is State.IDLE
    assert r.data_to_send() == h("08000000 0e000000")
    assert r.data_to_send() == b""
    r.receive_data(pk.InitEventRequest(3).encode())
    assert r.next_event() == ev.InitEventRequest(3)
    assert r.channel is Channel.EVENT


def test_probe_keepalive_on_event_channel():
    p = Pair()
    p.handshake()
    assert p.to_responder(ev.ProbeRequest(), cmd=False) == [ev.ProbeRequest()]
    answer = p.r_evt.data_to_send()
    assert answer == pk.ProbeResponse().encode()
    assert feed(p.i_evt, answer) == [ev.ProbeResponse()]
    # a probe from the camera in the middle of a transaction is answered too
    req = p.i_cmd.request(0x1001)
    p.to_responder(req)
    assert feed(p.i_cmd, pk.ProbeRequest().encode()) == [ev.ProbeRequest()]
    # send() flushes queued answers first, so nothing is lost
    wire = p.i_cmd.send(ev.ProbeRequest())
    assert wire == pk.ProbeResponse().encode() + pk.ProbeRequest().encode()


def test_responder_event_only_on_event_channel():
    p = Pair()
    p.handshake()
    with pytest.raises(LocalProtocolError):
        p.r_cmd.send(ev.Event(0x4002, 1, (1,)))
    assert p.r_cmd.state is State.READY  # a refused send changes nothing
    with pytest.raises(ProtocolError):
        feed(p.r_evt, pk.OperationRequest(1, 0x1001, 0).encode())


def test_local_errors_leave_state_alone():
    i = InitiatorConnection()
    with pytest.raises(LocalProtocolError):
        i.send(ev.OperationRequest(0x1001, 0))
    with pytest.raises(LocalProtocolError):
        i.send(ev.Event(0x4002))
    with pytest.raises(LocalProtocolError):
        i.send(pk.Data(0, b"x"))  # data goes as one DataOut event
    assert i.state is State.IDLE
    i = _ready_initiator()
    with pytest.raises(LocalProtocolError):
        i.send(ev.DataOut(0, b"x"))  # no data-out request
    req = i.request(0x100D, data_out=True)
    i.send(req)
    with pytest.raises(LocalProtocolError):
        i.send(ev.DataOut(req.transaction_id + 1, b"x"))
    with pytest.raises(LocalProtocolError):
        i.send(i.request(0x1001))  # one transaction at a time
    r = ResponderConnection()
    with pytest.raises(LocalProtocolError):
        r.send(ev.InitCommandAck(1, GUID_R, "c"))  # nothing asked yet


def test_raw_packets_accepted_by_send():
    i = InitiatorConnection()
    assert i.send(pk.InitCommandRequest(GUID_I, "ab")) == pk.InitCommandRequest(GUID_I, "ab").encode()


def test_cancel_during_data_in_drops_late_packets():
    i = _ready_initiator()
    i.receive_data(pk.OperationResponse(0x2001, 0).encode())  # stray before any request
    with pytest.raises(ProtocolError):
        i.next_event()
    i = _ready_initiator()
    i.send(i.request(0x1002, (1,)))
    i.receive_data(pk.OperationResponse(0x2001, 0).encode())
    i.next_event()
    req = i.request(0x1009, (5,))
    i.send(req)
    i.receive_data(pk.StartData(1, 100).encode() + pk.Data(1, b"x" * 10).encode())
    assert i.next_event() is NEED_DATA
    assert i.data_progress == (10, 100)
    assert i.send(ev.Cancel(1)) == h("0c000000 0b000000 01000000")
    assert i.state is State.READY and i.transaction_id is None
    # the rest of the cancelled transaction arrives and is dropped
    i.receive_data(pk.Data(1, b"y" * 90).encode() + pk.EndData(1).encode())
    i.receive_data(pk.OperationResponse(0x201F, 1).encode())
    assert i.next_event() is NEED_DATA
    req = i.request(0x1001)
    assert req.transaction_id == 2
    i.send(req)
    i.receive_data(pk.OperationResponse(0x2001, 2).encode())
    assert i.next_event() == ev.OperationResponse(0x2001, 2)


def test_responder_receives_cancel():
    p = Pair()
    p.handshake()
    req = p.i_cmd.request(0x1009, (1,))
    p.to_responder(req)
    assert p.to_responder(ev.Cancel(req.transaction_id)) == [ev.Cancel(req.transaction_id)]
    assert p.r_cmd.state is State.READY
    # the camera's handler finishing late says nothing on the wire
    assert p.r_cmd.send(ev.DataIn(req.transaction_id, b"late")) == b""
    assert p.r_cmd.send(ev.OperationResponse(0x2001, req.transaction_id)) == b""
    # a Cancel naming no current transaction is just reported (e.g. on the event channel)
    assert p.to_responder(ev.Cancel(77), cmd=False) == [ev.Cancel(77)]
    assert p.to_initiator(ev.Cancel(req.transaction_id), cmd=False) == [ev.Cancel(req.transaction_id)]


def test_transaction_ids_wrap_skipping_reserved():
    p = Pair()
    p.handshake()
    p.transact(0x1002, (1,))
    p.i_cmd._next_tid = 0xFFFFFFFE  # jump ahead instead of 4 billion transactions
    req, _ = p.transact(0x1001)
    assert req.transaction_id == 0xFFFFFFFE
    req, _ = p.transact(0x1001)
    assert req.transaction_id == 1


def test_session_already_open_counts_as_open():
    p = Pair()
    p.handshake()
    p.transact(0x1002, (1,), response=0x201E, rparams=(1,))
    assert p.i_cmd.session_open
    assert p.i_cmd.request(0x1001).transaction_id == 1


def test_close_session_answered_with_tid_zero_is_accepted():
    """Leica answers CloseSession with TID 0 (ptpip.md §10)."""
    p = Pair()
    p.handshake()
    p.transact(0x1002, (1,))
    p.transact(0x1001)
    req = p.i_cmd.request(0x1003)
    p.to_responder(req)
    assert p.to_initiator(ev.OperationResponse(0x2001, 0)) == [ev.OperationResponse(0x2001, 0)]
    assert not p.i_cmd.session_open


def test_eof_inside_a_packet_is_an_error():
    r = ResponderConnection()
    r.receive_data(pk.InitCommandRequest(GUID_I, "h").encode()[:10])
    r.receive_data(b"")
    with pytest.raises(ProtocolError):
        r.next_event()
    with pytest.raises(LocalProtocolError):
        r.receive_data(b"more")


def test_timer_runs_only_while_waiting_for_the_peer():
    i = InitiatorConnection(timeout=5.0)
    assert i.get_timer() is None
    i.send(ev.InitCommandRequest(GUID_I, "h"), now=100.0)
    assert i.get_timer() == 105.0
    i.receive_data(pk.InitCommandAck(1, GUID_R, "c").encode(), now=101.0)
    i.next_event()
    assert i.get_timer() is None  # READY: nothing outstanding
    i.send(i.request(0x1009, (1,)), now=200.0)
    i.receive_data(pk.StartData(0, 10).encode(), now=203.0)  # data flowing restarts the clock
    i.next_event()
    i.handle_timer(207.9)
    with pytest.raises(Timeout):
        i.handle_timer(208.0)
    # the transaction the camera let run out is cancelled; the channel carries the next one
    assert i.state is State.READY and i.get_timer() is None
    assert i.data_to_send() == h("0c000000 0b000000 00000000")  # Cancel(0), ptpip.md §6


def test_probe_timer():
    i = InitiatorConnection(timeout=2.0)
    i.send(ev.InitEventRequest(1))
    i.receive_data(pk.InitEventAck().encode(), now=0.0)
    i.next_event()
    assert i.get_timer() is None
    i.send(ev.ProbeRequest(), now=10.0)
    assert i.get_timer() == 12.0
    i.receive_data(pk.ProbeResponse().encode(), now=11.0)
    assert i.next_event() == ev.ProbeResponse()
    assert i.get_timer() is None


def test_tables_only_use_declared_states():
    for table in (INITIATOR_TRANSITIONS, RESPONDER_TRANSITIONS):
        for (state, _inp), nxt in table.items():
            assert state not in (State.CLOSED, State.ERROR)
            assert isinstance(nxt, State)


@settings(max_examples=60, deadline=None)
@given(
    payload=st.binary(max_size=3000),
    chunk=st.integers(1, 700),
    cuts=st.lists(st.integers(1, 400), min_size=1, max_size=10),
)
def test_data_in_round_trip_any_chunking(payload, chunk, cuts):
    r = ResponderConnection(chunk_size=chunk)
    i = InitiatorConnection()
    r.receive_data(i.send(ev.InitCommandRequest(GUID_I, "h")))
    r.next_event()
    i.receive_data(r.send(ev.InitCommandAck(1, GUID_R, "c")))
    i.next_event()
    r.receive_data(i.send(i.request(0x1009, (1,))))
    r.next_event()
    wire = r.send(ev.DataIn(0, payload)) + r.send(ev.OperationResponse(0x2001, 0))
    got, pos, k = [], 0, 0
    while pos < len(wire):
        n = cuts[k % len(cuts)]
        i.receive_data(wire[pos : pos + n])
        pos, k = pos + n, k + 1
        while (e := i.next_event()) is not NEED_DATA:
            got.append(e)
    assert got == [ev.DataIn(0, payload), ev.OperationResponse(0x2001, 0)]


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=200))
def test_random_bytes_into_either_role_raise_only_protocol_error(data):
    for conn in (ResponderConnection(), _ready_initiator()):
        conn.receive_data(data)
        try:
            while conn.next_event() is not NEED_DATA:
                pass
        except ProtocolError:
            pass
