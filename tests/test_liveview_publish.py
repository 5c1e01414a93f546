"""The live-view socket, the one path frames take: each frame's JPEG goes to ZeroMQ as the
very object the camera layer read (``copy=False``, no copy, no msgpack around it), the
XPUB keeps a small send queue per subscriber, a subscriber that never reads costs the
publisher nothing, and subscriptions are counted as watchers."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import zmq
import zmq.asyncio

from ptpd import bus
from ptpd.camera.base import LiveViewFrame
from ptpd.daemon.liveview import LiveView

JPEG = b"\xff\xd8" + bytes(range(256)) * 200 + b"\xff\xd9"  # 51 KB: above pyzmq's copy threshold


def test_frames_leave_as_the_cameras_own_bytes(tmp_path: Path) -> None:
    async def main() -> None:
        ctx = zmq.asyncio.Context()
        watchers: list[int] = []
        lv = LiveView(ctx, on_watchers=watchers.append)
        endpoint = f"ipc://{tmp_path}/liveview"
        lv.sock.bind(endpoint)
        subs = asyncio.create_task(lv.run())
        sent: list[tuple[list[Any], dict[str, Any]]] = []
        send = lv.sock.send_multipart

        def spy(parts: list[Any], *args: Any, **kw: Any) -> Any:
            sent.append((list(parts), kw))
            return send(parts, *args, **kw)

        lv.sock.send_multipart = spy  # type: ignore[method-assign,assignment]  # a spy on this one socket
        reader = ctx.socket(zmq.SUB)
        idle = ctx.socket(zmq.SUB)  # subscribed, never reads
        try:
            assert lv.sock.getsockopt(zmq.SNDHWM) == 4  # a slow subscriber loses old frames, nobody waits
            for s in (reader, idle):
                s.linger = 0
                s.setsockopt(zmq.SUBSCRIBE, bus.Topic.FRAME.encode())
                s.connect(endpoint)
            deadline = time.monotonic() + 10
            while lv.watchers < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            assert lv.watchers == 2 and watchers[-1] == 2

            # a view into the received bytes, as the Fuji camera hands its frames up
            frame = LiveViewFrame(7, time.monotonic(), memoryview(bytearray(JPEG)), 640, 480)
            got = None
            while got is None and time.monotonic() < deadline:
                lv.publish(frame)
                if await reader.poll(50):
                    got = await reader.recv_multipart(copy=False)
            assert got is not None, "no frame reached the subscriber"
            parts, kw = sent[-1]
            assert parts[2] is frame.jpeg and kw.get("copy") is False  # the camera's object, not a copy
            assert bytes(got[0].buffer) == b"liveview.frame" and bytes(got[2].buffer) == JPEG
            meta = bus.unpack(got[1].bytes)
            assert meta["counter"] == 7 and meta["size"] == len(JPEG) and (meta["width"], meta["height"]) == (640, 480)

            # the subscriber that never reads holds no one up: a thousand frames go at once
            t0 = time.monotonic()
            for _ in range(1000):
                lv.publish(frame)
            assert time.monotonic() - t0 < 5.0 and lv.seq >= 1001
        finally:
            subs.cancel()
            await asyncio.gather(subs, return_exceptions=True)
            for s in (reader, idle, lv.sock):
                s.close(0)
            ctx.term()

    asyncio.run(asyncio.wait_for(main(), 30))
