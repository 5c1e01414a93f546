"""Sans-I/O PTP/IP state machines for one TCP channel, initiator or responder side.

Theory of operation
-------------------

A PTP/IP session uses two TCP connections (CIPA DC-X005 §2.3; ptpip.md §3): the
*command* channel (init handshake, then transactions) and the *event* channel (init
handshake, then camera events). One :class:`InitiatorConnection` or
:class:`ResponderConnection` object drives ONE of them; a session needs two. The caller
does all I/O, in the h11 manner::

    conn.receive_data(bytes_from_socket, now)   # b"" means EOF
    while (ev := conn.next_event()) is not NEED_DATA:
        handle(ev)
    sock.send(conn.data_to_send())              # automatic answers (Probe Response, Cancel)
    sock.send(conn.send(some_event, now))       # what we say
    arm_timer(conn.get_timer())                 # then conn.handle_timer(now) when it fires

The channel is built from modules of one idea each: the shared sans-I/O base
(:mod:`.sansio`: buffer, EOF, errors, deadlines, also under Fuji's dialect), the states
and tables (:mod:`.transitions`), data phases (:mod:`.dataphase`), the machinery both
roles share (:mod:`.channel`) and, here, the two roles.

A channel learns which kind it is from its first init packet: the initiator from what it
*sends* (Init Command Request vs Init Event Request), the responder from what it
*receives* (the responder cannot tell the channels apart by port, ptpip.md §3). A Probe
Request may come before either and is answered without classifying anything.

Rules
~~~~~

1. Every state change is an entry of :data:`INITIATOR_TRANSITIONS` or
   :data:`RESPONDER_TRANSITIONS` (:mod:`.transitions`), keyed ``(state, input)``. An input
   not in the table is an error: :class:`LocalProtocolError` if we tried to send it,
   :class:`ProtocolError` if the peer sent it. A failed ``send()`` leaves the state unchanged; a peer error puts the
   channel in ``ERROR`` for good (every later ``next_event()`` raises it again).
2. One transaction at a time (ISO 15740 §9.3.1): request → optional data phase in ONE
   direction → response. Data phases are reassembled into one :class:`DataIn` /
   :class:`DataOut` event, whatever the split (all in End Data, empty End Data, ...),
   and must add up to Start Data's total length (ptpip.md §4). A phase announced as
   :data:`FILL_THRESHOLD` bytes or more is received into one ``bytearray`` of that size
   (each byte copied once, or read there directly with ``get_buffer`` /
   ``buffer_updated``) and handed out as it is; smaller ones as ``bytes``.
3. Probe Requests are legal in every open state and answered at once: the Probe Response
   is queued for :meth:`data_to_send` (h2's outbound-buffer model) *and* the
   :class:`~ptpd.protocol.events.ProbeRequest` event is reported. ``send()`` also returns
   anything still queued in front of its own bytes, so nothing queued is ever lost.
4. Cancel (ptpip.md §6) is legal on either channel once initialised. Cancelling the
   transaction in progress ends it; packets of that transaction that arrive later
   (data, response) are dropped silently, and a response we would send for it is dropped.
5. Time is a parameter (:mod:`.sansio` rules 2-4): pass ``now`` to ``receive_data`` /
   ``buffer_updated`` / ``send`` and the channel says when it gives up waiting
   (``get_timer``, ``handle_timer``); it never sleeps. The peer must make progress within
   ``timeout`` (or the ``timeout`` given to the ``send()`` that started the exchange): a
   new state, or ``min_progress`` bytes of a data phase. An initiator whose transaction
   runs out of time cancels it (rule 4: the Cancel is queued for ``data_to_send()``) and
   stays READY; a handshake or responder that runs out of time goes to ERROR. An
   unanswered probe just raises.
6. A data-in phase may bring at most ``max_data_size`` bytes, and at most what the
   initiator allowed for its transaction (:meth:`InitiatorConnection.expect_data`): a
   Start Data announcing more, or bytes past that in a phase of unknown length, are
   checked on the packet header; past the transaction's limit the initiator cancels it
   (rule 4) and reports :class:`~ptpd.protocol.events.DataTooLarge`, past the connection's
   cap (or past what Start Data announced) it is a :class:`ProtocolError`. Packets other
   than data are a few dozen bytes: a Length over 64 KiB on one is refused at once.
7. Transaction IDs (ptp.md §2, ptpip.md §7): the initiator allocates them with
   :meth:`InitiatorConnection.request` — TID 0 outside a session and for OpenSession, then
   1, 2, 3 … within it, wrapping from 0xFFFFFFFE to 1 (0xFFFFFFFF is reserved for events).
"""

from __future__ import annotations

from typing import Any

from ptpd.protocol import events as ev
from ptpd.protocol import packets as pk
from ptpd.protocol.channel import ChannelConnection
from ptpd.protocol.codes import DataPhase, OperationCode, ResponseCode
from ptpd.protocol.dataphase import DEFAULT_CHUNK_SIZE, DEFAULT_MAX_DATA_SIZE, FILL_THRESHOLD
from ptpd.protocol.errors import LocalProtocolError, Timeout
from ptpd.protocol.sansio import READ_SIZE, Bytes
from ptpd.protocol.transitions import (
    INITIATOR_TRANSITIONS,
    INITIATOR_WAITING,
    RESPONDER_TRANSITIONS,
    RESPONDER_WAITING,
    TRANSACTION_STATES,
    Channel,
    Input,
    State,
)

S, I = State, Input  # noqa: E741  # short names keep the code readable


class InitiatorConnection(ChannelConnection):
    """The host's side of one PTP/IP channel (command or event).

    Command channel: ``send(InitCommandRequest(...))``, wait for :class:`InitCommandAck`
    (or :class:`InitFail`), then transactions: ``send(conn.request(op, params))`` and read
    ``DataIn?`` + ``OperationResponse``; for data-out, ``send(conn.request(op, params,
    data_out=True))`` then ``send(DataOut(tid, payload))``.
    Event channel: ``send(InitEventRequest(number))``, wait for :class:`InitEventAck`,
    then read :class:`Event` s.
    """

    _TRANSITIONS = INITIATOR_TRANSITIONS
    _WAITING = INITIATOR_WAITING

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._next_tid = 0
        self._session_open = False

    @property
    def session_open(self) -> bool:
        """True between a successful OpenSession and CloseSession."""
        return self._session_open

    @property
    def next_transaction_id(self) -> int:
        """The TID :meth:`request` will give the next operation (other than OpenSession)."""
        return self._next_tid if self._session_open else 0

    def request(
        self, code: int, params: tuple[int, ...] | list[int] = (), *, data_out: bool = False
    ) -> ev.OperationRequest:
        """Build an Operation Request with the next transaction ID (not sent yet).

        OpenSession and anything outside a session get TID 0; within a session
        1, 2, 3 …, wrapping from 0xFFFFFFFE to 1.
        """
        if code == OperationCode.OpenSession or not self._session_open:
            tid = 0
        else:
            tid = self._next_tid
            self._next_tid = 1 if tid >= 0xFFFFFFFE else tid + 1
        phase = DataPhase.DataOut if data_out else DataPhase.NoDataOrIn
        return ev.OperationRequest(code, tid, tuple(params), int(phase))

    def expect_data(self, limit: int) -> None:
        """The data-in phase of the transaction just sent may bring at most ``limit``
        bytes (the size the camera declared for an object, a dataset's budget). A phase
        that announces or brings more is cancelled at once (rule 4) and reported as
        :class:`~ptpd.protocol.events.DataTooLarge`; the channel carries the next
        transaction. Without it the cap is the connection's ``max_data_size``."""
        if self._current_tid is None:
            raise LocalProtocolError("expect_data() needs a transaction in progress")
        if limit < 0:
            raise ValueError("limit must be >= 0")
        self._data_limit = limit
        d = self._data
        if d is not None and limit < d.cap:  # the phase began: it keeps the new limit
            d.cap, d.own = limit, True

    def _on_receive_role(self, inp: Input, p: pk.Packet) -> ev.ConnectionEvent | None:
        if inp is I.RECV_INIT_COMMAND_ACK:
            assert isinstance(p, pk.InitCommandAck)
            self.connection_number = p.connection_number
            event = ev.InitCommandAck(p.connection_number, p.guid, p.name, p.version)
            self.peer_init = event
            return event
        if inp is I.RECV_INIT_EVENT_ACK:
            return ev.InitEventAck()
        if inp is I.RECV_RESPONSE:
            assert isinstance(p, pk.OperationResponse)
            # Leica answers CloseSession with TID 0 (ptpip.md §10): accept 0 as "this one".
            if p.transaction_id != 0:
                self._check_tid(p.transaction_id, "Operation Response")
            code = self._current_code
            if code == OperationCode.OpenSession and p.code in (ResponseCode.OK, ResponseCode.SessionAlreadyOpen):
                self._session_open = True
                self._next_tid = 1
            elif code == OperationCode.CloseSession and p.code == ResponseCode.OK:
                self._session_open = False
            self._end_transaction()
            return ev.OperationResponse(p.code, p.transaction_id, p.params)
        raise AssertionError(f"unhandled input {inp}")  # pragma: no cover - table and code agree

    def _data_event(self, tid: int, payload: Bytes) -> ev.ConnectionEvent:
        return ev.DataIn(tid, payload)  # type: ignore[arg-type]  # bytes, or the phase's bytearray

    def _timed_out(self, exc: Timeout) -> None:
        """Rule 5: a transaction the camera let run out of time is cancelled (rule 4);
        the channel carries the next one. A handshake cannot be cancelled: ERROR."""
        tid = self._current_tid
        if tid is None or self._state not in TRANSACTION_STATES:
            super()._timed_out(exc)
            return
        self._outbox.extend(self._send_cancel(ev.Cancel(tid)))

    def _send_role(self, event: ev.ConnectionEvent) -> list[Bytes]:
        if isinstance(event, ev.InitCommandRequest):
            nxt = self._local_transition(I.SEND_INIT_COMMAND_REQUEST, event)
            data = pk.InitCommandRequest(event.guid, event.name, event.version).encode()
            self._channel = Channel.COMMAND
        elif isinstance(event, ev.InitEventRequest):
            nxt = self._local_transition(I.SEND_INIT_EVENT_REQUEST, event)
            data = pk.InitEventRequest(event.connection_number).encode()
            self._channel = Channel.EVENT
            self.connection_number = event.connection_number
        elif isinstance(event, ev.OperationRequest):
            out = event.data_phase == DataPhase.DataOut
            nxt = self._local_transition(I.SEND_REQUEST_DATA_OUT if out else I.SEND_REQUEST, event)
            data = pk.OperationRequest(event.data_phase, event.code, event.transaction_id, event.params).encode()
            self._current_tid = event.transaction_id
            self._current_code = event.code
            self._cancelled.discard(event.transaction_id)
            self._cut = None
        elif isinstance(event, ev.DataOut):
            return self._send_data(I.SEND_DATA_OUT, event)
        else:
            raise LocalProtocolError(f"an initiator does not send {type(event).__name__}")
        self._move(nxt)
        return [data]


class ResponderConnection(ChannelConnection):
    """The camera's side of one PTP/IP channel; which one is decided by the first packet.

    Read :class:`InitCommandRequest` → ``send(InitCommandAck(...))`` or ``send(InitFail(r))``;
    or :class:`InitEventRequest` → ``send(InitEventAck())``. Then on the command channel
    read :class:`OperationRequest` (and, for data-out, :class:`DataOut`) and answer with
    ``send(DataIn(tid, payload))`` if there is data, then ``send(OperationResponse(...))``.
    On the event channel, ``send(Event(...))``.
    """

    _TRANSITIONS = RESPONDER_TRANSITIONS
    _WAITING = RESPONDER_WAITING

    def __init__(self, *, unknown_phase_data_out: frozenset[int] | set[int] = frozenset(), **kwargs: Any) -> None:
        """``unknown_phase_data_out``: operations whose request with DataPhase ``Unknown``
        (unverified: accept it, never send it) still announces a data-out phase, because
        the operation always has one (SetDevicePropValue, SendObject, ...). Other keyword
        arguments are :class:`~ptpd.protocol.channel.ChannelConnection` options."""
        super().__init__(**kwargs)
        self._unknown_phase_data_out = frozenset(unknown_phase_data_out)

    def _on_receive_role(self, inp: Input, p: pk.Packet) -> ev.ConnectionEvent | None:
        if inp is I.RECV_INIT_COMMAND_REQUEST:
            assert isinstance(p, pk.InitCommandRequest)
            self._channel = Channel.COMMAND
            event = ev.InitCommandRequest(p.guid, p.name, p.version)
            self.peer_init = event
            return event
        if inp is I.RECV_INIT_EVENT_REQUEST:
            assert isinstance(p, pk.InitEventRequest)
            self._channel = Channel.EVENT
            self.connection_number = p.connection_number
            return ev.InitEventRequest(p.connection_number)
        if inp is I.RECV_REQUEST or inp is I.RECV_REQUEST_DATA_OUT:
            assert isinstance(p, pk.OperationRequest)
            self._current_tid = p.transaction_id
            self._current_code = p.code
            self._cancelled.discard(p.transaction_id)
            self._cut = None
            return ev.OperationRequest(p.code, p.transaction_id, p.params, p.data_phase)
        raise AssertionError(f"unhandled input {inp}")  # pragma: no cover - table and code agree

    def _data_event(self, tid: int, payload: Bytes) -> ev.ConnectionEvent:
        return ev.DataOut(tid, payload)

    def _send_role(self, event: ev.ConnectionEvent) -> list[Bytes]:
        if isinstance(event, (ev.DataIn, ev.OperationResponse)):
            tid = event.transaction_id
            if self._is_leftover(tid):
                return []  # rule 4: the transaction was cancelled; say nothing more about it
        if isinstance(event, ev.InitCommandAck):
            nxt = self._local_transition(I.SEND_INIT_COMMAND_ACK, event)
            data = pk.InitCommandAck(event.connection_number, event.guid, event.name, event.version).encode()
            self.connection_number = event.connection_number
        elif isinstance(event, ev.InitEventAck):
            nxt = self._local_transition(I.SEND_INIT_EVENT_ACK, event)
            data = pk.InitEventAck().encode()
        elif isinstance(event, ev.InitFail):
            nxt = self._local_transition(I.SEND_INIT_FAIL, event)
            data = pk.InitFail(event.reason).encode()
        elif isinstance(event, ev.DataIn):
            return self._send_data(I.SEND_DATA_IN, event)
        elif isinstance(event, ev.OperationResponse):
            nxt = self._local_transition(I.SEND_RESPONSE, event)
            data = pk.OperationResponse(event.code, event.transaction_id, event.params).encode()
            self._end_transaction()
        elif isinstance(event, ev.Event):
            nxt = self._local_transition(I.SEND_EVENT, event)
            data = pk.Event(event.code, event.transaction_id, event.params).encode()
        else:
            raise LocalProtocolError(f"a responder does not send {type(event).__name__}")
        self._move(nxt)
        return [data]


__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_MAX_DATA_SIZE",
    "FILL_THRESHOLD",
    "INITIATOR_TRANSITIONS",
    "READ_SIZE",
    "RESPONDER_TRANSITIONS",
    "Bytes",
    "Channel",
    "InitiatorConnection",
    "Input",
    "ResponderConnection",
    "State",
]
