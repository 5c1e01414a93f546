"""The ptp-ip tool's words still work: its two README INI files as printed, ``-f FILE``
for ``ptpd run`` and ``ptpctl``, trailing ``json``/``pretty``, ``liveview novf``/``nolv``;
and ports are checked where they are read (parse time, config load), not at bind time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import Proc, free_port
from ptpctl.compat import translate
from ptpd.daemon.config import ConfigError, load_config
from ptpd.ptpip_ini import DEFAULT_HOST, IniError, parse_bool, read_ptpip_ini
from test_client_daemon import Daemon

PYTHON = sys.executable
ENV = {"XDG_RUNTIME_DIR": "/tmp/xdg-test", "HOME": "/home/u"}

# The two examples of the ptp-ip tool's README (HEAD 992d64b, "config file" section): keys,
# values, quoting, blank lines and the place of every ';' comment line as printed; the
# words of the comments are ours.
README_GENERIC = """\
; who we are
[initiator]
friendly_name = "Golang PTP/IP generic client"
; a fixed GUID: make one with uuidgen
; or read /proc/sys/kernel/random/uuid
guid = "cca455de-79ac-4b12-9731-91e433a899cf"

; the camera
[responder]
host = "192.168.0.1"
port = 15740

; server mode
[server]
; true: listen for commands
enabled = true
address = "127.0.0.1"
port = 15740
"""

README_FUJI = """\
; who we are
[initiator]
friendly_name = "Golang PTP/IP Fuji client"
; a fixed GUID: make one with uuidgen
; or read /proc/sys/kernel/random/uuid
guid = "9fe5160c-4951-404d-9505-10baaf725606"

; the camera
[responder]
vendor = "fuji"
cmd_data_port = 55740
event_port = 55741
stream_port = 55742

; server mode
[server]
; true: listen for commands
enabled = true
address = "127.0.0.1"
port = 15740
"""


def _ini(tmp_path: Path, text: str, name: str = "camera.conf") -> Path:
    f = tmp_path / name
    f.write_text(text)
    return f


# -- the INI, as the daemon reads it ----------------------------------------------------------


def test_the_readmes_generic_ini_is_accepted_as_printed(tmp_path: Path) -> None:
    cfg = load_config({}, _ini(tmp_path, README_GENERIC), ENV)
    assert cfg.name == "Golang PTP/IP generic client" and cfg.guid == "cca455de-79ac-4b12-9731-91e433a899cf"
    # no vendor named, on the standard port: the camera's DeviceInfo tells (a standard
    # camera stays a standard one, an EOS body gets its dialect)
    assert (cfg.vendor, cfg.host, cfg.camera_ports()) == ("auto", "192.168.0.1", (15740, 15740, 15740))
    assert (cfg.command_endpoint, cfg.event_endpoint, cfg.liveview_endpoint) == (
        "tcp://127.0.0.1:15740",
        "tcp://127.0.0.1:15741",
        "tcp://127.0.0.1:15742",
    )
    assert cfg.warnings == ()


def test_the_readmes_fuji_ini_is_accepted_as_printed(tmp_path: Path) -> None:
    # no host: the tool's default camera address
    cfg = load_config({}, _ini(tmp_path, README_FUJI), ENV)
    assert (cfg.vendor, cfg.host, cfg.camera_ports()) == ("fuji", DEFAULT_HOST, (55740, 55741, 55742))
    assert DEFAULT_HOST == "192.168.0.1" and cfg.name == "Golang PTP/IP Fuji client"
    assert cfg.command_endpoint == "tcp://127.0.0.1:15740"
    # a default, not a file value: the environment and the flags still name the camera
    assert load_config({}, _ini(tmp_path, README_FUJI), {**ENV, "PTPD_CAMERA": "10.0.0.9"}).host == "10.0.0.9"
    assert load_config({"host": "10.0.0.8"}, _ini(tmp_path, README_FUJI), ENV).host == "10.0.0.8"


@pytest.mark.parametrize("word", ['"true"', "'yes'", "On", "1", "t", "`Y`"])
def test_quoted_and_spelled_booleans(tmp_path: Path, word: str) -> None:
    f = _ini(tmp_path, f"[responder]\nhost = h\n[server]\nenabled = {word}\nport = 0x3d7c\n")
    assert load_config({}, f, ENV).command_endpoint == "tcp://127.0.0.1:15740"


def test_false_booleans_and_bad_ones(tmp_path: Path) -> None:
    for word in ('"false"', "no", "OFF", "0"):
        assert parse_bool(word) is False
    f = _ini(tmp_path, '[responder]\nhost = h\n[server]\nenabled = "sometimes"\n')
    with pytest.raises(ConfigError, match=r"\[server\] enabled.*not a boolean"):
        load_config({}, f, ENV)


def test_a_vendor_without_a_dialect_is_generic_with_a_warning(tmp_path: Path) -> None:
    cfg = load_config({}, _ini(tmp_path, "[responder]\nvendor = nikon\nhost = 10.0.0.3\n"), ENV)
    assert cfg.vendor == "generic" and len(cfg.warnings) == 1
    assert "'nikon'" in cfg.warnings[0] and "generic" in cfg.warnings[0]
    assert load_config({}, _ini(tmp_path, '[responder]\nvendor = "FUJI"\n'), ENV).vendor == "fuji"
    # the new config file stays strict: a typo there is an error, not a silent fallback
    toml = tmp_path / "ptpd.toml"
    toml.write_text('[camera]\nhost = "h"\nvendor = "nikon"\n')
    with pytest.raises(ConfigError, match="nikon"):
        load_config({}, toml, ENV)


@pytest.mark.parametrize("port", ["65535", "65534", "0x10000", "0"])
def test_a_server_port_the_bus_cannot_use_fails_at_load(tmp_path: Path, port: str) -> None:
    f = _ini(tmp_path, f"[responder]\nhost = h\n[server]\nenabled = true\nport = {port}\n")
    with pytest.raises(ConfigError, match=r"\[server\] port"):
        load_config({}, f, ENV)
    with pytest.raises(IniError):
        read_ptpip_ini(f)


def test_tcp_endpoint_ports_are_checked_at_load() -> None:
    for ep in ("tcp://127.0.0.1:65536", "tcp://127.0.0.1:0", "tcp://127.0.0.1:x", "tcp://127.0.0.1"):
        with pytest.raises(ConfigError, match="endpoint"):
            load_config({"host": "h", "command_endpoint": ep, "event_endpoint": "tcp://127.0.0.1:7001"}, environ=ENV)


def test_ini_keys_before_any_section_and_unknown_ones_are_ignored(tmp_path: Path) -> None:
    f = _ini(
        tmp_path, "stray = 1\n[responder]\nhost = h\ncomm_data_port = 1\nport = 1\nport = 0x3d7c\n[other]\nx = y\n"
    )
    cfg = load_config({}, f, ENV)
    assert cfg.host == "h" and cfg.port == 15740  # the last of a repeated key wins, as in go-ini


# -- ptpd run: -f and ports on the command line -------------------------------------------------


def test_ptpd_run_port_options_are_checked_when_read() -> None:
    from ptpd.daemon.cli import run

    for flag in ("--port", "--cmd-port", "--event-port", "--stream-port"):
        assert run.make_context("run", [flag, "0x3d7c"]).params[flag[2:].replace("-", "_")] == 15740
        r = CliRunner().invoke(run, [flag, "99999", "--camera", "h"])
        assert r.exit_code == 2 and "99999" in r.output and "1-65535" in r.output
    proc = subprocess.run(
        [PYTHON, "-m", "ptpd", "run", "--camera", "127.0.0.1:99999"], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 102 and "out of range" in proc.stderr and "Traceback" not in proc.stderr


def test_ptpd_run_f_refuses_an_unusable_server_port_with_one_line(tmp_path: Path) -> None:
    f = _ini(tmp_path, '[responder]\nhost = 127.0.0.1\n[server]\nenabled = "true"\nport = 65535\n')
    r = subprocess.run([PYTHON, "-m", "ptpd", "run", "-f", str(f)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 102 and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and "[server] port = 65535" in r.stderr


def test_ptpd_run_and_ptpctl_share_one_ini_with_f(tmp_path: Path) -> None:
    # The README's Fuji file with its server moved to free ports and a vendor ptpd has no
    # dialect for: `ptpd run -f` listens where [server] says and warns once, `ptpctl -f`
    # finds the daemon there.
    port = free_port(3)
    text = README_FUJI.replace("port = 15740", f"port = {port}").replace('vendor = "fuji"', 'vendor = "nikon"')
    f = _ini(tmp_path, text, "old.conf")
    env = {**os.environ, "PTPD_RUNTIME_DIR": str(tmp_path / "run")}  # nothing listens at the defaults
    d = Proc(
        [PYTHON, "-m", "ptpd", "run", "-f", str(f), "--simulate", "generic", "--state-dir", str(tmp_path / "s")],
        env=env,
    )
    try:
        deadline = time.monotonic() + 40
        while True:
            r = subprocess.run(
                [PYTHON, "-m", "ptpctl", "-f", str(f), "--json", "status"],
                capture_output=True,
                text=True,
                timeout=30,
                env=env,
            )
            if r.returncode == 0 and json.loads(r.stdout)["connection"] == "connected":
                break
            assert d.popen.poll() is None and time.monotonic() < deadline, r.stderr
            time.sleep(0.2)
        assert json.loads(r.stdout)["vendor"] == "generic"
        no_file = subprocess.run(
            [PYTHON, "-m", "ptpctl", "status"], capture_output=True, text=True, timeout=30, env=env
        )
        assert no_file.returncode == 105  # it was the file that led ptpctl there
    finally:
        assert d.stop() == 0
    _, err = d.output()
    warnings = [line for line in err.splitlines() if "'nikon'" in line]
    assert len(warnings) == 1 and "WARNING" in warnings[0] and "generic" in warnings[0]


# -- ptpctl: the tool's trailing words ------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["info", "json"], ["info", "--json"]),
        (["info", "json", "pretty"], ["info", "--json", "--pretty"]),
        (["state", "json"], ["state", "--json"]),
        (["describe", "0x5005", "json", "pretty"], ["describe", "0x5005", "--json", "--pretty"]),
        (["--timeout", "3", "describe", "iso", "json"], ["--timeout", "3", "describe", "iso", "--json"]),
        (["-f", "x.conf", "state", "json"], ["-f", "x.conf", "state", "--json"]),
        (["liveview", "novf"], ["liveview", "--no-overlay"]),
        (["liveview", "nolv"], ["liveview", "--no-overlay"]),
        # not the tool's words: left alone
        (["describe", "json"], ["describe", "json"]),  # a property named json
        (["capture", "json"], ["capture", "json"]),  # a file named json
        (["get", "iso", "json"], ["get", "iso", "json"]),  # get never took it
        (["set", "iso", "json"], ["set", "iso", "json"]),
        (["--command-endpoint", "info", "get", "iso"], ["--command-endpoint", "info", "get", "iso"]),
    ],
)
def test_translate(argv: list[str], expected: list[str]) -> None:
    assert translate(argv) == expected


def ptpctl(d: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "ptpctl", *args], capture_output=True, text=True, env=d.full_env(), timeout=30)


def test_old_scripts_json_words_against_the_daemon(daemon: Daemon) -> None:
    info = ptpctl(daemon, "info", "json")
    assert info.returncode == 0, info.stderr
    assert info.stdout.count("\n") == 1 and json.loads(info.stdout)["model"] == "X-T1"  # one line in a pipe
    pretty = ptpctl(daemon, "describe", "0x5005", "json", "pretty")
    assert pretty.returncode == 0, pretty.stderr
    assert pretty.stdout.startswith("{\n  ") and json.loads(pretty.stdout)["code"] == 0x5005  # indented in a pipe
    state = ptpctl(daemon, "state", "json")
    assert state.returncode == 0 and isinstance(json.loads(state.stdout), list)
    shell = subprocess.run(
        [PYTHON, "-m", "ptpctl", "shell"],
        input="info json pretty\nstate json\n",
        capture_output=True,
        text=True,
        env=daemon.full_env(),
        timeout=30,
    )
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.startswith("{\n") and '"model": "X-T1"' in shell.stdout


def test_liveview_novf_saves_a_bare_frame(daemon: Daemon, tmp_path: Path) -> None:
    import cv2

    bare, over = tmp_path / "bare.png", tmp_path / "over.png"
    for word, path in (("novf", bare), (None, over)):
        args = ["liveview", "--snapshot", str(path)] + ([word] if word else [])
        r = ptpctl(daemon, *args)
        assert r.returncode == 0, r.stderr
    a, b = cv2.imread(str(bare)), cv2.imread(str(over))
    assert a is not None and b is not None and a.shape == b.shape
    # the overlay's bottom row (ISO, battery, bias scale) is only on the second
    h = a.shape[0]
    assert cv2.absdiff(a[h - 30 :], b[h - 30 :]).max() > 60
