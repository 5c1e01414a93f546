"""The asyncio link to a Fujifilm camera: three TCP channels driven by the sans-I/O codec.

This is the only module under ``ptpd/fuji/`` that touches sockets. It

* connects the command channel (55740) once — a closed port is an answer, given in
  milliseconds —, runs Fuji's handshake (82-byte InitCommandRequest, GUID, friendly name;
  one retry on the same socket after 500 ms, as Fuji's X Acquire and libgphoto2 do) and
  turns InitFail into clear errors;
* brings the session up by asking the body what it offers (:mod:`ptpd.fuji.bringup`):
  OpenSession(1); the 0xD212 state list (camera state 0 = the camera asks its user, so
  it polls and tells ``on_pairing`` "press OK on the camera"); the remote version 0xDF24
  (none: a body without remote shooting); the client mode 0xDF01 — answered only once
  the user accepted this client on a body that asks, so that wait is ``pairing_timeout``
  —; the version echo; and on remote bodies InitiateOpenCapture(0x101C) and the event
  channel (55741). What a body does not offer is recorded in :attr:`FujiLink.offer`, never
  retried;
* runs transactions one at a time (:meth:`FujiLink.transact`), every wait bounded by the
  command channel's own deadlines (:mod:`ptpd.protocol.sansio` rule 3: the camera must
  make progress within ``timeout``; a data container must keep its bytes coming), driven
  by the one loop timer of the shared :class:`~ptpd.protocol.adapter.ConnectionProtocol`.
  Requests carry exactly their parameters. A response for another transaction id is
  reported as such (a refusal stays the camera's refusal); only a broken byte stream, a
  lost socket or a deadline closes the link;
* reads events continuously and fans them out to subscribers through the shared
  :class:`~ptpd.protocol.queues.DropOldestQueue` (oldest dropped when full), so
  unsolicited events never pile up;
* streams live view (55742) on demand: connecting starts it, closing stops it; frames
  are read straight into their own buffers (``asyncio.BufferedProtocol``) and handed up
  with counter and arrival time.

Waits of a consumer (the next event, the next live-view frame) are bounded where they
wait, on the queue; nothing is owed on those streams, so they have no protocol deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, TypeVar

from ptpd.fuji.bringup import USER_POLL_INTERVAL, BodyOffer, camera_state_of, client_mode, state_entries, u32_or_none
from ptpd.fuji.codes import COMMAND_PORT, FUJI_PROTOCOL_VERSION, CameraState, FujiPropCode, InitFailReason
from ptpd.fuji.connection import FujiEventChannel, FujiInitiatorConnection
from ptpd.fuji.errors import PairingRefused, init_failed
from ptpd.fuji.events import (
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
from ptpd.fuji.liveview import FrameCall, FrameQueue, FrameSink, LiveFrame, LiveViewProtocol
from ptpd.fuji.packets import DEFAULT_MAX_CONTAINER, DEFAULT_MAX_LIVEVIEW_FRAME, LiveViewSplitter
from ptpd.fuji.state import StateEntry
from ptpd.protocol.adapter import ConnectionProtocol, WriteHold, self_connected, tune_channel
from ptpd.protocol.codes import OperationCode, ResponseCode
from ptpd.protocol.errors import CameraDisconnected, LocalProtocolError, ProtocolError, PTPError, ResponseError
from ptpd.protocol.errors import Timeout as PTPTimeout
from ptpd.protocol.initiator import guid_bytes
from ptpd.protocol.queues import DropOldestQueue

log = logging.getLogger(__name__)

#: what _dial connects: the protocol of the connection
_P = TypeVar("_P", bound=asyncio.BaseProtocol)

#: What ``on_pairing`` is told while the camera waits for its user.
PAIRING_PROMPT = "press OK on the camera to accept this client"
#: Seconds before the handshake is sent again after an InitFail (X Acquire and libgphoto2
#: retry once after 500 ms on the same socket: "the first attempt always fails").
INIT_RETRY_DELAY = 0.5
#: How long a refused data-out transaction waits for the camera to answer its data
#: container on its own (an emulator of real bodies does): that stray answer must not be
#: taken for the next transaction's.
STRAY_GRACE = 0.2
#: Tries and pause for the event and live-view ports, which open only after
#: InitiateOpenCapture (libgphoto2 tries twice, 100 ms apart).
LATE_PORT_TRIES = 5
LATE_PORT_PAUSE = 0.1


#: One consumer's events (a slow consumer loses the oldest ones); it ends with
#: :class:`CameraDisconnected` when the event channel or the link closes.
EventQueue = DropOldestQueue[Event]


#: InitFail reasons a second try cannot change: the user or the protocol must.
_FINAL_INIT_FAILS = frozenset({InitFailReason.WrongVersion, InitFailReason.NameNotAccepted})


class _Command(ConnectionProtocol):
    """The command channel: its events settle the link's one pending exchange."""

    conn: FujiInitiatorConnection

    def __init__(self, link: FujiLink, conn: FujiInitiatorConnection) -> None:
        super().__init__(conn, "command")
        self.link = link

    def event_received(self, event: ConnectionEvent) -> None:
        self.link._on_command_event(event)

    def timed_out(self, exc: PTPTimeout) -> None:
        self.link._settle(exc)

    def protocol_failed(self, exc: ProtocolError) -> None:
        self.link._settle(exc)

    def connection_ended(self, exc: BaseException) -> None:
        self.link._settle(
            CameraDisconnected(f"camera closed the command channel while we waited for {self.link._what}")
        )


class _Events(ConnectionProtocol):
    """The event channel: every event goes to the link's subscribers."""

    def __init__(self, link: FujiLink) -> None:
        super().__init__(FujiEventChannel(), "event")
        self.link = link

    def event_received(self, event: ConnectionEvent) -> None:
        if isinstance(event, Event):
            self.link._dispatch(event)

    def protocol_failed(self, exc: ProtocolError) -> None:
        log.warning("event channel of %s failed: %s", self.link.host, exc)

    def connection_ended(self, exc: BaseException) -> None:
        self.link._events_ended()


class FujiLink:
    """One Fuji camera over its three channels. Use :meth:`connect`, then :meth:`transact`.

    ``event_port`` and ``liveview_port`` default to ``port + 1`` and ``port + 2``.
    ``guid`` is 16 bytes (a random UUID when not given; pin one to keep pairing), ``name``
    the friendly name the camera remembers (at most 26 characters). ``timeout`` bounds every
    wait except the pairing prompt, which gets ``pairing_timeout``: within it the camera
    must make progress (answer, or keep a data container's bytes coming).
    ``on_pairing`` is called with :data:`PAIRING_PROMPT` when the camera holds the
    bring-up for its user. ``connect_retries`` and ``retry_interval`` are for the event
    and live-view ports, which open late; the command port is dialled once.
    """

    def __init__(
        self,
        host: str,
        port: int = COMMAND_PORT,
        event_port: int | None = None,
        liveview_port: int | None = None,
        *,
        guid: bytes | str | uuid.UUID | None = None,
        name: str = "ptpd",
        timeout: float = 30.0,
        pairing_timeout: float = 30.0,
        connect_timeout: float = 10.0,
        connect_retries: int = LATE_PORT_TRIES - 1,
        retry_interval: float = LATE_PORT_PAUSE,
        pairing_notice_after: float = 0.5,
        on_pairing: Callable[[str], None] | None = None,
        event_queue_size: int = 256,
        liveview_queue_size: int = 4,
        max_container: int = DEFAULT_MAX_CONTAINER,
        max_liveview_frame: int = DEFAULT_MAX_LIVEVIEW_FRAME,
    ) -> None:
        self.host = host
        self.port = port
        self.event_port = event_port if event_port is not None else port + 1
        self.liveview_port = liveview_port if liveview_port is not None else port + 2
        self.guid = guid_bytes(guid) if guid else uuid.uuid4().bytes
        self.name = name
        self.timeout = timeout
        self.pairing_timeout = pairing_timeout
        self.connect_timeout = connect_timeout
        self.connect_retries = connect_retries
        self.retry_interval = retry_interval
        self.pairing_notice_after = pairing_notice_after
        self.on_pairing = on_pairing
        self.event_queue_size = event_queue_size
        self.liveview_queue_size = liveview_queue_size
        self.max_container = max_container
        self.max_liveview_frame = max_liveview_frame

        self.camera: InitAccepted | None = None  #: the camera's ack (name, GUID, version)
        self.app_version: int | None = None  #: 0xDF24 as read during bring-up
        self.paired_with_prompt = False  #: True if the camera asked its user this time
        self.offer = BodyOffer()  #: what the body said it offers (bring-up)
        #: the 0xD212 entries read during bring-up (the camera layer keeps them)
        self.first_state: tuple[StateEntry, ...] = ()
        self.mismatched_tids = 0  #: responses that carried another transaction id
        self.last_tid = 0  #: the transaction id of the latest request
        self._cmd: _Command | None = None
        self._evt: _Events | None = None
        self._events_over = False
        self._subs: set[EventQueue] = set()
        self._waiter: asyncio.Future[Any] | None = None  #: the exchange under way
        self._stray: asyncio.Future[UnexpectedResponse] | None = None  #: awaited stray answer
        self._what = "nothing"  #: what it waits for (for messages)
        self._data: bytes | None = None  #: its data container, once in
        self._lock = asyncio.Lock()
        self._closed = False
        self._session_open = False
        self._liveview_active = False

    # ----------------------------------------------------------------- state

    @property
    def connected(self) -> bool:
        """True while the command channel is up and the session open."""
        return self._cmd is not None and self._cmd.lost is None and self._session_open and not self._closed

    @property
    def request_sent(self) -> float | None:
        """When the last request went on the wire (as the standard initiator's)."""
        return self._cmd.sent_at if self._cmd is not None else None

    # ----------------------------------------------------------------- bring-up

    async def connect(self) -> None:
        """Handshake, session bring-up (with pairing), event channel. Closes on failure."""
        try:
            await self.handshake()
            await self.bring_up()
        except BaseException:
            await self.close()
            raise

    async def _dial(self, port: int, protocol: Callable[[], _P], *, tries: int = 1) -> _P:
        """TCP connect; ``tries`` > 1 retries a refusal ``retry_interval`` apart (for ports
        the camera opens late). A refusal is an answer: no retry on the command port."""
        loop = asyncio.get_running_loop()
        last: OSError | None = None
        for attempt in range(max(1, tries)):
            if attempt:
                await asyncio.sleep(self.retry_interval)
            try:
                transport, proto = await asyncio.wait_for(
                    loop.create_connection(protocol, self.host, port), self.connect_timeout
                )
            except ConnectionRefusedError as exc:
                last = exc
                continue
            except TimeoutError as exc:
                raise PTPTimeout(f"no answer from {self.host}:{port} within {self.connect_timeout}s") from exc
            except OSError as exc:
                raise CameraDisconnected(f"cannot connect to {self.host}:{port}: {exc}") from exc
            if self_connected(transport):
                # A closed port in the ephemeral range on this host can connect to itself
                # (TCP simultaneous open): that is nobody answering, not a camera.
                transport.abort()
                last = ConnectionRefusedError(f"nothing listens on {self.host}:{port}")
                continue
            tune_channel(transport)
            return proto
        raise CameraDisconnected(
            f"{self.host}:{port} refused the connection: nothing listens there "
            f"(is the camera on, in its Wi-Fi mode, and free of another client?) [{last}]"
        )

    async def handshake(self) -> InitAccepted:
        """Connect the command channel and exchange InitCommandRequest / Ack; after an
        InitFail, once more on the same socket (as Fuji's X Acquire and libgphoto2 do)."""
        if self._cmd is not None:
            raise LocalProtocolError("already connected")
        self._cmd = await self._dial(
            self.port,
            lambda: _Command(self, FujiInitiatorConnection(max_container=self.max_container, timeout=self.timeout)),
        )
        request = InitRequest(self.guid, self.name, FUJI_PROTOCOL_VERSION)
        ev = await self._exchange((request,), self.timeout, "the init acknowledgement")
        if isinstance(ev, InitRejected) and ev.reason not in _FINAL_INIT_FAILS:
            first = ev
            log.info("camera answered InitFail 0x%X; trying once more in %.1fs", ev.reason, INIT_RETRY_DELAY)
            await asyncio.sleep(INIT_RETRY_DELAY)
            try:
                self._cmd.conn.retry_handshake()
                ev = await self._exchange((request,), self.timeout, "the init acknowledgement")
            except (CameraDisconnected, ProtocolError) as exc:
                log.debug("second init: %s", exc)
                ev = first
        if isinstance(ev, InitRejected):
            raise init_failed(ev.reason, self.name)
        if not isinstance(ev, InitAccepted):
            raise ProtocolError(f"expected the init acknowledgement, got {type(ev).__name__}")
        self.camera = ev
        log.debug("camera %r accepted %r (connection %d)", ev.name, self.name, ev.connection_number)
        return ev

    async def bring_up(self) -> BodyOffer:
        """OpenSession, then what the body offers, step by step (:mod:`ptpd.fuji.bringup`)."""
        resp, _ = await self.transact(OperationCode.OpenSession, (1,), check=False)
        if resp.code not in (ResponseCode.OK, ResponseCode.SessionAlreadyOpen):
            raise self._refusal(OperationCode.OpenSession, resp, self.last_tid)
        self._session_open = True
        entries = await self.read_state()
        offer = BodyOffer(state_list=entries is not None, camera_state=camera_state_of(entries))
        if offer.camera_state == CameraState.WaitingForUser:
            entries = await self._wait_for_user()
            offer = offer.but(camera_state=camera_state_of(entries), waited_for_user=True)
        self.first_state = entries or ()
        remote, refused = await self._version(FujiPropCode.AppVersion)
        mode = client_mode(offer.camera_state, remote)
        await self._set_mode(mode)
        if remote is None and refused:
            # the X-T1 order (malc0mn): the mode first, then the version
            remote, _ = await self._version(FujiPropCode.AppVersion)
        self.app_version = remote
        offer = offer.but(remote_version=remote, mode=mode)
        if remote is not None:
            await self._echo(FujiPropCode.AppVersion, remote)
            offer = await self._open_capture(offer)
        else:
            # no remote shooting: the app echoes the GetObject version (libfuji)
            version, _ = await self._version(FujiPropCode.Unknown_DF22)
            if version is not None:
                await self._echo(FujiPropCode.Unknown_DF22, version)
        self.offer = offer
        log.info("camera %s offers %s", self.camera.name if self.camera else self.host, offer.as_dict())
        return offer

    async def read_state(self) -> tuple[StateEntry, ...] | None:
        """One 0xD212 poll: its entries, or ``None`` when the body does not offer the list
        (a refusal, or an answer that cannot be read)."""
        resp, data = await self.transact(OperationCode.GetDevicePropValue, (FujiPropCode.CurrentState,), check=False)
        if resp.code != ResponseCode.OK:
            return None
        return state_entries(data if data is not None else b"")

    async def _wait_for_user(self) -> tuple[StateEntry, ...] | None:
        """DF00 = 0: the camera asks its user to allow us. Poll 0xD212 until it changes."""
        self._tell_user()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.pairing_timeout
        while loop.time() < deadline:
            await asyncio.sleep(USER_POLL_INTERVAL)
            entries = await self.read_state()
            state = camera_state_of(entries)
            if state is not None and state != CameraState.WaitingForUser:
                return entries
        raise PairingRefused(0, f"camera did not accept this client within {self.pairing_timeout:g}s: {PAIRING_PROMPT}")

    def _tell_user(self) -> None:
        if self.paired_with_prompt:
            return
        self.paired_with_prompt = True
        log.info("camera %s waits for its user: %s", self.host, PAIRING_PROMPT)
        if self.on_pairing is not None:
            self.on_pairing(PAIRING_PROMPT)

    async def _version(self, code: int) -> tuple[int | None, bool]:
        """A u32 version property: (value or None, refused). OK with no data = no value."""
        resp, data = await self.transact(OperationCode.GetDevicePropValue, (code,), check=False)
        if resp.code != ResponseCode.OK:
            return None, True
        return u32_or_none(data), False

    async def _echo(self, code: int, value: int) -> None:
        """Write a version back as the app does; a body that refuses keeps the session."""
        resp, _ = await self.transact(
            OperationCode.SetDevicePropValue, (code,), value.to_bytes(4, "little"), check=False
        )
        if resp.code != ResponseCode.OK:
            log.warning("camera refused the echo of 0x%04X (0x%04X); going on", code, resp.code)

    async def _open_capture(self, offer: BodyOffer) -> BodyOffer:
        """InitiateOpenCapture and the event channel; what fails is recorded, not fatal."""
        resp, _ = await self.transact(OperationCode.InitiateOpenCapture, (0, 0), check=False)
        if resp.code != ResponseCode.OK:
            log.warning(
                "camera refused InitiateOpenCapture (0x%04X): no remote capture, events or live view", resp.code
            )
            return offer
        offer = offer.but(open_capture=True, open_capture_tid=resp.transaction_id)
        try:
            await self.open_event_channel()
        except (CameraDisconnected, PTPTimeout) as exc:
            log.warning(
                "no event channel on %s:%d (%s): events come from 0xD212 polls only", self.host, self.event_port, exc
            )
            return offer
        return offer.but(events=True)

    async def _set_mode(self, mode: int) -> None:
        """SetDevicePropValue(0xDF01 = mode): held by the camera until its user presses OK."""
        value = int(mode).to_bytes(2, "little")
        notice = asyncio.get_running_loop().call_later(self.pairing_notice_after, self._tell_user)
        try:
            resp, _ = await self.transact(
                OperationCode.SetDevicePropValue,
                (FujiPropCode.InitSequence,),
                value,
                timeout=self.pairing_timeout,
                check=False,
            )
        except PTPTimeout as exc:
            raise PairingRefused(
                0, f"camera did not accept this client within {self.pairing_timeout:g}s: {PAIRING_PROMPT}"
            ) from exc
        except CameraDisconnected as exc:
            raise PairingRefused(
                0, f"camera closed the connection while asking its user to accept {self.name!r}"
            ) from exc
        finally:
            notice.cancel()
        if resp.code != ResponseCode.OK:
            raise PairingRefused(
                resp.code,
                f"camera refused this client {self.name!r} at the pairing prompt "
                f"(0xDF01 := {int(mode)} answered 0x{resp.code:04X})",
            )

    async def open_event_channel(self) -> None:
        """Connect the event port (no handshake; it opens after InitiateOpenCapture) and
        start consuming events."""
        if self._evt is not None:
            return
        self._evt = await self._dial(self.event_port, lambda: _Events(self), tries=self.connect_retries + 1)

    # ----------------------------------------------------------------- transactions

    async def transact(
        self,
        code: int,
        params: tuple[int, ...] | list[int] = (),
        data_out: bytes | None = None,
        *,
        timeout: float | None = None,
        check: bool = True,
        hold: WriteHold | None = None,
    ) -> tuple[OperationResponse, bytes | None]:
        """Run one operation: request (then one data container if ``data_out``), optional
        data in, response. ``check`` raises :class:`ResponseError` on a non-OK code.
        ``hold`` keeps the request's bytes, once made, until its moment (a release; see
        :class:`~ptpd.protocol.adapter.WriteHold`); :attr:`request_sent` says when they went.

        A response that carries another transaction id is still this transaction's (one
        is open at a time): logged, and a refusal is raised as the camera's refusal. A
        timeout or a broken stream closes the link: its transaction state is lost (Fuji's
        dialect has no Cancel).
        """
        if self._closed or self._cmd is None:
            raise CameraDisconnected("not connected to the camera")
        wait = self.timeout if timeout is None else timeout
        async with self._lock:
            cmd = self._cmd
            tid = self.last_tid = cmd.conn.new_transaction_id()
            events: tuple[ConnectionEvent, ...] = (OperationRequest(code, tid, tuple(params), data_out is not None),)
            if data_out is not None:
                events += (Data(code, tid, data_out),)
            try:
                ev = await self._exchange(events, wait, f"the answer to 0x{code:04X}", hold)
                data = self._data
                assert isinstance(ev, OperationResponse)
                if data_out is not None and ev.code != ResponseCode.OK:
                    await self._await_stray()
            except (PTPTimeout, CameraDisconnected, ProtocolError, OSError) as exc:
                arrived = (
                    (self._data or cmd.conn.received_so_far(tid)) if cmd.conn.intact else b""
                )  # a download keeps it
                await self._abort()
                if not isinstance(exc, PTPError):  # our Timeout is also an OSError (via TimeoutError): kept as is
                    raise CameraDisconnected(f"command channel failed: {exc}").carrying(arrived) from exc
                raise exc.carrying(arrived)  # noqa: B904  # the caught error itself, with the bytes
        if ev.transaction_id != tid:
            self.mismatched_tids += 1
            log.log(
                logging.WARNING if self.mismatched_tids == 1 else logging.DEBUG,
                "camera answered 0x%04X (transaction %d) with 0x%04X for transaction %d",
                code,
                tid,
                ev.code,
                ev.transaction_id,
            )
        if check and ev.code != ResponseCode.OK:
            raise self._refusal(code, ev, tid)
        return ev, data

    @staticmethod
    def _refusal(code: int, resp: OperationResponse, tid: int | None = None) -> ResponseError:
        """The camera's refusal of ``code`` as a :class:`ResponseError`, saying so when it
        came in a response for another transaction id."""
        err = ResponseError(resp.code, params=resp.params)
        if tid is not None and resp.transaction_id != tid:
            note = f" (in a response for transaction {resp.transaction_id}; the request was {tid})"
            err = ResponseError(resp.code, f"{err}{note}", resp.params)
        return err

    async def _await_stray(self) -> None:
        """After a refused data-out transaction: the camera may answer our data container
        on its own. Wait a moment for that answer so it is not taken for the next one's."""
        self._stray = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(asyncio.shield(self._stray), STRAY_GRACE)
        except TimeoutError:
            pass
        finally:
            self._stray = None

    async def _exchange(
        self, events: tuple[ConnectionEvent, ...], timeout: float, what: str, hold: WriteHold | None = None
    ) -> ConnectionEvent:
        """Send ``events`` and wait for the answer that settles them (the init answer or
        the response); data containers and events on the way are taken care of."""
        assert self._cmd is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self._what = what
        self._data = None
        try:
            self._cmd.send(*events, timeout=timeout, hold=hold)
            try:
                return await self._waiter
            except PTPTimeout as exc:
                raise PTPTimeout(f"timed out waiting for {what}: {exc}") from None
        finally:
            self._waiter = None

    def _on_command_event(self, ev: ConnectionEvent) -> None:
        if isinstance(ev, Event):
            # Not expected on this channel, but an event is harmless: pass it on.
            self._dispatch(ev)
        elif isinstance(ev, Data):
            self._data = ev.payload
        elif isinstance(ev, UnexpectedResponse):
            log.info(
                "camera sent a response with no transaction open (0x%04X, transaction %d): ignored",
                ev.code,
                ev.transaction_id,
            )
            if self._stray is not None and not self._stray.done():
                self._stray.set_result(ev)
        elif isinstance(ev, ConnectionClosed):
            self._settle(CameraDisconnected(f"camera closed the command channel while we waited for {self._what}"))
        elif self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(ev)  # InitAccepted, InitRejected, OperationResponse

    def _settle(self, exc: BaseException) -> None:
        """The exchange under way (if any) ends with ``exc``."""
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)

    # ----------------------------------------------------------------- events

    def _dispatch(self, ev: Event) -> None:
        log.debug("event 0x%04X tid %d params %s", ev.code, ev.transaction_id, ev.params)
        for sub in list(self._subs):
            sub.put(ev)

    def inject(self, ev: Event) -> None:
        """Hand subscribers an event the camera reported some other way than on the event
        channel (a 0xD212 entry with an event code)."""
        self._dispatch(ev)

    def _events_ended(self) -> None:
        self._events_over = True
        for sub in list(self._subs):
            sub.finish(CameraDisconnected("event channel closed"))

    def subscribe(self, maxsize: int | None = None) -> EventQueue:
        """A new bounded event queue receiving every event from now on; it ends with
        :class:`CameraDisconnected` when the link closes."""
        sub = EventQueue(maxsize or self.event_queue_size, on_close=self._subs.discard, what="event from the camera")
        if self._closed or self._events_over:
            sub.finish(CameraDisconnected("event channel closed"))
        else:
            self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: EventQueue) -> None:
        """Stop feeding ``sub`` (the same as ``sub.close()``)."""
        sub.close()

    async def wait_event(self, sub: EventQueue, timeout: float | None = None) -> Event:
        """The next event of ``sub``; :class:`Timeout` or :class:`CameraDisconnected` otherwise."""
        try:
            return await sub.get(self.timeout if timeout is None else timeout)
        except StopAsyncIteration:
            raise CameraDisconnected("event channel closed") from None

    async def events(self) -> AsyncIterator[Event]:
        """Every event from now on, until the link closes."""
        sub = self.subscribe()
        try:
            async for ev in sub:
                yield ev
        except CameraDisconnected:
            return
        finally:
            sub.close()

    # ----------------------------------------------------------------- live view

    @contextlib.asynccontextmanager
    async def _liveview_stream(self, sink: FrameSink) -> AsyncIterator[None]:
        """The live-view port connected, its frames going to ``sink``, while inside; one
        stream at a time (the camera streams while the port is connected)."""
        if self._closed:
            raise CameraDisconnected("not connected to the camera")
        if self._liveview_active:
            raise LocalProtocolError("live view is already running")
        self._liveview_active = True
        splitter = LiveViewSplitter(max_length=self.max_liveview_frame)
        proto: LiveViewProtocol | None = None
        try:
            proto = await self._dial(self.liveview_port, lambda: LiveViewProtocol(splitter, sink))
            yield
        finally:
            self._liveview_active = False
            if proto is not None and proto.transport is not None:
                proto.transport.close()

    async def liveview_to(self, deliver: Callable[[LiveFrame], None]) -> None:
        """Live view with no queue: ``deliver`` gets each frame in the socket's read callback,
        in the loop step its last byte came in (it must not block). Runs until the camera
        ends the stream (returns), the link breaks (:class:`CameraDisconnected`), no frame
        comes within ``timeout`` (:class:`~ptpd.protocol.errors.Timeout`) or ``deliver``
        raises (that error); cancel it to stop."""
        done: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()
        sink = FrameCall(deliver, done)
        async with self._liveview_stream(sink):
            sink.last = time.monotonic()
            while not done.done():
                # one timer per timeout period, not one per frame
                left = sink.last + self.timeout - time.monotonic()
                if left <= 0:
                    raise PTPTimeout(f"no live-view frame within {self.timeout:g}s")
                await asyncio.wait((done,), timeout=left)
            exc = done.result()
            if exc is not None:
                raise exc

    async def liveview(self) -> AsyncGenerator[LiveFrame, None]:
        """Connect the live-view port and yield frames until the iterator is closed."""
        sink = FrameQueue(self.liveview_queue_size, what="live-view frame")
        async with self._liveview_stream(sink):
            while True:
                # Per frame: a frame that is there is taken at once; only an empty queue
                # arms a timer (asyncio.wait_for would wrap every get in a task of its own).
                try:
                    item = await sink.get(self.timeout)
                except StopAsyncIteration:
                    return
                yield item

    # ----------------------------------------------------------------- closing

    async def _abort(self) -> None:
        await self.close(graceful=False)

    async def close(self, *, graceful: bool = True) -> None:
        """Close live view, events and command channel (malc0mn's order). Idempotent.

        ``graceful`` first sends CloseSession (the X-T1 ignores it; hkr sends it) with a
        short timeout.
        """
        if self._closed:
            return
        if graceful and self._session_open and self._cmd is not None and not self._lock.locked():
            with contextlib.suppress(PTPError, OSError):
                await self.transact(OperationCode.CloseSession, timeout=min(self.timeout, 2.0), check=False)
        self._closed = True
        self._session_open = False
        for proto in (self._evt, self._cmd):
            if proto is not None and proto.transport is not None:
                proto.transport.close()
                try:
                    await asyncio.wait_for(asyncio.shield(proto.closed), 1.0)
                except TimeoutError:
                    proto.transport.abort()
        self._evt = self._cmd = None
        for sub in list(self._subs):
            sub.finish(CameraDisconnected("event channel closed"))

    async def __aenter__(self) -> FujiLink:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


__all__ = ["PAIRING_PROMPT", "EventQueue", "FujiLink", "LiveFrame", "guid_bytes"]
