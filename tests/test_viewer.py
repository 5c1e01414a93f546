"""ptpview against a real daemon: two snapshot viewers at once with the overlay, the
MJPEG server (and its page in headless Chromium), and the overlay's pure parts."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from conftest import Proc, free_port, wait_for_port
from ptpview.overlay import YELLOW, ViewState, bias_ev, draw, focus_point_xy, program_letter, widget_boxes
from test_client_daemon import Daemon

PYTHON = sys.executable
CHROMIUM = "/usr/bin/chromium"


def test_two_snapshot_viewers_at_once_with_overlay(daemon: Daemon, tmp_path: Path) -> None:
    procs = [
        subprocess.Popen(
            [PYTHON, "-m", "ptpview", "--snapshot", str(tmp_path / f"v{i}.png"), "--bare", str(tmp_path / f"b{i}.png")],
            env=daemon.full_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
    for i in range(2):
        over = cv2.imread(str(tmp_path / f"v{i}.png"))
        bare = cv2.imread(str(tmp_path / f"b{i}.png"))
        assert over is not None and bare is not None and over.shape == bare.shape == (480, 640, 3)
        diff = cv2.absdiff(over, bare).max(axis=2)
        boxes = widget_boxes(640, 480)
        # the widgets the X-T1 state always has: ISO, film simulation, battery, bias scale, program
        for name in ("iso", "film", "battery", "bias", "program", "remaining"):
            x0, y0, x1, y1 = boxes[name]
            assert (diff[y0:y1, x0:x1] > 60).sum() > 20, f"no overlay drawn for {name}"
        # away from the widgets and the focus marker the frame is untouched
        assert diff[120:200, 20:200].max() == 0
        assert diff[300:400, 420:620].max() == 0


def test_snapshot_refuses_to_overwrite(daemon: Daemon, tmp_path: Path) -> None:
    target = tmp_path / "s.jpg"
    target.write_bytes(b"keep")
    r = subprocess.run(
        [PYTHON, "-m", "ptpview", "--snapshot", str(target)],
        env=daemon.full_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 2 and r.stderr.startswith("ptpview: error:") and target.read_bytes() == b"keep"


def test_no_daemon_exits_105(tmp_path: Path) -> None:
    env = dict(os.environ, PTPD_COMMAND_ENDPOINT=f"ipc://{tmp_path}/none")
    r = subprocess.run(
        [PYTHON, "-m", "ptpview", "--snapshot", str(tmp_path / "x.png")],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 105 and len(r.stderr.strip().splitlines()) == 1


def _read_mjpeg_parts(url: str, n: int) -> list[bytes]:
    parts: list[bytes] = []
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.headers["Content-Type"].startswith("multipart/x-mixed-replace")
        buf = b""
        while len(parts) < n:
            chunk = resp.read1(65536)
            assert chunk, "stream ended"
            buf += chunk
            while True:
                start = buf.find(b"\r\n\r\n")
                if start < 0 or b"Content-Length:" not in buf[:start]:
                    break
                header = buf[:start].decode()
                length = int(header.split("Content-Length:")[1].split()[0])
                if len(buf) < start + 4 + length:
                    break
                parts.append(buf[start + 4 : start + 4 + length])
                buf = buf[start + 4 + length + 2 :]
    return parts


def test_mjpeg_server_and_page_in_chromium(daemon: Daemon, tmp_path: Path) -> None:
    port = free_port()
    server = Proc([PYTHON, "-m", "ptpview", "--http", f"127.0.0.1:{port}"], env=daemon.env)
    try:
        wait_for_port(port, timeout=15)
        parts = _read_mjpeg_parts(f"http://127.0.0.1:{port}/stream.mjpg", 3)
        imgs = [cv2.imdecode(np.frombuffer(p, np.uint8), cv2.IMREAD_COLOR) for p in parts]
        assert all(i is not None and i.shape == (480, 640, 3) for i in imgs)
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read().decode()
        assert '<img id="lv" src="/stream.mjpg"' in page
        if not os.path.exists(CHROMIUM):
            pytest.skip(f"{CHROMIUM} is not installed (the Makefile's debs target installs it)")
        shot = tmp_path / "page.png"
        with tempfile.TemporaryDirectory() as profile:
            r = subprocess.run(
                [
                    CHROMIUM,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    f"--user-data-dir={profile}",
                    "--window-size=800,600",
                    "--timeout=4000",
                    f"--screenshot={shot}",
                    f"http://127.0.0.1:{port}/",
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
        assert shot.exists(), r.stderr[-2000:]
        img = cv2.imread(str(shot))
        assert img is not None
        # the page is dark (#111); the live view (sky, grass) must be painted below the header
        region = img[40:500, 0:640]
        assert region.mean() > 60 and region.std() > 20, "the live view did not show in the browser"
        assert img[40:500, 700:800].mean() < 40  # page background beside the image
    finally:
        server.stop()


# -- pure parts ------------------------------------------------------------------------------


def test_program_badges_are_not_swapped() -> None:
    # the ptp-ip tool drew A for shutter priority and S for aperture priority; the badge
    # comes from the ExposureProgramMode value, whatever the label says
    assert program_letter(3, "aperture priority") == "A"
    assert program_letter(4, "shutter priority") == "S"
    assert program_letter(1, "anything") == "M"
    assert program_letter(2, "P") == "P"
    assert program_letter(7, "portrait") == "POR"  # a program without a badge shows its label


def test_bias_from_the_raw_value() -> None:
    assert bias_ev(0) == 0
    assert bias_ev(-333) == pytest.approx(-1 / 3, abs=1e-3)
    assert bias_ev(1667) == pytest.approx(5 / 3, abs=1e-3)
    assert bias_ev(-2333) == pytest.approx(-7 / 3, abs=1e-3)
    assert bias_ev(0xFEB3) == bias_ev(0xFFFFFEB3) == pytest.approx(-1 / 3, abs=1e-3)  # INT16 in a wider slot
    assert bias_ev(None) is None


def test_focus_point_from_the_raw_value() -> None:
    assert focus_point_xy(0x03020404) == (4, 4)  # the X-T1's value: upper 16 bits not part of the point
    assert focus_point_xy(0x0302070A) == (7, 10)
    assert focus_point_xy(None) is None


def _yellow_columns(img: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    region = img[y0:y1, x0:x1].astype(int)
    hit = (np.abs(region - np.array(YELLOW)).sum(axis=2) < 60).any(axis=0)
    return np.flatnonzero(hit) + x0


def test_overlay_draws_numbers_not_labels() -> None:
    # The bias pointer sits where the raw value says, whatever the label reads; a label
    # the overlay could not parse moves nothing.
    frame = np.zeros((480, 640, 3), np.uint8)
    box = widget_boxes(640, 480)["bias"]
    at: dict[int, float] = {}
    for value in (-1000, 1000):
        state = ViewState()
        state.update("exp-bias", {"code": 0x5010, "name": "exp-bias", "value": value, "label": "(unreadable)"})
        cols = _yellow_columns(draw(frame.copy(), state), box)
        assert cols.size, f"no bias pointer for {value}"
        at[value] = cols.mean()
    mid = (box[0] + box[2]) / 2
    assert at[-1000] < mid < at[1000]
    # ISO: the auto badge from Fuji's flag in the raw value, not from an "S" in the label
    iso_box = widget_boxes(640, 480)["iso"]
    drawn = []
    for value in (0x80001900, 6400):
        state = ViewState()
        state.update("iso", {"code": 0xD02A, "name": "iso", "value": value, "label": "6400"})
        x0, y0, x1, y1 = iso_box
        drawn.append(draw(frame.copy(), state)[y0:y1, x0:x1])
    assert not np.array_equal(drawn[0], drawn[1])
    # the focus marker moves with the raw value (4x4 is the centre of the X-T1's 7x7 grid)
    state = ViewState()
    state.update("focusmtr", {"code": 0xD17C, "name": "focusmtr", "value": 0x03020101, "label": "4x4"})
    corner = draw(frame.copy(), state)
    assert corner[:120, :160].max() > 0 and corner[200:280, 280:360].max() == 0


def test_state_events_change_the_overlay() -> None:
    state = ViewState()
    state.replace({"iso": {"code": 0xD02A, "name": "iso", "value": 800, "label": "800"}})
    frame = np.zeros((480, 640, 3), np.uint8)
    a = draw(frame.copy(), state)
    assert state.apply_event("state.iso", {"name": "iso", "code": 0xD02A, "value": 0x80001900, "label": "S6400"})
    b = draw(frame.copy(), state)
    x0, y0, x1, y1 = widget_boxes(640, 480)["iso"]
    assert not np.array_equal(a[y0:y1, x0:x1], b[y0:y1, x0:x1])
    assert not state.apply_event("heartbeat", {})


def test_low_battery_red_is_reset() -> None:
    state = ViewState()
    state.set_range(0x5001, 0, 3)  # the X-T1's description: a range 0..3
    frame = np.zeros((480, 640, 3), np.uint8)
    x0, y0, x1, y1 = widget_boxes(640, 480)["battery"]
    state.update("battery", {"code": 0x5001, "name": "battery", "value": 1, "label": "1/3"})
    low = draw(frame.copy(), state)[y0:y1, x0:x1]
    state.update("battery", {"code": 0x5001, "name": "battery", "value": 3, "label": "3/3"})
    full = draw(frame.copy(), state)[y0:y1, x0:x1]

    def is_red(img: Any) -> Any:
        return ((img[..., 2] > 150) & (img[..., 0] < 100)).sum()

    assert is_red(low) > 10 and is_red(full) == 0
    # against a range of 0..100 (a generic body), 20 is low and 90 is not
    state.set_range(0x5001, 0, 100)
    state.update("battery", {"code": 0x5001, "name": "battery", "value": 20, "label": "20%"})
    assert is_red(draw(frame.copy(), state)[y0:y1, x0:x1]) > 10
    state.update("battery", {"code": 0x5001, "name": "battery", "value": 90, "label": "90%"})
    assert is_red(draw(frame.copy(), state)[y0:y1, x0:x1]) == 0


def test_battery_without_a_scale_shows_its_label() -> None:
    # no description: the level cannot be drawn as bars, so the camera's own words show
    state = ViewState()
    state.update("battery", {"code": 0x5001, "name": "battery", "value": 1, "label": "1/3"})
    frame = np.zeros((480, 640, 3), np.uint8)
    x0, y0, x1, y1 = widget_boxes(640, 480)["battery"]
    region = draw(frame.copy(), state)[y0:y1, x0:x1]
    assert region.max() > 0 and ((region[..., 2] > 150) & (region[..., 0] < 100)).sum() == 0


def test_snapshot_without_live_view_returns_at_once(tmp_path: Path) -> None:
    import time

    d = Daemon(tmp_path / "generic", vendor="generic")  # a body without live view
    try:
        d.wait_connected()
        for _ in range(2):  # learnt on the first subscription; known before the second
            t0 = time.monotonic()
            r = subprocess.run(
                [PYTHON, "-m", "ptpview", "--snapshot", str(tmp_path / "x.png"), "--timeout", "20"],
                env=d.full_env(),
                capture_output=True,
                text=True,
                timeout=60,
            )
            took = time.monotonic() - t0
            assert r.returncode == 106, r.stderr
            assert r.stderr.startswith("ptpview: error: the camera has no live view") and r.stderr.count("\n") == 1
            assert took < 8, took  # not the 20 s it was given to wait
            assert not (tmp_path / "x.png").exists()
        with d.client() as c:
            assert c.status().liveview.unsupported  # what the viewer read
    finally:
        d.stop()


@pytest.mark.parametrize(("dial", "letter"), [(2, "A"), (1, "S"), (0, "P"), (3, "M")])
def test_a_canon_dial_draws_the_standard_badge(dial: int, letter: str) -> None:
    """Canon's AE mode (0xD105: 2 Av, 1 Tv) read through the camera layer over real
    sockets: the badge is the A or S a standard body shows, not the start of "Av"/"Tv"."""
    import asyncio
    import uuid

    from ptpd.camera.canon import CanonCamera
    from ptpd.canon.codes import CanonPropCode as C
    from ptpd.daemon.shapes import prop_dict
    from ptpd.simulator import start_simulator

    async def read() -> dict:
        sim = await start_simulator("canon", "127.0.0.1", 0)
        cam = CanonCamera("127.0.0.1", sim.port, guid=uuid.uuid4().bytes)
        try:
            await cam.connect()
            sim.device.set_value(C.AutoExposureMode, dial)  # the dial turned
            await cam.poll(drain=True)  # the body reports it in its next GetEvent
            return prop_dict(await cam.get("exposure-program"))
        finally:
            await cam.close()
            await sim.close()

    entry = asyncio.run(read())
    frame = np.zeros((480, 640, 3), np.uint8)
    box = widget_boxes(640, 480)["program"]
    canon, standard = ViewState(), ViewState()
    canon.update(entry["name"], entry)
    standard.update(
        "exposure-program",
        {"code": 0x500E, "name": "exposure-program", "value": "MPAS".index(letter) + 1, "label": letter},
    )
    x0, y0, x1, y1 = box
    assert program_letter(canon.number("program", 0x500E), entry["label"]) == letter
    assert np.array_equal(draw(frame.copy(), canon)[y0:y1, x0:x1], draw(frame.copy(), standard)[y0:y1, x0:x1])


def test_a_running_job_shows_on_the_overlay(daemon: Daemon, tmp_path: Path) -> None:
    """ptpview finds the jobs running when it starts (and follows job.<id> events): a line
    under the top row, gone once the job ended."""
    with daemon.client() as c:
        job = c.jobs.tether(str(tmp_path / "tethered"))
        try:
            r = subprocess.run(
                [PYTHON, "-m", "ptpview", "--snapshot", str(tmp_path / "v.png"), "--bare", str(tmp_path / "b.png")],
                env=daemon.full_env(),
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert r.returncode == 0, r.stderr
        finally:
            c.jobs.stop(job.id)
    view, bare = cv2.imread(str(tmp_path / "v.png")), cv2.imread(str(tmp_path / "b.png"))
    assert view is not None and bare is not None
    diff = cv2.absdiff(view, bare).max(axis=2)
    x0, y0, x1, y1 = widget_boxes(640, 480)["job"]
    assert (diff[y0:y1, x0:x1] > 60).sum() > 50

    state = ViewState()
    frame = np.full((480, 640, 3), 90, np.uint8)
    running = {"id": 7, "kind": "timelapse", "state": "running", "done": 12, "total": 360, "missed": 1, "next_at": None}
    assert state.apply_event("job.7", running)
    drawn = cv2.absdiff(draw(frame.copy(), state), frame).max(axis=2)
    assert (drawn[y0:y1, x0:x1] > 30).sum() > 50
    state.apply_event("job.7", {**running, "state": "done"})
    assert not state.jobs()
    assert cv2.absdiff(draw(frame.copy(), state), frame).max(axis=2)[y0:y1, x0:x1].max() == 0
