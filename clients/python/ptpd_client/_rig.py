"""A rig: many daemons (one per camera, on this host or others) driven as one.

::

    async with Rig.from_file("rig.toml") as rig:
        print(await rig.status())                  # {name: Outcome(CameraStatus)}
        await rig.set("iso", "400")
        shot = await rig.fire(lead=0.5)            # every camera released at one moment
        print(shot.skew)                           # max - min of the release times, s

Every call runs on all cameras at once and answers per camera (:class:`Outcome`): a
camera that fails (gone, refusing, slow) never blocks the others, and says why.

Firing at a deadline, not at once (:meth:`Rig.fire`): the rig learns each daemon's clock
offset (:mod:`._clock`), picks a moment ``lead`` seconds ahead in its own clock, and sends
every daemon ``capture`` with ``at``: that moment in the daemon's own clock. Each daemon
releases from its own event loop and reports when its release went on the wire; the rig
puts those times back in its clock (:class:`Release`) and the spread of them is the
shot's :attr:`RigShot.skew`.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ._async import AsyncClient
from ._clock import ROUNDS, ClockOffset, measure
from ._errors import ClientError, CommandFailed, DaemonUnavailable, RequestTimeout
from ._rigfile import RigCamera, load_rig

T = TypeVar("T")

#: seconds ahead of now that :meth:`Rig.fire` releases by default
LEAD = 0.5
#: the settings :meth:`Rig.fire` records with each shot: name in the record -> property
SETTINGS = {"iso": "iso", "shutter": "exposure", "aperture": "fnumber"}


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """One camera's answer: ``value``, or ``error`` (one line) and its ``code`` (the bus
    error code, or ``unreachable``/``timeout``)."""

    value: T | None = None
    error: str | None = None
    code: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def describe_failure(exc: BaseException) -> tuple[str, str]:
    """``(code, one line)`` for a failure on one camera."""
    if isinstance(exc, CommandFailed):
        return exc.code_name, exc.message
    if isinstance(exc, DaemonUnavailable):
        return "unreachable", str(exc)
    if isinstance(exc, RequestTimeout):
        return "timeout", str(exc)
    if isinstance(exc, ClientError):
        return "client", str(exc)
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "timeout", "no answer in time"
    return "internal", f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True, slots=True)
class CameraStatus:
    """One row of :meth:`Rig.status`."""

    connection: str
    detail: str = ""
    vendor: str = ""
    model: str = ""
    battery: str | None = None  #: the battery property's label ("80", "3"), None: not known
    shots_left: int | None = None  #: as the camera counts them (``storage``), None: not known


@dataclass(slots=True)
class Release:
    """One camera's part of a :class:`RigShot`. Times are in the rig's clock
    (``time.monotonic()`` of this process) unless said otherwise."""

    camera: str
    planned: float | None = None  #: the moment it was to release
    released: float | None = None  #: when its release went on the wire (its daemon's report)
    late: float | None = None  #: released - planned, read on the daemon's own clock, s
    offset: ClockOffset | None = None
    shot: Any = None  #: the :class:`~ptpd_client.Shot` (handle, filename, size, preview)
    settings: dict[str, str | None] = field(default_factory=dict)
    error: str | None = None
    code: str | None = None
    #: images the camera holds from this shot although it failed (to download later)
    handles: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(slots=True)
class RigShot:
    """Every camera's release of one shot."""

    planned: float  #: the rig's clock
    releases: dict[str, Release]

    @property
    def released(self) -> list[float]:
        return [r.released for r in self.releases.values() if r.released is not None]

    @property
    def skew(self) -> float | None:
        """The spread of the release times (max - min), seconds; None when no camera released."""
        times = self.released
        return max(times) - min(times) if times else None


class Rig:
    """Many daemons, one per camera, driven together (see the module)."""

    def __init__(self, cameras: Iterable[RigCamera], *, timeout: float = 10.0, context: Any = None) -> None:
        import zmq.asyncio

        self.cameras = {c.name: c for c in cameras}
        self.timeout = timeout
        self._own_context = context is None
        self._context = context or zmq.asyncio.Context()
        self._clients: dict[str, AsyncClient] = {}
        #: the offsets the last :meth:`sync` found
        self.offsets: dict[str, ClockOffset] = {}

    @classmethod
    def from_file(
        cls, path: str | os.PathLike[str], cameras: Iterable[str] = (), groups: Iterable[str] = (), **kw: Any
    ) -> Rig:
        """The cameras of a rig file (all, or those named and those of the groups named)."""
        rig = load_rig(path)
        kw.setdefault("timeout", rig.timeout)
        return cls(rig.select(tuple(cameras), tuple(groups)), **kw)

    @property
    def names(self) -> list[str]:
        return list(self.cameras)

    def client(self, name: str) -> AsyncClient:
        """The client of camera ``name``'s daemon (made on first use)."""
        c = self._clients.get(name)
        if c is None:
            cam = self.cameras[name]
            c = AsyncClient(
                cam.command,
                cam.event,
                cam.liveview,
                timeout=self.timeout,
                context=self._context,
                curve_server_key=cam.server_key,
                curve_client_key=cam.client_key,
            )
            self._clients[name] = c
        return c

    async def __aenter__(self) -> Rig:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every client. Idempotent."""
        clients, self._clients = list(self._clients.values()), {}
        await asyncio.gather(*(c.aclose() for c in clients), return_exceptions=True)
        if self._own_context:
            self._context.term()
            self._own_context = False

    # -- on every camera ---------------------------------------------------------------------

    async def each(
        self, fn: Callable[[str, AsyncClient], Awaitable[T]], names: Iterable[str] | None = None
    ) -> dict[str, Outcome[T]]:
        """``fn(name, client)`` on every camera (or those of ``names``) at once; each
        camera's :class:`Outcome`, in rig order."""
        chosen = list(self.cameras) if names is None else [n for n in self.cameras if n in set(names)]

        async def one(name: str) -> Outcome[T]:
            try:
                return Outcome(await fn(name, self.client(name)))
            except Exception as exc:  # one camera's failure is its own row, never the rig's
                code, text = describe_failure(exc)
                return Outcome(None, text, code)

        results = await asyncio.gather(*(one(n) for n in chosen))
        return dict(zip(chosen, results))

    async def status(self) -> dict[str, Outcome[CameraStatus]]:
        """Every camera's connection, model, battery and shots left."""

        async def one(name: str, c: AsyncClient) -> CameraStatus:
            snap = await c.snapshot()
            st = snap.status
            battery = _label(snap.state.get("battery")) if snap.state else None
            shots = None
            if st.connection == "connected":
                got = await asyncio.gather(
                    c.get("battery") if battery is None else _none(), c.storage(), return_exceptions=True
                )
                if battery is None and not isinstance(got[0], BaseException) and got[0] is not None:
                    battery = got[0].label
                if not isinstance(got[1], BaseException):
                    shots = got[1].shots_left
            detail = st.raw.get("detail", "") if isinstance(st.raw, dict) else ""
            return CameraStatus(st.connection, str(detail or ""), st.vendor, st.model, battery, shots)

        return await self.each(one)

    async def set(self, prop: str | int, value: str | int) -> dict[str, Outcome[Any]]:
        """Set ``prop`` on every camera; each camera's value now in force (a
        :class:`~ptpd_client.PropValue`) or why not."""
        return await self.each(lambda name, c: c.set(prop, value))

    async def sync(self, rounds: int = ROUNDS, names: Iterable[str] | None = None) -> dict[str, Outcome[ClockOffset]]:
        """Learn every daemon's clock offset (:mod:`._clock`). The cameras are asked one
        after the other: pings in flight to many daemons at once would wait on each
        other here and blur the round trips the estimate rests on."""
        out: dict[str, Outcome[ClockOffset]] = {}
        for name in self.cameras if names is None else names:
            try:
                off = await measure(self.client(name), rounds, timeout=min(self.timeout, 5.0))
                self.offsets[name] = off
                out[name] = Outcome(off)
            except Exception as exc:
                self.offsets.pop(name, None)
                code, text = describe_failure(exc)
                out[name] = Outcome(None, text, code)
        return out

    async def settings(self, names: Iterable[str] | None = None) -> dict[str, dict[str, str | None]]:
        """ISO, shutter and aperture of every camera, as labels (None where a camera does
        not say): the daemon's cached state, the camera asked for what it lacks."""

        async def one(name: str, c: AsyncClient) -> dict[str, str | None]:
            snap = await c.snapshot()
            out: dict[str, str | None] = {}
            for key, prop in SETTINGS.items():
                label = _label((snap.state or {}).get(prop))
                if label is None:
                    try:
                        label = (await c.get(prop)).label
                    except ClientError:
                        label = None
                out[key] = label
            return out

        got = await self.each(one, names)
        return {n: (o.value if o.value is not None else dict.fromkeys(SETTINGS)) for n, o in got.items()}

    async def fire(
        self, *, lead: float = LEAD, preview: bool = True, rounds: int = ROUNDS, names: Iterable[str] | None = None
    ) -> RigShot:
        """Release every camera (or those of ``names``) at one moment, ``lead`` seconds from
        now; the images stay on the cameras (their handles in each :class:`Release`'s
        ``shot``; ``preview`` brings the preview a camera offers, the only image of a body
        that names none). Offsets are measured first, settings read; a camera whose clock
        cannot be read is not fired and says why."""
        chosen = list(self.cameras) if names is None else [n for n in self.cameras if n in set(names)]
        offsets = await self.sync(rounds, chosen)
        settings = await self.settings([n for n in chosen if offsets[n].ok])
        planned = time.monotonic() + lead
        releases = {n: Release(n, settings=settings.get(n, {})) for n in chosen}
        for n in chosen:
            if not offsets[n].ok:
                releases[n].error, releases[n].code = f"clock not known: {offsets[n].error}", offsets[n].code

        async def one(name: str, c: AsyncClient) -> None:
            r = releases[name]
            off = offsets[name].value
            assert off is not None
            r.offset, r.planned = off, planned
            at = off.theirs(planned)
            try:
                result = await c.capture(1, preview=preview, at=at, timeout=lead + self.timeout + 5.0)
            except CommandFailed as exc:
                _failed(r, exc, off, at)
                return
            except ClientError as exc:
                r.code, r.error = describe_failure(exc)
                if isinstance(exc, RequestTimeout) and exc.started is False and "at" in str(exc):
                    r.error = f"the request arrived after its release time (a longer lead is needed): {exc}"
                return
            shot = result.shots[0] if result.shots else None
            r.shot = shot
            if shot is None or shot.released is None:
                r.error, r.code = "the daemon did not say when it released", "internal"
                return
            r.released = off.ours(shot.released)
            r.late = shot.released - at

        await self.each(one, [n for n in chosen if offsets[n].ok])
        return RigShot(planned, releases)


def _failed(r: Release, exc: CommandFailed, off: ClockOffset, at: float) -> None:
    """A capture that answered an error: the shot may still have been released (a
    download that failed leaves the image on the camera, named in the error)."""
    r.code, r.error = exc.code_name, exc.message
    d = exc.details
    handles = d.get("handles") if isinstance(d, dict) else None
    r.handles = tuple(h for h in handles or () if isinstance(h, int))
    shots = d.get("shots") if isinstance(d, dict) else None
    if shots and isinstance(shots[0], dict) and isinstance(shots[0].get("released"), (int, float)):
        released = float(shots[0]["released"])
        r.released, r.late = off.ours(released), released - at


def _label(entry: Any) -> str | None:
    if isinstance(entry, dict):
        label = entry.get("label")
        return str(label) if label not in (None, "") else None
    label = getattr(entry, "label", None)
    return str(label) if label not in (None, "") else None


async def _none() -> None:
    return None
