"""The rig's parts on their own: the rig file, the clock offset filter, file patterns and
the manifest's numbering, and a daemon's scheduled release (``capture`` with ``at``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.harness import Daemon, DaemonOptions
from ptpd_client import ClockOffset, RigFileError, load_rig
from ptpd_client._clock import estimate
from ptpd_client._rigfile import parse_rig

Z85 = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"  # a 40-character z85 key


def test_rig_file_lays_out_local_and_remote_daemons(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "h1.key").write_text('public-key = "x"\n')
    (tmp_path / "rig.key_secret").write_text('secret-key = "x"\n')
    f = tmp_path / "rig.toml"
    f.write_text(f"""
client_key = "rig.key_secret"
runtime = "/run/ptpd"
timeout = 7

[hosts.h1]
address = "10.0.1.1"
server_key = "keys/h1.key"

[cameras.front]
[cameras.c001]
host = "h1"
port = 5600
[cameras.c002]
command = "tcp://10.0.1.2:5600"
server_key = "{Z85}"
[cameras.loop]
command = "tcp://127.0.0.1:5700"

[groups]
sides = ["c002", "c001", "c002"]
""")
    rig = load_rig(f)
    front, c1, c2, lo = rig.cameras.values()
    assert (front.command, front.event, front.liveview) == (
        "ipc:///run/ptpd/front/command",
        "ipc:///run/ptpd/front/event",
        "ipc:///run/ptpd/front/liveview",
    )
    assert not front.curve and front.client_key is None
    assert (c1.command, c1.event, c1.liveview) == ("tcp://10.0.1.1:5600", "tcp://10.0.1.1:5601", "tcp://10.0.1.1:5602")
    assert c1.server_key == str(tmp_path / "keys" / "h1.key") and c1.client_key == str(tmp_path / "rig.key_secret")
    assert c2.event == "tcp://10.0.1.2:5601" and c2.liveview == "tcp://10.0.1.2:5602" and c2.server_key == Z85
    assert lo.command == "tcp://127.0.0.1:5700" and not lo.curve  # loopback needs no keys
    assert rig.timeout == 7.0
    assert rig.groups == {"h1": ("c001",), "sides": ("c002", "c001")}
    assert [c.name for c in rig.select(groups=["sides"])] == ["c001", "c002"]  # rig order
    assert [c.name for c in rig.select(cameras=["loop"], groups=["h1"])] == ["c001", "loop"]
    with pytest.raises(RigFileError, match="no group 'x'"):
        rig.select(groups=["x"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no \\[cameras\\]"),
        ("[cameras.a]\nhost = '10.0.0.9'\nport = 5600\n", "only with CURVE"),
        ("[cameras.a]\nhost = '10.0.0.9'\nport = 5600\nserver_key = 'missing.key'\n", "no key file"),
        (f"[cameras.a]\nhost = '10.0.0.9'\nport = 5600\nserver_key = '{Z85}'\n", "client's key pair"),
        ("[cameras.a]\nhost = '127.0.0.1'\n", "port must be"),
        ("[cameras.a]\ncommand = 'ipc:///x/command'\nport = 5\n", "not both"),
        ("[cameras.'../x']\n", "camera name"),
        ("[cameras.a]\ncolour = 'red'\n", "unknown key"),
        ("[cameras.a]\ncommand = 'udp://x:1'\n", "not an ipc:// or tcp://"),
        ("[cameras.a]\n[groups]\ng = ['b']\n", "no camera 'b'"),
        ("timeout = 0\n[cameras.a]\n", "timeout"),
    ],
)
def test_rig_file_mistakes_are_named(text: str, message: str, tmp_path: Path) -> None:
    import tomllib

    with pytest.raises(RigFileError, match=message):
        parse_rig(tomllib.loads(text), tmp_path / "rig.toml")


def test_clock_offset_comes_from_the_least_delayed_ping() -> None:
    # (sent, their clock, received): the middle exchange waited in a queue on the way back
    samples = [(10.000, 110.0006, 10.001), (11.000, 111.0005, 11.030), (12.0000, 112.00015, 12.0002)]
    off = estimate(samples)
    assert off == ClockOffset(pytest.approx(100.00005), pytest.approx(0.0002), 3)  # type: ignore[arg-type]  # approx inside ==
    assert off.theirs(20.0) == pytest.approx(120.00005) and off.ours(off.theirs(20.0)) == pytest.approx(20.0)
    assert off.error == pytest.approx(0.0001)
    with pytest.raises(ValueError):
        estimate([])


def test_file_patterns_name_every_file_apart() -> None:
    from ptprig.gather import Manifest, PatternError, check_pattern, file_name

    assert file_name("{shot}/{camera}.{ext}", "0003", "c1", "DSCF0001.RAF", "camera") == "0003/c1.raf"
    assert file_name("{shot}/{camera}.{ext}", "0003", "c1", "", "preview") == "0003/c1.jpg"
    assert file_name("{camera}/{shot}-{name}.{ext}", "7", "c1", "../IMG 1.JPG", "camera") == "c1/7-IMG_1.jpg"
    for bad in ("{shot}.jpg", "{camera}/{shot}/{lens}", "../{shot}/{camera}", "/abs/{shot}{camera}", "{shot"):
        with pytest.raises(PatternError):
            check_pattern(bad)
    m = Manifest(Path("/nowhere"))
    assert m.next_shot() == "0001"
    m.shots.update({"0001": {}, "take-b": {}, "0041": {}})
    assert m.next_shot() == "0042"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    d = Daemon(tmp_path_factory.mktemp("at"), DaemonOptions(simulate="generic", latency_ms=5))
    with d:
        d.start()
        yield d


def test_capture_at_releases_on_the_daemons_clock(daemon: Daemon) -> None:
    with daemon.client() as c:
        clock = c.result("ping")["clock"]
        assert abs(clock - time.monotonic()) < 1.0  # one host, one monotonic clock
        at = time.monotonic() + 0.25
        shot = c.result("capture", {"at": at}, timeout=10)["shots"][0]
        assert shot["planned"] == at and 0 <= shot["released"] - at < 0.1, shot
        plain = c.result("capture", {}, timeout=10)["shots"][0]
        assert "planned" not in plain and isinstance(plain["released"], float)
        # the release time has passed: nothing is done, and a retry is not answered from a cache
        late = c.call("capture", {"at": time.monotonic() - 0.01}, timeout=10)
        assert late["error"]["code"] == "expired" and "nothing was done" in late["error"]["message"]
        far = c.call("capture", {"at": time.monotonic() + 3600}, timeout=10)
        assert far["error"]["code"] == "bad_request"
        rid = c.send("capture", {"at": time.monotonic() + 5})
        c.sock.send_multipart([b"", __import__("msgpack").packb({"id": "x", "cmd": "cancel", "args": {"id": rid}})])
        answers = {r["id"]: r for r in (c.recv(5), c.recv(5)) if r is not None}
        assert answers[rid]["error"]["code"] == "cancelled", answers  # waiting for its time, it never released
        assert c.result("storage")["shots_left"] > 0


def test_rigs_md_python_example_runs(daemon: Daemon, tmp_path: Path) -> None:
    import re
    import subprocess
    import sys

    from conftest import ROOT

    (code,) = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "rigs.md").read_text(), re.S)
    (tmp_path / "rig.toml").write_text(
        f'[cameras.one]\ncommand = "{daemon.endpoints["command"]}"\n[groups]\nleft = ["one"]\n'
    )
    (tmp_path / "example.py").write_text(code)
    r = subprocess.run([sys.executable, "example.py"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"^one CameraStatus\(connection='connected'", r.stdout, re.M), r.stdout
    assert re.search(r"^skew 0\.00 ms$", r.stdout, re.M), r.stdout  # one camera: no spread


def test_canon_releases_at_its_moment_and_counts_its_shots(tmp_path: Path) -> None:
    # generic above, Fuji in tests/test_rig_hosts.py: every vendor's release can be held
    with Daemon(tmp_path, DaemonOptions(simulate="canon", latency_ms=5)) as d:
        d.start(timeout=60)
        with d.client() as c:
            at = time.monotonic() + 0.3
            shot = c.result("capture", {"at": at}, timeout=30)["shots"][0]
            assert shot["planned"] == at and 0 <= shot["released"] - at < 0.1, shot
            assert c.result("storage")["shots_left"] > 0
