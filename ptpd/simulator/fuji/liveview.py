"""The simulated Fuji camera's live-view stream (port P+2): rendered scenes that move.

:class:`FrameSource` renders frames with :mod:`.scene` and keeps them as encoded JPEGs:
the moving object repeats every ``period`` seconds, so one period of frames per size and
look is all there ever is to render (120 frames at 30 fps); after the first lap a frame
costs a dictionary lookup. A still scene or a face is a single cached frame.

:class:`LiveViewServer` accepts any number of clients. One pump task ticks at ``fps``
while someone is connected, takes the frame for the current scene time and writes it,
framed as the X-T1 does (u32 length, 14-byte header with a wrapping frame counter, the
JPEG; ``fuji-ptpip.md`` §9), to every client whose socket keeps up. A client whose
unsent backlog exceeds ``max_backlog`` bytes simply misses frames (the counter shows the
gap): a slow or stuck reader never stalls the camera or the other clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ptpd.fuji.packets import encode_liveview_frame
from ptpd.simulator import jpeg, scene

log = logging.getLogger(__name__)

__all__ = ["FrameSource", "LiveViewServer"]


class FrameSource:
    """Encoded live-view JPEGs for scene time ``t``. Thread-safe: the cache is locked; two
    threads asking for the same new frame may both render it, nothing worse."""

    def __init__(
        self,
        schedule: scene.SceneSchedule,
        *,
        fps: float = 30.0,
        period: float = scene.DEFAULT_PERIOD,
        quality: int = 70,
        settings: Callable[[], Mapping[str, str]] | None = None,
        max_cached: int = 600,
    ) -> None:
        self.schedule = schedule
        self.period = period
        self.quality = quality
        self.settings = settings
        self.steps = max(1, round(period * max(1.0, fps)))  #: distinct object positions per lap
        self.max_cached = max_cached
        self._cache: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
        self._lock = threading.Lock()  # the loop reads while a worker thread renders
        self.rendered = 0  #: frames rendered (not served from the cache)

    def _look(self) -> tuple[tuple[str, str], ...]:
        if self.settings is None:
            return ()
        # only what changes the picture matters for the cache key
        s = self.settings()
        return tuple((k, s[k]) for k in ("exp-bias", "effect", "whitebalance") if k in s)

    def key(self, t: float, size: tuple[int, int]) -> tuple[object, ...]:
        subject = self.schedule.subject_at(t)
        step = int((t % self.period) / self.period * self.steps) if subject == "object" else 0
        return (size, subject, step, self._look())

    def cached(self, t: float, size: tuple[int, int]) -> bytes | None:
        """The frame if it is already encoded (cheap; call from the event loop)."""
        key = self.key(t, size)
        with self._lock:
            frame = self._cache.get(key)
            if frame is not None:
                self._cache.move_to_end(key)
        return frame

    def frame(self, t: float, size: tuple[int, int]) -> bytes:
        """The frame for scene time ``t`` at ``size``, rendering it if needed."""
        key = self.key(t, size)
        with self._lock:
            frame = self._cache.get(key)
        if frame is not None:
            return frame
        size_, subject, step, look = key
        assert isinstance(size_, tuple) and isinstance(step, int) and isinstance(look, tuple)
        t_frame = step / self.steps * self.period
        img = scene.render(size[0], size[1], t_frame, dict(look), subject=str(subject), caption=False,
                           period=self.period)
        frame = jpeg.encode_frame(img, self.quality)
        with self._lock:
            self.rendered += 1
            self._cache[key] = frame
            while len(self._cache) > self.max_cached:
                self._cache.popitem(last=False)
        return frame


@dataclass(eq=False)
class _Client:
    writer: asyncio.StreamWriter
    sent: int = 0
    dropped: int = 0
    closed: asyncio.Event = field(default_factory=asyncio.Event)


class LiveViewServer:
    """Serves the live-view stream to every connected client (see the module docstring)."""

    def __init__(
        self,
        source: FrameSource,
        *,
        fps: float = 30.0,
        size: Callable[[], tuple[int, int]] = lambda: (640, 480),
        clock: Callable[[], float] | None = None,
        max_backlog: int = 512 * 1024,
        allow: Callable[[], bool] | None = None,
    ) -> None:
        if fps <= 0:
            raise ValueError("live-view fps must be positive")
        self.source = source
        self.fps = fps
        self.size = size
        t0 = time.monotonic()
        self.clock = clock or (lambda: time.monotonic() - t0)
        self.max_backlog = max_backlog
        #: whether a connection is served now (the camera's port is open); else it is closed
        self.allow = allow
        self.counter = 0  #: frames produced (the header's counter is this mod 256)
        #: called with each frame's counter and JPEG just before the frame is written to
        #: the clients: a benchmark times the camera's send with it
        self.on_frame: Callable[[int, bytes], None] | None = None
        self._clients: set[_Client] = set()
        self._server: asyncio.AbstractServer | None = None
        self._pump: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    @property
    def clients(self) -> int:
        return len(self._clients)

    @property
    def dropped(self) -> int:
        """Frames skipped for slow clients so far (current clients)."""
        return sum(c.dropped for c in self._clients)

    async def start(self, host: str, port: int) -> asyncio.AbstractServer:
        self._server = await asyncio.start_server(self._on_connect, host, port, reuse_address=True)
        return self._server

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(BaseException):
                await self._pump
            self._pump = None
        self.drop_clients()
        if self._server is not None:
            self._server.close()
            self._server = None

    def drop_clients(self) -> None:
        """Close every live-view connection (the session ended)."""
        for c in list(self._clients):
            with contextlib.suppress(Exception):
                c.writer.close()
            c.closed.set()
        self._clients.clear()

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.allow is not None and not self.allow():
            writer.close()
            return
        client = _Client(writer)
        self._clients.add(client)
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._run(), name="ptpd-fuji-liveview")
        self._wake.set()
        log.debug("live-view client connected (%d now)", len(self._clients))
        try:
            # The host sends nothing here; reading tells us when it goes away.
            while not client.closed.is_set():
                if not await reader.read(4096):
                    break
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._clients.discard(client)
            client.closed.set()
            with contextlib.suppress(Exception):
                writer.close()

    async def _run(self) -> None:
        interval = 1.0 / self.fps
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            if not self._clients:
                self._wake.clear()
                await self._wake.wait()
                next_at = loop.time()
            t = self.clock()
            size = self.size()
            data = self.source.cached(t, size)
            if data is None:
                # rendering costs a few ms of CPU: keep the loop (and the command port) free
                data = await asyncio.to_thread(self.source.frame, t, size)
            frame = encode_liveview_frame(self.counter, data)
            if self.on_frame is not None:
                self.on_frame(self.counter, data)
            self.counter += 1
            for c in list(self._clients):
                transport = c.writer.transport
                if transport.is_closing():
                    self._clients.discard(c)
                    continue
                if transport.get_write_buffer_size() > self.max_backlog:
                    c.dropped += 1  # this client is behind: it misses this frame
                    continue
                c.writer.write(frame)
                c.sent += 1
            next_at += interval
            delay = next_at - loop.time()
            if delay < -interval:
                next_at = loop.time()  # fell behind (CPU): skip ahead, do not burst
                delay = 0.0
            await asyncio.sleep(max(0.0, delay))
