"""The simulated camera's PTP/IP server: a thin asyncio adapter around :mod:`.generic`.

Theory of operation
-------------------
Modelled on aioquic's ``QuicConnectionProtocol``: sockets live here, protocol decisions in
the sans-I/O :class:`~ptpd.protocol.connection.ResponderConnection` (one per TCP
connection). The adapter reads bytes into it, acts on the events it hands out, and writes
what its ``send()`` returns; it never frames or sequences normal traffic itself.

One TCP listener serves both PTP/IP channels (ptpip.md §3): the connection object
classifies a channel by its first init packet, answering Probe Requests before it.
Init Command Request makes it a *command* channel and opens a :class:`_Pair` with a fresh
ConnectionNumber; Init Event Request quoting that number binds it as the pair's *event*
channel. Anything else as a first packet is a protocol error: the socket is closed.

A pair carries one PTP session at a time, and sessions may follow each other on it or on
new pairs (several sequential sessions per process). A new Init Command Request takes the
camera over: the previous pair is closed first (a host reconnecting after Wi-Fi loss must
not find the camera stuck with a dead session).

Transactions run strictly one at a time per pair: request (and data-out phase) in,
then the data-in phase, the response, and then any events. A data-in phase comes from
``send_parts()`` as views of the object, 1 MiB packets; each packet is written once the
previous one has left the transport's buffer, so there is never a long silent gap
(gphoto2 gives up after 2.5 s without bytes, ptpip.md §7) and little is copied. Events
are queued per pair and written by one task on the event channel; events raised before
it is bound wait in the queue.

Faults (:mod:`.faults`) and the latency model are applied here, around the camera logic
and at the write side: a fault may write raw bytes the connection would never produce
(a bad length, an unknown packet type, a data phase cut short) or close mid-stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ptpd.protocol import events as ev
from ptpd.protocol import packets as pk
from ptpd.protocol.codes import EventCode, InitFailReason, OperationCode, ResponseCode
from ptpd.protocol.connection import Bytes, ResponderConnection, State
from ptpd.protocol.errors import ProtocolError
from ptpd.simulator import faults as flt
from ptpd.simulator import serving
from ptpd.simulator.generic import (
    DATA_OUT_OPERATIONS,
    CameraConfig,
    CameraSession,
    EventOut,
    GenericCamera,
    Reply,
)

log = logging.getLogger(__name__)

#: Data packets carry at most this much payload each (libgphoto2 itself sends 64 KiB;
#: cameras differ). Big packets mean few writes here and few reads on the host; 1 MiB
#: still keeps bytes flowing every few milliseconds even on a slow link.
CHUNK_SIZE = 1024 * 1024
#: Data phases up to this size go out as one write.
SMALL_DATA = 64 * 1024
#: A data-out phase larger than this is refused (closes the connection): nothing we
#: accept (property values) comes near it.
MAX_DATA_OUT = 16 * 1024 * 1024
#: How long a fresh connection may stay silent before each packet until it is classified.
FIRST_PACKET_TIMEOUT = 10.0
#: Bytes asked of the socket per read.
READ_SIZE = 256 * 1024


class _Closed(Exception):
    """Internal: the pair was closed (or the peer hung up) while a coroutine worked on it."""


class _Channel:
    """One TCP connection: the socket pair and the sans-I/O connection that speaks on it."""

    __slots__ = ("conn", "reader", "writer")

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data_out: frozenset[int] = DATA_OUT_OPERATIONS
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.conn = ResponderConnection(
            chunk_size=CHUNK_SIZE,
            max_data_size=MAX_DATA_OUT,
            unknown_phase_data_out=data_out,
        )

    async def next_event(self) -> ev.ConnectionEvent:
        """The next event; the connection's own answers (Probe Responses) are written at once.

        Raises :class:`_Closed` at EOF and :class:`ProtocolError` if the peer broke the protocol.
        """
        conn = self.conn
        while True:
            event = conn.next_event()
            queued = conn.data_to_send()
            if queued:
                self.writer.write(queued)
            if isinstance(event, ev.ConnectionClosed):
                raise _Closed()
            if event is not ev.NEED_DATA:
                return event  # type: ignore[return-value]  # not NEED_DATA: an event
            conn.receive_data(await self.reader.read(READ_SIZE))

    def send(self, event: ev.ConnectionEvent) -> None:
        """Write what the connection says for ``event``."""
        self.writer.write(self.conn.send(event))


@dataclass(eq=False)
class _Pair:
    """A command channel, its event channel, and the PTP session on them."""

    number: int
    session: Any  #: the camera's session: ``handle(code, tid, params, data) -> Reply``
    cmd: _Channel
    initiator_name: str = ""
    evt: _Channel | None = None
    events: asyncio.Queue[EventOut] = field(default_factory=asyncio.Queue)
    closed: bool = False
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    bound: asyncio.Event = field(default_factory=asyncio.Event)

    def close(self) -> None:
        """Close both sockets at once (what Wi-Fi loss looks like to the host)."""
        if self.closed:
            return
        self.closed = True
        for ch in (self.cmd, self.evt):
            if ch is not None:
                with contextlib.suppress(Exception):
                    ch.writer.close()
        for t in self.tasks:
            if t is not asyncio.current_task():
                t.cancel()


class Simulator:
    """A running simulated camera. Use :func:`start_generic_simulator` to make one.

    A vendor whose body speaks standard PTP/IP underneath its own operations (Canon EOS)
    subclasses it: :meth:`new_session` makes its session (anything with ``handle(code,
    tid, params, data) -> Reply``), :meth:`admit` may hold back or refuse an init (a
    pairing prompt), and :attr:`data_out_operations` / :attr:`data_in_operations` name
    its operations with data phases.
    """

    vendor = "generic"
    #: operations whose data phase comes from the host when its request does not say
    data_out_operations: frozenset[int] = DATA_OUT_OPERATIONS
    #: operations answered with a data phase (what some faults break)
    data_in_operations: frozenset[int] = serving.DATA_IN_OPERATIONS

    def __init__(
        self,
        camera: GenericCamera,
        *,
        faults: flt.Faults | None = None,
        latency_ms: float = 0.0,
        latency_jitter_ms: float = 0.0,
        link_mbps: float = 0.0,
        guid: bytes | None = None,
        name: str | None = None,
        allow_takeover: bool = True,
    ) -> None:
        self.camera = camera
        self.faults = faults or flt.Faults()
        self.latency_ms = latency_ms
        #: each transaction waits ``latency_ms`` plus up to this many ms more (uniform)
        self.answer_time = serving.AnswerTime(latency_ms, latency_jitter_ms)
        #: the camera's link speed for data it sends, MB/s (0: as fast as the socket takes it)
        self.link_mbps = link_mbps
        self.guid = guid or hashlib.md5(camera.config.model.encode() + camera.config.serial.encode()).digest()
        self.name = (name or camera.config.model)[:40]
        self.allow_takeover = allow_takeover
        self.host = ""
        self.port = 0
        self._server: asyncio.AbstractServer | None = None
        self._pairs: dict[int, _Pair] = {}
        self._next_number = 1
        self._connections: set[asyncio.StreamWriter] = set()
        self._watchdog: asyncio.Task[None] | None = None
        self._closing = False
        self._capture_tasks: set[asyncio.Task[None]] = set()
        #: sessions opened so far (for tests and benchmarks)
        self.sessions_opened = 0
        #: transactions answered so far
        self.transactions = 0

    # -- life cycle --------------------------------------------------------------------

    @property
    def model(self) -> str:
        """The model name the camera reports."""
        return self.camera.config.model

    @property
    def event_port(self) -> int:
        """Both channels share one port in standard PTP/IP."""
        return self.port

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Simulator:
        self._server = await asyncio.start_server(self._on_connect, host, port, reuse_address=True)
        sock = self._server.sockets[0]
        self.host, self.port = sock.getsockname()[:2]
        self._watchdog = asyncio.create_task(
            serving.watch_sleep(self.faults, lambda: bool(self._pairs), self.drop_all), name="ptpd-sim-watchdog"
        )
        log.info("%s camera %r on %s:%d", self.vendor, self.model, self.host, self.port)
        return self

    async def close(self) -> None:
        """Stop listening and close every connection."""
        if self._closing:
            return
        self._closing = True
        if self._watchdog is not None:
            self._watchdog.cancel()
        for t in list(self._capture_tasks):
            t.cancel()
        if self._server is not None:
            self._server.close()
        for pair in list(self._pairs.values()):
            pair.close()
        for w in list(self._connections):
            with contextlib.suppress(Exception):
                w.close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def __aenter__(self) -> Simulator:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def drop_all(self) -> None:
        """Close every session's sockets now (a test's Wi-Fi loss)."""
        for pair in list(self._pairs.values()):
            self._end_pair(pair)

    async def press_shutter(self, count: int = 1) -> list[int]:
        """Press the shutter button on the body ``count`` times (a photographer shooting
        while a host may or may not be connected): each picture goes on the card and its
        ObjectAdded to every connected host. Returns the new objects' handles."""
        handles = []
        for _ in range(count):
            events = await asyncio.to_thread(self.camera.press_shutter)
            for out in events:
                if out.code == EventCode.ObjectAdded:
                    handles.append(out.params[0])
                for pair in list(self._pairs.values()):
                    if not pair.closed:
                        pair.events.put_nowait(out)
        return handles

    @property
    def connected(self) -> bool:
        """True while a host holds a command connection."""
        return any(not p.closed for p in self._pairs.values())

    # -- connections -------------------------------------------------------------------

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        try:
            if self._closing or self.faults.asleep():
                return
            channel = _Channel(reader, writer, self.data_out_operations)
            while True:  # probes first, until an init packet classifies the channel
                try:
                    first = await asyncio.wait_for(channel.next_event(), FIRST_PACKET_TIMEOUT)
                except (TimeoutError, ProtocolError, ConnectionError, _Closed):
                    return
                if not isinstance(first, ev.ProbeRequest):
                    break
            if isinstance(first, ev.InitCommandRequest):
                await self._command_connection(first, channel)
            elif isinstance(first, ev.InitEventRequest):
                await self._event_connection(first, channel)
        except Exception:  # never let one connection's trouble reach the listener
            log.exception("connection handler failed")
        finally:
            self._connections.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    @staticmethod
    async def _refuse(channel: _Channel, reason: int) -> None:
        channel.send(ev.InitFail(reason))
        with contextlib.suppress(Exception):
            await channel.writer.drain()

    def new_session(self) -> Any:
        """A new session on the camera (one per PTP/IP connection pair)."""
        return CameraSession(self.camera)

    async def admit(self, init: ev.InitCommandRequest) -> int | None:
        """Whether the camera takes this initiator: None, or the Init Fail reason. It may
        wait first (a camera asking its user). The generic camera takes everyone."""
        return None

    async def _command_connection(self, init: ev.InitCommandRequest, channel: _Channel) -> None:
        reason = self.faults.on_init()
        if reason is None and not self.allow_takeover and self.connected:
            reason = InitFailReason.Busy
        if reason is None:
            reason = await self.admit(init)
        if reason is not None:
            log.info("refusing init from %r (reason %d)", init.name, reason)
            await self._refuse(channel, reason)
            return
        for old in list(self._pairs.values()):
            log.info("new host %r takes the camera over from connection %d", init.name, old.number)
            self._end_pair(old)
        number = self._next_number
        self._next_number = self._next_number % 0xFFFFFFFE + 1
        pair = _Pair(number, self.new_session(), channel, init.name)
        self._pairs[number] = pair
        pair.tasks.add(asyncio.current_task())  # type: ignore[arg-type]  # run by a task
        channel.send(ev.InitCommandAck(number, self.guid, self.name))
        log.info("host %r connected (connection %d)", init.name, number)
        try:
            await self._serve_commands(pair)
        except (_Closed, ConnectionError, asyncio.CancelledError):
            pass
        except ProtocolError as exc:
            log.info("connection %d: %s; closing", number, exc)
        finally:
            self._end_pair(pair)

    def _end_pair(self, pair: _Pair) -> None:
        pair.close()
        if self._pairs.get(pair.number) is pair:
            del self._pairs[pair.number]

    async def _event_connection(self, init: ev.InitEventRequest, channel: _Channel) -> None:
        pair = self._pairs.get(init.connection_number)
        reason = self.faults.on_init()
        if pair is None or pair.evt is not None:
            reason = InitFailReason.Unspecified
        if reason is not None:
            await self._refuse(channel, reason)
            if pair is not None and pair.evt is None:
                self._end_pair(pair)  # the host cannot complete this session
            return
        assert pair is not None
        pair.evt = channel
        channel.send(ev.InitEventAck())
        pair.bound.set()
        sender = asyncio.create_task(self._send_events(pair, channel), name=f"ptpd-sim-events-{pair.number}")
        pair.tasks.add(sender)
        me = asyncio.current_task()
        assert me is not None
        pair.tasks.add(me)
        try:
            while not pair.closed:
                await channel.next_event()  # Probe Requests are answered inside; Cancels mean nothing here
        except (_Closed, ConnectionError, ProtocolError, asyncio.CancelledError):
            pass
        finally:
            # Losing either channel ends the session, as on a real camera.
            self._end_pair(pair)

    async def _send_events(self, pair: _Pair, channel: _Channel) -> None:
        try:
            while True:
                out = await pair.events.get()
                channel.send(ev.Event(out.code, out.transaction_id, out.params))
                await channel.writer.drain()
        except (ConnectionError, ProtocolError, asyncio.CancelledError):
            pass  # the channel is gone (closed or broken by the host): the pair ends with it

    # -- transactions ----------------------------------------------------------------

    async def _serve_commands(self, pair: _Pair) -> None:
        channel = pair.cmd
        while not pair.closed:
            request = await channel.next_event()
            if not isinstance(request, ev.OperationRequest):
                continue  # a probe (answered inside) or a Cancel of no transaction of ours
            data: bytes | None = None
            if channel.conn.state is State.DATA_OUT_PENDING:
                data = await self._receive_data_out(channel)
                if data is None:
                    continue  # cancelled: no response (ptpip.md §6)
            await self._transaction(pair, request, data)

    @staticmethod
    async def _receive_data_out(channel: _Channel) -> bytes | None:
        """The data-out phase of the transaction in progress, or ``None`` if it was cancelled."""
        while True:
            event = await channel.next_event()
            if isinstance(event, ev.DataOut):
                # the handlers take bytes; a long phase arrives as the bytearray it filled
                return bytes(event.payload)
            if channel.conn.state is State.READY:
                return None  # the host cancelled this transaction
            # else a probe, or a Cancel naming another transaction: keep waiting

    async def _transaction(self, pair: _Pair, req: ev.OperationRequest, data: bytes | None) -> None:
        channel = pair.cmd
        writer = channel.writer
        tid = req.transaction_id
        plan = self.faults.on_transaction(req.code, req.code in self.data_in_operations)
        delay = serving.plan_delay(plan, self.answer_time.next_ms())
        if delay > 0:
            await asyncio.sleep(delay)
        if pair.closed:
            raise _Closed()
        if plan.drop is flt.DropPoint.BEFORE_DATA:
            log.info("fault: dropping connection %d before transaction %d", pair.number, tid)
            raise _Closed()
        if plan.busy:
            reply = Reply(ResponseCode.DeviceBusy)
        else:
            reply = pair.session.handle(req.code, tid, req.params, data)
        self.transactions += 1
        if req.code == OperationCode.OpenSession and reply.code == ResponseCode.OK:
            self.sessions_opened += 1
        response = ev.OperationResponse(reply.code, tid, reply.params)
        if plan.malformed is flt.Malformed.BAD_LENGTH:
            log.info("fault: bad length packet on connection %d", pair.number)
            writer.write(flt.bad_length_packet())
            await writer.drain()
            # The garbage stands for the whole answer: the channel moves on as if it went out.
            if reply.data is not None:
                channel.conn.send_parts(ev.DataIn(tid, reply.data))  # type: ignore[arg-type]  # any buffer encodes
            channel.conn.send(response)
            return  # the stream is lost; the host has to drop it
        if plan.malformed is flt.Malformed.UNKNOWN_TYPE or (plan.malformed is not None and reply.data is None):
            writer.write(flt.unknown_type_packet(tid))
        if reply.data is not None:
            payload: bytes | memoryview = reply.data
            if plan.malformed is not None and plan.malformed is not flt.Malformed.UNKNOWN_TYPE:
                payload = flt.corrupt_payload(plan.malformed, req.code, bytes(payload))
            if plan.drop is flt.DropPoint.MID_DATA:
                await _write_packets(writer, _cut_data_phase(tid, payload, plan.drop_fraction))
                log.info("fault: dropped connection %d mid data phase", pair.number)
                raise _Closed()
            await _write_packets(writer, channel.conn.send_parts(ev.DataIn(tid, payload)), self.link_mbps * 1e6)  # type: ignore[arg-type]  # as above
        if plan.drop is not None:
            log.info("fault: dropping connection %d before the response", pair.number)
            raise _Closed()
        channel.send(response)
        await writer.drain()
        for out in reply.events:
            pair.events.put_nowait(out)
        if reply.capture is not None:
            job = reply.capture
            task = asyncio.create_task(self._capture(pair, job), name=f"ptpd-sim-capture-{tid}")
            # Not in pair.tasks: the picture is taken even if the host goes away.
            self._capture_tasks.add(task)
            task.add_done_callback(self._capture_tasks.discard)

    async def _capture(self, pair: _Pair, job: Any) -> None:
        try:
            if job.delay_s > 0:
                await asyncio.sleep(job.delay_s)
            events = await asyncio.to_thread(self.camera.complete_capture, job)
        except Exception:
            log.exception("capture failed")
            with self.camera.lock:
                self.camera.capturing = False
            return
        if not pair.closed:
            for out in events:
                pair.events.put_nowait(out)


async def _write_packets(writer: asyncio.StreamWriter, parts: list[Bytes], rate: float = 0.0) -> None:
    """Write a data phase given as buffers (headers and payload views).

    A small phase goes out as one write. A big one is written as it is, views and all:
    what the socket does not take at once is all the transport copies. After each
    packet's worth of bytes, wait until the transport's buffer is empty before the next:
    that keeps the copy small (the kernel's send buffer still holds data for the host
    meanwhile) and bytes flowing all the time. ``rate`` (bytes per second, 0 = no limit)
    paces a big phase as a camera's link would.
    """
    if sum(len(part) for part in parts) <= SMALL_DATA:
        # copying a few KiB beats three sends
        writer.write(b"".join(parts))
        await writer.drain()
        return
    loop = asyncio.get_running_loop()
    start = loop.time()
    pending = sent = 0
    for part in parts:
        writer.write(part)
        pending += len(part)
        sent += len(part)
        if pending >= CHUNK_SIZE:
            await _flushed(writer)
            pending = 0
            if rate > 0:
                # ahead of the link: wait until it would have carried what was written
                ahead = start + sent / rate - loop.time()
                if ahead > 0:
                    await asyncio.sleep(ahead)
    await _flushed(writer)


def _cut_data_phase(tid: int, payload: bytes | memoryview, fraction: float) -> list[Bytes]:
    """A data phase that stops after ``fraction`` of its payload (the drop-mid-data fault).

    Start Data announces the whole length; well-formed Data packets follow up to the
    cut, so the host sees a phase that never ends. Raw bytes, on purpose: no connection
    object would produce them.
    """
    view = memoryview(payload).cast("B")
    total = len(view)
    stop_at = int(total * fraction)
    parts: list[Bytes] = [pk.StartData(tid, total).encode()]
    pos = 0
    while True:
        end = min(stop_at, pos + CHUNK_SIZE)
        chunk = view[pos:end]
        parts.append((pk.EndData(tid, chunk) if end >= total else pk.Data(tid, chunk)).header())
        parts.append(chunk)
        if end >= stop_at:
            return parts
        pos = end


async def _flushed(writer: asyncio.StreamWriter) -> None:
    """Wait until the transport has handed everything written to the kernel."""
    transport = writer.transport
    if transport.get_write_buffer_size() == 0:
        return
    low, high = transport.get_write_buffer_limits()
    transport.set_write_buffer_limits(high=0)  # pause at once, resume only when empty
    try:
        await writer.drain()
    finally:
        transport.set_write_buffer_limits(high=high, low=low)


async def start_generic_simulator(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    model: str | None = None,
    latency_ms: float = 0.0,
    latency_jitter_ms: float = 0.0,
    link_mbps: float = 0.0,
    faults: flt.Faults | None = None,
    initial_images: int = 3,
    big_object_mb: float = 0.0,
    allow_takeover: bool = True,
    clock: Callable[[], Any] | None = None,
    **options: Any,
) -> Simulator:
    """Start a generic PTP/IP camera in the running loop; it serves until ``close()``.

    ``link_mbps`` paces the data the camera sends to that many MB/s (0: no limit), as a
    camera's Wi-Fi or Ethernet link would. ``latency_jitter_ms`` adds to each
    transaction's ``latency_ms`` a uniform extra of up to that many ms.

    ``options`` are further :class:`~ptpd.simulator.generic.CameraConfig` fields
    (``manufacturer``, ``serial``, ``image_sizes``, ``jpeg_quality``, ...).
    """
    config = CameraConfig(initial_images=initial_images, big_object_mb=big_object_mb, **options)
    if model:
        config.model = model
    kwargs = {"clock": clock} if clock is not None else {}
    # Rendering the card's first images takes a moment of CPU: keep the loop free.
    camera = await asyncio.to_thread(lambda: GenericCamera(config, **kwargs))
    sim = Simulator(
        camera,
        faults=faults,
        latency_ms=float(latency_ms),
        latency_jitter_ms=float(latency_jitter_ms),
        link_mbps=float(link_mbps),
        allow_takeover=allow_takeover,
    )
    return await sim.start(host, port)
