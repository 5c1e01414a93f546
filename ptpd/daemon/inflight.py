"""Requests in flight: their deadlines, and how each is stopped.

Every request the router accepts is a :class:`Flight` until it is answered. Three things
may stop one, each a :class:`Stop`:

* its client's ``cancel`` (same client identity, same request id);
* its deadline: the client said how long it waits (``timeout_ms``); past that it has
  given up, and a side effect done then would be done for no one (a "ghost command");
* the daemon stopping (SIGTERM).

What stopping means depends on how far the request got, which :class:`Control` tracks:

* not started (waiting in the camera queue, or still checking its arguments): the task is
  cancelled at once and answers ``cancelled`` / ``expired`` / ``not_connected``; the camera
  never sees it. The deadline is a timer, so an expired request leaves the queue when its
  client gives up, not when its turn comes;
* started (it holds the camera): it is not torn off the camera mid-transaction. It reads
  :attr:`Control.stopped` at its safe points: a multi-shot capture before each next shot
  (it finishes, downloads and saves the shot in progress), a download waiting to resume
  after a reconnect. Anything else is one transaction and simply finishes.

A request also does not start when too little of its deadline is left for the time such
a command usually takes here, with a margin (:meth:`Control.admit`): it would finish
after its client gave up.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, field
from typing import Any

from ptpd.bus import BusError, ErrorCode


@enum.unique
class Stop(str, enum.Enum):
    """Why a request was stopped (a capture's reply says it as ``stopped``)."""

    CANCELLED = "cancelled"  #: its client sent ``cancel``
    EXPIRED = "expired"  #: its deadline passed: the client has given up
    STOPPING = "stopping"  #: the daemon is shutting down


#: seconds: below this left of its deadline a request is not started, whatever its
#: typical duration (the reply still has to travel and be read)
MIN_LEFT = 0.02
#: a request starts only with this many times its typical duration left: one that takes
#: a little longer than usual must still end before its client gives up
TYPICAL_MARGIN = 1.5


class Control:
    """One request's deadline and stop flag, as its handler and the camera link see them.

    ``deadline`` is in the running loop's time (``loop.time()``), ``None`` for a request
    that carried no ``timeout_ms``.
    """

    __slots__ = ("deadline", "started", "stopped")

    def __init__(self, deadline: float | None = None) -> None:
        self.deadline = deadline
        #: it has held the camera: stopping it now waits for a safe point
        self.started = False
        self.stopped: Stop | None = None

    def stop(self, why: Stop) -> None:
        """Ask the request to stop (the first reason given is kept)."""
        if self.stopped is None:
            self.stopped = why

    def left(self, now: float) -> float | None:
        """Seconds of the deadline left at ``now`` (``None``: no deadline)."""
        return None if self.deadline is None else self.deadline - now

    def stop_before(self, now: float, typical: float) -> Stop | None:
        """Why not to begin another step that usually takes ``typical`` seconds: a stop
        was asked, or the step would end after the client gave up. ``None``: go on."""
        if self.stopped is not None:
            return self.stopped
        left = self.left(now)
        if left is not None and left < typical * TYPICAL_MARGIN + MIN_LEFT:
            return Stop.EXPIRED
        return None

    def admit(self, now: float, typical: float, what: str) -> None:
        """The request is about to take the camera for ``what``: raise the
        :class:`~ptpd.bus.BusError` that answers it if it must not start."""
        why = self.stop_before(now, typical)
        if why is None:
            self.started = True
            return
        self.stopped = why
        raise not_started(why, what, self.left(now), typical)


def not_started(why: Stop, what: str, left: float | None = None, typical: float = 0.0) -> BusError:
    """The answer to a request stopped before it touched the camera (nothing ran)."""
    if why is Stop.CANCELLED:
        return BusError(ErrorCode.CANCELLED, f"{what}: cancelled before it started; nothing was done")
    if why is Stop.EXPIRED:
        when = ""
        if left is not None and left > 0:
            when = f" ({left:.2f} s were left; it usually takes {typical:.2f} s here)"
        return BusError(
            ErrorCode.EXPIRED, f"{what}: not started, its deadline (timeout_ms) passed{when}; nothing was done"
        )
    return BusError(ErrorCode.NOT_CONNECTED, "the daemon is stopping")


@dataclass(eq=False)
class Flight:
    """One request between its arrival and its reply."""

    identity: bytes
    id: Any
    cmd: str
    control: Control
    task: asyncio.Task[Any] | None = None
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)
    #: its reply went out (or is going out from its own task)
    answered: bool = False


class Flights:
    """The requests in flight, by (client identity, request id)."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[bytes, Any], Flight] = {}

    def __len__(self) -> int:
        return len(self._by_key)

    def add(self, identity: bytes, rid: Any, cmd: str, timeout: float | None) -> Flight:
        """A new request; with ``timeout`` (seconds) its deadline starts now."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        flight = Flight(identity, rid, cmd, Control(deadline))
        if deadline is not None:
            flight.timer = loop.call_at(deadline, self._stop, flight, Stop.EXPIRED)
        # a client that reuses an id for a second request in flight can cancel the newest
        self._by_key[(identity, rid)] = flight
        return flight

    def remove(self, flight: Flight) -> None:
        if flight.timer is not None:
            flight.timer.cancel()
        key = (flight.identity, flight.id)
        if self._by_key.get(key) is flight:
            del self._by_key[key]

    def cancel(self, identity: bytes, rid: Any) -> str | None:
        """The client's ``cancel`` of its request ``rid``: ``"queued"`` (it will never
        start), ``"running"`` (it stops at its next safe point, or finishes), or ``None``
        when this client has no such request in flight."""
        flight = self._by_key.get((identity, rid))
        if flight is None:
            return None
        started = flight.control.started
        self._stop(flight, Stop.CANCELLED)
        return "running" if started else "queued"

    def stop_all(self, why: Stop) -> None:
        """Stop every request (the daemon is stopping)."""
        for flight in list(self._by_key.values()):
            self._stop(flight, why)

    @staticmethod
    def _stop(flight: Flight, why: Stop) -> None:
        control = flight.control
        if control.stopped is not None and not control.started:
            return  # already being cancelled
        if why is Stop.EXPIRED and control.started:
            control.stop(why)  # a running capture reads it before its next shot
            return
        control.stop(why)
        if not control.started and flight.task is not None:
            flight.task.cancel()  # it never touched the camera: it answers at once
