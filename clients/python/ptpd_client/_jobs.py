"""Jobs (``client.jobs``) and the control lease (``client.lock()``): results and the
methods both clients share.

A job runs in the daemon (``job.start``): it goes on when this client closes, waits for
a camera that went away, and is resumed when the daemon starts again. ``client.jobs``
starts, lists, stops and follows jobs; :class:`Job` is a job's summary (and, from
``get``/``stop``, its shots or files).
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from ._models import _build, _Model, _raw

#: the job states that mean it ended
ENDED = ("done", "stopped", "failed")
#: seconds without news after which a watch asks the daemon how the job stands (an event
#: published while the subscription was taking hold is not lost that way)
RECHECK = 1.0


@dataclass(frozen=True, slots=True)
class Job(_Model):
    """A job as the daemon reports it (``job.start``, ``job.list``, ``job.get``, ``job.<id>``).

    ``done`` counts shots delivered (files, for ``tether``), ``missed`` missed slots (failed
    files), ``pending`` shots the camera took that are not saved yet. ``drift`` is
    ``{n, last, mean, p99, max}``: actual minus planned release times, in seconds.
    ``shots`` (or ``files``) come with ``get`` and ``stop``.
    """

    id: int = 0
    kind: str = ""
    state: str = ""
    detail: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    created: float = 0.0
    ended: float | None = None
    done: int = 0
    total: int | None = None
    pending: int = 0
    missed: int = 0
    next_at: float | None = None
    drift: dict[str, Any] | None = None
    lease: bool = False
    shots: tuple[dict[str, Any], ...] = ()
    files: tuple[dict[str, Any], ...] = ()
    raw: dict[str, Any] = _raw()

    @property
    def running(self) -> bool:
        return self.state == "running"

    def progress(self) -> str:
        """One line: ``timelapse 3: 12/360 shots, 1 missed, next 10:42:07 (running)``."""
        of = f"/{self.total}" if self.total is not None else ""
        what = "files" if self.kind == "tether" else "shots"
        parts = [f"{self.done}{of} {what}"]
        if self.missed:
            parts.append(f"{self.missed} {'failed' if self.kind == 'tether' else 'missed'}")
        if self.pending:
            parts.append(f"{self.pending} to fetch")
        if self.next_at and self.running:
            parts.append("next " + time.strftime("%H:%M:%S", time.localtime(self.next_at)))
        if self.drift:
            parts.append(f"drift p99 {self.drift['p99'] * 1000:.0f} ms")
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.kind} {self.id}: {', '.join(parts)} ({self.state}{detail})"


@dataclass(frozen=True, slots=True)
class JobUpdate:
    """One report on a watched job: what happened (``event``: ``current`` for the state
    it was found in, then ``shot``, ``missed``, ``file``, ``hook``, ``status``, ``ended``,
    ...), the job as it stands after it, and the event's own fields (``data``)."""

    event: str
    job: Job
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Lease(_Model):
    """Reply of ``lock``: the lease token and who holds it."""

    lease: str = ""
    holder: str = ""
    ttl: float | None = None
    expires_in: float | None = None
    raw: dict[str, Any] = _raw()


def job_from(data: Any) -> Job:
    return _build(Job, data)


def jobs_from(data: Any) -> list[Job]:
    items = data.get("jobs", []) if isinstance(data, dict) else []
    return [job_from(j) for j in items]


def lease_from(data: Any) -> Lease:
    return _build(Lease, data)


def update_of(topic: str, data: dict[str, Any]) -> JobUpdate:
    return JobUpdate(str(data.get("event") or "status"), job_from(data), data)


def _when(value: Any) -> Any:
    """A time option as the daemon takes it: a datetime becomes seconds since the epoch."""
    return value.timestamp() if isinstance(value, _dt.datetime) else value


class JobsBase:
    """The job commands; each returns what the client's ``request`` returns (the result,
    or with the asyncio client an awaitable of it)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def start(self, kind: str, **options: Any) -> Any:
        """Start a job of ``kind`` (``timelapse``, ``bracket``, ``focus-stack``,
        ``tether``) with its options (docs/bus.md § Jobs); its :class:`Job`."""
        opts = {k: _when(v) for k, v in options.items() if v is not None}
        return self._client.request("job.start", {"kind": kind, "options": opts or None})

    def timelapse(
        self,
        interval: float,
        *,
        count: int | None = None,
        duration: float | None = None,
        dir: str | None = None,
        delete_after: bool | None = None,
        start: Any = None,
        stop: Any = None,
        **more: Any,
    ) -> Any:
        """A shot every ``interval`` seconds: ``count`` shots, for ``duration`` seconds or
        until ``stop`` (a datetime or seconds since the epoch); saved under ``dir`` on the
        daemon's machine, deleted from the card once saved with ``delete_after``."""
        return self.start(
            "timelapse",
            interval=interval,
            count=count,
            duration=duration,
            dir=dir,
            delete_after=delete_after,
            start=start,
            stop=stop,
            **more,
        )

    def bracket(
        self, steps: int = 5, ev: float = 1.0, *, prop: str | None = None, dir: str | None = None, **more: Any
    ) -> Any:
        """``steps`` shots stepping ``prop`` (``exp-bias``, or ``exposure``) by ``ev``
        stops around its value, which is put back afterwards."""
        return self.start("bracket", steps=steps, ev=ev, prop=prop, dir=dir, **more)

    def focus_stack(self, steps: int = 10, *, step: int | None = None, dir: str | None = None, **more: Any) -> Any:
        """``steps`` frames, the focus moved ``step`` drive steps farther before each."""
        return self.start("focus-stack", steps=steps, step=step, dir=dir, **more)

    def tether(self, dir: str, *, hook: str | None = None, **more: Any) -> Any:
        """Download every picture the camera adds into ``dir``; ``hook`` runs per file."""
        return self.start("tether", dir=dir, hook=hook, **more)

    def list(self, all: bool = False) -> Any:
        """Running jobs and those ended lately (``all``: every one)."""
        return self._client.request("job.list", {"all": all or None})

    def get(self, job_id: int) -> Any:
        """One job with its shots (or files)."""
        return self._client.request("job.get", {"id": job_id})

    def stop(self, job_id: int, *, timeout: float | None = 35.0) -> Any:
        """Stop a job after its shot in progress; the job as it ended."""
        return self._client.request("job.stop", {"id": job_id}, timeout=timeout)


class Jobs(JobsBase):
    """``Client.jobs``: the daemon's jobs."""

    def watch(self, job_id: int, *, timeout: float | None = None) -> Iterator[JobUpdate]:
        """Reports on job ``job_id`` as they come: first the job as it is (``current``),
        then one per event, the last one ``ended`` (not if it ended already). ``timeout``:
        the most to wait for the next one (:class:`RequestTimeout`)."""
        from ._errors import RequestTimeout

        topic = f"job.{job_id}"
        client = self._client
        with client.events(["job."], snapshot=False) as stream:
            job = self.get(job_id)
            yield JobUpdate("current", job)
            if not job.running:
                return
            quiet_since = time.monotonic()
            while True:
                try:
                    ev = stream.get(RECHECK)
                except RequestTimeout:
                    if timeout is not None and time.monotonic() - quiet_since > timeout:
                        raise RequestTimeout(f"job {job_id}: no news within {timeout:g} s", timeout) from None
                    job = self.get(job_id)
                    if not job.running:  # its end was published before we listened
                        yield JobUpdate("ended", job)
                        return
                    continue
                if ev.topic != topic:
                    continue
                quiet_since = time.monotonic()
                update = update_of(ev.topic, ev.data)
                yield update
                if update.event == "ended":
                    return

    def wait(self, job_id: int, *, timeout: float | None = None) -> Job:
        """Wait until job ``job_id`` ended; the job as it ended (with its shots)."""
        for _ in self.watch(job_id, timeout=timeout):
            pass
        job: Job = self.get(job_id)
        return job


class AsyncJobs(JobsBase):
    """``AsyncClient.jobs``: the daemon's jobs; every method is awaited."""

    async def watch(self, job_id: int, *, timeout: float | None = None) -> AsyncIterator[JobUpdate]:
        """Like :meth:`Jobs.watch`: ``async for update in client.jobs.watch(id)``."""
        from ._errors import RequestTimeout

        topic = f"job.{job_id}"
        stream = await self._client.events(["job."], snapshot=False)
        try:
            job = await self.get(job_id)
            yield JobUpdate("current", job)
            if not job.running:
                return
            quiet_since = time.monotonic()
            while True:
                try:
                    ev = await stream.get(RECHECK)
                except RequestTimeout:
                    if timeout is not None and time.monotonic() - quiet_since > timeout:
                        raise RequestTimeout(f"job {job_id}: no news within {timeout:g} s", timeout) from None
                    job = await self.get(job_id)
                    if not job.running:
                        yield JobUpdate("ended", job)
                        return
                    continue
                if ev.topic != topic:
                    continue
                quiet_since = time.monotonic()
                update = update_of(ev.topic, ev.data)
                yield update
                if update.event == "ended":
                    return
        finally:
            await stream.aclose()

    async def wait(self, job_id: int, *, timeout: float | None = None) -> Job:
        """Like :meth:`Jobs.wait`."""
        async for _ in self.watch(job_id, timeout=timeout):
            pass
        job: Job = await self.get(job_id)
        return job
