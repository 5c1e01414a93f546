"""Every benchmark script still runs: ``python -m bench.<name> --quick`` against the real
daemon, simulator, clients and gphoto2, in a few seconds each.

These are smoke checks, not measurements: nothing here asserts a time or a ratio (a
benchmark reports, it does not fail CI). They assert that each script exits 0, prints
what it compared and the machine, and produced its figures (every target has a value),
so the scripts cannot silently rot as the code under them changes. ``bench.faults`` is
exercised by ``test_reliability_faults.py`` (same code, shorter run).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("name", ["floors", "rpc", "fanout", "capture", "download", "memory", "fuzz"])
def test_benchmark_runs_quick(name: str, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    cp = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", "--quick", "--json", str(out)],
        capture_output=True, text=True, timeout=110, cwd=ROOT,
    )
    assert cp.returncode == 0, cp.stdout[-2000:] + cp.stderr[-3000:]
    assert "Traceback" not in cp.stderr, cp.stderr[-3000:]
    assert "compared:" in cp.stdout and "machine:" in cp.stdout and "cores" in cp.stdout
    r = json.loads(out.read_text())
    assert r["quick"] is True
    assert r["tables"] and all(t["rows"] for t in r["tables"]), r["tables"]
    assert all(t["value"] is not None for t in r["targets"]), r["targets"]
    if name == "fanout":
        # the socket path and the limit measured, and what else the cores ran beside each
        paths = {row[0] for t in r["tables"] for row in t["rows"]}
        assert {"ptpd live-view socket", "limit: bare reader on the camera socket"} <= paths, paths
        for key in ("latency_30fps", "latency_30fps_limit"):
            assert r["raw"][key]["camera_send_to_reader"]["n"] > 0, r["raw"][key]
            assert r["raw"][key]["other_cpu"]["ms_per_s"] >= 0, r["raw"][key]
    if name == "fuzz":
        findings = [n for n in r["notes"] if n.startswith("FINDING")]
        assert not findings, findings


def test_run_all_writes_results(tmp_path: Path) -> None:
    md = tmp_path / "results.md"
    cp = subprocess.run(
        [sys.executable, "-m", "bench.run_all", "--quick", "--only", "floors", "--out", str(md)],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert cp.returncode == 0, cp.stderr[-2000:]
    text = md.read_text()
    assert "# ptpd benchmark results" in text and "- written:" in text and "| rpc echo ipc" in text
    assert "Run: " in text and "commit" in text  # each section says when and where it ran
