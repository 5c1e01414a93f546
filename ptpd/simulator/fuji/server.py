"""The simulated Fuji body's server: three TCP ports, the sessions on them, faults applied.

Theory of operation
-------------------
Ports ``P`` (commands), ``P+1`` (events) and ``P+2`` (live view), 55740-55742 by default.
The server owns the sockets: it reads the command channel through
:class:`ptpd.fuji.connection.FujiResponderConnection`, hands each operation to the
sans-I/O :class:`~.session.FujiSession` and carries out its :class:`~.session.Reply`,
applying the latency model and the :class:`~ptpd.simulator.faults.Faults` around it
(:mod:`ptpd.simulator.serving`). It writes events to every event connection and hands
live-view connections to :class:`~.liveview.LiveViewServer`.

A new host's handshake takes the camera over: the old session's sockets go first, as on a
body whose Wi-Fi client changes. A fault may write bytes the connection would never
produce (a bad length, an undefined container kind, a data phase cut short) or close
everything mid-transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import hashlib
import logging
import random
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ptpd.fuji.codes import FUJI_PROTOCOL_VERSION, InitFailReason
from ptpd.fuji.codes import FujiOperationCode as FOP
from ptpd.fuji.connection import FujiResponderConnection
from ptpd.fuji.events import (
    NEED_DATA,
    ConnectionClosed,
    Data,
    InitAccepted,
    InitRejected,
    InitRequest,
    OperationRequest,
    OperationResponse,
)
from ptpd.fuji.packets import Container
from ptpd.protocol.codes import OperationCode as OP
from ptpd.protocol.codes import ResponseCode as RC
from ptpd.protocol.errors import ProtocolError
from ptpd.simulator import faults as flt
from ptpd.simulator import scene, serving
from ptpd.simulator.frames import FrameSource
from ptpd.simulator.fuji.device import FujiDevice
from ptpd.simulator.fuji.liveview import LiveViewServer
from ptpd.simulator.fuji.profiles import get_profile
from ptpd.simulator.fuji.session import CAPTURE_STYLES, CaptureJob, FujiSession, Reply

log = logging.getLogger(__name__)

__all__ = ["DATA_IN_OPERATIONS", "FujiSimulator", "start_fuji_simulator"]

#: operations whose answer has a data phase (for fault planning before the answer exists)
DATA_IN_OPERATIONS = serving.DATA_IN_OPERATIONS | {FOP.GetCapturePreview, FOP.GetPropertyList}
#: [sim] the container kind of the "unknown packet" fault: defined by neither USB nor Fuji
UNDEFINED_CONTAINER_KIND = 0x0077


class _Closed(Exception):
    """Internal: the session's sockets were closed."""


@dataclass(eq=False)
class _Link:
    """One command connection and the session on it."""

    number: int
    writer: asyncio.StreamWriter
    session: FujiSession | None = None
    closed: bool = False
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)


class FujiSimulator:
    """A running simulated Fuji camera. Make one with :func:`start_fuji_simulator`."""

    vendor = "fuji"

    def __init__(
        self,
        device: FujiDevice,
        *,
        faults: flt.Faults | None = None,
        latency_ms: float = 0.0,
        latency_jitter_ms: float = 0.0,
        pairing_delay: float = 1.0,
        refuse_pairing: bool = False,
        strict_name: bool = False,
        capture_style: str = "auto",
        liveview_fps: float = 30.0,
        full_device_info: bool = False,
        late_ports: bool = True,
    ) -> None:
        if capture_style not in CAPTURE_STYLES:
            raise ValueError(f"capture_style must be one of {', '.join(CAPTURE_STYLES)}")
        self.device = device
        self.profile = device.profile
        self.faults = faults or flt.Faults()
        self.latency_ms = latency_ms
        #: each transaction waits ``latency_ms`` plus up to ``latency_jitter_ms`` more (uniform)
        self.answer_time = serving.AnswerTime(latency_ms, latency_jitter_ms)
        self.pairing_delay = pairing_delay
        self.refuse_pairing = refuse_pairing
        self.strict_name = strict_name
        self.capture_style = capture_style
        self.full_device_info = full_device_info
        self.late_ports = late_ports
        self.guid = hashlib.md5(b"ptpd-fuji-" + self.profile.model.encode()).digest()
        self.host = ""
        self.port = 0
        self.event_port = 0
        self.liveview_port = 0
        self.frames = FrameSource(device.schedule, fps=liveview_fps, settings=device.settings_labels)
        self.liveview = LiveViewServer(
            self.frames, fps=liveview_fps, size=device.liveview_size, clock=device.scene_clock, allow=self._open_capture
        )
        self._servers: list[asyncio.AbstractServer] = []
        self._link: _Link | None = None
        self._numbers = 0
        self._event_writers: set[asyncio.StreamWriter] = set()
        self._connections: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False
        #: for tests: sessions opened, transactions answered, pairing prompts shown
        self.sessions_opened = 0
        self.transactions = 0
        self.pairing_prompts = 0

    @property
    def schedule(self) -> scene.SceneSchedule:
        """What the scene shows when (captures and live view)."""
        return self.device.schedule

    def show_subject(self, subject: str, duration: float | None = None) -> None:
        """Show ``subject`` from now on (for ``duration`` seconds), over the schedule."""
        t = self.device.scene_clock()
        self.device.schedule.show(subject, t, None if duration is None else t + duration)

    @property
    def connected(self) -> bool:
        return self._link is not None and not self._link.closed

    def _open_capture(self) -> bool:
        """The event and live-view ports serve only after InitiateOpenCapture [real-log X-T4,
        X-T5: connections after 0x101C; libgphoto2 and libfuji connect them only then];
        ``late_ports=False`` serves them always (a benchmark reading the bare stream)."""
        if not self.late_ports:
            return True
        link = self._link
        return link is not None and not link.closed and link.session is not None and link.session.open_capture

    # -- life cycle ------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> FujiSimulator:
        """Listen on ``port``, ``port+1``, ``port+2`` (port 0: a free block of three)."""
        last: OSError | None = None
        for _ in range(50 if port == 0 else 1):
            base = port or _free_base(host)
            try:
                await self._listen(host, base)
            except OSError as exc:
                last = exc
                await self._stop_listening()
                continue
            self.host, self.port = host, base
            self.event_port, self.liveview_port = base + 1, base + 2
            self._spawn(
                serving.watch_sleep(self.faults, lambda: self._link is not None, self._drop_link), "ptpd-fuji-watchdog"
            )
            log.info("Fuji %s on %s:%d-%d", self.profile.model, host, base, base + 2)
            return self
        assert last is not None
        raise last

    async def _listen(self, host: str, base: int) -> None:
        self._servers.append(await asyncio.start_server(self._on_command, host, base, reuse_address=True))
        self._servers.append(await asyncio.start_server(self._on_event, host, base + 1, reuse_address=True))
        self._servers.append(await self.liveview.start(host, base + 2))

    async def _stop_listening(self) -> None:
        for s in self._servers:
            s.close()
        self._servers.clear()
        await self.liveview.close()

    async def close(self) -> None:
        """Stop listening and close every connection."""
        if self._closing:
            return
        self._closing = True
        for t in list(self._tasks):
            t.cancel()
        for s in self._servers:
            s.close()
        self._drop_link()
        for w in list(self._connections):
            with contextlib.suppress(Exception):
                w.close()
        await self.liveview.close()
        for s in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(s.wait_closed(), 5)

    async def __aenter__(self) -> FujiSimulator:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def drop_all(self) -> None:
        """Close every socket of the session now (Wi-Fi loss)."""
        self._drop_link()

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _drop_link(self) -> None:
        link, self._link = self._link, None
        if link is not None and not link.closed:
            link.closed = True
            with contextlib.suppress(Exception):
                link.writer.close()
            for t in link.tasks:
                if t is not asyncio.current_task():
                    t.cancel()
        for w in list(self._event_writers):
            with contextlib.suppress(Exception):
                w.close()
        self._event_writers.clear()
        self.liveview.drop_clients()

    # -- event port --------------------------------------------------------------------

    async def _on_event(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._closing or self.faults.asleep() or not self._open_capture():
            writer.close()
            return
        _tune(writer)
        self._event_writers.add(writer)
        try:
            while await reader.read(4096):
                pass  # nothing is expected from the host on this channel
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._event_writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _send_events(self, events: tuple[bytes, ...]) -> None:
        for ev in events:
            for w in list(self._event_writers):
                try:
                    w.write(ev)
                    await w.drain()
                except (ConnectionError, RuntimeError):
                    self._event_writers.discard(w)

    # -- command port ------------------------------------------------------------------

    async def _on_command(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        _tune(writer)
        conn = FujiResponderConnection()
        link: _Link | None = None
        try:
            if self._closing or self.faults.asleep():
                return
            while True:
                ev = conn.next_event()
                if ev is NEED_DATA:
                    data = await reader.read(256 * 1024)
                    conn.receive_data(data)
                    continue
                if isinstance(ev, ConnectionClosed):
                    return
                if isinstance(ev, InitRequest):
                    link = await self._handshake(conn, ev, writer, link)
                    if link is None:
                        return
                    continue
                assert link is not None
                if link.closed:
                    return
                if isinstance(ev, OperationRequest):
                    payload: bytes | None = None
                    assert link.session is not None
                    if ev.code in link.session.data_out_operations:
                        while (nxt := conn.next_event()) is NEED_DATA:
                            chunk = await reader.read(256 * 1024)
                            conn.receive_data(chunk)
                        if not isinstance(nxt, Data):
                            return
                        payload = nxt.payload
                    await self._transaction(conn, link, ev, payload)
                else:
                    log.debug("ignoring %r outside a transaction", ev)
        except (ProtocolError, ConnectionError, _Closed, asyncio.CancelledError) as exc:
            log.debug("command connection ends: %r", exc)
        except Exception:
            log.exception("command connection failed")
        finally:
            self._connections.discard(writer)
            if link is not None and self._link is link:
                self._drop_link()
            with contextlib.suppress(Exception):
                writer.close()

    async def _handshake(
        self, conn: FujiResponderConnection, ev: InitRequest, writer: asyncio.StreamWriter, link: _Link | None
    ) -> _Link | None:
        reason = self.faults.on_init()
        if reason is None and ev.version != FUJI_PROTOCOL_VERSION:
            reason = InitFailReason.WrongVersion
        if reason is None and self.strict_name:
            with self.device.lock:
                paired = set(self.device.paired)
            if paired and ev.name not in paired:
                reason = InitFailReason.NameNotAccepted
        if reason is not None:
            log.info("InitFail 0x%X for %r", reason, ev.name)
            writer.write(conn.send(InitRejected(int(reason))))
            with contextlib.suppress(Exception):
                await writer.drain()
            return None
        if link is None:
            # A new host takes the camera over: the old session's sockets go first.
            if self._link is not None:
                log.info("host %r takes the camera over", ev.name)
                self._drop_link()
            self._numbers += 1
            link = _Link(self._numbers, writer)
            link.session = FujiSession(
                self.device, ev.name, self.pairing_delay, self.refuse_pairing, self.capture_style, self.full_device_info
            )
            me = asyncio.current_task()
            if me is not None:
                link.tasks.add(me)
            self._link = link
        # libgphoto2 sends its request twice on one socket: ack both.
        ack = conn.send(InitAccepted(0, self.guid, self.profile.model, 0x00010000))
        writer.write(_pad_ack(ack))
        await writer.drain()
        return link

    async def _transaction(
        self, conn: FujiResponderConnection, link: _Link, req: OperationRequest, payload: bytes | None
    ) -> None:
        session = link.session
        assert session is not None
        writer = link.writer
        tid = req.transaction_id
        plan = self.faults.on_transaction(req.code, req.code in DATA_IN_OPERATIONS)
        delay = serving.plan_delay(plan, self.answer_time.next_ms())
        if delay > 0:
            await asyncio.sleep(delay)
        if link.closed:
            raise _Closed()
        if plan.drop is flt.DropPoint.BEFORE_DATA:
            log.info("fault: dropping the session before transaction %d", tid)
            self._drop_link()
            raise _Closed()
        prompts = session.pairing_prompts
        reply = Reply(RC.DeviceBusy) if plan.busy else session.handle(req.code, tid, req.params, payload)
        self.transactions += 1
        if session.pairing_prompts != prompts:
            self.pairing_prompts += 1
        if req.code == OP.OpenSession and reply.code == RC.OK:
            self.sessions_opened += 1
        if reply.delay_s > 0:
            await asyncio.sleep(reply.delay_s)
            if link.closed:
                raise _Closed()
        if plan.malformed is flt.Malformed.BAD_LENGTH:
            writer.write(flt.bad_length_packet())
            await writer.drain()
            raise _Closed()
        if plan.malformed is not None and reply.data is None:
            # an undefined container kind, well framed
            writer.write(struct.pack("<IHHI", 12, UNDEFINED_CONTAINER_KIND, req.code, tid))
        if reply.data is not None:
            body: bytes | memoryview = reply.data
            if plan.malformed is not None:
                body = flt.corrupt_payload(plan.malformed, req.code, bytes(body))
            if plan.drop is flt.DropPoint.MID_DATA:
                cut = int(len(body) * plan.drop_fraction)
                frame = Container.data(req.code, tid, body)
                writer.write(frame.header())
                writer.write(bytes(memoryview(body)[:cut]))
                await writer.drain()
                self._drop_link()
                raise _Closed()
            frame = Container.data(req.code, tid, body)
            conn.send(Data(req.code, tid, b""))  # state bookkeeping; the bytes go out below
            writer.write(frame.header())
            writer.write(body)
        if plan.drop is not None:
            self._drop_link()
            raise _Closed()
        writer.write(conn.send(OperationResponse(reply.code, tid, reply.params)))
        await writer.drain()
        if reply.events:
            await self._send_events(reply.events)
        if reply.close:
            await asyncio.sleep(0.05)  # let the response reach the host first
            self._drop_link()
            raise _Closed()
        if reply.capture is not None:
            self._spawn(self._capture(session, reply.capture), f"ptpd-fuji-capture-{tid}")

    async def _capture(self, session: FujiSession, job: CaptureJob) -> None:
        if job.delay_s > 0:
            await asyncio.sleep(job.delay_s)
        try:
            events = await asyncio.to_thread(session.complete_capture, job)
        except Exception:
            log.exception("capture failed")
            return
        if self._link is not None and self._link.session is session:
            await self._send_events(events)


def _flag(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _pad_ack(ack: bytes) -> bytes:
    """The X-T100's ack is 68 bytes (a 36-byte name area, libgphoto2 issue #517): pad ours
    the same way, NUL-terminated name first, so hosts that copy up to the NUL are safe."""
    if len(ack) >= 68:
        return ack
    name_end = len(ack) - 4
    padded = ack[:name_end] + b"\x00" * (68 - len(ack)) + ack[name_end:]
    return struct.pack("<I", len(padded)) + padded[4:]


def _tune(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)


def _free_base(host: str) -> int:
    """A port P such that P, P+1 and P+2 look free right now (the caller retries races)."""
    for _ in range(200):
        base = random.randint(20000, 60000)
        socks = []
        try:
            for off in range(3):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind((host, base + off))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise OSError("no block of three free ports found")


async def start_fuji_simulator(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    model: str | None = None,
    latency_ms: float = 0.0,
    latency_jitter_ms: float = 0.0,
    pairing_delay: float = 1.0,
    refuse_pairing: bool = False,
    strict_name: bool = False,
    paired_names: tuple[str, ...] | list[str] = (),
    liveview_fps: float = 30.0,
    subject: str | scene.SceneSchedule | None = "object",
    capture_style: str = "auto",
    initial_images: int = 2,
    big_object_mb: float = 0.0,
    vendor_extension_id: int = 0,
    full_device_info: bool = False,
    late_ports: bool = True,
    faults: flt.Faults | None = None,
    clock: Callable[[], _dt.datetime] | None = None,
    **options: Any,
) -> FujiSimulator:
    """Start a simulated Fuji camera in the running loop; it serves until ``close()``.

    ``model``: a profile of :mod:`.profiles` (X-T1 by default). ``pairing_delay``:
    seconds the camera "waits for the user" on a new client; ``refuse_pairing``: the user
    says no. ``strict_name``: refuse (InitFail 0x2019) names other than the paired ones;
    ``paired_names`` are paired from the start. ``subject``: what the scene shows, a
    :class:`~ptpd.simulator.scene.SceneSchedule` spec such as ``"object"`` (default),
    ``"none"`` or ``"none,object@3"``. ``capture_style``: ``"auto"``, ``"fuji"``,
    ``"standard"`` (package docstring). ``big_object_mb`` adds one JPEG of about that
    size to the card (benchmarks). ``latency_jitter_ms`` adds to each transaction's
    ``latency_ms`` a uniform extra of up to that many ms. Over Wi-Fi the bodies answer an
    empty DeviceInfo; ``full_device_info`` answers it in full (tests), and so does a
    ``vendor_extension_id``, which it then reports (0x0E for libgphoto2's Fuji paths:
    ``FujiDevice.device_info``). ``late_ports=False`` serves the event and live-view ports
    before InitiateOpenCapture too (benchmarks reading the bare stream; bodies open them
    only then). Unknown ``options`` are refused.
    """
    if options:
        raise TypeError(f"unknown Fuji simulator options: {', '.join(sorted(options))}")
    # options may come from a config file as text: take them as the types they mean
    pairing_delay, liveview_fps = float(pairing_delay), float(liveview_fps)
    refuse_pairing, strict_name = _flag(refuse_pairing), _flag(strict_name)
    initial_images, big_object_mb = int(initial_images), float(big_object_mb)
    if isinstance(paired_names, str):
        paired_names = [n.strip() for n in paired_names.split(",") if n.strip()]
    profile = get_profile(model)
    schedule = scene.SceneSchedule.parse(subject)
    kwargs: dict[str, Any] = {"clock": clock} if clock is not None else {}
    # Rendering the card's first pictures takes CPU: keep the loop free meanwhile.
    device = await asyncio.to_thread(
        lambda: FujiDevice(profile, initial_images=initial_images, schedule=schedule, **kwargs)
    )
    device.paired.update(paired_names)
    device.vendor_extension_id = int(vendor_extension_id)
    if big_object_mb > 0:
        await asyncio.to_thread(device.add_big_object, int(big_object_mb * 1024 * 1024))
    sim = FujiSimulator(
        device,
        faults=faults,
        latency_ms=float(latency_ms),
        latency_jitter_ms=float(latency_jitter_ms),
        pairing_delay=pairing_delay,
        refuse_pairing=refuse_pairing,
        strict_name=strict_name,
        capture_style=capture_style,
        liveview_fps=liveview_fps,
        full_device_info=_flag(full_device_info) or bool(int(vendor_extension_id)),
        late_ports=_flag(late_ports),
    )
    return await sim.start(host, port)
