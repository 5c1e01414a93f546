"""FujiLink and FujiCamera over real loopback sockets, against a small in-test responder.

The responder is built on our own FujiResponderConnection and answers what the X-T1 of
fuji-ptpip.md answers (its 0x902B list and 0xD212 state are the published bytes). The
full simulated camera has its own end-to-end tests (test_fuji_e2e.py).
"""

from __future__ import annotations

import asyncio
import io
import struct
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from PIL import Image

from ptpd.camera.base import Unsupported
from ptpd.camera.fuji import FujiCamera
from ptpd.fuji.connection import FujiEventChannel, FujiResponderConnection
from ptpd.fuji.errors import CameraBusy, NameNotAccepted, PairingRefused, WrongVersion
from ptpd.fuji.events import (
    NEED_DATA,
    ConnectionClosed,
    Data,
    Event,
    InitAccepted,
    InitRejected,
    InitRequest,
    OperationRequest,
    OperationResponse,
)
from ptpd.fuji.link import PAIRING_PROMPT, FujiLink
from ptpd.fuji.packets import Container, InitCommandAck, encode_liveview_frame
from ptpd.fuji.state import decode_property_list, encode_state
from ptpd.protocol.errors import CameraDisconnected, ResponseError
from ptpd.protocol.errors import Timeout as PTPTimeout
from test_fuji_golden import PROP_LIST_PAYLOAD, STATE_TABLE

pytestmark = pytest.mark.timeout(30)

CAMERA_GUID = bytes(range(16))


def make_jpeg(w: int, h: int, shade: int = 0) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (shade, 128, 255 - shade)).save(buf, "JPEG", quality=70)
    return buf.getvalue()


class MiniFuji:
    """Three listeners on loopback ports chosen by the OS; X-T1 behaviour in small."""

    def __init__(
        self,
        *,
        paired_name: str | None = None,
        pair_delay: float = 0.0,
        refuse_pairing: str | None = None,  # "error" or "close"
        init_fail: int | None = None,
        lv_frames: int | None = None,  # live view sends this many frames, then...
        lv_then: str = "stall",  # ... keeps the connection quiet ("stall") or closes it
        hooks: dict[int, Callable[..., Awaitable[None]]] | None = None,  # op -> answers by hand
        silent_init: bool = False,  # reads the InitRequest and says nothing
        init_fail_first: bool = False,  # InitFail to the first InitRequest, then an ack
    ) -> None:
        self.init_fail_first = init_fail_first
        self.inits = 0
        self.hooks = hooks or {}
        self.silent_init = silent_init
        self.lv_frames = lv_frames
        self.lv_then = lv_then
        self.paired_name = paired_name
        self.pair_delay = pair_delay
        self.refuse_pairing = refuse_pairing
        self.init_fail = init_fail
        self.descs = {int(d.code): d for d in decode_property_list(PROP_LIST_PAYLOAD)}
        self.values: dict[int, tuple[str, int]] = {code: ("<I", v) for code, v in STATE_TABLE}
        for code, d in self.descs.items():
            fmt = {3: "<h", 4: "<H", 6: "<I"}[int(d.datatype)]
            assert isinstance(d.current, int)
            self.values[code] = (fmt, d.current)
        self.values[0x5001] = ("<B", 3)
        self.values[0xDF24] = ("<I", 0x00020001)
        self.preview = make_jpeg(640, 480)
        self.pending_preview = False
        self.requests: list[OperationRequest] = []
        self.event_writers: list[asyncio.StreamWriter] = []
        self.servers: list[asyncio.Server] = []
        self.lv_frames_sent = 0

    async def start(self) -> MiniFuji:
        for handler in (self._command, self._events, self._liveview):
            self.servers.append(await asyncio.start_server(handler, "127.0.0.1", 0))
        self.port, self.event_port, self.liveview_port = (s.sockets[0].getsockname()[1] for s in self.servers)
        return self

    async def close(self) -> None:
        for s in self.servers:
            s.close()
        for w in self.event_writers:
            w.close()
        for s in self.servers:
            await s.wait_closed()

    def ports(self) -> dict[str, Any]:
        return {"port": self.port, "event_port": self.event_port, "liveview_port": self.liveview_port}

    def send_event(self, code: int, tid: int, params: tuple[int, ...] = ()) -> None:
        for w in self.event_writers:
            w.write(FujiEventChannel.send(Event(code, tid, params)))

    async def _events(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.event_writers.append(writer)
        await reader.read()  # until the client closes

    async def _liveview(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        frames = [make_jpeg(320, 240, shade) for shade in (0, 80, 160)]
        i = 0
        try:
            while self.lv_frames is None or i < self.lv_frames:
                writer.write(encode_liveview_frame(i, frames[i % 3]))
                await writer.drain()
                self.lv_frames_sent += 1
                i += 1
                await asyncio.sleep(0.002)
            if self.lv_then == "stall":
                await reader.read()  # until the client closes
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _command(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = FujiResponderConnection()
        pending: OperationRequest | None = None
        try:
            while True:
                ev = conn.next_event()
                if ev is NEED_DATA:
                    conn.receive_data(await reader.read(65536))
                    continue
                if isinstance(ev, ConnectionClosed):
                    break
                if isinstance(ev, InitRequest):
                    self.inits += 1
                    if self.init_fail_first and self.inits == 1:
                        writer.write(conn.send(InitRejected(3)))
                        continue
                    if self.silent_init:
                        await reader.read()
                        break
                    if self.init_fail is not None or (self.paired_name and ev.name != self.paired_name):
                        writer.write(conn.send(InitRejected(self.init_fail or 0x2019)))
                        break
                    if ev.version != 0x8F53E4F2:
                        writer.write(conn.send(InitRejected(0x201D)))
                        break
                    writer.write(conn.send(InitAccepted(1, CAMERA_GUID, "X-T1")))
                    continue
                if isinstance(ev, OperationRequest):
                    self.requests.append(ev)
                    if ev.code in self.hooks:
                        await self.hooks[ev.code](ev, conn, writer)
                        continue
                    if ev.code == 0x1016:
                        pending = ev
                        continue
                    out = await self._answer(ev)
                    for item in out:
                        writer.write(conn.send(item))
                    await writer.drain()
                    continue
                if isinstance(ev, Data):
                    assert pending is not None
                    req, pending = pending, None
                    code = await self._set(req.params[0], ev.payload)
                    if code is None:
                        break  # refused pairing by closing
                    writer.write(conn.send(OperationResponse(code, req.transaction_id)))
                    await writer.drain()
        finally:
            writer.close()

    async def _set(self, prop: int, payload: bytes) -> int | None:
        if prop == 0xDF01:
            await asyncio.sleep(self.pair_delay)
            if self.refuse_pairing == "close":
                return None
            if self.refuse_pairing == "error":
                return 0x2019
            return 0x2001
        if prop not in self.values:
            return 0x200A
        fmt, _ = self.values[prop]
        size = struct.calcsize(fmt)
        (value,) = struct.unpack(fmt, payload[:size])
        d = self.descs.get(prop)
        if d is not None and not d.allows(value):
            return 0x201C
        self.values[prop] = (fmt, value)
        return 0x2001

    async def _answer(self, ev: OperationRequest) -> list[Any]:
        tid, p = ev.transaction_id, ev.params
        ok = OperationResponse(0x2001, tid)
        if ev.code in (0x1002, 0x101C, 0x1003):
            return [ok]
        if ev.code == 0x902B:
            return [Data(0x902B, tid, PROP_LIST_PAYLOAD), ok]
        if ev.code == 0x1015:
            if p[0] == 0xD212:
                return [Data(0x1015, tid, encode_state(self._state())), ok]
            if p[0] == 0xD228:
                blob = bytearray(65)
                blob[40:44] = b"X-T1"
                blob[61:65] = b"5.51"
                return [Data(0x1015, tid, bytes(blob)), ok]
            if p[0] not in self.values:
                return [OperationResponse(0x200A, tid)]
            fmt, v = self.values[p[0]]
            return [Data(0x1015, tid, struct.pack(fmt, v)), ok]
        if ev.code == 0x1014:
            d = self.descs.get(p[0])
            if d is None:
                return [ok]  # quirk 13: no data, no error
            fmt, v = self.values[p[0]]
            return [Data(0x1014, tid, d.with_current(v).encode()), ok]
        if ev.code == 0x100E:
            if not self.pending_preview:
                self.pending_preview = True
                asyncio.get_running_loop().call_later(0.01, self.send_event, 0xC004, tid, (tid,))
                asyncio.get_running_loop().call_later(0.02, self.send_event, 0xC001, tid, (tid, len(self.preview)))
            return [ok]
        if ev.code == 0x9022:
            self.pending_preview = False
            fmt, left = self.values[0xD229]
            self.values[0xD229] = (fmt, left - 1)
            asyncio.get_running_loop().call_later(0.01, self.send_event, 0x400D, tid, (tid,))
            return [Data(0x9022, tid, self.preview), ok]
        return [OperationResponse(0x2005, tid)]

    def _state(self) -> list[tuple[int, int]]:
        return [(code, self.values[code][1]) for code, _ in STATE_TABLE]


def run(coro_fn: Callable[..., Awaitable[None]], **options: Any) -> None:
    async def main() -> None:
        cam = await MiniFuji(**options).start()
        try:
            await coro_fn(cam)
        finally:
            await cam.close()

    asyncio.run(main())


def test_link_bring_up_sequence() -> None:
    async def body(sim: MiniFuji) -> None:
        link = FujiLink("127.0.0.1", **sim.ports(), name="ptpd-test", timeout=5)
        await link.connect()
        try:
            assert (
                link.connected
                and link.camera is not None
                and link.camera.name == "X-T1"
                and link.app_version == 0x00020001
            )
            # exactly the parameters each operation takes (no padding), in libfuji's order:
            # what the camera is doing, its remote version, then the mode
            assert [(r.code, r.transaction_id, r.params) for r in sim.requests] == [
                (0x1002, 1, (1,)),
                (0x1015, 2, (0xD212,)),
                (0x1015, 3, (0xDF24,)),
                (0x1016, 4, (0xDF01,)),
                (0x1016, 5, (0xDF24,)),
                (0x101C, 6, (0, 0)),
            ]
            assert not link.paired_with_prompt
            assert link.offer.remote and link.offer.events and link.offer.state_list
            assert link.offer.remote_version == 0x00020001 and link.offer.mode == 5
        finally:
            await link.close()
        assert not link.connected

    run(body)


def test_delayed_pairing_prompt_is_reported() -> None:
    told: list[str] = []

    async def body(sim: MiniFuji) -> None:
        link = FujiLink("127.0.0.1", **sim.ports(), timeout=5, pairing_notice_after=0.05, on_pairing=told.append)
        await link.connect()
        assert link.paired_with_prompt
        await link.close()

    run(body, pair_delay=0.4)
    assert told == [PAIRING_PROMPT]
    assert "press OK on the camera" in told[0]


@pytest.mark.parametrize("mode", ["error", "close"])
def test_refused_pairing_is_a_clear_error(mode: str) -> None:
    async def body(sim: MiniFuji) -> None:
        link = FujiLink("127.0.0.1", **sim.ports(), timeout=5)
        with pytest.raises(PairingRefused, match="refused|closed"):
            await link.connect()
        assert not link.connected

    run(body, refuse_pairing=mode)


def test_a_camera_state_of_0_is_the_camera_asking_its_user() -> None:
    # libfuji: 0xDF00 = 0 in the first 0xD212 list means "press OK to allow access"; poll
    # until it changes, and tell the user meanwhile
    told: list[str] = []
    polls: list[float] = []

    async def d212(ev: OperationRequest, conn: Any, writer: asyncio.StreamWriter) -> None:
        if ev.params[0] != 0xD212:
            for item in await sim_ref[0]._answer(ev):
                writer.write(conn.send(item))
            return
        polls.append(time.monotonic())
        state = 0 if len(polls) < 4 else 6
        writer.write(conn.send(Data(0x1015, ev.transaction_id, encode_state([(0xDF00, state), (0xD222, 2)]))))
        writer.write(conn.send(OperationResponse(0x2001, ev.transaction_id)))

    sim_ref: list[MiniFuji] = []

    async def body(sim: MiniFuji) -> None:
        sim_ref.append(sim)
        async with FujiLink("127.0.0.1", **sim.ports(), timeout=5, on_pairing=told.append) as link:
            assert link.offer.waited_for_user and link.offer.camera_state == 6 and link.offer.remote
            assert link.paired_with_prompt and told == [PAIRING_PROMPT]
        assert len(polls) >= 4 and 0.2 <= polls[1] - polls[0] <= 1.0  # polled, not hammered

    run(body, hooks={0x1015: d212})


def test_pairing_timeout() -> None:
    async def body(sim: MiniFuji) -> None:
        link = FujiLink("127.0.0.1", **sim.ports(), timeout=5, pairing_timeout=0.2)
        with pytest.raises(PairingRefused, match="press OK on the camera"):
            await link.connect()

    run(body, pair_delay=3.0)


@pytest.mark.parametrize(
    ("options", "error", "text"),
    [
        ({"paired_name": "someone-else"}, NameNotAccepted, "did not accept the client name"),
        ({"init_fail": 0x201D}, WrongVersion, "wrong version"),
        ({"init_fail": 2}, CameraBusy, "busy"),
    ],
)
def test_init_fail_reasons(options: dict[str, Any], error: type, text: str) -> None:
    async def body(sim: MiniFuji) -> None:
        link = FujiLink("127.0.0.1", **sim.ports(), timeout=5)
        with pytest.raises(error, match=text):
            await link.connect()

    run(body, **options)


def test_connection_refused_is_camera_disconnected_at_once() -> None:
    # a closed command port is an answer: one dial, no retry loop (it used to cost 5 s)
    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        link = FujiLink("127.0.0.1", port, timeout=1)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        with pytest.raises(CameraDisconnected, match="refused|nothing listens"):
            await link.connect()
        assert loop.time() - t0 < 0.2

    asyncio.run(main())


def test_init_fail_then_ack_on_the_same_socket() -> None:
    # Fuji's X Acquire and libgphoto2 send the init again after 500 ms when the first
    # attempt fails ("the first attempt always fails")
    async def body(sim: MiniFuji) -> None:
        async with FujiLink("127.0.0.1", **sim.ports(), timeout=5) as link:
            assert link.connected and link.camera is not None and link.camera.name == "X-T1"
        assert sim.inits == 2

    run(body, init_fail_first=True)


def test_a_refusal_in_a_response_for_another_transaction_is_the_cameras_refusal() -> None:
    # an emulator built from real bodies answers a request it refuses with transaction id 0
    async def refuse_with_tid_0(ev: OperationRequest, conn: Any, writer: asyncio.StreamWriter) -> None:
        writer.write(struct.pack("<IHHI", 12, 3, 0x2002, 0))

    async def body(sim: MiniFuji) -> None:
        link = FujiLink("127.0.0.1", **sim.ports(), timeout=5)
        with pytest.raises(ResponseError, match=r"GeneralError.*transaction 0; the request was 1") as err:
            await link.connect()
        assert err.value.code == 0x2002

    run(body, hooks={0x1002: refuse_with_tid_0})


async def _raw_camera(script: Callable[[Container], list[bytes]]) -> tuple[asyncio.AbstractServer, int]:
    """A camera of raw containers: acks the handshake, then answers each container it reads
    with what ``script`` returns (whole containers, written as they are)."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            first = True
            while True:
                head = await reader.readexactly(4)
                body = await reader.readexactly(int.from_bytes(head, "little") - 4)
                if first:
                    first = False
                    writer.write(InitCommandAck(0, CAMERA_GUID, "X-T4").encode())
                    continue
                for out in script(Container.decode(head + body)):
                    writer.write(out)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def test_a_set_refused_before_its_data_phase_does_not_shift_later_answers() -> None:
    # The camera refuses a SetDevicePropValue on its request alone, then takes the data
    # container for an operation of its own and answers that too (what an emulator of real
    # bodies does): the stray answer is not taken for the next transaction's.
    def script(c: Container) -> list[bytes]:
        ok = Container.response(0x2001, c.transaction_id).encode()
        if c.kind == 2:  # the data container, answered as if it were an operation
            return [ok]
        if c.code == 0x1016:
            return [Container.response(0x200A, c.transaction_id).encode()]
        if c.code == 0x1015:
            return [Container.data(0x1015, c.transaction_id, b"\x02\x00").encode(), ok]
        return [ok]

    async def main() -> None:
        server, port = await _raw_camera(script)
        link = FujiLink("127.0.0.1", port, timeout=5)
        try:
            await link.handshake()
            with pytest.raises(ResponseError) as err:
                await link.transact(0x1016, (0x5005,), b"\x04\x00")
            assert err.value.code == 0x200A
            for _ in range(3):
                resp, data = await link.transact(0x1015, (0xD001,))
                assert (resp.code, data) == (0x2001, b"\x02\x00")
            assert link.mismatched_tids == 0 and link._cmd is not None and link._cmd.lost is None
        finally:
            await link.close()
            server.close()

    asyncio.run(main())


def camera(sim: MiniFuji, **kw: Any) -> FujiCamera:
    return FujiCamera("127.0.0.1", **sim.ports(), timeout=5, **kw)


def test_camera_info_get_set_describe_state() -> None:
    async def body(sim: MiniFuji) -> None:
        async with camera(sim) as cam:
            info = await cam.info()
            assert (info.vendor, info.manufacturer, info.model, info.version) == ("fuji", "FUJIFILM", "X-T1", "5.51")
            assert info.extra["app_version"] == "0x00020001"
            assert [e["name"] for e in info.extra["property_list"]] == [
                "delay", "flashmode", "whitebalance", "exp-bias", "effect", "iso", "recmode", "focusmtr",
            ]  # fmt: skip

            iso = await cam.get("iso")
            assert (iso.value, iso.label) == (0x80001900, "S6400")
            assert (await cam.set("iso", "800")).label == "800"
            assert (await cam.set("iso", "0x80001900")).label == "S6400"
            assert (await cam.set("effect", "ASTIA")).value == 3
            assert (await cam.set("exp-bias", "-1/3")).label == "-1/3"
            assert (await cam.set("focusmtr", "7x2")).value == 0x03020702
            assert (await cam.set("delay", "2s")).label == "2s"
            assert (await cam.get("battery")).label == "3/3"

            with pytest.raises(ValueError, match="allowed: off, 2s, 10s"):
                await cam.set("delay", "5s")
            n = len(sim.requests)
            with pytest.raises(ValueError, match="S6400"):
                await cam.set("iso", "S12800")
            assert all(r.code != 0x1016 for r in sim.requests[n:])  # refused before sending

            desc = await cam.describe("effect")
            assert desc.form == "enum" and desc.current.label == "ASTIA"
            assert desc.allowed[:2] == ((1, "PROVIA"), (2, "Velvia"))
            fp = await cam.describe("focusmtr")
            assert fp.form == "range" and fp.range == (0, 0x10090707, 1)
            with pytest.raises(Unsupported):
                await cam.describe("image-quality")  # quirk 13: no description

            state = {v.name: v.label for v in await cam.state()}
            assert state["iso"] == "S6400" and state["effect"] == "ASTIA" and state["exp-bias"] == "-1/3"
            # the 17 entries of the X-T1's 0xD212, then what only its 0x902B list names
            assert len(state) == 18 and list(state)[-1] == "recmode"
            await cam.keepalive()

    run(body)


#: the parameters each operation takes (ISO 15740; Fuji's app and libgphoto2 send no more)
PARAMS_TAKEN = {
    0x1001: 0,
    0x1002: 1,
    0x1003: 0,
    0x1007: 3,
    0x1008: 1,
    0x100E: 2,
    0x1014: 1,
    0x1015: 1,
    0x1016: 1,
    0x101B: 3,
    0x101C: 2,
    0x9022: 0,
    0x902B: 0,
}


def test_capture_twice_in_a_row_with_preview() -> None:
    async def body(sim: MiniFuji) -> None:
        async with camera(sim) as cam:
            for _ in range(2):
                result = await cam.capture()
                assert result.preview == sim.preview
                assert Image.open(io.BytesIO(result.preview)).size == (640, 480)
            codes = [r.code for r in sim.requests if r.code in (0x100E, 0x9022)]
            assert codes == [0x100E, 0x9022, 0x100E, 0x9022]
            assert (await cam.get("captures-remaining")).value == 1429
        # every request carried exactly the parameters its operation takes
        assert {(r.code, len(r.params)) for r in sim.requests} <= set(PARAMS_TAKEN.items())
        assert {r.code for r in sim.requests} >= {0x1001, 0x1002, 0x1007, 0x100E, 0x1015, 0x1016, 0x101C, 0x9022}

    run(body)


def test_events_are_consumed_and_delivered() -> None:
    async def body(sim: MiniFuji) -> None:
        async with camera(sim) as cam:
            agen = cam.events()
            nxt = asyncio.ensure_future(agen.__anext__())
            await asyncio.sleep(0.05)
            # Far more unsolicited events than any queue holds: nothing blocks.
            for _ in range(1000):
                sim.send_event(0x4006, 0xFFFFFFFF, (0x5005,))
            ev = await asyncio.wait_for(nxt, 5)
            assert (ev.name, ev.code) == ("property_changed", 0x4006)
            await agen.aclose()
            result = await cam.capture()  # the strict capture wait is not derailed
            assert result.preview

    run(body)


def test_liveview_frames() -> None:
    async def body(sim: MiniFuji) -> None:
        async with camera(sim) as cam:
            frames = []
            agen = cam.liveview()
            async for f in agen:
                frames.append(f)
                if len(frames) == 100:
                    break
            await agen.aclose()
            assert len(frames) == 100
            assert all(isinstance(f.jpeg, memoryview) for f in frames)
            assert all(bytes(f.jpeg[:2]) == b"\xff\xd8" for f in frames)
            assert (frames[0].width, frames[0].height) == (320, 240)
            assert Image.open(io.BytesIO(bytes(frames[-1].jpeg))).size == (320, 240)
            times = [f.time for f in frames]
            assert times == sorted(times)
            # The counter is the camera's; consecutive frames may be dropped but never reorder.
            counters = [f.counter for f in frames]
            assert len(set(counters)) > 10
            # Stopping closes the stream: the responder notices.
            sent = sim.lv_frames_sent
            await asyncio.sleep(0.2)
            assert sim.lv_frames_sent - sent < 50
            # A second session works after the first ended.
            agen = cam.liveview()
            first = await agen.__anext__()
            await agen.aclose()
            assert bytes(first.jpeg[:2]) == b"\xff\xd8"

    run(body)


def test_liveview_to_calls_the_sink_from_the_read_callback() -> None:
    async def body(sim: MiniFuji) -> None:
        async with camera(sim) as cam:
            frames: list[Any] = []
            in_task: list[bool] = []
            enough = asyncio.Event()

            def sink(frame: Any) -> None:
                frames.append(frame)
                in_task.append(asyncio.current_task() is not None)
                if len(frames) == 50:
                    enough.set()

            task = asyncio.create_task(cam.liveview_to(sink))
            await asyncio.wait_for(enough.wait(), 5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # in the socket's callback, not in a task a queue woke
            assert not any(in_task)
            assert all(isinstance(f.jpeg, memoryview) and bytes(f.jpeg[:2]) == b"\xff\xd8" for f in frames)
            assert {(f.width, f.height) for f in frames} == {(320, 240)}
            assert [f.time for f in frames] == sorted(f.time for f in frames)
            assert len({f.counter for f in frames}) > 10
            # cancelling closed the stream: the camera stops sending
            await asyncio.sleep(0.1)
            sent = sim.lv_frames_sent
            await asyncio.sleep(0.2)
            assert sim.lv_frames_sent - sent < 50
            # and the next stream may start
            agen = cam.liveview()
            assert bytes((await agen.__anext__()).jpeg[:2]) == b"\xff\xd8"
            await agen.aclose()

    run(body)


def test_liveview_to_ends_with_the_sinks_error() -> None:
    async def body(sim: MiniFuji) -> None:
        async with camera(sim) as cam:
            seen: list[int] = []

            def sink(frame: Any) -> None:
                seen.append(frame.counter)
                if len(seen) == 3:
                    raise ValueError("viewer broke")

            with pytest.raises(ValueError, match="viewer broke"):
                await asyncio.wait_for(cam.liveview_to(sink), 5)
            await asyncio.sleep(0.05)
            assert len(seen) == 3  # nothing delivered after the error
            got: list[Any] = []
            task = asyncio.create_task(cam.liveview_to(got.append))  # the stream was let go
            while not got:
                await asyncio.sleep(0.01)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    run(body)


def test_liveview_to_returns_when_the_camera_closes_the_stream() -> None:
    async def body(sim: MiniFuji) -> None:
        async with camera(sim) as cam:
            got: list[Any] = []
            await asyncio.wait_for(cam.liveview_to(got.append), 5)
            assert [f.counter for f in got] == [0, 1, 2, 3, 4]

    run(body, lv_frames=5, lv_then="close")


def test_liveview_to_times_out_when_frames_stop() -> None:
    async def body(sim: MiniFuji) -> None:
        cam = FujiLink("127.0.0.1", **sim.ports(), timeout=0.3)
        await cam.connect()
        try:
            got: list[Any] = []
            t0 = time.monotonic()
            with pytest.raises(PTPTimeout, match="no live-view frame within 0.3s"):
                await asyncio.wait_for(cam.liveview_to(got.append), 5)
            assert len(got) == 5
            assert 0.3 <= time.monotonic() - t0 < 2.0
        finally:
            await cam.close()

    run(body, lv_frames=5, lv_then="stall")


def test_raw_and_unsupported_objects() -> None:
    async def body(sim: MiniFuji) -> None:
        async with camera(sim) as cam:
            r = await cam.raw(0x1015, (0xD001,))
            assert (r.code, r.data) == (0x2001, b"\x02\x00")
            r = await cam.raw(0x9999)
            assert r.code == 0x2005
            with pytest.raises(Unsupported):
                await cam.objects()
            with pytest.raises(ResponseError):
                await cam.link.transact(0x1015, (0xD0FF,))

    run(body)


def test_guid_forms() -> None:
    from ptpd.fuji.link import guid_bytes

    text = "9fe5160c-4951-404d-9505-10baaf725606"
    # fuji-ptpip.md §3.1: the GUID goes as 16 bytes in textual order.
    assert guid_bytes(text) == bytes.fromhex("9fe5160c4951404d950510baaf725606")
    assert guid_bytes(bytes(16)) == bytes(16)
    with pytest.raises(ValueError):
        guid_bytes("not-a-guid")
    assert FujiCamera("127.0.0.1", guid=text).link.guid == guid_bytes(text)
    assert FujiCamera("127.0.0.1", guid="").link.guid == bytes.fromhex("ada5485d87b27f0bd3d5ded00278a8c0")


# -- deadlines: the command channel's own (time passes for real here, over sockets) ---------


async def _silent(ev: OperationRequest, conn: Any, writer: asyncio.StreamWriter) -> None:
    pass  # never answers


async def _trickle(ev: OperationRequest, conn: Any, writer: asyncio.StreamWriter) -> None:
    """A data container announcing 1 MB, then a byte every 20 ms (a hostile camera)."""
    writer.write(struct.pack("<IHHI", 12 + 1_000_000, 2, ev.code, ev.transaction_id))
    try:
        for _ in range(200):
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.02)
    except (ConnectionError, OSError):
        pass


STEADY = bytes(range(256)) * (6 * 64 * 1024 // 256)  # six times min_progress


async def _steady(ev: OperationRequest, conn: Any, writer: asyncio.StreamWriter) -> None:
    """The data container in 64 KiB pieces, one every 0.1 s: slow, but steady."""
    wire = conn.send(Data(ev.code, ev.transaction_id, STEADY)) + conn.send(OperationResponse(0x2001, ev.transaction_id))
    for pos in range(0, len(wire), 64 * 1024):
        writer.write(wire[pos : pos + 64 * 1024])
        await writer.drain()
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("hook", [_silent, _trickle], ids=["silent", "trickle"])
def test_a_silent_or_trickling_camera_times_out_and_the_link_closes(hook: Any) -> None:
    """A camera that says nothing, or keeps a data container coming a byte at a time, runs
    out of the channel's time alike; Fuji's dialect has no Cancel, so the link closes."""

    async def body(sim: MiniFuji) -> None:
        link = FujiLink("127.0.0.1", **sim.ports(), timeout=5)
        await link.connect()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        with pytest.raises(PTPTimeout, match="the answer to 0x9022"):
            await link.transact(0x9022, timeout=0.3)
        assert 0.25 <= loop.time() - t0 < 1.5
        assert not link.connected
        with pytest.raises(CameraDisconnected):
            await link.transact(0x1015, (0xD001,))

    run(body, hooks={0x9022: hook})


def test_a_steady_container_outlives_the_timeout() -> None:
    async def body(sim: MiniFuji) -> None:
        async with FujiLink("127.0.0.1", **sim.ports(), timeout=0.35) as link:
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            resp, data = await link.transact(0x9022)
            assert resp.code == 0x2001 and data == STEADY
            assert loop.time() - t0 > 0.5  # longer than its timeout, while the bytes came
            r, _ = await link.transact(0x1015, (0xD001,))  # and the link goes on
            assert r.code == 0x2001

    run(body, hooks={0x9022: _steady})


def test_silent_camera_at_init_is_a_timeout() -> None:
    async def body(sim: MiniFuji) -> None:
        link = FujiLink("127.0.0.1", **sim.ports(), timeout=0.3)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        with pytest.raises(PTPTimeout, match="init acknowledgement"):
            await link.connect()
        assert 0.25 <= loop.time() - t0 < 2.0
        assert not link.connected

    run(body, silent_init=True)
