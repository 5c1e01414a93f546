"""The simulated Fuji camera's live-view stream (port P+2): the frames of
:class:`ptpd.simulator.frames.FrameSource`, framed as the X-T1 sends them.

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
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ptpd.fuji.packets import encode_liveview_frame
from ptpd.simulator.frames import FrameSource

log = logging.getLogger(__name__)

__all__ = ["LiveViewServer"]


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
