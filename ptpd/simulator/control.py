"""Fault control: how something outside drives a simulated camera's fault model.

The daemon's ``sim.fault`` command (``docs/bus.md``) and anything else that controls a
running simulator by name go through :func:`control`: an action name and a map of
options in, plain data out. The simulator checks its own arguments here, before anything
changes: an unknown action, an option the action does not take, or a value of the wrong
type or range is a :class:`ControlError` naming what is wrong, and the fault model is left
as it was. (Passed on unchecked, ``configure {drop_rate: "x"}`` would be taken and then
break every transaction that asks the model.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ptpd.simulator import faults as flt

__all__ = ["ACTIONS", "ControlError", "control"]


class ControlError(ValueError):
    """A control request the simulator refuses (unknown action or option, bad value)."""


Check = Callable[[str, Any], Any]


def _choice(enum: type[flt.DropPoint] | type[flt.Malformed]) -> Check:
    def check(name: str, value: Any) -> Any:
        try:
            return enum(value)
        except ValueError:
            known = ", ".join(m.value for m in enum)
            raise ValueError(f"{name} must be one of {known}, not {value!r}") from None

    return check


@dataclass(frozen=True, slots=True)
class Action:
    """One control action: the :class:`~.faults.Faults` method it calls and its options."""

    method: str
    options: Mapping[str, Check]


_SECONDS = flt.optional(flt.duration)

#: The actions, by name; every option is optional (the fault model has defaults).
ACTIONS: dict[str, Action] = {
    "configure": Action("configure", flt.SETTINGS),
    "clear": Action("clear", {}),
    "snapshot": Action("snapshot", {}),
    "drop_next": Action(
        "drop_next",
        {
            "point": flt.optional(_choice(flt.DropPoint)),
            "fraction": flt.optional(lambda name, value: flt.number(name, value, 0.0, 1.0)),
        },
    ),
    "stall_next": Action("stall_next", {"seconds": _SECONDS}),
    "slow_next": Action("slow_next", {"ms": _SECONDS}),
    "malformed_next": Action("malformed_next", {"kind": flt.optional(_choice(flt.Malformed))}),
    "busy_for": Action("busy_for", {"seconds": _SECONDS}),
    "refuse_next_inits": Action(
        "refuse_next_inits",
        {
            "count": lambda name, value: flt.integer(name, value, 0, 1_000_000),
            "reason": flt.optional(lambda name, value: flt.integer(name, value, 1)),
        },
    ),
    "sleep_now": Action("sleep_now", {"seconds": _SECONDS}),
}


def control(faults: flt.Faults, action: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Run ``action`` with ``options`` on ``faults``; ``{"action", "faults": settings and
    counters}`` as plain data (msgpack- and JSON-ready). Raises :class:`ControlError` and
    changes nothing when the request is not one the simulator takes."""
    spec = ACTIONS.get(action) if isinstance(action, str) else None
    if spec is None:
        raise ControlError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise ControlError(f"{action}: options must be a map, not {type(options).__name__}")
    unknown = [str(k) for k in options if k not in spec.options]
    if unknown:
        takes = ", ".join(spec.options) or "no options"
        raise ControlError(f"{action}: unknown option {', '.join(map(repr, unknown))} (takes {takes})")
    try:
        checked = {name: spec.options[name](name, value) for name, value in options.items()}
    except ValueError as exc:
        raise ControlError(f"{action}: {exc}") from None
    if action != "snapshot":
        getattr(faults, spec.method)(**checked)
    return {"action": action, "faults": faults.snapshot()}
