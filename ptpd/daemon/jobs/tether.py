"""``tether``: every picture the camera adds (taken on the body itself) downloaded into
``dir``, as gphoto2's ``--capture-tethered`` and Fuji's PC AutoSave do, for as long as
the job runs.

What is on the card when the job begins is left alone: the job lists it first and
writes it down as there before. Then each ObjectAdded the camera sends is fetched
(written as ``download`` writes files: verified, atomic, never replacing one), and after
every (re)connect the card is listed again and whatever appeared meanwhile (shot while
the link was down, or while the daemon was not running) is fetched too. A file is known
by its name, size and capture date on the card (handles may change across sessions);
what was fetched once is never fetched again, across restarts (the store's ``files``).

``hook``: a shell command run after each file is saved, with the file's path as ``$1``
(and in ``PTPD_FILE``), one at a time, at most ``hook_timeout`` seconds each. Its
failure is reported on the job's topic and in the log; it never stops the job. A hook
not yet run when the daemon stops is not run later.

A tether job only reads the camera: it takes no control lease (clients may still capture,
and their pictures are tethered too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from typing import Any

from ptpd.camera import ObjectEntry
from ptpd.daemon.context import Request
from ptpd.daemon.errors import to_bus_error
from ptpd.daemon.inflight import Control
from ptpd.daemon.jobs.job import LINK_CODES, Job, Opt, between
from ptpd.daemon.objects import download

log = logging.getLogger(__name__)

#: states of a file the job knows: on the card before it began, downloaded, or could not be
PRESENT, SAVED, FAILED = "present", "saved", "failed"
#: how often the job looks whether the link came back (seconds) when no object arrives
_IDLE = 0.5


def file_key(o: ObjectEntry) -> str:
    """A picture as the job knows it, whatever handle a session gives it."""
    return f"{o.storage_id:08x}/{o.filename}/{o.size}/{o.captured}"


class Tether(Job):
    """See the module docstring."""

    kind = "tether"
    takes_lease = False
    OPTIONS = {
        "dir": Opt("str", required=True),
        "hook": Opt("str", None, lambda v: None if v.strip() else "must be a command"),
        "hook_timeout": Opt("float", 60.0, between(0.1, 86400)),
    }

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._added: asyncio.Queue[int] = asyncio.Queue()
        self._hooks: asyncio.Queue[str] = asyncio.Queue()

    def counts(self) -> tuple[int, int, int]:
        return self.store.count_files(self.id, SAVED), 0, self.store.count_files(self.id, FAILED)

    def final_detail(self) -> str:
        done, _, failed = self.counts()
        return f"{done} file{'s' if done != 1 else ''} downloaded" + (f", {failed} failed" if failed else "")

    def details(self) -> dict[str, Any]:
        out = self.summary()
        out["files"] = self.store.files(self.id)
        return out

    def object_added(self, handle: int) -> None:
        """The camera announced a new object (the engine passes ObjectAdded on)."""
        self._added.put_nowait(handle)

    async def run(self) -> None:
        hooks = asyncio.create_task(self._run_hooks(), name=f"job-{self.id}-hooks")
        try:
            await self._tether()
        finally:
            hooks.cancel()
            await asyncio.gather(hooks, return_exceptions=True)

    async def _tether(self) -> None:
        link = self.ctx.link
        cursor = self.row.cursor
        seen: int | None = None  # the session whose card was last listed
        if not cursor.get("baseline"):
            while not await self._baseline():
                if not await self.wait_camera():
                    return
            seen = link.connects
        while not self.stopped:
            self.checkpoint()
            if link.connected and link.connects != seen:
                self.say("looking for pictures taken while away")
                if await self._catch_up():
                    seen = link.connects
            self.say(
                "waiting for pictures"
                if link.connected
                else f"waiting for the camera ({link.detail or link.connection.value})"
            )
            try:
                handle = await asyncio.wait_for(self._added.get(), _IDLE)
            except TimeoutError:
                continue
            try:
                entry = await self.on_camera("object_info", lambda cam: cam.object_info(handle))  # noqa: B023  # call() runs it in this iteration
            except Exception as exc:
                err = to_bus_error(exc)
                if err.code not in LINK_CODES:  # gone again already (deleted by its taker)
                    log.info("job %d: object 0x%08X: %s", self.id, handle, err.message)
                continue  # a link loss: the listing after the reconnect finds it
            await self._take(entry)
        self.checkpoint()

    async def _baseline(self) -> bool:
        """What is on the card when the job begins is not its business: written down as
        there before. False when the camera is away."""
        if not self.ctx.link.connected:
            return False
        self.say("listing what is on the card already")
        listing = await self._listing()
        if listing is None:
            return False
        self.store.put_files(
            self.id, ((file_key(o), PRESENT, o.handle, o.filename, o.size) for o in listing if not o.is_folder)
        )
        self.row.cursor["baseline"] = True
        self.store.set_cursor(self.id, self.row.cursor)
        return True

    async def _listing(self) -> list[ObjectEntry] | None:
        """Every object on the card; None when the link went."""
        try:
            return await self.on_camera("objects", lambda cam: cam.objects(), 4)
        except Exception as exc:
            if to_bus_error(exc).code in LINK_CODES:
                return None
            raise

    async def _catch_up(self) -> bool:
        """Fetch what appeared on the card while the job was not looking; False when the
        link went again."""
        listing = await self._listing()
        if listing is None:
            return False
        for o in listing:
            if not o.is_folder and self.store.file_state(self.id, file_key(o)) is None:
                if not await self._take(o):
                    return False
        return True

    async def _take(self, o: ObjectEntry) -> bool:
        """Download one new picture (once); False when the link went."""
        if o.is_folder:
            return True
        key = file_key(o)
        if self.store.file_state(self.id, key) is not None:
            return True
        request = Request(f"job{self.id}:{o.handle}", b"", Control())
        self.say(f"downloading {o.filename}")
        try:
            got = await download(self.ctx, {"handle": o.handle, "offset": 0, "dir": self.options["dir"]}, request)
        except Exception as exc:
            err = to_bus_error(exc)
            if err.code in LINK_CODES:
                return False  # it is still on the card: the listing after the reconnect finds it
            why = f"{err.code.value}: {err.message}"
            self.store.put_file(self.id, key, FAILED, o.handle, o.filename, o.size, why=why)
            log.warning("job %d: %s not downloaded: %s", self.id, o.filename, why)
            self.publish("file", file={"filename": o.filename, "handle": o.handle, "state": FAILED, "why": why})
            return True
        path = str(got.get("path"))
        self.store.put_file(self.id, key, SAVED, o.handle, o.filename, got.get("size"), path)
        log.info("job %d: %s saved as %s", self.id, o.filename, path)
        self.publish(
            "file",
            file={"filename": o.filename, "handle": o.handle, "size": got.get("size"), "path": path, "state": SAVED},
        )
        if self.options.get("hook"):
            self._hooks.put_nowait(path)
        return True

    async def _run_hooks(self) -> None:
        while True:
            path = await self._hooks.get()
            await self._hook(path)

    async def _hook(self, path: str) -> None:
        """Run the hook for one file; whatever it does, the job goes on."""
        command, limit = str(self.options["hook"]), float(self.options["hook_timeout"])
        env = {**os.environ, "PTPD_FILE": path, "PTPD_JOB": str(self.id)}
        try:
            proc = await asyncio.create_subprocess_exec(
                "/bin/sh",
                "-c",
                command,
                "ptpd-hook",
                path,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            self._hook_failed(path, f"cannot run the hook: {exc.strerror or exc}")
            return
        try:
            _, err = await asyncio.wait_for(proc.communicate(), limit)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            self._hook_failed(path, f"the hook ran longer than {limit:g} s and was killed")
            return
        except asyncio.CancelledError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            raise
        if proc.returncode != 0:
            tail = err.decode(errors="replace").strip().splitlines()[-1:] if err else []
            self._hook_failed(path, f"the hook exited {proc.returncode}" + (f": {tail[0][:200]}" if tail else ""))
            return
        self.publish("hook", path=path, ok=True)

    def _hook_failed(self, path: str, why: str) -> None:
        log.warning("job %d: hook for %s: %s (the job goes on)", self.id, path, why)
        self.publish("hook", path=path, ok=False, why=why)
