"""Transfers across a reconnect: the daemon's half of resuming.

The camera layer keeps what arrived in a :class:`~ptpd.camera.Transfer` and continues it
on a new camera object (:meth:`Camera.resume <ptpd.camera.Camera.resume>`). The daemon's
part is the link: drop it at once when a transfer saw it break (:func:`note_loss`), wait
for the supervisor to bring a new session up, then queue the resume like any camera
command (:func:`resume`).
"""

from __future__ import annotations

import asyncio

from ptpd.bus import BusError, ErrorCode
from ptpd.camera import LINK_ERRORS, CameraDisconnected, Download, Progress, Transfer, TransferInterrupted
from ptpd.daemon.inflight import Control, Stop
from ptpd.daemon.link import CameraLink

#: seconds a transfer interrupted by a dropped link may wait for the reconnect and resume
RESUME_DEADLINE = 20.0
#: how often a waiting resume looks whether the link is back
_POLL = 0.05


def note_loss(link: CameraLink, exc: BaseException) -> None:
    """A link error caught inside a camera command: make the supervisor rebuild the link
    (the command itself goes on, to report or resume)."""
    cause = exc.cause if isinstance(exc, TransferInterrupted) else exc
    if isinstance(cause, LINK_ERRORS):
        link.drop(f"transfer: {type(cause).__name__}: {cause}", cause)


def resume_window(timeout: float) -> float:
    """Seconds a resume may wait for the link, for a camera ``timeout`` per transaction."""
    return min(RESUME_DEADLINE, timeout * 4 + 4)


async def resume(
    link: CameraLink, t: Transfer, progress: Progress | None, since: int, window: float, control: Control | None = None
) -> Download:
    """Finish ``t`` after the link is back: one attempt per new session (counted from
    ``since``, the link's ``connects`` when the transfer began), for at most ``window``
    seconds. Raises the last failure (a ``TransferInterrupted`` keeps the bytes received
    in ``t``). A request ``control`` that was stopped (its client's ``cancel``) ends the
    wait for the link with ``cancelled``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + window
    last: BaseException = TransferInterrupted(t, CameraDisconnected("link lost"))
    while loop.time() < deadline:
        # wait for a new session (not the one that just failed)
        while not (link.connected and link.connects > since) and loop.time() < deadline:
            if control is not None and control.stopped is Stop.CANCELLED:
                raise BusError(ErrorCode.CANCELLED, f"cancelled while waiting for the link to resume ({t.so_far})")
            await asyncio.sleep(_POLL)
        if not link.connected or loop.time() >= deadline:
            break
        since = link.connects
        try:
            return await link.call("download", lambda cam: cam.resume(t, progress), max(1.0, deadline - loop.time()))
        except TransferInterrupted as exc:
            note_loss(link, exc)
            last = exc
        except BusError as exc:
            if exc.code is not ErrorCode.NOT_CONNECTED:
                raise
            last = exc  # the link went again before our turn: wait for the next one
    raise last
