"""The daemon: bus sockets, request routing, reply cache, heartbeat, shutdown.

One asyncio loop owns everything: the ROUTER (commands), the event XPUB, the live-view
XPUB, the camera link and (with ``--simulate``) the simulated camera. Each request runs
as its own task, so ``ping``/``status``/``snapshot`` answer at once while a capture waits
for the camera; camera commands serialize inside :class:`~ptpd.daemon.link.CameraLink`.

Nothing a client sends can stop it: a message that cannot be decoded gets an error reply
when there is an identity to answer, and is logged (once per client, then counted). Nor
can it hold the loop or grow the daemon without bound: requests are decoded within the
bus's budgets (:mod:`ptpd.bus`), the reading loops take 64 messages a turn, the reply
cache is bounded in count, bytes and time, unread replies in bytes
(:mod:`ptpd.daemon.unsent`) and subscribers per peer (:mod:`ptpd.daemon.peers`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import logging
import signal
import time
import uuid
from collections.abc import Callable
from typing import Any, cast

import zmq
import zmq.asyncio

from ptpd import bus
from ptpd.bus import BusError, ErrorCode
from ptpd.camera import Camera, Progress, Target
from ptpd.daemon import files
from ptpd.daemon.args import check_args
from ptpd.daemon.commands import HANDLERS
from ptpd.daemon.config import (
    Config,
    default_state_dir,
    endpoint_is_local,
    ensure_ipc_dirs,
    ipc_in_use,
    load_or_create_guid,
)
from ptpd.daemon.context import Request
from ptpd.daemon.errors import to_bus_error
from ptpd.daemon.inflight import Flight, Flights, Stop, not_started
from ptpd.daemon.jobs.engine import JobEngine
from ptpd.daemon.lease import Leases
from ptpd.daemon.leftovers import Journal
from ptpd.daemon.link import CameraLink
from ptpd.daemon.liveview import LiveView
from ptpd.daemon.notify import Notifier
from ptpd.daemon.publisher import EventPublisher, drained
from ptpd.daemon.unsent import TRACKED, UnsentReplies
from ptpd.simulator import ControlError, EmbeddedCamera, OptionError, start_embedded

log = logging.getLogger(__name__)

#: exit status of a configuration the daemon cannot use (as ``ptpd run`` gives it)
EXIT_CONFIG = 102
#: requests in flight (all clients) before new ones are refused with camera_busy
MAX_IN_FLIGHT = 1024
#: replies kept for retried side-effect requests: at most this many, of at most this
#: many bytes in all (the newest one is kept even when it alone is bigger), for at most
#: this long (also while no request comes: the heartbeat trims it every second)
REPLY_CACHE_SIZE = 512
REPLY_CACHE_BYTES = 32 * 1024 * 1024
REPLY_CACHE_TTL = 120.0
#: request frames up to this size are copied out of ZeroMQ's message; bigger ones are
#: read in place (a 60 MiB request is not held twice)
_COPY_FRAMES_UP_TO = 64 * 1024


class Daemon:
    """One camera, its bus, and the tasks that keep both alive."""

    def __init__(self, config: Config, camera_factory: Callable[[], Camera] | None = None) -> None:
        self.config = config
        self.ctx = zmq.asyncio.Context()
        self.events = EventPublisher(self.ctx)
        self.liveview = LiveView(self.ctx, on_watchers=self._on_watchers)
        self.notifier = Notifier()
        publish = self.notifier.follow(self.events.publish)  # STATUS= follows status.connection
        self.link = CameraLink(
            camera_factory or self._make_camera,
            lambda topic, data: self._camera_news(publish, topic, data),
            self.liveview.publish,
            keepalive=config.keepalive,
            reconnect_min=config.reconnect_min,
            reconnect_max=config.reconnect_max,
            connect_timeout=max(30.0, config.timeout * 3),
        )
        #: the control lease (``lock``; jobs hold it for their run)
        self.leases = Leases(self.events.publish)
        #: jobs (``job.start``), kept in the state directory and resumed on start
        self.jobs = JobEngine(self, self.leases)
        self.router = self.ctx.socket(zmq.ROUTER)
        #: the embedded simulated camera (``--simulate``): reached only through its seam
        self.simulator: EmbeddedCamera | None = None
        self.guid: str = config.guid or ""
        self.started = time.monotonic()
        self.malformed = 0
        self.requests = 0
        self._malformed_logged: set[bytes] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        #: requests between arrival and reply: their deadlines, ``cancel`` and stopping
        self.flights = Flights()
        self._background: list[asyncio.Task[Any]] = []
        #: (identity, id, request hash) -> (time, reply frames or None while running, waiting envelopes)
        self._cache: collections.OrderedDict[
            tuple[bytes, Any, bytes], tuple[float, list[bus.Buffer] | None, list[list[bytes]]]
        ] = collections.OrderedDict()
        self._cache_bytes = 0  #: bytes of the replies in ``_cache``
        #: big replies sent and not yet read by their clients
        self.unsent = UnsentReplies()
        self._stop = asyncio.Event()
        self._stopping = False
        self._auth: Any = None
        self._camera_target: tuple[str, tuple[int, int, int]] | None = None

    # -- camera construction ---------------------------------------------------------

    def _make_camera(self) -> Camera:
        """A new camera of the configured vendor at the target (the camera layer's registry)."""
        assert self._camera_target is not None
        host, ports = self._camera_target
        cfg = self.config
        guid = uuid.UUID(self.guid).bytes  # PTP/IP sends the 16 bytes
        target = Target(host, ports, guid, name=cfg.name, timeout=cfg.timeout, on_pairing=self.link.pairing)
        return cfg.camera_vendor().make(target)

    # -- start -----------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the bus, start the simulator if asked, and start the camera link."""
        cfg = self.config
        if not self.guid:
            self.guid = await asyncio.to_thread(load_or_create_guid, cfg.state_dir)
        # temp files of a daemon killed mid-write go, then every write is noted first
        journal = Journal(cfg.state_dir)
        await asyncio.to_thread(journal.clean)
        files.set_journal(journal)
        ensure_ipc_dirs(cfg)
        for ep in (cfg.command_endpoint, cfg.event_endpoint, cfg.liveview_endpoint):
            if ipc_in_use(ep):
                raise zmq.ZMQError(zmq.EADDRINUSE, f"{ep} is in use (another ptpd running?)")
        self._setup_security()
        self.router.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self.router.setsockopt(zmq.ROUTER_HANDOVER, 1)
        self.router.setsockopt(zmq.LINGER, 200)
        self.router.setsockopt(zmq.MAXMSGSIZE, bus.MAX_REQUEST_BYTES + 1024)
        # libzmq queues a connection's requests ahead of our reading by count, not bytes:
        # with one queued (and one arriving), a connection's big one-frame requests cost
        # the daemon about three MAX_REQUEST_BYTES however many it sends (MAXMSGSIZE caps
        # a frame; nothing in libzmq caps a message's frames: docs/reliability.md). Not
        # under CURVE: libzmq 4.3.5 aborts (assertion !_io_error in stream_engine_base)
        # when a CURVE connection's input, stopped at the mark, starts again.
        if not self.router.get(zmq.CURVE_SERVER):
            self.router.setsockopt(zmq.RCVHWM, bus.QUEUED_REQUESTS)
        self.events.guard(cfg.event_endpoint)
        self.liveview.guard(cfg.liveview_endpoint)
        for sock, ep in (
            (self.router, cfg.command_endpoint),
            (self.events.sock, cfg.event_endpoint),
            (self.liveview.sock, cfg.liveview_endpoint),
        ):
            if bus.needs_ipv6(ep):
                sock.setsockopt(zmq.IPV6, 1)
            sock.bind(ep)
        if cfg.simulate:
            sim = await start_embedded(
                cfg.simulate, model=cfg.sim_model, latency_ms=cfg.sim_latency, options=cfg.sim_options
            )
            self.simulator = sim
            self._camera_target = (sim.host, sim.ports)
        else:
            assert cfg.host is not None
            self._camera_target = (cfg.host, cfg.camera_ports())
        self.jobs.start(cfg.state_dir or default_state_dir())  # running jobs resume (they wait for the camera)
        spawn = self._background.append
        spawn(asyncio.create_task(self._router_loop(), name="router"))
        spawn(asyncio.create_task(self.events.run(), name="event-subscriptions"))
        spawn(asyncio.create_task(self.liveview.run(), name="liveview-subscriptions"))
        spawn(asyncio.create_task(self._heartbeat(), name="heartbeat"))
        spawn(asyncio.create_task(self.link.run(), name="camera-link"))
        if self.notifier.watchdog_interval:
            spawn(asyncio.create_task(self._watchdog(self.notifier.watchdog_interval), name="watchdog"))
        log.info(
            "ptpd ready: command %s, event %s, liveview %s; camera %s %s",
            cfg.command_endpoint,
            cfg.event_endpoint,
            cfg.liveview_endpoint,
            cfg.vendor,
            "simulated" if cfg.simulate else f"{cfg.host}:{cfg.camera_ports()[0]}",
        )
        self.notifier.ready(f"serving on {cfg.command_endpoint}")

    def _setup_security(self) -> None:
        cfg = self.config
        tcp = [
            (s, ep)
            for s, ep in (
                (self.router, cfg.command_endpoint),
                (self.events.sock, cfg.event_endpoint),
                (self.liveview.sock, cfg.liveview_endpoint),
            )
            if ep.startswith("tcp://") or not endpoint_is_local(ep)
        ]
        for sock, ep in tcp:
            if ep.startswith("tcp://"):
                # ZMTP heartbeats notice a peer that vanished without a FIN (Wi-Fi, NAT)
                sock.setsockopt(zmq.HEARTBEAT_IVL, 2000)
                sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, 6000)
        if not tcp or not cfg.curve_secret_key:
            return
        from zmq.auth import load_certificate
        from zmq.auth.asyncio import AsyncioAuthenticator

        public, secret = load_certificate(cfg.curve_secret_key)
        if not secret:
            raise BusError(ErrorCode.INTERNAL, f"{cfg.curve_secret_key} holds no secret key")
        self._auth = AsyncioAuthenticator(self.ctx)
        self._auth.start()
        self._auth.configure_curve(domain="*", location=cfg.curve_clients)
        for sock, ep in tcp:
            sock.curve_secretkey = secret
            sock.curve_publickey = public
            sock.curve_server = True
            log.info(
                "CURVE on %s (%s loopback); allowed client keys in %s",
                ep,
                "on" if endpoint_is_local(ep) else "beyond",
                cfg.curve_clients,
            )

    # -- requests ----------------------------------------------------------------------

    async def _router_loop(self) -> None:
        while True:
            try:
                async for parts in drained(self.router, multipart=True):
                    frames: list[Any] = [p.bytes if len(p) <= _COPY_FRAMES_UP_TO else p.buffer for p in parts]
                    del parts  # the request's memory goes with its handling (see drained)
                    try:
                        self._on_message(frames)
                    except Exception:  # a bug in routing must not take the daemon down
                        log.exception("routing a request failed")
                    del frames
            except zmq.ZMQError as exc:
                log.warning("command socket receive failed: %s", exc)
                await asyncio.sleep(0.01)

    def _on_message(self, frames: list[bytes]) -> None:
        identity, rest = frames[0], frames[1:]
        if rest and rest[0] == b"":
            envelope, body = [identity, b""], rest[1:]  # REQ, or DEALER that adds the delimiter
        else:
            envelope, body = [identity], rest  # bare DEALER
        self.requests += 1
        if not body:
            self._bad(
                envelope,
                None,
                BusError(ErrorCode.BAD_REQUEST, "a request is a msgpack header frame (and its blob frames), got none"),
            )
            return
        raw, blobs = body[0], body[1:]  # blobs: frames the header refers to as {"$blob": i}
        try:
            req = bus.decode_request(raw, blobs)
        except BusError as err:
            self._bad(envelope, bus.request_id_of(raw), err)
            return
        cmd = bus.COMMANDS.get(req.cmd)
        if cmd is None or req.cmd not in HANDLERS:
            self._bad(
                envelope, req.id, BusError(ErrorCode.UNKNOWN_COMMAND, f"unknown command {_clip(req.cmd)}; see 'help'")
            )
            return
        key = None
        if cmd.side_effects:
            key = (identity, req.id, _digest(raw, blobs))
            hit = self._cache.get(key)
            if hit is not None:
                _, reply, waiters = hit
                if reply is None:
                    waiters.append(envelope)  # the first attempt is still running: answer both
                else:
                    log.info("request %r repeated: answered from the reply cache", req.id)
                    self._send(envelope, reply)
                return
            self._cache[key] = (time.monotonic(), None, [])
            self._trim_cache()
        if len(self._tasks) >= MAX_IN_FLIGHT:
            self._reply(
                envelope,
                key,
                [bus.encode_error(req.id, BusError(ErrorCode.CAMERA_BUSY, "too many requests in flight"))],
            )
            return
        if cmd.binary and (why := self.unsent.over_budget(identity)) is not None:
            # nothing ran: a retry once the replies are read must run (not cached)
            self._reply(envelope, key, [bus.encode_error(req.id, BusError(ErrorCode.CAMERA_BUSY, why))], cache=False)
            return
        flight = self.flights.add(identity, req.id, req.cmd, req.timeout)
        task = asyncio.create_task(self._run(envelope, key, req, cmd, flight))
        flight.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda t: self._landed(t, flight, envelope, key, cmd.name))

    def _bad(self, envelope: list[bytes], rid: Any, err: BusError) -> None:
        self.malformed += 1
        ident = envelope[0]
        if ident not in self._malformed_logged and len(self._malformed_logged) < 10_000:
            self._malformed_logged.add(ident)
            log.warning(
                "bad request from client %s: %s: %s (further ones from it logged at debug)",
                ident.hex(),
                err.code.value,
                err.message,
            )
        else:
            log.debug("bad request from client %s: %s", ident.hex(), err.message)
        self._send(envelope, [bus.encode_error(rid, err)])

    async def _run(self, envelope: list[bytes], key: Any, req: bus.Request, cmd: bus.Command, flight: Flight) -> None:
        cache = True
        control = flight.control
        lease = None
        try:
            args = check_args(cmd, req.args)
            if self._stopping and not cmd.local:
                raise BusError(ErrorCode.NOT_CONNECTED, "the daemon is stopping")
            # the lease holder's requests keep its lease; a guarded command of anyone else is refused
            lease = self.leases.begin(envelope[0], req.lease, cmd.name if cmd.guarded else None)
            result = await HANDLERS[cmd.name](self, args, Request(req.id, envelope[0], control, req.lease))
            if cmd.binary and not cmd.side_effects:
                # bytes read back to back may all be ready before the first is sent: the
                # client's unread replies are looked at again as this one would join them
                # (nothing is lost: a download can be asked again)
                self.reply_room(Request(req.id, envelope[0], control, req.lease))
            # bytes of a binary result go as blob frames (zero-copy) to a client that asks
            reply = bus.encode_reply_frames(req.id, result, req.blobs and cmd.binary)
        except asyncio.CancelledError:
            flight.answered = True
            why = control.stopped
            if why in (Stop.CANCELLED, Stop.EXPIRED) and not control.started:
                # stopped by its client or its deadline before it touched the camera: it
                # answers and ends here (the cancellation was ours, for this task alone)
                self._reply(envelope, key, [bus.encode_error(req.id, not_started(why, cmd.name))], cache=False)
                return
            reply = [bus.encode_error(req.id, BusError(ErrorCode.NOT_CONNECTED, "the daemon is stopping"))]
            self._reply(envelope, key, reply)
            raise
        except Exception as exc:
            # Our own refusals mean nothing ran: a retry must run, not get this answer again.
            # (a BusError marked ``ran``, e.g. a capture whose download failed, did run)
            cache = not isinstance(exc, BusError) or bool(getattr(exc, "ran", False))
            err = to_bus_error(exc)
            if err.code is ErrorCode.INTERNAL:
                log.exception("command %s failed", cmd.name)
            else:
                log.debug("command %s: %s: %s", cmd.name, err.code.value, err.message)
            try:
                reply = [bus.encode_error(req.id, err)]
            except Exception:  # pragma: no cover - a message that msgpack cannot encode
                reply = [bus.encode_error(req.id, BusError(ErrorCode.INTERNAL, "unencodable error"))]
        finally:
            self.leases.end(lease)
        flight.answered = True
        self._reply(envelope, key, reply, cache)

    def _landed(self, task: asyncio.Task[Any], flight: Flight, envelope: list[bytes], key: Any, name: str) -> None:
        """A request's task ended: it leaves the flights, and one cancelled before its first
        step (the router read its ``cancel`` first) still gets its answer."""
        self.flights.remove(flight)
        if flight.answered or not task.cancelled():
            return
        why = flight.control.stopped or Stop.STOPPING
        self._reply(envelope, key, [bus.encode_error(flight.id, not_started(why, name))], cache=False)

    def _reply(self, envelope: list[bytes], key: Any, reply: list[bus.Buffer], cache: bool = True) -> None:
        self._send(envelope, reply)
        if key is not None:
            entry = self._cache.pop(key, None)
            waiters = entry[2] if entry else []
            if cache:
                self._cache[key] = (time.monotonic(), reply, [])
                self._cache_bytes += _size(reply)
                self._trim_cache()
            for w in waiters:
                self._send(w, reply)

    def _send(self, envelope: list[bytes], reply: list[bus.Buffer]) -> None:
        size = _size(reply)
        track = size >= TRACKED  # a big reply counts until libzmq lets go of it
        try:
            # copy=False: a blob leaves from the camera's own buffer (small frames are
            # copied by pyzmq anyway, below its copy threshold)
            fut = cast(  # a Future (done at once with DONTWAIT); pyzmq types it Awaitable
                "asyncio.Future[Any]",
                self.router.send_multipart([*envelope, *reply], flags=zmq.DONTWAIT, copy=False, track=track),
            )
        except zmq.ZMQError as exc:
            log.debug("reply to %s dropped: %s", envelope[0].hex(), exc)
            return
        client = envelope[0]

        def sent(f: asyncio.Future[Any]) -> None:
            if f.cancelled():
                return
            if f.exception() is not None:
                # EHOSTUNREACH: the client left; EAGAIN: it stopped reading its replies
                log.debug("reply to %s dropped: %s", client.hex(), f.exception())
            elif track:
                self.unsent.add(client, f.result(), size)

        if fut.done():
            sent(fut)
        else:  # queued behind earlier sends: it counts once it is handed to libzmq
            fut.add_done_callback(sent)

    def _trim_cache(self) -> None:
        """Drop the oldest replies while there are too many, too many bytes of them (the
        newest is kept), or they are past their time. Oldest first: it stops at the
        first finished reply that stays (requests still running are passed over)."""
        now = time.monotonic()
        cache = self._cache
        skipped = 0
        while cache and skipped < len(cache):
            k, (t, reply, _) = next(iter(cache.items()))
            if len(cache) <= REPLY_CACHE_SIZE:
                if reply is None:
                    cache.move_to_end(k)  # still running (its waiters need it): look further
                    skipped += 1
                    continue
                size = _size(reply)
                # the newest reply stays even when it alone is over the byte budget
                if now - t <= REPLY_CACHE_TTL and (self._cache_bytes <= REPLY_CACHE_BYTES or self._cache_bytes == size):
                    break
            cache.popitem(last=False)
            if reply is not None:
                self._cache_bytes -= _size(reply)

    # -- helpers for handlers -----------------------------------------------------------

    def status(self) -> dict[str, Any]:
        link = self.link
        return {
            "connection": link.connection.value,
            "detail": link.detail,
            # with --vendor auto, the dialect the camera turned out to speak once connected
            "vendor": link.info.vendor if self.config.vendor == "auto" and link.info else self.config.vendor,
            "model": link.info.model if link.info else "",
            "simulated": bool(self.config.simulate),
            "queue": link.queue_depth,
            "busy": link.busy,
            "subscribers": self.events.subs.total(),
            "liveview": {
                "on": link.liveview_on,
                "requested": link.liveview_requested,
                "fps": self.liveview.fps(),
                "subscribers": self.liveview.watchers,
                "frames": self.liveview.seq,
                "unsupported": link.liveview_unsupported,
            },
            "seq": self.events.seq,
            "uptime": round(time.monotonic() - self.started, 3),
            "reconnects": link.reconnects,
            "requests": self.requests,
            "bad_requests": self.malformed,
            "lease": self.leases.summary(),
            "jobs": len(self.jobs.running),
        }

    def cancel(self, request: Request, rid: Any) -> str:
        """``cancel``: stop request ``rid`` of the same client (see :mod:`.inflight`)."""
        state = self.flights.cancel(request.identity, rid)
        if state is not None:
            log.info("request %s cancelled by its client (%s)", _clip(str(rid)), state)
            return state
        # answered already? a side-effect request's reply is kept (a retry gets it)
        done = any(k[0] == request.identity and k[1] == rid and v[1] is not None for k, v in self._cache.items())
        return "done" if done else "unknown"

    def reply_room(self, request: Request) -> None:
        why = self.unsent.over_budget(request.identity)
        if why is not None:
            raise BusError(ErrorCode.CAMERA_BUSY, why)

    def progress_reporter(self, request: Request, handle: int) -> Progress:
        last = [-1.0]

        def report(done: int, total: int) -> None:
            frac = done / total if total else 1.0
            if frac - last[0] >= 0.05 or done >= total:
                last[0] = frac
                self.events.publish(
                    bus.Topic.PROGRESS, {"id": request.id, "handle": handle, "done": done, "total": total}
                )

        return report

    async def sim_fault(self, action: str, options: dict[str, Any]) -> Any:
        """``sim.fault``: the embedded simulator's fault control, which checks its own options."""
        if self.simulator is None:
            raise BusError(ErrorCode.UNSUPPORTED, "sim.fault needs a daemon started with --simulate")
        try:
            return self.simulator.control(action, options)
        except ControlError as exc:
            raise BusError(ErrorCode.BAD_REQUEST, f"sim.fault: {exc}") from exc

    async def sim_shutter(self, count: int) -> list[int]:
        """``sim.shutter``: the embedded simulated body's shutter button, pressed."""
        if self.simulator is None:
            raise BusError(ErrorCode.UNSUPPORTED, "sim.shutter needs a daemon started with --simulate")
        try:
            return await self.simulator.press_shutter(count)
        except ControlError as exc:
            raise BusError(ErrorCode.BAD_REQUEST, f"sim.shutter: {exc}") from exc

    def _camera_news(self, publish: Callable[[str, dict[str, Any]], int], topic: str, data: dict[str, Any]) -> int:
        """What the camera link publishes goes out on the event socket and to the jobs."""
        seq = publish(topic, data)
        self.jobs.on_event(topic, data)
        return seq

    def _on_watchers(self, n: int) -> None:
        self.link.set_watchers(n)

    # -- periodic --------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self._trim_cache()  # replies expire even when no request comes
            for budget in (self.events.budget, self.liveview.budget):
                if budget is not None:
                    budget.follow()  # forget subscribers that left
            self.events.publish(bus.Topic.HEARTBEAT, self.status())

    async def _watchdog(self, interval: float) -> None:
        # fed from the loop itself: a stuck loop stops the pings and systemd restarts us
        while True:
            self.notifier.watchdog()
            await asyncio.sleep(interval)

    # -- stop ------------------------------------------------------------------------

    def request_stop(self) -> None:
        self._stop.set()

    async def wait_stopped(self) -> None:
        await self._stop.wait()

    async def stop(self) -> None:
        """Finish or cancel the transaction in flight, close the session and the bus."""
        if self._stopping:
            return
        self._stopping = True
        log.info("stopping")
        self.notifier.stopping()
        self.jobs.begin_stop()  # no job starts another shot; they resume on the next start
        self.link.begin_stop()
        # queued requests answer now; a running capture stops after the shot in progress
        self.flights.stop_all(Stop.STOPPING)
        if not await self.link.wait_idle(1.5):
            # cancel it: the camera layer aborts the transaction, the client gets an answer
            log.warning("cancelling %s: still running after 1.5s", self.link.busy)
            for t in list(self._tasks):
                t.cancel()
            await self.link.wait_idle(0.5)
        await self.jobs.stop()
        await self.link.stop(grace=0.1, close_timeout=1.0)
        for t in self._background:
            t.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        pending = list(self._tasks)
        if pending:
            _, still = await asyncio.wait(pending, timeout=0.3)
            for t in still:
                t.cancel()
            await asyncio.gather(*still, return_exceptions=True)
        if self.simulator is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.simulator.close(), 2.0)
        await asyncio.sleep(0.05)  # let the last replies and the stopping status leave
        if self._auth is not None:
            self._auth.stop()
        files.set_journal(None)
        for budget in (self.events.budget, self.liveview.budget):
            if budget is not None:
                budget.close()
        for sock in (self.router, self.events.sock, self.liveview.sock):
            sock.close(linger=100)
        self.ctx.term()
        log.info("stopped")


def _size(frames: list[bus.Buffer]) -> int:
    return sum(len(f) for f in frames)


def _digest(raw: bus.Buffer, blobs: list[Any]) -> bytes:
    """What a retried request must repeat exactly: a hash of its frames, read in place."""
    h = hashlib.blake2b(digest_size=16)
    for frame in (raw, *blobs):
        h.update(len(frame).to_bytes(8, "little"))
        h.update(frame)
    return h.digest()


def _clip(text: str, limit: int = 64) -> str:
    """A client-supplied string for an error message: never echo megabytes back."""
    r = repr(text)
    return r if len(r) <= limit else f"{r[:limit]}... ({len(text)} characters)"


async def serve(config: Config, camera_factory: Callable[[], Camera] | None = None) -> int:
    """Run a daemon until SIGTERM/SIGINT; returns the exit status."""
    daemon = Daemon(config, camera_factory)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, daemon.request_stop)
    try:
        await daemon.start()
    except zmq.ZMQError as exc:
        log.error("cannot bind the bus: %s", exc)
        await daemon.stop()
        return 1
    except OptionError as exc:  # the configuration's, as a key the file cannot have
        log.error("cannot start: %s", exc)
        await daemon.stop()
        return EXIT_CONFIG
    except Exception as exc:
        log.error("cannot start: %s: %s", type(exc).__name__, exc)
        await daemon.stop()
        return 1
    await daemon.wait_stopped()
    await daemon.stop()
    return 0
