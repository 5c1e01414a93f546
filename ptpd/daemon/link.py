"""The camera link: the one owner of the camera session.

Theory of operation:

* A supervisor task (:meth:`CameraLink.run`) connects, and on any loss waits with
  exponential backoff and connects again, for as long as the daemon runs. Each change
  of connection state is published on ``status.connection``.
* PTP allows one transaction at a time. Every camera command goes through
  :meth:`CameraLink.call`, which queues on a FIFO lock; while the link is down it fails
  at once with ``not_connected`` instead of waiting.
* A transaction that ends in ``CameraDisconnected``, a ``ProtocolError`` (garbage from
  the camera) or a ``Timeout`` leaves the session in an unknown state: the link is
  dropped and rebuilt.
* After each (re)connect: read the camera's info and state, re-apply every setting a
  client chose (in the order set; never a clock or a one-shot action, by the camera
  layer's :meth:`~ptpd.camera.Camera.reapplies`), then resume live view if someone wants it.
* Camera events go out on ``event.<name>``; property changes (ours, or ones the camera
  reports) update the state cache and go out on ``state.<name>`` when the value changed.
* While idle for ``keepalive`` seconds it polls the camera cheaply (Wi-Fi bodies drop
  silent sessions).
* Live view runs on the camera while ``wanted`` (someone subscribed, or
  ``liveview.start``); frames go straight to :class:`ptpd.daemon.liveview.LiveView`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ptpd import bus
from ptpd.bus import BusError, ConnectionState, ErrorCode
from ptpd.camera import LINK_ERRORS, Camera, CameraInfo, PropertyValue, Unsupported
from ptpd.daemon.backoff import CLOSED_BY_CAMERA, Backoff
from ptpd.daemon.inflight import Control
from ptpd.daemon.shapes import prop_dict

log = logging.getLogger(__name__)

T = TypeVar("T")
#: keepalive failures call() has already dealt with (a refusal, or a link it dropped)
_KEEPALIVE_DROPPED: tuple[type[BaseException], ...] = (BusError, *LINK_ERRORS)

PROPERTY_EVENTS = ("property_changed", "device_prop_changed", "prop_changed")
#: weight of the newest run in a command's typical duration (an exponential average)
TYPICAL_WEIGHT = 0.3
#: what the link itself runs on the camera (not a client's command)
_OUR_OWN = (None, "connect", "keepalive")
#: seconds after a set within which one DevicePropChanged for it counts as the echo
SET_ECHO_WINDOW = 1.0


class CameraLink:
    """Holds one camera: reconnects, serializes transactions, caches state, runs live view."""

    def __init__(
        self,
        factory: Callable[[], Camera],
        publish: Callable[[str, dict[str, Any]], int],
        on_frame: Callable[[Any], None] | None = None,
        *,
        keepalive: float = 10.0,
        reconnect_min: float = 0.25,
        reconnect_max: float = 5.0,
        connect_timeout: float = 60.0,
        max_queue: int = 256,
    ) -> None:
        self.factory = factory
        self.publish = publish
        self.on_frame = on_frame
        self.keepalive_interval = keepalive
        self.reconnect_min = reconnect_min
        self.reconnect_max = reconnect_max
        self.connect_timeout = connect_timeout
        self.max_queue = max_queue

        self.camera: Camera | None = None
        self.connection = ConnectionState.DISCONNECTED
        self.detail = ""
        self.info: CameraInfo | None = None
        self.props: dict[str, dict[str, Any]] = {}
        #: properties clients set, re-applied after a reconnect (key -> value as given)
        self.applied: dict[str | int, str | int] = {}
        self.reconnects = 0
        self.connects = 0

        self.liveview_requested = False  #: liveview.start was asked
        self.liveview_watchers = 0
        self.liveview_unsupported: str | None = None
        self.liveview_on = False

        self._lock = asyncio.Lock()
        self._waiting = 0
        self.busy: str | None = None  #: name of the running transaction
        self._last_activity = time.monotonic()
        self._lost = asyncio.Event()
        self._stopping = asyncio.Event()
        self._lv_changed = asyncio.Event()
        self._refresh_codes: set[int] = set()
        #: property code -> deadline: the DevicePropChanged a camera sends back for our own
        #: set carries nothing new (the set's reply already gave the value), so one such
        #: echo within the deadline is not re-read (a re-read would queue a transaction in
        #: front of the client's next command)
        self._set_echoes: dict[int, float] = {}
        self._refresh_task: asyncio.Task[None] | None = None
        self._told: set[tuple[ConnectionState, str]] = set()
        #: command name -> seconds it usually takes on this camera (see :meth:`typical`)
        self._typical: dict[str, float] = {}
        #: the waits between connects, and whether another initiator keeps taking the camera
        self.backoff = Backoff(reconnect_min, reconnect_max)
        #: the session ended with the camera closing it while it was ours alone (None: not yet)
        self._loss_closed: bool | None = None

    # -- state ---------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.connection is ConnectionState.CONNECTED and self.camera is not None

    @property
    def queue_depth(self) -> int:
        """Commands waiting for the camera plus the one running."""
        return self._waiting + (1 if self.busy else 0)

    @property
    def idle(self) -> float:
        """Seconds since the camera last did anything for us (0 while a command runs)."""
        return 0.0 if self.busy else time.monotonic() - self._last_activity

    @property
    def liveview_wanted(self) -> bool:
        return self.liveview_requested or self.liveview_watchers > 0

    def _set_state(self, state: ConnectionState, detail: str = "") -> None:
        if state is self.connection and detail == self.detail:
            return
        self.connection = state
        self.detail = detail
        # While a camera stays away the retries repeat the same story: say it once at info.
        key = (state, detail.split("; retrying")[0] if state is not ConnectionState.CONNECTING else "")
        level = logging.DEBUG if key in self._told else logging.INFO
        if state is ConnectionState.CONNECTED:
            self._told.clear()
        else:
            self._told.add(key)
        log.log(level, "camera %s%s", state.value, f": {detail}" if detail else "")
        self.publish(bus.Topic.CONNECTION, {"state": state.value, "detail": detail})

    def pairing(self, message: str) -> None:
        """The camera waits for its user to accept us (Fuji): say so on ``status.connection``."""
        self._set_state(ConnectionState.PAIRING, message)

    def update_prop(self, pv: PropertyValue) -> None:
        """Cache a property value; publish ``state.<name>`` when it changed."""
        d = prop_dict(pv)
        if self.props.get(pv.name) != d:
            self.props[pv.name] = d
            self.publish(bus.Topic.state(pv.name), d)

    def note_set(self, key: str | int, pv: PropertyValue, *, reapply: bool = True) -> None:
        """A client set ``pv``: cache and publish it, expect the camera's echo, and remember
        it for re-applying after a reconnect when it is a setting (``reapply``: the camera
        layer says so by the property's nature; never a clock or a one-shot action)."""
        self.update_prop(pv)
        self._set_echoes[pv.code] = time.monotonic() + SET_ECHO_WINDOW
        self.applied.pop(key, None)
        if reapply:
            self.applied[key] = pv.value  # the raw value in force: re-applies exactly, whatever label was given

    def set_watchers(self, n: int) -> None:
        self.liveview_watchers = n
        self._lv_changed.set()

    def request_liveview(self, on: bool) -> None:
        self.liveview_requested = on
        self._lv_changed.set()

    # -- transactions --------------------------------------------------------------

    def typical(self, name: str) -> float:
        """Seconds a command ``name`` usually takes on this camera (0 until one ran)."""
        return self._typical.get(name, 0.0)

    def note_duration(self, name: str, seconds: float) -> None:
        """One more run of ``name`` took ``seconds``: fold it into :meth:`typical`."""
        old = self._typical.get(name)
        self._typical[name] = seconds if old is None else old + TYPICAL_WEIGHT * (seconds - old)

    async def call(
        self,
        name: str,
        fn: Callable[[Camera], Awaitable[T]],
        timeout: float | None = None,
        *,
        control: Control | None = None,
        typical: str | None = None,
    ) -> T:
        """Run ``fn(camera)`` as the only transaction in flight, in arrival order.

        With the request's ``control``, its turn is refused (``cancelled``/``expired``) if
        it was stopped while it waited, or if less of its deadline is left than the
        command usually takes (:meth:`typical` of ``typical``, else of ``name``), read when
        its turn comes."""
        if not self.connected:
            raise BusError(
                ErrorCode.NOT_CONNECTED,
                f"camera is {self.connection.value}" + (f" ({self.detail})" if self.detail else ""),
            )
        if self._waiting >= self.max_queue:
            raise BusError(ErrorCode.CAMERA_BUSY, f"{self._waiting} commands already queued")
        self._waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self._waiting -= 1
        try:
            cam = self.camera
            if cam is None or not self.connected:
                raise BusError(ErrorCode.NOT_CONNECTED, f"camera is {self.connection.value}")
            loop = asyncio.get_running_loop()
            if control is not None and not control.started:
                control.admit(loop.time(), self.typical(typical or name), name)
            self.busy = name
            began = loop.time()
            try:
                if timeout is None:
                    result = await fn(cam)
                else:
                    result = await asyncio.wait_for(fn(cam), timeout)
            except LINK_ERRORS as exc:
                self.drop(f"{name}: {type(exc).__name__}: {exc}", exc)
                raise
            self.note_duration(name, loop.time() - began)
            return result
        finally:
            self.busy = None
            self._last_activity = time.monotonic()
            self._lock.release()

    def drop(self, reason: str, cause: BaseException | None = None) -> None:
        """The session is broken: make the supervisor rebuild it. ``cause``: the error
        that showed it (``None``: the camera closed the link, e.g. the event channel ended)."""
        if not self._lost.is_set() and self.camera is not None:
            log.warning("camera link lost: %s", reason)
            self.detail = reason
            # closed by the camera while none of our clients' commands was on it: what
            # another initiator taking the camera over looks like (see .backoff)
            self._loss_closed = self.busy in _OUR_OWN and (cause is None or isinstance(cause, CLOSED_BY_CAMERA))
        self._lost.set()

    # -- supervisor ----------------------------------------------------------------

    async def run(self) -> None:
        """Connect, serve, reconnect with backoff; returns after :meth:`stop`."""
        loop = asyncio.get_running_loop()
        backoff = self.backoff
        while not self._stopping.is_set():
            tries = backoff.failures + 1
            self._set_state(ConnectionState.CONNECTING, f"attempt {tries}" if tries > 1 else "")
            cam: Camera | None = None
            session_at: float | None = None
            try:
                cam = self.factory()
                await asyncio.wait_for(cam.connect(), self.connect_timeout)
                session_at = loop.time()
                self._lost.clear()
                self._loss_closed = None
                self.camera = cam
                await self._after_connect(cam)
            except asyncio.CancelledError:
                self.camera = None
                if cam is not None:
                    await _close(cam)
                raise
            except Exception as exc:  # any failure to connect means: wait and try again
                self.camera = None
                if cam is None:
                    if tries == 1:
                        log.exception("cannot make a camera object")
                else:
                    await _close(cam)
                if session_at is not None and isinstance(exc, CLOSED_BY_CAMERA):
                    # the session was open and the camera closed it during our bring-up
                    delay, why = backoff.session_ended(loop.time() - session_at, closed_by_camera=True)
                    if why is None:
                        delay, why = backoff.connect_failed(exc)
                else:
                    delay, why = backoff.connect_failed(exc)
                self._set_state(ConnectionState.DISCONNECTED, why)
                await _wait(self._stopping, delay)
                continue
            assert session_at is not None
            if self.connects:
                self.reconnects += 1
            self.connects += 1
            backoff.connected()
            model = self.info.model if self.info else ""
            self._set_state(ConnectionState.CONNECTED, model)
            tasks = [
                asyncio.create_task(self._pump_events(cam), name="camera-events"),
                asyncio.create_task(self._keepalive(), name="keepalive"),
                asyncio.create_task(self._liveview_control(cam), name="liveview-control"),
                asyncio.create_task(self._watch(cam), name="link-watch"),
            ]
            lost = asyncio.create_task(self._lost.wait())
            stop = asyncio.create_task(self._stopping.wait())
            await asyncio.wait([lost, stop], return_when=asyncio.FIRST_COMPLETED)
            for t in (lost, stop, *tasks):
                t.cancel()
            await asyncio.gather(lost, stop, *tasks, return_exceptions=True)
            if self._stopping.is_set():
                break  # stop() closes the camera after the in-flight transaction
            delay, contested = backoff.session_ended(loop.time() - session_at, bool(self._loss_closed))
            reason = contested or self.detail
            if contested and not backoff.contested_told:
                backoff.contested_told = True
                log.warning("camera: %s", contested)
            self.camera = None
            self.liveview_on = False
            # the state first: a command that waited for the link while it was closing
            # must read "disconnected", not a "connected" that no longer holds
            self._set_state(ConnectionState.DISCONNECTED, reason)
            await _close(cam)
            await _wait(self._stopping, delay)

    async def _after_connect(self, cam: Camera) -> None:
        async with self._lock:
            self.busy = "connect"
            try:
                self.info = await cam.info()
                try:
                    for pv in await cam.state():
                        self.update_prop(pv)
                except Unsupported:
                    pass
                for prop, value in list(self.applied.items()):
                    try:
                        self.update_prop(await cam.set(prop, value))
                        log.info("re-applied %s = %s", prop, value)
                    except LINK_ERRORS:
                        raise
                    except Exception as exc:  # the camera may refuse in its current mode
                        log.warning("could not re-apply %s = %s: %s", prop, value, _describe(exc))
            finally:
                self.busy = None
                self._last_activity = time.monotonic()

    async def _pump_events(self, cam: Camera) -> None:
        try:
            async for ev in cam.events():
                self.publish(
                    bus.Topic.event(ev.name),
                    {
                        "name": ev.name,
                        "code": ev.code,
                        "params": list(ev.params),
                        "transaction_id": ev.transaction_id,
                        "t_camera": ev.time,
                    },
                )
                if ev.name in PROPERTY_EVENTS and ev.params:
                    self._refresh_codes.add(ev.params[0])
                    if self._refresh_task is None or self._refresh_task.done():
                        self._refresh_task = asyncio.create_task(self._refresh_props())
            # events() runs "for as long as the link is up" (Camera contract): its end is the
            # first sign of a camera that went away, long before a transaction would notice
            self.drop("event channel closed")
        except asyncio.CancelledError:
            raise
        except LINK_ERRORS as exc:
            self.drop(f"event channel: {_describe(exc)}", exc)
        except Exception as exc:
            log.exception("camera event stream failed")
            self.drop("event stream failed", exc)

    async def _watch(self, cam: Camera) -> None:
        """The camera object may learn of a loss on its own (a failed read): follow it."""
        while cam.connected:  # noqa: ASYNC110  # a plain attribute: no event to wait on
            await asyncio.sleep(0.25)
        self.drop("camera reports the link down")

    async def _refresh_props(self) -> None:
        await asyncio.sleep(0.01)  # gather a burst of changes into one pass
        while self._refresh_codes and self.connected:
            code = self._refresh_codes.pop()
            # checked here, not when the event arrives: the echo can come before the set's
            # reply has been noted
            if self._set_echoes.pop(code, 0.0) > time.monotonic():
                continue
            try:
                pv = await self.call(
                    "get",
                    lambda c: c.get(code),  # noqa: B023  # run in this iteration
                    timeout=self.connect_timeout,
                )
                self.update_prop(pv)
            except Exception as exc:
                log.debug("refresh of property 0x%04X failed: %s", code, _describe(exc))

    async def _keepalive(self) -> None:
        if self.keepalive_interval <= 0:
            return
        warned = False
        while True:
            idle = time.monotonic() - self._last_activity
            if idle < self.keepalive_interval or self._lock.locked():
                await asyncio.sleep(max(0.05, self.keepalive_interval - idle))
                continue
            try:
                await self.call("keepalive", lambda c: c.keepalive(), timeout=self.connect_timeout)
            except _KEEPALIVE_DROPPED:
                continue  # a broken link was dropped by call(); the supervisor takes over
            except Exception as exc:  # e.g. the camera has no battery property
                if not warned:
                    log.info("keep-awake poll failed (ignored): %s", _describe(exc))
                    warned = True
                self._last_activity = time.monotonic()

    async def _liveview_control(self, cam: Camera) -> None:
        pump: asyncio.Task[None] | None = None
        try:
            while True:
                self._lv_changed.clear()
                if self.liveview_wanted and self.liveview_unsupported is None and (pump is None or pump.done()):
                    pump = asyncio.create_task(self._pump_liveview(cam), name="liveview")
                elif not self.liveview_wanted and pump is not None and not pump.done():
                    pump.cancel()
                    await asyncio.gather(pump, return_exceptions=True)
                    pump = None
                await self._lv_changed.wait()
        finally:
            if pump is not None:
                pump.cancel()
                await asyncio.gather(pump, return_exceptions=True)

    async def _pump_liveview(self, cam: Camera) -> None:
        try:
            self.liveview_on = True
            log.info("live view started")
            # each frame goes out in the loop step it completed in (no queue, no task switch):
            # a frame's watchers are woken that much sooner, and the daemon spends less per frame
            await cam.liveview_to(self.on_frame or _drop_frame)
        except asyncio.CancelledError:
            raise
        except Unsupported as exc:
            self.liveview_unsupported = str(exc) or "unsupported"
            log.warning("live view unsupported: %s", exc)
        except LINK_ERRORS as exc:
            self.drop(f"live view: {_describe(exc)}", exc)
        except Exception:
            log.exception("live view failed")
        finally:
            self.liveview_on = False
            log.info("live view stopped")

    # -- shutdown ------------------------------------------------------------------

    def begin_stop(self) -> None:
        """No new transactions; the supervisor stops reconnecting."""
        if not self._stopping.is_set():
            self._stopping.set()
            self._set_state(ConnectionState.STOPPING, "")

    async def wait_idle(self, timeout: float) -> bool:
        """Wait for the transaction in flight to finish; False if it still runs."""
        try:
            await asyncio.wait_for(self._lock.acquire(), timeout)
        except TimeoutError:
            return False
        self._lock.release()
        return True

    async def stop(self, grace: float = 2.0, close_timeout: float = 1.0) -> None:
        """Let the transaction in flight finish (up to ``grace``), then close the session."""
        self.begin_stop()
        if not await self.wait_idle(grace):
            log.warning("transaction %s still running after %.1fs; closing anyway", self.busy, grace)
        cam, self.camera = self.camera, None
        if cam is not None:
            await _close(cam, close_timeout)


def _drop_frame(frame: Any) -> None:
    """Live view's sink when the link was given none (frames keep the camera streaming)."""


async def _close(cam: Camera, timeout: float = 2.0) -> None:
    try:
        await asyncio.wait_for(cam.close(), timeout)
    except Exception as exc:  # closing a broken link may fail in many ways; it is gone either way
        log.debug("camera close: %s", _describe(exc))


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
