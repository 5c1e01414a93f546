"""How long the camera link waits before it connects again, and when it stops fighting.

Two waits:

* after a failed connect: exponential backoff, ``minimum`` doubling up to ``maximum``;
* after a session that ended: ``minimum``, so a camera that dropped off Wi-Fi is back at
  once.

Both assume the camera wants us. A camera another initiator is using does not: a
PTP/IP camera either refuses a second initiator (Init Fail "busy") or, as many do, lets
the newcomer take it over and closes the old session. Two initiators that each reconnect
at once then take the camera from each other every few hundred milliseconds, for ever,
and neither can work. :class:`Backoff` notices the pattern and backs off instead:

* a connect refused as busy by another initiator, or
* the camera closing the session :data:`CONTESTED_AFTER` times in a row within
  :data:`CONTESTED_WITHIN` seconds of connecting while none of our clients' commands was
  on it (a link lost to Wi-Fi shows up as a timeout, a fault in a transaction as that
  transaction's error: neither counts)

make the next waits :data:`CONTESTED_MIN` seconds, doubling up to
:data:`CONTESTED_MAX`, with jitter so that two daemons fall out of step; the link says why
on ``status.connection``. A session that lasts resets it. Between two daemons the one
whose session lasts keeps the camera; the other retries rarely and says why.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from ptpd.camera import CameraDisconnected, refused_as_busy

#: seconds: a session the camera ends sooner than this after connecting is cut short
CONTESTED_WITHIN = 5.0
#: sessions cut short in a row before the link backs off
CONTESTED_AFTER = 3
#: seconds of the first wait when contested, doubling up to :data:`CONTESTED_MAX`
CONTESTED_MIN = 5.0
CONTESTED_MAX = 60.0
#: each contested wait is its nominal length times a random factor in 1 +- this
JITTER = 0.25

#: losses that mean the camera closed the connection (a timeout or garbage do not)
CLOSED_BY_CAMERA = (CameraDisconnected, ConnectionError, EOFError)


class Backoff:
    """The waits between connection attempts of one camera link."""

    def __init__(self, minimum: float, maximum: float, rand: Callable[[], float] = random.random) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self._rand = rand
        self.failures = 0  #: connects that failed in a row
        self.cut_short = 0  #: sessions in a row the camera ended soon after connecting
        #: the contested state was logged (once per episode, not every retry)
        self.contested_told = False

    @property
    def contested(self) -> bool:
        """Another initiator seems to be taking the camera."""
        return self.cut_short >= CONTESTED_AFTER

    def connected(self) -> None:
        self.failures = 0

    def connect_failed(self, exc: BaseException) -> tuple[float, str]:
        """The wait after a failed connect and what ``status.connection`` says."""
        self.failures += 1
        if refused_as_busy(exc):
            self.cut_short = max(self.cut_short + 1, CONTESTED_AFTER)
            delay = self._contested_delay()
            return (
                delay,
                f"the camera is busy with another initiator (it refused the connection), backing off; retrying in {delay:.1f}s",
            )
        delay = min(self.maximum, self.minimum * 2 ** min(self.failures - 1, 16))
        text = str(exc)
        what = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        return delay, f"{what}; retrying in {delay:.2f}s"

    def session_ended(self, lived: float, closed_by_camera: bool) -> tuple[float, str | None]:
        """The wait after a session that lasted ``lived`` seconds; with a reason when it is
        the contested wait. ``closed_by_camera``: the camera closed the connection while
        none of our clients' commands was on it."""
        if closed_by_camera and lived < CONTESTED_WITHIN:
            self.cut_short += 1
        else:
            self.cut_short = 0
            self.contested_told = False
        if not self.contested:
            return self.minimum, None
        delay = self._contested_delay()
        return delay, (
            f"another initiator seems to be taking the camera: it ended our session {self.cut_short} times in a row "
            f"within {CONTESTED_WITHIN:g} s of connecting, backing off; retrying in {delay:.1f}s"
        )

    def _contested_delay(self) -> float:
        nominal = min(CONTESTED_MAX, CONTESTED_MIN * 2 ** min(self.cut_short - CONTESTED_AFTER, 16))
        return nominal * (1 + JITTER * (2 * self._rand() - 1))
