"""One PTP/IP channel, either role: packets in and out through the transition tables.

:class:`ChannelConnection` is what :class:`~ptpd.protocol.connection.InitiatorConnection`
and :class:`~ptpd.protocol.connection.ResponderConnection` share on top of
:class:`~ptpd.protocol.sansio.SansIOConnection`: it decodes received packets, maps them
to inputs of :mod:`ptpd.protocol.transitions`, runs data phases through
:mod:`ptpd.protocol.dataphase` (in place for big ones: :meth:`get_buffer` hands out the
phase's own buffer at the place the next payload bytes belong), answers Probe Requests,
applies Cancel (ptpip.md §6) and keeps the probe deadline. The rules are in
:mod:`ptpd.protocol.connection`; what differs by role is left to the subclasses.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from ptpd.protocol import events as ev
from ptpd.protocol import packets as pk
from ptpd.protocol.codes import DataPhase
from ptpd.protocol.dataphase import (
    DATA_HEADER_SIZE,
    DEFAULT_CHUNK_SIZE,
    DEFAULT_MAX_DATA_SIZE,
    DEFAULT_MAX_PREALLOCATE,
    OverLimit,
    Reassembly,
    Streamed,
    data_packets,
    strip,
)
from ptpd.protocol.errors import LocalProtocolError, ProtocolError, StreamCut, Timeout
from ptpd.protocol.framing import DEFAULT_MAX_PACKET_SIZE, PacketBuffer
from ptpd.protocol.sansio import DEFAULT_MIN_PROGRESS, READ_SIZE, Bytes, SansIOConnection, _NeedData
from ptpd.protocol.transitions import DATA_PHASE, RECV_INPUT, Channel, Input, State

S, I = State, Input  # noqa: E741  # short names keep the code readable

_TYPE_TID = struct.Struct("<II")
_U32 = struct.Struct("<I")
#: Largest packet that is not Data / End Data: init packets carry a name, every other
#: one is a few dozen bytes. A bigger Length is refused at once, not waited for.
MAX_CONTROL_PACKET = 64 * 1024

# Raw packets accepted by ``send()`` and the event each one stands for.
_PACKET_TO_EVENT: dict[type[pk.Packet], Callable[[Any], ev.ConnectionEvent]] = {
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


class ChannelConnection(SansIOConnection):
    """Machinery shared by both roles; use :class:`InitiatorConnection` / :class:`ResponderConnection`."""

    _ERROR = S.ERROR
    _CLOSED = S.CLOSED
    _TRANSITIONS: ClassVar[dict[tuple[State, Input], State]]
    _WAITING: ClassVar[frozenset[State]]
    #: Operations whose request with DataPhase ``Unknown`` announces a data-out phase
    #: (responder option, see :class:`ResponderConnection`).
    _unknown_phase_data_out: frozenset[int] = frozenset()
    _state: State

    def __init__(
        self,
        *,
        timeout: float | None = None,
        min_progress: int = DEFAULT_MIN_PROGRESS,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        max_packet_size: int = DEFAULT_MAX_PACKET_SIZE,
        max_data_size: int = DEFAULT_MAX_DATA_SIZE,
        max_preallocate: int = DEFAULT_MAX_PREALLOCATE,
    ) -> None:
        if chunk_size < 1 or chunk_size + DATA_HEADER_SIZE > max_packet_size:
            raise ValueError("chunk_size must be >= 1 and fit in max_packet_size")
        super().__init__(PacketBuffer(max_packet_size), S.IDLE, timeout=timeout, min_progress=min_progress)
        self.chunk_size = chunk_size
        self.max_data_size = max_data_size
        self.max_preallocate = max_preallocate
        self._streamed: Streamed | None = None
        self._into_payload = False
        self._channel: Channel | None = None
        self._current_tid: int | None = None
        self._current_code: int | None = None
        self._cancelled: set[int] = set()
        self._data: Reassembly | None = None
        #: a data phase that ended before its End Data (EOF, failure, timeout, cancel),
        #: kept until the next transaction starts so that what arrived can be handed on
        self._cut: Reassembly | None = None
        #: the transaction's own cap on its data-in phase (``None``: the connection's)
        self._data_limit: int | None = None
        self._probe_deadline: float | None = None
        self._probe_patience = 0.0
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

    def received_so_far(self, transaction_id: int) -> Bytes:
        """The payload of ``transaction_id``'s data phase received so far, from its first
        byte: while the phase runs, and after the link cut it short (EOF, a deadline, a
        cancel, a reset the caller saw) until the next transaction starts. ``b""`` when
        none arrived, and when the peer garbled the stream (see :attr:`intact`)."""
        d = self._data if self._data is not None else self._cut
        if d is None or d.transaction_id != transaction_id or not self.intact:
            return b""
        return d.so_far()

    def _cut_short(self) -> None:
        """The data phase in progress ends before its End Data: keep it for
        :meth:`received_so_far`."""
        if self._data is not None:
            self._cut = self._data
        self._data = None

    def _waiting(self) -> bool:
        return self._state in self._WAITING

    def _at_rest(self) -> bool:
        return self._current_tid is None and not self._waiting()

    def _in_data_phase(self) -> bool:
        return self._state in DATA_PHASE

    # -- input ----------------------------------------------------------------------

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
        framer = self._framer
        if s is not None and s.left and not s.discard and not len(framer) and d is not None and d.in_place:
            self._into_payload = True
            return d.room(s.left)
        self._into_payload = False
        scratch = super().get_buffer(sizehint)
        want = READ_SIZE
        if s is not None and s.left:
            want = min(READ_SIZE, s.left)
        elif s is None and d is not None and d.in_place and len(framer) < DATA_HEADER_SIZE:
            # between packets of an in-place phase: read only the header, so that the
            # payload after it is read into place by the next call
            want = DATA_HEADER_SIZE - len(framer)
        return scratch[:want]

    def buffer_updated(self, nbytes: int, now: float | None = None) -> None:
        """``nbytes`` were read into the buffer from :meth:`get_buffer` (0: nothing).

        EOF is still ``receive_data(b"")``.
        """
        if not self._into_payload or nbytes <= 0:
            super().buffer_updated(nbytes, now)
            return
        if self._eof:
            raise LocalProtocolError("data received after EOF")
        self._clock(now)
        s, d = self._streamed, self._data
        assert s is not None and d is not None and nbytes <= s.left
        d.received += nbytes
        s.left -= nbytes
        self._into_payload = False
        self._count(nbytes)

    def _next_event(self) -> ev.ConnectionEvent | _NeedData:
        try:
            return self._next_packet_event()
        except OverLimit as exc:
            tid = self._current_tid
            if not exc.own or tid is None:
                raise  # a broken stream (more than announced, past the connection's cap)
            # past the transaction's own limit: cancel it (rule 4), its leftovers are dropped
            self._outbox.extend(self._send_cancel(ev.Cancel(tid)))
            return ev.DataTooLarge(tid, exc.size, exc.limit)

    def _next_packet_event(self) -> ev.ConnectionEvent | _NeedData:
        framer = self._framer
        while True:
            s = self._streamed
            if s is not None:
                # inside the payload of a Data / End Data packet of an in-place phase
                if s.left and len(framer):
                    if s.discard:
                        s.left -= framer.skip(s.left)
                    else:
                        d = self._data
                        assert d is not None and d.in_place
                        while s.left and len(framer):
                            n = framer.take_into(d.room(s.left))
                            d.received += n
                            s.left -= n
                if s.left:
                    if self._eof:
                        raise StreamCut(f"connection closed inside a Data packet ({s.left} bytes missing)")
                    return ev.NEED_DATA
                self._streamed = None
                if s.discard:
                    continue
                event = self._finish_streamed(s)
                if event is not None:
                    return event
                continue
            length = framer.next_length()
            head = framer.peek(8) if length is not None else None
            if head is not None:
                assert length is not None
                ptype = _U32.unpack_from(head, 4)[0]
                is_data = ptype == pk.PacketType.DATA or ptype == pk.PacketType.END_DATA
                if not is_data and length > MAX_CONTROL_PACKET:
                    raise ProtocolError(f"{length}-byte packet of type {ptype}: only data packets are that big")
                head = framer.peek(DATA_HEADER_SIZE) if is_data and length >= DATA_HEADER_SIZE else None
            if head is not None:
                assert length is not None
                ptype, tid = _TYPE_TID.unpack_from(head, 4)
                if self._is_leftover(tid):
                    # Rule 4: data of a cancelled transaction is dropped as it arrives,
                    # never buffered whole (a camera may go on sending for a while)
                    framer.skip(DATA_HEADER_SIZE)
                    leftover = Streamed(RECV_INPUT[pk.PacketType(ptype)], self._state, tid, length - DATA_HEADER_SIZE)
                    leftover.discard = True
                    self._streamed = leftover
                    continue
                elif (d := self._data) is not None:
                    if d.in_place:
                        # A big data phase: take the header now and let the payload go to its
                        # place in the phase's buffer as it arrives (no packet is buffered whole).
                        self._start_streamed(pk.PacketType(ptype), tid, length - DATA_HEADER_SIZE)
                        continue
                    # checked on the header, before a packet past the cap is waited for
                    self._check_tid(tid, "Data" if ptype == pk.PacketType.DATA else "End Data")
                    d.check_room(length - DATA_HEADER_SIZE)
                    if len(framer) >= length:
                        # Reassembling a small data phase: keep Data / End Data payloads as views
                        # of the socket reads and join the whole phase once (no per-packet copy).
                        parts = strip(framer.next_packet_parts() or [], DATA_HEADER_SIZE)
                        event = self._receive_chunk(pk.PacketType(ptype), tid, parts)
                        if event is not None:
                            return event
                        continue
            raw = framer.next_packet()
            if raw is None:
                end = self._at_end_of_input()
                if end is not ev.NEED_DATA:
                    self._cut_short()
                return end
            event = self._receive_packet(pk.decode_packet(raw))
            if event is not None:
                return event

    def _is_leftover(self, tid: int) -> bool:
        """Rule 4: a packet of a cancelled transaction that is no longer the current one."""
        return tid in self._cancelled and tid != self._current_tid

    def _fail(self, exc: ProtocolError) -> None:
        super()._fail(exc)
        self._cut_short()
        self._streamed = None

    def _start_streamed(self, ptype: pk.PacketType, tid: int, size: int) -> None:
        """Take the header of a Data / End Data packet of an in-place phase (checked first)."""
        inp = RECV_INPUT[ptype]
        nxt = self._transition(inp, ptype.name)
        self._check_tid(tid, "Data" if inp is I.RECV_DATA else "End Data")
        d = self._data
        assert d is not None
        d.check_room(size)
        self._framer.skip(DATA_HEADER_SIZE)
        self._streamed = Streamed(inp, nxt, tid, size)

    def _finish_streamed(self, s: Streamed) -> ev.ConnectionEvent | None:
        """A streamed packet is complete: its transition, and at End Data the whole phase."""
        self._move(s.nxt)
        if s.inp is I.RECV_DATA:
            return None
        d = self._data
        assert d is not None
        payload = d.payload()
        self._data = None
        return self._data_event(s.tid, payload)

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
        self._cut_short()
        self._data_limit = None
        if self._streamed is not None:
            self._streamed.discard = True  # the rest of the packet in flight is dropped

    def _receive_chunk(self, ptype: pk.PacketType, tid: int, parts: list[memoryview]) -> ev.ConnectionEvent | None:
        """A Data / End Data packet taken from the buffer as views (see ``_next_event``)."""
        if self._is_leftover(tid):
            return None
        inp = RECV_INPUT[ptype]
        nxt = self._transition(inp, ptype.name)
        result = self._on_data(inp, tid, parts)
        self._move(nxt)
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
            inp = RECV_INPUT[ptype]
        nxt = self._transition(inp, ptype.name)
        result = self._on_receive(inp, p)
        self._move(nxt)
        return result

    def _on_receive(self, inp: Input, p: pk.Packet) -> ev.ConnectionEvent | None:
        if inp is I.RECV_START_DATA:
            assert isinstance(p, pk.StartData)
            self._check_tid(p.transaction_id, "Start Data")
            self._data = Reassembly.start(p, self.max_data_size, self.max_preallocate, self._data_limit)
            return None
        if inp is I.RECV_DATA or inp is I.RECV_END_DATA:
            assert isinstance(p, (pk.Data, pk.EndData))
            return self._on_data(inp, p.transaction_id, [p.payload])
        if inp is I.RECV_PROBE_REQUEST:
            self._outbox.append(pk.ProbeResponse().encode())
            return ev.ProbeRequest()
        if inp is I.RECV_PROBE_RESPONSE:
            self._probe_deadline = None
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

    def _on_data(self, inp: Input, tid: int, parts: Sequence[Bytes]) -> ev.ConnectionEvent | None:
        d = self._data
        assert d is not None
        self._check_tid(tid, "Data" if inp is I.RECV_DATA else "End Data")
        d.add(parts)
        if inp is I.RECV_DATA:
            return None
        payload = d.payload()
        self._data = None
        return self._data_event(tid, payload)

    def _on_receive_role(self, inp: Input, p: pk.Packet) -> ev.ConnectionEvent | None:  # pragma: no cover
        raise NotImplementedError

    def _data_event(self, tid: int, payload: Bytes) -> ev.ConnectionEvent:  # pragma: no cover
        raise NotImplementedError

    # -- output ---------------------------------------------------------------------

    def send_parts(
        self, event: ev.ConnectionEvent | pk.Packet, now: float | None = None, timeout: float | None = None
    ) -> list[Bytes]:
        """Like :meth:`send`, as a list of buffers for ``writelines`` (data not copied).

        Raw packets other than Start Data / Data / End Data are accepted too.
        """
        if isinstance(event, pk.Packet):
            convert = _PACKET_TO_EVENT.get(type(event))
            if convert is None:
                raise LocalProtocolError(
                    f"send {type(event).__name__} packets as a DataIn/DataOut event, not one by one"
                )
            event = convert(event)
        return super().send_parts(event, now, timeout)

    def send(  # raw packets accepted too
        self, event: ev.ConnectionEvent | pk.Packet, now: float | None = None, timeout: float | None = None
    ) -> bytes:
        """The bytes to write for ``event`` (preceded by anything queued).

        ``timeout`` replaces the channel's for the exchange this send starts (a
        transaction, a handshake, a probe). Raises :class:`LocalProtocolError` if the
        event is not legal now; the state is then unchanged.
        """
        return b"".join(self.send_parts(event, now, timeout))

    def _local_transition(self, inp: Input, event: ev.ConnectionEvent) -> State:
        nxt = self._TRANSITIONS.get((self._state, inp))
        if nxt is None:
            raise LocalProtocolError(f"cannot send {type(event).__name__} in state {self._state.name}")
        return nxt

    def _send(self, event: ev.ConnectionEvent, timeout: float | None) -> list[Bytes]:
        if isinstance(event, ev.ProbeRequest):
            self._move(self._local_transition(I.SEND_PROBE_REQUEST, event))
            patience = self.timeout if timeout is None else timeout
            if patience is not None and self._now is not None:
                self._probe_patience = patience
                self._probe_deadline = self._now + patience
            return [pk.ProbeRequest().encode()]
        if isinstance(event, ev.ProbeResponse):
            self._move(self._local_transition(I.SEND_PROBE_RESPONSE, event))
            return [pk.ProbeResponse().encode()]
        if isinstance(event, ev.Cancel):
            return self._send_cancel(event)
        parts = self._send_role(event)
        self._expect(timeout)
        return parts

    def _send_cancel(self, event: ev.Cancel) -> list[Bytes]:
        current = self._current_tid is not None and event.transaction_id == self._current_tid
        nxt = self._local_transition(I.SEND_CANCEL_CURRENT if current else I.SEND_CANCEL_OTHER, event)
        packet = pk.Cancel(event.transaction_id).encode()
        if current:
            self._cancelled.add(event.transaction_id)
            self._end_transaction()
        self._move(nxt)
        return [packet]

    def _send_role(self, event: ev.ConnectionEvent) -> list[Bytes]:  # pragma: no cover
        raise NotImplementedError

    def _send_data(self, inp: Input, event: ev.DataIn | ev.DataOut) -> list[Bytes]:
        """The packets of our data phase (either role), for the transaction in progress."""
        nxt = self._local_transition(inp, event)
        if event.transaction_id != self._current_tid:
            raise LocalProtocolError(
                f"{type(event).__name__} for {event.transaction_id}, transaction is {self._current_tid}"
            )
        parts = data_packets(event.transaction_id, event.payload, self.chunk_size)
        self._move(nxt)
        return parts

    # -- time -------------------------------------------------------------------------

    def get_timer(self) -> float | None:
        """When (in the caller's clock) :meth:`handle_timer` must be called, or ``None``:
        the exchange's deadline or the probe's, whichever comes first."""
        timers = [t for t in (self._deadline(), self._probe_deadline) if t is not None]
        return min(timers, default=None)

    def handle_timer(self, now: float) -> None:
        """Raise :class:`Timeout` if a deadline passed by ``now``.

        An unanswered probe just ends (the caller decides what it means); an exchange is
        handled by the role (see :mod:`ptpd.protocol.sansio` rule 4).
        """
        if self._probe_deadline is not None and now >= self._probe_deadline:
            self._clock(now)
            self._probe_deadline = None
            raise Timeout(f"no Probe Response within {self._probe_patience:g}s")
        super().handle_timer(now)


__all__ = ["ChannelConnection"]
