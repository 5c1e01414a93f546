"""A daemon's clock as seen from here: the offset, the way NTP finds it.

Each ``ping`` reply carries the daemon's ``clock`` (its ``time.monotonic()``, the clock
``capture``'s ``at`` is in). A ping sent at ``t0`` and answered at ``t3`` (our monotonic
clock) that read ``c`` there gives ``offset = c - (t0 + t3) / 2``, right to within half the
round trip ``t3 - t0`` (exactly right when the way there and back take as long). A few
pings in a row, and the one with the shortest round trip kept (NTP's clock filter: the
least-delayed exchange is the least disturbed by queues and scheduling), give the offset
to within a fraction of a millisecond on a LAN, and to microseconds on one host.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ._errors import ProtocolMismatch

#: pings per estimate
ROUNDS = 8


@dataclass(frozen=True, slots=True)
class ClockOffset:
    """How a daemon's clock stands to ours: ``theirs = ours + offset`` (seconds), known
    to within ``delay / 2`` (the round trip of the exchange it came from)."""

    offset: float
    delay: float
    samples: int = 1

    def theirs(self, ours: float) -> float:
        """Our clock's ``ours`` in the daemon's clock."""
        return ours + self.offset

    def ours(self, theirs: float) -> float:
        """The daemon's clock's ``theirs`` in ours."""
        return theirs - self.offset

    @property
    def error(self) -> float:
        """The most the offset can be off by (half the round trip), seconds."""
        return self.delay / 2


def estimate(samples: Iterable[tuple[float, float, float]]) -> ClockOffset:
    """The offset from ``(sent, their clock, received)`` samples: the one with the shortest
    round trip. ``ValueError`` when there are none."""
    best: ClockOffset | None = None
    n = 0
    for sent, theirs, received in samples:
        n += 1
        delay = received - sent
        if delay < 0:
            continue  # not a monotonic clock reading: ignore it
        if best is None or delay < best.delay:
            best = ClockOffset(theirs - (sent + received) / 2, delay)
    if best is None:
        raise ValueError("no usable clock sample")
    return ClockOffset(best.offset, best.delay, n)


async def measure(client: Any, rounds: int = ROUNDS, *, timeout: float | None = None) -> ClockOffset:
    """The offset of ``client``'s daemon (an :class:`~ptpd_client.AsyncClient`), from
    ``rounds`` pings one after the other."""
    samples = []
    for _ in range(rounds):
        sent = time.monotonic()
        reply = await client.request("ping", parse=False, timeout=timeout)
        received = time.monotonic()
        theirs = reply.get("clock") if isinstance(reply, dict) else None
        if not isinstance(theirs, (int, float)) or isinstance(theirs, bool):
            raise ProtocolMismatch("the daemon's ping has no clock: it is older than scheduled captures (capture at)")
        samples.append((sent, float(theirs), received))
    return estimate(samples)
