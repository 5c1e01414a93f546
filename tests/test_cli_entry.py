"""ptpctl's console entry point (``ptpctl.main:main``: the click application, loaded with
the cyclic collector paused, then an exit without the interpreter's teardown) answers the commands scripts run in loops, ``get`` and
``set``, byte for byte as click's own standalone ``main`` does (stdout, stderr and exit
code), against a real daemon with the simulated Fuji X-T1: nothing is lost by leaving
early."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_client_daemon import Daemon

PYTHON = sys.executable

#: ``python -c`` programs: the console entry point, and click's standalone main alone
ENTRY = "import sys; sys.argv[0] = 'ptpctl'; from ptpctl.main import main; main()"
CLICK = "import sys; sys.argv[0] = 'ptpctl'; from ptpctl.cli import cli; cli.main(prog_name='ptpctl')"


def _run(program: str, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-c", program, *args], capture_output=True, text=True, env=env, timeout=30)


# Each pair runs the same command line both ways, click first; a set repeats the value the
# click path just set, so both paths see the same camera state. ``--json`` anywhere and a
# negative value ("-1/3", which looks like an option) are read as a script writes them.
SAME_ANSWER = [
    ["get", "iso"],
    ["get", "0xD02A"],
    ["--json", "get", "iso"],
    ["get", "effect", "--json"],
    ["set", "iso", "800"],
    ["set", "iso", "0x320"],
    ["set", "--json", "effect", "Velvia"],
    ["set", "exp-bias", "-1/3"],
    ["set", "exp-bias", "-2"],
    ["set", "exp-bias", "0"],
    ["set", "effect", "Kodachrome"],  # refused before sending: exit 2
    ["get", "nosuchproperty"],  # exit 2
    ["set", "battery", "1"],  # read-only
    ["get"],  # usage: exit 2
]


@pytest.mark.parametrize("argv", SAME_ANSWER, ids=[" ".join(a) for a in SAME_ANSWER])
def test_entry_answers_as_click_does(daemon: Daemon, argv: list[str]) -> None:
    env = daemon.full_env()
    by_click = _run(CLICK, argv, env)
    entry = _run(ENTRY, argv, env)
    assert (entry.returncode, entry.stdout, entry.stderr) == (by_click.returncode, by_click.stdout, by_click.stderr)
    assert "Traceback" not in entry.stderr
    if entry.returncode == 0:
        assert entry.stdout.strip() and entry.stderr == ""
    else:
        assert len(entry.stderr.splitlines()) == 1 and entry.stderr.startswith("ptpctl: error: ")


def test_entry_without_a_daemon_answers_as_click_does(tmp_path: Path) -> None:
    env = dict(os.environ, PTPD_COMMAND_ENDPOINT=f"ipc://{tmp_path}/none")
    for argv in (["get", "iso"], ["set", "iso", "800"]):
        by_click = _run(CLICK, argv, env)
        entry = _run(ENTRY, argv, env)
        assert entry.returncode == by_click.returncode == 105
        assert entry.stderr == by_click.stderr and entry.stdout == by_click.stdout == ""


def test_entry_prints_all_of_a_long_answer(daemon: Daemon) -> None:
    # ``--json state`` goes out through print() with no flush of its own: the entry's exit
    # must not drop what is still in stdout's buffer.
    env = daemon.full_env()
    by_click = _run(CLICK, ["--json", "state"], env)
    entry = _run(ENTRY, ["--json", "state"], env)
    assert entry.returncode == by_click.returncode == 0
    assert entry.stdout == by_click.stdout and len(entry.stdout) > 500


def test_output_survives_a_closed_pipe(daemon: Daemon) -> None:
    # ``ptpctl get iso | head -0``: the reader is gone before the value is written. Both
    # paths: no message, no traceback, exit 1 (the value was not delivered).
    for program in (ENTRY, CLICK):
        for argv in (["get", "iso"], ["--json", "state"]):
            r_fd, w_fd = os.pipe()
            os.close(r_fd)
            try:
                p = subprocess.run(
                    [PYTHON, "-c", program, *argv],
                    stdout=w_fd,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=daemon.full_env(),
                    timeout=30,
                )
            finally:
                os.close(w_fd)
            assert p.stderr == "", (program, argv)
            assert p.returncode == 1, (program, argv)
