"""Pinning a benchmark's process to cores (``bench.common.pin``, ``Proc(cpus=...)``), checked
on real processes through ``/proc``; and what else the cores ran over a window
(``bench.common.OtherCpu``)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

if not hasattr(os, "sched_getaffinity"):
    pytest.skip("no CPU affinity on this platform", allow_module_level=True)

from bench.common import OtherCpu, Proc, other_cpu_text, pin

pytestmark = pytest.mark.timeout(30)

CORES = frozenset(os.sched_getaffinity(0))
needs_two = pytest.mark.skipif(len(CORES) < 2, reason="one core: nothing to split")


def allowed(pid: int, tid: int | None = None) -> set[int]:
    """The cores ``Cpus_allowed_list`` of a process (or one of its threads) names."""
    status = Path(f"/proc/{pid}/task/{tid or pid}/status").read_text()
    spec = next(line.split(":", 1)[1].strip() for line in status.splitlines() if line.startswith("Cpus_allowed_list"))
    cores: set[int] = set()
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        cores.update(range(int(lo), int(hi or lo) + 1))
    return cores


@needs_two
def test_proc_starts_on_the_cores_asked_and_pin_moves_it() -> None:
    last = frozenset(sorted(CORES)[-1:])
    with Proc([sys.executable, "-c", "import time; time.sleep(30)"], stdout=None, cpus=last) as p:
        assert allowed(p.pid) == set(last)
        pin(p.pid, CORES)
        assert allowed(p.pid) == set(CORES)


def test_pin_leaves_a_process_that_is_gone_alone() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    assert gone.wait(10) == 0  # reaped: its /proc entry is gone
    pin(gone.pid, CORES)  # no error


# -- OtherCpu: what else the cores ran ---------------------------------------------------------


class FakeProc:
    """A ``/proc`` tree the test writes: processes, their parents, each thread's CPU so far."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir()
        (root / "self").mkdir()  # not a process: skipped like the real one's
        (root / "meminfo").write_text("MemTotal: 1 kB\n")

    def process(self, pid: int, ppid: int, name: str, threads: dict[int, int]) -> None:
        """``threads``: thread id -> CPU nanoseconds so far (the first field of schedstat)."""
        d = self.root / str(pid)
        (d / "task").mkdir(parents=True, exist_ok=True)
        (d / "stat").write_text(f"{pid} ({name}) S {ppid} {pid} {pid} 0 -1 4194560 0 0 0 0 1 2 0 0 20 0 1 0\n")
        for tid, ns in threads.items():
            t = d / "task" / str(tid)
            t.mkdir(exist_ok=True)
            (t / "comm").write_text(name + "\n")
            (t / "schedstat").write_text(f"{ns} 1000 3\n")

    def gone(self, pid: int) -> None:
        shutil.rmtree(self.root / str(pid))


MS = 1_000_000  # ns


def test_other_cpu_counts_from_a_fake_proc_what_is_not_ours(tmp_path: Path) -> None:
    proc = FakeProc(tmp_path / "proc")
    me = 100
    before = {
        # (pid, ppid, name): threads -> ns
        (2, 0, "kthreadd"): {2: 5 * MS},
        (50, 1, "bash"): {50: 1 * MS},
        (me, 50, "python"): {100: 10 * MS, 101: 10 * MS},
        (200, me, "odd) name ("): {200: 0},  # our child; a ")" in its name must not fool the parser
        (300, 200, "grandchild"): {300: 0},  # ours through its parent
        (400, 1, "agent"): {400: 100 * MS, 401: 0},
        (500, 2, "kworker/0:1"): {500: 0},
        (700, 1, "leaving"): {700: 0},  # gone by the end: nothing to say about it
        (800, 900, "orphan"): {800: 0},  # its parent is not in the tree
        (1000, 1001, "loop-a"): {1000: 0},  # a parent loop (tree read mid-change) ends, not ours
        (1001, 1000, "loop-b"): {1001: 0},
    }
    for (pid, ppid, name), threads in before.items():
        proc.process(pid, ppid, name, threads)
    clock = iter([10.0, 12.0]).__next__  # a window of 2 s

    meter = OtherCpu(proc=proc.root, me=me, clock=clock)

    # over the window: ours spin hard, the others less
    proc.process(me, 50, "python", {100: 2010 * MS, 101: 10 * MS, 102: 500 * MS})  # a new thread too
    proc.process(200, me, "odd) name (", {200: 1500 * MS})
    proc.process(300, 200, "grandchild", {300: 900 * MS})
    proc.process(400, 1, "agent", {400: 400 * MS, 401: 100 * MS})  # +300 and +100 ms
    proc.process(500, 2, "kworker/0:1", {500: 50 * MS})
    proc.process(600, 1, "newcomer", {600: 80 * MS})  # started in the window: all of it counts
    proc.gone(700)
    proc.process(800, 900, "orphan", {800: 60 * MS})
    proc.process(1000, 1001, "loop-a", {1000: 30 * MS})
    proc.process(1001, 1000, "loop-b", {1001: 10 * MS})
    (proc.root / "1234").mkdir()  # half there (no stat yet): skipped

    noise = meter.stop()

    # agent 400 ms, newcomer 80, orphan 60, kworker 50, loop-a 30, loop-b 10 over 2 s;
    # kthreadd and bash did not run; none of the 4.91 s this process and its children ran
    assert noise["ms_per_s"] == 315.0, noise
    assert noise["top"] == [
        ["agent", 200.0],
        ["newcomer", 40.0],
        ["orphan", 30.0],
        ["kworker/0:1", 25.0],
        ["loop-a", 15.0],
    ]


def test_other_cpu_of_an_idle_fake_machine_is_zero(tmp_path: Path) -> None:
    proc = FakeProc(tmp_path / "proc")
    proc.process(1, 0, "init", {1: 7 * MS})
    proc.process(42, 1, "sleeper", {42: 3 * MS})
    noise = OtherCpu(proc=proc.root, me=42, clock=iter([0.0, 1.0]).__next__).stop()
    assert noise == {"ms_per_s": 0.0, "top": []}
    assert other_cpu_text(noise) == "0.0 ms/s"


WINDOW = 0.3
_NAMED_SPIN = "import sys\nopen('/proc/self/comm', 'w').write(sys.argv[1])\nwhile True: pass\n"


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="needs pidfd_open to stop a process it did not start")
def test_other_cpu_on_real_processes_counts_a_stray_and_leaves_out_our_child(tmp_path: Path) -> None:
    """Real /proc entries, seen through a tree that holds only this process and the two
    spinners it set up, so what else the machine runs cannot move the figures."""
    own = subprocess.Popen([sys.executable, "-c", _NAMED_SPIN, "ptpd-own-spin"])
    # its parent exits at once: a process nobody here started (like a machine's agent)
    starter = subprocess.run(
        [
            sys.executable,
            "-c",
            "import subprocess, sys; print(subprocess.Popen([sys.executable, '-c', sys.argv[1], 'ptpd-stray'], "
            "start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).pid)",
            _NAMED_SPIN,
        ],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    stray = int(starter.stdout)
    stray_fd = os.pidfd_open(stray)  # from here a signal reaches this process, never a reuse of its pid
    try:
        deadline = time.monotonic() + 10
        while (comm(own.pid), comm(stray)) != ("ptpd-own-spin", "ptpd-stray"):
            assert time.monotonic() < deadline, (comm(own.pid), comm(stray))
            time.sleep(0.02)
        view = tmp_path / "proc"
        view.mkdir()
        for pid in (os.getpid(), own.pid, stray):
            (view / str(pid)).symlink_to(f"/proc/{pid}")
        meter = OtherCpu(proc=view)
        time.sleep(WINDOW)
        noise = meter.stop()
    finally:
        signal.pidfd_send_signal(stray_fd, signal.SIGKILL)
        os.close(stray_fd)
        own.kill()
        own.wait(5)
    assert [name for name, _ in noise["top"]] == ["ptpd-stray"], noise
    # it ran for some of the window (how much depends on the machine), one thread at most all
    # of it; a running thread's total lags by up to a scheduler tick (a few ms) at each end
    assert 0.0 < noise["ms_per_s"] <= 1000.0 * (WINDOW + 0.02) / WINDOW, noise
