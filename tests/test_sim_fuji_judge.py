"""The external judge: libgphoto2's own Fuji Wi-Fi driver against ``ptpd simulate --vendor fuji``.

``check_gphoto2.sh HOST PORT --fuji`` runs gphoto2 (camera "Fuji X (WLAN)") for summary,
list-config, get-config, set-config, list-files, get-file and capture-and-download; every
check must pass. Skipped only when gphoto2 is not installed and cannot be.
"""

from __future__ import annotations

import os
import subprocess
import sys
import pytest

from tests.conftest import SHARED, free_port, wait_for_port

JUDGE = SHARED / "tools" / "check_gphoto2.sh"

pytestmark = pytest.mark.timeout(240)


@pytest.mark.skipif(not JUDGE.exists(), reason=f"{JUDGE} not found (the judges live in shared/ beside the clone)")
def test_check_gphoto2_fuji_passes_every_check(spawn):
    port = free_port(3)  # command, events, live view
    proc = spawn([sys.executable, "-m", "ptpd", "simulate", "--vendor", "fuji", "--port", str(port),
                  "--pairing-delay", "0.5"])
    wait_for_port(port, timeout=30)
    env = dict(os.environ, SET_CONFIG="iso=400", GET_CONFIG="f-number=f/7.1 iso", GPHOTO2_TIMEOUT="30")
    res = subprocess.run(["bash", str(JUDGE), "127.0.0.1", str(port), "--fuji"], env=env,
                         capture_output=True, text=True, timeout=220)
    if res.returncode == 3:
        pytest.skip("gphoto2 unavailable: " + res.stderr.strip())
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "0 failed" in out and "FAIL" not in out
    for check in ("summary (FUJIFILM / X-T1)", "list-config", "get-config f-number", "get-config iso",
                  "set-config iso=400", "list-files", "get-file 1", "capture-image-and-download"):
        assert f"PASS {check}" in out, out
    assert proc.stop() == 0  # SIGTERM: a clean shutdown
