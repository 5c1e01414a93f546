"""The blocking client."""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import zmq

from . import _core, _settle
from ._commands import _UNSET, CommandMethods, EventCallback, ProgressCallback, _BaseClient
from ._core import EventStreamBase, LatestMailbox, Timeout
from ._errors import ClientError, CommandFailed, ProtocolMismatch, RequestTimeout

if TYPE_CHECKING:
    import logging

    from ._jobs import Jobs, Lease
    from ._status import Snapshot
    from ._stream_models import Event, Frame


def _log() -> logging.Logger:
    # logging is imported on first use: a CLI's start-up pays for every module imported at
    # the top, and the client logs only when a call is interrupted or a lease is lost
    import logging

    return logging.getLogger("ptpd_client")


class Client(CommandMethods, _BaseClient):
    """A blocking client of one ptpd daemon.

    ::

        with Client() as c:                 # endpoints: args, PTPD_* env, or defaults
            print(c.get("iso").label)
            c.set("iso", "800")
            for frame in c.frames():        # always the newest frame
                ...

    Every call takes ``timeout=`` (seconds; ``None`` waits forever) and raises
    :class:`DaemonUnavailable`, :class:`RequestTimeout` or :class:`CommandFailed`.
    One client may be used from several threads; calls are serialised.

    Every request carries its timeout as its deadline: the daemon never starts it once
    the call has given up. When the timeout passes on a command with side effects
    (``capture``, ``set``, ...), the client asks the daemon to stop it and reports what
    became of it: its late result, or :class:`RequestTimeout` saying whether it started.
    Ctrl-C in a call stops its request the same way (:meth:`cancel`) and raises
    :class:`RequestInterrupted` with what was done (a capture's shots taken). A daemon
    that goes away during a call is noticed within 2.5 s (:class:`DaemonUnavailable`).

    For a daemon on TCP with CURVE, pass ``curve_server_key`` (its ``server.key`` file or
    z85 public key) and ``curve_client_key`` (this client's ``NAME.key_secret`` file, its
    z85 secret key, or a ``(public, secret)`` z85 pair), or set ``PTPD_CURVE_SERVER_KEY``
    and ``PTPD_CURVE_CLIENT_KEY``: every socket (commands, events, live view) uses them.
    """

    def __init__(
        self,
        command_endpoint: str | None = None,
        event_endpoint: str | None = None,
        liveview_endpoint: str | None = None,
        *,
        timeout: Timeout | float | None = _core.DEFAULT_TIMEOUT,
        context: zmq.Context[zmq.Socket[bytes]] | None = None,
        curve_server_key: Any = None,
        curve_client_key: Any = None,
    ) -> None:
        super().__init__(
            command_endpoint,
            event_endpoint,
            liveview_endpoint,
            timeout=timeout,
            curve_server_key=curve_server_key,
            curve_client_key=curve_client_key,
        )
        self._context = context or zmq.Context.instance()
        self._socket: zmq.Socket[bytes] | None = None
        self._monitor: zmq.Socket[bytes] | None = None
        self._lock = threading.RLock()
        self._streams: list[Any] = []
        #: the request a call is waiting for, and cancels other threads asked for it
        self._waiting_for: str | None = None
        self._asks: list[str] = []
        self._asks_lock = threading.Lock()
        self._wake: tuple[int, int] | None = os.pipe()  # read end polled by a waiting call
        os.set_blocking(self._wake[0], False)
        self._close_wake = weakref.finalize(self, _close_fds, *self._wake)  # also for a client never closed
        #: the thread renewing a lease taken with :meth:`lock`, and what stops it
        self._renewal: tuple[threading.Event, threading.Thread] | None = None

    # -- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the sockets and stop any stream this client opened; a lease this client
        renews (:meth:`lock`) is released. Idempotent."""
        if self._renewal is not None and not self._closed:
            try:
                self.unlock(timeout=1.0)
            except ClientError:
                pass  # the daemon is gone: the lease runs out by itself
        for s in list(self._streams):
            s.close()
        with self._lock:
            self._drop_socket()
            with self._asks_lock:
                self._wake = None
                self._close_wake()
            self._closed = True

    def _command_socket(self) -> zmq.Socket[bytes]:
        if self._socket is None:
            if self._closed:
                raise RuntimeError("client is closed")
            _core.probe_ipc(self._plan.command)
            self._socket = _core.open_dealer(self._context, self._plan.command, self._curve)
            self._monitor = _core.open_monitor(self._socket)
        return self._socket

    def _drop_socket(self) -> None:
        """Start afresh next time (a dead peer leaves a half-open pipe)."""
        if self._monitor is not None:
            self._monitor.close(0)
            self._monitor = None
        if self._socket is not None:
            self._socket.close(0)
            self._socket = None

    def _lost(self) -> bool:
        """The monitor saw the connection to the daemon drop (its messages are used up)."""
        lost = False
        while self._monitor is not None:
            try:
                lost = _core.connection_lost(self._monitor.recv_multipart(zmq.NOBLOCK)) or lost
            except zmq.Again:
                break
        return lost

    # -- the one request path --------------------------------------------------------

    def request(
        self,
        cmd: str,
        args: dict[str, Any] | None = None,
        *,
        timeout: float | None = _UNSET,
        parse: bool = True,
        progress: ProgressCallback | None = None,
        on_event: EventCallback | None = None,
    ) -> Any:
        """Send any bus command and return its (typed, when ``parse``) result.

        Binary results (image data) are ``memoryview`` objects of the received message: no copy.
        ``progress(done, total)`` follows a download; ``on_event(event)`` gets each event
        the daemon publishes about this request while it runs (a capture's
        ``event.capture_done`` per shot, ``progress.transfer``), from this thread.

        Interrupted while waiting (Ctrl-C), the request is stopped: see :meth:`_abandon`.
        """
        read = self._read_timeout(timeout)
        with self._lock:
            sock = self._command_socket()
            rid, frames = self._new_request(cmd, args, read)
            if not sock.poll(self._connect_ms(), zmq.POLLOUT):
                self._drop_socket()
                raise self._unavailable()
            self._lost()  # what happened before this request is no news
            topics = _core.request_topics(progress is not None, on_event is not None)
            sub = _core.open_sub(self._context, self.endpoints()[0], self._curve, topics) if topics else None
            with self._asks_lock:
                self._waiting_for = rid
            try:
                sock.send_multipart([b"", *frames], copy=False)
                poller = zmq.Poller()
                poller.register(sock, zmq.POLLIN)
                poller.register(self._monitor, zmq.POLLIN)
                poller.register(self._wake_fd(), zmq.POLLIN)
                if sub is not None:
                    poller.register(sub, zmq.POLLIN)
                deadline = None if read is None else time.monotonic() + read
                while True:
                    left = _core.remaining(deadline)
                    if left is not None and left <= 0:
                        if _settle.has_side_effects(cmd):
                            s = self._settle(sock, rid, _settle.grace(read))
                            if s.reply is not None:
                                return _settle.late(cmd, read, s, parse)
                            raise _settle.timed_out(cmd, read, s)
                        raise self._timed_out(cmd, read)
                    ready = dict(poller.poll(_core.poll_ms(left)))
                    # a reply the daemon sent before it went (SIGTERM) is read first
                    if self._monitor in ready and self._lost() and not sock.poll(0):
                        self._drop_socket()
                        raise _core.gone(cmd, self._plan.command)
                    if self._wake_fd() in ready:
                        self._send_asks(sock)
                    if sub is not None and sub in ready:
                        self._drain_events(sub, rid, args or {}, progress, on_event)
                    if sock in ready:
                        # copy=False: a blob stays in ZeroMQ's message, handed out as a view
                        reply = _core.parse_reply_frames(sock.recv_multipart(copy=False))
                        if reply.get("id") != rid:
                            continue  # a late reply to an earlier, timed-out request
                        if sub is not None:  # what was published before the reply is not lost
                            self._drain_events(sub, rid, args or {}, progress, on_event)
                        return _core.result_of(cmd, reply, parse)
            except KeyboardInterrupt:
                raise self._abandon(sock, rid, cmd, read, parse) from None
            finally:
                with self._asks_lock:
                    self._waiting_for = None
                    self._asks.clear()
                if sub is not None:
                    sub.close(0)

    def _abandon(self, sock: zmq.Socket[bytes], rid: str, cmd: str, read: float | None, parse: bool) -> BaseException:
        """The caller stopped waiting for request ``rid`` (Ctrl-C): the daemon stops it (a
        capture after the shot in progress) and says what was done, which the
        :class:`RequestInterrupted` returned carries; a second Ctrl-C ends the wait at once."""
        _log().debug("%s (request %s) interrupted: cancelling it", cmd, rid)
        return _settle.interrupted(cmd, self._settle(sock, rid, _settle.grace(read)), parse)

    def cancel(self, request_id: str | None = None, *, timeout: float | None = _UNSET) -> str | None:
        """Ask the daemon to stop a request of this client: by default the one a call is
        waiting for (from another thread or a callback). That call then returns or raises
        as the daemon answers it: a running capture ends after the shot in progress and
        returns the shots taken (``stopped: "cancelled"``), a queued request raises
        :class:`CommandFailed` (``cancelled``). Returns at once (``None``) while a call
        waits; otherwise sends ``cancel`` for ``request_id`` and returns what the daemon
        found (``queued``, ``running``, ``done``, ``unknown``)."""
        with self._asks_lock:
            target = request_id or self._waiting_for
            if self._waiting_for is not None and target is not None:
                self._asks.append(target)
                os.write(self._wake_fd(write=True), b"c")
                return None
        if request_id is None:
            return None
        state: str = self.request("cancel", {"id": request_id}, timeout=timeout, parse=False)["state"]
        return state

    def _wake_fd(self, write: bool = False) -> int:
        """The pipe another thread wakes a waiting call with (its read end, or write end)."""
        if self._wake is None:
            raise RuntimeError("client is closed")
        return self._wake[1 if write else 0]

    def _send_asks(self, sock: zmq.Socket[bytes]) -> None:
        """Send the cancels other threads asked for (only this thread uses the socket)."""
        try:
            while os.read(self._wake_fd(), 512):
                pass
        except BlockingIOError:
            pass
        with self._asks_lock:
            asks, self._asks = self._asks, []
        for target in asks:
            sock.send_multipart(
                [b"", *_core.request_frames(self._ids.next(), "cancel", {"id": target}, _settle.CANCEL_ANSWER)],
                copy=False,
            )

    def _settle(self, sock: zmq.Socket[bytes], rid: str, grace: float) -> _settle.Settling:
        """Send ``cancel`` for ``rid`` and listen until the daemon has said what became of
        it (see :mod:`._settle`); replies that arrive meanwhile are fed in."""
        cid = self._ids.next()
        s = _settle.Settling(rid, cid, grace, time.monotonic())
        try:
            sock.send_multipart(
                [b"", *_core.request_frames(cid, "cancel", {"id": rid}, _settle.CANCEL_ANSWER)],
                flags=zmq.NOBLOCK,
                copy=False,
            )
        except zmq.ZMQError:  # the daemon is not there to tell
            return s
        while not s.done(now := time.monotonic()):
            if sock.poll(min(100, max(1, int(s.left(now) * 1000)))):
                try:
                    s.feed(_core.parse_reply_frames(sock.recv_multipart(copy=False)), time.monotonic())
                except ProtocolMismatch:
                    continue
            elif self._lost():
                break  # the daemon went away: nothing more will come
        return s

    @staticmethod
    def _drain_events(
        sub: zmq.Socket[bytes],
        rid: str,
        args: dict[str, Any],
        progress: ProgressCallback | None,
        on_event: EventCallback | None,
    ) -> None:
        while True:
            try:
                parts = sub.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                event = _core.parse_event(parts)
            except ProtocolMismatch:
                continue
            _core.dispatch_request_event(event, rid, args, progress, on_event)

    def endpoints(self) -> tuple[str, str]:
        """(event, live-view) endpoints: given, or learned from the daemon's ``version``."""
        known = self._known_endpoints()
        if known is not None:
            return known
        try:
            v = self.request("version", parse=False)
        except Exception:
            v = None
        return self._learn_endpoints(v)

    # -- jobs and the control lease --------------------------------------------------

    @property
    def jobs(self) -> Jobs:
        """The daemon's jobs: ``client.jobs.timelapse(10, count=360, dir=...)``,
        ``.list()``, ``.get(id)``, ``.watch(id)``, ``.wait(id)``, ``.stop(id)``."""
        from ._jobs import Jobs

        return Jobs(self)

    def lock(
        self, holder: str | None = None, ttl: float = 60.0, *, renew: bool = True, timeout: float | None = _UNSET
    ) -> Lease:
        """Take the camera's control lease: until :meth:`unlock` (or :meth:`close`) other
        clients' ``set``/``capture`` get ``locked`` naming ``holder``. This client sends
        the lease's token with every request from now on; with ``renew`` a thread renews
        it every third of ``ttl`` (a client that dies stops renewing: the lease runs out
        ``ttl`` seconds later). ``CommandFailed`` (``locked``) when someone else holds it."""
        lease: Lease = self.request("lock", {"holder": holder, "ttl": ttl}, timeout=timeout)
        self.lease = lease.lease
        self._stop_renewal()
        if renew:
            stop = threading.Event()
            thread = threading.Thread(target=self._renew, args=(stop, holder, ttl), name="ptpd-lease", daemon=True)
            self._renewal = (stop, thread)
            thread.start()
        return lease

    def unlock(self, *, force: bool = False, timeout: float | None = _UNSET) -> bool:
        """Release the control lease this client holds (``force``: whoever holds it, but
        a job's); True when one was released."""
        self._stop_renewal()
        try:
            return bool(self.request("unlock", {"force": force or None}, timeout=timeout, parse=False)["released"])
        finally:
            self.lease = None

    def _renew(self, stop: threading.Event, holder: str | None, ttl: float) -> None:
        while not stop.wait(ttl / 3):
            try:
                self.request("lock", {"holder": holder, "ttl": ttl}, parse=False)
            except CommandFailed as exc:
                _log().warning("control lease lost: %s", exc)
                return
            except ClientError as exc:  # the daemon is away: try again next time
                _log().debug("renewing the control lease: %s", exc)

    def _stop_renewal(self) -> None:
        renewal, self._renewal = self._renewal, None
        if renewal is not None:
            renewal[0].set()
            if renewal[1] is not threading.current_thread():
                renewal[1].join(5.0)

    # -- streams ---------------------------------------------------------------------

    def events(
        self,
        prefixes: Iterable[str] | str | None = None,
        *,
        snapshot: bool = True,
        timeout: float | None = None,
    ) -> EventStream:
        """Iterate events whose topic starts with one of ``prefixes`` (all when empty).

        With ``snapshot`` the first item is a :class:`Snapshot`; later snapshots appear
        when a sequence gap showed that events were lost (``Snapshot.gap`` says which).
        ``timeout`` bounds the wait for each item (``None``: forever).
        """
        stream = EventStream(self, _core.normalise_prefixes(prefixes), snapshot, timeout)
        self._streams.append(stream)
        return stream

    def frames(self, *, timeout: float | None = None) -> FrameStream:
        """Iterate live-view frames, always the newest (a slow consumer skips frames).

        Subscribing starts live view on the camera; closing the stream ends the
        subscription. ``timeout`` bounds the wait for each frame.
        """
        stream = FrameStream(self, timeout)
        self._streams.append(stream)
        return stream


def _close_fds(*fds: int) -> None:
    for fd in fds:
        os.close(fd)


class EventStream(EventStreamBase):
    """Events after a snapshot, with sequence-gap detection (see :meth:`Client.events`)."""

    def __init__(self, client: Client, prefixes: tuple[str, ...], snapshot: bool, timeout: float | None) -> None:
        super().__init__(client, prefixes, snapshot, timeout)
        self._subscribe(client.endpoints()[0])
        if snapshot:
            self.feed.snapshot_taken(client.snapshot(), None)

    def __iter__(self) -> Iterator[Event | Snapshot]:
        return self

    def __next__(self) -> Event | Snapshot:
        return self.get(self.timeout)

    def get(self, timeout: float | None = None) -> Event | Snapshot:
        """The next snapshot or matching event; :class:`RequestTimeout` if none in time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            item = self.feed.next_pending()
            if item is not None:
                return item
            if self._sub is None:
                raise StopIteration
            if self._sub.poll(_core.poll_ms(self._time_left(deadline, timeout))):
                gap = self._take(self._sub.recv_multipart())
                if gap is not None:
                    self.feed.snapshot_taken(self._client.snapshot(), gap[1])
                    self.feed.after_gap(gap[0])

    def close(self) -> None:
        self._detach()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FrameStream:
    """Live-view frames through a receiver thread and a one-slot mailbox."""

    def __init__(self, client: Client, timeout: float | None) -> None:
        self._client = client
        self.timeout = timeout
        self.mailbox = LatestMailbox()
        self._receiver = _core.FrameReceiver(client._context, client.endpoints()[1], self.mailbox, client._curve)
        self._receiver.start()
        self._receiver.ready.wait(2.0)

    @property
    def endpoint(self) -> str:
        return self._client.endpoints()[1]

    def __iter__(self) -> Iterator[Frame]:
        return self

    def __next__(self) -> Frame:
        return self.get(self.timeout)

    def get(self, timeout: float | None = None) -> Frame:
        """The newest frame, waiting up to ``timeout``; :class:`RequestTimeout` if none."""
        frame = self.mailbox.get(timeout)
        if frame is None:
            if self.mailbox.closed:
                raise StopIteration
            raise RequestTimeout(f"no live-view frame within {timeout:g} s", timeout)
        return frame

    @property
    def replaced(self) -> int:
        """Frames skipped because a newer one arrived first."""
        return self.mailbox.replaced

    def close(self) -> None:
        """End the stream; another thread in :meth:`get` gets StopIteration."""
        self.mailbox.close()
        self._receiver.stop()
        if self in self._client._streams:
            self._client._streams.remove(self)

    def __enter__(self) -> FrameStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
