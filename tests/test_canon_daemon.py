"""A real ``ptpd run --simulate canon`` process and the clients, unchanged, against it:
``ptpctl`` info/state/get/set/describe/capture/ls/download/events, a focus stack, ``ptpview`` (live view
and overlay), ``ptptrigger``; and the pairing prompt as ``status.connection`` reports it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest

from conftest import Proc
from ptpd.camera.generic import PAIRING_PROMPT
from ptpd.simulator.jpeg import read_exif
from ptpd_client import Client, ClientError
from test_cli import is_jpeg, run
from test_client_daemon import Daemon

PYTHON = sys.executable
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def canon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    d = Daemon(tmp_path_factory.mktemp("canon"), "object", vendor="canon")
    try:
        d.wait_connected()
    except BaseException:
        d.stop()
        raise
    yield d
    assert d.stop() == 0, "the daemon did not exit cleanly on SIGTERM"


def test_info_state_get_set_describe(canon: Daemon) -> None:
    info = json.loads(run(canon, "--json", "info").output)
    assert (info["vendor"], info["manufacturer"], info["model"]) == ("canon", "Canon Inc.", "Canon EOS 1300D")
    state = {p["name"]: p["label"] for p in json.loads(run(canon, "state", "--json").output)}
    assert state["shutter-speed"] == "1/250" and state["f-number"] == "f/5.6" and state["whitebalance"] == "auto"
    r = run(canon, "set", "iso", "400")
    assert r.exit_code == 0 and r.output.strip() == "iso set to 400 (0x58)"
    assert run(canon, "get", "iso").output.strip() == "400 (0x58)"
    assert run(canon, "set", "exp-bias", "+1/3").output.strip() == "exp-bias set to +1/3 EV (0x3)"
    assert run(canon, "set", "shutter", "1/500").exit_code == 0
    assert run(canon, "get", "shutter-speed").output.strip() == "1/500 s (0x80)"
    d = json.loads(run(canon, "describe", "whitebalance", "--json").output)
    assert d["code"] == 0xD109 and d["writable"] and "daylight" in [a["label"] for a in d["allowed"]]
    bad = subprocess.run(
        [PYTHON, "-m", "ptpctl", "set", "iso", "125"], env=canon.full_env(), capture_output=True, text=True, timeout=30
    )
    assert bad.returncode == 2 and bad.stderr.startswith("ptpctl: error: set: invalid value")


def test_capture_ls_download_and_events(canon: Daemon, tmp_path: Path) -> None:
    with canon.client() as c:
        c.set("iso", "400")
        sub = subprocess.Popen(
            [PYTHON, "-m", "ptpctl", "events", "--count", "2", "--json", "event.object_added", "event.capture_done"],
            env=canon.full_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            time.sleep(1.0)  # subscribed before the shutter fires
            r = run(canon, "capture", "-o", str(tmp_path / "shots"), "--json")
            shot = json.loads(r.output)["shots"][0]
            out, _ = sub.communicate(timeout=20)
        finally:
            sub.kill()
    saved = Path(shot["saved"])
    assert is_jpeg(saved) and read_exif(saved.read_bytes())["iso"] == 400 and shot["source"] == "camera"
    topics = {json.loads(line)["topic"] for line in out.splitlines()}
    assert topics == {"event.object_added", "event.capture_done"}
    objs = json.loads(run(canon, "ls", "--json").output)
    names = [o["filename"] for o in objs]
    assert "IMG_0001.JPG" in names and shot["filename"] in names
    first = next(o for o in objs if o["filename"] == "IMG_0001.JPG")
    r = run(canon, "download", hex(first["handle"]), "-o", str(tmp_path), "--json")
    got = tmp_path / "IMG_0001.JPG"
    assert r.exit_code == 0 and is_jpeg(got) and got.stat().st_size == first["size"]
    status = json.loads(run(canon, "status", "--json").output)
    assert status["connection"] == "connected" and status["vendor"] == "canon" and status["reconnects"] == 0


def test_a_focus_stack_drives_the_lens_in_live_view(canon: Daemon, tmp_path: Path) -> None:
    with canon.client() as c:
        assert c.get("evf-output").value == 0
        job = c.jobs.focus_stack(3, step=2, dir=str(tmp_path))
        done = c.jobs.wait(job.id, timeout=60)
        assert done.state == "done" and done.done == 3, done
        files = sorted(tmp_path.iterdir())
        assert len(files) == 3 and all(is_jpeg(p) for p in files)
        assert len({p.read_bytes() for p in files}) == 3
        assert c.get("evf-output").value == 0  # live view turned on for the drive, and off again


def test_ptpview_snapshot_with_overlay(canon: Daemon, tmp_path: Path) -> None:
    r = subprocess.run(
        [PYTHON, "-m", "ptpview", "--snapshot", str(tmp_path / "v.png"), "--bare", str(tmp_path / "b.png")],
        env=canon.full_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    shown, bare = cv2.imread(str(tmp_path / "v.png")), cv2.imread(str(tmp_path / "b.png"))
    assert shown is not None and bare is not None
    assert shown.shape == bare.shape == (704, 1056, 3)  # the body's live-view frame
    assert (shown != bare).any()  # the overlay drew the settings


def test_ptptrigger_fires_on_the_moving_object(canon: Daemon, tmp_path: Path) -> None:
    r = subprocess.run(
        [PYTHON, "-m", "ptptrigger", "--json", "--motion", "--max-shots", "1", "--duration", "20", "-o", str(tmp_path)],
        env=canon.full_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    (record,) = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert record["kind"] == "motion" and Path(record["path"]).read_bytes()[:2] == b"\xff\xd8"


def test_pairing_is_reported_on_status_connection(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir(mode=0o700)
    eps = {n: f"ipc://{run_dir}/{n}" for n in ("command", "event", "liveview")}
    config = tmp_path / "ptpd.toml"
    # the user takes 1.5 s; the body holds its answer 0.5 s, refuses, and takes the next init
    config.write_text('[simulate]\nsubject = "none"\npairing_delay = 1.5\npairing_hold = 0.5\n')
    proc = Proc(
        [
            PYTHON,
            "-m",
            "ptpd",
            "run",
            "--simulate",
            "canon",
            "--config",
            str(config),
            "--command-endpoint",
            eps["command"],
            "--event-endpoint",
            eps["event"],
            "--liveview-endpoint",
            eps["liveview"],
            "--state-dir",
            str(tmp_path / "state"),
        ]
    )
    try:
        seen: list[tuple[str, str]] = []
        deadline = time.monotonic() + 20
        with Client(eps["command"], eps["event"], eps["liveview"], timeout=1.0) as c:
            while time.monotonic() < deadline and not (seen and seen[-1][0] == "connected"):
                try:
                    s = c.status()
                    seen.append((s.connection, s.raw.get("detail", "")))
                except ClientError:
                    pass
                time.sleep(0.1)
        assert ("pairing", PAIRING_PROMPT) in seen and seen[-1][0] == "connected", seen
    finally:
        assert proc.stop() == 0


def test_auto_is_the_default_vendor_on_the_standard_port_only() -> None:
    from ptpd.daemon.config import load_config

    env = {"XDG_RUNTIME_DIR": "/tmp/xdg-test", "HOME": "/home/u"}
    assert load_config({"host": "192.168.1.2"}, environ=env).vendor == "auto"
    assert load_config({"host": "192.168.1.2:15740"}, environ=env).vendor == "auto"
    assert load_config({"host": "192.168.1.2:15741"}, environ=env).vendor == "generic"
    assert load_config({"host": "192.168.1.2", "vendor": "canon"}, environ=env).vendor == "canon"
    assert load_config({"host": "192.168.1.2", "vendor": "generic"}, environ=env).vendor == "generic"
    assert load_config({"simulate": "canon"}, environ=env).vendor == "canon"


def test_the_overlay_places_a_canon_bodys_bias_and_program(canon: Daemon) -> None:
    """ptpview's overlay finds the bias and the program by their vendor-neutral names and
    places them by the standard numbers the daemon gives with Canon's own values (0xD104
    in eighths of an EV, 0xD105's dial): the pointer moves with the compensation, and the
    badge of the body's manual mode is the M a standard body's would be."""
    import numpy as np

    from ptpview.cli import load_state
    from ptpview.overlay import EXPOSURE_PROGRAM, YELLOW, ViewState, draw, widget_boxes

    frame = np.zeros((480, 640, 3), np.uint8)
    boxes = widget_boxes(640, 480)
    x0, y0, x1, y1 = boxes["bias"]
    at = {}
    with canon.client(timeout=10) as c:
        try:
            for label in ("-1", "+1"):
                c.set("exp-bias", label)
                state = ViewState()
                load_state(c, state)
                assert state.number("bias", 0x5010) == (1000 if label == "+1" else -1000)
                region = draw(frame.copy(), state)[y0:y1, x0:x1].astype(int)
                cols = np.flatnonzero((np.abs(region - np.array(YELLOW)).sum(axis=2) < 60).any(axis=0))
                assert cols.size, f"no bias pointer at {label}"
                at[label] = cols.mean() + x0
        finally:
            c.set("exp-bias", "0")
    mid = (x0 + x1) / 2
    assert at["-1"] < mid < at["+1"]
    # the simulated body's dial is at M (0xD105 = 3): the badge a standard body's manual draws
    program = state.find("program")
    assert program is not None and program["code"] == 0xD105 and state.number("program", EXPOSURE_PROGRAM) == 1
    standard = ViewState()
    standard.update(
        "exposure-program", {"code": EXPOSURE_PROGRAM, "name": "exposure-program", "value": 1, "label": "manual"}
    )
    px0, py0, px1, py1 = boxes["program"]
    assert np.array_equal(draw(frame.copy(), state)[py0:py1, px0:px1], draw(frame.copy(), standard)[py0:py1, px0:px1])
