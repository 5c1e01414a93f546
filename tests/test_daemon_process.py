"""``ptpd run`` as a real process: readiness, signals, security, and the bus with raw pyzmq."""

from __future__ import annotations

import re
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zmq

from conftest import ROOT, free_port
from ptpd import bus

PTPD = str(ROOT / ".venv" / "bin" / "ptpd")

pytestmark = pytest.mark.timeout(60)


class Raw:
    """A raw DEALER client on a sync socket."""

    def __init__(self, ctx: zmq.Context, endpoint: str, **opts: Any) -> None:
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.linger = 0
        for k, v in opts.items():
            setattr(self.sock, k, v)
        self.sock.connect(endpoint)
        self.n = 0

    def call(self, cmd: str, args: dict[str, Any] | None = None, timeout: float = 5.0) -> dict[str, Any]:
        self.n += 1
        self.sock.send_multipart([b"", bus.encode_request(self.n, cmd, args)])
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sock.poll(int(left * 1000)):
                raise TimeoutError(f"no reply to {cmd}")
            reply = bus.unpack(self.sock.recv_multipart()[-1])
            if reply["id"] == self.n:
                return reply
            assert reply["id"] < self.n, reply  # a late answer to a request we gave up on

    def ok(self, cmd: str, args: dict[str, Any] | None = None, timeout: float = 5.0) -> Any:
        r = self.call(cmd, args, timeout)
        assert r["ok"], r
        return r["result"]


def daemon_env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_STATE_HOME": str(tmp_path / "state"), "PTPD_RUNTIME_DIR": str(tmp_path / "rt")}


def endpoint_args(eps: dict[str, str]) -> list[str]:
    return [
        "--command-endpoint",
        eps["command"],
        "--event-endpoint",
        eps["event"],
        "--liveview-endpoint",
        eps["liveview"],
    ]


def notes_until(nsock: socket.socket, done: Callable[[bytes], bool], timeout: float = 10.0) -> list[bytes]:
    """sd_notify datagrams up to and including the first one ``done`` accepts."""
    got: list[bytes] = []
    deadline = time.monotonic() + timeout
    while not (got and done(got[-1])):
        nsock.settimeout(max(0.01, deadline - time.monotonic()))
        got.append(nsock.recv(256))
    return got


def wait_ping(client: Raw, proc: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.popen.poll() is None, proc.output()
        try:
            client.ok("ping", timeout=0.3)
            return
        except TimeoutError:
            continue
    raise AssertionError("daemon never answered ping")


def test_ready_watchdog_not_connected_and_sigterm(tmp_path: Path, spawn: Any, ipc_endpoints: dict[str, str]) -> None:
    notify_path = str(tmp_path / "notify")
    nsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    nsock.bind(notify_path)
    nsock.settimeout(10)
    nobody = free_port()  # nothing listens there: the camera "is not there yet"
    proc = spawn(
        [PTPD, "run", "--camera", f"127.0.0.1:{nobody}", "--reconnect-max", "0.5", *endpoint_args(ipc_endpoints)],
        env={**daemon_env(tmp_path), "NOTIFY_SOCKET": notify_path, "WATCHDOG_USEC": "400000"},
    )
    got: list[bytes] = []
    while not any(m.startswith(b"READY=1") for m in got):
        got.append(nsock.recv(256))
    ctx = zmq.Context()
    try:
        c = Raw(ctx, ipc_endpoints["command"])
        wait_ping(c, proc)
        # fed every 0.2 s; between the pings STATUS= says why there is no camera
        got += notes_until(nsock, lambda m: m == b"WATCHDOG=1")
        got += notes_until(nsock, lambda m: m.startswith(b"STATUS=reconnecting"))
        statuses = [m.decode() for m in got if m.startswith(b"STATUS=")]
        assert statuses[0] == "STATUS=connecting to the camera", statuses
        assert re.fullmatch(
            rf"STATUS=reconnecting in 0\.\d+ s: .*cannot connect to 127\.0\.0\.1:{nobody}.*", statuses[-1]
        ), statuses
        st = c.ok("status")
        assert st["connection"] in ("connecting", "disconnected")
        t0 = time.monotonic()
        e = c.call("get", {"prop": "iso"})
        assert e["error"]["code"] == "not_connected" and time.monotonic() - t0 < 1.0
        assert (tmp_path / "state" / "ptpd" / "guid").is_file()
        # a second daemon on the same endpoints refuses instead of stealing them
        second = spawn(
            [PTPD, "run", "--camera", f"127.0.0.1:{nobody}", *endpoint_args(ipc_endpoints)], env=daemon_env(tmp_path)
        )
        assert second.popen.wait(10) == 1
        assert "in use" in second.output()[1]
        assert c.ok("ping")["pong"]
        t0 = time.monotonic()
        proc.popen.send_signal(signal.SIGTERM)
        assert proc.popen.wait(5) == 0
        assert time.monotonic() - t0 < 3.0
        msgs = []
        nsock.settimeout(0.5)
        try:
            while True:
                msgs.append(nsock.recv(256))
        except OSError:
            pass
        assert b"STOPPING=1" in msgs
        _, err = proc.output()
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert any("ptpd ready" in ln for ln in lines) and any("stopped" in ln for ln in lines)
        assert not any(ln.startswith("Traceback") for ln in lines)
        c.sock.close()
    finally:
        nsock.close()
        ctx.destroy(linger=0)


def test_status_follows_the_camera_link(tmp_path: Path, spawn: Any, ipc_endpoints: dict[str, str]) -> None:
    """``systemctl status`` shows the link: connected to the model, then why it went and
    that it comes back (a Wi-Fi drop injected into the embedded simulator)."""
    notify_path = str(tmp_path / "notify")
    nsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    nsock.bind(notify_path)
    proc = spawn(
        [PTPD, "run", "--simulate", "fuji", "--keepalive", "0", *endpoint_args(ipc_endpoints)],
        env={**daemon_env(tmp_path), "NOTIFY_SOCKET": notify_path},
    )
    ctx = zmq.Context()
    try:
        got = notes_until(nsock, lambda m: m.startswith(b"STATUS=connected"), timeout=30)
        assert got[0].startswith(b"READY=1") and got[-1] == b"STATUS=connected to X-T1", got
        c = Raw(ctx, ipc_endpoints["command"])
        c.ok("sim.fault", {"action": "drop_next", "options": {"point": "before-response"}})
        c.call("get", {"prop": "iso"})  # the transaction the drop hits
        got = notes_until(nsock, lambda m: m == b"STATUS=connected to X-T1", timeout=30)
        statuses = [m.decode() for m in got if m.startswith(b"STATUS=")]
        assert statuses[0].startswith("STATUS=disconnected: ") and len(statuses[0]) > len("STATUS=disconnected: ")
        assert "STATUS=connecting to the camera" in statuses, statuses
        assert proc.stop() == 0
        c.sock.close()
    finally:
        nsock.close()
        ctx.destroy(linger=0)


def test_refuses_tcp_beyond_loopback_without_curve(tmp_path: Path, spawn: Any) -> None:
    p = free_port(3)
    proc = spawn(
        [
            PTPD,
            "run",
            "--camera",
            "127.0.0.1",
            "--command-endpoint",
            f"tcp://0.0.0.0:{p}",
            "--event-endpoint",
            f"tcp://0.0.0.0:{p + 1}",
        ],
        env=daemon_env(tmp_path),
    )
    assert proc.popen.wait(10) == 102
    _, err = proc.output()
    assert "CURVE" in err and "0.0.0.0" in err


def test_curve_allows_known_client_key_only(tmp_path: Path, spawn: Any) -> None:
    keys = tmp_path / "keys"
    clients = tmp_path / "clients.d"
    for args in (
        [str(keys)],
        [str(tmp_path / "laptop"), "--name", "laptop"],
        [str(tmp_path / "stranger"), "--name", "stranger"],
    ):
        proc = spawn([PTPD, "keys", *args])
        assert proc.popen.wait(10) == 0, proc.output()
    clients.mkdir()
    (clients / "laptop.key").write_bytes((tmp_path / "laptop" / "laptop.key").read_bytes())
    assert oct((keys / "server.key_secret").stat().st_mode & 0o777) == "0o600"
    import zmq.auth

    server_public, _ = zmq.auth.load_certificate(str(keys / "server.key"))
    p = free_port(3)
    proc = spawn(
        [
            PTPD,
            "run",
            "--camera",
            f"127.0.0.1:{free_port()}",
            "--command-endpoint",
            f"tcp://127.0.0.1:{p}",
            "--event-endpoint",
            f"tcp://127.0.0.1:{p + 1}",
            "--curve-secret-key",
            str(keys / "server.key_secret"),
            "--curve-clients",
            str(clients),
        ],
        env=daemon_env(tmp_path),
    )
    ctx = zmq.Context()
    try:

        def client(name: str) -> Raw:
            pub, sec = zmq.auth.load_certificate(str(tmp_path / name / f"{name}.key_secret"))
            return Raw(
                ctx, f"tcp://127.0.0.1:{p}", curve_serverkey=server_public, curve_publickey=pub, curve_secretkey=sec
            )

        good = client("laptop")
        wait_ping(good, proc)
        bad = client("stranger")
        with pytest.raises(TimeoutError):
            bad.call("ping", timeout=1.0)
        plain = Raw(ctx, f"tcp://127.0.0.1:{p}")
        with pytest.raises(TimeoutError):
            plain.call("ping", timeout=0.5)
        assert good.ok("ping")["pong"]
        for c in (good, bad, plain):
            c.sock.close()
    finally:
        ctx.destroy(linger=0)
    assert proc.stop() == 0


def test_bad_config_exits_102(tmp_path: Path, spawn: Any) -> None:
    f = tmp_path / "ptpd.toml"
    f.write_text("[camera]\nvendor = 'nikon'\n")
    proc = spawn([PTPD, "run", "--config", str(f), "--camera", "h"], env=daemon_env(tmp_path))
    assert proc.popen.wait(10) == 102
    assert "nikon" in proc.output()[1]
