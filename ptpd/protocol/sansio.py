"""The sans-I/O base both PTP/IP dialects build on: one sentinel, one event base, one channel.

Theory of operation
-------------------
A channel object speaks one TCP connection and does no I/O (h11's model). The caller
owns the socket and a clock::

    conn.receive_data(data, now)        # b"" means EOF; or get_buffer() + buffer_updated(n, now)
    while (event := conn.next_event()) is not NEED_DATA:
        handle(event)
    sock.send(conn.data_to_send())      # what the channel says on its own
    sock.send(conn.send(event, now))    # what we say
    timer = conn.get_timer()            # re-arm one timer; when it fires:
    conn.handle_timer(now)              # raises Timeout if the peer let a deadline pass

The standard dialect (:mod:`ptpd.protocol.connection`) and Fujifilm's
(:mod:`ptpd.fuji.connection`) share this class: the receive buffer (u32-length framed
packets, :class:`~ptpd.protocol.framing.PacketBuffer`), EOF, a peer error that sticks,
the outbound queue, and the deadlines. Each dialect brings its states and packets.

Rules
~~~~~
1. A :class:`~ptpd.protocol.errors.ProtocolError` raised by ``next_event()`` puts the
   channel in its ERROR state for good: every later ``next_event()`` raises it again and
   ``send()`` raises :class:`LocalProtocolError`. EOF inside a packet is such an error
   (a :class:`~ptpd.protocol.errors.StreamCut`: the stream ended early, but what came
   before is whole, :attr:`SansIOConnection.intact`).
2. Time is a parameter. Nothing here reads a clock: ``now`` (any monotonic clock, the
   caller's) comes with ``receive_data``, ``buffer_updated``, ``send`` and
   ``handle_timer``. Give it to every call or to none; without it no timer runs.
3. The channel owns its deadlines (aioquic's ``get_timer``/``handle_timer``). While the
   peer owes us something (an init answer, a response, the rest of a data phase) it must
   make progress within ``timeout`` seconds (or the ``timeout`` given to the ``send()``
   that started the exchange): progress is the exchange moving on to a new state, or,
   during a data phase, at least ``min_progress`` bytes since the last progress. So a
   slow but steady transfer never times out, and a peer that trickles a byte a second
   times out as one that says nothing. Events, probes and repeated Data packets with no
   bytes to speak of are not progress.
4. What a timeout does is the dialect's: the standard initiator cancels the transaction
   (PTP/IP Cancel, queued for ``data_to_send()``) and stays usable; a channel that cannot
   cancel (a handshake, Fuji's dialect) goes to ERROR. Either way ``handle_timer`` raises
   :class:`~ptpd.protocol.errors.Timeout`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

from ptpd.protocol.errors import Bytes, LocalProtocolError, ProtocolError, StreamCut, Timeout
from ptpd.protocol.framing import PacketBuffer

#: Size of the scratch buffer :meth:`SansIOConnection.get_buffer` hands out.
READ_SIZE = 256 * 1024
#: Bytes of a data phase that count as progress (rule 3): a camera must send at least
#: this much per ``timeout`` (64 KiB per 10 s is 52 kbit/s; a Wi-Fi link carries
#: about a thousand times more).
DEFAULT_MIN_PROGRESS = 64 * 1024


class _NeedData:
    """Sentinel type of :data:`NEED_DATA`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


#: Returned by ``next_event()`` when more bytes must be received first.
NEED_DATA = _NeedData()


class ConnectionEvent:
    """Base of every event a channel of either dialect produces or accepts.

    Events are frozen, slotted dataclasses; don't subclass them.
    """

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class ConnectionClosed(ConnectionEvent):
    """The peer closed the connection (EOF between packets, or Fuji's goodbye word)."""


class SansIOConnection:
    """Receive buffer, EOF, sticky errors, outbound queue and deadlines of one channel.

    Subclasses set ``_ERROR`` and ``_CLOSED`` (their states for those ends) and provide
    ``_next_event`` and ``_send``; they say through ``_waiting`` when the peer owes us
    something, through ``_at_rest`` when no exchange is under way (a per-send ``timeout``
    lasts until then) and through ``_in_data_phase`` when received bytes count as
    progress, and change state with :meth:`_move` so the clock restarts on every new state.
    """

    _ERROR: ClassVar[Enum]
    _CLOSED: ClassVar[Enum]

    def __init__(
        self,
        framer: PacketBuffer,
        state: Enum,
        *,
        timeout: float | None = None,
        min_progress: int = DEFAULT_MIN_PROGRESS,
    ) -> None:
        if min_progress < 1:
            raise ValueError("min_progress must be >= 1")
        #: How long the peer may leave an exchange without progress (``None``: no timer).
        self.timeout = timeout
        #: Data-phase bytes that count as progress (rule 3).
        self.min_progress = min_progress
        self._framer = framer
        self._state = state
        self._eof = False
        self._error: ProtocolError | None = None
        self._outbox: list[Bytes] = []
        self._scratch: memoryview | None = None
        self._now: float | None = None  #: the caller's clock, as last given
        self._mark: float | None = None  #: when the peer last made progress
        self._progress = 0  #: data-phase bytes since ``_mark``
        self._patience: float | None = None  #: this exchange's timeout, if not ``timeout``

    # -- state ----------------------------------------------------------------------

    @property
    def state(self) -> Enum:
        """The channel's state (the dialect's ``State``)."""
        return self._state

    @property
    def intact(self) -> bool:
        """False once the peer sent bytes that break the protocol. A stream that was only
        cut short (EOF inside a packet, a deadline that passed, a reset the caller saw)
        stays intact: the bytes that came before the cut can be trusted."""
        return self._error is None or isinstance(self._error, StreamCut)

    def _move(self, state: Enum) -> None:
        """Enter ``state``; a new state is progress (rule 3) and restarts the clock."""
        if state is self._state:
            return
        self._state = state
        self._mark = self._now
        self._progress = 0
        if self._at_rest():
            self._patience = None  # the exchange is over: back to the default

    def _waiting(self) -> bool:
        """True while the peer owes us something (a deadline runs)."""
        return False

    def _at_rest(self) -> bool:
        """True between exchanges (no transaction or handshake under way)."""
        return not self._waiting()

    def _in_data_phase(self) -> bool:
        """True while received bytes are a data phase's (they count as progress)."""
        return False

    # -- input ----------------------------------------------------------------------

    def receive_data(self, data: Bytes, now: float | None = None) -> None:
        """Feed bytes read from the socket; ``b""`` means the peer closed (EOF)."""
        if self._eof:
            if not data:
                return  # a second EOF says nothing new
            raise LocalProtocolError("data received after EOF")
        self._clock(now)
        if not data:
            self._eof = True
            return
        self._framer.feed(data)
        self._count(len(data))

    def get_buffer(self, sizehint: int = -1) -> memoryview:
        """A writable buffer to read the next bytes into (``recv_into``,
        :class:`asyncio.BufferedProtocol`); then call :meth:`buffer_updated`."""
        if self._scratch is None:
            self._scratch = memoryview(bytearray(READ_SIZE))
        return self._scratch

    def buffer_updated(self, nbytes: int, now: float | None = None) -> None:
        """``nbytes`` were read into the buffer from :meth:`get_buffer` (0: nothing).

        EOF is still ``receive_data(b"")``.
        """
        if self._eof:
            raise LocalProtocolError("data received after EOF")
        self._clock(now)
        if nbytes > 0:
            assert self._scratch is not None
            self._framer.feed(self._scratch[:nbytes])  # copied: the scratch is reused
            self._count(nbytes)

    def next_event(self) -> ConnectionEvent | _NeedData:
        """The next event from what was received, or :data:`NEED_DATA`.

        After EOF, :class:`ConnectionClosed` (every time it is asked). Raises
        :class:`ProtocolError` if the peer broke the protocol (rule 1).
        """
        if self._error is not None:
            raise self._error
        try:
            return self._next_event()
        except ProtocolError as exc:
            self._fail(exc)
            raise

    def _next_event(self) -> ConnectionEvent | _NeedData:  # pragma: no cover - abstract
        raise NotImplementedError

    def _at_end_of_input(self) -> ConnectionEvent | _NeedData:
        """What no whole packet means: :data:`NEED_DATA`, or after EOF
        :class:`ConnectionClosed` (a :class:`ProtocolError` inside a packet)."""
        if not self._eof:
            return NEED_DATA
        if len(self._framer):
            raise StreamCut(f"connection closed inside a packet ({len(self._framer)} bytes left)")
        self._move(self._CLOSED)
        return ConnectionClosed()

    def _fail(self, exc: ProtocolError) -> None:
        self._error = exc
        self._move(self._ERROR)

    # -- output ---------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        """Bytes the channel queued by itself (answers, a Cancel after a timeout)."""
        if not self._outbox:
            return b""
        out = b"".join(self._outbox)
        self._outbox.clear()
        return out

    def send(self, event: ConnectionEvent, now: float | None = None, timeout: float | None = None) -> bytes:
        """The bytes to write for ``event`` (preceded by anything queued).

        ``timeout`` replaces the channel's ``timeout`` for the exchange this send starts
        (until it ends). Raises :class:`LocalProtocolError` if the event is not legal
        now; the state is then unchanged.
        """
        return b"".join(self.send_parts(event, now, timeout))

    def send_parts(self, event: ConnectionEvent, now: float | None = None, timeout: float | None = None) -> list[Bytes]:
        """Like :meth:`send`, as a list of buffers for ``writelines`` (data not copied)."""
        if self._error is not None:
            raise LocalProtocolError("the channel is in ERROR after a protocol error")
        self._clock(now)
        parts = self._send(event, timeout)
        if self._outbox:
            parts = self._outbox + parts
            self._outbox = []
        return parts

    def _send(self, event: ConnectionEvent, timeout: float | None) -> list[Bytes]:  # pragma: no cover - abstract
        """The bytes of ``event``; a dialect calls :meth:`_expect` for the sends that start
        or carry on an exchange (not for probes, answers or cancels)."""
        raise NotImplementedError

    def _expect(self, timeout: float | None) -> None:
        """The exchange just sent to lasts ``timeout`` (if given) instead of the default,
        until it ends."""
        if timeout is not None and not self._at_rest():
            self._patience = timeout

    # -- time -----------------------------------------------------------------------

    def _clock(self, now: float | None) -> None:
        if now is not None:
            self._now = now

    def _count(self, n: int) -> None:
        """``n`` bytes arrived: enough of them during a data phase are progress."""
        if self._now is None or not self._in_data_phase():
            return
        self._progress += n
        if self._progress >= self.min_progress:
            self._mark = self._now
            self._progress = 0

    def _deadline(self) -> float | None:
        """When the exchange in progress times out, if one runs."""
        patience = self.timeout if self._patience is None else self._patience
        if patience is None or self._mark is None or not self._waiting():
            return None
        return self._mark + patience

    def get_timer(self) -> float | None:
        """When (in the caller's clock) :meth:`handle_timer` must be called, or ``None``."""
        return self._deadline()

    def handle_timer(self, now: float) -> None:
        """Raise :class:`Timeout` if a deadline passed by ``now`` (rule 4 says what
        happens to the channel); otherwise do nothing."""
        self._clock(now)
        deadline = self._deadline()
        if deadline is None or now < deadline:
            return
        patience = self.timeout if self._patience is None else self._patience
        exc = Timeout(f"the peer made no progress for {patience:g}s (state {self._state.name})")
        self._timed_out(exc)
        raise exc

    def _timed_out(self, exc: Timeout) -> None:
        """A deadline passed: by default the channel is broken (a dialect that can
        cancel does so instead); what arrived before stays trusted."""
        self._fail(StreamCut(str(exc)))


__all__ = [
    "DEFAULT_MIN_PROGRESS",
    "NEED_DATA",
    "READ_SIZE",
    "Bytes",
    "ConnectionClosed",
    "ConnectionEvent",
    "SansIOConnection",
]
