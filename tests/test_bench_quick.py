"""Every benchmark script still runs: ``python -m bench.<name> --quick`` against the real
daemon, simulator, clients and gphoto2, in a few seconds each.

These are smoke checks, not measurements: nothing here asserts a time or a ratio (a
benchmark reports, it does not fail CI). They assert that each script exits 0, prints
what it compared and the machine, and produced its figures (every target has a value),
so the scripts cannot silently rot as the code under them changes. ``bench.faults`` is
exercised by ``test_reliability_faults.py`` (same code, shorter run).

The link benchmarks (capture, fanout, rpc, reconnect) make network namespaces: they need
root and ``ip``/``tc``/``nsenter``, and are skipped, saying why, where those are missing.
Afterwards no namespace of theirs is left.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.timeout(120)

LINKS = ("capture", "fanout", "rpc", "reconnect")


def _our_namespaces() -> set[str]:
    cp = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10)
    return {line.split()[0] for line in cp.stdout.splitlines() if line.startswith("ptpdl")}


@pytest.mark.parametrize("name", [*LINKS, "memory", "fuzz", "rig", "timelapse"])
def test_benchmark_runs_quick(name: str, tmp_path: Path) -> None:
    if name in LINKS:
        from bench.netns import available

        why = available()
        if why:
            pytest.skip(why)
    out = tmp_path / "result.json"
    p = subprocess.Popen(
        [sys.executable, "-m", f"bench.{name}", "--quick", "--json", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    pid = p.pid
    try:
        stdout, stderr = p.communicate(timeout=110)
    finally:
        if p.poll() is None:
            p.terminate()  # a link benchmark unwinds on SIGTERM: its namespaces go
            p.communicate(timeout=30)
    cp = subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr)
    assert cp.returncode == 0, cp.stdout[-2000:] + cp.stderr[-3000:]
    assert "Traceback" not in cp.stderr, cp.stderr[-3000:]
    assert "compared:" in cp.stdout and "machine:" in cp.stdout and "cores" in cp.stdout
    r = json.loads(out.read_text())
    assert r["quick"] is True
    assert r["tables"] and all(t["rows"] for t in r["tables"]), r["tables"]
    assert all(t["value"] is not None for t in r["targets"]), r["targets"]
    if name in LINKS:
        # a row per measure in the profile's summary, with a figure on both sides
        assert r["summary"] and all(row[0] == "Ethernet/USB class" and row[2] and row[3] for row in r["summary"]), r[
            "summary"
        ]
        left = {n for n in _our_namespaces() if n.startswith(f"ptpdl{pid}-")}
        assert not left, left  # everything it made is gone
    if name == "capture":
        # every shot gave a whole file, and the link carried each transfer
        for key, v in r["raw"]["wired"].items():
            if key.startswith(("JPEG_", "RAW_")):
                assert v["seconds"]["n"] == 2 and not v["problems"] and v["rate"]["n"] == 2, (key, v)
    if name == "fanout":
        # the link alone and the daemon measured, frames matched to the camera's sends
        raw = r["raw"]["wired"]
        for key in ("bare", "ptpd_1", "ptpd_2"):
            assert raw[key]["latency"]["n"] > 0 and raw[key]["unmatched"] == 0, raw[key]
            assert raw[key]["other_cpu"]["ms_per_s"] >= 0
        ff = raw["first_frame"]
        assert (
            ff["ptpd"]["n"] == 4
            and ff["ptpd_parts"]["to_camera_send"]["n"] == 4
            and ff["gphoto2_preview"]["times"]["n"] > 0
        ), ff
    if name == "reconnect":
        assert all(v["back"]["n"] == 1 for k, v in r["raw"].items()), r["raw"]
    if name == "timelapse":
        # every shot of every series taken on its slot and saved whole, its drift recorded
        for key, v in r["raw"].items():
            assert v["job_state"] == "done" and v["missed"] == 0 and v["valid"] == len(v["drifts"]) == 2, (key, v)
    if name == "fuzz":
        findings = [n for n in r["notes"] if n.startswith("FINDING")]
        assert not findings, findings


def test_run_all_writes_results(tmp_path: Path) -> None:
    md = tmp_path / "results.md"
    cp = subprocess.run(
        [sys.executable, "-m", "bench.run_all", "--quick", "--only", "memory", "--out", str(md)],
        capture_output=True,
        text=True,
        timeout=100,
        cwd=ROOT,
    )
    assert cp.returncode == 0, cp.stderr[-2000:]
    text = md.read_text()
    assert "# ptpd benchmark results" in text and "- written:" in text and "| peak while 4 subscribers" in text
    assert "Run: " in text and "commit" in text  # each section says when and where it ran
