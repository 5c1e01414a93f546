"""The control lease: who may change the camera's settings and release its shutter.

One lease per daemon. A client takes it with ``lock`` and gets a token; a job takes it
for its run. While it is held, the commands marked :attr:`~ptpd.bus.Command.guarded`
(``set``, ``capture``, ``opreq``) and the start of a job that needs the camera's control
answer ``locked`` to everyone but the holder, naming the holder (:class:`Locked`).
Reading, watching and downloading go on for everyone.

The holder is known by the connection it locked from (its socket identity) or by the
token its requests carry (``lease``), so the processes of one script can share a lease
(``ptpctl lock -- CMD`` hands the token to CMD). A client's lease lasts ``ttl`` seconds
from its last use: every request of its holder renews it, and it cannot run out while
one of them is still running. A holder that vanished stops renewing it, and the lease
expires. A job's lease lasts as long as the job.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ptpd import bus
from ptpd.bus import BusError, ErrorCode

log = logging.getLogger(__name__)

#: the longest a client's lease may last without a renewal (a day)
MAX_TTL = 86400.0
#: the shortest (a lease that lapses between two commands is no use)
MIN_TTL = 1.0
#: the longest holder name kept (it is shown in every refusal)
MAX_HOLDER = 80


@dataclass(eq=False)
class Lease:
    """The lease as held: by whom, since when, and until when without a renewal."""

    token: str
    holder: str  #: shown to those refused
    identity: bytes | None  #: the connection it was taken from (None: a job's)
    ttl: float | None  #: seconds from the last use; None: until released (a job's)
    job: int | None = None  #: the job holding it
    since: float = field(default_factory=time.time)  #: wall clock
    renewed: float = 0.0  #: monotonic, the last use
    busy: int = 0  #: requests of the holder running now (it does not expire meanwhile)

    def expires_in(self, now: float) -> float | None:
        """Seconds left without a renewal (None: it does not expire by itself)."""
        if self.ttl is None or self.busy:
            return None
        return max(0.0, self.renewed + self.ttl - now)

    def summary(self, now: float) -> dict[str, Any]:
        left = self.ttl if self.busy and self.ttl is not None else self.expires_in(now)
        return {
            "holder": self.holder,
            "job": self.job,
            "since": self.since,
            "expires_in": None if left is None else round(left, 1),
        }


class Locked(BusError):
    """A command refused because someone else holds the control lease."""

    def __init__(self, lease: Lease, what: str) -> None:
        since = time.strftime("%H:%M:%S", time.localtime(lease.since))
        hint = (
            f"stop job {lease.job} first" if lease.job is not None else "it is released with unlock, or expires unused"
        )
        super().__init__(ErrorCode.LOCKED, f"the camera is locked by {lease.holder} since {since} ({hint})")
        self.holder = lease.holder
        self.job = lease.job
        self.what = what

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["holder"] = self.holder
        if self.job is not None:
            d["job"] = self.job
        return d


class Leases:
    """The daemon's one control lease and the rules above. ``publish(topic, data)`` tells
    the event socket when it is taken, released or expires (``lease``)."""

    def __init__(
        self, publish: Callable[[str, dict[str, Any]], Any] | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._publish = publish
        self._clock = clock
        self._lease: Lease | None = None

    def now(self) -> float:
        """The lease clock (monotonic seconds)."""
        return self._clock()

    @property
    def current(self) -> Lease | None:
        """The lease in force (one that ran out unused is dropped here)."""
        lease = self._lease
        if lease is not None:
            left = lease.expires_in(self._clock())
            if left is not None and left <= 0:
                log.info("control lease of %s expired (unused for %.0f s)", lease.holder, lease.ttl)
                self._lease = None
                self._tell("expired", lease)
                return None
        return lease

    def summary(self) -> dict[str, Any] | None:
        """What ``status`` shows of the lease (None: nobody holds it)."""
        lease = self.current
        return None if lease is None else lease.summary(self._clock())

    @staticmethod
    def _holds(lease: Lease, identity: bytes, token: str | None) -> bool:
        if token is not None and secrets.compare_digest(token, lease.token):
            return True
        return lease.identity is not None and identity == lease.identity

    def acquire(self, identity: bytes, token: str | None, holder: str | None, ttl: float) -> Lease:
        """``lock``: the lease for this client (renewed when it holds it already);
        :class:`Locked` when another client or a job holds it."""
        if not MIN_TTL <= ttl <= MAX_TTL:
            raise BusError(ErrorCode.BAD_REQUEST, f"ttl must be {MIN_TTL:g} to {MAX_TTL:g} seconds")
        lease = self.current
        if lease is not None and not self._holds(lease, identity, token):
            raise Locked(lease, "lock")
        if lease is not None and lease.job is not None:
            raise Locked(lease, "lock")  # a job's: the job gives it back when it ends
        name = (holder or "").strip()[:MAX_HOLDER] or f"client {identity.hex()[:8] or '?'}"
        if lease is None:
            lease = Lease(secrets.token_hex(16), name, identity, ttl)
            self._lease = lease
            log.info("control lease taken by %s (ttl %g s)", name, ttl)
            lease.renewed = self._clock()
            self._tell("held", lease)
            return lease
        lease.ttl, lease.identity, lease.renewed = ttl, identity, self._clock()
        if holder:
            lease.holder = name
        return lease

    def release(self, identity: bytes, token: str | None, force: bool = False) -> Lease | None:
        """``unlock``: the lease this client held, now released (None: it held none).
        ``force`` takes any client's lease away, never a job's."""
        lease = self.current
        if lease is None:
            return None
        mine = self._holds(lease, identity, token)
        if lease.job is not None:  # a job gives it back when it ends: stop the job
            if force:
                raise Locked(lease, "unlock")
            return None
        if not (mine or force):
            return None
        self._lease = None
        log.info("control lease of %s released%s", lease.holder, "" if mine else " (forced)")
        self._tell("released", lease)
        return lease

    def begin(self, identity: bytes, token: str | None, guarded: str | None) -> Lease | None:
        """A request arrives. From the holder: the lease is renewed and held open until
        :meth:`end` (returned). ``guarded`` names a command that needs the lease free or
        held by its client: :class:`Locked` otherwise."""
        lease = self.current
        if lease is None:
            return None
        if self._holds(lease, identity, token):
            lease.busy += 1
            lease.renewed = self._clock()
            return lease
        if guarded is not None:
            raise Locked(lease, guarded)
        return None

    def end(self, lease: Lease | None) -> None:
        """A request :meth:`begin` returned ``lease`` for has been answered."""
        if lease is not None:
            lease.busy = max(0, lease.busy - 1)
            lease.renewed = self._clock()

    def check(self, identity: bytes, token: str | None, what: str) -> None:
        """:class:`Locked` unless the lease is free or this client's (a job's is no one's)."""
        lease = self.current
        if lease is not None and (lease.job is not None or not self._holds(lease, identity, token)):
            raise Locked(lease, what)

    def take_for_job(self, job: int, kind: str, identity: bytes = b"", token: str | None = None) -> Lease:
        """A job's lease for its run: free, or held by the client starting it (the job
        takes it over), or the job's own already (resumed); :class:`Locked` otherwise."""
        lease = self.current
        if lease is not None and lease.job == job:
            return lease
        if lease is not None and (lease.job is not None or not self._holds(lease, identity, token)):
            raise Locked(lease, f"job.start {kind}")
        new = Lease(secrets.token_hex(16), f"job {job} ({kind})", None, None, job)
        new.renewed = self._clock()
        self._lease = new
        log.info("control lease taken by job %d (%s)", job, kind)
        self._tell("held", new)
        return new

    def release_job(self, job: int) -> None:
        """Job ``job`` ended: its lease is free again."""
        lease = self._lease
        if lease is not None and lease.job == job:
            self._lease = None
            log.info("control lease of job %d released", job)
            self._tell("released", lease)

    def _tell(self, state: str, lease: Lease) -> None:
        if self._publish is not None:
            self._publish(bus.Topic.LEASE, {"state": state, **lease.summary(self._clock())})
