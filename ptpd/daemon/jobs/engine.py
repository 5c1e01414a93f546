"""The job engine: jobs started over the bus, run by the daemon, kept in the store.

A job belongs to the daemon, not to the client that started it: the client may leave,
the camera may go and come back (the job waits), and the daemon may be stopped or killed
(the job is resumed from the store when it starts again, the shots it took not taken
again). The engine starts each job as a task, takes the control lease for the kinds that
change settings or release the shutter (:mod:`ptpd.daemon.lease`), tells ``job.<id>``
about everything that happens, and when a job ends writes down how, gives the lease back
and puts back the settings it changed (later, when the camera returns, if it is away).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from ptpd import bus
from ptpd.bus import BusError, ErrorCode
from ptpd.daemon.context import Context, Request
from ptpd.daemon.jobs.bracket import Bracket
from ptpd.daemon.jobs.focus import FocusStack
from ptpd.daemon.jobs.job import Job, JobFailed
from ptpd.daemon.jobs.store import DONE, FAILED, RUNNING, STOPPED, JobRow, JobStore
from ptpd.daemon.jobs.tether import Tether
from ptpd.daemon.jobs.timelapse import Timelapse
from ptpd.daemon.lease import Leases, Locked

log = logging.getLogger(__name__)

#: the kinds of job, by name
KINDS: dict[str, type[Job]] = {cls.kind: cls for cls in (Timelapse, Bracket, FocusStack, Tether)}
#: ended jobs ``job.list`` shows besides the running ones (all of them with ``all``)
RECENT = 20
#: seconds the daemon stopping gives its jobs to reach a safe point before cancelling them
STOP_GRACE = 1.0
#: seconds ``job.stop`` waits for the job to end (its shot in progress, its settings back)
STOP_WAIT = 30.0


class JobEngine:
    """Every job of one daemon."""

    def __init__(self, ctx: Context, leases: Leases) -> None:
        self.ctx = ctx
        self.leases = leases
        self._store: JobStore | None = None
        self.running: dict[int, Job] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        #: the daemon is stopping: jobs end their tasks at their next safe point, and stay
        #: ``running`` in the store
        self.stopping = False
        #: wall time this daemon started (slots before it were missed for that reason)
        self.started_at = time.time()
        self._restoring: asyncio.Task[None] | None = None

    @property
    def store(self) -> JobStore:
        assert self._store is not None, "the job engine has not started"
        return self._store

    # -- daemon life ---------------------------------------------------------------------

    def start(self, state_dir: str) -> None:
        """Open the store and resume the jobs that were running."""
        self._store = JobStore(state_dir)
        for row in self.store.jobs(running_only=True):
            cls = KINDS.get(row.kind)
            if cls is None:
                self.store.end_job(row.id, FAILED, f"unknown kind {row.kind!r} (made by another version of ptpd?)")
                continue
            job = cls(self, row)
            if cls.takes_lease:
                self.leases.take_for_job(row.id, row.kind)
            log.info("job %d (%s) resumed", row.id, row.kind)
            self._spawn(job)
            self.publish(job, "resumed")

    def begin_stop(self) -> None:
        """The daemon is stopping: no new shot starts."""
        self.stopping = True
        for job in self.running.values():
            job.wake()

    async def stop(self) -> None:
        """End every job's task (they resume on the next start) and close the store."""
        self.begin_stop()
        tasks = list(self._tasks.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=STOP_GRACE)
            for t in pending:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._restoring is not None:
            self._restoring.cancel()
            await asyncio.gather(self._restoring, return_exceptions=True)
        if self._store is not None:
            self._store.close()
            self._store = None

    def on_event(self, topic: str, data: dict[str, Any]) -> None:
        """What the camera link publishes: connection changes wake waiting jobs (and put
        back settings owed to a returning camera); new objects go to tether jobs."""
        if topic == bus.Topic.CONNECTION:
            for job in self.running.values():
                job.wake()
            if data.get("state") == bus.ConnectionState.CONNECTED.value and not self.stopping:
                self._schedule_restores()
        elif topic == "event.object_added" and data.get("params"):
            for job in self.running.values():
                if isinstance(job, Tether):
                    job.object_added(int(data["params"][0]))

    # -- commands ------------------------------------------------------------------------

    async def start_job(self, kind: str, options: dict[str, Any] | None, request: Request) -> dict[str, Any]:
        """``job.start``: check, prepare (refusals before anything changes), store, run."""
        cls = KINDS.get(kind)
        if cls is None:
            raise BusError(ErrorCode.BAD_REQUEST, f"job.start: unknown kind {kind[:40]!r}; one of {', '.join(KINDS)}")
        if self.stopping:
            raise BusError(ErrorCode.NOT_CONNECTED, "the daemon is stopping")
        checked = cls.check(options)
        if cls.takes_lease:
            self.leases.check(request.identity, request.lease, f"job.start {kind}")
            await self._restores_now()  # an earlier job's settings back first
        checked, restore = await cls.prepare(self, checked, request)
        who = request.identity.hex()[:8] if request.identity else ""
        job_id = self.store.add_job(kind, checked, who, restore)
        if cls.takes_lease:
            try:
                self.leases.take_for_job(job_id, kind, request.identity, request.lease)
            except Locked:
                self.store.end_job(job_id, FAILED, "the camera was locked by another while the job was prepared")
                raise
        row = self.store.job(job_id)
        assert row is not None
        job = cls(self, row)
        log.info("job %d (%s) started: %s", job_id, kind, checked)
        self._spawn(job)
        self.publish(job, "started")
        return job.summary()

    def list(self, everything: bool = False) -> list[dict[str, Any]]:
        """``job.list``: running jobs, then the ones ended lately (all with ``everything``)."""
        return [self._view(row).summary() for row in self.store.jobs(limit=None if everything else RECENT)]

    def get(self, job_id: int) -> dict[str, Any]:
        """``job.get``: one job with its shots (or files)."""
        row = self.store.job(job_id)
        if row is None:
            raise BusError(ErrorCode.BAD_REQUEST, f"no job {job_id}")
        return self._view(row).details()

    async def stop_job(self, job_id: int) -> dict[str, Any]:
        """``job.stop``: the job ends after its shot in progress; its summary once ended."""
        job = self.running.get(job_id)
        if job is None:
            return self.get(job_id)  # ended already: as it ended
        job.stop_asked = True
        job.say("stopping after the shot in progress")
        job.wake()
        task = self._tasks.get(job_id)
        if task is not None:
            await asyncio.wait([task], timeout=STOP_WAIT)
        return self.get(job_id)

    def _view(self, row: JobRow) -> Job:
        running = self.running.get(row.id)
        if running is not None:
            return running
        cls = KINDS.get(row.kind)
        if cls is None:
            return Job(self, row)
        return cls(self, row)

    # -- one job's life --------------------------------------------------------------------

    def publish(self, job: Job, event: str, data: dict[str, Any] | None = None) -> None:
        """``job.<id>``: what happened and the job's summary."""
        self.ctx.events.publish(bus.Topic.job(job.id), {"event": event, **job.summary(), **(data or {})})

    def _spawn(self, job: Job) -> None:
        self.running[job.id] = job
        self._tasks[job.id] = asyncio.create_task(self._run(job), name=f"job-{job.id}-{job.kind}")

    async def _run(self, job: Job) -> None:
        try:
            try:
                await job.run()
                state = STOPPED if job.stop_asked else DONE
                detail = job.final_detail()
            except asyncio.CancelledError:
                if self.stopping:
                    log.info(
                        "job %d (%s) paused: the daemon is stopping (it resumes on the next start)", job.id, job.kind
                    )
                raise
            except JobFailed as exc:
                state, detail = FAILED, f"{exc}; {job.final_detail()}"
            except BusError as exc:
                state, detail = FAILED, f"{exc.code.value}: {exc.message}; {job.final_detail()}"
            except Exception as exc:
                log.exception("job %d (%s) failed", job.id, job.kind)
                state, detail = FAILED, f"internal: {type(exc).__name__}: {exc}; {job.final_detail()}"
            # how it ended is written down first: settings owed are put back from the store
            # whatever happens next (here, or when the camera or the daemon is back)
            self.store.end_job(job.id, state, detail)
            # put back while the job still holds the camera: whoever acts on "ended" finds
            # the settings as they were, and no one else's set comes in between
            restored = await job.restore_settings()
            job.row.state, job.row.ended, job.detail, job.next_at = state, time.time(), detail, None
            log.log(
                logging.WARNING if state == FAILED else logging.INFO,
                "job %d (%s) %s: %s",
                job.id,
                job.kind,
                state,
                detail,
            )
            self.leases.release_job(job.id)
            self.running.pop(job.id, None)
            self.publish(job, "ended")
            if not restored:
                log.info("job %d: its settings are put back when the camera returns", job.id)
        finally:
            self.running.pop(job.id, None)
            self._tasks.pop(job.id, None)
            if job.row.state != RUNNING:
                self.leases.release_job(job.id)

    # -- settings owed to a camera that was away ------------------------------------------

    def _schedule_restores(self) -> None:
        if self._restoring is None or self._restoring.done():
            self._restoring = asyncio.create_task(self._restores_now(), name="job-restores")

    async def _restores_now(self) -> None:
        """Put back the settings of ended jobs that could not (the camera was away)."""
        if self._store is None:
            return
        for row in self.store.pending_restores():
            if row.id in self.running or not self.ctx.link.connected:
                continue
            await self._view(row).restore_settings()
