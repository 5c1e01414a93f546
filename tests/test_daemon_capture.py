"""The ``capture`` command's outcomes shot by shot, in-process against a scripted camera
over real ipc:// sockets: a preview delivered when the camera names no object, a shot
that cannot be identified, a release refused after shots were delivered, an image that
arrives cut. Each failure names what is left on the camera and deletes nothing.

The camera is test_daemon's fake body, its shots following a script; the dropped-link
cases run against the simulator in test_daemon_transfer.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import zmq.asyncio

from ptpd import bus
from ptpd.camera import ReleaseGate, ResponseError, Shot
from ptpd.daemon.config import load_config
from ptpd.daemon.server import Daemon
from test_daemon import JPEG, Client, FakeCamera, World, run, wait_connected, wait_until
from test_daemon_sim import subscriber

pytestmark = pytest.mark.timeout(30)

#: seconds a ``slow`` shot takes: past the daemon's floor for one camera command (5 s)
SLOW = 6.0


class ScriptedCamera(FakeCamera):
    """Shots as the script says: ``image`` (a whole image), ``preview`` (no object, a
    preview), ``nothing`` (no object, no preview), ``busy`` (the release refused),
    ``short`` (the image on the card is shorter than its ObjectInfo says), ``hang`` (an
    image whose download never ends), ``slow`` (the picture named :data:`SLOW` seconds
    after the release, as a body that may wait :attr:`wait` seconds for it)."""

    def __init__(self, world: World, script: list[str]) -> None:
        super().__init__(world)
        self.script = script
        self.hanging: set[int] = set()
        self.wait = 30.0

    def capture_wait(self) -> float:
        return self.wait

    async def download(self, handle: int, progress: Any = None, offset: int = 0, size: Any = None) -> bytes:
        if handle in self.hanging:
            await asyncio.sleep(3600)
        return await super().download(handle, progress, offset, size)

    async def capture(self, gate: ReleaseGate | None = None) -> Shot:  # the gate's moment is not simulated
        kind = self.script.pop(0) if self.script else "image"
        if kind == "busy":
            raise ResponseError(0x2019)
        if kind == "slow":
            await asyncio.sleep(SLOW)
        if kind in ("preview", "nothing"):
            self.world.shutter += 1
            return Shot(None, None, JPEG if kind == "preview" else None)
        shot = await super().capture()
        if kind == "hang":
            assert shot.handle is not None
            self.hanging.add(shot.handle)
        if kind == "short":
            assert shot.handle is not None and shot.object is not None
            entry, data = self.world.objects[shot.handle]
            self.world.objects[shot.handle] = (entry, data[: len(data) // 2])
        return shot


@contextlib.asynccontextmanager
async def scripted(
    tmp_path: Path, script: list[str], **config: Any
) -> AsyncIterator[tuple[World, Client, Daemon, zmq.asyncio.Context]]:
    world = World()
    eps = {k: f"ipc://{tmp_path}/run/{k}" for k in ("command", "event", "liveview")}
    cfg = load_config(
        {
            **config,
            "host": "fake",
            "state_dir": str(tmp_path / "state"),
            "command_endpoint": eps["command"],
            "event_endpoint": eps["event"],
            "liveview_endpoint": eps["liveview"],
        },
        environ={},
    )
    d = Daemon(cfg, lambda: ScriptedCamera(world, script))
    ctx = zmq.asyncio.Context()
    await d.start()
    try:
        c = Client(ctx, eps["command"])
        await wait_connected(c)
        yield world, c, d, ctx
    finally:
        await d.stop()
        ctx.destroy(linger=0)


def test_a_shot_without_an_object_delivers_its_preview(tmp_path: Path) -> None:
    async def body() -> None:
        async with scripted(tmp_path, ["preview", "preview"]) as (world, c, *_):
            shot = (await c.ok("capture", {"download": True}))["shots"][0]
            assert shot["handle"] is None and shot["source"] == "preview" and shot["data"] == JPEG
            assert shot["filename"].startswith("preview-") and shot["filename"].endswith("-1.jpg")
            assert shot["size"] == len(JPEG)
            out = tmp_path / "out"
            shot = (await c.ok("capture", {"dir": str(out), "keep": False}))["shots"][0]
            assert Path(shot["path"]).parent == out and Path(shot["path"]).read_bytes() == JPEG
            assert "deleted" not in shot  # nothing on the camera was delivered, nothing deleted

    run(body())


def test_a_capture_may_take_as_long_as_the_camera_waits_for_its_picture(tmp_path: Path) -> None:
    # with a short --timeout the daemon's deadline for one camera command is its 5 s
    # floor; a body that may wait 30 s for its picture (a Canon's 90) names it after 6:
    # the shot is delivered and the link stays (the deadline used to drop it)
    async def body() -> None:
        async with scripted(tmp_path, ["slow"], timeout=0.05) as (world, c, d, _):
            connects = d.link.connects
            shot = (await c.ok("capture", {"download": True}, timeout=20))["shots"][0]
            assert shot["source"] == "camera" and shot["data"] == world.objects[shot["handle"]][1]
            assert d.link.connects == connects and d.link.connected

    run(body())


def test_a_shot_that_cannot_be_identified_is_an_error_with_no_handle(tmp_path: Path) -> None:
    async def body() -> None:
        async with scripted(tmp_path, ["image", "nothing", "image"]) as (world, c, *_):
            e = await c.err("capture", {"count": 3, "download": True})
            assert e["code"] == "camera_refused" and e["handles"] == []
            assert "shot 2 was taken but could not be identified" in e["message"]
            first, second = e["shots"]  # the loop stopped at the failed shot
            assert first["source"] == "camera" and "data" not in first  # listed, bytes left out
            assert second["handle"] is None and second["error"] == "the camera named no object and offered no preview"
            assert world.shutter == 2

    run(body())


def test_a_failed_capture_is_answered_again_without_firing(tmp_path: Path) -> None:
    async def body() -> None:
        async with scripted(tmp_path, ["nothing"]) as (world, c, *_):
            first = await c.call("capture", {"download": True}, id="cap-1")
            assert not first["ok"] and world.shutter == 1
            again = await c.call("capture", {"download": True}, id="cap-1")
            assert again == first and world.shutter == 1  # the shutter fired once: the reply is cached

    run(body())


def test_a_release_refused_after_delivered_shots_lists_them(tmp_path: Path) -> None:
    async def body() -> None:
        async with scripted(tmp_path, ["image", "busy"]) as (world, c, *_):
            e = await c.err("capture", {"count": 3, "download": True, "keep": False})
            assert e["code"] == "camera_busy" and e["ptp_code"] == 0x2019 and e["handles"] == []
            assert e["message"].startswith("capture: 1 shot(s) delivered, then shot 2 failed: camera_busy")
            [shot] = e["shots"]
            assert shot["index"] == 1 and shot["deleted"] is True and shot["handle"] not in world.objects

    run(body())


def test_an_image_that_arrives_cut_stays_on_the_camera(tmp_path: Path) -> None:
    async def body() -> None:
        async with scripted(tmp_path, ["short"]) as (world, c, *_):
            out = tmp_path / "out"
            e = await c.err("capture", {"dir": str(out), "keep": False})
            [handle] = e["handles"]
            assert e["code"] == "camera_refused" and f"handle 0x{handle:08X}" in e["message"]
            [shot] = e["shots"]
            assert shot["error"].startswith("camera_refused: incomplete transfer: got ")
            assert "bytes received" in shot["error"] and "received" in shot and "deleted" not in shot
            assert handle in world.objects, "keep=false deletes only what was delivered"
            assert not out.exists() or list(out.iterdir()) == []

    run(body())


def test_each_shot_is_announced(tmp_path: Path) -> None:
    async def body() -> None:
        async with scripted(tmp_path, []) as (world, c, d, ctx):
            sub = subscriber(ctx, f"ipc://{tmp_path}/run/event", b"event.capture_done")
            await wait_until(lambda: d.events.subs.total() == 1)
            rid = await c.send("capture", {"count": 2})
            done = [bus.unpack((await asyncio.wait_for(sub.recv_multipart(), 5))[1]) for _ in range(2)]
            reply = await c.recv()
            assert reply["ok"]
            assert [(m["id"], m["index"], m["count"]) for m in done] == [(rid, 1, 2), (rid, 2, 2)]
            assert [(m["handle"], m["filename"]) for m in done] == [
                (s["handle"], s["filename"]) for s in reply["result"]["shots"]
            ]

    run(body())


def test_a_capture_the_daemon_stops_mid_shot_names_what_it_delivered_and_left(tmp_path: Path) -> None:
    """SIGTERM's path when the shot in progress cannot finish within the grace: the reply
    is not a bare not_connected but the files written and the image left on the camera."""

    async def body() -> None:
        async with scripted(tmp_path, ["image", "image", "hang"]) as (world, c, d, _):
            out = tmp_path / "out"
            await c.send("capture", {"count": 5, "dir": str(out)}, id="cap")
            await wait_until(lambda: len(world.objects) == 3 and out.exists() and len(list(out.iterdir())) == 2)
            await asyncio.sleep(0.1)
            stopping = asyncio.create_task(d.stop())
            reply = await c.recv(10)
            await stopping
            e = reply["error"]
            [left] = [h for h in world.objects if h not in {s["handle"] for s in e["shots"][:2]}]
            assert reply["id"] == "cap" and e["code"] == "not_connected" and e["handles"] == [left]
            name = world.objects[left][0].filename
            assert e["message"].startswith("capture stopped: the daemon is stopping; 2 of 5 shot(s) delivered")
            assert f"image left on the camera, handle 0x{left:08X} ({name})" in e["message"]
            first, second, third = e["shots"]
            assert sorted(Path(s["path"]) for s in (first, second)) == sorted(out.iterdir())
            assert third["handle"] == left and "path" not in third and "daemon stopped" in third["error"]
            assert world.shutter == 3

    run(body())
