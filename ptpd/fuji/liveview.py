"""The live-view stream's asyncio side (port 55742): frames read straight into their own
buffers (``asyncio.BufferedProtocol``, no copy after the kernel) and handed on with the
camera's counter and their arrival time, to a newest-wins queue or to a callback.

:class:`~ptpd.fuji.link.FujiLink` dials the port and owns the stream's life; the framing is
the sans-I/O :class:`~ptpd.fuji.packets.LiveViewSplitter`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ptpd.fuji.packets import LiveViewPacket, LiveViewSplitter
from ptpd.protocol.errors import CameraDisconnected, ProtocolError
from ptpd.protocol.queues import DropOldestQueue


@dataclass(frozen=True, slots=True)
class LiveFrame:
    """A live-view frame as it arrived: the camera's counter, arrival time, the frame."""

    counter: int
    time: float  #: time.monotonic() when its last byte arrived
    packet: LiveViewPacket

    @property
    def jpeg(self) -> memoryview:
        """The JPEG: a zero-copy view into the received frame bytes."""
        return self.packet.jpeg


class FrameSink(Protocol):
    """Where :class:`LiveViewProtocol` hands frames: ``put`` each one, ``fail`` the end
    (None: the camera closed the stream; else the error)."""

    def put(self, item: LiveFrame) -> None: ...

    def fail(self, exc: BaseException | None) -> None: ...


class LiveViewProtocol(asyncio.BufferedProtocol):
    """Reads the live-view stream straight into per-frame buffers (no copy after the kernel)."""

    def __init__(self, splitter: LiveViewSplitter, sink: FrameSink) -> None:
        self.splitter = splitter
        self.sink = sink
        self.transport: asyncio.BaseTransport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.splitter.get_buffer(sizehint)

    def buffer_updated(self, nbytes: int) -> None:
        try:
            self.splitter.buffer_updated(nbytes)
        except ProtocolError as exc:
            self.sink.fail(exc)
            return
        frames = self.splitter.pop_frames()
        if frames:
            now = time.monotonic()
            for f in frames:
                self.sink.put(LiveFrame(f.counter, now, f))

    def eof_received(self) -> bool:
        self.sink.fail(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.sink.fail(CameraDisconnected(f"live-view stream lost: {exc}") if exc else None)
        if not self.closed.done():
            self.closed.set_result(None)


class FrameQueue(DropOldestQueue[LiveFrame]):
    """Newest-wins frame buffer: a slow consumer loses old frames, never stalls the reader."""

    def fail(self, exc: BaseException | None) -> None:
        self.finish(exc if exc is not None else StopAsyncIteration())


class FrameCall:
    """Hands each frame to ``deliver`` right in the socket's read callback; the first end
    (the stream's, or an exception ``deliver`` raised) settles ``done`` and stops delivery."""

    def __init__(self, deliver: Callable[[LiveFrame], None], done: asyncio.Future[BaseException | None]) -> None:
        self.deliver = deliver
        self.done = done
        self.last = time.monotonic()  #: when the newest frame (or the connection) came

    def put(self, item: LiveFrame) -> None:
        if self.done.done():
            return
        self.last = item.time
        try:
            self.deliver(item)
        except Exception as exc:  # the consumer's error ends live view, as in an async for
            self.fail(exc)

    def fail(self, exc: BaseException | None) -> None:
        if not self.done.done():
            self.done.set_result(exc)


__all__ = ["FrameCall", "FrameQueue", "FrameSink", "LiveFrame", "LiveViewProtocol"]
