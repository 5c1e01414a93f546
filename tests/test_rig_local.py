"""``ptprig`` with two daemons of this host (ipc): shots one after the other with the skew
over them, a shot name already taken, a gathering that is complete, and the live-view mosaic
served as a page and an MJPEG stream."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.harness import Daemon, DaemonOptions
from conftest import Proc, free_port, wait_for_port
from test_viewer import _read_mjpeg_parts

pytestmark = pytest.mark.timeout(180)

NAMES = ("left", "right")


@pytest.fixture(scope="module")
def rig_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("rigl")
    with contextlib.ExitStack() as stack:
        lines = []
        for name in NAMES:
            d = stack.enter_context(Daemon(root / name, DaemonOptions(simulate="fuji", latency_ms=5)))
            d.start(timeout=60)
            lines += [f"[cameras.{name}]", f'command = "{d.endpoints["command"]}"', ""]
        f = root / "rig.toml"
        f.write_text("\n".join(lines))
        yield f


def ptprig(rig_file: Path, *args: str, timeout: float = 90.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ptprig", "-r", str(rig_file), *args], capture_output=True, text=True, timeout=timeout
    )


def test_shots_one_after_the_other_report_their_skew(rig_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "shots"
    cp = ptprig(rig_file, "capture", "-n", "3", "-o", str(out))
    assert cp.returncode == 0, cp.stdout + cp.stderr
    per_shot = [
        float(x) for x in re.findall(r"^shot 000[123]: 2 of 2 camera\(s\) released, skew ([\d.]+) ms$", cp.stdout, re.M)
    ]
    assert len(per_shot) == 3, cp.stdout
    (summary,) = re.findall(
        r"^release skew over 3 shots: p50 ([\d.]+) ms, p99 ([\d.]+) ms, max ([\d.]+) ms$", cp.stdout, re.M
    )
    s = sorted(per_shot)
    # three shots: the median is the middle one, the p99 and the max the worst
    assert [float(x) for x in summary] == [s[1], s[2], s[2]], (summary, per_shot)

    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest["shots"]) == ["0001", "0002", "0003"]
    for k, (name, shot) in enumerate(manifest["shots"].items()):
        assert shot["skew_ms"] == pytest.approx(per_shot[k], abs=0.01)
        for cam in NAMES:
            e = shot["cameras"][cam]
            assert e["error"] is None and e["file"] == f"{name}/{cam}.jpg", e
            data = (out / e["file"]).read_bytes()
            assert data[:2] == b"\xff\xd8" and hashlib.sha256(data).hexdigest() == e["sha256"]

    # a shot's name is not fired twice; the next unnamed shot is numbered on
    cp = ptprig(rig_file, "capture", "--shot", "0002", "-o", str(out))
    assert cp.returncode == 2 and "shot 0002 is in" in cp.stderr and len(cp.stderr.strip().splitlines()) == 1, cp.stderr
    ok = ptprig(rig_file, "--json", "capture", "-o", str(out))
    assert ok.returncode == 0 and json.loads(ok.stdout)["shot"] == "0004", ok.stdout + ok.stderr

    # nothing is missing: nothing is fetched again
    cp = ptprig(rig_file, "download", "-o", str(out))
    assert cp.returncode == 0 and "0 file(s) fetched, 8 already there, 0 missing" in cp.stdout, cp.stdout + cp.stderr


def test_liveview_mosaic_as_an_mjpeg_page(rig_file: Path) -> None:
    import cv2
    import numpy as np

    port = free_port()
    server = Proc(
        [
            sys.executable,
            "-m",
            "ptprig",
            "-r",
            str(rig_file),
            "liveview",
            "--http",
            f"127.0.0.1:{port}",
            "--tile",
            "160x120",
            "--fps",
            "10",
        ]
    )
    try:
        wait_for_port(port, timeout=20)
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read().decode()
        assert 'src="/stream.mjpg"' in page and "left, right" in page

        def note_share(tile: np.ndarray) -> float:
            """The share of a tile in a note's grey (32, 32, 32): most of a tile that says why
            it has no picture (JPEG moves it a little), almost none of a picture."""
            return float((np.abs(tile.astype(int) - 32).max(axis=2) <= 6).mean())

        deadline = time.monotonic() + 30
        while True:  # the first mosaics may come before a camera's first frame
            (part,) = _read_mjpeg_parts(f"http://127.0.0.1:{port}/stream.mjpg", 1)
            img = cv2.imdecode(np.frombuffer(part, np.uint8), cv2.IMREAD_COLOR)
            assert img is not None and img.shape == (120, 320, 3)  # two tiles side by side
            shares = [note_share(img[:, :160]), note_share(img[:, 160:])]
            if max(shares) < 0.1 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert max(shares) < 0.1, f"a tile holds no picture: {shares}"
    finally:
        server.stop()
