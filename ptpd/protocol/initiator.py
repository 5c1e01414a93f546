"""The asyncio PTP/IP initiator: sockets around the sans-I/O channels of :mod:`.connection`.

It opens the command and the event connection (ptpip.md §3), runs the init handshake,
and offers transactions and an event stream. Each socket is a
:class:`~ptpd.protocol.adapter.ConnectionProtocol` (the asyncio side both dialects
share): it reads into the buffer the channel state machine hands out, so the payload of
a big data phase goes from the socket straight to its place in the one ``bytearray``
that :meth:`PTPIPInitiator.transact` returns (no joins). Its events are dispatched at
once:

* command channel: Init Ack/Fail resolve the connect future; DataIn + OperationResponse
  resolve the transaction future; Probe Requests are answered by the state machine.
* event channel: Events fan out to every subscriber's
  :class:`~ptpd.protocol.queues.DropOldestQueue` (oldest dropped when a consumer falls
  behind, counted in :attr:`PTPIPInitiator.events_dropped`).

The deadlines of the handshake, the transactions and probes are the channels' own
(:mod:`ptpd.protocol.sansio` rule 3): the camera must make progress within the timeout,
and a data phase must keep its bytes coming. The protocol's one loop timer drives them;
a transaction that runs out of time was cancelled by its channel (PTP/IP Cancel) and
raises :class:`Timeout`, and the channel stays usable (late packets are dropped). A task
cancelled while it waits for a transaction cancels it the same way. EOF or reset
becomes :class:`CameraDisconnected`. Either error carries in ``partial`` the data-in
bytes of the transaction that arrived before it (the channel's
:meth:`~ptpd.protocol.channel.ChannelConnection.received_so_far`), so a download the
link cut short loses nothing already received.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from ptpd.protocol import events as ev
from ptpd.protocol.adapter import ConnectionProtocol, WriteHold
from ptpd.protocol.budgets import data_in_limit
from ptpd.protocol.codes import OperationCode, ResponseCode
from ptpd.protocol.connection import Channel, InitiatorConnection, State
from ptpd.protocol.errors import (
    CameraDisconnected,
    DataOverrun,
    InitFailed,
    ProtocolError,
    PTPError,
    ResponseError,
    StreamCut,
    Timeout,
)
from ptpd.protocol.queues import DropOldestQueue

log = logging.getLogger(__name__)

#: IANA port of PTP/IP (ptpip.md §1).
PTPIP_PORT = 15740
#: Our GUID unless told otherwise: stable across runs, so a camera that paired with
#: ptpd once recognises it again (cameras pair by GUID, ptpip.md §2).
DEFAULT_GUID = uuid.uuid5(uuid.NAMESPACE_DNS, "initiator.ptpd").bytes
#: Events kept per subscriber before the oldest are dropped.
DEFAULT_EVENT_QUEUE = 256

Progress = Callable[[int, int], None]
#: States of the command channel in which a transaction may still receive data.
_MAY_RECEIVE = frozenset({State.REQUESTED, State.DATA_IN})


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


class _Channel(ConnectionProtocol):
    """One TCP connection driving one :class:`InitiatorConnection`."""

    conn: InitiatorConnection

    def __init__(self, owner: PTPIPInitiator, kind: Channel, conn: InitiatorConnection) -> None:
        super().__init__(conn, kind.name.lower())
        self.owner = owner
        self.kind = kind

    def event_received(self, event: ev.ConnectionEvent) -> None:
        self.owner._dispatch(self, event)

    def received(self) -> None:
        if self.conn.state is State.DATA_IN:
            self.owner._data_progress(self)

    def timed_out(self, exc: Timeout) -> None:
        self.owner._timed_out(self, exc)

    def protocol_failed(self, exc: ProtocolError) -> None:
        if not isinstance(exc, StreamCut):  # a stream cut short is a lost link, said below
            log.warning("%s channel: camera broke the protocol: %s", self.name, exc)
        self.owner._channel_failed(self, exc)

    def connection_ended(self, exc: BaseException) -> None:
        self.owner._channel_failed(self, CameraDisconnected(f"{self.name} connection lost: {exc}"))


#: A bounded, drop-oldest queue of camera :class:`~ptpd.protocol.events.Event` s; an async
#: iterator (see :class:`~ptpd.protocol.queues.DropOldestQueue`). Made by
#: :meth:`PTPIPInitiator.subscribe`; iteration ends when the initiator is closed, and
#: raises :class:`CameraDisconnected` when the link is lost. Use it as a context manager
#: (or call ``close()``) so the initiator stops feeding it.
EventSubscription = DropOldestQueue[ev.Event]


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

    @property
    def request_sent(self) -> float | None:
        """``time.monotonic()`` when the last operation request went to the camera's
        command socket (``None`` before one): read right after a :meth:`transact`, when
        that transaction's request went on the wire."""
        return self._cmd.sent_at if self._cmd is not None else None

    # -- connect -----------------------------------------------------------------------------

    async def connect(
        self,
        init_timeout: float | None = None,
        on_slow_init: Callable[[], None] | None = None,
        slow_after: float = 2.0,
    ) -> None:
        """Open both connections and run the init handshake.

        ``init_timeout`` (default: the initiator's timeout) is how long the camera may
        hold back its Init Command Ack: a camera that asks its user to accept a new
        initiator answers only when the user does. ``on_slow_init`` is called once when
        the Ack has not come ``slow_after`` seconds after the request (so the user can be
        told to look at the camera).

        Raises :class:`InitFailed` if the camera refuses, :class:`Timeout`, or
        :class:`CameraDisconnected` if it cannot be reached.
        """
        if self._cmd is not None:
            raise RuntimeError("already connected; close() first")
        self._closing = False
        self._failure = None
        try:
            self._cmd = await self._open(Channel.COMMAND, self.port)
            ack = await self._handshake(
                self._cmd, ev.InitCommandRequest(self.guid, self.name), init_timeout, on_slow_init, slow_after
            )
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
            self.camera.name,
            self.host,
            self.port,
            self.event_port,
            self.camera.connection_number,
        )

    async def _open(self, kind: Channel, port: int) -> _Channel:
        loop = asyncio.get_running_loop()
        conn = InitiatorConnection(timeout=self.timeout, **self._chunk_kwargs)
        try:
            async with asyncio.timeout(self.timeout):
                _, proto = await loop.create_connection(lambda: _Channel(self, kind, conn), self.host, port)
        except TimeoutError:
            raise Timeout(f"connecting to {self.host}:{port} took longer than {self.timeout}s") from None
        except OSError as exc:
            raise CameraDisconnected(f"cannot connect to {self.host}:{port}: {exc}") from exc
        return proto

    async def _handshake(
        self,
        chan: _Channel,
        request: ev.ConnectionEvent,
        timeout: float | None = None,
        on_slow: Callable[[], None] | None = None,
        slow_after: float = 2.0,
    ) -> ev.ConnectionEvent:
        loop = asyncio.get_running_loop()
        self._init_waiter = loop.create_future()
        notice = loop.call_later(slow_after, on_slow) if on_slow is not None else None
        try:
            chan.send(request, timeout=self.timeout if timeout is None else timeout)
            try:
                answer = await self._init_waiter
            except Timeout as exc:
                raise Timeout(f"camera did not answer the {chan.name} init: {exc}") from None
        finally:
            if notice is not None:
                notice.cancel()
            self._init_waiter = None
        if isinstance(answer, ev.InitFail):
            raise InitFailed(answer.reason)
        return answer

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
        hold: WriteHold | None = None,
        max_data: int | None = None,
    ) -> tuple[ev.OperationResponse, bytes]:
        """Run one operation; return its response (whatever the code) and its data-in bytes.

        The data is ``bytes``, or a ``bytearray`` for a big data phase (it was received in
        place; see :data:`ptpd.protocol.connection.FILL_THRESHOLD`).

        ``data_out`` makes it a data-out operation. ``timeout`` (default: the initiator's)
        is the longest the camera may go without progress: the clock restarts when the
        transaction moves on (data starts, ends) and whenever at least
        :data:`~ptpd.protocol.sansio.DEFAULT_MIN_PROGRESS` bytes of data-in came since, so
        a long download over a slow link is fine while it flows, and a camera trickling a
        few bytes a second times out. ``progress(received, total)`` is called as data-in
        arrives. Transactions are serialised: concurrent callers wait their turn. On
        :class:`Timeout` (or task cancellation) the transaction is aborted with a PTP/IP
        Cancel. Either error (and :class:`CameraDisconnected`) carries in ``partial`` the
        data-in bytes that had arrived. ``hold`` keeps the request's bytes, once made, until
        its moment (see :class:`~ptpd.protocol.adapter.WriteHold`); :attr:`request_sent`
        says when they went.

        ``max_data``: the most bytes the data-in phase may bring (for an object, the size
        the camera declared for it); by default the budget of a standard dataset
        operation (:mod:`ptpd.protocol.budgets`), else the connection's cap. A phase that
        announces or brings more is cancelled there and then: :class:`DataOverrun`.
        """
        limit = self.timeout if timeout is None else timeout
        cap = data_in_limit(op) if max_data is None else max_data
        async with self._lock:
            chan = self._command_channel()
            conn = chan.conn
            request = conn.request(op, params, data_out=data_out is not None)
            loop = asyncio.get_running_loop()
            self._response = loop.create_future()
            self._data_in = b""
            self._progress = progress
            try:
                events = (request,) if data_out is None else (request, ev.DataOut(request.transaction_id, data_out))
                chan.send(*events, timeout=limit, hold=hold)
                if cap is not None:
                    conn.expect_data(cap)
                try:
                    return await self._response
                except Timeout as exc:
                    err = Timeout(f"operation 0x{int(op):04X}: {exc}")
                    err.partial = self._arrived(conn, request.transaction_id)
                    raise err from None
                except CameraDisconnected as exc:
                    exc.partial = self._arrived(conn, request.transaction_id)
                    raise
            except (Timeout, asyncio.CancelledError):
                self._abort(chan, request.transaction_id)
                raise
            finally:
                self._response = None
                self._data_in = b""
                self._progress = None
                if self._failure is not None and chan.transport is not None:
                    chan.transport.close()  # the session went while this ran (see _channel_failed)

    async def call(
        self,
        op: int,
        params: tuple[int, ...] | list[int] = (),
        data_out: bytes | bytearray | memoryview | None = None,
        timeout: float | None = None,
        progress: Progress | None = None,
        max_data: int | None = None,
    ) -> tuple[ev.OperationResponse, bytes]:
        """Like :meth:`transact`, but raise :class:`ResponseError` unless the response is OK."""
        resp, data = await self.transact(op, params, data_out, timeout, progress, max_data=max_data)
        if resp.code != ResponseCode.OK:
            raise ResponseError(resp.code, params=resp.params)
        return resp, data

    def _arrived(self, conn: InitiatorConnection, tid: int) -> bytes | bytearray | memoryview:
        """The data-in bytes of transaction ``tid`` that arrived before it was cut short:
        the whole phase if it ended (only the response is missing), else what the channel
        holds of it. Nothing after the camera garbled the stream."""
        if not conn.intact:
            return b""
        return self._data_in or conn.received_so_far(tid)

    def _command_channel(self) -> _Channel:
        if self._failure is not None:
            raise CameraDisconnected(str(self._failure)) from self._failure
        if self._cmd is None or self._cmd.lost is not None or self._closing:
            raise CameraDisconnected("not connected")
        return self._cmd

    def _abort(self, chan: _Channel, tid: int) -> None:
        """Cancel a transaction we gave up on so the channel can carry the next one (a
        transaction that timed out was cancelled by the channel already)."""
        if chan.conn.transaction_id != tid or chan.lost is not None:
            return
        try:
            chan.send(ev.Cancel(tid))
            log.info("cancelled transaction %d", tid)
        except PTPError:
            pass

    async def probe(self, timeout: float | None = None) -> None:
        """Probe Request on the event channel; returns when the camera answers, raises
        :class:`Timeout` if it does not within ``timeout`` (a probe already out keeps
        its own deadline)."""
        chan = self._evt
        if chan is None or chan.lost is not None:
            raise CameraDisconnected("not connected")
        if self._probe is None or self._probe.done():
            self._probe = asyncio.get_running_loop().create_future()
            chan.send(ev.ProbeRequest(), timeout=self.timeout if timeout is None else timeout)
        await asyncio.shield(self._probe)

    # -- events --------------------------------------------------------------------------------

    def subscribe(self, maxsize: int | None = None) -> EventSubscription:
        """A new, independent stream of camera events from now on (see :data:`EventSubscription`)."""
        sub = EventSubscription(
            maxsize or self._event_queue,
            on_close=self._subscribers.discard,
            on_drop=self._count_drop,
            what="camera event",
        )
        if self._failure is not None:
            sub.finish(CameraDisconnected(str(self._failure)))
        else:
            self._subscribers.add(sub)
        return sub

    def _count_drop(self) -> None:
        self.events_dropped += 1

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
                sub.put(event)
        elif isinstance(event, ev.DataIn):
            self._data_in = event.payload
        elif isinstance(event, ev.DataTooLarge):
            # the channel cancelled the transaction and drops the rest of the phase
            log.warning(
                "camera sent more than the %d bytes transaction %d allows (%d): cancelled",
                event.limit,
                event.transaction_id,
                event.size,
            )
            fut = self._response
            if chan is self._cmd and fut is not None and not fut.done():
                fut.set_exception(
                    DataOverrun(
                        f"camera sent more data than the {event.limit} bytes allowed ({event.size} announced or "
                        "received); transfer aborted",
                        event.size,
                        event.limit,
                    )
                )
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
            pass  # the protocol reports the end (connection_ended)

    def _timed_out(self, chan: _Channel, exc: Timeout) -> None:
        """A channel's deadline passed: a transaction (cancelled by the channel) or a probe
        fails with ``exc``; a handshake that ran out leaves a broken channel."""
        if chan.conn.state is State.ERROR:
            self._channel_failed(chan, exc)
            if chan.transport is not None:
                chan.transport.abort()
            return
        fut: asyncio.Future[Any] | None = self._response if chan is self._cmd else None
        if fut is None or fut.done():
            fut = self._probe
        if fut is not None and not fut.done():
            fut.set_exception(exc)

    def _data_progress(self, chan: _Channel) -> None:
        if chan is not self._cmd:
            return
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
        if isinstance(err, StreamCut):
            err = CameraDisconnected(f"link lost: {err}")
        elif isinstance(err, ProtocolError):
            err = CameraDisconnected(f"camera broke the protocol: {err}")
        # A camera that goes away closes both channels; the command channel may still have
        # data of a download on its way (in the kernel's buffer, in flight) when the event
        # channel's end is seen. It then ends on its own (its EOF, a reset, its deadline,
        # or the phase's end), so that what arrives is kept; transact() closes it after.
        receiving = self._receiving() if chan is self._evt else None
        for fut in (self._init_waiter, self._response, self._probe):
            if fut is not None and not fut.done() and not (receiving is not None and fut is self._response):
                fut.set_exception(err)
        end: BaseException = StopAsyncIteration() if self._closing else CameraDisconnected(str(err))
        for sub in list(self._subscribers):
            sub.finish(end)
        self._subscribers.clear()
        # one channel gone means the session is gone: drop the other one too
        for other in (self._cmd, self._evt):
            if other is not None and other is not chan and other is not receiving and other.transport is not None:
                other.transport.close()

    def _receiving(self) -> _Channel | None:
        """The command channel, while it is up (not closing) and a transaction on it may
        still receive data (requested, or in its data phase)."""
        cmd = self._cmd
        if self._closing or cmd is None or cmd.lost is not None or cmd.conn.state not in _MAY_RECEIVE:
            return None
        return cmd

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
            sub.finish(StopAsyncIteration())
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
