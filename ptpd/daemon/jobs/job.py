"""What every kind of job shares: options, waiting, shots, settings put back, progress.

A :class:`Job` is one row of the store brought to life. Its kind's :meth:`Job.run` does
the work through the helpers here, which keep the rules of the engine:

* every shot is written down before and after its release (:meth:`Job.shoot`): a shot
  the daemon was killed in the middle of is never taken again; one whose image the
  camera had named is fetched later (:meth:`Job.fetch_pending`);
* a job waits for the camera (:meth:`Job.wait_camera`), and stops at its safe points when
  asked to (``job.stop``) or when the daemon stops (then it stays ``running`` in the
  store and resumes on the next start);
* settings a job changes are listed before it changes them (``restore``) and put back
  when it ends, however it ends (:meth:`Job.restore_settings`); a camera that is away
  then gets them back when it returns (the engine's pending restores).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ptpd.bus import BusError, ErrorCode
from ptpd.camera import Camera
from ptpd.daemon.context import Context, Request, camera_timeout
from ptpd.daemon.errors import to_bus_error
from ptpd.daemon.files import check_dir
from ptpd.daemon.inflight import Control
from ptpd.daemon.jobs.shooting import NOT_TAKEN, SAVED, TAKEN, ShotResult, take_shot
from ptpd.daemon.jobs.store import MISSED, RELEASING, ShotRow
from ptpd.daemon.jobs.store import SAVED as ROW_SAVED
from ptpd.daemon.jobs.store import TAKEN as ROW_TAKEN
from ptpd.daemon.objects import download
from ptpd.daemon.shapes import prop_dict

if TYPE_CHECKING:
    from ptpd.daemon.jobs.engine import JobEngine
    from ptpd.daemon.jobs.store import JobRow, JobStore

log = logging.getLogger(__name__)

T = TypeVar("T")

#: error codes that mean the camera is away (the job waits for it), not that it said no
LINK_CODES = (ErrorCode.NOT_CONNECTED, ErrorCode.TIMEOUT)


class JobFailed(Exception):
    """The job cannot go on; the message says why (it ends ``failed``)."""


# -- options ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Opt:
    """One option of a kind: its type, default, and a check (an error text, or None)."""

    kind: str  #: "int", "float", "bool", "str", "time"
    default: Any = None
    check: Callable[[Any], str | None] | None = None
    required: bool = False


def between(lo: float, hi: float) -> Callable[[Any], str | None]:
    return lambda v: None if lo <= v <= hi else f"must be {lo:g} to {hi:g}"


def parse_time(value: Any) -> float:
    """A wall-clock time: seconds since the epoch, or ISO 8601 text (a time without a
    zone is the daemon's local time). ``ValueError`` otherwise."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        return _dt.datetime.fromisoformat(value.strip()).timestamp()
    raise ValueError(f"not a time: {value!r}")


def check_options(kind: str, specs: dict[str, Opt], options: dict[str, Any] | None) -> dict[str, Any]:
    """``options`` checked against ``specs``, defaults filled in; ``bad_request`` naming
    the option that is off."""
    options = dict(options or {})
    unknown = sorted(str(k)[:32] for k in options if k not in specs)
    if unknown:
        raise BusError(
            ErrorCode.BAD_REQUEST, f"{kind}: unknown option(s) {', '.join(unknown)} (takes {', '.join(specs)})"
        )
    out: dict[str, Any] = {}
    for name, spec in specs.items():
        value = options.get(name)
        if value is None:
            if spec.required:
                raise BusError(ErrorCode.BAD_REQUEST, f"{kind}: option {name!r} is required")
            out[name] = spec.default
            continue
        try:
            value = _coerce(spec.kind, value)
        except (TypeError, ValueError) as exc:
            raise BusError(ErrorCode.BAD_REQUEST, f"{kind}: option {name!r}: {exc}") from None
        problem = spec.check(value) if spec.check is not None else None
        if problem:
            raise BusError(ErrorCode.BAD_REQUEST, f"{kind}: option {name!r} {problem}, not {value!r}")
        out[name] = value
    return out


def _coerce(kind: str, value: Any) -> Any:
    if kind == "bool":
        if not isinstance(value, bool):
            raise TypeError(f"must be true or false, not {type(value).__name__}")
        return value
    if kind == "time":
        return parse_time(value)
    if kind == "str":
        if not isinstance(value, str):
            raise TypeError(f"must be text, not {type(value).__name__}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"must be a number, not {type(value).__name__}")
    if kind == "int":
        if float(value) != int(value):
            raise ValueError(f"must be a whole number, not {value!r}")
        return int(value)
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return float(value)


#: the options every kind that shoots takes: where its images go, and whether they leave
#: the card once saved
SHOT_OPTIONS: dict[str, Opt] = {
    "dir": Opt("str"),
    "delete_after": Opt("bool", False),
}
#: how long (seconds) a job that cannot skip a step waits for a camera that went away
WAIT_OPTION: dict[str, Opt] = {"wait": Opt("float", 60.0, between(0, 86400))}


# -- the job ------------------------------------------------------------------------------


class Job:
    """One job: its row of the store, its shots, and what it is doing now."""

    kind: ClassVar[str] = ""
    #: it holds the control lease for its run (it changes settings or releases the shutter)
    takes_lease: ClassVar[bool] = True
    OPTIONS: ClassVar[dict[str, Opt]] = {}

    def __init__(self, engine: JobEngine, row: JobRow) -> None:
        self.engine = engine
        self.row = row
        self.id = row.id
        self.options = row.options
        #: ``job.stop`` asked it to end after the shot in progress
        self.stop_asked = False
        self.detail = row.detail
        #: wall time of its next shot, when it waits for one
        self.next_at: float | None = None
        self.shots: dict[int, ShotRow] = {s.slot: s for s in self.store.shots(self.id)}
        self._wake = asyncio.Event()

    # -- making one ----------------------------------------------------------------------

    @classmethod
    def check(cls, options: dict[str, Any] | None) -> dict[str, Any]:
        """The options checked (``bad_request`` names what is off)."""
        out = check_options(cls.kind, cls.OPTIONS, options)
        if out.get("delete_after") and not out.get("dir"):
            raise BusError(
                ErrorCode.BAD_REQUEST, f"{cls.kind}: delete_after needs dir (an image is deleted only once it is saved)"
            )
        return out

    @classmethod
    async def prepare(
        cls, engine: JobEngine, options: dict[str, Any], request: Request
    ) -> tuple[dict[str, Any], list[list[Any]]]:
        """Ready to start: the options to keep and the settings it will change (to put
        back). Here: a ``dir`` the daemon cannot write is refused before anything runs."""
        if options.get("dir"):
            await check_dir(options["dir"])
        return options, []

    async def run(self) -> None:  # pragma: no cover - every kind has its own
        raise NotImplementedError

    # -- where it stands -----------------------------------------------------------------

    @property
    def ctx(self) -> Context:
        return self.engine.ctx

    @property
    def store(self) -> JobStore:
        return self.engine.store

    @property
    def total(self) -> int | None:
        """How many shots it means to deliver (None: as many as its time allows)."""
        return None

    def counts(self) -> tuple[int, int, int]:
        """(delivered, taken but not saved yet, missed) shots."""
        done = sum(1 for s in self.shots.values() if s.state == ROW_SAVED)
        pending = sum(1 for s in self.shots.values() if s.state == ROW_TAKEN)
        missed = sum(1 for s in self.shots.values() if s.state == MISSED)
        return done, pending, missed

    def drift(self) -> dict[str, Any] | None:
        """Actual minus planned release times of its shots, in seconds."""
        by_slot = {
            s.slot: s.actual - s.planned for s in self.shots.values() if s.actual is not None and s.planned is not None
        }
        if not by_slot:
            return None
        drifts = sorted(by_slot.values())
        return {
            "n": len(drifts),
            "last": round(by_slot[max(by_slot)], 4),
            "mean": round(sum(drifts) / len(drifts), 4),
            "p99": round(percentile(drifts, 0.99), 4),
            "max": round(drifts[-1], 4),
        }

    def summary(self) -> dict[str, Any]:
        """The job as ``job.list`` and ``job.<id>`` show it."""
        done, pending, missed = self.counts()
        row = self.row
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "state": row.state,
            "detail": self.detail,
            "options": self.options,
            "created": row.created,
            "ended": row.ended,
            "done": done,
            "total": self.total,
            "pending": pending,
            "missed": missed,
            "next_at": self.next_at if row.state == "running" else None,
            "drift": self.drift(),
            "lease": self.takes_lease and row.state == "running",  # it holds the control lease
        }
        return out

    def final_detail(self) -> str:
        """What it did, said when it ends."""
        done, pending, missed = self.counts()
        parts = [f"{done} shot{'s' if done != 1 else ''}"]
        if missed:
            parts.append(f"{missed} missed")
        if pending:
            parts.append(f"{pending} left on the camera")
        return ", ".join(parts)

    def details(self) -> dict[str, Any]:
        """The summary with every shot (``job.get``)."""
        out = self.summary()
        out["shots"] = [s.as_dict() for s in sorted(self.shots.values(), key=lambda s: s.slot)]
        return out

    def publish(self, event: str, **data: Any) -> None:
        """Tell ``job.<id>``: what happened (``event``) and where the job stands."""
        self.engine.publish(self, event, data)

    def say(self, detail: str) -> None:
        """What it is doing now (``detail``), kept in the store for ``job.list``."""
        if detail != self.detail:
            self.detail = detail
            self.store.set_detail(self.id, detail)
            self.publish("status")

    # -- waiting ---------------------------------------------------------------------------

    @property
    def stopped(self) -> bool:
        """Asked to stop (``job.stop``), or the daemon is stopping."""
        return self.stop_asked or self.engine.stopping

    def wake(self) -> None:
        """Something it may wait for changed: the camera's connection, a stop."""
        self._wake.set()

    def checkpoint(self) -> None:
        """A safe point: the daemon stopping ends the job's task here (it stays running
        in the store and resumes on the next start)."""
        if self.engine.stopping:
            raise asyncio.CancelledError()

    async def pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less when woken (a stop, the camera coming or going)."""
        if seconds <= 0:
            return
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass

    async def sleep_until(self, when: float) -> None:
        """Wait until wall-clock ``when`` (or a stop)."""
        while not self.stopped:
            left = when - time.time()
            if left <= 0:
                return
            await self.pause(left)

    async def wait_camera(self, until: float | None = None) -> bool:
        """Wait until the camera is connected (True), until wall-clock ``until`` passes or
        the job is stopped (False)."""
        link = self.ctx.link
        told = False
        while not link.connected:
            if self.stopped or (until is not None and time.time() >= until):
                return False
            if not told:
                told = True
                self.say(f"waiting for the camera ({link.connection.value}{': ' + link.detail if link.detail else ''})")
            await self.pause(0.5 if until is None else max(0.01, min(0.5, until - time.time())))
        return True

    async def camera_back(self, what: str) -> None:
        """Wait for a camera that ``what`` found away or busy, up to the ``wait`` option;
        :class:`JobFailed` when it does not come back in time (a stop just returns)."""
        patience = float(self.options.get("wait") or 60.0)
        await self.pause(0.1)
        if await self.wait_camera(time.time() + patience):
            return
        self.checkpoint()
        if not self.stop_asked:
            raise JobFailed(
                f"{what}: the camera did not come back within {patience:g} s ({self.ctx.link.detail or 'away'})"
            )

    async def on_camera(self, name: str, fn: Callable[[Camera], Awaitable[T]], transactions: int = 1) -> T:
        """Run ``fn(camera)`` in the camera's queue, as a client's command would."""
        return await self.ctx.link.call(name, fn, camera_timeout(self.ctx, transactions))

    async def patiently(self, name: str, fn: Callable[[Camera], Awaitable[T]], transactions: int = 1) -> T:
        """:meth:`on_camera`, waiting for the camera (up to the ``wait`` option) while it is
        away or busy; :class:`JobFailed` when it does not come back in time."""
        patience = float(self.options.get("wait") or 60.0)
        until = time.time() + patience
        while True:
            self.checkpoint()
            if self.stop_asked:
                raise JobFailed(f"{name}: stopped while waiting for the camera")
            if not await self.wait_camera(until):
                self.checkpoint()
                raise JobFailed(
                    f"{name}: the camera did not come back within {patience:g} s ({self.ctx.link.detail or 'away'})"
                )
            try:
                return await self.on_camera(name, fn, transactions)
            except Exception as exc:
                err = to_bus_error(exc)
                if err.code not in (*LINK_CODES, ErrorCode.CAMERA_BUSY) or time.time() >= until:
                    raise
                log.info("job %d: %s: %s; waiting for the camera", self.id, name, err.message)
                await self.pause(0.2)

    # -- shots -----------------------------------------------------------------------------

    def put(self, shot: ShotRow) -> None:
        self.shots[shot.slot] = shot
        self.store.put_shot(self.id, shot)

    def miss(self, slot: int, planned: float | None, why: str, **extra: Any) -> None:
        """Slot ``slot`` got no picture, and why."""
        self.put(ShotRow(slot, MISSED, planned=planned, why=why, extra=extra or None))
        log.info("job %d: slot %d missed: %s", self.id, slot, why)
        self.publish("missed", slot=slot, planned=planned, why=why)

    def settle_interrupted(self) -> None:
        """On resume: a slot whose release the daemon was killed in the middle of. With
        its image named, it is fetched later; without, it is missed (never shot again:
        the camera may have taken it), unless its planned time is still to come (it was
        only armed: a release never starts before its time)."""
        now = time.time()
        for shot in list(self.shots.values()):
            if shot.state != RELEASING:
                continue
            if shot.planned is not None and shot.planned > now:
                self.store.drop_shot(self.id, shot.slot)
                del self.shots[shot.slot]
                continue
            why = "the daemon stopped during this shot (if the camera took it, it is on its card)"
            self.put(ShotRow(shot.slot, MISSED, planned=shot.planned, actual=shot.actual, why=why, extra=shot.extra))

    def arm(self, slot: int, planned: float | None = None, **extra: Any) -> None:
        """Write down that ``slot`` is about to be released (before it is: a daemon killed
        after this never releases it again). A job on a schedule arms its slot a moment
        before its time, so that the write is not between the time and the release."""
        self.put(ShotRow(slot, RELEASING, planned=planned, extra=extra or None))

    async def shoot(self, slot: int, planned: float | None = None, **extra: Any) -> ShotResult:
        """Release once for ``slot``: saved under ``dir`` (or kept on the camera without
        one), written down before (:meth:`arm`, unless it was) and after. A result
        ``not_taken`` leaves the slot free (the camera took nothing); ``unknown`` marks it
        missed."""
        dir_ = self.options.get("dir")
        armed = self.shots.get(slot)
        if armed is None or armed.state != RELEASING:
            self.arm(slot, planned, **extra)

        def named(r: ShotResult) -> None:  # the camera named the image: never lose it
            self.put(ShotRow(slot, ROW_TAKEN, planned, r.actual, r.handle, r.filename, r.size, extra=extra or None))

        r = await take_shot(self.ctx, f"job{self.id}:{slot}", dir_, not self.options.get("delete_after"), named)
        if r.state == NOT_TAKEN:
            self.store.drop_shot(self.id, slot)
            self.shots.pop(slot, None)
            return r
        if r.state == SAVED:
            self.put(
                ShotRow(
                    slot,
                    ROW_SAVED,
                    planned,
                    r.actual,
                    r.handle,
                    r.filename,
                    r.size,
                    r.path,
                    extra={**extra, **({"deleted": True} if r.deleted else {})} or None,
                )
            )
            self.publish("shot", shot=self.shots[slot].as_dict())
        elif r.state == TAKEN:
            why = f"not saved yet: {r.error.message}" if r.error is not None else "not saved yet"
            self.put(
                ShotRow(slot, ROW_TAKEN, planned, r.actual, r.handle, r.filename, r.size, why=why, extra=extra or None)
            )
            self.publish("shot", shot=self.shots[slot].as_dict())
        else:
            msg = r.error.message if r.error is not None else "the camera named no image"
            self.miss(
                slot,
                planned,
                f"the release went out but no image came back ({msg}); if the camera took it, it is on its card",
                **extra,
            )
        return r

    async def fetch_pending(self) -> None:
        """Fetch the images the camera took but the job has not saved yet (a link or the
        daemon lost in between): by handle, checked to be the same image (name and size),
        else looked up by name and size (handles may change when a camera restarts); an
        image that is not there any more is a missed slot."""
        pending = [s for s in self.shots.values() if s.state == ROW_TAKEN]
        if not pending or not self.ctx.link.connected:
            return
        listing: list[Any] | None = None
        for shot in pending:
            self.checkpoint()
            try:
                handle = await self._find(shot, listing)
                if handle is None and listing is None:
                    listing = await self.on_camera("objects", lambda cam: cam.objects(), 4)
                    handle = await self._find(shot, listing)
            except BusError as exc:
                if exc.code in LINK_CODES:
                    return  # later, when the camera is back
                raise
            if handle is None:
                self.miss(
                    shot.slot,
                    shot.planned,
                    f"its image ({shot.filename}, handle 0x{shot.handle or 0:08X}) is not on the camera any more",
                    **(shot.extra or {}),
                )
                continue
            await self._fetch(shot, handle)

    async def _find(self, shot: ShotRow, listing: list[Any] | None) -> int | None:
        if listing is None:
            if shot.handle is None:
                return None
            handle = shot.handle
            try:
                entry = await self.on_camera("object_info", lambda cam: cam.object_info(handle))
            except Exception as exc:
                if to_bus_error(exc).code in LINK_CODES:
                    raise to_bus_error(exc) from None
                return None
            return (
                handle if entry.filename == shot.filename and (shot.size is None or entry.size == shot.size) else None
            )
        for o in listing:
            if not o.is_folder and o.filename == shot.filename and (shot.size is None or o.size == shot.size):
                return int(o.handle)
        return None

    async def _fetch(self, shot: ShotRow, handle: int) -> None:
        dir_ = self.options.get("dir")
        if not dir_:
            self.put(
                ShotRow(
                    shot.slot, ROW_SAVED, shot.planned, shot.actual, handle, shot.filename, shot.size, extra=shot.extra
                )
            )
            return
        request = Request(f"job{self.id}:{shot.slot}", b"", Control())
        try:
            got = await download(self.ctx, {"handle": handle, "offset": 0, "dir": dir_}, request)
            deleted = False
            if self.options.get("delete_after"):
                await self.on_camera("delete", lambda cam: cam.delete(handle))
                deleted = True
        except Exception as exc:
            err = to_bus_error(exc)
            if err.code in LINK_CODES:
                return  # later
            self.miss(
                shot.slot,
                shot.planned,
                f"its image could not be saved: {err.code.value}: {err.message}",
                **(shot.extra or {}),
            )
            return
        extra = {**(shot.extra or {}), "fetched": True, **({"deleted": True} if deleted else {})}
        self.put(
            ShotRow(
                shot.slot,
                ROW_SAVED,
                shot.planned,
                shot.actual,
                handle,
                shot.filename,
                got.get("size"),
                got.get("path"),
                extra=extra,
            )
        )
        self.publish("shot", shot=self.shots[shot.slot].as_dict())

    async def collect(self) -> None:
        """Images the camera took but the job could not save yet, fetched now: waiting for
        a camera that is away up to ``wait`` seconds (what is still on it then is said when
        the job ends)."""
        until = time.time() + float(self.options.get("wait") or 60.0)
        while self.counts()[1] and not self.stopped:
            if not await self.wait_camera(until):
                return
            await self.fetch_pending()
            if self.counts()[1]:
                await self.pause(0.2)

    # -- settings ----------------------------------------------------------------------------

    async def set_value(self, prop: str | int, value: Any) -> dict[str, Any]:
        """Set a property for the job (shown on ``state.<name>`` like any change)."""
        pv = await self.patiently("set", lambda cam: cam.set(prop, value))
        self.ctx.link.update_prop(pv)
        return prop_dict(pv)

    async def restore_settings(self) -> bool:
        """Put back what the job changed (its ``restore`` list): True when done (or there
        was nothing), False when the camera is away (the engine does it when it returns)."""
        restore = self.row.restore
        if not restore:
            return True
        link = self.ctx.link
        for _ in range(3):
            if not link.connected:
                return False
            try:
                for prop, value in restore:
                    pv = await self.on_camera("set", lambda cam: cam.set(prop, value))  # noqa: B023  # call() runs it in this iteration
                    link.update_prop(pv)
            except Exception as exc:
                err = to_bus_error(exc)
                log.warning("job %d: putting settings back failed: %s: %s", self.id, err.code.value, err.message)
                if err.code in (*LINK_CODES, ErrorCode.CAMERA_BUSY):
                    await asyncio.sleep(0.3)
                    continue
                # the camera will not take it (its mode changed?): said in the log, not retried
            else:
                log.info("job %d: settings put back: %s", self.id, ", ".join(f"{p} = {v}" for p, v in restore))
                self.publish("restored", settings=restore)
            self.row.restore = []
            self.store.set_restore(self.id, [])
            return True
        return False


def percentile(sorted_values: list[float], q: float) -> float:
    """The ``q`` quantile of sorted values (nearest rank, interpolated)."""
    if not sorted_values:
        return 0.0
    pos = q * (len(sorted_values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)
