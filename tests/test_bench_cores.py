"""The benchmarks' core split: the simulated camera on a core of its own, the host on the
others (``bench.common.CoreSplit``), checked on real processes through ``/proc``."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

if not hasattr(os, "sched_getaffinity"):
    pytest.skip("no CPU affinity on this platform", allow_module_level=True)

from bench.common import CoreSplit, Proc, cores_of, on_cores, pin  # noqa: E402

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


def test_split_gives_the_camera_one_core_and_the_host_the_rest() -> None:
    split = CoreSplit.of_machine()
    if len(CORES) < 2:
        assert split is None
        return
    assert split is not None
    assert len(split.camera) == 1 and split.camera.isdisjoint(split.host)
    assert split.every == CORES
    assert "camera on core" in split.describe()


@needs_two
def test_on_cores_pins_every_thread_and_gives_the_cores_back() -> None:
    split = CoreSplit.of_machine()
    assert split is not None
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait, daemon=True)
    worker.start()  # a thread that was there before the pinning
    try:
        with on_cores(split.host):
            assert allowed(os.getpid()) == set(split.host)
            assert allowed(os.getpid(), worker.native_id) == set(split.host)
        assert allowed(os.getpid()) == set(CORES)
        assert allowed(os.getpid(), worker.native_id) == set(CORES)
    finally:
        stop.set()
        worker.join(5)


@needs_two
def test_proc_starts_on_the_cores_asked_and_pin_moves_it() -> None:
    split = CoreSplit.of_machine()
    assert split is not None
    with Proc([sys.executable, "-c", "import time; time.sleep(30)"], stdout=None, cpus=split.camera) as p:
        assert allowed(p.pid) == set(split.camera) and cores_of(p.pid) == split.camera
        pin(p.pid, split.every)
        assert allowed(p.pid) == set(CORES)


@needs_two
def test_on_cores_moves_other_processes_and_gives_each_its_own_back() -> None:
    split = CoreSplit.of_machine()
    assert split is not None
    with Proc([sys.executable, "-c", "import time; time.sleep(30)"], stdout=None, cpus=split.camera) as p:
        with on_cores(split.every, p.pid):
            assert allowed(p.pid) == set(CORES) and allowed(os.getpid()) == set(CORES)
        assert allowed(p.pid) == set(split.camera)  # its own again, not this process's


def test_pin_leaves_a_process_that_is_gone_alone() -> None:
    import subprocess

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    assert gone.wait(10) == 0  # reaped: its /proc entry is gone
    pin(gone.pid, CORES)  # no error


def test_on_cores_none_leaves_the_process_alone() -> None:
    with on_cores(None):
        assert allowed(os.getpid()) == set(CORES)



_SPIN = "import time\nend = time.monotonic() + 0.8\nwhile time.monotonic() < end: pass\n"


def _window(seconds: float = 0.5) -> dict[str, object]:
    import time

    from bench.common import OtherCpu

    time.sleep(0.1)  # the spinner is up
    meter = OtherCpu()
    time.sleep(seconds)
    return meter.stop()


def test_other_cpu_leaves_out_what_this_process_started() -> None:
    import subprocess

    own = subprocess.Popen([sys.executable, "-c", _SPIN])
    try:
        noise = _window()
    finally:
        own.wait(5)
    # the child spun a whole core through the window; none of it is "other"
    assert noise["ms_per_s"] < 300.0, noise


def test_other_cpu_counts_a_process_that_is_not_ours() -> None:
    import subprocess
    import time

    # its parent exits at once: a process nobody here started (like a machine's agent)
    starter = subprocess.run(
        [sys.executable, "-c", "import subprocess, sys; print(subprocess.Popen([sys.executable, '-c', sys.argv[1]], start_new_session=True, "
         "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).pid)", _SPIN],
        capture_output=True, text=True, timeout=10, check=True,
    )
    stray = int(starter.stdout)
    try:
        noise = _window()
    finally:
        deadline = time.monotonic() + 5
        while Path(f"/proc/{stray}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # it ends by itself (init reaps it)
    assert noise["ms_per_s"] >= 500.0, noise
    assert noise["top"][0][1] >= 500.0, noise
