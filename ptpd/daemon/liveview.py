"""The live-view socket: frames from the camera to every watcher, untouched and never waited for.

``[b"liveview.frame", meta, jpeg]`` where ``jpeg`` is the very bytes object the camera
layer read (sent with ``copy=False``; no re-encoding, no msgpack around it) and ``meta``
is ``{seq, counter, t_camera, t_daemon, t_wall, width, height, size}``:

* ``seq`` counts frames the daemon published (gaps = frames this subscriber lost);
* ``counter`` is the camera's own frame counter;
* ``t_camera`` is ``time.monotonic()`` when the frame's last byte arrived from the camera,
  ``t_daemon`` when it was handed to ZeroMQ (same clock: a client on the same host
  computes a frame's age with ``time.monotonic() - t_daemon``); ``t_wall`` is wall time.

The socket is an XPUB with a small send high-water mark: a slow subscriber loses old
frames, and neither the camera reader nor other subscribers wait. Its subscription
messages tell the daemon how many watch; :class:`LiveView` calls ``on_watchers`` when
that number changes so the camera's live view runs only while it is needed.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

import zmq.asyncio

from ptpd import bus
from ptpd.camera import LiveViewFrame
from ptpd.daemon.peers import PeerBudget
from ptpd.daemon.publisher import Subscriptions, make_xpub, read_subscriptions, send_nowait

TOPIC = bus.Topic.FRAME.encode()


class LiveView:
    """Publishes frames on its own XPUB and counts who watches."""

    def __init__(
        self, ctx: zmq.asyncio.Context, hwm: int = 4, on_watchers: Callable[[int], None] | None = None
    ) -> None:
        self.sock = make_xpub(ctx, hwm, linger_ms=0)
        self.subs = Subscriptions(watched=(TOPIC,))
        #: each peer's subscriptions (set by :meth:`guard` before the socket is bound)
        self.budget: PeerBudget | None = None
        self.on_watchers = on_watchers
        self.seq = 0
        self.last_meta: dict[str, object] | None = None
        self._times: collections.deque[float] = collections.deque(maxlen=120)
        self._watchers = 0

    @property
    def watchers(self) -> int:
        """Subscriptions that match ``liveview.frame``."""
        return self._watchers

    def _changed(self) -> None:
        n = self.subs.matching(TOPIC)
        if n != self._watchers:
            self._watchers = n
            if self.on_watchers is not None:
                self.on_watchers(n)

    def guard(self, endpoint: str) -> None:
        """Count each subscriber's subscriptions on ``endpoint`` (see :mod:`.peers`)."""
        self.budget = PeerBudget(self.sock, endpoint)

    async def run(self) -> None:
        await read_subscriptions(self.sock, self.subs, self._changed, self.budget)

    def publish(self, frame: LiveViewFrame) -> None:
        now = time.monotonic()
        self.seq += 1
        jpeg = frame.jpeg
        meta: dict[str, object] = {
            "seq": self.seq,
            "counter": frame.counter,
            "t_camera": frame.time,
            "t_daemon": now,
            "t_wall": time.time(),
            "width": frame.width,
            "height": frame.height,
            "size": len(jpeg),
        }
        self.last_meta = meta
        self._times.append(now)
        # copy=False: ZeroMQ references the camera's buffer instead of copying it
        send_nowait(self.sock, [TOPIC, bus.pack(meta), jpeg], copy=False)

    def fps(self) -> float:
        """Frames per second published over the last two seconds."""
        now = time.monotonic()
        recent = [t for t in self._times if now - t <= 2.0]
        if len(recent) < 2:
            return 0.0
        span = recent[-1] - recent[0]
        return round((len(recent) - 1) / span, 2) if span > 0 else 0.0
