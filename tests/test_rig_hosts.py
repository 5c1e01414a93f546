"""A rig across hosts, for real: 4 daemons in 2 network namespaces (each a "host" with its
own address, joined by a veth pair), reached over TCP with CURVE, driven by ``ptprig`` as a
process in one of them. Every command runs the way a user runs it; nothing is mocked.

The namespaces and addresses exist only for the module's duration (``tests/netns_hosts.py``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.common import Proc
from bench.harness import ptpd_cmd
from netns_hosts import ADDRESSES, Hosts, unavailable

pytestmark = [pytest.mark.timeout(180), pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))]

BIN = Path(sys.executable).parent
PTPRIG = [str(BIN / "ptprig")] if (BIN / "ptprig").exists() else [sys.executable, "-m", "ptprig"]
#: camera -> (host, vendor, command port)
CAMERAS = {"a1": (0, "generic", 5600), "a2": (0, "fuji", 5610), "b1": (1, "generic", 5600), "b2": (1, "fuji", 5610)}


class Rig:
    """The hosts, the daemons on them, the keys and the rig file."""

    def __init__(self, hosts: Hosts, root: Path) -> None:
        self.hosts = hosts
        self.root = root
        self.daemons: dict[str, Proc] = {}
        self.logs: dict[str, Path] = {}
        self.file = root / "rig.toml"

    def keys(self) -> None:
        for host in ("a", "b"):
            subprocess.run([*ptpd_cmd(), "keys", str(self.root / host)], check=True, timeout=30, capture_output=True)
            (self.root / host / "clients").mkdir()
        subprocess.run(
            [*ptpd_cmd(), "keys", str(self.root / "me"), "--name", "rig"], check=True, timeout=30, capture_output=True
        )
        for host in ("a", "b"):
            (self.root / host / "clients" / "rig.key").write_bytes((self.root / "me" / "rig.key").read_bytes())

    def start(self, name: str) -> None:
        host, vendor, port = CAMERAS[name]
        h = "ab"[host]
        work = self.root / name
        work.mkdir(exist_ok=True)
        addr = ADDRESSES[host]
        config = work / "ptpd.toml"
        config.write_text(
            textwrap.dedent(f"""\
            [camera]
            timeout = 5
            keepalive = 0
            [bus]
            command = "tcp://{addr}:{port}"
            event = "tcp://{addr}:{port + 1}"
            liveview = "tcp://{addr}:{port + 2}"
            curve_secret_key = "{self.root / h / "server.key_secret"}"
            curve_clients = "{self.root / h / "clients"}"
            [daemon]
            log_level = "info"
            state_dir = "{work / "state"}"
            [simulate]
            vendor = "{vendor}"
            latency = 15
            """)
        )
        self.logs[name] = work / "daemon.log"
        self.daemons[name] = Proc(
            self.hosts.run_in(host, [*ptpd_cmd(), "run", "--config", str(config)]), log=self.logs[name]
        )

    def wait_connected(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        waiting = set(self.daemons)
        while waiting:
            for name in list(waiting):
                text = self.logs[name].read_text(errors="replace") if self.logs[name].exists() else ""
                if "camera connected" in text:
                    waiting.discard(name)
                elif not self.daemons[name].alive() or time.monotonic() > deadline:
                    raise AssertionError(f"daemon {name} not connected:\n{text[-2000:]}")
            time.sleep(0.05)

    def write_file(self) -> None:
        lines = ['client_key = "me/rig.key_secret"', ""]
        for h, addr in zip("ab", ADDRESSES):
            lines += [f"[hosts.{h}]", f'address = "{addr}"', f'server_key = "{h}/server.key"', ""]
        for name, (host, _, port) in CAMERAS.items():
            lines += [f"[cameras.{name}]", f'host = "{"ab"[host]}"', f"port = {port}", ""]
        # a camera of host b whose daemon is not running (no one listens on its ports)
        lines += ["[cameras.gone]", f'command = "tcp://{ADDRESSES[1]}:5620"', 'server_key = "b/server.key"', ""]
        lines += ["[groups]", 'fuji = ["a2", "b2"]']
        self.file.write_text("\n".join(lines) + "\n")

    def ptprig(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """``ptprig -r rig.toml ARGS`` as a process in host a's namespace."""
        return subprocess.run(
            self.hosts.run_in(0, [*PTPRIG, "-r", str(self.file), *args]),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
        )

    def stop(self) -> None:
        for p in self.daemons.values():
            p.stop()


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    root = tmp_path_factory.mktemp("rig")
    with Hosts() as hosts:
        r = Rig(hosts, root)
        try:
            r.keys()
            for name in CAMERAS:
                r.start(name)
            r.write_file()
            r.wait_connected()
            yield r
        finally:
            r.stop()


def ok(cp: subprocess.CompletedProcess[str]) -> str:
    assert cp.returncode == 0, f"exit {cp.returncode}\n{cp.stdout[-3000:]}\n{cp.stderr[-3000:]}"
    return cp.stdout


REAL = ("-g", "a", "-g", "b")  #: the four daemons (each host's group); "gone" is not in them


def test_a_rig_across_two_hosts(rig: Rig) -> None:
    """One test, not several: under pytest-xdist each test of a module may run in another
    worker, and each worker would build the hosts and start the daemons again."""
    from PIL import Image

    # status of every camera, over CURVE TCP
    rows = json.loads(ok(rig.ptprig(*REAL, "--json", "status")))
    assert set(rows) == set(CAMERAS)
    for name, row in rows.items():
        assert row["connection"] == "connected", (name, row)
        assert row["model"] == ("X-T1" if CAMERAS[name][1] == "fuji" else "ptpd Virtual Camera")
        assert row["battery"] and isinstance(row["shots_left"], int) and row["shots_left"] > 0, row

    # set on a group, a result per camera
    got = json.loads(ok(rig.ptprig("-g", "fuji", "--json", "set", "iso", "400")))
    assert set(got) == {"a2", "b2"} and all(v["ok"] and v["label"] == "400" for v in got.values()), got
    cp = rig.ptprig("-g", "b", "--json", "set", "iso", "123456")  # a value no camera allows
    got = json.loads(cp.stdout)
    assert cp.returncode == 2 and set(got) == {"b1", "b2"}, (cp.returncode, got)
    assert all(not v["ok"] and v["code"] == "invalid_value" for v in got.values()), got

    # a capture gathers four valid files with the manifest
    out = rig.root / "shots"
    text = ok(rig.ptprig(*REAL, "capture", "-o", str(out)))
    assert "shot 0001: 4 of 4 camera(s) released" in text, text
    shot = json.loads((out / "manifest.json").read_text())["shots"]["0001"]
    assert set(shot["cameras"]) == set(CAMERAS)
    assert isinstance(shot["skew_ms"], float) and shot["skew_ms"] >= 0
    for name, e in shot["cameras"].items():
        assert e["error"] is None and e["file"] == f"0001/{name}.jpg", (name, e)
        data = (out / e["file"]).read_bytes()
        assert len(data) == e["size"] == e["expected_size"] and hashlib.sha256(data).hexdigest() == e["sha256"]
        with Image.open(io.BytesIO(data)) as im:
            im.load()  # a whole JPEG, decodable
        assert e["planned"] and e["released"] and e["handle"] is not None, e
        # released at the planned moment, by the daemon's own clock: never before it (a
        # daemon that fired on arrival would be the lead, 500 ms, early), and not late
        # by more than a loaded test machine can explain
        assert 0 <= e["late_ms"] < 250, e
        assert set(e["settings"]) == {"iso", "shutter", "aperture"} and e["settings"]["iso"], e
        assert abs(e["clock_offset_ms"]) < 1000 and e["clock_error_ms"] < 100, e

    # a camera whose daemon is not there blocks no other; download completes what is missing
    out = rig.root / "failing"
    cp = rig.ptprig("capture", "-o", str(out))
    assert cp.returncode == 105, (cp.returncode, cp.stdout, cp.stderr)
    shot = json.loads((out / "manifest.json").read_text())["shots"]["0001"]
    for name in CAMERAS:
        assert shot["cameras"][name]["error"] is None and (out / shot["cameras"][name]["file"]).is_file()
    gone = shot["cameras"]["gone"]
    assert gone["file"] is None and gone["code"] == "unreachable" and gone["error"], gone
    # a file lost after the gathering comes back from the camera that still holds it; the
    # others stay as they are (the same inodes: not written again)
    lost = out / shot["cameras"]["a1"]["file"]
    kept = {n: os.stat(out / shot["cameras"][n]["file"]).st_ino for n in ("a2", "b1", "b2")}
    lost.unlink()
    cp = rig.ptprig("download", "-o", str(out))
    assert cp.returncode == 105 and "1 file(s) fetched, 3 already there, 1 missing" in cp.stdout, (cp.stdout, cp.stderr)
    assert "0001/gone" in cp.stderr
    assert hashlib.sha256(lost.read_bytes()).hexdigest() == shot["cameras"]["a1"]["sha256"]
    assert {n: os.stat(out / shot["cameras"][n]["file"]).st_ino for n in ("a2", "b1", "b2")} == kept

    # the live-view mosaic of the cameras that have live view
    png = rig.root / "mosaic.png"
    cp = rig.ptprig(*REAL, "liveview", "--snapshot", str(png), "--tile", "160x120")
    ok(cp)
    assert "mosaic of 2 of 4 camera(s)" in cp.stderr and "no frame from a1, b1" in cp.stderr, cp.stderr
    import cv2

    img = cv2.imread(str(png))
    assert img is not None and img.shape == (240, 320, 3)
    # the Fuji tiles (a2: top right, b2: bottom right) hold pictures, the others a note
    tiles = {"a1": img[:120, :160], "a2": img[:120, 160:], "b1": img[120:, :160], "b2": img[120:, 160:]}
    assert tiles["a2"].std() > 20 and tiles["b2"].std() > 20
    assert tiles["a1"].std() < tiles["a2"].std() and tiles["b1"].std() < tiles["b2"].std()
