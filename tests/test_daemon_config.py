"""Daemon configuration (TOML, the ptp-ip tool's INI, environment, flags), GUID, sd_notify."""

from __future__ import annotations

import contextlib
import os
import socket
import stat
from pathlib import Path

import pytest

from ptpd.daemon.config import (
    ConfigError,
    check_endpoints,
    default_state_dir,
    endpoint_is_local,
    ensure_ipc_dirs,
    load_config,
    load_or_create_guid,
    split_camera,
)
from ptpd.daemon.notify import Notifier, connection_status

ENV = {"XDG_RUNTIME_DIR": "/tmp/xdg-test", "HOME": "/home/u"}


def test_defaults_need_a_camera_or_simulate() -> None:
    with pytest.raises(ConfigError, match="no camera"):
        load_config({}, environ=ENV)
    cfg = load_config({"simulate": "fuji"}, environ=ENV)
    assert cfg.vendor == "fuji" and cfg.simulate == "fuji"
    assert cfg.state_dir == "/home/u/.local/state/ptpd" or cfg.state_dir.endswith("/.local/state/ptpd")


def test_camera_host_port_and_vendor_ports() -> None:
    assert split_camera("192.168.0.1") == ("192.168.0.1", None)
    assert split_camera("cam.local:15741") == ("cam.local", 15741)
    assert split_camera("[fe80::1]:55740") == ("fe80::1", 55740)
    cfg = load_config({"host": "10.0.0.5:1234"}, environ=ENV)
    assert (cfg.host, cfg.camera_ports()) == ("10.0.0.5", (1234, 1234, 1234))
    cfg = load_config({"host": "10.0.0.5", "vendor": "fuji"}, environ=ENV)
    assert cfg.camera_ports() == (55740, 55741, 55742)
    cfg = load_config({"host": "10.0.0.5:6000", "vendor": "fuji"}, environ=ENV)
    assert cfg.camera_ports() == (6000, 6001, 6002)
    with pytest.raises(ConfigError, match="out of range"):
        load_config({"host": "h:70000"}, environ=ENV)


def test_precedence_flags_over_file_over_env_over_defaults(tmp_path: Path) -> None:
    f = tmp_path / "ptpd.toml"
    f.write_text(
        '[camera]\nhost = "10.0.0.2"\nvendor = "fuji"\nkeepalive = 3\n'
        '[initiator]\nname = "from-file"\n[daemon]\nlog_level = "debug"\n'
        "[simulate]\nfps = 12\n"
    )
    env = {**ENV, "PTPD_CAMERA": "10.0.0.1", "PTPD_NAME": "from-env", "PTPD_TIMEOUT": "4", "PTPD_LOG_LEVEL": "error"}
    cfg = load_config({"name": "from-flag"}, f, env)
    assert cfg.host == "10.0.0.2"  # file over env
    assert cfg.name == "from-flag"  # flag over file
    assert cfg.timeout == 4.0  # env over default
    assert cfg.log_level == "debug" and cfg.keepalive == 3.0 and cfg.vendor == "fuji"
    assert cfg.sim_options == {"fps": 12}
    cfg = load_config({}, None, env)
    assert cfg.host == "10.0.0.1" and cfg.name == "from-env"


def test_toml_errors_name_the_key(tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text('[camera]\nhots = "x"\n')
    with pytest.raises(ConfigError, match="hots"):
        load_config({}, f, ENV)
    f.write_text("[camera\n")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config({}, f, ENV)
    with pytest.raises(ConfigError, match="no such file"):
        load_config({}, tmp_path / "missing.toml", ENV)


def test_ptp_ip_tool_ini(tmp_path: Path) -> None:
    # the README's Fuji example of the ptp-ip tool (ptp-ip-tool.md §3)
    f = tmp_path / "fuji.ini"
    f.write_text(
        '; my camera\n[initiator]\nfriendly_name = "ptpd test"\nguid = "cf2ad9bd-8a9b-4a2c-a1b3-2d1c3a4b5c6d"\n'
        '[responder]\nvendor = "fuji"\nhost = 192.168.0.1\ncmd_data_port = 55740\nevent_port = 0xD9A5\n'
        "stream_port = 55742\ncomm_data_port = 1\n"
        "[server]\nenabled = true\naddress = 127.0.0.1\nport = 15740\n"
    )
    cfg = load_config({}, f, ENV)
    assert cfg.name == "ptpd test" and cfg.guid == "cf2ad9bd-8a9b-4a2c-a1b3-2d1c3a4b5c6d"
    assert cfg.vendor == "fuji" and cfg.host == "192.168.0.1"
    assert cfg.camera_ports() == (55740, 0xD9A5, 55742)
    assert (cfg.command_endpoint, cfg.event_endpoint, cfg.liveview_endpoint) == (
        "tcp://127.0.0.1:15740",
        "tcp://127.0.0.1:15741",
        "tcp://127.0.0.1:15742",
    )
    f.write_text("[responder]\nhost = h\nport = 0\n")
    with pytest.raises(ConfigError, match="port"):
        load_config({}, f, ENV)


def test_default_endpoints_and_event_pairing() -> None:
    cfg = load_config({"host": "h"}, environ=ENV)
    assert cfg.command_endpoint.startswith("ipc://") and cfg.command_endpoint.endswith("/command")
    cfg = load_config(
        {"host": "h", "command_endpoint": "tcp://127.0.0.1:7000", "event_endpoint": "tcp://127.0.0.1:7001"}, environ=ENV
    )
    assert cfg.liveview_endpoint == "tcp://127.0.0.1:7002"
    with pytest.raises(ConfigError, match="without --event-endpoint"):
        load_config({"host": "h", "command_endpoint": "tcp://127.0.0.1:7000"}, environ=ENV)


def test_non_loopback_tcp_needs_curve() -> None:
    assert endpoint_is_local("ipc:///run/ptpd/command")
    assert endpoint_is_local("tcp://127.0.0.1:5555") and endpoint_is_local("tcp://[::1]:5555")
    assert endpoint_is_local("tcp://localhost:5555")
    for ep in ("tcp://0.0.0.0:5555", "tcp://*:5555", "tcp://192.168.1.4:5555", "tcp://eth0:5555", "tcp://[::]:5555"):
        assert not endpoint_is_local(ep), ep
    flags = {"host": "h", "command_endpoint": "tcp://0.0.0.0:7000", "event_endpoint": "tcp://0.0.0.0:7001"}
    with pytest.raises(ConfigError, match="CURVE"):
        load_config(flags, environ=ENV)
    cfg = load_config({**flags, "curve_secret_key": "/k/server.key_secret", "curve_clients": "/k/clients"}, environ=ENV)
    check_endpoints(cfg)


def test_guid_is_made_once_and_kept(tmp_path: Path) -> None:
    d = tmp_path / "state"
    g1 = load_or_create_guid(str(d))
    assert load_or_create_guid(str(d)) == g1
    assert (d / "guid").read_text().strip() == g1
    assert default_state_dir({"STATE_DIRECTORY": "/var/lib/ptpd"}) == "/var/lib/ptpd"
    assert default_state_dir({"XDG_STATE_HOME": "/x"}) == "/x/ptpd"
    with pytest.raises(ConfigError, match="UUID"):
        load_config({"host": "h", "guid": "nope"}, environ=ENV)


def test_ipc_directory_is_private(tmp_path: Path) -> None:
    run = tmp_path / "a" / "run"
    cfg = load_config(
        {
            "host": "h",
            "command_endpoint": f"ipc://{run}/c",
            "event_endpoint": f"ipc://{run}/e",
            "liveview_endpoint": f"ipc://{run}/l",
        },
        environ=ENV,
    )
    old = os.umask(0o022)
    try:
        ensure_ipc_dirs(cfg)
    finally:
        os.umask(old)
    assert stat.S_IMODE(run.stat().st_mode) == 0o700


def test_sd_notify_datagrams(tmp_path: Path) -> None:
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as srv:
        srv.bind(path)
        srv.settimeout(2)
        n = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "3000000", "WATCHDOG_PID": str(os.getpid())})
        assert n.enabled and n.watchdog_interval == 1.5
        assert n.ready("serving")
        assert srv.recv(100) == b"READY=1\nSTATUS=serving"
        n.watchdog()
        assert srv.recv(100) == b"WATCHDOG=1"
        n.stopping()
        assert srv.recv(100) == b"STOPPING=1"
    off = Notifier({"WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"})
    assert not off.enabled and off.watchdog_interval is None and off.ready() is False


def test_sd_notify_status_follows_the_connection(tmp_path: Path) -> None:
    path = str(tmp_path / "notify")
    published: list[tuple[str, dict[str, str]]] = []

    def publish(topic: str, data: dict[str, str]) -> int:
        published.append((topic, data))
        return len(published)

    story = [  # what the camera link publishes, in its own words (ptpd.daemon.link)
        ("connecting", ""),
        ("disconnected", "CameraDisconnected: cannot connect to 127.0.0.1:55740; retrying in 2.00s"),
        ("connecting", "attempt 2"),  # leaves "reconnecting" up
        (
            "disconnected",
            "CameraDisconnected: cannot connect to 127.0.0.1:55740; retrying in 2.00s",
        ),  # the same: said once
        ("disconnected", "TimeoutError: no answer; retrying in 0.50s"),
        ("connecting", "attempt 3"),
        ("pairing", "accept ptpd on the camera"),
        ("connected", "X-T1"),
        ("disconnected", "event channel: connection reset"),
        ("stopping", ""),
    ]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as srv:
        srv.bind(path)
        srv.settimeout(0.5)
        relay = Notifier({"NOTIFY_SOCKET": path}).follow(publish)
        relay("state.iso", {"name": "iso"})  # other topics only pass through
        for state, detail in story:
            assert relay("status.connection", {"state": state, "detail": detail}) == len(published)
        got = []
        with contextlib.suppress(TimeoutError):
            while True:
                got.append(srv.recv(256).decode())
    assert published[1:] == [("status.connection", {"state": s, "detail": d}) for s, d in story]
    assert got == [
        "STATUS=connecting to the camera",
        "STATUS=reconnecting in 2 s: CameraDisconnected: cannot connect to 127.0.0.1:55740",
        "STATUS=reconnecting in 0.5 s: TimeoutError: no answer",
        "STATUS=pairing: accept ptpd on the camera",
        "STATUS=connected to X-T1",
        "STATUS=disconnected: event channel: connection reset",
        "STATUS=stopping",
    ]
    assert Notifier({}).follow(publish) is publish  # not under systemd: nothing in between
    assert connection_status("connected", "") == "connected to the camera"


def test_existing_runtime_dir_is_tightened(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    os.chmod(run, 0o777)
    cfg = load_config(
        {
            "host": "h",
            "command_endpoint": f"ipc://{run}/c",
            "event_endpoint": f"ipc://{run}/e",
            "liveview_endpoint": f"ipc://{run}/l",
        },
        environ=ENV,
    )
    ensure_ipc_dirs(cfg)
    assert stat.S_IMODE(run.stat().st_mode) == 0o700
    os.chmod(run, 0o750)  # shared with a group on purpose: kept
    ensure_ipc_dirs(cfg)
    assert stat.S_IMODE(run.stat().st_mode) == 0o750


def test_abstract_ipc_counts_as_open() -> None:
    assert not endpoint_is_local("ipc://@ptpd/command")
    with pytest.raises(ConfigError, match="abstract"):
        load_config({"host": "h", "command_endpoint": "ipc://@p/c", "event_endpoint": "ipc://@p/e"}, environ=ENV)
