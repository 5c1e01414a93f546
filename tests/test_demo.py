"""``make demo`` (``python -m ptpdemo``) runs end to end and leaves its files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2


def test_demo_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "captures"
    r = subprocess.run(
        [sys.executable, "-m", "ptpdemo", "-o", str(out)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for step in (
        "$ ptpctl info",
        "$ ptpctl state",
        "$ ptpctl set iso 800",
        "$ ptpctl capture 2",
        "$ ptpview --snapshot",
        "$ ptptrigger --motion",
        "stopped the daemon",
    ):
        assert step in r.stdout
    jpegs = sorted(out.glob("*.JPG"))
    assert len(jpegs) == 3  # two captures and the trigger's shot
    assert all(p.read_bytes()[:2] == b"\xff\xd8" for p in jpegs)
    (png,) = out.glob("viewfinder-*.png")
    img = cv2.imread(str(png))
    assert img is not None and img.shape == (480, 640, 3)
    assert "iso set to 800" in r.stdout and "effect set to Velvia" in r.stdout


def test_demo_on_a_simulated_canon(tmp_path: Path) -> None:
    """``make demo VENDOR=canon``: the same commands on a simulated EOS body."""
    out = tmp_path / "captures"
    r = subprocess.run(
        [sys.executable, "-m", "ptpdemo", "--vendor", "canon", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "$ ptpd run --simulate canon" in r.stdout and "Canon EOS 1300D" in r.stdout
    assert "iso set to 800" in r.stdout and "picture-style set to monochrome" in r.stdout
    jpegs = sorted(out.glob("*.JPG"))
    assert len(jpegs) == 3 and all(p.read_bytes()[:2] == b"\xff\xd8" for p in jpegs)
    (png,) = out.glob("viewfinder-*.png")
    img = cv2.imread(str(png))
    assert img is not None and img.shape == (704, 1056, 3)
