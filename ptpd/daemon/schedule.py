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
"""

from __future__ import annotations

import asyncio
import time

from ptpd.bus import BusError, ErrorCode

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


class Moment:
    """A release time as the camera layer's release gate (``ReleaseGate``)."""

    def __init__(self, at: float) -> None:
        self.at = at

    async def approach(self) -> None:
        """Sleep on the loop until :data:`FINE_WAIT` before the moment."""
        coarse = self.at - FINE_WAIT - clock()
        if coarse > 0:
            await asyncio.sleep(coarse)

    def arrive(self) -> None:
        """Sleep in the kernel until the moment: the loop's timers would wake up to 1 ms late."""
        left = self.at - clock()
        if left > 0:
            time.sleep(left)
