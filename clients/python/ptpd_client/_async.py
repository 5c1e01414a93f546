"""The asyncio client: the same commands and results as :class:`~ptpd_client.Client`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import zmq
import zmq.asyncio

from ptpd import bus

from . import _core
from ._commands import _UNSET, CommandMethods, ProgressCallback, _BaseClient
from ._core import LatestMailbox, Sequencer, Timeout
from ._errors import ClientError, DaemonUnavailable, ProtocolMismatch, RequestTimeout
from ._stream_models import Event, Frame

if TYPE_CHECKING:
    from ._status import Snapshot


class AsyncClient(CommandMethods, _BaseClient):
    """An asyncio client of one ptpd daemon; every command method is awaited.

    ::

        async with AsyncClient() as c:
            print((await c.get("iso")).label)
            async for frame in c.frames():
                ...

    Requests from concurrent tasks are pipelined on one DEALER socket and matched to their
    replies by id.
    """

    def __init__(
        self,
        command_endpoint: str | None = None,
        event_endpoint: str | None = None,
        liveview_endpoint: str | None = None,
        *,
        timeout: Timeout | float | None = _core.DEFAULT_TIMEOUT,
        context: zmq.asyncio.Context | None = None,
    ) -> None:
        super().__init__(command_endpoint, event_endpoint, liveview_endpoint, timeout=timeout)
        self._own_context = context is None
        self._context = context or zmq.asyncio.Context()
        self._socket: zmq.asyncio.Socket | None = None
        self._waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._connect_lock: asyncio.Lock | None = None
        self._streams: list[Any] = []

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close sockets, stop streams and the reply reader. Idempotent."""
        for s in list(self._streams):
            await s.aclose()
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):
                pass
            self._reader = None
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
                s = self._context.socket(zmq.DEALER)
                s.setsockopt(zmq.LINGER, 0)
                s.setsockopt(zmq.IMMEDIATE, 1)
                try:
                    s.connect(self._plan.command)
                except zmq.ZMQError as exc:
                    s.close(0)
                    raise ClientError(f"cannot use endpoint {self._plan.command!r}: {exc}") from exc
                self._socket = s
                self._reader = asyncio.ensure_future(self._read_replies(s))
            return self._socket

    async def _read_replies(self, sock: zmq.asyncio.Socket) -> None:
        while True:
            frames = await sock.recv_multipart()
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
    ) -> Any:
        """Send any bus command and return its (typed, when ``parse``) result."""
        read = self._read_timeout(timeout)
        sock = await self._command_socket()
        rid = self._ids.next()
        data = bus.encode_request(rid, cmd, _core.clean_args(args))
        connect = self.timeout.connect
        if not await sock.poll(_core._ms(connect) if connect is not None else None, zmq.POLLOUT):
            raise DaemonUnavailable(f"no daemon answers at {self._plan.command}", self._plan.command)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters[rid] = fut
        watcher = None
        if progress is not None:
            watcher = asyncio.ensure_future(self._watch_progress(rid, args or {}, progress))
        try:
            await sock.send_multipart([b"", data])
            try:
                reply = await asyncio.wait_for(fut, read)
            except asyncio.TimeoutError:
                raise RequestTimeout(f"{cmd}: no reply from the daemon within {read:g} s", read) from None
        finally:
            self._waiters.pop(rid, None)
            if watcher is not None:
                watcher.cancel()
        return _core.result_of(cmd, reply, parse)

    async def _watch_progress(self, rid: str, args: dict[str, Any], cb: ProgressCallback) -> None:
        ev_endpoint = (await self.endpoints())[0]
        sub = self._context.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, bus.Topic.PROGRESS.encode())
        sub.connect(ev_endpoint)
        try:
            while True:
                try:
                    ev = _core.parse_event(await sub.recv_multipart())
                except ProtocolMismatch:
                    continue
                d = ev.data
                if d.get("id") not in (None, rid) and d.get("handle") != args.get("handle"):
                    continue
                if "done" in d:
                    cb(int(d.get("done") or 0), int(d.get("total") or 0))
        finally:
            sub.close(0)

    async def endpoints(self) -> tuple[str, str]:
        """(event, live-view) endpoints: given, or learned from the daemon's ``version``."""
        if self._plan.event and self._plan.liveview:
            return self._plan.event, self._plan.liveview
        if self._learned is None:
            try:
                v = await self.request("version", parse=False)
            except Exception:
                v = None
            self._learned = _core.learned_endpoints(self._plan, v)
        return self._learned

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


class AsyncEventStream:
    """Events after a snapshot, with sequence-gap detection (asyncio)."""

    def __init__(self, client: AsyncClient, prefixes: tuple[str, ...], snapshot: bool, timeout: float | None) -> None:
        self._client = client
        self.prefixes = prefixes
        self.timeout = timeout
        self._want_snapshot = snapshot
        self.sequencer = Sequencer()
        self._pending: list[Event | Snapshot] = []
        self._sub: zmq.asyncio.Socket | None = None

    async def _start(self) -> None:
        ev_endpoint = (await self._client.endpoints())[0]
        self._sub = self._client._context.socket(zmq.SUB)
        self._sub.setsockopt(zmq.LINGER, 0)
        self._sub.setsockopt(zmq.SUBSCRIBE, b"")
        self._sub.connect(ev_endpoint)
        if self._want_snapshot:
            await self._resnapshot(None)

    async def _resnapshot(self, gap: tuple[int, int] | None) -> None:
        snap = await self._client.snapshot()
        if gap is not None:
            snap = replace(snap, gap=gap)
        self.sequencer.reset(snap.seq)
        self._pending.append(snap)

    def __aiter__(self) -> AsyncIterator[Event | Snapshot]:
        return self

    async def __anext__(self) -> Event | Snapshot:
        if self._sub is None and not self._pending:
            raise StopAsyncIteration
        return await self.get(self.timeout)

    async def get(self, timeout: float | None = None) -> Event | Snapshot:
        """The next snapshot or matching event; :class:`RequestTimeout` if none in time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._pending:
                return self._pending.pop(0)
            if self._sub is None:
                raise StopAsyncIteration
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise RequestTimeout(f"no event within {timeout:g} s", timeout)
            if not await self._sub.poll(None if remaining is None else max(1, int(remaining * 1000))):
                continue
            try:
                ev = _core.parse_event(await self._sub.recv_multipart())
            except ProtocolMismatch:
                continue
            verdict = self.sequencer.accept(ev)
            if verdict == "old":
                continue
            if verdict == "gap":
                expected = (self.sequencer.last or 0) + 1
                if self._want_snapshot:
                    await self._resnapshot((expected, ev.seq or 0))
                    if ev.seq is not None and ev.seq <= (self.sequencer.last or 0):
                        continue
                else:
                    ev = replace(ev, missed=(ev.seq or 0) - expected)
                self.sequencer.reset(ev.seq or 0)
            if _core.topic_matches(ev.topic, self.prefixes):
                self._pending.append(ev)

    @property
    def gaps(self) -> int:
        return self.sequencer.gaps

    async def aclose(self) -> None:
        if self._sub is not None:
            self._sub.close(0)
            self._sub = None
        if self in self._client._streams:
            self._client._streams.remove(self)

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
        self._receiver = _core.FrameReceiver(zmq.Context.instance(), endpoint, self.mailbox)
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
                await asyncio.wait_for(self._wake.wait(), remaining)
            except asyncio.TimeoutError:
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
