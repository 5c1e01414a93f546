"""The daemon in-process against a fake camera body, driven over real ipc:// sockets.

The fake is a real :class:`ptpd.camera.base.Camera` implementation with a shared "body"
(:class:`World`) that can go offline, refuse, be slow, and count shutter releases, so
the daemon's routing, queueing, reply cache, reconnect and live-view control are tested
without the protocol layer. Process-level tests (``ptpd run --simulate``) are in
``test_daemon_process.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import time
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import zmq
import zmq.asyncio
from PIL import Image

from ptpd import bus
from ptpd.camera.base import (
    Camera,
    CameraEvent,
    CameraInfo,
    LiveViewFrame,
    ObjectEntry,
    PropertyDesc,
    PropertyValue,
    RawResult,
    ReleaseGate,
    Shot,
)
from ptpd.daemon.config import load_config
from ptpd.daemon.server import Daemon
from ptpd.protocol.datasets import ObjectInfo
from ptpd.protocol.errors import CameraDisconnected, ResponseError
from test_daemon_sim import subscriber

pytestmark = pytest.mark.timeout(30)


def make_jpeg(color: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", quality=80)
    return buf.getvalue()


JPEG = make_jpeg((200, 30, 30))
ISO = [(200, "200"), (400, "400"), (800, "800"), (1600, "1600")]
WB = [(2, "auto"), (4, "daylight"), (6, "tungsten")]
PROPS = {"iso": (0x500F, ISO), "whitebalance": (0x5005, WB)}


class World:
    """The camera body every FakeCamera connects to: survives our reconnects."""

    def __init__(self) -> None:
        self.online = True
        self.values = {"iso": 200, "whitebalance": 2}
        self.objects: dict[int, tuple[ObjectEntry, bytes]] = {}
        self.handles = itertools.count(0x100)
        self.shutter = 0
        self.capture_delay = 0.0
        self.busy = False
        self.connects = 0
        self.lv_starts = 0
        self.lv_stops = 0
        self.lv_running = False
        self.keepalives = 0
        self.listings = 0  #: objects() calls
        self.object_infos = 0  #: GetObjectInfo through raw()
        self.gets = 0  #: get() calls
        self.cameras: list[FakeCamera] = []
        #: when set, a camera's close() waits for it (a camera slow to hang up)
        self.close_gate: asyncio.Event | None = None

    def reset_settings(self) -> None:
        """What a power cycle does."""
        self.values = {"iso": 200, "whitebalance": 2}

    def drop(self) -> None:
        self.online = False
        for cam in self.cameras:
            cam.lost()


class FakeCamera(Camera):
    vendor = "generic"

    def __init__(self, world: World) -> None:
        self.world = world
        self._up = False
        self._events: asyncio.Queue[CameraEvent | None] = asyncio.Queue()
        world.cameras.append(self)

    def lost(self) -> None:
        self._up = False
        self._events.put_nowait(None)

    def _check(self) -> None:
        if not self._up or not self.world.online:
            raise CameraDisconnected("fake link down")

    async def connect(self) -> None:
        await asyncio.sleep(0)
        if not self.world.online:
            raise ConnectionRefusedError("fake camera is off")
        self._up = True
        self.world.connects += 1

    async def close(self) -> None:
        self._up = False
        self._events.put_nowait(None)
        if self.world.close_gate is not None:
            await self.world.close_gate.wait()

    @property
    def connected(self) -> bool:
        return self._up

    async def info(self) -> CameraInfo:
        self._check()
        return CameraInfo(
            "generic", "Fake", "FakeCam 1", "1.0", serial="42", operations=(0x1001, 0x100E), properties=(0x500F, 0x5005)
        )

    async def property_names(self) -> list[str]:
        self._check()
        return list(PROPS)

    def _resolve(self, prop: str | int) -> str:
        for name, (code, _) in PROPS.items():
            if (
                prop == name
                or prop == code
                or (isinstance(prop, str) and prop.lower() in (f"0x{code:04x}", f"{code:04x}"))
            ):
                return name
        raise ValueError(f"unknown property {prop!r}; known: {', '.join(PROPS)}")

    def _pv(self, name: str) -> PropertyValue:
        code, table = PROPS[name]
        raw = self.world.values[name]
        return PropertyValue(code, name, raw, dict(table)[raw], 4)

    async def describe(self, prop: str | int) -> PropertyDesc:
        self._check()
        name = self._resolve(prop)
        code, table = PROPS[name]
        return PropertyDesc(code, name, 4, True, self._pv(name), None, "enum", tuple(table))

    async def get(self, prop: str | int) -> PropertyValue:
        self._check()
        self.world.gets += 1
        return self._pv(self._resolve(prop))

    async def set(self, prop: str | int, value: str | int) -> PropertyValue:
        self._check()
        name = self._resolve(prop)
        table = PROPS[name][1]
        for raw, label in table:
            if value in (raw, label, str(raw)):
                self.world.values[name] = raw
                self._events.put_nowait(
                    CameraEvent("property_changed", 0x4006, (PROPS[name][0],), time=time.monotonic())
                )
                return self._pv(name)
        raise ValueError(f"{name} {value!r} not allowed; allowed: {', '.join(lbl for _, lbl in table)}")

    async def state(self) -> list[PropertyValue]:
        self._check()
        return [self._pv(n) for n in PROPS]

    async def capture(self, gate: ReleaseGate | None = None) -> Shot:  # the gate's moment is not simulated
        self._check()
        if self.world.busy:
            raise ResponseError(0x2019)
        await asyncio.sleep(self.world.capture_delay)
        self._check()
        self.world.shutter += 1
        h = next(self.world.handles)
        data = make_jpeg((h % 256, 100, 50))
        obj = ObjectEntry(h, 0x10001, f"DSCF{h:04d}.JPG", len(data), 0x3801)
        self.world.objects[h] = (obj, data)
        self._events.put_nowait(CameraEvent("object_added", 0x4002, (h,), time=time.monotonic()))
        return Shot(h, obj, JPEG)

    async def objects(self) -> list[ObjectEntry]:
        self._check()
        self.world.listings += 1
        return [o for o, _ in self.world.objects.values()]

    async def download(self, handle: int, progress: Any = None, offset: int = 0, size: Any = None) -> bytes:
        self._check()
        if handle not in self.world.objects:
            raise ResponseError(0x2009)  # InvalidObjectHandle
        data = self.world.objects[handle][1]
        if progress:
            progress(len(data), len(data))
        return data[offset:]

    async def delete(self, handle: int) -> None:
        self._check()
        if self.world.objects.pop(handle, None) is None:
            raise ResponseError(0x2009)

    async def raw(self, code: int, params: tuple[int, ...] = (), data: bytes | None = None) -> RawResult:
        self._check()
        if code == 0x1001:
            return RawResult(0x2001, (), b"\x64\x00" + (data or b""))
        if code == 0x1008:  # GetObjectInfo
            self.world.object_infos += 1
            if not params or params[0] not in self.world.objects:
                return RawResult(0x2009, (), b"")  # InvalidObjectHandle
            o = self.world.objects[params[0]][0]
            return RawResult(
                0x2001,
                (),
                ObjectInfo(
                    storage_id=o.storage_id, object_format=o.format, object_compressed_size=o.size, filename=o.filename
                ).encode(),
            )
        return RawResult(0x2005, params, b"")  # OperationNotSupported

    async def events(self) -> AsyncGenerator[CameraEvent, None]:
        while True:
            ev = await self._events.get()
            if ev is None:
                raise CameraDisconnected("event channel closed")
            yield ev

    async def keepalive(self) -> None:
        self._check()
        self.world.keepalives += 1

    async def liveview(self) -> AsyncGenerator[LiveViewFrame, None]:
        self._check()
        self.world.lv_starts += 1
        self.world.lv_running = True
        try:
            for n in itertools.count(1):
                self._check()
                yield LiveViewFrame(n, time.monotonic(), JPEG, 64, 48)
                await asyncio.sleep(0.01)
        finally:
            self.world.lv_running = False
            self.world.lv_stops += 1


# -- harness -------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def daemon_running(tmp_path: Path, world: World, **flags: Any) -> AsyncIterator[tuple[Daemon, dict[str, str]]]:
    run = tmp_path / "run"
    eps = {k: f"ipc://{run}/{k}" for k in ("command", "event", "liveview")}
    cfg = load_config(
        {
            "host": "fake",
            "command_endpoint": eps["command"],
            "event_endpoint": eps["event"],
            "liveview_endpoint": eps["liveview"],
            "state_dir": str(tmp_path / "state"),
            "reconnect_min": 0.05,
            "reconnect_max": 0.2,
            **flags,
        },
        environ={},
    )
    d = Daemon(cfg, lambda: FakeCamera(world))
    await d.start()
    try:
        yield d, eps
    finally:
        await d.stop()


class Client:
    """A raw DEALER client: one msgpack map per request, replies matched by id."""

    def __init__(self, ctx: zmq.asyncio.Context, endpoint: str, delimiter: bool = True) -> None:
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.linger = 0
        self.sock.connect(endpoint)
        self.delimiter = delimiter
        self.ids = itertools.count(1)

    async def send(self, cmd: str, args: dict[str, Any] | None = None, id: Any = None) -> Any:
        rid = next(self.ids) if id is None else id
        frames = [bus.encode_request(rid, cmd, args)]
        await self.sock.send_multipart([b"", *frames] if self.delimiter else frames)
        return rid

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        frames = await asyncio.wait_for(self.sock.recv_multipart(), timeout)
        return bus.unpack(frames[-1])

    async def call(
        self, cmd: str, args: dict[str, Any] | None = None, id: Any = None, timeout: float = 5.0
    ) -> dict[str, Any]:
        rid = await self.send(cmd, args, id)
        reply = await self.recv(timeout)
        assert reply["id"] == rid
        return reply

    async def ok(self, cmd: str, args: dict[str, Any] | None = None, **kw: Any) -> Any:
        reply = await self.call(cmd, args, **kw)
        assert reply["ok"], reply
        return reply["result"]

    async def err(self, cmd: str, args: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        reply = await self.call(cmd, args, **kw)
        assert not reply["ok"], reply
        return reply["error"]


async def wait_until(pred: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def wait_connected(c: Client, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while (await c.ok("status"))["connection"] != "connected":
        assert time.monotonic() < deadline, "daemon never connected"
        await asyncio.sleep(0.02)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@contextlib.asynccontextmanager
async def connected(
    tmp_path: Path, world: World, **flags: Any
) -> AsyncIterator[tuple[Daemon, dict[str, str], zmq.asyncio.Context, Client]]:
    """The daemon on ``world`` and a client that has seen it connect; every socket made on
    the yielded context is closed at the end, whatever the test did."""
    ctx = zmq.asyncio.Context()
    try:
        async with daemon_running(tmp_path, world, **flags) as (d, eps):
            c = Client(ctx, eps["command"])
            await wait_connected(c)
            yield d, eps, ctx, c
    finally:
        ctx.destroy(linger=0)


# -- tests -----------------------------------------------------------------------------


def test_every_command_answers(tmp_path: Path) -> None:
    world = World()

    async def body() -> None:
        async with connected(tmp_path, world) as (d, eps, ctx, c):
            assert (await c.ok("ping"))["pong"] is True
            v = await c.ok("version")
            assert v["protocol"] == bus.PROTOCOL_VERSION and v["endpoints"]["command"] == eps["command"]
            st = await c.ok("status")
            assert st["model"] == "FakeCam 1" and st["queue"] == 0 and st["vendor"] == "generic"
            names = {x["name"] for x in (await c.ok("help"))["commands"]}
            assert names == set(bus.COMMANDS)
            assert (await c.ok("info"))["model"] == "FakeCam 1"
            assert (await c.ok("properties"))["names"] == ["iso", "whitebalance"]
            desc = await c.ok("describe", {"prop": "0x500F"})
            assert (
                desc["name"] == "iso" and desc["form"] == "enum" and {"value": 800, "label": "800"} in desc["allowed"]
            )
            assert (await c.ok("get", {"prop": "iso"}))["label"] == "200"
            assert (await c.ok("set", {"prop": "iso", "value": "800"}))["value"] == 800
            assert (await c.ok("get", {"prop": 0x500F}))["label"] == "800"
            state = await c.ok("state")
            assert {"code": 0x500F, "name": "iso", "value": 800, "label": "800"} in state["properties"]
            snap = await c.ok("snapshot")
            assert snap["state"]["iso"]["value"] == 800 and snap["seq"] >= 1 and snap["info"]["model"] == "FakeCam 1"

            shots = (await c.ok("capture", {"count": 2, "download": True, "preview": True}))["shots"]
            assert len(shots) == 2 and world.shutter == 2
            assert shots[0]["data"][:2] == b"\xff\xd8" and shots[0]["preview"] == JPEG
            out = tmp_path / "out"
            shot = (await c.ok("capture", {"dir": str(out), "keep": False}))["shots"][0]
            assert Path(shot["path"]).read_bytes()[:2] == b"\xff\xd8" and Path(shot["path"]).parent == out
            assert shot["deleted"] is True and shot["handle"] not in world.objects

            objs = (await c.ok("objects"))["objects"]
            assert [o["handle"] for o in objs] == [shots[0]["handle"], shots[1]["handle"]]
            dl = await c.ok("download", {"handle": shots[1]["handle"], "offset": 2})
            assert dl["data"] == world.objects[shots[1]["handle"]][1][2:] and dl["filename"].startswith("DSCF")
            assert (await c.ok("delete", {"handle": shots[1]["handle"]}))["handle"] == shots[1]["handle"]
            e = await c.err("delete", {"handle": shots[1]["handle"]})
            assert e["code"] == "camera_refused" and e["ptp_code"] == 0x2009

            raw = await c.ok("opreq", {"code": 0x1001, "params": [], "data": b"\x01"})
            assert raw == {"code": 0x2001, "code_name": "OK", "params": [], "data": b"\x64\x00\x01"}
            raw = await c.ok("opreq", {"code": 0x9999, "params": [1, 2]})
            assert raw["code"] == 0x2005 and raw["params"] == [1, 2]

            assert (await c.ok("liveview.start"))["on"] is True
            await wait_until(lambda: world.lv_running)
            assert (await c.ok("liveview.stop"))["on"] is False
            await wait_until(lambda: not world.lv_running)
            assert (await c.err("sim.fault", {"action": "snapshot"}))["code"] == "unsupported"

    run(body())


def test_binary_results_travel_as_blob_frames_when_asked(tmp_path: Path) -> None:
    world = World()

    async def body() -> None:
        async with connected(tmp_path, world) as (d, eps, ctx, c):
            shot = (await c.ok("capture", {"count": 1}))["shots"][0]
            image = world.objects[shot["handle"]][1]
            listings, infos = world.listings, world.object_infos

            # asked for blobs: [b"", header, blob]; the header points at the frame
            await c.sock.send_multipart([b"", *bus.encode_request_frames("d1", "download", {"handle": shot["handle"]})])
            frames = await asyncio.wait_for(c.sock.recv_multipart(), 5)
            assert len(frames) == 3 and frames[0] == b"" and frames[2] == image
            header = bus.unpack(frames[1])
            assert header["result"]["data"] == {"$blob": 0} and header["result"]["filename"] == shot["filename"]
            assert header["result"]["size"] == len(image)
            reply = bus.decode_reply(frames)
            assert reply["result"]["data"] == image
            # the name came from one GetObjectInfo, not from listing the card
            assert world.listings == listings and world.object_infos == infos + 1

            # not asked: the same reply in one frame, bytes inline (old clients)
            await c.sock.send_multipart([b"", bus.encode_request("d2", "download", {"handle": shot["handle"]})])
            frames = await asyncio.wait_for(c.sock.recv_multipart(), 5)
            assert len(frames) == 2 and bus.unpack(frames[1])["result"]["data"] == image

            # capture with download and preview: two blobs per shot, in order
            await c.sock.send_multipart(
                [b"", *bus.encode_request_frames("c1", "capture", {"count": 2, "download": True, "preview": True})]
            )
            frames = await asyncio.wait_for(c.sock.recv_multipart(), 5)
            shots = bus.unpack(frames[1])["result"]["shots"]
            refs = [(s["data"]["$blob"], s["preview"]["$blob"]) for s in shots]
            assert (
                sorted(i for pair in refs for i in pair) == [0, 1, 2, 3] and len(frames) == 6
            )  # numbered as they appear
            for s, (di, pi) in zip(shots, refs):
                assert frames[2 + di] == world.objects[s["handle"]][1] and frames[2 + pi] == JPEG
            # a retry is answered from the reply cache with the same frames; no second shot
            shutter = world.shutter
            await c.sock.send_multipart(
                [b"", *bus.encode_request_frames("c1", "capture", {"count": 2, "download": True, "preview": True})]
            )
            again = await asyncio.wait_for(c.sock.recv_multipart(), 5)
            assert again == frames and world.shutter == shutter

            # a request carries its bytes as a blob frame; opreq data comes back as one
            await c.sock.send_multipart(
                [b"", *bus.encode_request_frames("o1", "opreq", {"code": 0x1001, "data": b"\x07\x08"})]
            )
            frames = await asyncio.wait_for(c.sock.recv_multipart(), 5)
            assert len(frames) == 3 and frames[2] == b"\x64\x00\x07\x08"
            assert bus.unpack(frames[1])["result"]["data"] == {"$blob": 0}
            # a command without bytes in its result stays one frame even when blobs are asked
            await c.sock.send_multipart([b"", *bus.encode_request_frames("p1", "get", {"prop": "iso"})])
            frames = await asyncio.wait_for(c.sock.recv_multipart(), 5)
            assert len(frames) == 2 and bus.unpack(frames[1])["result"]["name"] == "iso"
            # an unknown handle: the download's own error, in one frame
            await c.sock.send_multipart([b"", *bus.encode_request_frames("d3", "download", {"handle": 0x7FFF})])
            frames = await asyncio.wait_for(c.sock.recv_multipart(), 5)
            assert len(frames) == 2 and bus.unpack(frames[1])["error"]["ptp_code"] == 0x2009

    run(body())


def test_errors_have_stable_codes(tmp_path: Path) -> None:
    world = World()

    async def body() -> None:
        async with connected(tmp_path, world) as (d, eps, ctx, c):
            e = await c.err("set", {"prop": "iso", "value": "12345"})
            assert e["code"] == "invalid_value" and "allowed" in e["message"]
            assert (await c.err("get", {"prop": "nosuch"}))["code"] == "invalid_value"
            assert (await c.err("get"))["code"] == "bad_request"
            assert (await c.err("get", {"prop": "iso", "bogus": 1}))["code"] == "bad_request"
            assert (await c.err("capture", {"count": "many"}))["code"] == "bad_request"
            assert (await c.err("capture", {"count": 0}))["code"] == "bad_request"
            assert (await c.err("opreq", {"code": 0x1001, "params": [1, 2, 3, 4, 5, 6]}))["code"] == "bad_request"
            assert (await c.err("fly"))["code"] == "unknown_command"
            world.busy = True
            e = await c.err("capture")
            assert e["code"] == "camera_busy" and e["ptp_code"] == 0x2019
            world.busy = False
            assert world.shutter == 0

    run(body())


def test_malformed_input_gets_errors_and_daemon_keeps_serving(tmp_path: Path) -> None:
    world = World()

    async def body() -> None:
        async with connected(tmp_path, world) as (d, eps, ctx, c):
            bad = [
                b"\xc1",  # never-used msgpack byte
                b"not msgpack at all \xff\xfe",
                bus.pack([1, 2, 3]),
                bus.pack({"cmd": "ping"}),
                bus.pack({"id": 7}),
                bus.pack({"id": True, "cmd": "ping"}),
                bus.pack({"id": 8, "cmd": "ping", "args": [1]}),
                bus.pack({"id": 9, "cmd": 5}),
                b"",
            ]
            for raw in bad:
                await c.sock.send_multipart([b"", raw])
                reply = await c.recv()
                assert reply["ok"] is False and reply["error"]["code"] == "bad_request", (raw, reply)
            # an id survives when only the rest is wrong
            await c.sock.send_multipart([b"", bus.pack({"id": 8, "cmd": "ping", "args": [1]})])
            assert (await c.recv())["id"] == 8
            # a frame after the header that nothing refers to: answered with an error, not run
            await c.sock.send_multipart([b"", bus.encode_request(10, "ping"), b"extra"])
            r = await c.recv()
            assert r["id"] == 10 and r["error"]["code"] == "bad_request" and "not referred to" in r["error"]["message"]
            # a reference to a blob frame that is not there
            await c.sock.send_multipart(
                [b"", bus.pack({"id": 11, "cmd": "opreq", "args": {"code": 0x1001, "data": {"$blob": 1}}}), b"x"]
            )
            r = await c.recv()
            assert r["id"] == 11 and r["error"]["code"] == "bad_request" and "out of range" in r["error"]["message"]
            # a bare DEALER without the delimiter works too
            bare = Client(ctx, eps["command"], delimiter=False)
            assert (await bare.ok("ping"))["pong"]
            # a REQ client
            req = ctx.socket(zmq.REQ)
            req.linger = 0
            req.connect(eps["command"])
            await req.send(b"garbage")
            assert bus.unpack(await asyncio.wait_for(req.recv(), 5))["error"]["code"] == "bad_request"
            await req.send(bus.encode_request("r1", "get", {"prop": "iso"}))
            r = bus.unpack(await asyncio.wait_for(req.recv(), 5))
            assert r["id"] == "r1" and r["result"]["name"] == "iso"
            assert (await c.ok("status"))["bad_requests"] >= len(bad) + 2

    run(body())


def test_retried_capture_fires_once_and_ping_is_not_delayed(tmp_path: Path) -> None:
    world = World()
    world.capture_delay = 0.6

    async def body() -> None:
        async with connected(tmp_path, world) as (d, eps, ctx, a):
            b = Client(ctx, eps["command"])
            await a.send("capture", {"count": 1}, id="cap-1")
            await asyncio.sleep(0.05)
            # while the capture runs: local commands answer at once, camera commands queue
            t0 = time.monotonic()
            assert (await b.ok("ping"))["pong"]
            st = await b.ok("status")
            assert time.monotonic() - t0 < 0.5
            assert st["busy"] == "capture"
            await b.send("get", {"prop": "iso"}, id="g")
            await asyncio.sleep(0.05)
            assert (await a.ok("status"))["queue"] == 2
            # the same request again while it runs: answered when the first one finishes
            await a.send("capture", {"count": 1}, id="cap-1")
            r1, r2 = await a.recv(), await a.recv()
            assert r1 == r2 and r1["ok"]
            assert (await b.recv())["id"] == "g"
            # and again afterwards: from the reply cache
            r3 = await a.call("capture", {"count": 1}, id="cap-1")
            assert r3 == r1
            assert world.shutter == 1
            # the same id from another client is another request
            world.capture_delay = 0
            await b.ok("capture", {"count": 1}, id="cap-1")
            assert world.shutter == 2

    run(body())


def test_two_clients_at_once_get_their_own_replies(tmp_path: Path) -> None:
    world = World()

    async def body() -> None:
        async with connected(tmp_path, world) as (d, eps, ctx, first):
            clients = [first, Client(ctx, eps["command"])]

            async def work(c: Client, n: int) -> list[Any]:
                ids = [
                    await c.send("get" if i % 2 else "ping", {"prop": "iso"} if i % 2 else {}, id=f"{n}-{i}")
                    for i in range(40)
                ]
                replies = [await c.recv() for _ in ids]
                return [r["id"] for r in replies if r["ok"]]

            got = await asyncio.gather(*(work(c, n) for n, c in enumerate(clients)))
            for n, ids in enumerate(got):
                assert sorted(ids) == sorted(f"{n}-{i}" for i in range(40))

    run(body())


def test_reconnect_republishes_state_and_reapplies_settings(tmp_path: Path) -> None:
    world = World()

    async def body() -> None:
        async with connected(tmp_path, world) as (d, eps, ctx, c):
            sub = subscriber(ctx, eps["event"], b"status.connection")
            await wait_until(lambda: d.events.subs.total() == 1)
            await c.ok("set", {"prop": "iso", "value": "1600"})
            await c.ok("set", {"prop": "whitebalance", "value": "daylight"})
            world.drop()
            world.reset_settings()
            seen = []
            while "disconnected" not in seen:
                topic, meta = await asyncio.wait_for(sub.recv_multipart(), 5)
                seen.append(bus.unpack(meta)["state"])
            t0 = time.monotonic()
            assert (await c.err("get", {"prop": "iso"}))["code"] == "not_connected"
            assert time.monotonic() - t0 < 1.0
            world.online = True
            while seen[-1] != "connected":
                topic, meta = await asyncio.wait_for(sub.recv_multipart(), 5)
                seen.append(bus.unpack(meta)["state"])
            assert "connecting" in seen
            assert (await c.ok("get", {"prop": "iso"}))["label"] == "1600"
            assert (await c.ok("get", {"prop": "whitebalance"}))["label"] == "daylight"
            st = await c.ok("status")
            assert st["reconnects"] >= 1 and world.connects >= 2

    run(body())


def test_a_command_during_the_hang_up_reads_disconnected(tmp_path: Path) -> None:
    """While the lost session is still being closed, the status already says
    disconnected, and a command is refused as not_connected with that state (it used to
    read "camera is connected")."""
    world = World()

    async def body() -> None:
        async with connected(tmp_path, world) as (d, eps, ctx, c):
            world.close_gate = asyncio.Event()
            world.drop()
            await wait_until(lambda: world.cameras[0]._events.qsize() > 0 and d.link.camera is None)
            err = await c.err("get", {"prop": "iso"})
            assert err["code"] == "not_connected"
            assert "disconnected" in err["message"], err
            assert (await c.ok("status"))["connection"] == "disconnected"
            world.close_gate.set()

    run(body())


def test_late_joiner_snapshot_lines_up_with_event_stream(tmp_path: Path) -> None:
    world = World()

    async def body() -> None:
        async with connected(tmp_path, world) as (d, eps, ctx, c):
            await c.ok("set", {"prop": "iso", "value": "400"})
            # the late joiner: subscribe first, then snapshot (Clone pattern)
            sub = subscriber(ctx, eps["event"], b"state.")
            await wait_until(lambda: d.events.subs.total() == 1)
            await c.ok("set", {"prop": "iso", "value": "800"})  # may land before or after the snapshot
            snap = await c.ok("snapshot")
            await c.ok("set", {"prop": "iso", "value": "1600"})
            state = {k: v["value"] for k, v in snap["state"].items()}
            last = snap["seq"]
            while state["iso"] != 1600:
                topic, meta = await asyncio.wait_for(sub.recv_multipart(), 5)
                m = bus.unpack(meta)
                assert topic.startswith(b"state.")
                if m["seq"] <= snap["seq"]:
                    continue  # already in the snapshot
                assert m["seq"] > last
                last = m["seq"]
                state[m["name"]] = m["value"]
            assert state == {"iso": 1600, "whitebalance": 2}

    run(body())


def test_liveview_runs_only_while_watched_and_frames_are_untouched(tmp_path: Path) -> None:
    world = World()

    async def body() -> None:
        async with connected(tmp_path, world) as (d, eps, ctx, c):
            await asyncio.sleep(0.1)
            assert world.lv_starts == 0
            subs = []
            for _ in range(2):
                subs.append(subscriber(ctx, eps["liveview"], b"liveview."))
            await wait_until(lambda: world.lv_running)
            metas = []
            for s in subs:
                topic, meta, jpeg = await asyncio.wait_for(s.recv_multipart(), 5)
                assert topic == b"liveview.frame" and jpeg == JPEG
                m = bus.unpack(meta)
                assert m["size"] == len(JPEG) and (m["width"], m["height"]) == (64, 48)
                assert m["t_daemon"] >= m["t_camera"]
                metas.append(m)
            st = await c.ok("status")
            assert st["liveview"]["on"] and st["liveview"]["subscribers"] == 2
            subs[0].close()
            await asyncio.sleep(0.1)
            assert world.lv_running
            subs[1].close()
            await wait_until(lambda: not world.lv_running)
            assert world.lv_stops == 1
            # liveview.start keeps it on with nobody watching
            await c.ok("liveview.start")
            await wait_until(lambda: world.lv_running)
            await c.ok("liveview.stop")
            await wait_until(lambda: not world.lv_running)

    run(body())


def test_keepalive_polls_while_idle(tmp_path: Path) -> None:
    world = World()

    async def body() -> None:
        async with connected(tmp_path, world, keepalive=0.1) as (d, eps, ctx, c):
            await wait_until(lambda: world.keepalives >= 3, timeout=3)

    run(body())


def test_camera_events_and_heartbeat_are_published(tmp_path: Path) -> None:
    world = World()

    async def body() -> None:
        async with connected(tmp_path, world) as (d, eps, ctx, c):
            sub = subscriber(ctx, eps["event"], b"event.", b"heartbeat")
            await wait_until(lambda: d.events.subs.total() == 2)
            shot = (await c.ok("capture"))["shots"][0]
            topics: dict[bytes, dict[str, Any]] = {}
            seqs = []
            while b"heartbeat" not in topics or b"event.object_added" not in topics:
                topic, meta = await asyncio.wait_for(sub.recv_multipart(), 3)
                m = bus.unpack(meta)
                seqs.append(m["seq"])
                topics[topic] = m
            assert topics[b"event.object_added"]["params"] == [shot["handle"]]
            assert topics[b"heartbeat"]["connection"] == "connected"
            assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

    run(body())


def test_the_echo_of_our_own_set_is_not_re_read_but_a_real_change_is(tmp_path: Path) -> None:
    """The camera's DevicePropChanged for a set we just made needs no transaction (it would
    queue in front of the client's next command); a change made elsewhere is read and
    published."""
    world = World()

    async def body() -> None:
        async with connected(tmp_path, world) as (d, eps, ctx, c):
            sub = subscriber(ctx, eps["event"], b"state.iso")
            await asyncio.sleep(0.2)  # the subscription reaches the PUB socket
            await asyncio.sleep(0.3)  # start-up reads and publications are over
            while await sub.poll(0):
                await sub.recv_multipart()
            assert (await c.ok("set", {"prop": "iso", "value": "800"}))["value"] == 800
            topic, meta = await asyncio.wait_for(sub.recv_multipart(), 2)
            assert bus.unpack(meta)["value"] == 800
            gets = world.gets
            await asyncio.sleep(0.3)  # the fake camera echoed property_changed at once
            assert world.gets == gets, "the echo of our own set was re-read"
            # the same property changed on the camera itself (a dial): read and published
            world.values["iso"] = 400
            world.cameras[-1]._events.put_nowait(
                CameraEvent("property_changed", 0x4006, (0x500F,), time=time.monotonic())
            )
            topic, meta = await asyncio.wait_for(sub.recv_multipart(), 2)
            assert bus.unpack(meta)["value"] == 400
            assert world.gets == gets + 1

    run(body())


def test_liveview_to_reports_why_live_view_ended_not_a_failed_or_stuck_stop() -> None:
    """The camera API's default ``liveview_to`` (any camera without its own): stopping a
    camera's live view that fails, or never finishes, neither replaces the error that
    ended live view nor holds the caller beyond a bounded wait."""

    class StopGoesWrong(FakeCamera):
        def __init__(self, stop: Any) -> None:
            super().__init__(World())
            self.stop = stop  # what stopping its live view does

        async def liveview(self) -> AsyncGenerator[LiveViewFrame, None]:
            try:
                yield LiveViewFrame(1, time.monotonic(), JPEG, 64, 48)
                await asyncio.sleep(3600)
            finally:
                await self.stop()

    async def fails() -> None:
        raise OSError("stopping live view failed")

    async def hangs() -> None:
        await asyncio.sleep(3600)

    def sink(frame: LiveViewFrame) -> None:
        raise RuntimeError("the sink gave up")

    async def main() -> None:
        for stop in (fails, hangs):
            t0 = time.monotonic()
            with pytest.raises(RuntimeError, match="sink gave up"):
                await asyncio.wait_for(StopGoesWrong(stop).liveview_to(sink), 30)
            assert time.monotonic() - t0 < 10

    asyncio.run(main())
