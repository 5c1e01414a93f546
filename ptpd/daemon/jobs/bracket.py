"""``bracket``: ``steps`` shots stepping exposure compensation (or shutter speed) around
the value in force, which is put back afterwards, also after a failure.

The plan is made when the job starts, from the property's description: the current
value, and for each step the allowed value nearest to it plus ``(i - (steps-1)/2) * ev``
stops (darkest first). A step the camera cannot reach (past the end of its range, or
finer than its own steps) is refused before anything changes. The job sets a step's
value right before its release (after a reconnect too: a reconnect may set the value a
client chose again). A dropped link is waited for (``wait`` seconds) and the bracket
goes on where it was; a released shot is never taken again.
"""

from __future__ import annotations

import math
from typing import Any

from ptpd.bus import BusError, ErrorCode
from ptpd.camera import PropertyDesc, parse_exp_bias, parse_exposure
from ptpd.daemon.context import Request, on_camera
from ptpd.daemon.jobs.job import LINK_CODES, SHOT_OPTIONS, WAIT_OPTION, Job, JobFailed, Opt, between
from ptpd.daemon.jobs.shooting import NOT_TAKEN

#: what a bracket may step, and how a value's label reads as stops (EV)
PROPS = ("exp-bias", "exposure")
#: a planned value may be this far (stops) from the step it stands for
TOLERANCE = 1 / 6


def stops(prop: str, label: str) -> float | None:
    """A value's place on the scale of stops: EV for ``exp-bias``, log2 of the time for
    ``exposure`` (one stop more is twice the light either way)."""
    if prop == "exp-bias":
        raw = parse_exp_bias(label)
        return None if raw is None else raw / 1000
    raw = parse_exposure(label)
    return None if raw is None or raw <= 0 else math.log2(raw / 10000)


def plan(prop: str, desc: PropertyDesc, steps: int, ev: float) -> list[list[Any]]:
    """``[[raw, label], ...]`` darkest first, or ``bad_request`` saying why not."""
    values = [(v, lbl, stops(prop, lbl)) for v, lbl in desc.allowed]
    if desc.form == "range" and desc.range is not None and prop == "exp-bias":
        lo, hi, step = desc.range
        values = [(v, f"{v / 1000:+g}", v / 1000) for v in range(lo, hi + 1, max(1, step))]
    scale = [(v, lbl, s) for v, lbl, s in values if s is not None]
    if not scale:
        raise BusError(ErrorCode.UNSUPPORTED, f"bracket: the camera lists no {prop} values to step through")
    here = stops(prop, desc.current.label)
    if here is None:
        raise BusError(ErrorCode.UNSUPPORTED, f"bracket: {prop} is {desc.current.label!r}, not a value to step from")
    out: list[list[Any]] = []
    for i in range(steps):
        want = here + (i - (steps - 1) / 2) * ev
        raw, label, got = min(scale, key=lambda x: abs(x[2] - want))
        if abs(got - want) > TOLERANCE:
            low, high = min(scale, key=lambda x: x[2]), max(scale, key=lambda x: x[2])
            where = (
                f"beyond the camera's {prop} ({low[1]} to {high[1]})"
                if not low[2] <= want <= high[2]
                else f"between the camera's {prop} values (nearest: {label})"
            )
            raise BusError(
                ErrorCode.BAD_REQUEST,
                f"bracket: {steps} steps of {ev:g} around {desc.current.label} need {want:+.2f} stops, {where}",
            )
        if out and out[-1][0] == raw:
            raise BusError(ErrorCode.BAD_REQUEST, f"bracket: steps of {ev:g} are finer than the camera's {prop} steps")
        out.append([raw, label])
    return out


class Bracket(Job):
    """See the module docstring."""

    kind = "bracket"
    OPTIONS = {
        "steps": Opt("int", 5, between(2, 99)),
        "ev": Opt("float", 1.0, between(0.1, 5)),
        "prop": Opt("str", "exp-bias", lambda v: None if v in PROPS else f"must be one of {', '.join(PROPS)}"),
        **SHOT_OPTIONS,
        **WAIT_OPTION,
    }

    @classmethod
    async def prepare(
        cls, engine: Any, options: dict[str, Any], request: Request
    ) -> tuple[dict[str, Any], list[list[Any]]]:
        options, _ = await super().prepare(engine, options, request)
        prop = options["prop"]
        desc = await on_camera(engine.ctx, request, "describe", lambda cam: cam.describe(prop))
        engine.ctx.link.update_prop(desc.current)
        options["plan"] = plan(prop, desc, options["steps"], options["ev"])
        options["from"] = desc.current.label
        return options, [[prop, desc.current.value]]

    @property
    def total(self) -> int | None:
        return len(self.options["plan"])

    async def run(self) -> None:
        self.settle_interrupted()
        prop = self.options["prop"]
        for i, (raw, label) in enumerate(self.options["plan"]):
            if i in self.shots:
                continue  # taken (or missed) before a restart
            while True:
                self.checkpoint()
                if self.stop_asked:
                    return
                self.say(f"step {i + 1} of {self.total}: {prop} {label}")
                await self.set_value(prop, raw)
                r = await self.shoot(i, value=label)
                self.checkpoint()
                if r.state != NOT_TAKEN:
                    break
                err = r.error
                if err is not None and err.code not in (*LINK_CODES, ErrorCode.CAMERA_BUSY):
                    raise JobFailed(f"step {i + 1} ({prop} {label}): {err.code.value}: {err.message}")
                await self.camera_back(f"step {i + 1}")  # then set again and release
        await self.collect()
