"""The asyncio initiator over real loopback sockets, against a small scripted responder
built on our ResponderConnection, and against the generic simulator."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from ptpd.protocol import events as ev
from ptpd.protocol import packets as pk
from ptpd.protocol.connection import Channel, ResponderConnection
from ptpd.protocol.errors import CameraDisconnected, InitFailed, ResponseError, Timeout
from ptpd.protocol.initiator import PTPIPInitiator
from ptpd.protocol.sansio import DEFAULT_MIN_PROGRESS

pytestmark = pytest.mark.timeout(30)


def aio(fn):
    """Run an async test in a fresh event loop, bounded in time."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        return asyncio.run(asyncio.wait_for(fn(*args, **kwargs), 20))

    return run


OK = 0x2001
CAM_GUID = bytes(range(100, 116))

Handler = Callable[[ev.OperationRequest, bytes | None], Any]


@dataclass
class Responder:
    """A scripted PTP/IP camera: answers by ``handlers[code](request, data_out)``.

    A handler returns ``(code, params, data_in_or_None)``, ``"silent"`` (never answer) or
    ``"hangup"`` (close the command connection).
    """

    refuse: int | None = None
    handlers: dict[int, Handler] = field(default_factory=dict)
    requests: list[ev.OperationRequest] = field(default_factory=list)
    cancels: list[int] = field(default_factory=list)
    inits: list[ev.ConnectionEvent] = field(default_factory=list)
    event_writers: list[tuple[ResponderConnection, asyncio.StreamWriter]] = field(default_factory=list)
    servers: list[asyncio.AbstractServer] = field(default_factory=list)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def start(self, ports: int = 1) -> list[int]:
        out = []
        for _ in range(ports):
            srv = await asyncio.start_server(self._serve, "127.0.0.1", 0)
            self.servers.append(srv)
            out.append(srv.sockets[0].getsockname()[1])
        return out

    async def close(self) -> None:
        for w in self.writers:
            w.close()
        for srv in self.servers:
            srv.close()
            await srv.wait_closed()

    def push_event(self, code: int, tid: int = 0xFFFFFFFF, params: tuple[int, ...] = ()) -> None:
        for conn, w in self.event_writers:
            w.write(conn.send(ev.Event(code, tid, params)))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        conn = ResponderConnection(chunk_size=64 * 1024)
        pending: ev.OperationRequest | None = None
        try:
            while True:
                data = await reader.read(65536)
                conn.receive_data(data)
                while (e := conn.next_event()) is not ev.NEED_DATA:
                    if isinstance(e, ev.ConnectionClosed):
                        return
                    if isinstance(e, ev.InitCommandRequest):
                        self.inits.append(e)
                        if self.refuse is not None:
                            writer.write(conn.send(ev.InitFail(self.refuse)))
                            await writer.drain()
                            return
                        writer.write(conn.send(ev.InitCommandAck(7, CAM_GUID, "Scripted")))
                    elif isinstance(e, ev.InitEventRequest):
                        self.inits.append(e)
                        writer.write(conn.send(ev.InitEventAck()))
                        self.event_writers.append((conn, writer))
                    elif isinstance(e, ev.OperationRequest):
                        self.requests.append(e)
                        if e.data_phase == 2:
                            pending = e
                        elif not await self._answer(conn, writer, e, None):
                            return
                    elif isinstance(e, ev.DataOut):
                        assert pending is not None
                        if not await self._answer(conn, writer, pending, e.payload):
                            return
                    elif isinstance(e, ev.Cancel):
                        self.cancels.append(e.transaction_id)
                out = conn.data_to_send()
                if out:
                    writer.write(out)
        finally:
            writer.close()

    async def _answer(
        self, conn, writer, req: ev.OperationRequest, data_out: bytes | bytearray | memoryview | None
    ) -> bool:
        handler = self.handlers.get(req.code, lambda r, d: (OK, (), None))
        result = handler(req, data_out)
        if asyncio.iscoroutine(result):
            result = await result
        if result == "silent":
            return True
        if result == "hangup":
            return False
        code, params, data_in = result
        if data_in is not None:
            for part in conn.send_parts(ev.DataIn(req.transaction_id, data_in)):
                writer.write(part)
        writer.write(conn.send(ev.OperationResponse(code, req.transaction_id, params)))
        await writer.drain()
        return True


@contextlib.asynccontextmanager
async def scripted(**kwargs):
    r = Responder(**kwargs)
    (port,) = await r.start()
    try:
        yield r, port
    finally:
        await r.close()


@aio
async def test_connect_session_and_transaction_ids():
    async with scripted() as (r, port):
        cam = PTPIPInitiator("127.0.0.1", port, guid=bytes(16), name="tester", timeout=5)
        await cam.connect()
        assert cam.connected and cam.camera.name == "Scripted" and cam.camera.guid == CAM_GUID
        assert r.inits[0] == ev.InitCommandRequest(bytes(16), "tester")
        assert r.inits[1] == ev.InitEventRequest(7)
        r.handlers[0x1001] = lambda q, d: (OK, (), b"info")
        assert await cam.transact(0x1001) == (ev.OperationResponse(OK, 0), b"info")
        await cam.open_session(5)
        assert cam.session_open
        await cam.transact(0x1004)
        await cam.transact(0x1004)
        await cam.close()
        await cam.close()  # idempotent
        assert not cam.connected
        assert [(q.code, q.transaction_id) for q in r.requests] == [
            (0x1001, 0),
            (0x1002, 0),
            (0x1004, 1),
            (0x1004, 2),
            (0x1003, 3),
        ]
        assert r.requests[1].params == (5,)


@aio
async def test_init_fail_raises_init_failed():
    async with scripted(refuse=2) as (r, port):
        cam = PTPIPInitiator("127.0.0.1", port, timeout=5)
        with pytest.raises(InitFailed) as info:
            await cam.connect()
        assert info.value.reason == 2
        assert not cam.connected


@aio
async def test_connect_refused_is_camera_disconnected():
    srv = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    srv.close()
    await srv.wait_closed()
    with pytest.raises(CameraDisconnected):
        await PTPIPInitiator("127.0.0.1", port, timeout=2).connect()


@aio
async def test_separate_event_port():
    r = Responder()
    cmd_port, evt_port = await r.start(ports=2)
    try:
        cam = PTPIPInitiator("127.0.0.1", cmd_port, event_port=evt_port, timeout=5)
        await cam.connect()
        assert cam._evt.conn.channel is Channel.EVENT
        await cam.close()
    finally:
        await r.close()


@aio
async def test_large_data_in_with_progress_and_data_out():
    blob = bytes(range(256)) * (5 * 4096)  # 5 MiB
    async with scripted() as (r, port):
        r.handlers[0x1009] = lambda q, d: (OK, (), blob)
        got_out = []
        r.handlers[0x100D] = lambda q, d: (got_out.append(d), (OK, (), None))[1]
        async with PTPIPInitiator("127.0.0.1", port, timeout=5) as cam:
            await cam.open_session()
            seen = []
            resp, data = await cam.transact(0x1009, (1,), progress=lambda done, total: seen.append((done, total)))
            assert resp.code == OK and data == blob
            assert seen and seen[-1][1] == len(blob) and all(a <= b for a, b in seen)
            resp, data = await cam.transact(0x100D, data_out=blob[:300_001])
            assert resp.code == OK and data == b""
            assert got_out == [blob[:300_001]]
            assert r.requests[-1].data_phase == 2


@aio
async def test_non_ok_returned_by_transact_raised_by_call():
    async with scripted() as (r, port):
        r.handlers[0x1009] = lambda q, d: (0x2009, (), None)
        async with PTPIPInitiator("127.0.0.1", port, timeout=5) as cam:
            await cam.open_session()
            resp, data = await cam.transact(0x1009, (99,))
            assert resp.code == 0x2009 and data == b""
            with pytest.raises(ResponseError) as info:
                await cam.call(0x1009, (99,))
            assert info.value.code == 0x2009
            assert (await cam.call(0x1004))[0].code == OK


@aio
async def test_open_session_refused_raises():
    async with scripted() as (r, port):
        r.handlers[0x1002] = lambda q, d: (0x2002, (), None)
        async with PTPIPInitiator("127.0.0.1", port, timeout=5) as cam:
            with pytest.raises(ResponseError):
                await cam.open_session()
            r.handlers[0x1002] = lambda q, d: (0x201E, (1,), None)
            await cam.open_session()  # SessionAlreadyOpen counts as success
            assert cam.session_open


@aio
async def test_timeout_cancels_and_the_channel_stays_usable():
    async with scripted() as (r, port):
        r.handlers[0x100E] = lambda q, d: "silent"
        async with PTPIPInitiator("127.0.0.1", port, timeout=5) as cam:
            await cam.open_session()
            with pytest.raises(Timeout):
                await cam.transact(0x100E, timeout=0.2)
            resp, _ = await cam.transact(0x1004)
            assert resp == ev.OperationResponse(OK, 2)
            assert r.cancels == [1]


@aio
async def test_timeout_restarts_while_data_flows():
    """A slow but steady download is not a timeout; only silence (or a trickle) is."""
    async with scripted() as (r, port):
        chunks = 6
        piece = bytes(range(256)) * (DEFAULT_MIN_PROGRESS // 256)  # enough to count as progress

        async def trickle(q, d):
            # answer by hand: Start Data now, then a Data packet every 0.1 s
            return "silent"

        r.handlers[0x1009] = trickle
        async with PTPIPInitiator("127.0.0.1", port, timeout=5) as cam:
            await cam.open_session()
            conn, writer = next((c, w) for c, w in _command_writers(r))
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            # a timeout with room for a busy machine to run the responder, data every third of it
            task = asyncio.create_task(cam.transact(0x1009, (1,), timeout=1.2))
            while not r.requests or r.requests[-1].code != 0x1009:
                await asyncio.sleep(0.01)
            tid = r.requests[-1].transaction_id
            writer.write(pk.StartData(tid, chunks * len(piece)).encode())
            for _ in range(chunks):
                await asyncio.sleep(0.4)
                writer.write(pk.Data(tid, piece).encode())
            writer.write(pk.EndData(tid).encode() + pk.OperationResponse(OK, tid).encode())
            resp, data = await task
            assert data == piece * chunks
            assert loop.time() - t0 > 2.0  # it outlived its timeout, while the data came


@aio
async def test_a_trickling_camera_times_out_and_the_channel_stays_usable():
    """Bytes that keep coming, but far fewer than min_progress per timeout, do not hold the
    link: the transaction times out as if the camera were silent, and is cancelled."""
    async with scripted() as (r, port):
        r.handlers[0x1009] = lambda q, d: "silent"
        async with PTPIPInitiator("127.0.0.1", port, timeout=5) as cam:
            await cam.open_session()
            _, writer = next(_command_writers(r))
            loop = asyncio.get_running_loop()
            task = asyncio.create_task(cam.transact(0x1009, (1,), timeout=0.3))
            while not r.requests or r.requests[-1].code != 0x1009:
                await asyncio.sleep(0.01)
            tid = r.requests[-1].transaction_id
            writer.write(pk.StartData(tid, 1_000_000).encode())
            t0 = loop.time()

            async def drip():
                while True:
                    writer.write(pk.Data(tid, b"x").encode())  # a byte every 20 ms
                    await asyncio.sleep(0.02)

            dripping = asyncio.create_task(drip())
            try:
                with pytest.raises(Timeout, match="0x1009"):
                    await task
                assert 0.25 <= loop.time() - t0 < 1.5
            finally:
                dripping.cancel()
            for _ in range(100):
                if r.cancels:
                    break
                await asyncio.sleep(0.01)
            assert r.cancels == [tid]
            resp, _ = await cam.transact(0x1004)
            assert resp == ev.OperationResponse(OK, tid + 1)


@aio
async def test_silent_camera_at_init_is_a_timeout():
    """The handshake's deadline is the command channel's too: no answer, Timeout."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        await reader.read()  # reads what comes, answers nothing

    srv = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        cam = PTPIPInitiator("127.0.0.1", port, timeout=0.3)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        with pytest.raises(Timeout, match="command init"):
            await cam.connect()
        assert 0.25 <= loop.time() - t0 < 2.0
        assert not cam.connected
    finally:
        for w in held:
            w.close()
        srv.close()
        await srv.wait_closed()


def _command_writers(r: Responder):
    evt = {id(w) for _, w in r.event_writers}
    for w in r.writers:
        if id(w) not in evt:
            yield None, w


@aio
async def test_disconnect_mid_transaction():
    async with scripted() as (r, port):
        r.handlers[0x1009] = lambda q, d: "hangup"
        async with PTPIPInitiator("127.0.0.1", port, timeout=5) as cam:
            await cam.open_session()
            events = cam.subscribe()
            with pytest.raises(CameraDisconnected):
                await cam.transact(0x1009, (1,))
            assert not cam.connected
            with pytest.raises(CameraDisconnected):
                await events.get(timeout=2)
            with pytest.raises(CameraDisconnected):
                await cam.transact(0x1004)


@aio
async def test_garbage_from_camera_is_camera_disconnected():
    async with scripted() as (r, port):
        async with PTPIPInitiator("127.0.0.1", port, timeout=5) as cam:
            await cam.open_session()
            _, writer = next(_command_writers(r))
            writer.write(b"\x03\x00\x00\x00garbage")
            await asyncio.sleep(0.05)
            with pytest.raises(CameraDisconnected):
                await cam.transact(0x1004)


@aio
async def test_events_fan_out_and_stay_bounded():
    async with scripted() as (r, port):
        async with PTPIPInitiator("127.0.0.1", port, timeout=5, event_queue=10) as cam:
            slow = cam.subscribe()
            fast = []
            tail = []

            async def consume():
                async with cam.subscribe(maxsize=200) as sub:
                    async for e in sub:
                        fast.append(e)

            async def iterate():
                async for e in cam.events():
                    tail.append(e)

            task = asyncio.create_task(consume())
            task2 = asyncio.create_task(iterate())
            await asyncio.sleep(0.01)
            for n in range(100):
                r.push_event(0x4002, 3, (n,))
            while len(fast) < 100:
                await asyncio.sleep(0.01)
            assert [e.params[0] for e in fast] == list(range(100))
            # the slow subscriber kept only the newest 10
            got = [await slow.get(timeout=1) for _ in range(10)]
            assert [e.params[0] for e in got] == list(range(90, 100))
            assert slow.dropped == 90 and cam.events_dropped >= 90
            with pytest.raises(Timeout):
                await slow.get(timeout=0.05)
        # close() ends iteration cleanly
        await asyncio.wait_for(task, 2)
        await asyncio.wait_for(task2, 2)
        assert len(tail) >= 10


@aio
async def test_concurrent_transactions_are_serialised():
    async with scripted() as (r, port):

        async def slow(q, d):
            await asyncio.sleep(0.05)
            return OK, (q.params[0],), b"%d" % q.params[0]

        r.handlers[0x1008] = slow
        async with PTPIPInitiator("127.0.0.1", port, timeout=5) as cam:
            await cam.open_session()
            results = await asyncio.gather(*(cam.transact(0x1008, (n,)) for n in range(5)))
            assert [d for _, d in results] == [b"%d" % n for n in range(5)]
            assert [resp.params for resp, _ in results] == [(n,) for n in range(5)]


@aio
async def test_probe_keepalive():
    async with scripted() as (r, port):
        async with PTPIPInitiator("127.0.0.1", port, timeout=5) as cam:
            await cam.probe(timeout=2)


@aio
async def test_against_generic_simulator():
    simulator = pytest.importorskip("ptpd.simulator")
    sim = await simulator.start_simulator("generic", port=0)
    try:
        async with PTPIPInitiator(sim.host, sim.port, timeout=5) as cam:
            resp, info = await cam.call(0x1001)
            assert len(info) > 50
            await cam.open_session()
            resp, ids = await cam.call(0x1004)
            assert int.from_bytes(ids[:4], "little") >= 1
            sub = cam.subscribe()
            resp, _ = await cam.call(0x100E, (0, 0))
            codes = {(await sub.get(timeout=5)).code for _ in range(2)}
            assert codes == {0x4002, 0x400D}
    finally:
        await sim.close()


def test_guid_spellings():
    from ptpd.protocol.initiator import DEFAULT_GUID, guid_bytes

    raw = bytes(range(16))
    assert guid_bytes(raw) == raw
    assert guid_bytes("00010203-0405-0607-0809-0a0b0c0d0e0f") == raw
    assert guid_bytes("00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f") == raw  # gphoto2 settings
    assert guid_bytes(None) == DEFAULT_GUID and len(DEFAULT_GUID) == 16
    for bad in (b"short", "not-a-guid", "00" * 15):
        with pytest.raises(ValueError):
            guid_bytes(bad)
