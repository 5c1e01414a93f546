"""``timelapse``: a shot every ``interval`` seconds, on a fixed grid of planned times.

Slot ``k`` is planned at ``start + k * interval`` (wall clock), whatever happened to the
slots before it, so the series keeps its rhythm across a slow shot, a camera that went
away or a daemon restart, and drift does not add up. A shot starts on time; one that
cannot start within ``late`` seconds of its slot (the camera away, the shot before still
running, the daemon not running) is a missed slot, recorded with why, and the job goes on
with the next one: it never takes two pictures for one slot nor one for a slot long past.

It ends after ``count`` shots delivered (missed slots do not count: the series gets its
length), at ``stop``, or after ``duration`` seconds, whichever comes first; without any
of them it runs until ``job.stop``. With ``dir`` each image is saved there as ``capture``
saves them (atomic, verified), and with ``delete_after`` removed from the card once saved.
While it waits for a slot it keeps the camera awake (a cheap request every ``awake``
seconds of idleness), so a body's power saving does not end the session between shots.
Each shot's actual minus planned time is its drift (``drift`` in the job's summary).
"""

from __future__ import annotations

import time
from typing import Any

from ptpd.bus import BusError, ErrorCode
from ptpd.daemon.context import Request
from ptpd.daemon.jobs.job import LINK_CODES, SHOT_OPTIONS, WAIT_OPTION, Job, Opt, between
from ptpd.daemon.jobs.shooting import NOT_TAKEN

#: the latest a shot may start after its planned time, at most (``late`` defaults to half
#: the interval, up to this)
MAX_LATE = 30.0
#: the next shot this close (seconds): no keep-awake request that could hold it up (at
#: most; half the ``awake`` period when that is shorter, so the camera is still kept awake)
AWAKE_QUIET = 1.0
#: seconds before its time a slot is written down as about to be released (the write,
#: an fsync, is then not between the time and the release)
ARM_AHEAD = 0.25


class Timelapse(Job):
    """A shot per slot of a fixed grid; see the module docstring."""

    kind = "timelapse"
    OPTIONS = {
        "interval": Opt("float", None, between(0.2, 7 * 86400), required=True),
        "count": Opt("int", None, between(1, 10_000_000)),
        "duration": Opt("float", None, between(0.001, 366 * 86400)),
        "start": Opt("time"),
        "stop": Opt("time"),
        "late": Opt("float", None, between(0, 3600)),
        "awake": Opt("float", 10.0, between(0, 86400)),
        **SHOT_OPTIONS,
        **WAIT_OPTION,
    }

    @classmethod
    def check(cls, options: dict[str, Any] | None) -> dict[str, Any]:
        out = super().check(options)
        if out["start"] is not None and out["stop"] is not None and out["stop"] <= out["start"]:
            raise BusError(ErrorCode.BAD_REQUEST, "timelapse: stop must come after start")
        if out["stop"] is not None and out["stop"] <= time.time():
            raise BusError(ErrorCode.BAD_REQUEST, "timelapse: stop is in the past")
        return out

    @classmethod
    async def prepare(
        cls, engine: Any, options: dict[str, Any], request: Request
    ) -> tuple[dict[str, Any], list[list[Any]]]:
        options, restore = await super().prepare(engine, options, request)
        # the grid is fixed now: a resumed job plans from the same start
        options["start"] = options["start"] if options["start"] is not None else time.time()
        if options["late"] is None:
            options["late"] = min(options["interval"] / 2, MAX_LATE)
        return options, restore

    @property
    def total(self) -> int | None:
        return self.options.get("count")

    def planned(self, slot: int) -> float:
        return float(self.options["start"]) + slot * float(self.options["interval"])

    def end(self) -> float | None:
        """Wall time after which no slot is planned (``stop``, ``start + duration``)."""
        ends = [e for e in (self.options.get("stop"),) if e is not None]
        if self.options.get("duration") is not None:
            ends.append(float(self.options["start"]) + float(self.options["duration"]))
        return min(ends) if ends else None

    async def run(self) -> None:
        self.settle_interrupted()
        count, late, end = self.options.get("count"), float(self.options["late"]), self.end()
        link = self.ctx.link
        slot = max(self.shots, default=-1) + 1
        why_not: str | None = None  # why the last attempt took nothing
        while True:
            self.checkpoint()
            if self.stop_asked:
                return
            done, pending, _ = self.counts()
            if count is not None and done >= count:
                return
            if pending and count is not None and done + pending >= count:
                await self._last_images()
                continue
            planned = self.planned(slot)
            if end is not None and planned > end:
                if pending:
                    await self._last_images()
                return
            if time.time() - planned > late:
                self.miss(slot, planned, why_not or self._why_late(planned))
                slot, why_not = slot + 1, None
                continue
            if pending and link.connected and planned - time.time() > 2.0:
                await self.fetch_pending()
                continue
            self.next_at = planned
            self.say(f"shot {slot + 1} at {time.strftime('%H:%M:%S', time.localtime(planned))}")
            await self._wait_for_slot(planned - ARM_AHEAD)
            self.checkpoint()
            if self.stop_asked:
                return
            if link.connected and slot not in self.shots:
                self.arm(slot, planned)
            await self._wait_for_slot(planned)
            self.checkpoint()
            if self.stop_asked:
                self._disarm(slot)
                return
            if not await self.wait_camera(planned + late):
                self._disarm(slot)
                if not link.connected:  # missed above, once too late, with why
                    why_not = f"the camera was not connected ({link.connection.value}{': ' + link.detail if link.detail else ''})"
                continue
            r = await self.shoot(slot, planned)
            self.checkpoint()
            if r.state == NOT_TAKEN:
                # the camera took nothing: try again while the slot is still on time
                err = r.error
                why_not = f"{err.code.value}: {err.message}" if err is not None else "the camera took nothing"
                if err is not None and err.code not in (*LINK_CODES, ErrorCode.CAMERA_BUSY):
                    self.miss(slot, planned, why_not)
                    slot, why_not = slot + 1, None
                else:
                    await self.pause(0.1)
                continue
            slot, why_not = slot + 1, None

    def _disarm(self, slot: int) -> None:
        """The armed slot was not released (a stop, the camera away)."""
        shot = self.shots.get(slot)
        if shot is not None and shot.state == "releasing":
            self.store.drop_shot(self.id, slot)
            del self.shots[slot]

    async def _wait_for_slot(self, planned: float) -> None:
        """Until ``planned``, keeping the camera awake."""
        link = self.ctx.link
        awake = float(self.options.get("awake") or 0)
        quiet = min(AWAKE_QUIET, awake / 2)
        while not self.stopped:
            left = planned - time.time()
            if left <= 0:
                return
            if awake and left > quiet and link.connected and link.idle >= awake:
                try:
                    await self.on_camera("keepalive", lambda cam: cam.keepalive())
                except Exception:
                    pass  # a broken link is rebuilt by the link; the slot waits for it
                continue
            step = left if not awake else min(left, max(0.02, awake - link.idle), max(0.02, left - quiet))
            await self.pause(step)

    async def _last_images(self) -> None:
        """Every slot is taken but some images are still on the camera: fetch them,
        waiting for the camera (``wait``); what cannot be fetched becomes a missed slot and
        the series goes on to get its length."""
        patience = float(self.options.get("wait") or 60.0)
        self.next_at = None
        self.say("fetching the images left on the camera")
        if await self.wait_camera(time.time() + patience):
            await self.fetch_pending()
        self.checkpoint()
        if self.stop_asked or not self.counts()[1]:
            return
        if self.ctx.link.connected:
            return  # it went again mid-way: the next round tries again
        for shot in [s for s in self.shots.values() if s.state == "taken"]:
            self.miss(
                shot.slot,
                shot.planned,
                f"its image stayed on the camera (handle 0x{shot.handle or 0:08X}): "
                f"the camera did not come back within {patience:g} s",
            )

    def _why_late(self, planned: float) -> str:
        link = self.ctx.link
        if planned < self.engine.started_at and self.row.created < self.engine.started_at:
            when = time.strftime("%H:%M:%S", time.localtime(self.engine.started_at))
            return f"the daemon was not running (it started again at {when})"
        if not link.connected:
            return f"the camera was not connected ({link.connection.value}{': ' + link.detail if link.detail else ''})"
        return "the shot before was still in progress"
