"""Sans-I/O PTP/IP state machines for one TCP channel, initiator or responder side.

Theory of operation
-------------------

A PTP/IP session uses two TCP connections (CIPA DC-X005 §2.3; ptpip.md §3): the
*command* channel (init handshake, then transactions) and the *event* channel (init
handshake, then camera events). One :class:`InitiatorConnection` or
:class:`ResponderConnection` object drives ONE of them; a session needs two. The caller
does all I/O, in the h11 manner::

    conn.receive_data(bytes_from_socket)        # b"" means EOF
    while (ev := conn.next_event()) is not NEED_DATA:
        handle(ev)
    sock.send(conn.data_to_send())              # automatic answers (Probe Response)
    sock.send(conn.send(some_event))            # what we say

A channel learns which kind it is from its first init packet: the initiator from what it
*sends* (Init Command Request vs Init Event Request), the responder from what it
*receives* (the responder cannot tell the channels apart by port, ptpip.md §3). A Probe
Request may come before either and is answered without classifying anything.

Rules
~~~~~

1. Every state change is an entry of :data:`INITIATOR_TRANSITIONS` or
   :data:`RESPONDER_TRANSITIONS`, keyed ``(state, input)``. An input not in the table is an
   error: :class:`LocalProtocolError` if we tried to send it, :class:`ProtocolError` if
   the peer sent it. A failed ``send()`` leaves the state unchanged; a peer error puts the
   channel in ``ERROR`` for good (every later ``next_event()`` raises it again).
2. One transaction at a time (ISO 15740 §9.3.1): request → optional data phase in ONE
   direction → response. Data phases are reassembled into one :class:`DataIn` /
   :class:`DataOut` event, whatever the split (all in End Data, empty End Data, ...),
   and must add up to Start Data's total length (ptpip.md §4). A phase announced as
   :data:`FILL_THRESHOLD` bytes or more is received into one ``bytearray`` of that size
   (each byte copied once, or read there directly with :meth:`~_Connection.get_buffer` /
   :meth:`~_Connection.buffer_updated`) and handed out as it is; smaller ones as ``bytes``.
3. Probe Requests are legal in every open state and answered at once: the Probe Response
   is queued for :meth:`data_to_send` (h2's outbound-buffer model) *and* the
   :class:`~ptpd.protocol.events.ProbeRequest` event is reported. ``send()`` also returns
   anything still queued in front of its own bytes, so nothing queued is ever lost.
4. Cancel (ptpip.md §6) is legal on either channel once initialised. Cancelling the
   transaction in progress ends it; packets of that transaction that arrive later
   (data, response) are dropped silently, and a response we would send for it is dropped.
5. Time is a parameter: pass ``now`` to ``receive_data``/``send`` and the channel can say
   when it gives up waiting (:meth:`get_timer`, :meth:`handle_timer`); it never sleeps.
6. Transaction IDs (ptp.md §2, ptpip.md §7): the initiator allocates them with
   :meth:`InitiatorConnection.request` — TID 0 outside a session and for OpenSession, then
   1, 2, 3 … within it, wrapping from 0xFFFFFFFE to 1 (0xFFFFFFFF is reserved for events).
"""

from __future__ import annotations

import struct
from enum import Enum, auto, unique
from typing import Union

from ptpd.protocol import events as ev
from ptpd.protocol import packets as pk
from ptpd.protocol.codes import DataPhase, OperationCode, ResponseCode
from ptpd.protocol.errors import LocalProtocolError, ProtocolError, Timeout
from ptpd.protocol.framing import DEFAULT_MAX_PACKET_SIZE, PacketBuffer

#: Payload bytes per Data packet we send. libgphoto2 uses 64 KiB; packets of this size
#: usually sit inside one socket read on the other side, so its framer can slice them
#: without copying.
DEFAULT_CHUNK_SIZE = 64 * 1024
#: Largest data phase we accept (a PTP object is at most 4 GiB: ObjectCompressedSize is u32).
DEFAULT_MAX_DATA_SIZE = 4 * 1024**3
#: A data phase whose Start Data announces at least this many bytes is received into one
#: buffer of that size, allocated once: each Data payload is copied (or read, with
#: :meth:`_Connection.get_buffer`) straight to its place, and the whole phase is handed
#: out as that ``bytearray``, never joined. Smaller phases keep the zero-copy views.
FILL_THRESHOLD = 64 * 1024
#: Phases announced bigger than this are collected as views and joined once, as small
#: ones (the one buffer grows by doubling; past this size a join is the safer bet).
DEFAULT_MAX_PREALLOCATE = 1024 * 1024**2
#: Size of the scratch buffer :meth:`_Connection.get_buffer` hands out outside a payload.
READ_SIZE = 256 * 1024

Bytes = Union[bytes, bytearray, memoryview]


@unique
class Channel(Enum):
    """Which of the two PTP/IP connections a channel object drives."""

    COMMAND = auto()  #: command/data connection
    EVENT = auto()  #: event connection


@unique
class State(Enum):
    """States of one channel. Transaction states are shared by both roles and name the phase."""

    IDLE = auto()  #: nothing exchanged yet (a responder may have answered probes)
    AWAIT_INIT_ACK = auto()  #: initiator sent Init Command Request
    AWAIT_EVENT_ACK = auto()  #: initiator sent Init Event Request
    INIT_RECEIVED = auto()  #: responder got Init Command Request; must Ack or Fail
    EVENT_INIT_RECEIVED = auto()  #: responder got Init Event Request; must Ack or Fail
    READY = auto()  #: command channel between transactions
    EVENTS = auto()  #: event channel, bound: events flow responder → initiator
    REQUESTED = auto()  #: request without data-out made; data-in or the response comes next
    DATA_IN = auto()  #: initiator is receiving a data-in phase
    DATA_OUT_PENDING = auto()  #: request with data-out made; the data-out comes next
    DATA_OUT = auto()  #: responder is receiving a data-out phase
    DATA_DONE = auto()  #: data phase over; the response comes next
    CLOSED = auto()  #: after Init Fail or EOF
    ERROR = auto()  #: the peer broke the protocol or a timer ran out


@unique
class Input(Enum):
    """What can happen to a channel: something we send or something we receive."""

    SEND_INIT_COMMAND_REQUEST = auto()
    RECV_INIT_COMMAND_REQUEST = auto()
    SEND_INIT_COMMAND_ACK = auto()
    RECV_INIT_COMMAND_ACK = auto()
    SEND_INIT_EVENT_REQUEST = auto()
    RECV_INIT_EVENT_REQUEST = auto()
    SEND_INIT_EVENT_ACK = auto()
    RECV_INIT_EVENT_ACK = auto()
    SEND_INIT_FAIL = auto()
    RECV_INIT_FAIL = auto()
    SEND_REQUEST = auto()  #: Operation Request, no data-out
    RECV_REQUEST = auto()
    SEND_REQUEST_DATA_OUT = auto()  #: Operation Request announcing a data-out phase
    RECV_REQUEST_DATA_OUT = auto()
    SEND_DATA_IN = auto()  #: whole data-in phase (responder)
    SEND_DATA_OUT = auto()  #: whole data-out phase (initiator)
    RECV_START_DATA = auto()
    RECV_DATA = auto()
    RECV_END_DATA = auto()
    SEND_RESPONSE = auto()
    RECV_RESPONSE = auto()
    SEND_EVENT = auto()
    RECV_EVENT = auto()
    SEND_PROBE_REQUEST = auto()
    RECV_PROBE_REQUEST = auto()
    SEND_PROBE_RESPONSE = auto()
    RECV_PROBE_RESPONSE = auto()
    SEND_CANCEL_CURRENT = auto()  #: Cancel of the transaction in progress
    RECV_CANCEL_CURRENT = auto()
    SEND_CANCEL_OTHER = auto()  #: Cancel naming any other transaction
    RECV_CANCEL_OTHER = auto()


S, I = State, Input  # noqa: E741 - short names keep the tables readable

_TRANSACTION_STATES = (S.REQUESTED, S.DATA_IN, S.DATA_OUT_PENDING, S.DATA_OUT, S.DATA_DONE)
_INITIALISED = (S.READY, S.EVENTS, *_TRANSACTION_STATES)
_OPEN = tuple(s for s in S if s not in (S.CLOSED, S.ERROR))


def _channel_level(table: dict[tuple[State, Input], State]) -> None:
    """Probes (any open state) and Cancel (once initialised) — the same for both roles."""
    for s in _OPEN:
        for i in (I.SEND_PROBE_REQUEST, I.RECV_PROBE_REQUEST, I.SEND_PROBE_RESPONSE, I.RECV_PROBE_RESPONSE):
            table[(s, i)] = s
    for s in _INITIALISED:
        table[(s, I.SEND_CANCEL_OTHER)] = s
        table[(s, I.RECV_CANCEL_OTHER)] = s
    for s in _TRANSACTION_STATES:
        table[(s, I.SEND_CANCEL_CURRENT)] = S.READY
        table[(s, I.RECV_CANCEL_CURRENT)] = S.READY


#: Initiator (host) transitions.
INITIATOR_TRANSITIONS: dict[tuple[State, Input], State] = {
    # command channel handshake
    (S.IDLE, I.SEND_INIT_COMMAND_REQUEST): S.AWAIT_INIT_ACK,
    (S.AWAIT_INIT_ACK, I.RECV_INIT_COMMAND_ACK): S.READY,
    (S.AWAIT_INIT_ACK, I.RECV_INIT_FAIL): S.CLOSED,
    # event channel handshake
    (S.IDLE, I.SEND_INIT_EVENT_REQUEST): S.AWAIT_EVENT_ACK,
    (S.AWAIT_EVENT_ACK, I.RECV_INIT_EVENT_ACK): S.EVENTS,
    (S.AWAIT_EVENT_ACK, I.RECV_INIT_FAIL): S.CLOSED,
    # transactions
    (S.READY, I.SEND_REQUEST): S.REQUESTED,
    (S.READY, I.SEND_REQUEST_DATA_OUT): S.DATA_OUT_PENDING,
    (S.DATA_OUT_PENDING, I.SEND_DATA_OUT): S.DATA_DONE,
    (S.REQUESTED, I.RECV_START_DATA): S.DATA_IN,
    (S.REQUESTED, I.RECV_RESPONSE): S.READY,  # no data phase, or an error before data
    (S.DATA_IN, I.RECV_DATA): S.DATA_IN,
    (S.DATA_IN, I.RECV_END_DATA): S.DATA_DONE,
    (S.DATA_DONE, I.RECV_RESPONSE): S.READY,
    # events: on the event channel; tolerated on the command channel (harmless)
    (S.EVENTS, I.RECV_EVENT): S.EVENTS,
    (S.READY, I.RECV_EVENT): S.READY,
    **{(s, I.RECV_EVENT): s for s in _TRANSACTION_STATES},
}
_channel_level(INITIATOR_TRANSITIONS)

#: Responder (camera) transitions.
RESPONDER_TRANSITIONS: dict[tuple[State, Input], State] = {
    # classification by the first init packet
    (S.IDLE, I.RECV_INIT_COMMAND_REQUEST): S.INIT_RECEIVED,
    (S.INIT_RECEIVED, I.SEND_INIT_COMMAND_ACK): S.READY,
    (S.INIT_RECEIVED, I.SEND_INIT_FAIL): S.CLOSED,
    (S.IDLE, I.RECV_INIT_EVENT_REQUEST): S.EVENT_INIT_RECEIVED,
    (S.EVENT_INIT_RECEIVED, I.SEND_INIT_EVENT_ACK): S.EVENTS,
    (S.EVENT_INIT_RECEIVED, I.SEND_INIT_FAIL): S.CLOSED,
    # transactions
    (S.READY, I.RECV_REQUEST): S.REQUESTED,
    (S.READY, I.RECV_REQUEST_DATA_OUT): S.DATA_OUT_PENDING,
    (S.REQUESTED, I.SEND_DATA_IN): S.DATA_DONE,
    (S.REQUESTED, I.SEND_RESPONSE): S.READY,
    (S.DATA_OUT_PENDING, I.RECV_START_DATA): S.DATA_OUT,
    (S.DATA_OUT, I.RECV_DATA): S.DATA_OUT,
    (S.DATA_OUT, I.RECV_END_DATA): S.DATA_DONE,
    (S.DATA_DONE, I.SEND_RESPONSE): S.READY,
    # events
    (S.EVENTS, I.SEND_EVENT): S.EVENTS,
}
_channel_level(RESPONDER_TRANSITIONS)

# States in which we wait for the peer (a timer runs when ``timeout`` is set).
_INITIATOR_WAITING = {S.AWAIT_INIT_ACK, S.AWAIT_EVENT_ACK, S.REQUESTED, S.DATA_IN, S.DATA_DONE}
_RESPONDER_WAITING = {S.DATA_OUT_PENDING, S.DATA_OUT}

_RECV_INPUT: dict[pk.PacketType, Input] = {
    pk.PacketType.INIT_COMMAND_REQUEST: I.RECV_INIT_COMMAND_REQUEST,
    pk.PacketType.INIT_COMMAND_ACK: I.RECV_INIT_COMMAND_ACK,
    pk.PacketType.INIT_EVENT_REQUEST: I.RECV_INIT_EVENT_REQUEST,
    pk.PacketType.INIT_EVENT_ACK: I.RECV_INIT_EVENT_ACK,
    pk.PacketType.INIT_FAIL: I.RECV_INIT_FAIL,
    pk.PacketType.OPERATION_RESPONSE: I.RECV_RESPONSE,
    pk.PacketType.EVENT: I.RECV_EVENT,
    pk.PacketType.START_DATA: I.RECV_START_DATA,
    pk.PacketType.DATA: I.RECV_DATA,
    pk.PacketType.END_DATA: I.RECV_END_DATA,
    pk.PacketType.PROBE_REQUEST: I.RECV_PROBE_REQUEST,
    pk.PacketType.PROBE_RESPONSE: I.RECV_PROBE_RESPONSE,
}

# Raw packets accepted by ``send()`` and the event each one stands for.
_PACKET_TO_EVENT = {
    pk.InitCommandRequest: lambda p: ev.InitCommandRequest(p.guid, p.name, p.version),
    pk.InitCommandAck: lambda p: ev.InitCommandAck(p.connection_number, p.guid, p.name, p.version),
    pk.InitEventRequest: lambda p: ev.InitEventRequest(p.connection_number),
    pk.InitEventAck: lambda p: ev.InitEventAck(),
    pk.InitFail: lambda p: ev.InitFail(p.reason),
    pk.OperationRequest: lambda p: ev.OperationRequest(p.code, p.transaction_id, p.params, p.data_phase),
    pk.OperationResponse: lambda p: ev.OperationResponse(p.code, p.transaction_id, p.params),
    pk.Event: lambda p: ev.Event(p.code, p.transaction_id, p.params),
    pk.Cancel: lambda p: ev.Cancel(p.transaction_id),
    pk.ProbeRequest: lambda p: ev.ProbeRequest(),
    pk.ProbeResponse: lambda p: ev.ProbeResponse(),
}


_TYPE_TID = struct.Struct("<II")


def _strip(parts: list[memoryview], n: int) -> list[memoryview]:
    """``parts`` without their first ``n`` bytes."""
    out = []
    for part in parts:
        if n >= len(part):
            n -= len(part)
            continue
        out.append(part[n:] if n else part)
        n = 0
    return out


def _grow(buf: bytearray, size: int, used: int) -> bytearray:
    """``buf`` made ``size`` long, its first ``used`` bytes kept: in place when no view of it
    is held (realloc moves big blocks without copying), else copied into a new buffer."""
    try:
        buf += bytes(size - len(buf))
        return buf
    except BufferError:
        # someone still holds a view of it (a read in flight): copy to a new one
        new = bytearray(size)
        memoryview(new)[:used] = memoryview(buf)[:used]
        return new


#: A preallocated phase starts with a buffer of at most this size and doubles it as bytes
#: arrive (never beyond the announced total), so memory follows what the camera sends,
#: not what it announces: a lying Start Data costs it as much data as it costs us memory.
FIRST_FILL = 256 * 1024


class _Reassembly:
    """One data phase being received.

    Either into ``buf`` (big phases: grown towards the announced total as bytes arrive,
    each byte written once, at its place) or as pieces kept as views and joined once at
    End Data (small phases, unknown totals).
    """

    __slots__ = ("transaction_id", "total", "received", "parts", "buf")

    def __init__(self, transaction_id: int, total: int, prealloc: bool) -> None:
        self.transaction_id = transaction_id
        self.total = total
        self.received = 0
        self.parts: list[Bytes] = []
        self.buf: bytearray | None = bytearray(min(total, FIRST_FILL)) if prealloc else None

    def room(self, want: int) -> memoryview:
        """A view of the next (at most ``want``) bytes of ``buf``, grown if it is full."""
        buf = self.buf
        assert buf is not None
        cap = len(buf)
        if cap == self.received and cap < self.total:
            buf = self.buf = _grow(buf, min(self.total, 2 * cap), self.received)
            cap = len(buf)
        return memoryview(buf)[self.received : min(cap, self.received + want)]


class _Streamed:
    """A Data / End Data packet of a preallocated phase whose header was taken and whose
    payload is still arriving (it goes straight into the phase's buffer)."""

    __slots__ = ("inp", "nxt", "tid", "left", "discard")

    def __init__(self, inp: Input, nxt: State, tid: int, left: int) -> None:
        self.inp = inp
        self.nxt = nxt
        self.tid = tid
        self.left = left  #: payload bytes of this packet not received yet
        self.discard = False  #: the transaction ended (we cancelled it): drop the rest


class _Connection:
    """Machinery shared by both roles; use :class:`InitiatorConnection` / :class:`ResponderConnection`."""

    _TRANSITIONS: dict[tuple[State, Input], State]
    _WAITING: set[State]
    #: Operations whose request with DataPhase ``Unknown`` announces a data-out phase
    #: (responder option, see :class:`ResponderConnection`).
    _unknown_phase_data_out: frozenset[int] = frozenset()

    def __init__(
        self,
        *,
        timeout: float | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        max_packet_size: int = DEFAULT_MAX_PACKET_SIZE,
        max_data_size: int = DEFAULT_MAX_DATA_SIZE,
        max_preallocate: int = DEFAULT_MAX_PREALLOCATE,
    ) -> None:
        if chunk_size < 1 or chunk_size + 12 > max_packet_size:
            raise ValueError("chunk_size must be >= 1 and fit in max_packet_size")
        self.timeout = timeout
        self.chunk_size = chunk_size
        self.max_data_size = max_data_size
        self.max_preallocate = max_preallocate
        self._buffer = PacketBuffer(max_packet_size)
        self._streamed: _Streamed | None = None
        self._scratch: memoryview | None = None
        self._into_payload = False
        self._state = S.IDLE
        self._channel: Channel | None = None
        self._outbox: list[Bytes] = []
        self._eof = False
        self._error: ProtocolError | None = None
        self._current_tid: int | None = None
        self._current_code: int | None = None
        self._cancelled: set[int] = set()
        self._data: _Reassembly | None = None
        self._probe_outstanding = False
        self._last_activity: float | None = None
        #: Connection number from the handshake (Ack sent/received, or Init Event Request).
        self.connection_number: int | None = None
        #: The peer's InitCommandRequest / InitCommandAck, once seen.
        self.peer_init: ev.InitCommandRequest | ev.InitCommandAck | None = None

    # -- public state -------------------------------------------------------------

    @property
    def state(self) -> State:
        """The channel's :class:`State`."""
        return self._state

    @property
    def channel(self) -> Channel | None:
        """Which channel this is, once the first init packet went by (else ``None``)."""
        return self._channel

    @property
    def transaction_id(self) -> int | None:
        """The transaction in progress, if any."""
        return self._current_tid

    @property
    def data_progress(self) -> tuple[int, int] | None:
        """``(received, total)`` of a data phase being received, else ``None``."""
        d = self._data
        return None if d is None else (d.received, d.total)

    # -- input ----------------------------------------------------------------------

    def receive_data(self, data: Bytes, now: float | None = None) -> None:
        """Feed bytes read from the socket; ``b""`` means the peer closed (EOF)."""
        if self._eof:
            raise LocalProtocolError("data received after EOF")
        if now is not None:
            self._last_activity = now
        if data:
            self._buffer.feed(data)
        else:
            self._eof = True

    def get_buffer(self, sizehint: int = -1) -> memoryview:
        """A writable buffer to read the next bytes from the socket into (``recv_into``).

        Then call :meth:`buffer_updated` with the number of bytes read: together the two
        do what :meth:`receive_data` does, for :class:`asyncio.BufferedProtocol`. Inside
        the payload of a big data phase the buffer is the phase's own, at the place those
        bytes belong (the socket writes them there: no copy); between its packets it is
        just big enough for the next header. Call only after :meth:`next_event` returned
        :data:`NEED_DATA`; the buffer is valid until the next call of either method.
        """
        s = self._streamed
        d = self._data
        if s is not None and s.left and not s.discard and not len(self._buffer) and d is not None and d.buf is not None:
            self._into_payload = True
            return d.room(s.left)
        self._into_payload = False
        if self._scratch is None:
            self._scratch = memoryview(bytearray(READ_SIZE))
        want = READ_SIZE
        if s is not None and s.left:
            want = min(READ_SIZE, s.left)
        elif s is None and d is not None and d.buf is not None and len(self._buffer) < 12:
            # between packets of a preallocated phase: read only the header, so that the
            # payload after it is read into place by the next call
            want = 12 - len(self._buffer)
        return self._scratch[:want]

    def buffer_updated(self, nbytes: int, now: float | None = None) -> None:
        """``nbytes`` were read into the buffer from :meth:`get_buffer` (0: nothing).

        EOF is still ``receive_data(b"")``.
        """
        if self._eof:
            raise LocalProtocolError("data received after EOF")
        if now is not None:
            self._last_activity = now
        if nbytes <= 0:
            return
        if self._into_payload:
            s, d = self._streamed, self._data
            assert s is not None and d is not None and nbytes <= s.left
            d.received += nbytes
            s.left -= nbytes
            self._into_payload = False
        else:
            assert self._scratch is not None
            self._buffer.feed(bytes(self._scratch[:nbytes]))

    def next_event(self) -> ev.ConnectionEvent | ev._NeedData:
        """The next event from what was received, or :data:`NEED_DATA`.

        After EOF, returns :class:`ConnectionClosed` (every time it is asked).
        Raises :class:`ProtocolError` if the peer broke the protocol.
        """
        if self._error is not None:
            raise self._error
        buf = self._buffer
        try:
            while True:
                s = self._streamed
                if s is not None:
                    # inside the payload of a Data / End Data packet of a preallocated phase
                    if s.left and len(buf):
                        if s.discard:
                            s.left -= buf.skip(s.left)
                        else:
                            d = self._data
                            assert d is not None and d.buf is not None
                            while s.left and len(buf):
                                n = buf.take_into(d.room(s.left))
                                d.received += n
                                s.left -= n
                    if s.left:
                        if self._eof:
                            raise ProtocolError(f"connection closed inside a Data packet ({s.left} bytes missing)")
                        return ev.NEED_DATA
                    self._streamed = None
                    if s.discard:
                        continue
                    event = self._finish_streamed(s)
                    if event is not None:
                        return event
                    continue
                length = buf.next_length()
                if length is not None and self._data is not None and length >= 12 and len(buf) >= 12:
                    head = buf.peek(12)
                    assert head is not None
                    ptype, tid = _TYPE_TID.unpack_from(head, 4)
                    is_data = ptype == pk.PacketType.DATA or ptype == pk.PacketType.END_DATA
                    if is_data and self._data.buf is not None and not self._is_leftover(tid):
                        # A big data phase: take the header now and let the payload go to its
                        # place in the phase's buffer as it arrives (no packet is buffered whole).
                        self._start_streamed(pk.PacketType(ptype), tid, length - 12)
                        continue
                    if is_data and len(buf) >= length:
                        # Reassembling a small data phase: keep Data / End Data payloads as views
                        # of the socket reads and join the whole phase once (no per-packet copy).
                        parts = _strip(buf.next_packet_parts() or [], 12)
                        event = self._receive_chunk(pk.PacketType(ptype), tid, parts)
                        if event is not None:
                            return event
                        continue
                raw = buf.next_packet()
                if raw is None:
                    if not self._eof:
                        return ev.NEED_DATA
                    if len(buf):
                        raise ProtocolError(f"connection closed inside a packet ({len(buf)} bytes left)")
                    self._state = S.CLOSED
                    self._data = None
                    return ev.ConnectionClosed()
                event = self._receive_packet(pk.decode_packet(raw))
                if event is not None:
                    return event
        except ProtocolError as exc:
            self._fail(exc)
            raise

    def _send_data(self, inp: Input, event: ev.DataIn | ev.DataOut) -> list[Bytes]:
        """The packets of our data phase (either role), for the transaction in progress."""
        nxt = self._local_transition(inp, event)
        if event.transaction_id != self._current_tid:
            raise LocalProtocolError(f"{type(event).__name__} for {event.transaction_id}, transaction is {self._current_tid}")
        parts = self._data_parts(event.transaction_id, event.payload)
        self._state = nxt
        return parts

    def _is_leftover(self, tid: int) -> bool:
        """Rule 4: a packet of a cancelled transaction that is no longer the current one."""
        return tid in self._cancelled and tid != self._current_tid

    def _fail(self, exc: ProtocolError) -> None:
        self._error = exc
        self._state = S.ERROR
        self._data = None
        self._streamed = None

    def _start_streamed(self, ptype: pk.PacketType, tid: int, size: int) -> None:
        """Take the header of a Data / End Data packet of a preallocated phase (checked first)."""
        inp = _RECV_INPUT[ptype]
        nxt = self._transition(inp, ptype.name)
        self._check_tid(tid, "Data" if inp is I.RECV_DATA else "End Data")
        d = self._data
        assert d is not None
        if d.received + size > d.total:
            raise ProtocolError(f"data phase sent {d.received + size} bytes, more than the {d.total} announced")
        self._buffer.skip(12)
        self._streamed = _Streamed(inp, nxt, tid, size)

    def _finish_streamed(self, s: _Streamed) -> ev.ConnectionEvent | None:
        """A streamed packet is complete: its transition, and at End Data the whole phase."""
        self._state = s.nxt
        if s.inp is I.RECV_DATA:
            return None
        d = self._data
        assert d is not None and d.buf is not None
        if d.received != d.total:
            raise ProtocolError(f"data phase ended after {d.received} of {d.total} bytes")
        self._data = None
        return self._data_event(s.tid, d.buf)  # type: ignore[arg-type]

    def _transition(self, inp: Input, what: str) -> State:
        nxt = self._TRANSITIONS.get((self._state, inp))
        if nxt is None:
            raise ProtocolError(f"peer sent {what} in state {self._state.name}")
        return nxt

    def _check_tid(self, tid: int, what: str) -> None:
        if tid != self._current_tid:
            raise ProtocolError(f"{what} for transaction {tid}, expected {self._current_tid}")

    def _end_transaction(self) -> None:
        self._current_tid = None
        self._current_code = None
        self._data = None
        if self._streamed is not None:
            self._streamed.discard = True  # the rest of the packet in flight is dropped

    def _receive_chunk(self, ptype: pk.PacketType, tid: int, parts: list[memoryview]) -> ev.ConnectionEvent | None:
        """A Data / End Data packet taken from the buffer as views (see ``next_event``)."""
        if self._is_leftover(tid):
            return None
        inp = _RECV_INPUT[ptype]
        nxt = self._transition(inp, ptype.name)
        result = self._on_data(inp, tid, parts)
        self._state = nxt
        return result

    def _receive_packet(self, p: pk.Packet) -> ev.ConnectionEvent | None:
        ptype = p.TYPE
        # Rule 4: leftovers of a cancelled transaction are dropped.
        if isinstance(p, (pk.StartData, pk.Data, pk.EndData, pk.OperationResponse)):
            if self._is_leftover(p.transaction_id):
                return None
        if isinstance(p, pk.OperationRequest):
            out = p.data_phase == DataPhase.DataOut or (
                p.data_phase == DataPhase.Unknown and p.code in self._unknown_phase_data_out
            )
            inp = I.RECV_REQUEST_DATA_OUT if out else I.RECV_REQUEST
        elif isinstance(p, pk.Cancel):
            current = self._current_tid is not None and p.transaction_id == self._current_tid
            inp = I.RECV_CANCEL_CURRENT if current else I.RECV_CANCEL_OTHER
        else:
            inp = _RECV_INPUT[ptype]
        nxt = self._transition(inp, ptype.name)
        result = self._on_receive(inp, p)
        self._state = nxt
        return result

    def _on_receive(self, inp: Input, p: pk.Packet) -> ev.ConnectionEvent | None:
        if inp is I.RECV_START_DATA:
            assert isinstance(p, pk.StartData)
            self._check_tid(p.transaction_id, "Start Data")
            if p.total_length != pk.UNKNOWN_DATA_LENGTH and p.total_length > self.max_data_size:
                raise ProtocolError(f"data phase of {p.total_length} bytes exceeds the cap of {self.max_data_size}")
            known = p.total_length != pk.UNKNOWN_DATA_LENGTH
            prealloc = known and FILL_THRESHOLD <= p.total_length <= self.max_preallocate
            self._data = _Reassembly(p.transaction_id, p.total_length, prealloc)
            return None
        if inp is I.RECV_DATA or inp is I.RECV_END_DATA:
            assert isinstance(p, (pk.Data, pk.EndData))
            return self._on_data(inp, p.transaction_id, [p.payload])
        if inp is I.RECV_PROBE_REQUEST:
            self._outbox.append(pk.ProbeResponse().encode())
            return ev.ProbeRequest()
        if inp is I.RECV_PROBE_RESPONSE:
            self._probe_outstanding = False
            return ev.ProbeResponse()
        if inp is I.RECV_CANCEL_CURRENT:
            assert isinstance(p, pk.Cancel)
            self._cancelled.add(p.transaction_id)
            self._end_transaction()
            return ev.Cancel(p.transaction_id)
        if inp is I.RECV_CANCEL_OTHER:
            assert isinstance(p, pk.Cancel)
            return ev.Cancel(p.transaction_id)
        if inp is I.RECV_EVENT:
            assert isinstance(p, pk.Event)
            return ev.Event(p.code, p.transaction_id, p.params)
        if inp is I.RECV_INIT_FAIL:
            assert isinstance(p, pk.InitFail)
            return ev.InitFail(p.reason)
        return self._on_receive_role(inp, p)

    def _on_data(self, inp: Input, tid: int, parts: list[Bytes]) -> ev.ConnectionEvent | None:
        d = self._data
        assert d is not None
        self._check_tid(tid, "Data" if inp is I.RECV_DATA else "End Data")
        limit = self.max_data_size if d.total == pk.UNKNOWN_DATA_LENGTH else d.total
        if d.received + sum(len(part) for part in parts) > limit:
            raise ProtocolError(f"data phase sent more than the {limit} bytes announced")
        for part in parts:
            if d.buf is not None:
                part = memoryview(part)
                while len(part):
                    room = d.room(len(part))
                    room[:] = part[: len(room)]
                    part = part[len(room) :]
                    d.received += len(room)
            elif len(part):
                d.parts.append(part)
                d.received += len(part)
        if inp is I.RECV_DATA:
            return None
        if d.total != pk.UNKNOWN_DATA_LENGTH and d.received != d.total:
            raise ProtocolError(f"data phase ended after {d.received} of {d.total} bytes")
        if d.buf is not None:
            payload: Bytes = d.buf
        else:
            payload = d.parts[0] if len(d.parts) == 1 and isinstance(d.parts[0], bytes) else b"".join(d.parts)
        self._data = None
        return self._data_event(tid, payload)

    def _on_receive_role(self, inp: Input, p: pk.Packet) -> ev.ConnectionEvent | None:
        raise NotImplementedError

    def _data_event(self, tid: int, payload: bytes) -> ev.ConnectionEvent:
        raise NotImplementedError

    # -- output ---------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        """Bytes the channel queued by itself (Probe Responses); empty if none."""
        if not self._outbox:
            return b""
        out = b"".join(self._outbox)
        self._outbox.clear()
        return out

    def send(self, event: ev.ConnectionEvent | pk.Packet, now: float | None = None) -> bytes:
        """The bytes to write for ``event`` (preceded by anything queued).

        Raises :class:`LocalProtocolError` if the event is not legal now; the state is
        then unchanged.
        """
        return b"".join(self.send_parts(event, now))

    def send_parts(self, event: ev.ConnectionEvent | pk.Packet, now: float | None = None) -> list[Bytes]:
        """Like :meth:`send`, as a list of buffers for ``writelines`` (data not copied)."""
        if isinstance(event, pk.Packet):
            convert = _PACKET_TO_EVENT.get(type(event))
            if convert is None:
                raise LocalProtocolError(
                    f"send {type(event).__name__} packets as a DataIn/DataOut event, not one by one"
                )
            event = convert(event)
        if self._error is not None or self._state is S.ERROR:
            raise LocalProtocolError("the channel is in ERROR after a protocol error")
        parts = self._send(event)
        if now is not None:
            self._last_activity = now
        if self._outbox:
            parts = self._outbox + parts
            self._outbox = []
        return parts

    def _local_transition(self, inp: Input, event: ev.ConnectionEvent) -> State:
        nxt = self._TRANSITIONS.get((self._state, inp))
        if nxt is None:
            raise LocalProtocolError(f"cannot send {type(event).__name__} in state {self._state.name}")
        return nxt

    def _send(self, event: ev.ConnectionEvent) -> list[Bytes]:
        if isinstance(event, ev.ProbeRequest):
            nxt = self._local_transition(I.SEND_PROBE_REQUEST, event)
            self._probe_outstanding = True
            self._state = nxt
            return [pk.ProbeRequest().encode()]
        if isinstance(event, ev.ProbeResponse):
            self._state = self._local_transition(I.SEND_PROBE_RESPONSE, event)
            return [pk.ProbeResponse().encode()]
        if isinstance(event, ev.Cancel):
            current = self._current_tid is not None and event.transaction_id == self._current_tid
            nxt = self._local_transition(I.SEND_CANCEL_CURRENT if current else I.SEND_CANCEL_OTHER, event)
            packet = pk.Cancel(event.transaction_id).encode()
            if current:
                self._cancelled.add(event.transaction_id)
                self._end_transaction()
            self._state = nxt
            return [packet]
        return self._send_role(event)

    def _send_role(self, event: ev.ConnectionEvent) -> list[Bytes]:
        raise NotImplementedError

    def _data_parts(self, tid: int, payload: Bytes) -> list[Bytes]:
        """Start Data, Data packets of ``chunk_size``, End Data with the last chunk."""
        view = memoryview(payload).cast("B")
        total = len(view)
        parts: list[Bytes] = [pk.StartData(tid, total).encode()]
        size = self.chunk_size
        pos = 0
        while total - pos > size:
            chunk = view[pos : pos + size]
            parts.append(pk.Data(tid, chunk).header())
            parts.append(chunk)
            pos += size
        last = view[pos:]
        parts.append(pk.EndData(tid, last).header())
        if len(last):
            parts.append(last)
        return parts

    # -- time -------------------------------------------------------------------------

    def get_timer(self) -> float | None:
        """When (in the caller's clock) we give up waiting for the peer, or ``None``."""
        if self.timeout is None or self._last_activity is None:
            return None
        if self._state in self._WAITING or self._probe_outstanding:
            return self._last_activity + self.timeout
        return None

    def handle_timer(self, now: float) -> None:
        """Raise :class:`Timeout` (and enter ERROR) if the timer ran out by ``now``."""
        timer = self.get_timer()
        if timer is not None and now >= timer:
            what = "a Probe Response" if self._probe_outstanding else f"the peer in state {self._state.name}"
            exc = Timeout(f"waited {self.timeout}s for {what}")
            self._fail(ProtocolError(str(exc)))
            raise exc


class InitiatorConnection(_Connection):
    """The host's side of one PTP/IP channel (command or event).

    Command channel: ``send(InitCommandRequest(...))``, wait for :class:`InitCommandAck`
    (or :class:`InitFail`), then transactions: ``send(conn.request(op, params))`` and read
    ``DataIn?`` + ``OperationResponse``; for data-out, ``send(conn.request(op, params,
    data_out=True))`` then ``send(DataOut(tid, payload))``.
    Event channel: ``send(InitEventRequest(number))``, wait for :class:`InitEventAck`,
    then read :class:`Event` s.
    """

    _TRANSITIONS = INITIATOR_TRANSITIONS
    _WAITING = _INITIATOR_WAITING

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
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

    def _data_event(self, tid: int, payload: bytes) -> ev.ConnectionEvent:
        return ev.DataIn(tid, payload)

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
        elif isinstance(event, ev.DataOut):
            return self._send_data(I.SEND_DATA_OUT, event)
        else:
            raise LocalProtocolError(f"an initiator does not send {type(event).__name__}")
        self._state = nxt
        return [data]


class ResponderConnection(_Connection):
    """The camera's side of one PTP/IP channel; which one is decided by the first packet.

    Read :class:`InitCommandRequest` → ``send(InitCommandAck(...))`` or ``send(InitFail(r))``;
    or :class:`InitEventRequest` → ``send(InitEventAck())``. Then on the command channel
    read :class:`OperationRequest` (and, for data-out, :class:`DataOut`) and answer with
    ``send(DataIn(tid, payload))`` if there is data, then ``send(OperationResponse(...))``.
    On the event channel, ``send(Event(...))``.
    """

    _TRANSITIONS = RESPONDER_TRANSITIONS
    _WAITING = _RESPONDER_WAITING

    def __init__(self, *, unknown_phase_data_out: frozenset[int] | set[int] = frozenset(), **kwargs: object) -> None:
        """``unknown_phase_data_out``: operations whose request with DataPhase ``Unknown``
        (unverified: accept it, never send it) still announces a data-out phase, because
        the operation always has one (SetDevicePropValue, SendObject, ...). Other keyword
        arguments are :class:`_Connection` options."""
        super().__init__(**kwargs)  # type: ignore[arg-type]
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
            return ev.OperationRequest(p.code, p.transaction_id, p.params, p.data_phase)
        raise AssertionError(f"unhandled input {inp}")  # pragma: no cover - table and code agree

    def _data_event(self, tid: int, payload: bytes) -> ev.ConnectionEvent:
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
        self._state = nxt
        return [data]


__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_MAX_DATA_SIZE",
    "INITIATOR_TRANSITIONS",
    "RESPONDER_TRANSITIONS",
    "Channel",
    "InitiatorConnection",
    "Input",
    "ResponderConnection",
    "State",
]
