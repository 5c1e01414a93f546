"""The daemon's configuration: defaults < ``PTPD_*`` environment < config file < flags.

A config file is TOML (``*.toml``) or the ptp-ip tool's INI (sections ``[initiator]``,
``[responder]``, ``[server]``; any other file that parses as INI), read by
:mod:`ptpd.ptpip_ini` as that tool reads it. Both are read into the same flat key space
(:data:`KEYS`), so precedence is decided in one place: :func:`load_config`. The INI keeps
the tool's ways: no host means its default camera address, and a vendor ptpd has no
dialect for is driven as generic, with a warning (:attr:`Config.warnings`).

TOML layout (every key optional)::

    [camera]                      # the camera to hold
    host = "192.168.0.1"          # or "HOST:PORT"
    vendor = "fuji"               # a name from ptpd.camera.vendors: generic | fuji | canon | auto
                                  # (default: auto on port 15740, else generic)
    port = 15740                  # generic: the one port
    cmd_port = 55740              # fuji: command/data, event, live-view ports
    event_port = 55741
    stream_port = 55742
    timeout = 10.0                # seconds a transaction may take
    keepalive = 10.0              # seconds of idleness before a keep-awake poll; 0 = off

    [initiator]
    name = "ptpd"                 # friendly name the camera shows
    guid = ""                     # empty: generated once, kept in the state directory

    [bus]
    command = "ipc:///run/ptpd/command"
    event = "ipc:///run/ptpd/event"
    liveview = "ipc:///run/ptpd/liveview"
    curve_secret_key = "/etc/ptpd/keys/server.key_secret"   # needed for non-loopback TCP
    curve_clients = "/etc/ptpd/clients.d"                    # allowed client public keys

    [daemon]
    log_level = "info"
    state_dir = "/var/lib/ptpd"
    reconnect_max = 5.0           # longest wait between reconnect attempts, seconds
    release_priority = 0          # 1-99: a scheduled release runs real-time (SCHED_FIFO); docs/rigs.md

    [simulate]                    # run a simulated camera inside the daemon
    vendor = "fuji"
    model = ""
    latency = 0.0                 # ms per transaction
"""

from __future__ import annotations

import ipaddress
import os
import socket
import tomllib
import uuid
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ptpd import bus
from ptpd.camera import vendors
from ptpd.ptpip_ini import DEFAULT_HOST as INI_DEFAULT_HOST
from ptpd.ptpip_ini import IniError, is_ptpip_ini, parse_port, read_ptpip_ini, server_endpoints

#: the vendors a camera can be made for (the camera layer's registry)
VENDORS = vendors.names()
LOG_LEVELS = ("debug", "info", "warning", "error")


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which key and why."""


@dataclass(frozen=True, slots=True)
class Config:
    """Everything ``ptpd run`` needs, after every source was merged."""

    host: str | None = None  #: camera address; None only with ``simulate``
    vendor: str = "generic"
    port: int | None = None  #: generic: the one port (15740)
    cmd_port: int | None = None  #: fuji: command/data port (55740)
    event_port: int | None = None  #: fuji: event port (55741)
    stream_port: int | None = None  #: fuji: live-view port (55742)
    timeout: float = 10.0
    keepalive: float = 10.0  #: 0 disables keep-awake polling
    name: str = "ptpd"
    guid: str | None = None
    command_endpoint: str = ""
    event_endpoint: str = ""
    liveview_endpoint: str = ""
    curve_secret_key: str | None = None
    curve_clients: str | None = None
    log_level: str = "info"
    state_dir: str = ""
    reconnect_min: float = 0.25
    reconnect_max: float = 5.0
    #: SCHED_FIFO priority a scheduled release (capture ``at``) is written at; 0: as any other work
    release_priority: int = 0
    simulate: str | None = None
    sim_model: str | None = None
    sim_latency: float = 0.0
    sim_options: dict[str, Any] = field(default_factory=dict)
    #: what the configuration did that its author may not expect (logged at start-up)
    warnings: tuple[str, ...] = ()

    @property
    def endpoints(self) -> bus.Endpoints:
        return bus.Endpoints(self.command_endpoint, self.event_endpoint, self.liveview_endpoint)

    def camera_vendor(self) -> vendors.Vendor:
        """The configured vendor's registry entry."""
        return vendors.vendor(self.vendor)

    def camera_ports(self) -> tuple[int, int, int]:
        """(command, event, stream) ports: those given, else the vendor's defaults."""
        return self.camera_vendor().ports(self.cmd_port or self.port, self.event_port, self.stream_port)


#: flat key -> (type, source names that map onto it). Types are used to coerce file/env text.
KEYS: dict[str, type] = {f.name: f.type for f in fields(Config) if f.name != "warnings"}  # type: ignore[misc]  # classes: no postponed annotations here

_INT_KEYS = {"port", "cmd_port", "event_port", "stream_port"}
_FLOAT_KEYS = {"timeout", "keepalive", "reconnect_min", "reconnect_max", "sim_latency"}
_PLAIN_INT_KEYS = {"release_priority"}

#: ``[simulate]`` keys that are not the simulated camera's to take, and why
_SIM_RESERVED = {
    "host": "the simulated camera inside the daemon always listens on 127.0.0.1; remove it",
    "port": "the simulated camera inside the daemon listens on free ports it picks; remove it",
    "latency_ms": "say latency (milliseconds per transaction)",
}

#: TOML section.key -> flat key
_TOML_MAP = {
    ("camera", "host"): "host",
    ("camera", "vendor"): "vendor",
    ("camera", "port"): "port",
    ("camera", "cmd_port"): "cmd_port",
    ("camera", "cmd_data_port"): "cmd_port",
    ("camera", "event_port"): "event_port",
    ("camera", "stream_port"): "stream_port",
    ("camera", "timeout"): "timeout",
    ("camera", "keepalive"): "keepalive",
    ("initiator", "name"): "name",
    ("initiator", "friendly_name"): "name",
    ("initiator", "guid"): "guid",
    ("bus", "command"): "command_endpoint",
    ("bus", "event"): "event_endpoint",
    ("bus", "liveview"): "liveview_endpoint",
    ("bus", "curve_secret_key"): "curve_secret_key",
    ("bus", "curve_clients"): "curve_clients",
    ("daemon", "log_level"): "log_level",
    ("daemon", "state_dir"): "state_dir",
    ("daemon", "reconnect_min"): "reconnect_min",
    ("daemon", "reconnect_max"): "reconnect_max",
    ("daemon", "release_priority"): "release_priority",
    ("simulate", "vendor"): "simulate",
    ("simulate", "model"): "sim_model",
    ("simulate", "latency"): "sim_latency",
}

#: environment variable -> flat key (they override only the built-in defaults)
ENV_MAP = {
    "PTPD_CAMERA": "host",
    "PTPD_VENDOR": "vendor",
    "PTPD_PORT": "port",
    "PTPD_CMD_PORT": "cmd_port",
    "PTPD_EVENT_PORT": "event_port",
    "PTPD_STREAM_PORT": "stream_port",
    "PTPD_TIMEOUT": "timeout",
    "PTPD_KEEPALIVE": "keepalive",
    "PTPD_NAME": "name",
    "PTPD_GUID": "guid",
    bus.ENV_COMMAND: "command_endpoint",
    bus.ENV_EVENT: "event_endpoint",
    bus.ENV_LIVEVIEW: "liveview_endpoint",
    "PTPD_CURVE_SECRET_KEY": "curve_secret_key",
    "PTPD_CURVE_CLIENTS": "curve_clients",
    "PTPD_LOG_LEVEL": "log_level",
    "PTPD_STATE_DIR": "state_dir",
    "PTPD_RELEASE_PRIORITY": "release_priority",
    "PTPD_SIMULATE": "simulate",
}


def _coerce(key: str, value: Any, source: str) -> Any:
    if value is None:
        return None
    try:
        if key in _INT_KEYS:
            return parse_port(value, f"{source}: {key}")  # 0x... too, as the ptp-ip tool allows
        if key in _FLOAT_KEYS:
            return float(value)
        if key in _PLAIN_INT_KEYS:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError("not a whole number")
            return int(value)
    except IniError as exc:
        raise ConfigError(str(exc)) from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {key} = {value!r}: {exc}") from exc
    if isinstance(value, str):
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]  # INI values may be quoted
    return value


def read_toml(path: Path) -> dict[str, Any]:
    """Flat keys from a TOML config file."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    out: dict[str, Any] = {}
    for section, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: top-level key {section!r} must be a [section]")
        for key, value in table.items():
            flat = _TOML_MAP.get((section, key))
            if flat is None:
                if section == "simulate":
                    if key in _SIM_RESERVED:
                        raise ConfigError(f"{path}: [simulate] {key}: {_SIM_RESERVED[key]}")
                    out.setdefault("sim_options", {})[key] = value  # passed to the simulator
                    continue
                raise ConfigError(f"{path}: unknown key [{section}] {key}")
            out[flat] = _coerce(flat, value, str(path))
    return out


def read_ini(path: Path) -> dict[str, Any]:
    """Flat keys from the ptp-ip tool's INI file (see :mod:`ptpd.ptpip_ini`).

    The tool's default camera address is not among them: it is a default, so a
    ``PTPD_CAMERA`` in the environment still wins over it (see :func:`load_config`).
    A vendor ptpd has no dialect for (the tool knew nikon, sony, ... as generic too)
    becomes generic, with a warning.
    """
    try:
        ini = read_ptpip_ini(path)
    except IniError as exc:
        raise ConfigError(str(exc)) from None
    out: dict[str, Any] = {}
    for key in ("name", "guid", "host", "port", "cmd_port", "event_port", "stream_port"):
        value = getattr(ini, key)
        if value is not None:
            out[key] = value
    if ini.vendor is not None:
        if ini.vendor in vendors.names():  # read now, as load_config does
            out["vendor"] = ini.vendor
        else:
            out["vendor"] = "generic"
            out["warnings"] = (
                f"{path}: [responder] vendor = {ini.vendor!r}: ptpd has no dialect for it; "
                f"driving the camera as generic PTP/IP, as the ptp-ip tool did",
            )
    if ini.server.enabled:
        # The tool's text server maps onto our bus: commands on PORT, events PORT+1, frames PORT+2.
        eps = server_endpoints(ini.server.address, ini.server.port)
        out["command_endpoint"], out["event_endpoint"], out["liveview_endpoint"] = eps.command, eps.event, eps.liveview
    return out


def read_file(path: str | Path) -> dict[str, Any]:
    """Flat keys from a config file: TOML by extension or content, else ptp-ip INI."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"cannot read config file {p}: no such file")
    return read_ini(p) if is_ptpip_ini(p) else read_toml(p)


def read_env(environ: dict[str, str] | os._Environ[str] | None = None) -> dict[str, Any]:
    env = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for name, flat in ENV_MAP.items():
        if env.get(name):
            out[flat] = _coerce(flat, env[name], name)
    return out


def default_state_dir(environ: dict[str, str] | os._Environ[str] | None = None) -> str:
    """``$STATE_DIRECTORY`` (systemd), else ``$XDG_STATE_HOME/ptpd``, else ``~/.local/state/ptpd``."""
    env = os.environ if environ is None else environ
    sd = env.get("STATE_DIRECTORY")
    if sd:
        return sd.split(":")[0]  # systemd lists several when several are configured
    xdg = env.get("XDG_STATE_HOME")
    if xdg:
        return os.path.join(xdg, "ptpd")
    return os.path.join(os.path.expanduser("~"), ".local", "state", "ptpd")


def split_camera(value: str) -> tuple[str, int | None]:
    """``HOST[:PORT]`` (IPv6 as ``[::1]:PORT``) -> (host, port or None)."""
    value = value.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    else:
        host, port = value, ""
    if not host:
        raise ConfigError(f"camera {value!r}: no host")
    return host, (_coerce("port", port, "camera") if port else None)


def load_config(
    flags: dict[str, Any] | None = None,
    config_file: str | Path | None = None,
    environ: dict[str, str] | os._Environ[str] | None = None,
) -> Config:
    """Merge defaults < environment < file < flags, then validate and fill derived values."""
    merged: dict[str, Any] = {}
    merged.update(read_env(environ))
    if config_file:
        merged.update(read_file(config_file))
    merged.update({k: v for k, v in (flags or {}).items() if v is not None})
    if not merged.get("host") and config_file and is_ptpip_ini(config_file):
        merged["host"] = INI_DEFAULT_HOST  # the ptp-ip tool's default camera address

    host = merged.get("host")
    if isinstance(host, str) and host:
        h, p = split_camera(host)
        merged["host"] = h
        if p is not None and (flags or {}).get("port") is None:
            merged["port"] = p
    warnings = tuple(merged.pop("warnings", ()))
    unknown = set(merged) - set(KEYS)
    if unknown:
        raise ConfigError(f"unknown configuration keys: {', '.join(sorted(unknown))}")
    if not merged.get("vendor"):
        # on the standard port the camera says which dialect it speaks; elsewhere it is
        # a standard one unless told
        port = merged.get("cmd_port") or merged.get("port")
        merged["vendor"] = vendors.AUTO.name if port in (None, vendors.AUTO.port) else "generic"
    cfg = Config(**merged, warnings=warnings)

    known = vendors.names()  # read now: a vendor registered after import counts
    if cfg.vendor not in known:
        raise ConfigError(f"vendor {cfg.vendor!r}: choose one of {', '.join(known)}")
    if cfg.simulate is not None:
        from ptpd.simulator import VENDORS as SIMULATED  # imported only for --simulate

        choices = [v for v in known if v in SIMULATED]
        if cfg.simulate not in choices:
            raise ConfigError(f"simulate {cfg.simulate!r}: choose one of {', '.join(choices)}")
    if cfg.simulate is None and not cfg.host:
        raise ConfigError("no camera: give --camera HOST[:PORT] (or --simulate generic|fuji|canon)")
    if cfg.log_level.lower() not in LOG_LEVELS:
        raise ConfigError(f"log level {cfg.log_level!r}: choose one of {', '.join(LOG_LEVELS)}")
    if cfg.keepalive < 0 or cfg.timeout <= 0 or cfg.reconnect_min <= 0 or cfg.reconnect_max < cfg.reconnect_min:
        raise ConfigError("timeout and reconnect delays must be positive, keepalive >= 0")
    if not 0 <= cfg.release_priority <= 99:
        raise ConfigError(f"release_priority {cfg.release_priority}: 0 (off) or a SCHED_FIFO priority, 1-99")
    if cfg.guid:
        try:
            uuid.UUID(cfg.guid)
        except ValueError as exc:
            raise ConfigError(f"guid {cfg.guid!r} is not a UUID") from exc

    defaults = bus.default_endpoints()
    cmd = cfg.command_endpoint or defaults.command
    evt = cfg.event_endpoint or (defaults.event if not cfg.command_endpoint else "")
    if not evt:
        raise ConfigError("--command-endpoint given without --event-endpoint")
    lv = cfg.liveview_endpoint or (bus.liveview_endpoint_for(evt) if cfg.event_endpoint else defaults.liveview)
    cfg = replace(
        cfg,
        vendor=cfg.simulate or cfg.vendor,
        log_level=cfg.log_level.lower(),
        command_endpoint=cmd,
        event_endpoint=evt,
        liveview_endpoint=lv,
        state_dir=cfg.state_dir or default_state_dir(environ),
    )
    check_endpoints(cfg)
    return cfg


def endpoint_is_local(endpoint: str) -> bool:
    """True for ipc://, inproc:// and TCP bound to a loopback address."""
    scheme, _, rest = endpoint.partition("://")
    if scheme == "ipc":
        # Linux abstract sockets (ipc://@name) have no file, hence no permissions: any
        # local user can connect, so they count as open.
        return not rest.startswith("@")
    if scheme == "inproc":
        return True
    if scheme != "tcp":
        return False
    host, _, _port = rest.rpartition(":")
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # "*", an interface name, a host name: could reach the network


def _check_tcp_port(endpoint: str) -> None:
    """A TCP endpoint's port is 1-65535 (or ``*``, any free one): refused here, at load
    time, rather than when the bus binds."""
    host, sep, port = endpoint.partition("://")[2].rpartition(":")
    if not sep or not host:
        raise ConfigError(f"endpoint {endpoint!r}: give tcp://ADDRESS:PORT")
    if port == "*":
        return
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(f"endpoint {endpoint!r}: port {port!r} is not in 1-65535")


def check_endpoints(cfg: Config) -> None:
    """Refuse to listen beyond loopback without CURVE keys and an allow-list."""
    for ep in (cfg.command_endpoint, cfg.event_endpoint, cfg.liveview_endpoint):
        scheme = ep.partition("://")[0]
        if scheme not in ("ipc", "tcp", "inproc"):
            raise ConfigError(f"endpoint {ep!r}: use ipc:// or tcp://")
        if scheme == "tcp":
            _check_tcp_port(ep)
        if not endpoint_is_local(ep) and not (cfg.curve_secret_key and cfg.curve_clients):
            where = (
                "as an abstract socket (open to every local user)" if ep.startswith("ipc://@") else "beyond loopback"
            )
            raise ConfigError(
                f"refusing to bind {ep} {where} without CURVE: set curve_secret_key and "
                "curve_clients (see 'ptpd keys --help')"
            )
    if len({cfg.command_endpoint, cfg.event_endpoint, cfg.liveview_endpoint}) != 3:
        raise ConfigError("command, event and live-view endpoints must differ")


def load_or_create_guid(state_dir: str) -> str:
    """The initiator GUID kept in ``state_dir/guid``; made once, because cameras pair with it."""
    path = Path(state_dir) / "guid"
    try:
        text = path.read_text().strip()
        return str(uuid.UUID(text))
    except (OSError, ValueError):
        pass
    guid = str(uuid.uuid4())
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(guid + "\n")
    os.replace(tmp, path)
    return guid


def ensure_ipc_dirs(cfg: Config) -> None:
    """Create the directories of ipc:// endpoints with mode 0700 (local-only access).

    An existing directory is checked, because whoever can write to it can replace our
    sockets: one we own is made 0700 when others or its group could write or enter it (a
    0750 directory, the documented way to share the bus with a group, is kept); one owned by another user (say a
    squatted ``/tmp/ptpd-<uid>``), or root's but writable by others, is refused.
    """
    euid = os.geteuid()
    for ep in (cfg.command_endpoint, cfg.event_endpoint, cfg.liveview_endpoint):
        if ep.startswith("ipc://"):
            path = ep[len("ipc://") :]
            if path.startswith("@"):  # Linux abstract socket: no file
                continue
            d = Path(path).parent
            try:
                d.mkdir(parents=True, mode=0o700)
            except FileExistsError:
                pass  # made meanwhile (another daemon starting at the same instant): checked below
            else:
                os.chmod(d, 0o700)  # mkdir's mode is masked by umask
                continue
            st = d.stat()
            mode = st.st_mode & 0o777
            if st.st_uid == euid:
                if mode & 0o027:
                    os.chmod(d, 0o700)
            elif st.st_uid != 0 or mode & 0o022:
                raise ConfigError(
                    f"runtime directory {d} belongs to uid {st.st_uid} (mode {mode:04o}): another user "
                    "could replace the sockets; remove it or choose another endpoint"
                )


def ipc_in_use(endpoint: str) -> bool:
    """True when something already accepts connections on this ipc:// socket file.

    libzmq silently replaces an existing socket file on bind, which would steal the
    endpoint from a daemon that is still running; check first.
    """
    if not endpoint.startswith("ipc://"):
        return False
    path = endpoint[len("ipc://") :]
    if path.startswith("@") or not os.path.exists(path):
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        try:
            s.connect(path)
        except OSError:
            return False  # a stale file from a daemon that died
    return True
