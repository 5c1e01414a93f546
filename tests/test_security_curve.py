"""TCP beyond loopback only with CURVE: which endpoints count as "beyond", and the refusal.

The daemon's own tests cover the allow-list handshake (known key in, unknown key and
plain clients out) and one 0.0.0.0 refusal. These add the endpoint forms that reach the
network in less obvious ways (wildcards, interface names, IPv6, mapped addresses) and a
process-level refusal that proves nothing was bound. Nothing here binds a non-loopback
address: the classification is checked on the function, and the process test uses an
address that this machine does not have (TEST-NET-1), so even a failed refusal binds
nothing.
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from bench.common import Proc, free_port
from bench.harness import ptpd_cmd
from ptpd.daemon.config import ConfigError, load_config

pytestmark = pytest.mark.timeout(60)

LOCAL = [
    "ipc:///run/ptpd/command",
    "tcp://127.0.0.1:5555",
    "tcp://127.8.9.10:5555",
    "tcp://[::1]:5555",
    "tcp://localhost:5555",
]
BEYOND = [
    "tcp://0.0.0.0:5555",
    "tcp://*:5555",
    "tcp://[::]:5555",
    "tcp://eth0:5555",  # zmq binds an interface by name
    "tcp://lo0:5555",  # an interface name is not checked, so it is refused
    "tcp://192.168.1.20:5555",
    "tcp://[fe80::1]:5555",
    "tcp://[::ffff:10.0.0.1]:5555",
    "tcp://camera.example:5555",  # a host name may resolve anywhere
    "tcp://127.0.0.1.example:5555",
]


def _cfg(endpoint: str, **extra: str) -> dict[str, str]:
    return {
        "host": "127.0.0.1",
        "command_endpoint": endpoint,
        "event_endpoint": "ipc:///tmp/ptpd-curve-test/event",
        "liveview_endpoint": "ipc:///tmp/ptpd-curve-test/liveview",
        **extra,
    }


@pytest.mark.parametrize("endpoint", LOCAL)
def test_local_endpoints_need_no_keys(endpoint: str) -> None:
    cfg = load_config(_cfg(endpoint), None)
    assert cfg.command_endpoint == endpoint


@pytest.mark.parametrize("endpoint", BEYOND)
def test_endpoints_beyond_loopback_are_refused_without_curve(endpoint: str) -> None:
    with pytest.raises(ConfigError, match="CURVE"):
        load_config(_cfg(endpoint), None)


@pytest.mark.parametrize("endpoint", ["tcp://0.0.0.0:5555", "tcp://eth0:5555"])
def test_half_a_curve_config_is_not_enough(endpoint: str, tmp_path: Path) -> None:
    # a secret key without an allow-list would let every key in
    with pytest.raises(ConfigError):
        load_config(_cfg(endpoint, curve_secret_key=str(tmp_path / "server.key_secret")), None)


@pytest.mark.parametrize("scheme", ["pgm", "epgm", "udp", "ws", "vmci"])
def test_other_transports_are_refused(scheme: str) -> None:
    with pytest.raises(ConfigError):
        load_config(_cfg(f"{scheme}://eth0;239.192.1.1:5555"), None)


def test_refusal_exits_before_binding_anything(tmp_path: Path) -> None:
    """The process refuses at once (exit 102), and even its loopback endpoints stay unbound."""
    p = free_port(2)
    cp = subprocess.run(
        [
            *ptpd_cmd(),
            "run",
            "--simulate",
            "generic",
            "--command-endpoint",
            f"tcp://127.0.0.1:{p}",  # fine on its own
            "--event-endpoint",
            f"tcp://127.0.0.1:{p + 1}",
            "--liveview-endpoint",
            "tcp://192.0.2.1:5555",  # TEST-NET-1: not ours, cannot bind anyway
            "--state-dir",
            str(tmp_path / "state"),
        ],
        capture_output=True,
        text=True,
        timeout=20,
        env={"PATH": "/usr/bin:/bin", "PTPD_RUNTIME_DIR": str(tmp_path / "rt")},
    )
    assert cp.returncode == 102, (cp.returncode, cp.stderr)
    assert "CURVE" in cp.stderr and "192.0.2.1" in cp.stderr
    assert "Traceback" not in cp.stderr
    for port in (p, p + 1):
        with socket.socket() as s, pytest.raises(OSError):
            s.settimeout(0.5)
            s.connect(("127.0.0.1", port))


def test_curve_guards_the_event_and_liveview_sockets_too(tmp_path: Path) -> None:
    """An unknown key gets no heartbeat and no frame; an allowed key gets both."""
    import zmq
    import zmq.auth

    from bench.harness import Daemon, DaemonOptions

    for args in (
        [str(tmp_path / "keys")],
        [str(tmp_path / "laptop"), "--name", "laptop"],
        [str(tmp_path / "stranger"), "--name", "stranger"],
    ):
        cp = subprocess.run([*ptpd_cmd(), "keys", *args], capture_output=True, text=True, timeout=20)
        assert cp.returncode == 0, cp.stderr
    allowed = tmp_path / "clients.d"
    allowed.mkdir()
    (allowed / "laptop.key").write_bytes((tmp_path / "laptop" / "laptop.key").read_bytes())
    server_public, _ = zmq.auth.load_certificate(str(tmp_path / "keys" / "server.key"))
    p = free_port(3)
    eps = {
        "command": f"tcp://127.0.0.1:{p}",
        "event": f"tcp://127.0.0.1:{p + 1}",
        "liveview": f"tcp://127.0.0.1:{p + 2}",
    }
    extra = f'curve_secret_key = "{tmp_path / "keys" / "server.key_secret"}"\ncurve_clients = "{allowed}"\n'
    opts = DaemonOptions(simulate="fuji", keepalive=0, sim_options={"pairing_delay": 0.0})
    d = Daemon(tmp_path / "d", opts, endpoints=eps)
    # the [bus] section is the last one the harness writes before [daemon]; add the keys to it
    text = d.config.read_text().replace("[daemon]", extra + "[daemon]", 1)
    d.config.write_text(text)
    ctx = zmq.Context()
    try:
        with d:
            # started by hand: the harness's readiness check speaks plain zmq, which CURVE refuses
            d.proc = Proc([*ptpd_cmd(), "run", "--config", str(d.config)], env=d.env, log=d.log)

            def sub(name: str, endpoint: str, topic: bytes) -> zmq.Socket:
                pub, sec = zmq.auth.load_certificate(str(tmp_path / name / f"{name}.key_secret"))
                s = ctx.socket(zmq.SUB)
                s.linger = 0
                s.curve_serverkey, s.curve_publickey, s.curve_secretkey = server_public, pub, sec
                s.setsockopt(zmq.SUBSCRIBE, topic)
                s.connect(endpoint)
                return s

            good_ev, bad_ev = sub("laptop", eps["event"], b"heartbeat"), sub("stranger", eps["event"], b"heartbeat")
            good_lv, bad_lv = (
                sub("laptop", eps["liveview"], b"liveview.frame"),
                sub("stranger", eps["liveview"], b"liveview.frame"),
            )
            assert good_ev.poll(15_000), d.log_text()[-2000:]
            assert good_lv.poll(15_000), d.log_text()[-2000:]
            assert good_ev.recv_multipart()[0] == b"heartbeat"
            assert good_lv.recv_multipart()[0] == b"liveview.frame"
            assert not bad_ev.poll(2500)  # heartbeats come every second: none reached it
            assert not bad_lv.poll(500)
            for s in (good_ev, bad_ev, good_lv, bad_lv):
                s.close(0)
    finally:
        ctx.destroy(linger=0)
