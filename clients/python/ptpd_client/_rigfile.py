"""The rig file: which daemons make a rig, where each listens, the keys, and the groups.

A TOML file (``docs/rigs.md`` has the full form)::

    client_key = "keys/rig.key_secret"   # this client's CURVE key pair, for cameras on TCP
    runtime = "/run/ptpd"                # where local daemons (ptpd@NAME) keep their sockets

    [hosts.h01]                          # a machine running daemons
    address = "10.0.1.1"
    server_key = "keys/h01.key"          # its daemons' CURVE public key

    [cameras.front]                      # a daemon on this host: ipc://RUNTIME/front/...
    [cameras.c001]
    host = "h01"                         # a [hosts] name, or an address
    port = 5600                          # command port; events +1, live view +2
    [cameras.c002]
    command = "tcp://10.0.1.2:5600"      # or every endpoint spelled out
    event = "tcp://10.0.1.2:5601"
    liveview = "tcp://10.0.1.2:5602"
    server_key = "keys/h02.key"

    [groups]
    left = ["c001", "c002"]

Every ``[hosts]`` name is a group too (the cameras on that host). Key files are read
relative to the rig file. A camera name becomes a file name when images are gathered,
so it is letters, digits, ``.``, ``_`` and ``-``.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ptpd import bus

from ._errors import ClientError

_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")
_Z85 = re.compile(r"^[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}$")
_TOP = {"client_key", "runtime", "timeout", "hosts", "cameras", "groups"}
_HOST = {"address", "server_key"}
_CAMERA = {"host", "port", "command", "event", "liveview", "server_key"}


class RigFileError(ClientError):
    """The rig file cannot be read or says something that cannot work; the message names
    the file and the key."""


@dataclass(frozen=True, slots=True)
class RigCamera:
    """One camera of a rig: its name and its daemon's endpoints and keys."""

    name: str
    command: str
    event: str
    liveview: str
    #: the daemon's CURVE public key (a file or z85 text); None: no CURVE (ipc, loopback)
    server_key: str | None = None
    #: this client's CURVE key pair (a ``NAME.key_secret`` file or z85 secret)
    client_key: str | None = None
    #: the ``[hosts]`` entry it runs on, if it was named by one
    host: str | None = None

    @property
    def curve(self) -> bool:
        return self.server_key is not None


@dataclass(frozen=True, slots=True)
class RigFile:
    """A parsed rig file: cameras in file order, and groups by name."""

    path: Path | None
    cameras: dict[str, RigCamera]
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: seconds each camera's replies may take (``timeout``)
    timeout: float = 10.0

    def select(
        self, cameras: tuple[str, ...] | list[str] = (), groups: tuple[str, ...] | list[str] = ()
    ) -> list[RigCamera]:
        """The cameras named, and those of the groups named, in file order (all when
        neither is given). An unknown name is a :class:`RigFileError`."""
        if not cameras and not groups:
            return list(self.cameras.values())
        wanted: set[str] = set()
        for name in cameras:
            if name not in self.cameras:
                raise RigFileError(f"{self._where()}: no camera {name!r} (cameras: {_list(self.cameras)})")
            wanted.add(name)
        for g in groups:
            if g not in self.groups:
                raise RigFileError(f"{self._where()}: no group {g!r} (groups: {_list(self.groups) or 'none'})")
            wanted.update(self.groups[g])
        return [c for name, c in self.cameras.items() if name in wanted]

    def _where(self) -> str:
        return str(self.path) if self.path is not None else "rig"


def _list(names: Any) -> str:
    names = list(names)
    return ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")


def load_rig(path: str | os.PathLike[str]) -> RigFile:
    """Read and check a rig file (see the module); :class:`RigFileError` says what is wrong."""
    import tomllib

    p = Path(path)
    try:
        with open(p, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise RigFileError(f"rig file {p}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RigFileError(f"rig file {p}: {exc}") from None
    return parse_rig(data, p)


def parse_rig(data: dict[str, Any], path: Path | None = None) -> RigFile:
    """A :class:`RigFile` from the TOML's tables (``path``: where key files are looked up)."""
    where = str(path) if path is not None else "rig"
    base = path.parent if path is not None else Path.cwd()

    def fail(message: str) -> RigFileError:
        return RigFileError(f"{where}: {message}")

    def unknown(table: dict[str, Any], allowed: set[str], what: str) -> None:
        extra = sorted(set(table) - allowed)
        if extra:
            raise fail(f"{what}: unknown key(s) {', '.join(extra)} (allowed: {', '.join(sorted(allowed))})")

    def text(table: dict[str, Any], key: str, what: str) -> str | None:
        value = table.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise fail(f"{what}: {key} must be a non-empty string")
        return value

    def keyfile(value: str | None, what: str) -> str | None:
        """A key file, taken relative to the rig file, or a 40-character z85 key as it is."""
        if value is None:
            return None
        candidate = base / os.path.expanduser(value)
        if candidate.is_file():
            return str(candidate)
        if _Z85.match(value):
            return value
        raise fail(f"{what}: no key file {candidate} (and not a 40-character z85 key)")

    if not isinstance(data, dict):
        raise fail("not a table")
    unknown(data, _TOP, "top level")
    timeout = data.get("timeout", 10.0)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 3600:
        raise fail("timeout must be seconds, more than 0 and at most 3600")
    client_key = keyfile(
        text(data, "client_key", "top level") or os.environ.get(bus.ENV_CURVE_CLIENT_KEY) or None, "client_key"
    )
    runtime = text(data, "runtime", "top level") or _runtime_base()

    hosts: dict[str, dict[str, Any]] = {}
    for name, h in _table(data, "hosts", fail).items():
        if not isinstance(h, dict):
            raise fail(f"hosts.{name} must be a table")
        unknown(h, _HOST, f"hosts.{name}")
        if not _NAME.match(name):
            raise fail(f"hosts.{name}: a host name is letters, digits, '.', '_' and '-'")
        if not text(h, "address", f"hosts.{name}"):
            raise fail(f"hosts.{name}: address is missing")
        hosts[name] = h

    cameras: dict[str, RigCamera] = {}
    for name, c in _table(data, "cameras", fail).items():
        what = f"cameras.{name}"
        if not isinstance(c, dict):
            raise fail(f"{what} must be a table")
        unknown(c, _CAMERA, what)
        if not _NAME.match(name):
            raise fail(f"{what}: a camera name is letters, digits, '.', '_' and '-' (it names its files)")
        cameras[name] = _camera(name, c, hosts, runtime, client_key, keyfile, text, fail)
    if not cameras:
        raise fail("no [cameras] in it")

    groups: dict[str, tuple[str, ...]] = {h: tuple(n for n, c in cameras.items() if c.host == h) for h in hosts}
    for name, members in _table(data, "groups", fail).items():
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise fail(f"groups.{name} must be a list of camera names")
        missing = [m for m in members if m not in cameras]
        if missing:
            raise fail(f"groups.{name}: no camera {missing[0]!r}")
        if name in hosts:
            raise fail(f"groups.{name}: {name} is a host already (its cameras are a group)")
        groups[name] = tuple(dict.fromkeys(members))
    return RigFile(path, cameras, groups, float(timeout))


def _table(data: dict[str, Any], key: str, fail: Any) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise fail(f"{key} must be a table")
    return value


def _camera(
    name: str,
    c: dict[str, Any],
    hosts: dict[str, dict[str, Any]],
    runtime: str,
    client_key: str | None,
    keyfile: Any,
    text: Any,
    fail: Any,
) -> RigCamera:
    what = f"cameras.{name}"
    command = text(c, "command", what)
    host = text(c, "host", what)
    port = c.get("port")
    server_key = text(c, "server_key", what)
    host_name = None
    if command and (host or port is not None):
        raise fail(f"{what}: give command (and event, liveview) or host and port, not both")
    if host is not None:
        if port is None or isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65533:
            raise fail(
                f"{what}: port must be the daemon's command port, 1-65533 (events on port+1, live view on port+2)"
            )
        if host in hosts:
            host_name = host
            server_key = server_key or hosts[host].get("server_key")
            host = hosts[host]["address"]
        addr = f"[{host}]" if ":" in host else host
        command, event, liveview = (f"tcp://{addr}:{port + i}" for i in range(3))
    elif port is not None:
        raise fail(f"{what}: port needs a host")
    elif command:
        event = text(c, "event", what) or bus.event_endpoint_for(command)
        liveview = text(c, "liveview", what) or bus.liveview_endpoint_for(event)
    else:  # a daemon on this host, as ptpd@NAME runs it
        if "event" in c or "liveview" in c:
            raise fail(f"{what}: event and liveview go with command")
        d = f"{runtime}/{name}"
        command, event, liveview = f"ipc://{d}/command", f"ipc://{d}/event", f"ipc://{d}/liveview"
    for ep in (command, event, liveview):
        if not ep.startswith(("ipc://", "tcp://")):
            raise fail(f"{what}: {ep!r} is not an ipc:// or tcp:// endpoint")
    if server_key is None and any(ep.startswith("tcp://") and not _loopback(ep) for ep in (command, event, liveview)):
        raise fail(f"{what}: a daemon beyond loopback listens only with CURVE: give server_key (its public key)")
    server = keyfile(server_key, f"{what}: server_key")
    if server is not None and client_key is None:
        raise fail(
            f"{what}: CURVE needs this client's key pair too: client_key at the top level "
            f"(or {bus.ENV_CURVE_CLIENT_KEY}; make one with 'ptpd keys DIR --name rig')"
        )
    return RigCamera(name, command, event, liveview, server, client_key if server else None, host_name)


def _loopback(endpoint: str) -> bool:
    host = endpoint[6:].rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _runtime_base() -> str:
    """Where local daemons keep their sockets: ``ptpd@NAME`` under ``$XDG_RUNTIME_DIR/ptpd``
    (a user's units) or ``/run/ptpd`` (root), as the bus's defaults put one daemon."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return os.path.join(xdg, "ptpd")
    return "/run/ptpd" if os.geteuid() == 0 else f"/tmp/ptpd-{os.geteuid()}"
