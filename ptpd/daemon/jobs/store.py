"""Where jobs live between daemon runs: ``jobs.sqlite`` in the state directory.

The standard library's sqlite3 in WAL mode. Every change a job makes to what it has done
(a shot released, its file saved, a slot missed, a file of the card downloaded) is one
small committed transaction before the job goes on, so a daemon killed at any moment
(SIGKILL, a power cut) finds on its next start what was done and what was not, and takes
no shot twice. ``synchronous=FULL``: a commit is on the disk before the job goes on (a
third of a millisecond here, measured), so a power cut loses no record of a shot.

Three tables: ``jobs`` (kind, options, state, the kind's resume point, settings to put
back), ``shots`` (one row per slot of a job: planned and actual time, handle, file, or
why it was missed) and ``files`` (what a tether job found on the card: downloaded, or
there before it began).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FILENAME = "jobs.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    options TEXT NOT NULL,
    state TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    ended REAL,
    cursor TEXT NOT NULL DEFAULT '{}',
    restore TEXT NOT NULL DEFAULT '[]',
    started_by TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS shots (
    job INTEGER NOT NULL,
    slot INTEGER NOT NULL,
    state TEXT NOT NULL,
    planned REAL,
    actual REAL,
    handle INTEGER,
    filename TEXT,
    size INTEGER,
    path TEXT,
    why TEXT,
    extra TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (job, slot)
);
CREATE TABLE IF NOT EXISTS files (
    job INTEGER NOT NULL,
    key TEXT NOT NULL,
    state TEXT NOT NULL,
    handle INTEGER,
    filename TEXT,
    size INTEGER,
    path TEXT,
    t REAL NOT NULL,
    why TEXT,
    PRIMARY KEY (job, key)
);
"""

#: job states: running (also while it waits for the camera), or how it ended
RUNNING, DONE, STOPPED, FAILED = "running", "done", "stopped", "failed"
ENDED = (DONE, STOPPED, FAILED)

#: shot states: the release is under way; taken (its image identified, not yet saved
#: where it goes); saved (the file is written, or taken for a job that keeps images on
#: the camera); missed (with why)
RELEASING, TAKEN, SAVED, MISSED = "releasing", "taken", "saved", "missed"

_SHOT_FIELDS = ("state", "planned", "actual", "handle", "filename", "size", "path", "why", "extra")


@dataclass
class JobRow:
    """One row of ``jobs``, decoded."""

    id: int
    kind: str
    options: dict[str, Any]
    state: str
    detail: str
    created: float
    ended: float | None
    cursor: dict[str, Any]
    restore: list[list[Any]]
    started_by: str


@dataclass
class ShotRow:
    """One slot of a job."""

    slot: int
    state: str
    planned: float | None = None
    actual: float | None = None
    handle: int | None = None
    filename: str | None = None
    size: int | None = None
    path: str | None = None
    why: str | None = None
    extra: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"slot": self.slot, "state": self.state}
        for key in ("planned", "actual", "handle", "filename", "size", "path", "why"):
            value = getattr(self, key)
            if value is not None:
                d[key] = value
        if self.planned is not None and self.actual is not None:
            d["drift"] = round(self.actual - self.planned, 4)
        d.update(self.extra or {})
        return d


class JobStore:
    """The database; every method is one short transaction (on the daemon's loop)."""

    def __init__(self, state_dir: str | Path) -> None:
        path = Path(state_dir)
        path.mkdir(parents=True, exist_ok=True)
        self.path = path / FILENAME
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA busy_timeout=2000")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def _tx(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self.db:
            return self.db.execute(sql, args)

    # -- jobs ----------------------------------------------------------------------------

    def add_job(
        self, kind: str, options: dict[str, Any], started_by: str, restore: list[list[Any]] | None = None
    ) -> int:
        cur = self._tx(
            "INSERT INTO jobs (kind, options, state, created, restore, started_by) VALUES (?, ?, ?, ?, ?, ?)",
            (kind, json.dumps(options), RUNNING, time.time(), json.dumps(restore or []), started_by),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def end_job(self, job: int, state: str, detail: str) -> None:
        self._tx("UPDATE jobs SET state = ?, detail = ?, ended = ? WHERE id = ?", (state, detail, time.time(), job))

    def set_detail(self, job: int, detail: str) -> None:
        self._tx("UPDATE jobs SET detail = ? WHERE id = ?", (detail, job))

    def set_cursor(self, job: int, cursor: dict[str, Any]) -> None:
        self._tx("UPDATE jobs SET cursor = ? WHERE id = ?", (json.dumps(cursor), job))

    def set_restore(self, job: int, restore: list[list[Any]]) -> None:
        self._tx("UPDATE jobs SET restore = ? WHERE id = ?", (json.dumps(restore), job))

    def job(self, job: int) -> JobRow | None:
        row = self.db.execute("SELECT * FROM jobs WHERE id = ?", (job,)).fetchone()
        return None if row is None else _job_row(row)

    def jobs(self, running_only: bool = False, limit: int | None = None) -> list[JobRow]:
        """Jobs, newest first (``limit`` ended ones at most, besides the running ones)."""
        rows = [_job_row(r) for r in self.db.execute("SELECT * FROM jobs ORDER BY id DESC")]
        running = [r for r in rows if r.state == RUNNING]
        if running_only:
            return running
        ended = [r for r in rows if r.state != RUNNING]
        return running + (ended if limit is None else ended[:limit])

    def pending_restores(self) -> list[JobRow]:
        """Ended jobs whose settings are still to be put back (the camera was away)."""
        return [
            _job_row(r) for r in self.db.execute("SELECT * FROM jobs WHERE state != ? AND restore != '[]'", (RUNNING,))
        ]

    # -- shots ---------------------------------------------------------------------------

    def put_shot(self, job: int, shot: ShotRow) -> None:
        values = [getattr(shot, f) for f in _SHOT_FIELDS]
        values[-1] = json.dumps(shot.extra or {})
        self._tx(
            f"INSERT OR REPLACE INTO shots (job, slot, {', '.join(_SHOT_FIELDS)}) VALUES (?, ?, {', '.join('?' * len(_SHOT_FIELDS))})",
            (job, shot.slot, *values),
        )

    def drop_shot(self, job: int, slot: int) -> None:
        self._tx("DELETE FROM shots WHERE job = ? AND slot = ?", (job, slot))

    def shots(self, job: int) -> list[ShotRow]:
        cur = self.db.execute(f"SELECT slot, {', '.join(_SHOT_FIELDS)} FROM shots WHERE job = ? ORDER BY slot", (job,))
        return [ShotRow(**{**dict(zip(("slot", *_SHOT_FIELDS), r)), "extra": json.loads(r[-1] or "{}")}) for r in cur]

    # -- files (tether) ------------------------------------------------------------------

    def file_state(self, job: int, key: str) -> str | None:
        row = self.db.execute("SELECT state FROM files WHERE job = ? AND key = ?", (job, key)).fetchone()
        return None if row is None else str(row[0])

    def put_file(
        self,
        job: int,
        key: str,
        state: str,
        handle: int | None = None,
        filename: str | None = None,
        size: int | None = None,
        path: str | None = None,
        why: str | None = None,
    ) -> None:
        self._tx(
            "INSERT OR REPLACE INTO files (job, key, state, handle, filename, size, path, t, why) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (job, key, state, handle, filename, size, path, time.time(), why),
        )

    def put_files(self, job: int, rows: Iterator[tuple[str, str, int, str, int]]) -> None:
        """Many ``(key, state, handle, filename, size)`` at once (a card's listing)."""
        now = time.time()
        with self.db:
            self.db.executemany(
                "INSERT OR IGNORE INTO files (job, key, state, handle, filename, size, t) VALUES (?, ?, ?, ?, ?, ?, ?)",
                ((job, k, s, h, f, n, now) for k, s, h, f, n in rows),
            )

    def files(self, job: int, states: tuple[str, ...] = ("saved", "failed")) -> list[dict[str, Any]]:
        marks = ", ".join("?" * len(states))
        cur = self.db.execute(
            f"SELECT key, state, handle, filename, size, path, t, why FROM files WHERE job = ? AND state IN ({marks}) ORDER BY t",
            (job, *states),
        )
        out = []
        for key, state, handle, filename, size, path, t, why in cur:
            d = {"key": key, "state": state, "handle": handle, "filename": filename, "size": size, "path": path, "t": t}
            if why:
                d["why"] = why
            out.append({k: v for k, v in d.items() if v is not None})
        return out

    def count_files(self, job: int, state: str) -> int:
        return int(
            self.db.execute("SELECT COUNT(*) FROM files WHERE job = ? AND state = ?", (job, state)).fetchone()[0]
        )


def _job_row(r: tuple[Any, ...]) -> JobRow:
    id_, kind, options, state, detail, created, ended, cursor, restore, started_by = r
    return JobRow(
        id_,
        kind,
        json.loads(options),
        state,
        detail,
        created,
        ended,
        json.loads(cursor),
        json.loads(restore),
        started_by,
    )
