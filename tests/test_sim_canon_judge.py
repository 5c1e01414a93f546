"""The external judge: libgphoto2's own EOS driver against ``ptpd simulate --vendor canon``.

``check_gphoto2.sh HOST PORT`` runs gphoto2 (camera "PTP/IP Camera") for summary,
list-config, get-config, set-config iso=400 read back, list-files, get-file and
capture-and-download; every check must pass. Then gphoto2 itself, beside the shared script:
the capture it downloads says ISO 400 in its EXIF (the set-config above is the camera's
now), ``--capture-preview`` saves a live-view JPEG, and an EOS M captures through its own
release (one press, Button 4) and previews on its own output. Skipped only when gphoto2
is not installed and cannot be.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SHARED, free_port, wait_for_port
from ptpd.simulator.jpeg import read_exif

JUDGE = SHARED / "tools" / "check_gphoto2.sh"
GUID = "50:54:50:44:2d:63:61:6e:6f:6e:2d:6a:75:64:67:65"

pytestmark = pytest.mark.timeout(240)


def gphoto2(home: Path, port: int, *args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HOME=str(home), LANG="C", LC_ALL="C")
    return subprocess.run(
        ["gphoto2", "--camera", "PTP/IP Camera", "--port", f"ptpip:127.0.0.1:{port}:{port}", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def private_home(root: Path) -> Path:
    home = root / "home"
    (home / ".gphoto").mkdir(parents=True)
    (home / ".gphoto" / "settings").write_text(f"ptp2_ip=guid={GUID}\n")  # never the user's own settings
    return home


def is_jpeg(data: bytes) -> bool:
    return data[:3] == b"\xff\xd8\xff" and data[-2:] == b"\xff\xd9"


@pytest.mark.skipif(not JUDGE.exists(), reason=f"{JUDGE} not found (the judges live in shared/ beside the clone)")
def test_gphoto2_judges_the_simulated_eos_body(spawn, tmp_path: Path) -> None:
    port = free_port()
    proc = spawn([sys.executable, "-m", "ptpd", "simulate", "--vendor", "canon", "--port", str(port)])
    wait_for_port(port, timeout=30)
    env = dict(
        os.environ,
        SET_CONFIG="iso=400",
        GET_CONFIG="aperture=5.6 shutterspeed=1/250 iso",
        EXPECT_MANUFACTURER="Canon Inc.",
        EXPECT_MODEL="Canon EOS 1300D",
        GPHOTO2_TIMEOUT="30",
    )
    res = subprocess.run(
        ["bash", str(JUDGE), "127.0.0.1", str(port)], env=env, capture_output=True, text=True, timeout=200
    )
    if res.returncode == 3:
        pytest.skip("gphoto2 unavailable: " + res.stderr.strip())
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    for check in (
        "summary (Canon Inc. / Canon EOS 1300D)",
        "list-config",
        "get-config aperture (Current: 5.6)",
        "get-config shutterspeed (Current: 1/250)",
        "get-config iso (Current: 100)",
        "set-config iso=400 (read back)",
        "list-files (3 files)",
        "get-file 1",
        "capture-image-and-download",
    ):
        assert f"PASS {check}" in out, out
    assert "0 failed" in out and "FAIL" not in out

    home = private_home(tmp_path)
    summary = gphoto2(home, port, "--summary", cwd=tmp_path)
    # libgphoto2 took VendorExtensionID 6 with a Canon Manufacturer for Canon's 0xB, and
    # the body for an EOS with the remote release, as it does a real one
    assert "Vendor Extension ID: 0xb" in summary.stdout and "Canon EOS Capture 2" in summary.stdout, summary.stdout
    shots = tmp_path / "shots"
    shots.mkdir()
    cap = gphoto2(home, port, "--capture-image-and-download", "--filename", "capture.%C", cwd=shots)
    assert cap.returncode == 0, cap.stdout + cap.stderr
    (jpeg,) = shots.glob("capture.*")
    data = jpeg.read_bytes()
    assert is_jpeg(data) and read_exif(data)["iso"] == 400, read_exif(data)
    preview = gphoto2(home, port, "--capture-preview", cwd=shots)
    assert preview.returncode == 0, preview.stdout + preview.stderr
    assert is_jpeg((shots / "capture_preview.jpg").read_bytes())
    assert proc.stop() == 0  # SIGTERM: a clean shutdown


@pytest.mark.skipif(shutil.which("gphoto2") is None, reason="gphoto2 is not installed")
def test_gphoto2_captures_and_previews_on_a_simulated_eos_m(spawn, tmp_path: Path) -> None:
    port = free_port()
    proc = spawn(
        [sys.executable, "-m", "ptpd", "simulate", "--vendor", "canon", "--model", "Canon EOS M", "--port", str(port)]
    )
    wait_for_port(port, timeout=30)
    home = private_home(tmp_path)
    res = gphoto2(home, port, "--capture-image-and-download", "--capture-preview", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert is_jpeg((tmp_path / "capt0000.jpg").read_bytes())
    assert is_jpeg((tmp_path / "capture_preview.jpg").read_bytes())
    assert proc.stop() == 0
