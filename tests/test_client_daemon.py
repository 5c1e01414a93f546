"""A real ``ptpd run --simulate fuji`` process for the client tests, and checks of it.

Other client test modules import :func:`start_daemons` / :class:`Daemon` from here; the
``daemon`` fixture (conftest.py) starts one per module (module scope) on private ipc://
endpoints.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import Proc
from ptpd_client import Client, ClientError

PYTHON = sys.executable


class Daemon:
    """A running daemon: its endpoints, environment for subprocesses, and process."""

    def __init__(self, root: Path, subject: str = "object", vendor: str = "fuji", extra: tuple[str, ...] = ()) -> None:
        root.mkdir(parents=True, exist_ok=True)
        run = root / "run"
        run.mkdir(mode=0o700, exist_ok=True)
        self.root = root
        self.endpoints = {n: f"ipc://{run}/{n}" for n in ("command", "event", "liveview")}
        config = root / "ptpd.toml"
        # the scene is the Fuji body's (its live view); the generic body has none
        config.write_text(f'[simulate]\nsubject = "{subject}"\n' if vendor != "generic" else "")
        self.proc = Proc(
            [
                PYTHON,
                "-m",
                "ptpd",
                "run",
                "--simulate",
                vendor,
                "--config",
                str(config),
                "--command-endpoint",
                self.endpoints["command"],
                "--event-endpoint",
                self.endpoints["event"],
                "--liveview-endpoint",
                self.endpoints["liveview"],
                "--state-dir",
                str(root / "state"),
                *extra,
            ]
        )
        self.env = {
            "PTPD_COMMAND_ENDPOINT": self.endpoints["command"],
            "PTPD_EVENT_ENDPOINT": self.endpoints["event"],
            "PTPD_LIVEVIEW_ENDPOINT": self.endpoints["liveview"],
        }

    def full_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.env)
        return env

    def client(self, **kw: Any) -> Client:
        return Client(self.endpoints["command"], self.endpoints["event"], self.endpoints["liveview"], **kw)

    def wait_connected(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        last: object = None  # the last answer: a status, or why there was none
        with self.client(timeout=1.0) as c:
            while time.monotonic() < deadline:
                if self.proc.popen.poll() is not None:
                    out, err = self.proc.output()
                    pytest.fail(f"daemon exited {self.proc.popen.returncode}: {err[-2000:]}")
                try:
                    last = c.status()
                    if last.connection == "connected":
                        return
                except ClientError as exc:
                    last = exc
                time.sleep(0.1)
        pytest.fail(f"simulated camera not connected after {timeout}s: {last}")

    def stop(self) -> int:
        return self.proc.stop()


def start_daemons(root: Path, *subjects: str) -> list[Daemon]:
    """Start one daemon per subject in parallel and wait until each camera is connected."""
    ds = [Daemon(root / f"d{i}-{s.replace(',', '_').replace('@', '_')}", s) for i, s in enumerate(subjects)]
    try:
        for d in ds:
            d.wait_connected()
    except BaseException:
        for d in ds:
            d.stop()
        raise
    return ds


def test_daemon_fixture_answers(daemon: Daemon) -> None:
    with daemon.client() as c:
        s = c.status()
    assert s.connection == "connected"
    assert s.vendor == "fuji"
    assert s.model == "X-T1"
