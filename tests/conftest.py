"""Shared fixtures: loopback ports, temporary ipc endpoints, processes that always stop."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

# one implementation for the suite and the benchmarks (both run from the repo root)
from bench.common import free_port  # noqa: F401  # re-exported: the tests import it from here
from bench.common import wait_port as wait_for_port  # noqa: F401  # re-exported, as free_port

if TYPE_CHECKING:
    from test_client_daemon import Daemon

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
PYTHON = sys.executable


class Proc:
    """A child process that is always stopped (SIGTERM, then SIGKILL) when the test ends."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None, cwd: str | Path | None = None) -> None:
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.args = args
        self.popen = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
        )

    def stop(self, timeout: float = 5.0) -> int:
        p = self.popen
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout)
        return p.returncode

    def output(self) -> tuple[str, str]:
        out, err = self.popen.communicate(timeout=5)
        return out.decode(errors="replace"), err.decode(errors="replace")


@pytest.fixture
def spawn() -> Iterator:
    """``spawn([...])`` starts a process that is stopped at the end of the test."""
    procs: list[Proc] = []

    def _spawn(args: list[str], env: dict[str, str] | None = None, cwd: str | Path | None = None) -> Proc:
        p = Proc(args, env, cwd)
        procs.append(p)
        return p

    yield _spawn
    for p in procs:
        p.stop()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """A real ``ptpd run --simulate fuji`` process on private ipc:// endpoints, one per
    test module that asks for it (see test_client_daemon.py)."""
    from test_client_daemon import start_daemons

    (d,) = start_daemons(tmp_path_factory.mktemp("ptpd"), "object")
    yield d
    assert d.stop() == 0, "the daemon did not exit cleanly on SIGTERM"


@pytest.fixture
def ipc_endpoints(tmp_path: Path) -> dict[str, str]:
    """Private ipc:// endpoints for one daemon under the test's temp dir."""
    d = tmp_path / "run"
    d.mkdir(mode=0o700)
    return {
        "command": f"ipc://{d}/command",
        "event": f"ipc://{d}/event",
        "liveview": f"ipc://{d}/liveview",
    }


def count_operations(sim: Any) -> collections.Counter:
    """Operation codes an in-process simulator receives from now on, counted where its
    server starts each transaction (the fault model is asked once per transaction)."""
    seen: collections.Counter = collections.Counter()
    plan = sim.faults.on_transaction

    def counting(op_code: int, *args: Any, **kw: Any) -> Any:
        seen[op_code] += 1
        return plan(op_code, *args, **kw)

    sim.faults.on_transaction = counting
    return seen
