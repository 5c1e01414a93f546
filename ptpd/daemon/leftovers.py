"""Temp files a killed daemon left behind, removed at the next start (only ours).

The daemon writes a file (``capture``/``download`` with ``dir``) to a temp name beside
its final one, ``.ptpd-PID-XXXXXXXX.part``, and links the final name only when the
file is whole (:mod:`ptpd.daemon.files`). A daemon killed mid-write (SIGKILL, a power
cut) leaves the temp file. So the daemon keeps a journal of the directories it writes
into (``write-dirs`` in its state directory, the :data:`MAX_DIRS` most recent, noted
before the first temp file goes there) and at start removes, in each of them and in
the state directory, a file only when all of these hold:

* its name is ``.ptpd-PID-XXXXXXXX.part`` (what the writer makes; nothing else);
* it is a regular file (not a link: none is followed) owned by the daemon's user;
* process PID is gone, or started after the file was last written (the number was
  reused): no running daemon is writing it.

Files of that name that an older ptpd made (``.ptpd-XXXXXXXX.part``, no PID) are
removed only when untouched for :data:`OLD_NAME_AGE` seconds. Nothing else in those
directories is looked at, and no other directory is searched.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

#: directories the journal remembers (the most recent)
MAX_DIRS = 64
#: a temp file of the old name (no PID) untouched this long is a leftover
OLD_NAME_AGE = 3600.0
#: the temp names the writer makes: ``.ptpd-PID-`` + mkstemp's 8 characters + ``.part``
PART = re.compile(r"\.ptpd-(?:(\d{1,10})-)?[A-Za-z0-9_]{8}\.part")


def temp_prefix() -> str:
    """The prefix of this process's temp names (``tempfile.mkstemp(prefix=...)``)."""
    return f".ptpd-{os.getpid()}-"


def _started(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime")
        )
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    # field 22 (starttime, in clock ticks since boot) comes after the ")" that ends the name
    ticks = int(stat.rsplit(")", 1)[1].split()[19])
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def is_leftover(name: str, st: os.stat_result, now: float | None = None) -> bool:
    """True when the file ``name`` (its ``lstat``) is a temp file no live writer owns."""
    import stat as stat_mod

    m = PART.fullmatch(name)
    if m is None or not stat_mod.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
        return False
    if m.group(1) is None:  # an older ptpd's name: no PID to ask
        return (now if now is not None else time.time()) - st.st_mtime > OLD_NAME_AGE
    pid = int(m.group(1))
    if pid == os.getpid():
        return False
    started = _started(pid)
    return started is None or started > st.st_mtime + 1.0  # gone, or the number was reused


def sweep(directory: str | Path) -> list[str]:
    """Remove the leftovers in ``directory`` (not below it); their paths."""
    removed: list[str] = []
    with contextlib.suppress(OSError), os.scandir(directory) as it:
        for entry in it:
            if not entry.name.startswith(".ptpd-"):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
                if is_leftover(entry.name, st):
                    os.unlink(entry.path)
                    removed.append(entry.path)
            except OSError:
                continue
    return removed


class Journal:
    """The directories this daemon writes into, kept in ``state_dir/write-dirs``."""

    def __init__(self, state_dir: str | Path) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / "write-dirs"
        self._dirs: list[str] = []
        self._lock = threading.Lock()  # files are written from worker threads

    def _read(self) -> list[str]:
        try:
            lines = self.path.read_text(errors="replace").splitlines()
        except OSError:
            return []
        seen: dict[str, None] = {}
        for line in lines:
            if line.startswith("/") and "\0" not in line:
                seen.pop(line, None)
                seen[line] = None  # the latest mention last
        return list(seen)[-MAX_DIRS:]

    def note(self, directory: str | Path) -> None:
        """``directory`` is about to get a temp file: remember it first (the entry is on
        its way to the disk before the file exists)."""
        d = os.path.abspath(directory)
        with self._lock:
            if d in self._dirs:
                return
            self._dirs.append(d)
            if len(self._dirs) > MAX_DIRS:
                self._dirs = self._dirs[-MAX_DIRS:]
                self._write()
                return
            try:
                self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
                with open(self.path, "a") as fh:
                    fh.write(d + "\n")
            except OSError as exc:
                log.warning("cannot note %s in %s: %s", d, self.path, exc)

    def _write(self) -> None:
        tmp = self.path.with_name("write-dirs.tmp")
        try:
            tmp.write_text("".join(x + "\n" for x in self._dirs))
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("cannot write %s: %s", self.path, exc)

    def clean(self) -> list[str]:
        """At start: remove the leftovers in every directory noted (and the state
        directory), and keep the journal to the directories that still exist."""
        with self._lock:
            dirs = self._read()
            removed = sweep(self.state_dir)
            for d in dirs:
                removed += sweep(d)
            self._dirs = [d for d in dirs if os.path.isdir(d)]
            if self._dirs != dirs:
                self._write()
        for path in removed:
            log.info("removed %s: a temp file a daemon that stopped mid-write left behind", path)
        return removed


__all__ = ["MAX_DIRS", "OLD_NAME_AGE", "PART", "Journal", "is_leftover", "sweep", "temp_prefix"]
