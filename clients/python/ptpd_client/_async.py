"""The asyncio client: the same commands and results as :class:`~ptpd_client.Client`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any

import zmq
import zmq.asyncio

from . import _core, _settle
from ._commands import _UNSET, CommandMethods, EventCallback, ProgressCallback, _BaseClient
from ._core import EventStreamBase, LatestMailbox, Timeout
from ._errors import ClientError, CommandFailed, DaemonUnavailable, ProtocolMismatch, RequestTimeout
from ._stream_models import Event, Frame

if TYPE_CHECKING:
    from ._camera import CameraInfo, CaptureResult, Download, ObjectInfo, OpResult, StorageInfo
    from ._desc import PropDesc
    from ._jobs import AsyncJobs, Lease
    from ._props import PropValue
    from ._status import CommandHelp, Pong, Snapshot, Status, Version

log = logging.getLogger("ptpd_client")

#: seconds the reply reader gets to read what a daemon sent before its connection dropped
LOST_GRACE = 0.05

if TYPE_CHECKING:

    class _AwaitedCommands:
        """:class:`CommandMethods` as :class:`AsyncClient` has them: each returns an
        awaitable of the result (tests/test_client_typing.py holds the two lists together)."""

        timeout: Timeout

        async def ping(self, *, timeout: float | None = ...) -> Pong: ...
        async def version(self, *, timeout: float | None = ...) -> Version: ...
        async def status(self, *, timeout: float | None = ...) -> Status: ...
        async def snapshot(self, *, timeout: float | None = ...) -> Snapshot: ...
        async def help(self, *, timeout: float | None = ...) -> list[CommandHelp]: ...
        async def info(self, *, timeout: float | None = ...) -> CameraInfo: ...
        async def properties(self, *, timeout: float | None = ...) -> list[str]: ...
        async def describe(self, prop: str | int, *, timeout: float | None = ...) -> PropDesc: ...
        async def get(self, prop: str | int, *, timeout: float | None = ...) -> PropValue: ...
        async def set(self, prop: str | int, value: str | int, *, timeout: float | None = ...) -> PropValue: ...
        async def state(self, *, timeout: float | None = ...) -> list[PropValue]: ...
        async def capture(
            self,
            count: int = ...,
            *,
            download: bool = ...,
            preview: bool = ...,
            dir: str | None = ...,
            keep: bool | None = ...,
            at: float | None = ...,
            timeout: float | None = ...,
            on_event: EventCallback | None = ...,
        ) -> CaptureResult: ...
        async def liveview_start(self, *, timeout: float | None = ...) -> Any: ...
        async def liveview_stop(self, *, timeout: float | None = ...) -> Any: ...
        async def storage(self, *, timeout: float | None = ...) -> StorageInfo: ...
        async def objects(self, *, timeout: float | None = ...) -> list[ObjectInfo]: ...
        async def download(
            self,
            handle: int,
            *,
            offset: int = ...,
            progress: ProgressCallback | None = ...,
            timeout: float | None = ...,
            dir: str | None = ...,
        ) -> Download: ...
        async def delete(self, handle: int, *, timeout: float | None = ...) -> Any: ...
        async def delete_all(self, *, timeout: float | None = ...) -> Any: ...
        async def opreq(
            self,
            code: int,
            params: Iterable[int] = ...,
            data: bytes | None = ...,
            *,
            timeout: float | None = ...,
        ) -> OpResult: ...

    _Commands = _AwaitedCommands
else:
    _Commands = CommandMethods


class AsyncClient(_Commands, _BaseClient):
    """An asyncio client of one ptpd daemon; every command method is awaited.

    ::

        async with AsyncClient() as c:
            print((await c.get("iso")).label)
            async for frame in c.frames():
                ...

    Requests from concurrent tasks are pipelined on one DEALER socket and matched to their
    replies by id. Deadlines, timeouts of commands with side effects and a daemon that goes
    away behave as in :class:`Client`; a call whose task is cancelled tells the daemon to
    stop its request (``cancel``), as does :meth:`cancel` with a request id.
    """

    def __init__(
        self,
        command_endpoint: str | None = None,
        event_endpoint: str | None = None,
        liveview_endpoint: str | None = None,
        *,
        timeout: Timeout | float | None = _core.DEFAULT_TIMEOUT,
        context: zmq.asyncio.Context | None = None,
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
        self._own_context = context is None
        self._context = context or zmq.asyncio.Context()
        self._socket: zmq.asyncio.Socket | None = None
        self._waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._commands: dict[str, str] = {}  #: request id -> command, while it waits
        self._reader: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._connect_lock: asyncio.Lock | None = None
        self._streams: list[Any] = []
        self._renewal: asyncio.Task[None] | None = None

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close sockets, stop streams and the reply reader; a lease this client renews
        (:meth:`lock`) is released. Idempotent."""
        if self._renewal is not None and not self._closed:
            try:
                await self.unlock(timeout=1.0)
            except ClientError:
                pass  # the daemon is gone: the lease runs out by itself
        for s in list(self._streams):
            await s.aclose()
        for task in (self._reader, self._watcher):
            if task is not None:
                task.cancel()
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass
        self._reader = self._watcher = None
        if self._socket is not None:
            self._socket.close(0)
            self._socket = None
        for fut in self._waiters.values():
            if not fut.done():
                fut.set_exception(DaemonUnavailable("client closed", self._plan.command))
        self._waiters.clear()
        if self._own_context and not self._closed:
            self._context.term()
        self._closed = True

    async def _command_socket(self) -> zmq.asyncio.Socket:
        if self._connect_lock is None:
            self._connect_lock = asyncio.Lock()
        async with self._connect_lock:
            if self._socket is None:
                if self._closed:
                    raise RuntimeError("client is closed")
                _core.probe_ipc(self._plan.command)
                s = _core.open_dealer(self._context, self._plan.command, self._curve)
                self._socket = s
                self._reader = asyncio.ensure_future(self._read_replies(s))
                self._watcher = asyncio.ensure_future(self._watch_connection(_core.open_monitor(s)))
            return self._socket

    async def _watch_connection(self, monitor: zmq.asyncio.Socket) -> None:
        """The daemon went away (its connection dropped, or stopped answering heartbeats):
        every call waiting for a reply fails now, not at its timeout."""
        try:
            while True:
                if _core.connection_lost(await monitor.recv_multipart()):
                    await asyncio.sleep(LOST_GRACE)  # replies sent before it went are read first
                    for rid, fut in list(self._waiters.items()):
                        if not fut.done():
                            fut.set_exception(_core.gone(self._commands.get(rid, "request"), self._plan.command))
        finally:
            monitor.close(0)

    async def _read_replies(self, sock: zmq.asyncio.Socket) -> None:
        while True:
            # copy=False: a blob stays in ZeroMQ's message, handed out as a view
            frames = await sock.recv_multipart(copy=False)
            try:
                reply = _core.parse_reply_frames(frames)
            except ProtocolMismatch:
                continue
            fut = self._waiters.pop(str(reply.get("id")), None)
            if fut is not None and not fut.done():
                fut.set_result(reply)

    async def request(
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
        ``progress`` and ``on_event`` as for :meth:`Client.request` (called from the loop).
        Cancelled while waiting, the request is stopped: see :meth:`_abandon`.
        """
        read = self._read_timeout(timeout)
        sock = await self._command_socket()
        rid, frames = self._new_request(cmd, args, read)
        if not await sock.poll(self._connect_ms(), zmq.POLLOUT):  # type: ignore[call-arg]  # pyzmq's stub lacks flags
            raise self._unavailable()
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters[rid] = fut
        self._commands[rid] = cmd
        watcher = None
        topics = _core.request_topics(progress is not None, on_event is not None)
        if topics:
            watcher = asyncio.ensure_future(self._watch_events(rid, args or {}, topics, progress, on_event))
        try:
            await sock.send_multipart([b"", *frames], copy=False)
            try:
                reply = await asyncio.wait_for(asyncio.shield(fut), read)
            except TimeoutError:
                if not _settle.has_side_effects(cmd):
                    raise self._timed_out(cmd, read) from None
                s = await self._settle(sock, rid, fut, _settle.grace(read))
                if s.reply is not None:
                    return _settle.late(cmd, read, s, parse)
                raise _settle.timed_out(cmd, read, s) from None
            except asyncio.CancelledError:
                self._abandon(sock, rid, cmd)
                raise
        finally:
            self._waiters.pop(rid, None)
            self._commands.pop(rid, None)
            if watcher is not None:
                watcher.cancel()
        return _core.result_of(cmd, reply, parse)

    async def cancel(self, request_id: str, *, timeout: float | None = _UNSET) -> str:
        """Ask the daemon to stop request ``request_id`` of this client: what it found
        (``queued``: it never starts, ``running``: a capture ends after the shot in
        progress, ``done``, ``unknown``). The request's own call then returns or raises as
        the daemon answers it."""
        state: str = (await self.request("cancel", {"id": request_id}, timeout=timeout, parse=False))["state"]
        return state

    def _abandon(self, sock: zmq.asyncio.Socket, rid: str, cmd: str) -> None:
        """The caller stopped waiting for request ``rid`` (the task was cancelled): tell the
        daemon to stop it, without waiting (a cancelled task does not wait)."""
        log.debug("%s (request %s) cancelled: cancelling it on the daemon", cmd, rid)
        frames = _core.request_frames(self._ids.next(), "cancel", {"id": rid}, _settle.CANCEL_ANSWER)
        try:
            sock.send_multipart([b"", *frames], flags=zmq.NOBLOCK, copy=False)
        except zmq.ZMQError:
            pass  # the daemon is not there to tell

    async def _settle(
        self, sock: zmq.asyncio.Socket, rid: str, fut: asyncio.Future[dict[str, Any]], grace: float
    ) -> _settle.Settling:
        """Send ``cancel`` for ``rid`` and listen until the daemon has said what became of
        it (see :mod:`._settle`)."""
        loop = asyncio.get_running_loop()
        cid = self._ids.next()
        s = _settle.Settling(rid, cid, grace, loop.time())
        answer: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._waiters[cid] = answer
        try:
            await sock.send_multipart(
                [b"", *_core.request_frames(cid, "cancel", {"id": rid}, _settle.CANCEL_ANSWER)], copy=False
            )
            while not s.done(loop.time()):
                waiting = [f for f in (fut, answer) if not f.done()]
                if not waiting:
                    break
                done, _ = await asyncio.wait(waiting, timeout=s.left(loop.time()), return_when=asyncio.FIRST_COMPLETED)
                for f in done:
                    if f.exception() is not None:
                        return s  # the daemon went away
                    s.feed(f.result(), loop.time())
        finally:
            self._waiters.pop(cid, None)
        return s

    async def _watch_events(
        self,
        rid: str,
        args: dict[str, Any],
        topics: tuple[bytes, ...],
        progress: ProgressCallback | None,
        on_event: EventCallback | None,
    ) -> None:
        ev_endpoint = (await self.endpoints())[0]
        sub = _core.open_sub(self._context, ev_endpoint, self._curve, topics)
        try:
            while True:
                try:
                    event = _core.parse_event(await sub.recv_multipart())
                except ProtocolMismatch:
                    continue
                _core.dispatch_request_event(event, rid, args, progress, on_event)
        finally:
            sub.close(0)

    @property
    def jobs(self) -> AsyncJobs:
        """The daemon's jobs, as :attr:`Client.jobs` (every method awaited;
        ``async for update in client.jobs.watch(id)``)."""
        from ._jobs import AsyncJobs

        return AsyncJobs(self)

    async def lock(
        self, holder: str | None = None, ttl: float = 60.0, *, renew: bool = True, timeout: float | None = _UNSET
    ) -> Lease:
        """Take the control lease, as :meth:`Client.lock` (renewed by a task)."""
        lease: Lease = await self.request("lock", {"holder": holder, "ttl": ttl}, timeout=timeout)
        self.lease = lease.lease
        await self._stop_renewal()
        if renew:
            self._renewal = asyncio.ensure_future(self._renew(holder, ttl))
        return lease

    async def unlock(self, *, force: bool = False, timeout: float | None = _UNSET) -> bool:
        """Release the control lease this client holds, as :meth:`Client.unlock`."""
        await self._stop_renewal()
        try:
            return bool(
                (await self.request("unlock", {"force": force or None}, timeout=timeout, parse=False))["released"]
            )
        finally:
            self.lease = None

    async def _renew(self, holder: str | None, ttl: float) -> None:
        while True:
            await asyncio.sleep(ttl / 3)
            try:
                await self.request("lock", {"holder": holder, "ttl": ttl}, parse=False)
            except CommandFailed as exc:
                log.warning("control lease lost: %s", exc)
                return
            except ClientError as exc:
                log.debug("renewing the control lease: %s", exc)

    async def _stop_renewal(self) -> None:
        task, self._renewal = self._renewal, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def endpoints(self) -> tuple[str, str]:
        """(event, live-view) endpoints: given, or learned from the daemon's ``version``."""
        known = self._known_endpoints()
        if known is not None:
            return known
        try:
            v = await self.request("version", parse=False)
        except Exception:
            v = None
        return self._learn_endpoints(v)

    async def events(
        self,
        prefixes: Iterable[str] | str | None = None,
        *,
        snapshot: bool = True,
        timeout: float | None = None,
    ) -> AsyncEventStream:
        """Like :meth:`Client.events`: ``async for item in await c.events(["state."])``."""
        stream = AsyncEventStream(self, _core.normalise_prefixes(prefixes), snapshot, timeout)
        await stream._start()
        self._streams.append(stream)
        return stream

    async def frames(self, *, timeout: float | None = None) -> AsyncFrameStream:
        """Like :meth:`Client.frames`: ``async for frame in await c.frames()``."""
        stream = AsyncFrameStream(self, (await self.endpoints())[1], timeout)
        self._streams.append(stream)
        return stream


class AsyncEventStream(EventStreamBase):
    """Events after a snapshot, with sequence-gap detection (asyncio)."""

    async def _start(self) -> None:
        self._subscribe((await self._client.endpoints())[0])
        if self.feed.want_snapshot:
            self.feed.snapshot_taken(await self._client.snapshot(), None)

    def __aiter__(self) -> AsyncIterator[Event | Snapshot]:
        return self

    async def __anext__(self) -> Event | Snapshot:
        if self._sub is None and not self.feed.pending:
            raise StopAsyncIteration
        return await self.get(self.timeout)

    async def get(self, timeout: float | None = None) -> Event | Snapshot:
        """The next snapshot or matching event; :class:`RequestTimeout` if none in time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            item = self.feed.next_pending()
            if item is not None:
                return item
            if self._sub is None:
                raise StopAsyncIteration
            if await self._sub.poll(_core.poll_ms(self._time_left(deadline, timeout))):
                gap = self._take(await self._sub.recv_multipart())
                if gap is not None:
                    self.feed.snapshot_taken(await self._client.snapshot(), gap[1])
                    self.feed.after_gap(gap[0])

    async def aclose(self) -> None:
        self._detach()

    async def __aenter__(self) -> AsyncEventStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class AsyncFrameStream:
    """Live-view frames: a receiver thread fills a one-slot mailbox and wakes the loop."""

    def __init__(self, client: AsyncClient, endpoint: str, timeout: float | None) -> None:
        self._client = client
        self.timeout = timeout
        self.mailbox = LatestMailbox()
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self.mailbox.add_waker(lambda: self._loop.call_soon_threadsafe(self._wake.set))
        # a plain (thread-side) context: the receiver is not on the loop
        self._receiver = _core.FrameReceiver(zmq.Context.instance(), endpoint, self.mailbox, client._curve)
        self._receiver.start()

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self

    async def __anext__(self) -> Frame:
        try:
            return await self.get(self.timeout)
        except _Closed:
            raise StopAsyncIteration from None

    async def get(self, timeout: float | None = None) -> Frame:
        """The newest frame, waiting up to ``timeout``; :class:`RequestTimeout` if none."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._wake.clear()
            frame = self.mailbox.take()
            if frame is not None:
                return frame
            if self.mailbox.closed:
                raise _Closed
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise RequestTimeout(f"no live-view frame within {timeout:g} s", timeout)
            try:
                # asyncio.timeout: no task per wait, as asyncio.wait_for would make
                async with asyncio.timeout(remaining):
                    await self._wake.wait()
            except TimeoutError:
                pass

    @property
    def replaced(self) -> int:
        return self.mailbox.replaced

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._receiver.stop)
        self.mailbox.close()
        if self in self._client._streams:
            self._client._streams.remove(self)

    async def __aenter__(self) -> AsyncFrameStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _Closed(Exception):
    pass
