"""Releases at a shared time: a rig fires many daemons at one moment, not at once.

A rig client learns each daemon's clock (``ping``'s ``clock``: ``time.monotonic()`` here,
the clock of the event loop) and sends every daemon ``capture`` with ``at``: the moment to
release, in that daemon's own clock, some hundreds of milliseconds ahead. Each daemon then
releases from its own event loop, so the spread of the releases is the spread of the
daemons' wake-ups, not of the network's delivery.

How a scheduled capture runs:

1. Until :data:`QUEUE_LEAD` before ``at`` it waits outside the camera queue: a release
   scheduled far ahead does not hold the camera meanwhile.
2. Then it queues like any command. Once it holds the camera, the vendor does what comes
   before its release (Fuji lists the card) and waits for ``at`` (a :class:`Moment`, the
   camera layer's release gate), holding the camera: the release lands in its queue slot
   with nothing in front of it (no keep-alive, no other client's command).
3. The wait sleeps on the loop's timers to :data:`FINE_WAIT` before ``at`` (they wake to
   the millisecond, later on a busy host), the release's packet is made, and the rest is
   slept in the kernel (it wakes to tens of microseconds), blocking the loop for that
   last stretch only; then the packet is written.

The camera layer notes when the release's request went to the socket; the reply gives it
per shot (``released``), beside ``planned`` (``at``).

On a busy host the wake-up at ``at`` waits for a core: a process that wakes has to wait for
the others' time slices, milliseconds. With ``release_priority`` (``[daemon]``) the
daemon's loop runs real-time (SCHED_FIFO) from the end of the loop's wait until the release is
written, and wakes ahead of every ordinary process; it needs the right to (root,
``CAP_SYS_NICE``, or ``RLIMIT_RTPRIO``: ``docs/rigs.md`` has the unit's drop-in). Without
it the daemon says so once and releases as any other work.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time

from ptpd.bus import BusError, ErrorCode

log = logging.getLogger(__name__)

#: the daemon's clock for ``at``, ``released`` and ``ping``'s ``clock`` (the event loop's)
clock = time.monotonic

#: seconds before ``at`` that a scheduled capture enters the camera queue
QUEUE_LEAD = 1.0
#: seconds before ``at`` that the wait leaves the loop's timers for the kernel's: room for
#: a loop that wakes late, and for many daemons of one host waking at once
FINE_WAIT = 0.005
#: the furthest ahead ``at`` may be, seconds
MAX_AHEAD = 600.0


def check(at: float, deadline: float | None) -> None:
    """Refuse an ``at`` that cannot be kept: in the past when the request arrives
    (``expired``: the clocks are off or the request came too late; nothing is done), too
    far ahead, or after the request's own deadline (``bad_request``)."""
    now = clock()
    if at < now:
        raise BusError(
            ErrorCode.EXPIRED,
            f"capture: its release time (at) passed {(now - at) * 1000:.1f} ms before the request arrived; nothing was done",
        )
    if at - now > MAX_AHEAD:
        raise BusError(ErrorCode.BAD_REQUEST, f"capture: at is {at - now:.0f} s ahead; at most {MAX_AHEAD:.0f} s")
    if deadline is not None and at > deadline:
        raise BusError(ErrorCode.BAD_REQUEST, "capture: at is after the request's deadline (timeout_ms)")


async def approach(at: float) -> None:
    """Wait outside the camera queue until :data:`QUEUE_LEAD` before ``at``."""
    left = at - QUEUE_LEAD - clock()
    if left > 0:
        await asyncio.sleep(left)


#: a refused release priority is said once
_refused: list[str] = []


class Moment:
    """A release time as the camera layer's release gate (``ReleaseGate``); with
    ``priority`` the release runs real-time (see the module) until it is :meth:`sent`."""

    def __init__(self, at: float, priority: int = 0) -> None:
        self.at = at
        self.priority = priority
        self._raised = False

    async def approach(self) -> None:
        """Sleep on the loop until :data:`FINE_WAIT` before the moment."""
        coarse = self.at - FINE_WAIT - clock()
        if coarse > 0:
            await asyncio.sleep(coarse)
        if self.priority and not self._raised:
            try:  # this thread (the loop's) alone; the bus's I/O threads stay as they are
                os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(self.priority))
                self._raised = True
            except OSError as exc:
                if not _refused:
                    _refused.append(str(exc))
                    log.warning(
                        "release_priority %d refused (%s): releasing without it", self.priority, exc.strerror or exc
                    )

    def sent(self) -> None:
        """The release went: back to ordinary scheduling at once, so that the rest of this
        loop turn yields the core to other daemons whose moment it is too."""
        self.restore()

    def restore(self) -> None:
        """Back to ordinary scheduling. Idempotent (after the capture, whatever happened)."""
        if self._raised:
            self._raised = False
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))

    def arrive(self) -> None:
        """Sleep in the kernel until the moment: the loop's timers would wake up to 1 ms late."""
        left = self.at - clock()
        if left > 0:
            time.sleep(left)
