"""The clients against a daemon on TCP with CURVE: an allowed key gets in on every socket
(commands, events, live view), an unknown key is refused within the timeout with a clear
message, and bad key arguments are refused before any socket is made."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Proc, free_port
from ptpd_client import Client, ClientError, DaemonUnavailable, Event, RequestTimeout

pytestmark = pytest.mark.timeout(90)
PYTHON = sys.executable


class CurveDaemon:
    def __init__(self, root: Path) -> None:
        for args in (["keys"], ["laptop", "--name", "laptop"], ["stranger", "--name", "stranger"]):
            cp = subprocess.run(
                [PYTHON, "-m", "ptpd", "keys", str(root / args[0]), *args[1:]],
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert cp.returncode == 0, cp.stderr
        allowed = root / "clients.d"
        allowed.mkdir()
        (allowed / "laptop.key").write_bytes((root / "laptop" / "laptop.key").read_bytes())
        self.server_key = root / "keys" / "server.key"
        self.laptop = root / "laptop" / "laptop.key_secret"
        self.stranger = root / "stranger" / "stranger.key_secret"
        p = free_port(3)
        ports = [p, p + 1, p + 2]
        self.endpoints = {n: f"tcp://127.0.0.1:{port}" for n, port in zip(("command", "event", "liveview"), ports)}
        self.proc = Proc(
            [
                PYTHON,
                "-m",
                "ptpd",
                "run",
                "--simulate",
                "fuji",
                "--command-endpoint",
                self.endpoints["command"],
                "--event-endpoint",
                self.endpoints["event"],
                "--liveview-endpoint",
                self.endpoints["liveview"],
                "--state-dir",
                str(root / "state"),
                "--curve-secret-key",
                str(root / "keys" / "server.key_secret"),
                "--curve-clients",
                str(allowed),
            ],
            env={"PTPD_RUNTIME_DIR": str(root / "rt")},
        )

    def client(self, key: Path | str | tuple[str, str], **kw: Any) -> Client:
        # only the command endpoint: the others are learned from the daemon, over CURVE
        return Client(self.endpoints["command"], curve_server_key=self.server_key, curve_client_key=key, **kw)

    def wait_connected(self, timeout: float = 25.0) -> None:
        deadline = time.monotonic() + timeout
        last: object = None
        with self.client(self.laptop, timeout=1.0) as c:
            while time.monotonic() < deadline:
                if self.proc.popen.poll() is not None:
                    pytest.fail(f"daemon exited {self.proc.popen.returncode}: {self.proc.output()[1][-2000:]}")
                try:
                    last = c.status()
                    if last.connection == "connected":
                        return
                except ClientError as exc:
                    last = exc
                time.sleep(0.1)
        pytest.fail(f"CURVE daemon not ready after {timeout}s: {last}")


@pytest.fixture(scope="module")
def curved(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CurveDaemon]:
    d = CurveDaemon(tmp_path_factory.mktemp("curve"))
    try:
        d.wait_connected()
        yield d
    finally:
        d.proc.stop()


def _ptpctl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("PTPD_")}
    full.update(env or {})
    return subprocess.run([PYTHON, "-m", "ptpctl", *args], capture_output=True, text=True, timeout=30, env=full)


def test_allowed_key_works_on_commands_events_and_liveview(curved: CurveDaemon) -> None:
    with curved.client(curved.laptop) as c:
        assert c.get("iso").label
        ev, lv = c.endpoints()
        assert ev == curved.endpoints["event"] and lv == curved.endpoints["liveview"]
        with c.events(["heartbeat"], timeout=5.0) as events:
            next(events)  # the snapshot
            event = next(events)
            assert isinstance(event, Event) and event.topic.startswith("heartbeat")  # the event socket let us in
        with c.frames(timeout=10.0) as frames:
            frame = next(frames)  # the live-view socket let us in
        assert frame.jpeg[:2] == b"\xff\xd8"


def test_keys_as_z85_strings(curved: CurveDaemon) -> None:
    import zmq.auth

    server_public, _ = zmq.auth.load_certificate(str(curved.server_key))
    public, secret = zmq.auth.load_certificate(str(curved.laptop))
    assert secret is not None
    for key in (secret.decode(), (public.decode(), secret.decode())):
        with Client(curved.endpoints["command"], curve_server_key=server_public.decode(), curve_client_key=key) as c:
            assert c.ping() is not None


def test_unknown_key_is_refused_within_the_timeout(curved: CurveDaemon) -> None:
    t0 = time.monotonic()
    with curved.client(curved.stranger, timeout=2.0) as c, pytest.raises((DaemonUnavailable, RequestTimeout)) as exc:
        c.get("iso")
    assert time.monotonic() - t0 < 6.0
    assert "CURVE" in str(exc.value)


def test_ptpctl_get_iso_with_keys_from_options_env_and_config(curved: CurveDaemon, tmp_path: Path) -> None:
    ep = ["--command-endpoint", curved.endpoints["command"]]
    cp = _ptpctl(
        *ep, "--curve-server-key", str(curved.server_key), "--curve-client-key", str(curved.laptop), "get", "iso"
    )
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.strip()
    cp = _ptpctl(
        "--json",
        "get",
        "iso",
        env={
            "PTPD_COMMAND_ENDPOINT": curved.endpoints["command"],
            "PTPD_CURVE_SERVER_KEY": str(curved.server_key),
            "PTPD_CURVE_CLIENT_KEY": str(curved.laptop),
        },
    )
    assert cp.returncode == 0, cp.stderr
    conf = tmp_path / "ptpctl.toml"
    conf.write_text(
        f'[ptpctl]\ncommand_endpoint = "{curved.endpoints["command"]}"\n'
        f'curve_server_key = "{curved.server_key}"\ncurve_client_key = "{curved.laptop}"\n'
    )
    cp = _ptpctl("--config", str(conf), "get", "iso")
    assert cp.returncode == 0, cp.stderr


def test_ptpctl_unknown_key_exits_105_with_one_line(curved: CurveDaemon) -> None:
    t0 = time.monotonic()
    cp = _ptpctl(
        "--command-endpoint",
        curved.endpoints["command"],
        "--timeout",
        "2",
        "--curve-server-key",
        str(curved.server_key),
        "--curve-client-key",
        str(curved.stranger),
        "get",
        "iso",
    )
    assert time.monotonic() - t0 < 15
    assert cp.returncode == 105, cp.stderr
    lines = cp.stderr.strip().splitlines()
    assert len(lines) == 1 and "CURVE" in lines[0] and "allowed" in lines[0], cp.stderr
    assert "Traceback" not in cp.stderr


def test_plain_client_gets_nothing_from_a_curve_daemon(curved: CurveDaemon) -> None:
    with Client(curved.endpoints["command"], timeout=1.5) as c, pytest.raises((DaemonUnavailable, RequestTimeout)):
        c.ping()


def test_bad_key_arguments_are_refused_before_connecting(curved: CurveDaemon, tmp_path: Path) -> None:
    with pytest.raises(ClientError, match="no secret-key"):
        Client(
            curved.endpoints["command"],
            curve_server_key=curved.server_key,
            curve_client_key=curved.laptop.with_suffix(".key"),
        )  # the public half only
    with pytest.raises(ClientError, match="server's public key"):
        Client(curved.endpoints["command"], curve_client_key=curved.laptop)
    with pytest.raises(ClientError, match="z85"):
        Client(curved.endpoints["command"], curve_server_key="not-a-key", curve_client_key=curved.laptop)
    cp = _ptpctl(
        "--command-endpoint",
        curved.endpoints["command"],
        "--curve-server-key",
        str(tmp_path / "missing.key"),
        "--curve-client-key",
        str(curved.laptop),
        "get",
        "iso",
    )
    assert cp.returncode == 104, cp.stderr
    assert len(cp.stderr.strip().splitlines()) == 1 and "missing.key" in cp.stderr
