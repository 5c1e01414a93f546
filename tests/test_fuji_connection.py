"""Sans-I/O Fuji connections: the X-T1 bring-up replayed byte for byte, both roles."""

from __future__ import annotations

import pytest

from feeding import SPLITS, feed
from ptpd.fuji.connection import (
    FujiEventChannel,
    FujiInitiatorConnection,
    FujiResponderConnection,
    LiveViewStream,
    State,
    next_transaction_id,
)
from ptpd.fuji.events import (
    ConnectionClosed,
    Data,
    Event,
    InitAccepted,
    InitRejected,
    InitRequest,
    OperationRequest,
    OperationResponse,
    UnexpectedResponse,
)
from ptpd.fuji.packets import InitCommandRequest, encode_liveview_frame
from ptpd.protocol.errors import LocalProtocolError, ProtocolError
from test_fuji_golden import (
    BRING_UP,
    BRING_UP_EXACT,
    EVENT_CAPTURE_COMPLETE,
    EVENT_OBJECT_ADDED,
    EVENT_PREVIEW,
    FUJI_APP_GUID,
    INIT_ACK,
    INIT_FAIL_NAME,
    LIVEVIEW_FRAME,
    STATE_CONTAINER,
    STATE_OK,
    h,
)


def events_from(conn, data: bytes, split: str = "whole") -> list:
    return feed(conn, data, split)


def handshaken() -> FujiInitiatorConnection:
    c = FujiInitiatorConnection()
    c.send(InitRequest(FUJI_APP_GUID, "ptpd"))
    assert events_from(c, INIT_ACK)[0].name == "X-T1"
    return c


@pytest.mark.parametrize("split", SPLITS)
def test_initiator_replays_reference_bring_up(split: str) -> None:
    c = FujiInitiatorConnection()
    hello = c.send(InitRequest(FUJI_APP_GUID, "ptpd"))
    assert len(hello) == 82 and c.state is State.AWAIT_ACK
    [ack] = events_from(c, INIT_ACK, split)
    assert isinstance(ack, InitAccepted) and c.state is State.IDLE

    # requests carry exactly their parameters, values exactly their size
    steps = [
        (OperationRequest(0x1002, 1, (1,)), None),
        (OperationRequest(0x1016, 2, (0xDF01,), data_out=True), Data(0x1016, 2, h("05 00"))),
        (OperationRequest(0x1015, 3, (0xDF24,)), None),
        (OperationRequest(0x1016, 4, (0xDF24,), data_out=True), Data(0x1016, 4, h("01 00 02 00"))),
        (OperationRequest(0x101C, 5, (0, 0)), None),
    ]
    sent = b""
    received = []
    replies = [raw for d, raw in BRING_UP_EXACT if d == "←"]
    for req, data in steps:
        assert c.new_transaction_id() == req.transaction_id
        sent += c.send(req)
        if data is not None:
            sent += c.send(data)
        while c.state is not State.IDLE:
            received += events_from(c, replies.pop(0), split)
    assert sent == b"".join(raw for d, raw in BRING_UP_EXACT if d == "→")
    assert received == [
        OperationResponse(0x2001, 1),
        OperationResponse(0x2001, 2),
        Data(0x1015, 3, h("01 00 02 00")),
        OperationResponse(0x2001, 3),
        OperationResponse(0x2001, 4),
        OperationResponse(0x2001, 5),
    ]


@pytest.mark.parametrize("split", SPLITS)
def test_responder_parses_reference_bring_up(split: str) -> None:
    r = FujiResponderConnection()
    [req] = events_from(r, InitCommandRequest(FUJI_APP_GUID, "ptpd").encode(), split)
    assert req == InitRequest(FUJI_APP_GUID, "ptpd")
    out = r.send(InitAccepted(1, h("3e 86 26 cc 50 59 42 25 bd d6 d1 60 b2 e6 a6 0f"), "X-T1"))
    assert out == INIT_ACK
    camera_said = b""
    for direction, raw in BRING_UP:
        if direction == "→":
            for ev in events_from(r, raw, split):
                if isinstance(ev, OperationRequest) and ev.code == 0x1015:
                    camera_said += r.send(Data(0x1015, ev.transaction_id, h("01 00 02 00")))
                    camera_said += r.send(OperationResponse(0x2001, ev.transaction_id))
                elif isinstance(ev, OperationRequest) and ev.code == 0x1016:
                    pass  # wait for the data container
                else:
                    camera_said += r.send(OperationResponse(0x2001, ev.transaction_id))
                    if isinstance(ev, Data):
                        assert ev.payload[:4] in (h("05 00 00 00"), h("01 00 02 00"))
    assert camera_said == b"".join(raw for d, raw in BRING_UP if d == "←")


@pytest.mark.parametrize("split", SPLITS)
def test_responder_accepts_second_init_and_goodbye(split: str) -> None:
    r = FujiResponderConnection()
    hello = InitCommandRequest(FUJI_APP_GUID, "gphoto").encode()
    events_from(r, hello, split)
    r.send(InitAccepted(0, FUJI_APP_GUID, "X-T1"))
    # libgphoto2 sends the request again on the same socket.
    [again] = events_from(r, hello, split)
    assert isinstance(again, InitRequest) and r.state is State.INIT_RECEIVED
    r.send(InitAccepted(0, FUJI_APP_GUID, "X-T1"))
    [close_req] = events_from(r, h("0c 00 00 00 01 00 03 10 07 00 00 00"), split)  # 12-byte, no params
    assert close_req == OperationRequest(0x1003, 7, ())
    r.send(OperationResponse(0x2001, 7))
    # hkr's goodbye: a bare u32 0xFFFFFFFF.
    assert events_from(r, h("ff ff ff ff"), split) == [ConnectionClosed()]


def test_initiator_init_fail() -> None:
    c = FujiInitiatorConnection()
    c.send(InitRequest(FUJI_APP_GUID, "ptpd"))
    assert events_from(c, INIT_FAIL_NAME) == [InitRejected(0x2019)]
    assert c.state is State.FAILED
    with pytest.raises(LocalProtocolError):
        c.send(OperationRequest(0x1002, 1, (1,)))


@pytest.mark.parametrize("split", SPLITS)
def test_state_list_transaction(split: str) -> None:
    c = handshaken()
    for _ in range(5):
        c.new_transaction_id()
    c.send(OperationRequest(0x1015, c.new_transaction_id(), (0xD212,)))
    evs = events_from(c, STATE_CONTAINER + STATE_OK, split)
    assert [type(e) for e in evs] == [Data, OperationResponse]
    assert evs[0].payload == STATE_CONTAINER[12:]


def test_initiator_reports_replies_as_they_came() -> None:
    # a response with nothing open is reported, not taken for garbage: the stream is whole
    c = handshaken()
    assert events_from(c, h("0c 00 00 00 03 00 01 20 01 00 00 00")) == [UnexpectedResponse(0x2001, 1)]
    assert c.state is State.IDLE
    # one transaction is open at a time: a data container and a response with another
    # transaction id are that transaction's, with the id they carry (the caller compares)
    c.send(OperationRequest(0x1015, 1, (0xD001,)))
    got = events_from(c, h("0e 00 00 00 02 00 15 10 09 00 00 00 02 00") + h("0c 00 00 00 03 00 02 20 00 00 00 00"))
    assert got == [Data(0x1015, 9, h("02 00")), OperationResponse(0x2002, 0)]
    assert c.state is State.IDLE
    # a data container with no transaction open breaks the stream
    with pytest.raises(ProtocolError):
        events_from(c, h("0e 00 00 00 02 00 15 10 09 00 00 00 02 00"))


def test_initiator_refuses_what_it_may_not_send() -> None:
    c = handshaken()
    c.send(OperationRequest(0x1015, 1, (0xD001,)))
    with pytest.raises(LocalProtocolError):  # a second request while one is open
        c.send(OperationRequest(0x1015, 2, (0xD001,)))
    with pytest.raises(LocalProtocolError):  # data-out not announced
        c.send(Data(0x1015, 1, b"\x00"))


def test_responder_rejects_out_of_order() -> None:
    r = FujiResponderConnection()
    events_from(r, InitCommandRequest(FUJI_APP_GUID, "x").encode())
    with pytest.raises(LocalProtocolError):
        r.send(OperationResponse(0x2001, 1))  # handshake not answered yet
    r.send(InitAccepted(1, FUJI_APP_GUID, "X-T1"))
    with pytest.raises(ProtocolError):  # data with no request
        events_from(r, h("0e 00 00 00 02 00 16 10 01 00 00 00 02 00"))


def test_eof_is_connection_closed() -> None:
    c = handshaken()
    c.receive_data(b"")
    assert c.next_event() == ConnectionClosed()
    assert c.next_event() == ConnectionClosed()


@pytest.mark.parametrize("split", SPLITS)
def test_event_channel_golden(split: str) -> None:
    ch = FujiEventChannel()
    stream = EVENT_OBJECT_ADDED + EVENT_PREVIEW + EVENT_CAPTURE_COMPLETE
    evs = events_from(ch, stream, split)
    assert evs == [Event(0xC004, 7, (7, 0, 0)), Event(0xC001, 7, (7, 0xF129, 0)), Event(0x400D, 8, (8, 0, 0))]
    assert b"".join(FujiEventChannel.send(e) for e in evs) == stream
    ch.receive_data(b"")
    assert ch.next_event() == ConnectionClosed()
    with pytest.raises(ProtocolError):
        events_from(FujiEventChannel(), h("0c 00 00 00 03 00 01 20 01 00 00 00"))


@pytest.mark.parametrize("split", SPLITS)
def test_liveview_stream_events(split: str) -> None:
    s = LiveViewStream()
    stream = LIVEVIEW_FRAME + encode_liveview_frame(0x2B, b"\xff\xd8\xff\xd9")
    frames = events_from(s, stream, split)
    assert [f.counter for f in frames] == [0x2A, 0x2B]
    s.receive_data(b"")
    assert s.next_event() == ConnectionClosed()


def test_transaction_id_wraps_to_one() -> None:
    assert next_transaction_id(0) == 1
    assert next_transaction_id(0xFFFFFFFF) == 1
