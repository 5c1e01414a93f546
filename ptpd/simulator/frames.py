"""The live view of every simulated body: rendered scenes that move, kept as JPEGs.

:class:`FrameSource` renders frames with :mod:`.scene` and keeps them as encoded JPEGs:
the moving object repeats every ``period`` seconds, so one period of frames per size and
look is all there ever is to render (120 frames at 30 fps); after the first lap a frame
costs a dictionary lookup. A still scene or a face is a single cached frame. Each vendor's
body frames them its own way (Fuji on a stream port, Canon in GetViewFinderData).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping

from ptpd.simulator import jpeg, scene

__all__ = ["FrameSource"]


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
        img = scene.render(
            size[0], size[1], t_frame, dict(look), subject=str(subject), caption=False, period=self.period
        )
        frame = jpeg.encode_frame(img, self.quality)
        with self._lock:
            self.rendered += 1
            self._cache[key] = frame
            while len(self._cache) > self.max_cached:
                self._cache.popitem(last=False)
        return frame
