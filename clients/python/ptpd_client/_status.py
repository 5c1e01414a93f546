"""Daemon-level results: ping, version, status, snapshot, help."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._models import _build, _Model, _raw
from ._props import PropValue


@dataclass(frozen=True, slots=True)
class Pong(_Model):
    """Reply of ``ping``."""

    pong: bool = True
    time: float = 0.0
    #: the daemon's monotonic clock (capture's ``at``, a shot's ``released``); None from
    #: a daemon older than it
    clock: float | None = None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True, slots=True)
class Version(_Model):
    """Reply of ``version``: daemon version, bus protocol version, its endpoints."""

    ptpd: str = ""
    protocol: int = 0
    endpoints: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True, slots=True)
class LiveViewStatus(_Model):
    """The live-view part of ``status``."""

    on: bool = False
    fps: float = 0.0
    subscribers: int = 0
    #: why the camera cannot stream, once the daemon has tried (``None``: it can, or untried)
    unsupported: str | None = None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True, slots=True)
class Status(_Model):
    """Reply of ``status`` (also the heartbeat's data)."""

    connection: str = ""
    vendor: str = ""
    model: str = ""
    queue: int = 0
    subscribers: int = 0
    liveview: LiveViewStatus = field(default_factory=LiveViewStatus)
    seq: int = 0
    uptime: float = 0.0
    #: the control lease: ``{holder, job, since, expires_in}``, or ``None`` when free
    lease: dict[str, Any] | None = None
    #: jobs running in the daemon
    jobs: int = 0
    raw: dict[str, Any] = _raw()

    @classmethod
    def from_dict(cls, data: Any) -> Status:
        lv = data.get("liveview") if isinstance(data, dict) else None
        return _build(cls, data, liveview=_build(LiveViewStatus, lv if isinstance(lv, dict) else {}))


@dataclass(frozen=True, slots=True)
class CommandHelp(_Model):
    """One entry of ``help``."""

    name: str = ""
    summary: str = ""
    args: tuple[Any, ...] = ()
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True, slots=True)
class Snapshot(_Model):
    """Reply of ``snapshot``: everything the daemon caches and the event ``seq`` it reflects.

    In an event stream a snapshot also marks a resynchronisation: ``gap`` is
    ``(expected seq, received seq)`` when it was taken because events were lost.
    """

    seq: int = 0
    status: Status = field(default_factory=Status)
    info: dict[str, Any] = field(default_factory=dict)
    state: dict[str, PropValue] = field(default_factory=dict)
    gap: tuple[int, int] | None = None
    raw: dict[str, Any] = _raw()

    @classmethod
    def from_dict(cls, data: Any) -> Snapshot:
        data = data if isinstance(data, dict) else {}
        state = data.get("state") or {}
        if isinstance(state, list):  # tolerate a list of property maps
            state = {p.get("name", str(i)): p for i, p in enumerate(state) if isinstance(p, dict)}
        return _build(
            cls,
            data,
            status=Status.from_dict(data.get("status") or {}),
            info=data.get("info") or {},
            state={str(k): PropValue.from_dict(v, name=str(k)) for k, v in state.items()},
        )


def status_from(data: Any) -> Status:
    return Status.from_dict(data)


def help_from(data: Any) -> list[CommandHelp]:
    if isinstance(data, dict):
        data = data.get("commands", [])
    return [_build(CommandHelp, c) for c in data or ()]
