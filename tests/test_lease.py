"""The control lease's rules and the job store, without a daemon: a fake clock, a real
SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ptpd.bus import BusError, ErrorCode
from ptpd.daemon.jobs.store import MISSED, RUNNING, SAVED, JobStore, ShotRow
from ptpd.daemon.lease import Leases, Locked

ALICE, BOB = b"\x00alice", b"\x00bob"


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def leases() -> tuple[Leases, Clock, list[tuple[str, dict[str, Any]]]]:
    clock, told = Clock(), []
    return Leases(lambda topic, data: told.append((topic, data)), clock), clock, told


def test_a_client_lease_refuses_others_and_runs_out_unused(leases: Any) -> None:
    ls, clock, told = leases
    lease = ls.acquire(ALICE, None, "alice", 10)
    assert ls.begin(BOB, None, None) is None  # a read: goes on
    with pytest.raises(Locked) as e:
        ls.begin(BOB, None, "set")
    assert e.value.code is ErrorCode.LOCKED and e.value.to_dict()["holder"] == "alice"
    assert ls.begin(BOB, lease.token, "set") is lease  # the token makes a holder
    ls.end(lease)
    with pytest.raises(Locked):
        ls.acquire(BOB, None, "bob", 10)
    clock.t += 9
    ls.end(ls.begin(ALICE, None, "capture"))  # used: renewed
    clock.t += 9
    assert ls.current is lease
    # while one of its requests runs it does not run out
    held = ls.begin(ALICE, None, "capture")
    clock.t += 60
    assert ls.current is lease and ls.summary()["expires_in"] == 10
    ls.end(held)
    clock.t += 10.5
    assert ls.current is None and ls.begin(BOB, None, "set") is None
    assert [d["state"] for _, d in told] == ["held", "expired"]


def test_unlock_releases_only_its_own_unless_forced(leases: Any) -> None:
    ls, _, told = leases
    ls.acquire(ALICE, None, None, 60)
    assert ls.summary()["holder"].startswith("client ")
    assert ls.release(BOB, None) is None and ls.current is not None
    assert ls.release(BOB, None, force=True) is not None and ls.current is None
    with pytest.raises(BusError) as e:
        ls.acquire(ALICE, None, "x", 0.5)
    assert e.value.code is ErrorCode.BAD_REQUEST


def test_a_job_takes_the_lease_from_its_starter_and_keeps_it(leases: Any) -> None:
    ls, clock, _ = leases
    mine = ls.acquire(ALICE, None, "alice", 5)
    with pytest.raises(Locked):
        ls.take_for_job(1, "timelapse", BOB)
    job = ls.take_for_job(1, "timelapse", ALICE, mine.token)
    assert job.holder == "job 1 (timelapse)" and ls.current is job
    with pytest.raises(Locked):
        ls.begin(ALICE, mine.token, "set")  # the starter's lease went to the job
    with pytest.raises(Locked):
        ls.release(ALICE, None, force=True)  # a job's: stop the job
    with pytest.raises(Locked):
        ls.check(ALICE, None, "job.start bracket")
    clock.t += 10_000
    assert ls.current is job  # a job's lease does not run out
    assert ls.take_for_job(1, "timelapse") is job  # resumed: its own
    ls.release_job(1)
    assert ls.current is None


def test_the_job_store_keeps_every_record_across_a_reopen(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    job = store.add_job("timelapse", {"interval": 1.0, "count": 3}, "ab12", restore=[["exp-bias", 0]])
    store.put_shot(job, ShotRow(0, SAVED, 1.0, 1.002, 7, "IMG_0001.JPG", 100, "/x/IMG_0001.JPG"))
    store.put_shot(job, ShotRow(1, MISSED, 2.0, why="the camera was not connected"))
    store.put_files(job, iter([("k1", "present", 3, "IMG_0000.JPG", 50)]))
    store.set_cursor(job, {"baseline": True})
    store.close()
    # as another process sees it (a daemon started again)
    again = JobStore(tmp_path)
    row = again.job(job)
    assert row is not None and row.state == RUNNING and row.options == {"interval": 1.0, "count": 3}
    assert row.restore == [["exp-bias", 0]] and row.cursor == {"baseline": True}
    shots = again.shots(job)
    assert [s.as_dict() for s in shots] == [
        {
            "slot": 0,
            "state": "saved",
            "planned": 1.0,
            "actual": 1.002,
            "handle": 7,
            "filename": "IMG_0001.JPG",
            "size": 100,
            "path": "/x/IMG_0001.JPG",
            "drift": 0.002,
        },
        {"slot": 1, "state": "missed", "planned": 2.0, "why": "the camera was not connected"},
    ]
    assert again.file_state(job, "k1") == "present" and again.file_state(job, "k2") is None
    assert [r.id for r in again.jobs(running_only=True)] == [job]
    again.end_job(job, "done", "1 shot, 1 missed")
    assert again.jobs(running_only=True) == [] and [r.id for r in again.pending_restores()] == [job]
    again.close()
    with sqlite3.connect(tmp_path / "jobs.sqlite") as db:  # plain sqlite3 reads it too
        assert db.execute("SELECT state, detail FROM jobs").fetchall() == [("done", "1 shot, 1 missed")]
