"""Sans-I/O Fuji connections: command channel (both roles), event channel, live-view stream.

Theory of operation
-------------------
The caller owns the sockets. It hands received bytes to ``receive_data(data, now)``
(``b""`` on EOF), drains ``next_event()`` until it returns :data:`NEED_DATA`, writes
whatever ``send(event, now)`` returns, and keeps one timer on ``get_timer()``, calling
``handle_timer(now)`` when it fires. Nothing here sleeps, reads a clock or logs. The
buffer, EOF, errors that stick and the deadlines are the shared sans-I/O base's
(:mod:`ptpd.protocol.sansio`, the same as the standard dialect's).

The command channel (port 55740) starts with Fuji's PTP/IP handshake and then carries
12-byte-header containers, one transaction at a time (fuji-ptpip.md §3-§4)::

    initiator                                   responder
    HANDSHAKE --InitRequest-->  AWAIT_ACK       AWAIT_INIT --InitRequest--> INIT_RECEIVED
    AWAIT_ACK <--InitAccepted-- IDLE            INIT_RECEIVED --InitAccepted--> IDLE
              <--InitRejected-- FAILED                        --InitRejected--> FAILED
    IDLE --OperationRequest--> REQUEST          IDLE --OperationRequest--> REQUEST
    REQUEST --Data (out)--> DATA                REQUEST --Data (out)--> DATA
    REQUEST|DATA <--Data (in)-- DATA            REQUEST|DATA --Data (in)--> DATA
    REQUEST|DATA <--OperationResponse-- IDLE    REQUEST|DATA --OperationResponse--> IDLE

Rules: every container of a transaction should carry the request's transaction id; a
data phase is exactly one data container, in either direction (data-out: request, then
one data container with the same id; there is no StartData/EndData); anything not in the
table raises :class:`LocalProtocolError` when we try it, and :class:`ProtocolError`
when the peer does it (the channel is then in ERROR for good). Tolerated oddities of
real peers, reported as what they are rather than as a broken stream:

* one transaction is open at a time, so the initiator takes a data container or a
  response that arrives while it is open as that transaction's, whatever transaction id
  it carries: the event holds the id the camera sent, the caller compares (an emulator
  built from real bodies stamps responses from its own counter, and a refused
  OpenSession comes back with id 0);
* a response with no transaction open is an :class:`UnexpectedResponse` (that emulator
  answers a refused SetDevicePropValue before its data phase, then the data container);
* libgphoto2 sends its InitCommandRequest twice (the responder reports the second one
  again and must ack it), and hkr ends with a bare u32 0xFFFFFFFF (read as
  :class:`ConnectionClosed`).

Time: while the camera owes the initiator an answer (the handshake's, a transaction's)
it must make progress within ``timeout`` (or the ``timeout`` given to the ``send()``
that started the exchange): a new state, or ``min_progress`` bytes of a data container
(:mod:`ptpd.protocol.sansio` rule 3). Fuji's dialect has no Cancel, so a deadline that
passes puts the channel in ERROR and ``handle_timer`` raises
:class:`~ptpd.protocol.errors.Timeout`: the transaction state of the stream is lost.
"""

from __future__ import annotations

import struct
from enum import Enum, auto, unique

from ptpd.fuji.codes import ContainerKind, HandshakePacketType
from ptpd.fuji.events import (
    NEED_DATA,
    ConnectionClosed,
    ConnectionEvent,
    Data,
    Event,
    InitAccepted,
    InitRejected,
    InitRequest,
    OperationRequest,
    OperationResponse,
    UnexpectedResponse,
)
from ptpd.fuji.packets import (
    DEFAULT_MAX_CONTAINER,
    DEFAULT_MAX_LIVEVIEW_FRAME,
    Container,
    EventView,
    InitCommandAck,
    InitCommandRequest,
    InitFail,
    LiveViewPacket,
    LiveViewSplitter,
    decode_handshake,
)
from ptpd.protocol.errors import LocalProtocolError, ProtocolError
from ptpd.protocol.framing import PacketBuffer
from ptpd.protocol.sansio import DEFAULT_MIN_PROGRESS, Bytes, SansIOConnection, _NeedData

#: hkr/fuji-cam-wifi-tool writes this u32 after CloseSession as a goodbye.
GOODBYE = 0xFFFFFFFF
_GOODBYE_BYTES = GOODBYE.to_bytes(4, "little")
#: Container kind of a data container as it sits in bytes 4-5 of the header.
_DATA_KIND = int(ContainerKind.Data).to_bytes(2, "little")
#: A container's header: length, kind, code, transaction id.
_DATA_HEAD = struct.Struct("<IHHI")
_DATA_HEADER = _DATA_HEAD.size


@unique
class State(Enum):
    """States of a command channel (see the module docstring)."""

    HANDSHAKE = auto()  #: initiator: InitRequest not sent yet
    AWAIT_ACK = auto()  #: initiator: waiting for InitAccepted / InitRejected
    AWAIT_INIT = auto()  #: responder: waiting for the InitRequest
    INIT_RECEIVED = auto()  #: responder: must answer InitAccepted / InitRejected
    IDLE = auto()  #: no transaction open
    REQUEST = auto()  #: a request is out, no data container yet
    DATA = auto()  #: the transaction's data container has passed
    FAILED = auto()  #: the handshake was refused
    CLOSED = auto()  #: EOF seen
    ERROR = auto()  #: the peer broke the protocol or a deadline passed


def next_transaction_id(tid: int) -> int:
    """Fuji's counter: incremented before each transaction, wrapping 0xFFFFFFFF -> 1."""
    return 1 if tid >= 0xFFFFFFFF else tid + 1


class _CommandChannel(SansIOConnection):
    """What both roles share: the goodbye word, transaction bookkeeping, data containers."""

    _ERROR = State.ERROR
    _CLOSED = State.CLOSED
    _state: State

    def __init__(
        self, state: State, max_container: int, timeout: float | None = None, min_progress: int = DEFAULT_MIN_PROGRESS
    ) -> None:
        # the shared PTP/IP framer: Fuji containers carry the same u32 length prefix
        super().__init__(
            PacketBuffer(max_container, min_packet_size=8), state, timeout=timeout, min_progress=min_progress
        )
        self._tid: int | None = None  #: transaction id of the open transaction
        self._op: int | None = None  #: its operation code

    @property
    def state(self) -> State:
        """The channel's :class:`State`."""
        return self._state

    @property
    def transaction_id(self) -> int | None:
        """The id of the open transaction, if any."""
        return self._tid

    def received_so_far(self, transaction_id: int) -> bytes:
        """The payload of ``transaction_id``'s data container received so far: one still
        arriving, or one the link cut short (EOF, a deadline, a reset the caller saw).
        ``b""`` when none is under way, and when the peer garbled the stream."""
        head = self._framer.peek(_DATA_HEADER)
        if head is None or not self.intact or self._tid != transaction_id:
            return b""
        length, kind, _, tid = _DATA_HEAD.unpack(head)
        if kind != ContainerKind.Data or tid != transaction_id:
            return b""
        return self._framer.peek(min(len(self._framer), length))[_DATA_HEADER:]  # type: ignore[index]  # n <= buffered: never None

    def _at_rest(self) -> bool:
        return self._tid is None and not self._waiting()

    def _in_data_phase(self) -> bool:
        # a data container is arriving: the one packet at the head of the buffer
        head = self._framer.peek(6)
        return self._state is State.REQUEST and head is not None and head[4:6] == _DATA_KIND

    def _next_event(self) -> ConnectionEvent | _NeedData:
        if self._state is State.CLOSED:
            return ConnectionClosed()
        if self._framer.peek(4) == _GOODBYE_BYTES:  # before the length check, which refuses it
            self._move(State.CLOSED)
            return ConnectionClosed()
        packet = self._framer.next_packet()
        if packet is None:
            return self._at_end_of_input()
        return self._on_packet(packet)

    def _on_packet(self, packet: bytes | memoryview) -> ConnectionEvent:  # pragma: no cover - abstract
        raise NotImplementedError

    def _data(self, c: Container) -> Data:
        """A data container of the open transaction, as the responder receives it."""
        self._check_tid(c.transaction_id, "data container", local=False)
        if self._state is State.DATA:
            raise ProtocolError(f"second data container in transaction {c.transaction_id}")
        self._move(State.DATA)
        return Data(c.code, c.transaction_id, bytes(c.payload))

    def _open(self, code: int, tid: int) -> None:
        self._tid, self._op = tid, code
        self._move(State.REQUEST)

    def _end(self) -> None:
        self._tid = self._op = None
        self._move(State.IDLE)

    def _check_open(self, what: str, tid: int) -> None:
        if self._state not in (State.REQUEST, State.DATA):
            raise ProtocolError(f"{what} for transaction {tid} with no open transaction (state {self._state.name})")

    def _check_tid(self, tid: int, what: str, local: bool) -> None:
        if self._state not in (State.REQUEST, State.DATA) or tid != self._tid:
            err = LocalProtocolError if local else ProtocolError
            where = f"transaction {self._tid}" if self._tid is not None else "no open transaction"
            raise err(f"{what} for transaction {tid} does not fit {where} (state {self._state.name})")


class FujiInitiatorConnection(_CommandChannel):
    """The initiator (client) side of Fuji's command channel."""

    def __init__(
        self,
        *,
        max_container: int = DEFAULT_MAX_CONTAINER,
        timeout: float | None = None,
        min_progress: int = DEFAULT_MIN_PROGRESS,
    ) -> None:
        super().__init__(State.HANDSHAKE, max_container, timeout, min_progress)
        self._last_tid = 0
        self._data_out_expected = False
        self._data_in = False  #: the open transaction had its data container from the camera

    def retry_handshake(self) -> None:
        """After an InitFail, send the InitRequest again on the same socket (what Fuji's X
        Acquire and libgphoto2 do once: "the first attempt always fails")."""
        if self._state is not State.FAILED:
            raise LocalProtocolError(f"no refused handshake to retry (state {self._state.name})")
        self._move(State.HANDSHAKE)

    def new_transaction_id(self) -> int:
        """Allocate the next transaction id (the first is 1, as the X-T1 expects)."""
        self._last_tid = next_transaction_id(self._last_tid)
        return self._last_tid

    def _waiting(self) -> bool:
        st = self._state
        # a request announcing data-out waits on us until the data container is sent
        return st is State.AWAIT_ACK or st is State.DATA or (st is State.REQUEST and not self._data_out_expected)

    def _send(self, event: ConnectionEvent, timeout: float | None) -> list[Bytes]:
        """Bytes to write for ``event``; refuses what the state does not allow."""
        st = self._state
        if isinstance(event, InitRequest):
            if st is not State.HANDSHAKE:
                raise LocalProtocolError(f"cannot send InitRequest in state {st.name}")
            self._move(State.AWAIT_ACK)
            self._expect(timeout)
            return [InitCommandRequest(event.guid, event.name, event.version, event.fixed_size).encode()]
        if isinstance(event, OperationRequest):
            if st is not State.IDLE:
                raise LocalProtocolError(f"cannot start a transaction in state {st.name}")
            data = Container.command(event.code, event.transaction_id, event.params).encode()
            self._data_out_expected = event.data_out
            self._data_in = False
            self._open(event.code, event.transaction_id)
            self._expect(timeout)
            return [data]
        if isinstance(event, Data):
            self._check_tid(event.transaction_id, "data-out", local=True)
            if st is not State.REQUEST or not self._data_out_expected:
                raise LocalProtocolError("data-out is one container right after a request that announced it")
            self._move(State.DATA)
            self._expect(timeout)
            return [Container.data(event.code, event.transaction_id, event.payload).encode()]
        raise LocalProtocolError(f"an initiator does not send {type(event).__name__}")

    def _on_packet(self, packet: bytes | memoryview) -> ConnectionEvent:
        st = self._state
        if st is State.AWAIT_ACK:
            pkt = decode_handshake(packet)
            if isinstance(pkt, InitCommandAck):
                self._move(State.IDLE)
                return InitAccepted(pkt.connection_number, pkt.guid, pkt.name, pkt.version)
            if isinstance(pkt, InitFail):
                self._move(State.FAILED)
                return InitRejected(pkt.reason)
            raise ProtocolError("camera answered the handshake with an InitCommandRequest")
        if st in (State.HANDSHAKE, State.FAILED):
            raise ProtocolError(f"camera sent {len(packet)} bytes in state {st.name}")
        c = Container.decode(packet)
        if c.kind is ContainerKind.Event:
            # Not expected on this channel, but an event is harmless: report it.
            return _event(c)
        if c.kind is ContainerKind.Data:
            # The open transaction's one data container, whatever transaction id it carries;
            # one the camera sends during our data-out is reported too (the caller has no
            # use for it): only a second one leaves the stream ambiguous.
            self._check_open("data container", c.transaction_id)
            if self._data_in:
                raise ProtocolError(f"second data container in transaction {self._tid}")
            self._data_in = True
            self._move(State.DATA)
            return Data(c.code, c.transaction_id, bytes(c.payload))
        if c.kind is ContainerKind.Response:
            if st is State.IDLE:
                return UnexpectedResponse(c.code, c.transaction_id, c.params)
            self._check_open("response", c.transaction_id)
            self._end()
            return OperationResponse(c.code, c.transaction_id, c.params)
        raise ProtocolError(f"camera sent an operation request (0x{c.code:04X})")


class FujiResponderConnection(_CommandChannel):
    """The responder (camera) side of Fuji's command channel, for simulators."""

    def __init__(self, *, max_container: int = DEFAULT_MAX_CONTAINER) -> None:
        # No deadline: the responder cannot know which operations have a data-out phase,
        # so it never knows that the host owes it something.
        super().__init__(State.AWAIT_INIT, max_container)

    def _send(self, event: ConnectionEvent, timeout: float | None) -> list[Bytes]:
        """Bytes to write for ``event``; refuses what the state does not allow."""
        st = self._state
        if isinstance(event, InitAccepted):
            if st is not State.INIT_RECEIVED:
                raise LocalProtocolError(f"cannot send InitAccepted in state {st.name}")
            self._move(State.IDLE)
            return [InitCommandAck(event.connection_number, event.guid, event.name, event.version).encode()]
        if isinstance(event, InitRejected):
            if st is not State.INIT_RECEIVED:
                raise LocalProtocolError(f"cannot send InitRejected in state {st.name}")
            self._move(State.FAILED)
            return [InitFail(event.reason).encode()]
        if isinstance(event, Data):
            self._check_tid(event.transaction_id, "data-in", local=True)
            if st is State.DATA:
                raise LocalProtocolError(f"transaction {event.transaction_id} already had its data container")
            self._move(State.DATA)
            return [Container.data(event.code, event.transaction_id, event.payload).encode()]
        if isinstance(event, OperationResponse):
            self._check_tid(event.transaction_id, "response", local=True)
            self._end()
            return [Container.response(event.code, event.transaction_id, event.params).encode()]
        if isinstance(event, Event):
            raise LocalProtocolError("events go on the event channel (FujiEventChannel)")
        raise LocalProtocolError(f"a responder does not send {type(event).__name__}")

    def _on_packet(self, packet: bytes | memoryview) -> ConnectionEvent:
        st = self._state
        if st is State.AWAIT_INIT or (st in (State.IDLE, State.FAILED) and _looks_like_init(packet)):
            # libgphoto2 sends its InitCommandRequest twice, and again after an InitFail;
            # report each one.
            pkt = decode_handshake(packet)
            if not isinstance(pkt, InitCommandRequest):
                raise ProtocolError("expected an InitCommandRequest")
            self._move(State.INIT_RECEIVED)
            return InitRequest(pkt.guid, pkt.name, pkt.version, pkt.fixed_size)
        if st in (State.INIT_RECEIVED, State.FAILED):
            raise ProtocolError(f"initiator sent {len(packet)} bytes in state {st.name}")
        c = Container.decode(packet)
        if c.kind is ContainerKind.Command:
            if st is not State.IDLE:
                raise ProtocolError(
                    f"request 0x{c.code:04X} (transaction {c.transaction_id}) while transaction {self._tid} is open"
                )
            self._open(c.code, c.transaction_id)
            # Fuji app sends only the parameters it uses; malc0mn pads to five.
            return OperationRequest(c.code, c.transaction_id, c.params)
        if c.kind is ContainerKind.Data:
            return self._data(c)
        raise ProtocolError(f"initiator sent a {c.kind.name} container")


def _event(c: Container) -> Event:
    v = EventView.from_container(c)
    return Event(v.code, v.transaction_id, v.params)


def _looks_like_init(packet: bytes | memoryview) -> bool:
    # A PTP/IP type-1 header reads as container kind 1 with code 0 - no real operation.
    return len(packet) >= 30 and int.from_bytes(packet[4:8], "little") == HandshakePacketType.InitCommandRequest


class FujiEventChannel(SansIOConnection):
    """The event channel (port 55741): no handshake, only 28-byte event containers.

    The initiator feeds it bytes and reads :class:`Event`; the responder calls
    :meth:`send` to encode events. The X-T1 layout is used both ways. Nothing is owed on
    it, so it runs no deadline.
    """

    _ERROR = State.ERROR
    _CLOSED = State.CLOSED

    def __init__(self, *, max_container: int = 64 * 1024) -> None:
        super().__init__(PacketBuffer(max_container, min_packet_size=12), State.IDLE)

    def _next_event(self) -> Event | ConnectionClosed | _NeedData:
        if self._state is State.CLOSED:
            return ConnectionClosed()
        packet = self._framer.next_packet()
        if packet is None:
            return self._at_end_of_input()  # type: ignore[return-value]  # ConnectionClosed or NEED_DATA
        c = Container.decode(packet)
        if c.kind is not ContainerKind.Event:
            raise ProtocolError(f"a {c.kind.name} container on the event channel")
        return _event(c)

    @staticmethod
    def send(event: Event) -> bytes:  # type: ignore[override]  # stateless: an encoder
        """Bytes of one event container (X-T1 layout, 28 bytes for up to 3 params)."""
        return Container.event(event.code, event.transaction_id, event.params).encode()


class LiveViewStream:
    """The live-view stream (port 55742) as a sans-I/O reader of :class:`LiveViewPacket`.

    A thin wrapper over :class:`~ptpd.fuji.packets.LiveViewSplitter` with the
    connection-style interface; ``splitter`` is exposed for ``BufferedProtocol`` use.
    """

    def __init__(self, *, max_frame: int = DEFAULT_MAX_LIVEVIEW_FRAME) -> None:
        self.splitter = LiveViewSplitter(max_length=max_frame)
        self._frames: list[LiveViewPacket] = []
        self._eof = False

    def receive_data(self, data: bytes | bytearray | memoryview, now: float | None = None) -> None:
        """Bytes from the socket; ``b""`` means EOF. ``now`` is taken for the interface's
        sake: nothing is owed on this stream, so it runs no deadline."""
        if not data:
            self._eof = True
        else:
            self._frames += self.splitter.feed(data)

    def next_event(self) -> LiveViewPacket | ConnectionClosed | _NeedData:
        self._frames += self.splitter.pop_frames()
        if self._frames:
            return self._frames.pop(0)
        return ConnectionClosed() if self._eof else NEED_DATA


__all__ = [
    "GOODBYE",
    "FujiEventChannel",
    "FujiInitiatorConnection",
    "FujiResponderConnection",
    "LiveViewStream",
    "State",
    "next_transaction_id",
]
