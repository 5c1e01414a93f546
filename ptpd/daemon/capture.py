"""The ``capture`` command: shots one at a time, each image delivered whole or left on the
camera and named in the error.

A :class:`CaptureRun` holds one request. Its shots run as one camera command (no other
command comes between them), one :meth:`CaptureRun.take` per shot:

1. the camera layer's :meth:`Camera.capture <ptpd.camera.Camera.capture>` (the vendor's
   release, wait for the new object and its ObjectInfo), announced on
   ``event.capture_done``;
2. with ``download``/``dir``: the image read (:meth:`Camera.fetch
   <ptpd.camera.Camera.fetch>`, which keeps what arrived if the link drops), verified
   and handed over (a file under ``dir``, or bytes
   in the reply), then deleted unless ``keep``. A shot with no object but a preview
   delivers the preview.

The first shot that cannot be delivered ends the loop. If a dropped link cut its
transfer, the run waits for the reconnect and lets the camera layer resume it
(:func:`ptpd.daemon.transfers.resume`). A shot still not delivered makes the reply a
:class:`ShotsLeft` error naming the handle left on the camera.

Between shots the run reads its request's :class:`~ptpd.daemon.inflight.Control`: its
client's ``cancel``, the daemon stopping, or a deadline that the next shot would
overrun end it there, after the shot in progress was delivered; the reply lists the shots
taken and says why it stopped (``stopped``). Torn off the camera mid-shot (the daemon
stopping found it still running after its grace), the run answers with what was taken
and what was left on the camera, as a :class:`ShotsLeft` error.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from ptpd.bus import BusError, ErrorCode
from ptpd.camera import Camera, Download, ResponseError, Shot, Transfer, TransferInterrupted, verify
from ptpd.daemon import schedule
from ptpd.daemon.context import Context, Request, camera_timeout
from ptpd.daemon.errors import to_bus_error
from ptpd.daemon.files import check_dir, safe_filename, write_into
from ptpd.daemon.inflight import Stop
from ptpd.daemon.transfers import note_loss, resume, resume_window

#: most shots one request may ask for
MAX_COUNT = 999
#: the link's name for one shot's duration (its typical one decides whether another fits
#: before the request's deadline)
SHOT = "capture.shot"


class ShotsLeft(BusError):
    """A capture that could not deliver every shot: names the handles left on the camera.

    ``error.handles`` lists them; ``error.shots`` has every shot of the request, the
    delivered ones as in a successful reply and the failed ones with ``error`` (and
    ``received``: bytes that arrived before the failure)."""

    ran = True  #: the shutter fired: a retry of the same id must not fire it again

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        handles: list[int],
        shots: list[dict[str, Any]],
        ptp_code: int | None = None,
    ) -> None:
        super().__init__(code, message, ptp_code)
        self.handles = handles
        self.shots = shots

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["handles"] = self.handles
        d["shots"] = [{k: v for k, v in s.items() if k not in ("data", "preview")} for s in self.shots]
        return d


@dataclass
class ShotReport:
    """One shot of a request, as the reply lists it (a field left None is not listed)."""

    index: int  #: 1-based, within the request
    shot: Shot
    with_preview: bool = False  #: the request asked for previews
    filename: str | None = None
    size: int | None = None
    source: str | None = None  #: "camera" (the image) or "preview" (the camera named no object)
    path: str | None = None
    data: bytes | bytearray | memoryview | None = None
    resumed: int = 0
    deleted: bool = False
    error: str | None = None
    received: int | None = None  #: bytes that had arrived when it failed
    planned: float | None = None  #: the release time it was scheduled for (``at``)

    def __post_init__(self) -> None:
        if self.shot.object is not None:
            self.filename, self.size = self.shot.object.filename, self.shot.object.size

    def reply(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "handle": self.shot.handle}
        if self.shot.released is not None:
            out["released"] = self.shot.released
        if self.planned is not None:
            out["planned"] = self.planned
        if self.filename is not None:
            out["filename"] = self.filename
        if self.size is not None:
            out["size"] = self.size
        if self.with_preview:
            out["preview"] = self.shot.preview
        for key in ("source", "path", "data"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.resumed:
            out["resumed"] = self.resumed
        if self.deleted:
            out["deleted"] = True
        if self.error is not None:
            out["error"] = self.error
        if self.received is not None:
            out["received"] = self.received
        return out


@dataclass
class Failure:
    """Why a request stopped short: the shot (None when a later release failed), its
    transfer when one had begun, and the error (None: nothing to deliver)."""

    report: ShotReport | None
    transfer: Transfer | None
    error: BaseException | None


class CaptureRun:
    """One ``capture`` request: its options, its shots so far, and how it ended."""

    def __init__(
        self,
        ctx: Context,
        request: Request,
        count: int,
        *,
        download: bool,
        preview: bool,
        dir: str | None,
        keep: bool,
        at: float | None = None,
    ) -> None:
        self.ctx = ctx
        self.request = request
        self.count = count
        #: when the first shot is released (the daemon's clock; None: at once)
        self.at = at
        self.preview = preview
        self.dir = dir
        self.keep = keep
        self.delivers = download or dir is not None
        #: the reply carries image bytes (not files written under ``dir``)
        self.inline = (download and dir is None) or preview
        self.reports: list[ShotReport] = []
        self.failure: Failure | None = None
        #: why the run ended before ``count`` shots (a stop its request was asked for)
        self.stopped: Stop | None = None
        #: the shot being released (index) and the one being delivered, while they are
        self._releasing: int | None = None
        self._delivering: ShotReport | None = None

    async def run(self) -> dict[str, Any]:
        """Take the shots, resume a transfer a dropped link cut; the reply, or :class:`ShotsLeft`."""
        try:
            await self._run()
        except asyncio.CancelledError:
            # torn off the camera mid-shot (the daemon stops): say what was taken and left
            if not self.reports and self._releasing is None:
                raise
            raise self._torn_off() from None
        if self.failure is None:
            result: dict[str, Any] = {"shots": [r.reply() for r in self.reports]}
            if self.stopped is not None:
                result["stopped"] = self.stopped.value
            return result
        raise self._shots_left(self.failure)

    async def _run(self) -> None:
        link = self.ctx.link
        connects = link.connects
        if self.at is not None:
            await schedule.approach(self.at)
        # each shot may also wait for the camera to name its picture (a Canon body: 90 s)
        cam = link.camera
        waits = self.count * (cam.capture_wait() if cam is not None else 0.0)
        try:
            await link.call(
                "capture",
                self._shots,
                camera_timeout(self.ctx, self.count * 4) + waits,
                control=self.request.control,
                typical=SHOT,
            )
        except Exception as exc:
            if not self.reports:
                raise
            # the link broke outside a transfer (e.g. the next release): what was taken is listed
            if self.failure is None:
                self.failure = Failure(None, None, exc)
        failure = self.failure
        if failure is not None and failure.report is not None and failure.transfer is not None:
            if isinstance(failure.error, TransferInterrupted):
                await self._recover(failure.report, failure.transfer, connects)

    async def _shots(self, cam: Camera) -> None:
        if self.inline:  # its turn on the camera: bytes go in the reply, is there room?
            self.ctx.reply_room(self.request)
        link, control = self.ctx.link, self.request.control
        loop = asyncio.get_running_loop()
        for index in range(1, self.count + 1):
            if index > 1:
                # the safe point between shots: a cancel, the daemon stopping, or a deadline
                # the next shot would overrun (its client gone by then) end the run here
                self.stopped = control.stop_before(loop.time(), link.typical(SHOT))
                if self.stopped is not None:
                    return
            began = loop.time()
            if not await self.take(cam, index):
                return
            if index == 1 and self.at is not None:
                began = max(began, self.at)  # the wait for its release time is not the shot's
            link.note_duration(SHOT, loop.time() - began)

    async def take(self, cam: Camera, index: int) -> bool:
        """One shot: release, announce, and (if asked) deliver. False when it could not be
        delivered (:attr:`failure` says why); a failed release raises."""
        self._releasing = index
        at = self.at if index == 1 else None
        if at is None:
            shot = await cam.capture()
        else:
            moment = schedule.Moment(at, self.ctx.config.release_priority)
            try:
                shot = await cam.capture(moment)
            finally:
                moment.restore()
        self._releasing = None
        report = ShotReport(index, shot, self.preview, planned=at)
        self.reports.append(report)
        self.ctx.events.publish(
            "event.capture_done",
            {
                "id": self.request.id,
                "index": index,
                "count": self.count,
                "handle": shot.handle,
                "filename": report.filename,
            },
        )
        if not self.delivers:
            return True
        t = shot.transfer()
        if t is None:
            return await self._deliver_preview(report, shot.preview_download())
        report.filename = safe_filename(t.filename, f"capture-{t.handle:08x}.jpg")
        self._delivering = report
        try:
            dl = await cam.fetch(t, self.ctx.progress_reporter(self.request, t.handle))
            report.source = "camera"
            await self._finish(cam, report, dl)
        except Exception as exc:
            note_loss(self.ctx.link, exc)
            self.failure = Failure(report, t, exc)
            return False
        self._delivering = None
        return True

    async def _deliver_preview(self, report: ShotReport, preview: Download | None) -> bool:
        """The camera named no object: the preview, if it offered one, is all there is."""
        if preview is None:
            self.failure = Failure(report, None, None)
            return False
        report.source = "preview"
        report.filename = safe_filename("", f"preview-{int(time.time() * 1000)}-{report.index}.jpg")
        try:
            await self._deliver(report, preview)
        except Exception as exc:
            self.failure = Failure(report, None, exc)
            return False
        return True

    async def _deliver(self, report: ShotReport, dl: Download) -> None:
        """Verify and hand over one image: a file under ``dir``, or bytes in the reply."""
        name = report.filename or ""
        if self.dir:
            report.path = await write_into(self.dir, name, dl.data, dl.size, dl.format)
        else:
            verify(dl.data, dl.size, dl.format, name)
            report.data = dl.data
        report.size = len(dl.data)

    async def _finish(self, cam: Camera, report: ShotReport, dl: Download) -> None:
        await self._deliver(report, dl)
        report.resumed = dl.resumes
        if not self.keep and dl.handle is not None:  # only an image that arrived whole and was handed over
            await cam.delete(dl.handle)
            report.deleted = True

    async def _recover(self, report: ShotReport, t: Transfer, connects: int) -> None:
        """The link dropped mid-transfer: resume after the reconnect, then deliver."""
        link = self.ctx.link
        try:
            dl = await resume(
                link,
                t,
                self.ctx.progress_reporter(self.request, t.handle),
                connects,
                resume_window(self.ctx.config.timeout),
            )
            report.source = "camera"
            await link.call("capture", lambda cam: self._finish(cam, report, dl), camera_timeout(self.ctx))
            self.failure = None
            self._delivering = None
        except Exception as exc:
            self.failure = Failure(report, t, exc)
            note_loss(link, exc)

    def _torn_off(self) -> ShotsLeft:
        """The answer when the daemon stopped the run in the middle of a shot."""
        delivered = [r for r in self.reports if r is not self._delivering]
        left = self._delivering
        parts = [f"capture stopped: the daemon is stopping; {len(delivered)} of {self.count} shot(s) delivered"]
        handles: list[int] = []
        if left is not None and left.shot.handle is not None:
            left.error = "not delivered: the daemon stopped during its transfer"
            handles.append(left.shot.handle)
            parts.append(f"image left on the camera, handle 0x{left.shot.handle:08X} ({left.filename or ''})")
        elif self._releasing is not None:
            parts.append(f"shot {self._releasing} was released but not identified; its image may be on the camera")
        elif not self.delivers and self.reports:
            parts.append("the images are on the camera (see shots)")
        shots = [r.reply() for r in self.reports]
        if self._releasing is not None:
            shots.append(
                {
                    "index": self._releasing,
                    "handle": None,
                    "error": "released; the daemon stopped before the camera named its image",
                }
            )
        return ShotsLeft(ErrorCode.NOT_CONNECTED, "; ".join(parts), handles, shots)

    def _shots_left(self, failure: Failure) -> ShotsLeft:
        exc, report, t = failure.error, failure.report, failure.transfer
        handle = report.shot.handle if report is not None else None
        if report is None:  # a later release failed
            index = len(self.reports) + 1
            msg = f"capture: {len(self.reports)} shot(s) delivered, then shot {index} failed: {_shot_error(exc, None)}"
        elif handle is None:
            reason = _shot_error(exc, None) if exc is not None else "the camera named no object and offered no preview"
            report.error = reason
            msg = f"capture: shot {report.index} was taken but could not be identified: {reason}"
        else:
            report.error = _shot_error(exc, t)
            if t is not None:
                report.received = t.position
            msg = f"capture: image left on the camera, handle 0x{handle:08X} ({report.filename or ''}): {report.error}"
        shots = [r.reply() for r in self.reports]
        code = to_bus_error(exc).code if exc is not None else ErrorCode.CAMERA_REFUSED
        ptp = exc.code if isinstance(exc, ResponseError) else None
        return ShotsLeft(code, msg, [handle] if handle is not None else [], shots, ptp)


def _shot_error(exc: BaseException | None, t: Transfer | None) -> str:
    err = to_bus_error(exc) if exc is not None else BusError(ErrorCode.CAMERA_REFUSED, "nothing to deliver")
    text = f"{err.code.value}: {err.message}"
    if t is not None:
        text += f" ({t.so_far})"
    return text


async def capture(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    """``capture``: the request checked (a ``dir`` before the shutter), then its run."""
    count = a["count"]
    if not 1 <= count <= MAX_COUNT:
        raise BusError(ErrorCode.BAD_REQUEST, f"count must be 1-{MAX_COUNT}")
    at = a["at"]
    if at is not None:
        schedule.check(at, request.control.deadline)
    if a["dir"] is not None:
        await check_dir(a["dir"])
    run = CaptureRun(
        ctx,
        request,
        count,
        download=bool(a["download"]),
        preview=bool(a["preview"]),
        dir=a["dir"],
        keep=bool(a["keep"]),
        at=at,
    )
    return await run.run()
