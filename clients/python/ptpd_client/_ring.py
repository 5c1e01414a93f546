"""Live-view frames from the daemon's shared-memory ring (:mod:`ptpd.framering`).

A stream on the daemon's machine reads frames there instead of from the live-view
socket: written once for every reader, one wake-up per frame, no copy through ZeroMQ.
While it reads, it keeps a subscription to ``liveview.ring`` on the live-view socket,
which carries nothing but counts it as a watcher (the camera streams only while someone
watches, and the daemon writes the ring only while a reader is there).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import zmq

from ptpd import bus
from ptpd.framering import FrameRingReader, RingUnavailable

from ._core import LatestMailbox, MailboxFeeder, open_sub
from ._stream_models import Frame, make_frame

#: how often a reader with no frames looks whether the daemon's ring was replaced
_RECHECK = 0.25
#: ... and one that frames came to since it last looked: the look (a stat, and a call
#: into the watcher socket) costs a reader woken with cold caches about 90 µs, and an
#: old daemon's ring that still gets frames is left for the new one within a second
_RECHECK_FLOWING = 1.0

TRANSPORTS = ("auto", "ring", "bus")


def ring_for(version_result: Any, liveview_endpoint: str) -> str | None:
    """The ring path the daemon advertised, when this process can be on its machine: the
    live-view endpoint is a local ipc:// socket (a daemon reached over TCP may be
    elsewhere, and a file of the same name here would be another daemon's)."""
    if not liveview_endpoint.startswith("ipc://") or not isinstance(version_result, dict):
        return None
    path = version_result.get("liveview_ring")
    return path if isinstance(path, str) and path else None


def check_transport(transport: str) -> None:
    if transport not in TRANSPORTS:
        raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}, not {transport!r}")


def open_feed(version: Any, transport: str, context: Any, endpoint: str, curve: Any = None) -> RingFeed | None:
    """A feed on the ring the daemon advertised in ``version`` (its reply, or the
    :class:`ClientError` asking for it raised); None when the socket is to be used instead
    (``transport`` ``"auto"`` and no ring to read). With ``"ring"`` that is an error."""
    from ._errors import ClientError

    check_transport(transport)
    if transport == "bus":
        return None
    if isinstance(version, ClientError):
        if transport == "ring":
            raise version
        return None
    path = ring_for(version, endpoint)
    if path is None:
        if transport == "ring":
            raise ClientError("no live-view frame ring: the daemon keeps none, or is not on this machine")
        return None
    try:
        return RingFeed(path, context, endpoint, curve)
    except RingUnavailable as exc:
        if transport == "ring":
            raise ClientError(f"cannot read the live-view frame ring: {exc}") from None
        return None


def _socket_owner(endpoint: str) -> int:
    """The user that owns the daemon's ipc:// live-view socket: the ring must be its too."""
    try:
        return os.stat(endpoint[len("ipc://"):]).st_uid
    except OSError as exc:
        raise RingUnavailable(f"{endpoint}: {exc.strerror}") from None


class RingFeed:
    """Frames from one ring path, followed across daemon restarts (a new file there).

    Safe to close from another thread while one waits in :meth:`get`: the map and the
    socket are let go by whichever thread holds the feed's one lock, never under a read.
    Threads calling :meth:`get` at once take turns.
    """

    def __init__(self, path: str, context: Any, endpoint: str, curve: Any = None) -> None:
        self.path = path
        self.endpoint = endpoint
        self.reader: FrameRingReader | None = FrameRingReader(path, _socket_owner(endpoint))  # RingUnavailable
        self.replaced = 0  #: frames the daemon published that this feed skipped
        self._last_seq: int | None = None
        self._presence = open_sub(context, endpoint, curve, bus.Topic.RING.encode())
        self._reading = threading.Lock()  # one thread in _get (or letting go) at a time
        self._closed = False
        self._next_check = 0.0
        self._flowing = False  # a frame came since the last check

    def _check(self) -> None:
        """Now and then (also while frames flow, less often): call into the watcher
        socket, which ZeroMQ needs before it resends the subscription to a restarted
        daemon, and move to a new ring file if the daemon made one."""
        self._presence.getsockopt(zmq.EVENTS)
        reader = self.reader
        if reader is not None and not (reader.closed or reader.replaced()):
            return
        try:
            fresh = FrameRingReader(self.path, _socket_owner(self.endpoint))
        except RingUnavailable:
            return  # the daemon is away: keep looking
        if reader is not None:
            if fresh.identity == reader.identity:
                fresh.close()
                return  # the same file, not yet replaced
            reader.close()
        self.reader = fresh

    def get(self, timeout: float | None) -> Frame | None:
        """The next (newest) frame, waiting up to ``timeout`` seconds (None: forever);
        None on timeout or once the feed is closed."""
        # one reader at a time: _check may replace (and unmap) the reader under way; and
        # whoever holds this lock when the feed is closed lets its map and socket go
        with self._reading:
            if self._closed:
                self._release()
                return None
            try:
                return self._get(timeout)
            finally:
                if self._closed:
                    self._release()

    def _get(self, timeout: float | None) -> Frame | None:
        # one function on purpose (see FrameRingReader.wait_raw): after each wake-up this runs
        # in cold caches, once per reader, and the last reader waits for them all
        monotonic = time.monotonic
        now = monotonic()
        deadline = None if timeout is None else now + timeout
        while not self._closed:
            if now >= self._next_check:
                self._next_check = now + (_RECHECK_FLOWING if self._flowing else _RECHECK)
                self._flowing = False
                self._check()
            reader = self.reader
            left = _RECHECK if deadline is None else min(_RECHECK, deadline - now)
            if reader is not None:
                # a ring its writer closed returns None at once (looked at below, off the
                # frame's path); this thread alone replaces or closes the reader
                raw = reader.wait_raw(left) if left > 0 else reader.take()
                if raw is not None:
                    _n, seq, counter, t_camera, t_daemon, t_wall, width, height, jpeg = raw
                    last, self._last_seq = self._last_seq, seq
                    dropped = 0 if last is None or seq <= last else seq - last - 1
                    self.replaced += dropped
                    self._flowing = True
                    meta = {"seq": seq, "counter": counter, "t_camera": t_camera, "t_daemon": t_daemon,
                            "t_wall": t_wall, "width": width, "height": height, "size": len(jpeg)}
                    return make_frame(seq, jpeg, width, height, meta, dropped, time.time())
            if left <= 0:
                return None
            if reader is None or reader.closed:
                time.sleep(min(left, 0.05))  # no ring to wait on until the next check
            now = monotonic()
        return None

    def close(self) -> None:
        """Stop: a thread waiting in :meth:`get` returns None at once; then the map and
        the socket go, never under a read."""
        self._closed = True
        reader = self.reader
        if reader is not None:
            reader.wake()
        # a reader inside wakes now and leaves soon (within a recheck if it was moving to
        # a new ring just then); should it not, it lets go itself when it leaves
        if self._reading.acquire(timeout=2.0):
            try:
                self._release()
            finally:
                self._reading.release()

    def _release(self) -> None:
        self._presence.close(0)
        if self.reader is not None:
            self.reader.close()
            self.reader = None


class RingReceiver(MailboxFeeder):
    """A :class:`RingFeed` read on a thread into a :class:`LatestMailbox` (for asyncio)."""

    def __init__(self, feed: RingFeed, mailbox: LatestMailbox) -> None:
        super().__init__("ptpd-ring", mailbox)
        self.ring_feed = feed

    def stop(self, timeout: float = 2.0) -> None:
        self._stop_event.set()
        self.ring_feed.close()  # wakes the thread if it waits
        super().stop(timeout)

    def fill(self) -> None:
        ring = self.ring_feed
        while not self._stop_event.is_set():
            skipped = ring.replaced
            frame = ring.get(0.1)
            if frame is not None:
                self.mailbox.replaced += ring.replaced - skipped
                self.mailbox.put(frame)

    def release(self) -> None:
        self.ring_feed.close()
