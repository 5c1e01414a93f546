"""One shutter release on a Fuji body, followed by whatever the body reports.

Bodies report a shot in different ways, and the camera cannot ask which one beforehand:

* the X-T1 (fuji-ptpip.md §7): 0xC004 then 0xC001 (param2 = preview size) on the event
  channel, the preview fetched with 0x9022 — always, even after an error, because the
  body ignores further captures until it is fetched —, then CaptureComplete 0x400D; 0xC004
  names no object;
* libgphoto2's Fuji path for later bodies: ObjectAdded 0x4002 (or 0xC004) with the new
  handle as its parameter, read from the event channel or from the 0xD212 list it polls
  meanwhile, else the new handle found by listing the card before and after;
* an emulator of later bodies (petabyt/vcam) puts ObjectAdded and CaptureComplete in the
  0xD212 list only.

So after InitiateCapture this waits for events and, whenever none comes for a moment,
polls 0xD212 (its event-code entries reach the event subscribers like pushed events),
until CaptureComplete, or a new file's ObjectAdded, or the time runs out. Where the body
lists objects, a shot with no handle yet is found by listing the card again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ptpd.camera.base import ObjectEntry, ReleaseGate, Shot
from ptpd.camera.errors import CaptureTimeout, PTPError, ResponseError, Unsupported
from ptpd.camera.errors import Timeout as PTPTimeout
from ptpd.fuji.codes import FujiEventCode, FujiOperationCode
from ptpd.protocol.codes import EventCode, OperationCode

if TYPE_CHECKING:
    from ptpd.camera.fuji import FujiCamera

log = logging.getLogger(__name__)

#: Seconds without an event after which 0xD212 is polled during a capture (libgphoto2
#: polls it in its capture loop; malc0mn's live view polls it every second).
POLL_INTERVAL = 0.3
#: After ObjectAdded for a file, how long CaptureComplete may still take to come.
AFTER_OBJECT = 2.0
#: Self-timer values of 0x5012 in seconds (the delay before anything may arrive).
DELAY_SECONDS = {0: 0, 1: 1, 2: 2, 3: 5, 4: 10}


@dataclass
class _Progress:
    """What the body has reported about the shot so far."""

    tid: int
    announced: bool = False  #: 0xC004 in the X-T1 layout: a shot, no handle
    preview_due: bool = False  #: announced and its preview not fetched yet
    preview: bytes | None = None
    preview_size: int = 0
    entry: ObjectEntry | None = None
    handle: int | None = None
    complete: bool = False


async def capture(cam: FujiCamera, gate: ReleaseGate | None = None) -> Shot:
    """One shot (see the module docstring); :class:`Unsupported` at once on a body that
    offers no remote capture. ``gate`` holds the release (see :meth:`Camera.capture`)."""
    link = cam.link
    if not link.offer.remote:
        why = (
            "it has no remote mode (0xDF24 empty)"
            if link.offer.remote_version is None
            else "it refused InitiateOpenCapture"
        )
        raise Unsupported(f"this camera offers no remote capture over Wi-Fi: {why}")
    wait = cam.capture_wait()
    before = await cam.object_handles()
    sub = link.subscribe()
    try:
        if gate is not None:
            await gate.approach()
        await link.transact(OperationCode.InitiateCapture, (0, 0), hold=gate)
        released = link.request_sent
        shot = _Progress(link.last_tid)
        try:
            await _follow(cam, sub, shot, wait)
        finally:
            if shot.preview_due:
                # the X-T1 ignores further captures until the preview is drained
                await _fetch_preview(cam, shot)
    finally:
        link.unsubscribe(sub)
    if shot.entry is None and before is not None:
        shot.entry = await cam.new_object(before)
    handle = shot.entry.handle if shot.entry else shot.handle
    return Shot(handle=handle, object=shot.entry, preview=shot.preview, released=released)


async def _follow(cam: FujiCamera, sub: Any, shot: _Progress, wait: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while not shot.complete:
        remaining = deadline - loop.time()
        if remaining <= 0:
            if shot.entry is not None or shot.preview is not None:
                return  # the shot is known; the body just did not say it is complete
            # the release was taken and the link is whole: a capture error, not a link one
            raise CaptureTimeout(f"camera reported no shot within {wait:g}s of InitiateCapture")
        try:
            ev = await cam.link.wait_event(sub, min(POLL_INTERVAL, remaining))
        except PTPTimeout:
            if cam.link.offer.state_list:
                await cam.poll_state()  # its event entries arrive in ``sub``
            continue
        if await _on_event(cam, shot, ev):
            deadline = min(deadline, loop.time() + AFTER_OBJECT)


async def _on_event(cam: FujiCamera, shot: _Progress, ev: Any) -> bool:
    """Take one event into ``shot``; True when it named the new file."""
    code, params = ev.code, tuple(ev.params)
    x_t1_layout = bool(params) and params[0] == ev.transaction_id
    if code == FujiEventCode.ObjectAdded and x_t1_layout:
        if ev.transaction_id == shot.tid:
            shot.announced = shot.preview_due = True
        return False
    if code == FujiEventCode.PreviewAvailable:
        if ev.transaction_id == shot.tid or not x_t1_layout:
            shot.preview_size = params[1] if x_t1_layout and len(params) > 1 else 0
            shot.preview_due = True
            await _fetch_preview(cam, shot)
        return False
    if code in (EventCode.ObjectAdded, FujiEventCode.ObjectAdded) and params:
        return await _object_added(cam, shot, params[0])
    if code == EventCode.CaptureComplete:
        if shot.preview_due:
            await _fetch_preview(cam, shot)
        shot.complete = True
        return False
    log.debug("capture skips event 0x%04X (tid %d)", code, ev.transaction_id)
    return False


async def _object_added(cam: FujiCamera, shot: _Progress, handle: int) -> bool:
    try:
        entry = await cam.object_info(handle)
    except (ResponseError, Unsupported) as exc:
        log.warning("capture: no ObjectInfo for new object 0x%08X: %s", handle, exc)
        shot.handle = handle
        return False
    if entry.is_folder:
        return False  # a new folder may come with the first picture of a directory
    shot.entry = entry
    return True


async def _fetch_preview(cam: FujiCamera, shot: _Progress) -> None:
    shot.preview_due = False
    try:
        _, preview = await cam.link.transact(FujiOperationCode.GetCapturePreview)
    except ResponseError as exc:
        log.info("camera gives no capture preview (0x9022): %s", exc)
        return
    except PTPError:
        raise
    shot.preview = preview
    if shot.preview_size and preview is not None and len(preview) != shot.preview_size:
        log.warning("preview is %d bytes, event announced %d", len(preview), shot.preview_size)


__all__ = ["AFTER_OBJECT", "DELAY_SECONDS", "POLL_INTERVAL", "capture"]
