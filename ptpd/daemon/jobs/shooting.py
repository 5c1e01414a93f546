"""One shot of a job, taken by the ``capture`` command's own per-shot run.

A job's shot is a :class:`~ptpd.daemon.capture.CaptureRun` of one shot, as a client's
``capture`` is: the vendor's release, the image read in steps, resumed after a dropped
link, verified, written atomically under the job's directory and deleted from the card
after that when asked. The job needs two facts the run announces as it goes, and sees
them through a :class:`ShotContext` (the daemon's context, watched):

* when the release got the camera (the shot's actual time, for drift): the run's camera
  command starting;
* which image the camera made (handle, file name, size): the run's
  ``event.capture_done``. The job writes it down at once, so a daemon killed before the
  file was saved knows there is an image to fetch and takes no second shot.

:func:`take_shot` says what became of the shot (:class:`ShotResult`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ptpd.bus import BusError, ErrorCode
from ptpd.camera import Camera, Progress
from ptpd.daemon.capture import CaptureRun, ShotsLeft
from ptpd.daemon.context import Context, Request
from ptpd.daemon.errors import to_bus_error
from ptpd.daemon.inflight import Control

T = TypeVar("T")

#: what a shot became
SAVED = "saved"  #: delivered (written under ``dir``), or taken when the job keeps images on the camera
TAKEN = "taken"  #: the camera made the image and named it, but it is not saved yet: fetch it later
NOT_TAKEN = "not_taken"  #: the camera took nothing (not connected, or it said no): the slot may try again
UNKNOWN = "unknown"  #: the release went out and the link broke before the camera named an image

#: error codes with which a release surely took nothing (the camera answered, and said no)
_REFUSALS = (
    ErrorCode.CAMERA_BUSY,
    ErrorCode.CAMERA_REFUSED,
    ErrorCode.UNSUPPORTED,
    ErrorCode.INVALID_VALUE,
    ErrorCode.BAD_REQUEST,
)


@dataclass
class ShotResult:
    """What one release of a job became."""

    state: str
    actual: float | None = None  #: wall clock when the release got the camera
    handle: int | None = None
    filename: str | None = None
    size: int | None = None
    path: str | None = None
    deleted: bool = False
    error: BusError | None = None


class _ReleaseClock:
    """The camera link as a shot's run sees it: the first ``capture`` command to get the
    camera notes the time (the release is its first transaction)."""

    def __init__(self, link: Any, on_release: Callable[[], None]) -> None:
        self._link = link
        self._on_release = on_release

    def __getattr__(self, name: str) -> Any:
        return getattr(self._link, name)

    async def call(self, name: str, fn: Callable[[Camera], Awaitable[T]], timeout: float | None = None, **kw: Any) -> T:
        if name != "capture":
            return await self._link.call(name, fn, timeout, **kw)

        async def timed(cam: Camera) -> T:
            self._on_release()
            return await fn(cam)

        return await self._link.call(name, timed, timeout, **kw)


class _Announcements:
    """The event socket as a shot's run sees it: its ``event.capture_done`` is also handed
    to the job."""

    def __init__(self, events: Any, request_id: str, on_announce: Callable[[dict[str, Any]], None]) -> None:
        self._events = events
        self._id = request_id
        self._on_announce = on_announce

    def __getattr__(self, name: str) -> Any:
        return getattr(self._events, name)

    def publish(self, topic: str, data: dict[str, Any]) -> int:
        seq = int(self._events.publish(topic, data))
        if topic == "event.capture_done" and data.get("id") == self._id:
            self._on_announce(data)
        return seq


class ShotContext:
    """The daemon's :class:`~ptpd.daemon.context.Context` for one job shot: the same,
    with the release's time and the image's name reported to the job."""

    def __init__(
        self,
        ctx: Context,
        request_id: str,
        on_release: Callable[[], None],
        on_announce: Callable[[dict[str, Any]], None],
    ) -> None:
        self._ctx = ctx
        self.config = ctx.config
        self.link = _ReleaseClock(ctx.link, on_release)
        self.events = _Announcements(ctx.events, request_id, on_announce)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)

    def progress_reporter(self, request: Request, handle: int) -> Progress:
        return self._ctx.progress_reporter(request, handle)


async def take_shot(
    ctx: Context, request_id: str, dir: str | None, keep: bool, on_image: Callable[[ShotResult], None]
) -> ShotResult:
    """Release once (and save the image under ``dir`` unless None): what became of it.
    ``on_image`` is called as soon as the camera named the image (before it is saved)."""
    out = ShotResult(NOT_TAKEN)
    run: CaptureRun | None = None

    def released() -> None:
        if out.actual is None:
            out.actual = time.time()

    def announced(data: dict[str, Any]) -> None:
        out.handle = data.get("handle")
        out.filename = data.get("filename")
        if run is not None and run.reports:
            out.size = run.reports[-1].size
        if out.handle is not None:
            out.state = TAKEN
            on_image(out)

    shot_ctx = ShotContext(ctx, request_id, released, announced)
    run = CaptureRun(
        shot_ctx,  # type: ignore[arg-type]  # a Context in all but name: its attributes, two wrapped
        Request(request_id, b"", Control()),
        1,
        download=dir is not None,
        preview=False,
        dir=dir,
        keep=keep,
    )
    try:
        result = await run.run()
    except ShotsLeft as exc:  # released; not delivered
        out.error = exc
        if out.handle is None:
            out.state = UNKNOWN
        return out
    except Exception as exc:
        err = to_bus_error(exc)
        out.error = err
        if out.handle is not None:
            out.state = TAKEN
        elif out.actual is None or err.code in _REFUSALS:
            out.state = NOT_TAKEN
        else:
            out.state = UNKNOWN
        return out
    shot = result["shots"][0] if result.get("shots") else {}
    if result.get("stopped") and not shot:
        out.state = NOT_TAKEN
        return out
    out.state = SAVED
    out.handle = shot.get("handle", out.handle)
    out.filename = shot.get("filename", out.filename)
    out.size = shot.get("size", out.size)
    out.path = shot.get("path")
    out.deleted = bool(shot.get("deleted"))
    return out
