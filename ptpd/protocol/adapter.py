"""The asyncio side of one sans-I/O channel, for either dialect (aioquic's QuicConnectionProtocol).

:class:`ConnectionProtocol` owns a socket and a
:class:`~ptpd.protocol.sansio.SansIOConnection`, and does only I/O: it reads into the
buffer the connection hands out (``get_buffer``/``buffer_updated``, so a big data phase
goes from the socket straight to its place), passes the loop's clock with every read and
send, hands each event to :meth:`~ConnectionProtocol.event_received`, writes what the
connection queued by itself, and keeps ONE loop timer on the connection's
``get_timer()``, re-armed after every receive and send. When it fires, the connection's
``handle_timer(now)`` decides (cancel, or break the channel) and its
:class:`~ptpd.protocol.errors.Timeout` goes to :meth:`~ConnectionProtocol.timed_out`.
No deadline lives here: the adapters of both dialects wait on futures that the events,
the timer or the end of the connection settle.

It is also where every camera connection of both dialects comes in, so it bounds TCP's
own waits on them (:func:`tune_camera_socket`): after an outage a request in flight
reaches the camera within a second of the link's return, and a link that stays dead
is noticed within the channel's timeout.

Two budgets keep a hostile peer from holding the event loop or our memory: one loop turn
hands out at most :data:`EVENTS_PER_TURN` events (the rest wait, with reading paused,
for the next turn, so a flood of small packets in one 256 KiB read cannot stall every
other task), and what the connection says on its own (Probe Responses) is dropped while
more than :data:`MAX_UNSENT` bytes wait for a peer that does not read them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
from collections.abc import Callable
from typing import Any, Protocol

from ptpd.protocol.errors import CameraDisconnected, ProtocolError, Timeout
from ptpd.protocol.sansio import NEED_DATA, ConnectionClosed, ConnectionEvent, SansIOConnection

log = logging.getLogger(__name__)

#: Linux's ``TCP_RTO_MAX_MS`` socket option (kernel 6.15 and later; Python has no name for
#: it yet): the longest TCP's retransmission timer may back off to.
TCP_RTO_MAX_MS = 44
#: The back-off cap on camera sockets, in ms: the smallest the kernel takes (it refuses
#: less than a second). TCP doubles its retransmission interval from 200 ms, so a request
#: in flight when a Wi-Fi link drops for 3 s is next sent 1.6 s or more after the one
#: before, and may reach the camera that long after the link is back; capped, within 1 s.
RTO_MAX_MS = 1000


def self_connected(transport: asyncio.BaseTransport) -> bool:
    """True for a TCP connection that reached itself: a connect to a free local port can
    (simultaneous open), and it then looks like a camera that never answers."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return False
    try:
        return bool(sock.getsockname() == sock.getpeername())
    except OSError:
        return False


def tune_channel(transport: asyncio.BaseTransport) -> None:
    """TCP_NODELAY and SO_KEEPALIVE on a camera channel."""
    # Both options are what the PTP/IP spec and malc0mn ask for on every channel.
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)


def tune_camera_socket(sock: Any, user_timeout: float | None) -> dict[str, int]:
    """Bound TCP's own waits on a camera connection (``sock``: a socket, or asyncio's
    view of one); the options that took, by name.

    * ``TCP_RTO_MAX_MS`` = :data:`RTO_MAX_MS`: retransmissions at most a second apart;
    * ``TCP_USER_TIMEOUT`` = ``user_timeout`` (the channel's timeout, seconds; ``None``:
      not set): data of ours the camera has not acknowledged for that long means the
      link is dead, and the connection ends (ETIMEDOUT) instead of retrying for the
      kernel's default of about 15 minutes. A camera that is only slow to answer still
      acknowledges at once, so this never cuts a long operation short.

    Linux only; a kernel without an option (``TCP_RTO_MAX_MS`` came in 6.15) keeps its
    default for it, without an error.
    """
    if not sys.platform.startswith("linux") or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return {}
    wanted = {"TCP_RTO_MAX_MS": (TCP_RTO_MAX_MS, RTO_MAX_MS)}
    user = getattr(socket, "TCP_USER_TIMEOUT", None)
    if user is not None and user_timeout is not None and user_timeout > 0:
        wanted["TCP_USER_TIMEOUT"] = (user, max(1, round(user_timeout * 1000)))
    done: dict[str, int] = {}
    for name, (option, value) in wanted.items():
        try:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)
        except OSError as exc:  # ENOPROTOOPT / EINVAL on a kernel without it
            log.debug("camera socket keeps the kernel's default %s: %s", name, exc)
            continue
        done[name] = value
    return done


class WriteHold(Protocol):
    """What holds a request between making its bytes and writing them: a release kept for
    its moment, so that only the write comes between the moment and the wire."""

    def arrive(self) -> None:
        """Return when the bytes may go (a short, blocking wait)."""

    def sent(self) -> None:
        """The bytes went: what comes after them may yield the core."""


#: Events one loop turn hands out before it lets other tasks run (a read of 256 KiB may
#: hold 30,000 probe or event packets; at a few microseconds each that is a long stall).
EVENTS_PER_TURN = 64
#: Unsent bytes past which the answers a connection queues by itself are dropped: a
#: peer that floods us with probes and never reads would otherwise grow our write
#: buffer without end. (What we send on purpose, a data-out phase, is never dropped.)
MAX_UNSENT = 1024 * 1024


class ConnectionProtocol(asyncio.BufferedProtocol):
    """One TCP connection driving one sans-I/O channel; subclasses react to what it says.

    Override :meth:`event_received`, :meth:`timed_out`, :meth:`protocol_failed` and
    :meth:`connection_ended`; :meth:`received` runs after each read's events.
    """

    def __init__(self, conn: SansIOConnection, name: str) -> None:
        self.conn = conn
        self.name = name  #: for messages: "command", "event"
        self.transport: asyncio.Transport | None = None
        self._loop = asyncio.get_running_loop()
        self.closed: asyncio.Future[None] = self._loop.create_future()
        #: Why the connection ended (``None`` while it is up).
        self.lost: BaseException | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        #: the loop's clock (``time.monotonic()``) when :meth:`send` last handed bytes to
        #: the kernel: when a request went on the wire (a rig's release time, to the
        #: tens of microseconds); ``None`` before the first
        self.sent_at: float | None = None
        self._paused = False  #: reading paused: events are still waiting in the connection
        #: answers the connection queued that were dropped (the peer was not reading)
        self.answers_dropped = 0

    # -- asyncio callbacks ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            tune_camera_socket(sock, self.conn.timeout)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.conn.get_buffer(sizehint)

    def buffer_updated(self, nbytes: int) -> None:
        self._process(self.conn.buffer_updated, nbytes)

    def data_received(self, data: bytes) -> None:
        """Bytes from elsewhere than the socket (the same handling as a read)."""
        self._process(self.conn.receive_data, data)

    def eof_received(self) -> bool | None:
        if self.lost is None:
            self._process(self.conn.receive_data, b"")
        self._end(None)
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        self._end(exc)
        if not self.closed.done():
            self.closed.set_result(None)

    # -- the channel ------------------------------------------------------------------

    def _process(self, feed: Callable[[Any, float], None], arg: Any) -> None:
        try:
            feed(arg, self._loop.time())
        except ProtocolError as exc:
            self._failed(exc)
            return
        self._drain()

    def _drain(self) -> None:
        """Hand out the events of what was received, at most :data:`EVENTS_PER_TURN`;
        with more waiting, pause reading and go on in the next loop turn."""
        conn = self.conn
        try:
            for _ in range(EVENTS_PER_TURN):
                event = conn.next_event()
                if event is NEED_DATA:
                    break
                assert isinstance(event, ConnectionEvent)
                self.event_received(event)
                if isinstance(event, ConnectionClosed):
                    break  # it would say so again and again
            else:
                if self.lost is None and self.transport is not None:
                    if not self._paused:
                        self._paused = True
                        self.transport.pause_reading()
                    self._loop.call_soon(self._go_on)
                    self.transmit()
                    self.received()
                    return
        except ProtocolError as exc:
            self._failed(exc)
            return
        if self._paused:
            self._paused = False
            if self.transport is not None and not self.transport.is_closing():
                self.transport.resume_reading()
        self.transmit()
        self.received()

    def _go_on(self) -> None:
        if self.lost is None:
            self._drain()

    def _failed(self, exc: ProtocolError) -> None:
        self._cancel_timer()
        self.protocol_failed(exc)
        if self.transport is not None:
            self.transport.abort()

    def send(self, *events: ConnectionEvent, timeout: float | None = None, hold: WriteHold | None = None) -> None:
        """Write what the connection says for ``events`` (in one go) and re-arm the timer.

        ``timeout`` is the patience for the exchange they start (see the connection's
        ``send``). With ``hold`` the bytes are made first, then ``hold.arrive()`` is
        waited for, the bytes written and ``hold.sent()`` told. Raises
        :class:`CameraDisconnected` if the connection is gone, and the connection's
        :class:`~ptpd.protocol.errors.LocalProtocolError` if an event is not legal now.
        """
        if self.transport is None or self.transport.is_closing() or self.lost is not None:
            raise CameraDisconnected(f"{self.name} connection is closed")
        now = self._loop.time()
        parts: list[Any] = []
        for event in events:
            parts += self.conn.send_parts(event, now, timeout)
        if hold is not None:
            hold.arrive()
        if len(parts) == 1:
            self.transport.write(parts[0])
        elif parts:
            self.transport.writelines(parts)
        self.sent_at = self._loop.time()
        if hold is not None:
            hold.sent()
        self._arm()

    def transmit(self) -> None:
        """Write what the connection queued by itself (answers, a Cancel) and re-arm the timer."""
        out = self.conn.data_to_send()
        if out and self.transport is not None and not self.transport.is_closing():
            if self.transport.get_write_buffer_size() > MAX_UNSENT:
                self.answers_dropped += 1  # the peer reads nothing: it will not miss these
            else:
                self.transport.write(out)
        self._arm()

    # -- the one timer ----------------------------------------------------------------

    def _arm(self) -> None:
        when = self.conn.get_timer() if self.lost is None else None
        if when is None:
            self._cancel_timer()
            return
        if self._timer is not None and self._timer_at is not None and self._timer_at <= when:
            # A deadline that moved later (data flowing) keeps the armed timer: it fires
            # early at worst, finds nothing due and re-arms, so a download re-arms about
            # once per timeout, not once per read.
            return
        self._cancel_timer()
        self._timer_at = when
        self._timer = self._loop.call_at(when, self._fire)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_at = None

    def _fire(self) -> None:
        self._timer = None
        self._timer_at = None
        try:
            self.conn.handle_timer(self._loop.time())
        except Timeout as exc:
            self.timed_out(exc)
        self.transmit()

    # -- the end ----------------------------------------------------------------------

    def _end(self, exc: BaseException | None) -> None:
        if self.lost is not None:
            return
        self._cancel_timer()
        self.lost = exc or CameraDisconnected(f"camera closed the {self.name} connection")
        self.connection_ended(self.lost)

    # -- what subclasses do -------------------------------------------------------------

    def event_received(self, event: ConnectionEvent) -> None:
        """An event the connection made of received bytes."""

    def received(self) -> None:
        """A read was handled (its events given out)."""

    def timed_out(self, exc: Timeout) -> None:
        """A deadline of the connection passed (the connection has acted already)."""

    def protocol_failed(self, exc: ProtocolError) -> None:
        """The peer broke the protocol; the connection is aborted after this."""

    def connection_ended(self, exc: BaseException) -> None:
        """The connection is gone (EOF, reset, closed by us): ``exc`` says why."""


__all__ = [
    "EVENTS_PER_TURN",
    "MAX_UNSENT",
    "RTO_MAX_MS",
    "TCP_RTO_MAX_MS",
    "ConnectionProtocol",
    "self_connected",
    "tune_camera_socket",
    "tune_channel",
]
