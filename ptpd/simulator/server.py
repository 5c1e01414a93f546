"""The simulated camera's PTP/IP server: asyncio sockets around :mod:`.generic`.

Theory of operation
-------------------
One TCP listener serves both PTP/IP channels (ptpip.md §3): a connection is classified
by its first packet. Init Command Request (1) makes it a *command* connection and opens
a :class:`_Pair` with a fresh ConnectionNumber; Init Event Request (3) quoting that
number binds it as the pair's *event* connection; a Probe Request (13) first is answered
and the next packet decides. Anything else closes the socket.

A pair carries one PTP session at a time, and sessions may follow each other on it or on
new pairs (several sequential sessions per process). A new Init Command Request takes the
camera over: the previous pair is closed first (a host reconnecting after Wi-Fi loss must
not find the camera stuck with a dead session).

Transactions run strictly one at a time per pair: request (and data-out phase) in,
then the data-in phase, the response, and then any events. Data goes out in chunks,
each written as a view of the object (never copied into a joined packet) once the
previous one has left the transport's buffer, so there is never a long silent gap
(gphoto2 gives up after 2.5 s without bytes, ptpip.md §7) and little is copied. Events are queued per pair and written by one task
on the event connection; events raised before it is bound wait in the queue.

Faults (:mod:`.faults`) and the latency model are applied here, around the camera logic.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ptpd.protocol import packets as pk
from ptpd.protocol.codes import DataPhase, InitFailReason, OperationCode, ResponseCode
from ptpd.protocol.errors import ProtocolError
from ptpd.protocol.framing import PacketBuffer
from ptpd.simulator import faults as flt
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
#: A data-out phase larger than this is refused (closes the connection): nothing we
#: accept (property values) comes near it.
MAX_DATA_OUT = 16 * 1024 * 1024
#: How long a fresh connection may stay silent before its first packet.
FIRST_PACKET_TIMEOUT = 10.0
#: Operations that answer with a data phase (for fault planning before the answer exists).
DATA_IN_OPERATIONS = frozenset(
    {
        OperationCode.GetDeviceInfo,
        OperationCode.GetStorageIDs,
        OperationCode.GetStorageInfo,
        OperationCode.GetObjectHandles,
        OperationCode.GetObjectInfo,
        OperationCode.GetObject,
        OperationCode.GetThumb,
        OperationCode.GetDevicePropDesc,
        OperationCode.GetDevicePropValue,
        OperationCode.GetPartialObject,
    }
)


class _Closed(Exception):
    """Internal: the pair was closed while a coroutine worked on it."""


@dataclass(eq=False)
class _Pair:
    """A command connection, its event connection, and the PTP session on them."""

    number: int
    session: CameraSession
    cmd_reader: asyncio.StreamReader
    cmd_writer: asyncio.StreamWriter
    initiator_name: str = ""
    evt_writer: asyncio.StreamWriter | None = None
    events: asyncio.Queue[EventOut] = field(default_factory=asyncio.Queue)
    closed: bool = False
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    bound: asyncio.Event = field(default_factory=asyncio.Event)

    def close(self) -> None:
        """Close both sockets at once (what Wi-Fi loss looks like to the host)."""
        if self.closed:
            return
        self.closed = True
        for w in (self.cmd_writer, self.evt_writer):
            if w is not None:
                with contextlib.suppress(Exception):
                    w.close()
        for t in self.tasks:
            if t is not asyncio.current_task():
                t.cancel()


class Simulator:
    """A running simulated camera. Use :func:`start_generic_simulator` to make one."""

    vendor = "generic"

    def __init__(
        self,
        camera: GenericCamera,
        *,
        faults: flt.Faults | None = None,
        latency_ms: float = 0.0,
        guid: bytes | None = None,
        name: str | None = None,
        allow_takeover: bool = True,
    ) -> None:
        self.camera = camera
        self.faults = faults or flt.Faults()
        self.latency_ms = latency_ms
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
        self._watchdog = asyncio.create_task(self._sleep_watch(), name="ptpd-sim-watchdog")
        log.info("generic camera %r on %s:%d", self.camera.config.model, self.host, self.port)
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

    @property
    def connected(self) -> bool:
        """True while a host holds a command connection."""
        return any(not p.closed for p in self._pairs.values())

    async def _sleep_watch(self) -> None:
        # Sleep is decided by the fault model; this only carries it out.
        while True:
            deadline = self.faults.sleep_deadline()
            wait = 0.25 if deadline is None else max(0.05, min(0.25, deadline - time.monotonic()))
            await asyncio.sleep(wait)
            if self._pairs and self.faults.asleep():
                log.info("camera falls asleep: closing %d session(s)", len(self._pairs))
                self.drop_all()

    # -- connections -------------------------------------------------------------------

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        try:
            if self._closing or self.faults.asleep():
                return
            buf = PacketBuffer()
            while True:
                try:
                    packet = await asyncio.wait_for(self._read_packet(reader, buf), FIRST_PACKET_TIMEOUT)
                except (asyncio.TimeoutError, ProtocolError, ConnectionError, _Closed):
                    return
                if isinstance(packet, pk.ProbeRequest):
                    writer.write(pk.ProbeResponse().encode())
                    continue
                break
            if isinstance(packet, pk.InitCommandRequest):
                await self._command_connection(packet, reader, writer, buf)
            elif isinstance(packet, pk.InitEventRequest):
                await self._event_connection(packet, reader, writer, buf)
            else:
                log.debug("first packet %s is no init request: closing", type(packet).__name__)
        except Exception:  # never let one connection's trouble reach the listener
            log.exception("connection handler failed")
        finally:
            self._connections.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _read_packet(self, reader: asyncio.StreamReader, buf: PacketBuffer) -> pk.Packet:
        while True:
            raw = buf.next_packet()
            if raw is not None:
                return pk.decode_packet(raw)
            data = await reader.read(256 * 1024)
            if not data:
                raise _Closed()
            buf.feed(data)

    async def _command_connection(
        self,
        init: pk.InitCommandRequest,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        buf: PacketBuffer,
    ) -> None:
        reason = self.faults.on_init()
        if reason is None and not self.allow_takeover and self.connected:
            reason = InitFailReason.Busy
        if reason is not None:
            log.info("refusing init from %r (reason %d)", init.name, reason)
            writer.write(pk.InitFail(reason).encode())
            with contextlib.suppress(Exception):
                await writer.drain()
            return
        for old in list(self._pairs.values()):
            log.info("new host %r takes the camera over from connection %d", init.name, old.number)
            self._end_pair(old)
        number = self._next_number
        self._next_number = self._next_number % 0xFFFFFFFE + 1
        pair = _Pair(number, CameraSession(self.camera), reader, writer, init.name)
        self._pairs[number] = pair
        pair.tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        writer.write(pk.InitCommandAck(number, self.guid, self.name).encode())
        log.info("host %r connected (connection %d)", init.name, number)
        try:
            await self._serve_commands(pair, buf)
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

    async def _event_connection(
        self,
        init: pk.InitEventRequest,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        buf: PacketBuffer,
    ) -> None:
        pair = self._pairs.get(init.connection_number)
        reason = self.faults.on_init()
        if pair is None or pair.evt_writer is not None:
            reason = InitFailReason.Unspecified
        if reason is not None:
            writer.write(pk.InitFail(reason).encode())
            with contextlib.suppress(Exception):
                await writer.drain()
            if pair is not None and pair.evt_writer is None:
                self._end_pair(pair)  # the host cannot complete this session
            return
        assert pair is not None
        pair.evt_writer = writer
        writer.write(pk.InitEventAck().encode())
        pair.bound.set()
        sender = asyncio.create_task(self._send_events(pair, writer), name=f"ptpd-sim-events-{pair.number}")
        pair.tasks.add(sender)
        me = asyncio.current_task()
        assert me is not None
        pair.tasks.add(me)
        try:
            while not pair.closed:
                packet = await self._read_packet(reader, buf)
                if isinstance(packet, pk.ProbeRequest):
                    writer.write(pk.ProbeResponse().encode())
                # Anything else on the event channel (Cancel, a Probe Response) is ignored.
        except (_Closed, ConnectionError, ProtocolError, asyncio.CancelledError):
            pass
        finally:
            # Losing either channel ends the session, as on a real camera.
            self._end_pair(pair)

    async def _send_events(self, pair: _Pair, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                ev = await pair.events.get()
                writer.write(pk.Event(ev.code, ev.transaction_id, ev.params).encode())
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass

    # -- transactions ----------------------------------------------------------------

    async def _serve_commands(self, pair: _Pair, buf: PacketBuffer) -> None:
        reader, writer = pair.cmd_reader, pair.cmd_writer
        while not pair.closed:
            packet = await self._read_packet(reader, buf)
            if isinstance(packet, pk.ProbeRequest):
                writer.write(pk.ProbeResponse().encode())
                continue
            if not isinstance(packet, pk.OperationRequest):
                log.debug("connection %d: ignoring %s outside a transaction", pair.number, type(packet).__name__)
                continue
            data: bytes | None = None
            if packet.data_phase == DataPhase.DataOut or (
                packet.data_phase == DataPhase.Unknown and packet.code in DATA_OUT_OPERATIONS
            ):
                data = await self._receive_data_out(pair, buf, packet.transaction_id)
                if data is None:
                    continue  # cancelled
            await self._transaction(pair, packet, data)

    async def _receive_data_out(self, pair: _Pair, buf: PacketBuffer, tid: int) -> bytes | None:
        start = await self._read_packet(pair.cmd_reader, buf)
        if isinstance(start, pk.Cancel):
            return None
        if not isinstance(start, pk.StartData) or start.transaction_id != tid:
            raise ProtocolError(f"expected Start Data for transaction {tid}, got {start!r:.80}")
        if start.total_length != pk.UNKNOWN_DATA_LENGTH and start.total_length > MAX_DATA_OUT:
            raise ProtocolError(f"data-out phase of {start.total_length} bytes is too big")
        parts: list[bytes] = []
        size = 0
        while True:
            p = await self._read_packet(pair.cmd_reader, buf)
            if isinstance(p, pk.Cancel):
                return None
            if not isinstance(p, (pk.Data, pk.EndData)) or p.transaction_id != tid:
                raise ProtocolError(f"expected Data/End Data for transaction {tid}, got {type(p).__name__}")
            parts.append(bytes(p.payload))
            size += len(p.payload)
            if size > MAX_DATA_OUT:
                raise ProtocolError("data-out phase too big")
            if isinstance(p, pk.EndData):
                return b"".join(parts)

    async def _transaction(self, pair: _Pair, req: pk.OperationRequest, data: bytes | None) -> None:
        writer = pair.cmd_writer
        tid = req.transaction_id
        plan = self.faults.on_transaction(req.code, req.code in DATA_IN_OPERATIONS)
        delay = self.latency_ms / 1000 + plan.delay_s + plan.stall_s
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
        if plan.malformed is flt.Malformed.BAD_LENGTH:
            log.info("fault: bad length packet on connection %d", pair.number)
            writer.write(flt.bad_length_packet())
            await writer.drain()
            return  # the stream is lost; the host has to drop it
        if plan.malformed is flt.Malformed.UNKNOWN_TYPE or (plan.malformed is not None and reply.data is None):
            writer.write(flt.unknown_type_packet(tid))
        if reply.data is not None:
            payload: bytes | memoryview = reply.data
            if plan.malformed is not None and plan.malformed is not flt.Malformed.UNKNOWN_TYPE:
                payload = flt.corrupt_payload(plan.malformed, req.code, bytes(payload))
            stop_at = int(len(payload) * plan.drop_fraction) if plan.drop is flt.DropPoint.MID_DATA else None
            await self._send_data(writer, tid, payload, stop_at)
            if stop_at is not None:
                log.info("fault: dropped connection %d mid data phase", pair.number)
                raise _Closed()
        if plan.drop is not None:
            log.info("fault: dropping connection %d before the response", pair.number)
            raise _Closed()
        writer.write(pk.OperationResponse(reply.code, tid, reply.params).encode())
        await writer.drain()
        for ev in reply.events:
            pair.events.put_nowait(ev)
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
            for ev in events:
                pair.events.put_nowait(ev)

    async def _send_data(
        self, writer: asyncio.StreamWriter, tid: int, payload: bytes | memoryview, stop_at: int | None
    ) -> None:
        view = memoryview(payload).cast("B")
        total = len(view)
        if total <= SMALL_DATA and stop_at is None:
            # one write for the whole phase: copying a few KiB beats three sends
            writer.write(b"".join((pk.StartData(tid, total).encode(), pk.EndData(tid, view).encode())))
            await writer.drain()
            return
        writer.write(pk.StartData(tid, total).encode())
        end_at = total if stop_at is None else stop_at
        pos = 0
        while True:
            end = min(end_at, pos + CHUNK_SIZE)
            chunk = view[pos:end]
            packet = pk.EndData(tid, chunk) if end >= total else pk.Data(tid, chunk)
            # Write the payload as a view, not joined to its header: what the socket does
            # not take at once is all the transport copies. Waiting until its buffer is
            # empty before the next chunk keeps that copy small (the kernel's send buffer
            # still holds data for the host meanwhile).
            writer.write(packet.header())
            writer.write(chunk)
            await _flushed(writer)
            if end >= end_at:
                return
            pos = end


#: Data phases up to this size go out as one write.
SMALL_DATA = 64 * 1024


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
    faults: flt.Faults | None = None,
    initial_images: int = 3,
    big_object_mb: float = 0.0,
    allow_takeover: bool = True,
    clock: Callable[[], Any] | None = None,
    **options: Any,
) -> Simulator:
    """Start a generic PTP/IP camera in the running loop; it serves until ``close()``.

    ``options`` are further :class:`~ptpd.simulator.generic.CameraConfig` fields
    (``manufacturer``, ``serial``, ``image_sizes``, ``jpeg_quality``, ...).
    """
    config = CameraConfig(initial_images=initial_images, big_object_mb=big_object_mb, **options)
    if model:
        config.model = model
    kwargs = {"clock": clock} if clock is not None else {}
    # Rendering the card's first images takes a moment of CPU: keep the loop free.
    camera = await asyncio.to_thread(lambda: GenericCamera(config, **kwargs))
    sim = Simulator(camera, faults=faults, latency_ms=latency_ms, allow_takeover=allow_takeover)
    return await sim.start(host, port)
