"""ptpctl's quick path for ``get`` and ``set``: it takes exactly the plain command lines,
leaves everything else to click, and answers byte for byte as the click path does
(stdout, stderr and exit code), against a real daemon with the simulated Fuji X-T1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_client_daemon import Daemon, daemon  # noqa: F401  (module-scoped fixture)

from ptpctl.fast import parse

PYTHON = sys.executable

#: ``python -c`` programs: the console entry point (quick path first) and click alone
ENTRY = "import sys; sys.argv[0] = 'ptpctl'; from ptpctl.main import main; main()"
CLICK = "import sys; sys.argv[0] = 'ptpctl'; from ptpctl.cli import main; main()"


def _run(program: str, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-c", program, *args], capture_output=True, text=True, env=env, timeout=30)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["get", "iso"], ("get", ["iso"], False)),
        (["get", "0xD02A"], ("get", ["0xD02A"], False)),
        (["--json", "get", "iso"], ("get", ["iso"], True)),
        (["get", "iso", "--json"], ("get", ["iso"], True)),
        (["set", "iso", "800"], ("set", ["iso", "800"], False)),
        (["set", "exp-bias", "-1/3"], ("set", ["exp-bias", "-1/3"], False)),
        (["set", "exp-bias", "-2"], ("set", ["exp-bias", "-2"], False)),
        (["set", "--json", "effect", "Velvia"], ("set", ["effect", "Velvia"], True)),
    ],
)
def test_plain_get_and_set_take_the_quick_path(argv: list[str], expected: tuple[str, list[str], bool]) -> None:
    assert parse(argv) == expected


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["get"],
        ["set", "iso"],
        ["get", "iso", "extra"],
        ["get", "--help"],
        ["get", "-h"],
        ["set", "iso", "-h"],
        ["set", "iso", "--help"],
        ["set", "iso", "--bogus"],
        ["set", "iso", "-x"],
        ["set", "exp-bias", "--", "-1/3"],
        ["get", "-v"],
        ["-v", "get", "iso"],
        ["--timeout", "3", "get", "iso"],
        ["--command-endpoint", "ipc:///x", "get", "iso"],
        ["--config", "c.toml", "get", "iso"],
        ["status"],
        ["capture"],
        ["describe", "iso"],
        ["shoot"],
    ],
)
def test_everything_else_goes_to_click(argv: list[str]) -> None:
    assert parse(argv) is None


# Each pair runs the same command line both ways, click first; a set repeats the value the
# click path just set, so both paths see the same camera state.
SAME_ANSWER = [
    ["get", "iso"],
    ["get", "0xD02A"],
    ["--json", "get", "iso"],
    ["get", "effect", "--json"],
    ["set", "iso", "800"],
    ["set", "iso", "0x320"],
    ["set", "--json", "effect", "Velvia"],
    ["set", "exp-bias", "-1/3"],
    ["set", "exp-bias", "0"],
    ["set", "effect", "Kodachrome"],  # refused before sending: exit 2
    ["get", "nosuchproperty"],  # exit 2
    ["set", "battery", "1"],  # read-only
]


@pytest.mark.parametrize("argv", SAME_ANSWER, ids=[" ".join(a) for a in SAME_ANSWER])
def test_quick_path_answers_as_click_does(daemon: Daemon, argv: list[str]) -> None:  # noqa: F811
    assert parse([a for a in argv]) is not None
    env = daemon.full_env()
    by_click = _run(CLICK, argv, env)
    quick = _run(ENTRY, argv, env)
    assert (quick.returncode, quick.stdout, quick.stderr) == (by_click.returncode, by_click.stdout, by_click.stderr)
    assert "Traceback" not in quick.stderr
    if quick.returncode == 0:
        assert quick.stdout.strip() and quick.stderr == ""
    else:
        assert len(quick.stderr.splitlines()) == 1 and quick.stderr.startswith("ptpctl: error: ")


def test_quick_path_without_a_daemon_answers_as_click_does(tmp_path: Path) -> None:
    env = dict(os.environ, PTPD_COMMAND_ENDPOINT=f"ipc://{tmp_path}/none")
    for argv in (["get", "iso"], ["set", "iso", "800"]):
        by_click = _run(CLICK, argv, env)
        quick = _run(ENTRY, argv, env)
        assert quick.returncode == by_click.returncode == 105
        assert quick.stderr == by_click.stderr and quick.stdout == by_click.stdout == ""


def test_quick_path_imports_no_click(daemon: Daemon) -> None:  # noqa: F811
    code = (
        "import sys\nfrom ptpctl.fast import run\nrc = run(['get', 'iso'])\n"
        "loaded = sorted(m for m in ('click', 'cv2', 'numpy', 'PIL', 'asyncio', 'ptpd.protocol') if m in sys.modules)\n"
        "print(rc, ','.join(loaded) or '-')\n"
    )
    r = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, env=daemon.full_env(), timeout=30)
    assert r.returncode == 0, r.stderr
    answer, report = r.stdout.strip().splitlines()
    assert answer.endswith(")")  # "800 (0x320)": the value was printed
    assert report == "0 -"


def test_quick_path_output_survives_a_closed_pipe(daemon: Daemon) -> None:  # noqa: F811
    # ``ptpctl get iso | head -0``: the reader is gone before the value is written. Both
    # paths: no message, no traceback, exit 1 (the value was not delivered).
    for program in (ENTRY, CLICK):
        r_fd, w_fd = os.pipe()
        os.close(r_fd)
        try:
            p = subprocess.run([PYTHON, "-c", program, "get", "iso"], stdout=w_fd, stderr=subprocess.PIPE, text=True,
                               env=daemon.full_env(), timeout=30)
        finally:
            os.close(w_fd)
        assert p.stderr == "", program
        assert p.returncode == 1, program
