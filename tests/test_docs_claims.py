"""What the docs say the programs do, checked against the programs: README's ptpctl
outputs, daemon.md's example, reliability.md's cited tests and client claims, bus.md's
capture ``source`` against ptpctl's, viewer.md's overlay table against what the
overlay draws on the simulated X-T1, and cli.md's list of commands that take ``--json``."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import ROOT
from test_client_daemon import Daemon

PYTHON = sys.executable
DOCS = ROOT / "docs"


def ptpctl(d: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "ptpctl", *args], capture_output=True, text=True, env=d.full_env(), timeout=60)


# -- README ---------------------------------------------------------------------------------------


def test_readmes_ptpctl_outputs_are_what_a_fresh_simulator_prints(tmp_path: Path) -> None:
    block = re.search(r"## Using it\n\n```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block
    # "ptpctl get iso   # S6400 (0x80001900): ..." -> the command and the output it shows
    claims = re.findall(r"^(ptpctl (?:get|set) [^#]*?)\s+#\s+(.*?\(0x[0-9A-F]+\))", block.group(1), re.M)
    assert len(claims) >= 2, block.group(1)
    d = Daemon(tmp_path / "fresh")  # the README starts from `ptpd run --simulate fuji`
    try:
        d.wait_connected()
        for command, shown in claims:
            r = ptpctl(d, *command.split()[1:])
            assert r.returncode == 0, r.stderr
            assert r.stdout.strip() == shown, command
    finally:
        d.stop()


# -- daemon.md -------------------------------------------------------------------------------------


def test_daemon_md_examples_run_wherever_the_daemon_is(tmp_path: Path) -> None:
    text = (DOCS / "daemon.md").read_text()
    examples = re.findall(r"```python\n(.*?)```", text, re.S)
    assert examples
    assert not re.search(r"ipc:///run/user/\d+", text)  # no one user's runtime directory
    d = Daemon(tmp_path / "sim")  # ptpd run --simulate fuji, at endpoints of its own
    try:
        d.wait_connected()
        for code in examples:
            script = tmp_path / "example.py"
            script.write_text(code)
            r = subprocess.run([PYTHON, str(script)], env=d.full_env(), capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, f"{code}\n{r.stderr}"
            assert r.stdout.strip()
    finally:
        d.stop()


# -- reliability.md ----------------------------------------------------------------------------------


def _tests_and_xfails() -> tuple[set[str], set[str]]:
    names, xfail = set(), set()
    for path in (ROOT / "tests").glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                names.add(node.name)
                if any("xfail" in ast.unparse(dec) for dec in node.decorator_list):
                    xfail.add(node.name)
    return names, xfail


def test_reliability_md_cites_tests_as_they_are() -> None:
    text = (DOCS / "reliability.md").read_text()
    names, xfail = _tests_and_xfails()
    cited = set(re.findall(r"`(test_\w+)`", text))
    assert cited and cited <= names, cited - names
    for paragraph in text.split("\n\n"):
        for name in set(re.findall(r"`(test_\w+)`", paragraph)):
            says_xfail = re.search(r"\bxfail\b", paragraph) and not re.search(
                r"no longer an expected failure", paragraph
            )
            assert bool(says_xfail) == (name in xfail), f"{name}: reliability.md and its marker disagree"


def test_reliability_md_on_client_curve_keys_matches_the_clients() -> None:
    import click

    from ptpctl.cli import cli as ptpctl_cli
    from ptptrigger.cli import cli as trigger_cli
    from ptpview.cli import cli as view_cli

    text = " ".join((DOCS / "reliability.md").read_text().split())
    assert "take no CURVE keys" not in text
    for name, command in (("ptpctl", ptpctl_cli), ("ptpview", view_cli), ("ptptrigger", trigger_cli)):
        assert isinstance(command, click.Command)
        opts = {o for p in command.params for o in p.opts}
        assert {"--curve-server-key", "--curve-client-key"} <= opts, name
        assert f"`{name}`" in text
    import inspect

    from ptpd_client import AsyncClient, Client

    for cls in (Client, AsyncClient):
        assert {"curve_server_key", "curve_client_key"} <= set(inspect.signature(cls).parameters)


# -- bus.md and cli.md: a capture's source -------------------------------------------------------------


def test_capture_source_is_one_word_in_bus_md_ptpctl_and_cli_md(daemon: Daemon, tmp_path: Path) -> None:
    r = ptpctl(daemon, "capture", "-o", str(tmp_path), "--json")
    assert r.returncode == 0, r.stderr
    source = json.loads(r.stdout)["shots"][0]["source"]
    with daemon.client() as c:
        raw = c.capture(download=True).shots[0].raw["source"]
    assert source == raw == "camera"  # ptpctl says what the daemon says
    bus_md = (DOCS / "bus.md").read_text()
    capture = re.search(r"^### `capture`(.*?)^### ", bus_md, re.S | re.M)
    assert capture and f'`source: "{source}"`' in capture.group(1)
    assert f'`"{source}"`' in (DOCS / "cli.md").read_text()


# -- viewer.md: the X-T1's overlay by exposure program ---------------------------------------------------

#: viewer.md's widget words -> the overlay's widget names
_WIDGETS = {
    "self-timer": "delay",
    "white balance": "whitebalance",
    "film simulation": "film",
    "focus mode": "focus",
    "flash": "flash",
    "shots remaining": "remaining",
    "quality": "quality",
    "size": "size",
    "program": "program",
    "exposure bias": "bias",
    "iso": "iso",
    "battery": "battery",
    "aperture": "aperture",
    "shutter speed": "shutter",
    "metering": "metering",
}


def _documented_programs() -> dict[str, set[str]]:
    text = (DOCS / "viewer.md").read_text()
    rows = dict(re.findall(r"^\| ([PASM]) \| (.*?) \|$", text, re.M))
    assert set(rows) == {"P", "A", "S", "M"}, rows
    out: dict[str, set[str]] = {}
    for program, cell in rows.items():
        cell = cell.replace("those of P", "").replace(" (when on)", "")
        words = {w.strip().lower() for w in re.split(r",|\band\b", cell) if w.strip()}
        out[program] = {_WIDGETS[w] for w in words} | (out.get("P", set()) if program != "P" else set())
    return out


def _drawn(state_props: list) -> set[str]:
    from ptpview.overlay import ViewState, draw, widget_boxes

    state = ViewState()
    for p in state_props:
        state.update(p.name, p)
    frame = np.full((480, 640, 3), 90, np.uint8)
    diff = cv2.absdiff(draw(frame.copy(), state), frame).max(axis=2)
    boxes = widget_boxes(640, 480)
    return {name for name, (x0, y0, x1, y1) in boxes.items() if (diff[y0:y1, x0:x1] > 30).sum() > 10}


def test_viewer_md_overlay_table_is_what_the_x_t1_draws(daemon: Daemon) -> None:
    documented = _documented_programs()
    with daemon.client() as c:
        before = c.get("exposure-program").label, c.get("delay").label
        try:
            c.set("delay", "10s")  # the self-timer shows only when it is on (the table says so)
            for program in ("P", "A", "S", "M"):
                c.set("exposure-program", program)
                drawn = _drawn(c.state())
                assert drawn == documented[program], (program, drawn ^ documented[program])
                assert "metering" not in drawn
        finally:
            c.set("exposure-program", before[0])
            c.set("delay", before[1])


# -- cli.md: --json ------------------------------------------------------------------------------------


def test_cli_md_names_the_commands_that_take_json() -> None:
    from ptpctl.cli import cli

    text = " ".join((DOCS / "cli.md").read_text().split())
    said = re.search(r"on the commands that print data: (.*?) \(one object per line\)", text)
    ignored = re.search(r"\. ((?:`[a-z]+`,? (?:and )?)+)print no data and ignore the group's `--json`", text)
    assert said and ignored, "cli.md: the --json paragraph moved"
    takes = set(re.findall(r"`([a-z]+)`", said.group(1)))
    without = set(re.findall(r"`([a-z]+)`", ignored.group(1)))
    ctx = __import__("click").Context(cli)
    actual = {
        name
        for name in cli.list_commands(ctx)
        if "--json" in {o for p in cli.get_command(ctx, name).params for o in p.opts}  # type: ignore[union-attr]  # a listed command exists
    }
    assert takes == actual
    assert without == set(cli.list_commands(ctx)) - actual
    r = subprocess.run([PYTHON, "-m", "ptpctl", "--json", "help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith("Usage: ptpctl")  # text, as the doc now says
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.stdout)
