"""The asyncio PTP/IP initiator: sockets around the sans-I/O channels of :mod:`.connection`.

This is the one module of ``ptpd.protocol`` that does I/O. It opens the command and the
event connection (ptpip.md §3), runs the init handshake, and offers transactions and an
event stream. Each socket is an :class:`asyncio.BufferedProtocol` that reads into the
buffer the channel state machine hands out (``get_buffer``/``buffer_updated``): the
payload of a big data phase goes from the socket straight to its place in the one
``bytearray`` that :meth:`PTPIPInitiator.transact` returns (no joins). Its events are
dispatched at once:

* command channel: Init Ack/Fail resolve the connect future; DataIn + OperationResponse
  resolve the transaction future; Probe Requests are answered by the state machine.
* event channel: Events fan out to every subscriber's bounded queue (oldest dropped when
  a consumer falls behind, counted in :attr:`PTPIPInitiator.events_dropped`).

Every wait has a timeout (:class:`Timeout`); EOF or reset becomes
:class:`CameraDisconnected`; a transaction that times out or is cancelled is aborted
with a PTP/IP Cancel so the channel stays usable (late packets are dropped).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

from ptpd.protocol import events as ev
from ptpd.protocol.codes import OperationCode, ResponseCode
from ptpd.protocol.connection import Channel, InitiatorConnection, State
from ptpd.protocol.errors import (
    CameraDisconnected,
    InitFailed,
    ProtocolError,
    PTPError,
    ResponseError,
    Timeout,
)

log = logging.getLogger(__name__)

#: IANA port of PTP/IP (ptpip.md §1).
PTPIP_PORT = 15740
#: Our GUID unless told otherwise: stable across runs, so a camera that paired with
#: ptpd once recognises it again (cameras pair by GUID, ptpip.md §2).
DEFAULT_GUID = uuid.uuid5(uuid.NAMESPACE_DNS, "initiator.ptpd").bytes
#: Events kept per subscriber before the oldest are dropped.
DEFAULT_EVENT_QUEUE = 256

Progress = Callable[[int, int], None]


def guid_bytes(guid: bytes | bytearray | str | uuid.UUID | None) -> bytes:
    """A 16-byte GUID from bytes, a UUID, or text (``"1b4e28ba-2fa1-..."``, its
    ``urn:uuid:`` form, 32 hex digits, or gphoto2's ``"xx:xx:...:xx"``); ``None`` gives
    :data:`DEFAULT_GUID`. Both dialects read configured GUIDs with it."""
    if guid is None:
        return DEFAULT_GUID
    if isinstance(guid, uuid.UUID):
        return guid.bytes
    if isinstance(guid, (bytes, bytearray)):
        if len(guid) != 16:
            raise ValueError(f"a PTP/IP GUID is 16 bytes, got {len(guid)}")
        return bytes(guid)
    text = str(guid).strip()
    try:
        return uuid.UUID(text.lower()).bytes  # hyphens or not, braces, the urn:uuid: form
    except ValueError:
        pass
    try:
        raw = bytes.fromhex(text.replace(":", ""))  # gphoto2's form
    except ValueError:
        raw = b""
    if len(raw) != 16:
        raise ValueError(f"cannot read {guid!r} as a 16-byte GUID")
    return raw


class _Channel(asyncio.BufferedProtocol):
    """One TCP connection driving one :class:`InitiatorConnection`."""

    def __init__(self, owner: PTPIPInitiator, kind: Channel, conn: InitiatorConnection) -> None:
        self.owner = owner
        self.kind = kind
        self.conn = conn
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.lost: BaseException | None = None

    # asyncio callbacks --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.conn.get_buffer(sizehint)

    def buffer_updated(self, nbytes: int) -> None:
        self._process(self.conn.buffer_updated, nbytes)

    def data_received(self, data: bytes) -> None:
        """Bytes from elsewhere than the socket (the same handling as a read)."""
        self._process(self.conn.receive_data, data)

    def _process(self, feed: Callable[[Any], None], arg: Any) -> None:
        conn = self.conn
        try:
            feed(arg)
            while (event := conn.next_event()) is not ev.NEED_DATA:
                self.owner._dispatch(self, event)
            out = conn.data_to_send()
            if out and self.transport is not None:
                self.transport.write(out)
            if conn.state is State.DATA_IN:
                self.owner._data_progress(self)
        except ProtocolError as exc:
            log.warning("%s channel: camera broke the protocol: %s", self.kind.name.lower(), exc)
            self.owner._channel_failed(self, exc)
            if self.transport is not None:
                self.transport.abort()

    def eof_received(self) -> bool | None:
        self._eof(None)
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof(exc)
        if not self.closed.done():
            self.closed.set_result(None)

    def _eof(self, exc: BaseException | None) -> None:
        if self.lost is not None:
            return
        self.lost = exc or CameraDisconnected("camera closed the connection")
        self.owner._channel_failed(self, CameraDisconnected(f"{self.kind.name.lower()} connection lost: {self.lost}"))

    # helpers --------------------------------------------------------------------------

    def write(self, parts: list[Any]) -> None:
        if self.transport is None or self.transport.is_closing() or self.lost is not None:
            raise CameraDisconnected(f"{self.kind.name.lower()} connection is closed")
        if len(parts) == 1:
            self.transport.write(parts[0])
        elif parts:
            self.transport.writelines(parts)


class EventSubscription:
    """A bounded queue of camera :class:`~ptpd.protocol.events.Event` s; an async iterator.

    Made by :meth:`PTPIPInitiator.subscribe`. Keeps the newest ``maxsize`` events when its
    consumer falls behind. Iteration ends when the initiator is closed, and raises
    :class:`CameraDisconnected` when the link is lost. Use as a context manager (or call
    :meth:`close`) so the initiator stops feeding it.
    """

    def __init__(self, owner: PTPIPInitiator, maxsize: int) -> None:
        self._owner = owner
        self._items: deque[ev.Event] = deque(maxlen=maxsize)
        self._waiter: asyncio.Future[None] | None = None
        self._end: BaseException | None = None
        self.dropped = 0  #: events lost because this consumer fell behind

    def _push(self, event: ev.Event) -> None:
        if len(self._items) == self._items.maxlen:
            self.dropped += 1
            self._owner.events_dropped += 1
        self._items.append(event)
        self._wake()

    def _finish(self, exc: BaseException) -> None:
        if self._end is None:
            self._end = exc
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self, timeout: float | None = None) -> ev.Event:
        """The next event; :class:`Timeout` after ``timeout`` seconds (None: wait forever)."""
        while not self._items:
            if self._end is not None:
                raise self._end
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                if timeout is None:
                    await self._waiter
                else:
                    async with asyncio.timeout(timeout):
                        await self._waiter
            except TimeoutError:
                raise Timeout(f"no camera event within {timeout}s") from None
            finally:
                self._waiter = None
        return self._items.popleft()

    def drain(self) -> list[ev.Event]:
        """Every event already queued, without waiting."""
        items = list(self._items)
        self._items.clear()
        return items

    def close(self) -> None:
        """Stop receiving events."""
        self._owner._subscribers.discard(self)
        self._finish(StopAsyncIteration())

    def __aiter__(self) -> EventSubscription:
        return self

    async def __anext__(self) -> ev.Event:
        try:
            return await self.get()
        except StopAsyncIteration:
            raise
        except CameraDisconnected:
            self.close()
            raise

    def __enter__(self) -> EventSubscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> EventSubscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class PTPIPInitiator:
    """A PTP/IP host connection to one camera (command + event channel).

    >>> cam = PTPIPInitiator("192.168.0.1")            # doctest: +SKIP
    >>> await cam.connect(); await cam.open_session()  # doctest: +SKIP
    >>> resp, info = await cam.transact(0x1001)        # doctest: +SKIP
    """

    def __init__(
        self,
        host: str,
        port: int = PTPIP_PORT,
        event_port: int | None = None,
        guid: bytes | str | uuid.UUID | None = DEFAULT_GUID,
        name: str = "ptpd",
        timeout: float = 10.0,
        *,
        event_queue: int = DEFAULT_EVENT_QUEUE,
        chunk_size: int | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.event_port = port if event_port is None else event_port
        self.guid = guid_bytes(guid)
        self.name = name
        self.timeout = timeout
        self._event_queue = event_queue
        self._chunk_kwargs = {} if chunk_size is None else {"chunk_size": chunk_size}
        self._cmd: _Channel | None = None
        self._evt: _Channel | None = None
        self._lock = asyncio.Lock()
        self._init_waiter: asyncio.Future[ev.ConnectionEvent] | None = None
        self._response: asyncio.Future[tuple[ev.OperationResponse, bytes]] | None = None
        self._data_in: bytes = b""
        self._progress: Progress | None = None
        self._deadline: asyncio.Timeout | None = None
        self._limit = timeout
        self._probe: asyncio.Future[None] | None = None
        self._subscribers: set[EventSubscription] = set()
        self._closing = False
        self._failure: BaseException | None = None
        #: The camera's Init Command Ack (name, GUID, connection number), once connected.
        self.camera: ev.InitCommandAck | None = None
        #: Events dropped over all subscribers because a consumer fell behind.
        self.events_dropped = 0

    # -- state -----------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while both channels are up."""
        return (
            self._cmd is not None
            and self._evt is not None
            and self._cmd.lost is None
            and self._evt.lost is None
            and self._failure is None
        )

    @property
    def session_open(self) -> bool:
        """True between a successful :meth:`open_session` and :meth:`close_session`."""
        return self._cmd is not None and self._cmd.conn.session_open

    # -- connect -----------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open both connections and run the init handshake.

        Raises :class:`InitFailed` if the camera refuses, :class:`Timeout`, or
        :class:`CameraDisconnected` if it cannot be reached.
        """
        if self._cmd is not None:
            raise RuntimeError("already connected; close() first")
        self._closing = False
        self._failure = None
        try:
            self._cmd = await self._open(Channel.COMMAND, self.port)
            ack = await self._handshake(self._cmd, ev.InitCommandRequest(self.guid, self.name))
            assert isinstance(ack, ev.InitCommandAck)
            self.camera = ack
            # Some cameras (Ricoh Theta) open the event port a moment after the Ack.
            for attempt in range(3):
                try:
                    self._evt = await self._open(Channel.EVENT, self.event_port)
                    break
                except CameraDisconnected:
                    if attempt == 2:
                        raise
                    await asyncio.sleep(0.1)
            assert self._evt is not None
            await self._handshake(self._evt, ev.InitEventRequest(ack.connection_number))
        except BaseException:
            await self._teardown()
            raise
        log.info(
            "connected to %r at %s:%d (event port %d), connection %d",
            self.camera.name, self.host, self.port, self.event_port, self.camera.connection_number,
        )

    async def _open(self, kind: Channel, port: int) -> _Channel:
        loop = asyncio.get_running_loop()
        conn = InitiatorConnection(**self._chunk_kwargs)
        try:
            async with asyncio.timeout(self.timeout):
                _, proto = await loop.create_connection(lambda: _Channel(self, kind, conn), self.host, port)
        except TimeoutError:
            raise Timeout(f"connecting to {self.host}:{port} took longer than {self.timeout}s") from None
        except OSError as exc:
            raise CameraDisconnected(f"cannot connect to {self.host}:{port}: {exc}") from exc
        return proto

    async def _handshake(self, chan: _Channel, request: ev.ConnectionEvent) -> ev.ConnectionEvent:
        self._init_waiter = asyncio.get_running_loop().create_future()
        try:
            chan.write(chan.conn.send_parts(request))
            answer = await self._wait(self._init_waiter, self.timeout, f"{chan.kind.name.lower()} init")
        finally:
            self._init_waiter = None
        if isinstance(answer, ev.InitFail):
            raise InitFailed(answer.reason)
        return answer

    async def _wait(self, fut: asyncio.Future[Any], timeout: float | None, what: str) -> Any:
        try:
            if timeout is None:
                return await fut
            async with asyncio.timeout(timeout):
                return await fut
        except TimeoutError:
            raise Timeout(f"camera did not answer {what} within {timeout}s") from None

    # -- sessions and transactions --------------------------------------------------------------

    async def open_session(self, session_id: int = 1) -> ev.OperationResponse:
        """OpenSession (TID 0). SessionAlreadyOpen counts as success; other codes raise."""
        resp, _ = await self.transact(OperationCode.OpenSession, (session_id,))
        if resp.code not in (ResponseCode.OK, ResponseCode.SessionAlreadyOpen):
            raise ResponseError(resp.code, params=resp.params)
        return resp

    async def close_session(self) -> ev.OperationResponse:
        """CloseSession; raises :class:`ResponseError` unless OK."""
        resp, _ = await self.transact(OperationCode.CloseSession)
        if resp.code != ResponseCode.OK:
            raise ResponseError(resp.code, params=resp.params)
        return resp

    async def transact(
        self,
        op: int,
        params: tuple[int, ...] | list[int] = (),
        data_out: bytes | bytearray | memoryview | None = None,
        timeout: float | None = None,
        progress: Progress | None = None,
    ) -> tuple[ev.OperationResponse, bytes]:
        """Run one operation; return its response (whatever the code) and its data-in bytes.

        The data is ``bytes``, or a ``bytearray`` for a big data phase (it was received in
        place; see :data:`ptpd.protocol.connection.FILL_THRESHOLD`).

        ``data_out`` makes it a data-out operation. ``timeout`` (default: the initiator's)
        is the longest the camera may stay silent: the clock restarts whenever data-in
        arrives, so a long download over a slow link is fine while it flows.
        ``progress(received, total)`` is called as data-in arrives. Transactions are
        serialised: concurrent callers wait their turn. On :class:`Timeout` (or task
        cancellation) the transaction is aborted with a PTP/IP Cancel.
        """
        limit = self.timeout if timeout is None else timeout
        async with self._lock:
            chan = self._command_channel()
            conn = chan.conn
            request = conn.request(op, params, data_out=data_out is not None)
            loop = asyncio.get_running_loop()
            self._response = loop.create_future()
            self._data_in = b""
            self._progress = progress
            self._limit = limit
            try:
                parts = conn.send_parts(request)
                if data_out is not None:
                    parts += conn.send_parts(ev.DataOut(request.transaction_id, data_out))
                chan.write(parts)
                try:
                    async with asyncio.timeout(limit) as self._deadline:
                        return await self._response
                except TimeoutError:
                    raise Timeout(f"camera silent for {limit}s during operation 0x{int(op):04X}") from None
            except (Timeout, asyncio.CancelledError):
                self._abort(chan, request.transaction_id)
                raise
            finally:
                self._response = None
                self._deadline = None
                self._data_in = b""
                self._progress = None

    async def call(
        self,
        op: int,
        params: tuple[int, ...] | list[int] = (),
        data_out: bytes | bytearray | memoryview | None = None,
        timeout: float | None = None,
        progress: Progress | None = None,
    ) -> tuple[ev.OperationResponse, bytes]:
        """Like :meth:`transact`, but raise :class:`ResponseError` unless the response is OK."""
        resp, data = await self.transact(op, params, data_out, timeout, progress)
        if resp.code != ResponseCode.OK:
            raise ResponseError(resp.code, params=resp.params)
        return resp, data

    def _command_channel(self) -> _Channel:
        if self._failure is not None:
            raise CameraDisconnected(str(self._failure)) from self._failure
        if self._cmd is None or self._cmd.lost is not None or self._closing:
            raise CameraDisconnected("not connected")
        return self._cmd

    def _abort(self, chan: _Channel, tid: int) -> None:
        """Cancel a transaction we gave up on so the channel can carry the next one."""
        if chan.conn.transaction_id != tid or chan.lost is not None:
            return
        try:
            chan.write(chan.conn.send_parts(ev.Cancel(tid)))
            log.info("cancelled transaction %d", tid)
        except PTPError:
            pass

    async def probe(self, timeout: float | None = None) -> None:
        """Probe Request on the event channel; returns when the camera answers."""
        chan = self._evt
        if chan is None or chan.lost is not None:
            raise CameraDisconnected("not connected")
        if self._probe is None or self._probe.done():
            self._probe = asyncio.get_running_loop().create_future()
            chan.write(chan.conn.send_parts(ev.ProbeRequest()))
        await self._wait(asyncio.shield(self._probe), self.timeout if timeout is None else timeout, "a probe")

    # -- events --------------------------------------------------------------------------------

    def subscribe(self, maxsize: int | None = None) -> EventSubscription:
        """A new, independent stream of camera events from now on (see :class:`EventSubscription`)."""
        sub = EventSubscription(self, maxsize or self._event_queue)
        if self._failure is not None:
            sub._finish(CameraDisconnected(str(self._failure)))
        else:
            self._subscribers.add(sub)
        return sub

    async def events(self) -> AsyncIterator[ev.Event]:
        """Camera events as they arrive, until :meth:`close` (or :class:`CameraDisconnected`)."""
        sub = self.subscribe()
        try:
            async for event in sub:
                yield event
        finally:
            sub.close()

    # -- dispatch from the protocols ---------------------------------------------------------------

    def _dispatch(self, chan: _Channel, event: ev.ConnectionEvent) -> None:
        if isinstance(event, ev.Event):
            for sub in list(self._subscribers):
                sub._push(event)
        elif isinstance(event, ev.DataIn):
            self._data_in = event.payload
        elif isinstance(event, ev.OperationResponse):
            fut = self._response
            if fut is not None and not fut.done():
                fut.set_result((event, self._data_in))
            self._data_in = b""
        elif isinstance(event, (ev.InitCommandAck, ev.InitEventAck, ev.InitFail)):
            if self._init_waiter is not None and not self._init_waiter.done():
                self._init_waiter.set_result(event)
        elif isinstance(event, ev.ProbeResponse):
            if self._probe is not None and not self._probe.done():
                self._probe.set_result(None)
        elif isinstance(event, ev.Cancel):
            log.info("camera cancelled transaction %d", event.transaction_id)
            fut = self._response
            if chan is self._cmd and fut is not None and not fut.done() and chan.conn.transaction_id is None:
                fut.set_exception(ResponseError(ResponseCode.TransactionCancelled))
        elif isinstance(event, ev.ProbeRequest):
            pass  # the connection queued the Probe Response; data_received writes it
        elif isinstance(event, ev.ConnectionClosed):
            chan._eof(None)

    def _data_progress(self, chan: _Channel) -> None:
        if chan is not self._cmd:
            return
        if self._deadline is not None and self.timeout is not None:
            # data is flowing: the camera is not silent, restart the transaction clock
            when = self._deadline.when()
            if when is not None:
                loop = asyncio.get_running_loop()
                self._deadline.reschedule(max(when, loop.time() + self._limit))
        if self._progress is not None:
            progress = chan.conn.data_progress
            if progress is not None:
                try:
                    self._progress(*progress)
                except Exception:  # a broken callback must not break the link
                    log.exception("progress callback failed")

    def _channel_failed(self, chan: _Channel, exc: BaseException) -> None:
        if self._closing:
            exc = CameraDisconnected("initiator closed")
        if self._failure is None and not self._closing:
            self._failure = exc
            log.info("link to camera failed: %s", exc)
        err = exc if isinstance(exc, PTPError) else CameraDisconnected(str(exc))
        if isinstance(err, ProtocolError):
            err = CameraDisconnected(f"camera broke the protocol: {err}")
        for fut in (self._init_waiter, self._response, self._probe):
            if fut is not None and not fut.done():
                fut.set_exception(err)
        end: BaseException = StopAsyncIteration() if self._closing else CameraDisconnected(str(err))
        for sub in list(self._subscribers):
            sub._finish(end)
        self._subscribers.clear()
        # one channel gone means the session is gone: drop the other one too
        for other in (self._cmd, self._evt):
            if other is not None and other is not chan and other.transport is not None:
                other.transport.close()

    # -- close -------------------------------------------------------------------------------------

    async def close(self, close_session: bool = True) -> None:
        """Close the session (if open and reachable, briefly) and both sockets. Idempotent."""
        if self._cmd is None and self._evt is None:
            return
        if close_session and self.connected and self.session_open:
            try:
                await self.transact(OperationCode.CloseSession, timeout=min(self.timeout, 2.0))
            except (PTPError, OSError):
                pass
        await self._teardown()

    async def _teardown(self) -> None:
        self._closing = True
        chans = [c for c in (self._cmd, self._evt) if c is not None]
        for c in chans:
            if c.transport is not None:
                c.transport.close()
        for sub in list(self._subscribers):
            sub._finish(StopAsyncIteration())
        self._subscribers.clear()
        for c in chans:
            if c.transport is not None:
                try:
                    async with asyncio.timeout(2.0):
                        await asyncio.shield(c.closed)
                except TimeoutError:
                    c.transport.abort()
        self._cmd = None
        self._evt = None

    async def __aenter__(self) -> PTPIPInitiator:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


__all__ = ["DEFAULT_GUID", "PTPIP_PORT", "EventSubscription", "PTPIPInitiator", "guid_bytes"]
