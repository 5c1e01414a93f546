"""Temp files a killed daemon left behind are removed at the next start, and only those.

Before, a daemon killed during a daemon-side write (``capture``/``download`` with
``dir``) left its ``.ptpd-*.part`` file for good. Now the temp name carries the writer's
PID, the daemon notes every directory it writes into in its state directory first, and
at start removes what a dead writer left there: nothing that is not its own temp name,
a regular file of its own user, whose writer is gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.harness import Daemon, DaemonOptions
from ptpd.daemon.leftovers import OLD_NAME_AGE, Journal, is_leftover, sweep


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def touch(path: Path, age: float = 0.0) -> Path:
    path.write_bytes(b"half a file")
    if age:
        t = time.time() - age
        os.utime(path, (t, t))
    return path


def test_what_counts_as_a_leftover(tmp_path: Path) -> None:
    gone = dead_pid()
    stale = touch(tmp_path / f".ptpd-{gone}-abcd_123.part")
    mine = touch(tmp_path / f".ptpd-{os.getpid()}-abcd_123.part")  # a live writer's
    # a live process whose number the writer had: it started after the file was written
    reused = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.05)
        by_reused = touch(tmp_path / f".ptpd-{reused.pid}-abcd_124.part", age=600)
        by_live_old = touch(tmp_path / ".ptpd-1-abcd_125.part", age=0)  # pid 1 started long before
        old_style = touch(tmp_path / ".ptpd-abcd_126.part", age=OLD_NAME_AGE + 60)
        old_style_fresh = touch(tmp_path / ".ptpd-abcd_127.part")
        decoys = [
            touch(tmp_path / n)
            for n in (
                f".ptpd-{gone}-abcd_123.part.jpg",
                f"ptpd-{gone}-abcd_123.part",
                f".ptpd-{gone}-abc.part",
                "IMG_0001.JPG",
            )
        ]
        (tmp_path / f".ptpd-{gone}-linkto_1.part").symlink_to(tmp_path / "IMG_0001.JPG")
        (tmp_path / f".ptpd-{gone}-adir_001.part").mkdir()
        others = touch(tmp_path / f".ptpd-{gone}-others_1.part")
        os.chown(others, 65534, 65534)  # another user's (the test runs as root)
        removed = sorted(Path(p).name for p in sweep(tmp_path))
        assert removed == sorted([stale.name, by_reused.name, old_style.name])
        for kept in (mine, by_live_old, old_style_fresh, *decoys, others):
            assert kept.exists(), kept
        assert (tmp_path / f".ptpd-{gone}-linkto_1.part").is_symlink() and (tmp_path / "IMG_0001.JPG").exists()
        assert (tmp_path / f".ptpd-{gone}-adir_001.part").is_dir()
        assert not is_leftover(mine.name, os.lstat(mine))  # never our own live file
    finally:
        reused.kill()
        reused.wait()


def test_the_journal_keeps_the_latest_directories(tmp_path: Path) -> None:
    j = Journal(tmp_path / "state")
    for k in range(70):
        d = tmp_path / f"d{k}"
        d.mkdir()
        j.note(d)
    j.note(tmp_path / "d69")  # noted once
    again = Journal(tmp_path / "state")
    again.clean()
    assert again._dirs == [str(tmp_path / f"d{k}") for k in range(6, 70)]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_daemon_killed_mid_write_leaves_nothing_after_the_next_start(tmp_path: Path) -> None:
    out = tmp_path / "shots"
    first = Daemon(tmp_path / "a", DaemonOptions(simulate="generic"))
    first.dir.mkdir(exist_ok=True)
    first.start()
    with first.client() as c:
        shot = c.result("capture", {"count": 1, "dir": str(out)}, timeout=30)["shots"][0]
    journal = (tmp_path / "a" / "state" / "write-dirs").read_text().split()
    assert journal == [str(out)]
    # the daemon is killed while it writes: its temp file (its name, its PID) stays behind
    half = out / f".ptpd-{first.pid}-k1LLed_1.part"
    half.write_bytes(b"\xff\xd8 half an image")
    os.kill(first.pid, signal.SIGKILL)
    assert first.proc is not None
    first.proc.popen.wait(10)
    foreign = out / ".ptpd-1-notmine.part"  # not the writer's name: left alone
    foreign.write_bytes(b"x")
    # the next start (same state directory) cleans up before it serves
    second = Daemon(tmp_path / "a", DaemonOptions(simulate="generic", log_level="info"))
    try:
        second.start()
        assert not half.exists()
        assert foreign.exists() and Path(shot["path"]).exists()
        assert f"removed {half}" in second.log_text()
    finally:
        second.stop()
