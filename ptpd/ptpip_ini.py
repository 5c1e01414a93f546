"""The ptp-ip tool's INI config file, read the way that tool reads it.

Users of the Go ``ptp-ip`` tool keep one INI file per camera (its README prints two:
a generic body and a Fuji one). Both ptpd programs take that file as it is:
``ptpd run -f FILE`` reads the camera and the bus endpoints from it, ``ptpctl -f FILE``
only where the daemon listens (``[server]``). One reader serves both, so they agree.

What the tool accepts, and so do we (go-ini's reading):

- sections ``[initiator]`` (``friendly_name``, ``guid``), ``[responder]`` (``vendor``,
  ``host``, ``port``, ``cmd_data_port``, ``event_port``, ``stream_port``) and ``[server]``
  (``enabled``, ``address``, ``port``); other sections and keys are ignored;
- comments after ``;`` or ``#``; values in double quotes, single quotes or backquotes;
- ports in decimal or ``0x`` hex, 1-65535;
- booleans ``true/false``, ``yes/no``, ``on/off``, ``1/0``, ``t/f``, ``y/n`` (any case,
  quoted or not: ``enabled = "true"``);
- no ``host``: the tool's default camera address, :data:`DEFAULT_HOST`.

Where the tool was silent we are not: an out-of-range port, a boolean that is none of
the above, or a server port whose two neighbours (events, live view) do not fit below
65536 is an :class:`IniError` naming the key, at load time rather than at bind time.
"""

from __future__ import annotations

import configparser
from dataclasses import dataclass
from pathlib import Path

from ptpd import bus

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_SERVER_ADDRESS",
    "DEFAULT_SERVER_PORT",
    "SECTIONS",
    "IniError",
    "PtpIpIni",
    "Server",
    "is_ptpip_ini",
    "parse_bool",
    "parse_port",
    "read_ptpip_ini",
    "server_endpoints",
    "unquote",
]

#: the camera address the tool used when the file names none
DEFAULT_HOST = "192.168.0.1"
#: the tool's text server: loopback, on the PTP/IP port number
DEFAULT_SERVER_ADDRESS = "127.0.0.1"
DEFAULT_SERVER_PORT = 15740
#: the sections the tool reads
SECTIONS = ("initiator", "responder", "server")

_TRUE = {"1", "t", "true", "y", "yes", "on"}
_FALSE = {"0", "f", "false", "n", "no", "off"}


class IniError(ValueError):
    """The file cannot be used; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class Server:
    """``[server]``: where the tool listened; ptpd's bus listens there instead."""

    enabled: bool = False
    address: str = DEFAULT_SERVER_ADDRESS
    port: int = DEFAULT_SERVER_PORT


@dataclass(frozen=True, slots=True)
class PtpIpIni:
    """What a ptp-ip INI file says; ``None`` where it says nothing."""

    name: str | None = None  #: [initiator] friendly_name
    guid: str | None = None  #: [initiator] guid
    vendor: str | None = None  #: [responder] vendor, lower case
    host: str | None = None  #: [responder] host (None: the tool's default, :data:`DEFAULT_HOST`)
    port: int | None = None  #: [responder] port
    cmd_port: int | None = None  #: [responder] cmd_data_port
    event_port: int | None = None  #: [responder] event_port
    stream_port: int | None = None  #: [responder] stream_port
    server: Server = Server()


def unquote(text: str) -> str:
    """A value without its surrounding quotes (``"x"``, ``'x'`` or a backquoted x)."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'`":
        return text[1:-1]
    return text


def parse_bool(text: str, where: str = "value") -> bool:
    """An INI boolean as go-ini reads one; :class:`IniError` for anything else."""
    word = unquote(text).lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise IniError(f"{where} = {text!r}: not a boolean (true/false, yes/no, on/off, 1/0)")


def parse_port(text: str | int, where: str = "port") -> int:
    """A TCP port: decimal or ``0x`` hex (quotes allowed), 1-65535 (every ptpd config
    source reads ports this way: the INI, TOML, the environment, the command line)."""
    try:
        if isinstance(text, bool) or not isinstance(text, (int, str)):
            raise ValueError
        port = text if isinstance(text, int) else int(unquote(text), 0)
    except ValueError:
        raise IniError(f"{where} = {text!r}: not a port number (decimal or 0x hex)") from None
    if not 1 <= port <= 65535:
        raise IniError(f"{where} = {text!r}: out of range 1-65535")
    return port


def server_endpoints(address: str, port: int, where: str = "[server] port") -> bus.Endpoints:
    """The bus on the tool's server address: commands on ``port``, events on ``port + 1``,
    live view on ``port + 2`` (so all three must fit below 65536)."""
    if not 1 <= port <= 65533:
        raise IniError(
            f"{where} = {port}: the bus needs it and the next two ports "
            f"(events {port + 1}, live view {port + 2}); use 1-65533"
        )
    host = f"[{address}]" if ":" in address else address
    return bus.Endpoints(f"tcp://{host}:{port}", f"tcp://{host}:{port + 1}", f"tcp://{host}:{port + 2}")


def is_ptpip_ini(path: str | Path) -> bool:
    """True when the config file ``path`` is to be read as the tool's INI, not as TOML:
    by its extension (``.ini``, ``.conf``, ``.cfg`` against ``.toml``), else when it is
    not TOML and has one of the tool's section headers (``[responder]``...)."""
    import tomllib

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".ini", ".conf", ".cfg", ".toml"):
        return suffix != ".toml"
    try:
        text = p.read_text()
        tomllib.loads(text)
    except (OSError, UnicodeDecodeError):
        return False
    except tomllib.TOMLDecodeError:
        heads = {line.strip().lower() for line in text.splitlines() if line.strip().startswith("[")}
        return any(f"[{s}]" in heads for s in SECTIONS)
    return False


def read_ptpip_ini(path: str | Path) -> PtpIpIni:
    """Read a ptp-ip INI file; :class:`IniError` when it cannot be read or used."""
    p = Path(path)
    # go-ini's leniency: keys before the first section, repeated keys (the last one wins),
    # and a [DEFAULT] section that is a section like any other
    parser = configparser.ConfigParser(
        inline_comment_prefixes=(";", "#"), interpolation=None, strict=False, default_section="\0defaults"
    )
    try:
        parser.read_string("[\0top]\n" + p.read_text(), str(p))
    except (OSError, configparser.Error, UnicodeDecodeError) as exc:
        raise IniError(f"cannot read config file {p}: {exc}") from exc

    def get(section: str, key: str) -> str | None:
        if not parser.has_option(section, key):
            return None
        return unquote(parser.get(section, key))

    def port(section: str, key: str) -> int | None:
        value = get(section, key)
        return None if value is None else parse_port(value, f"{p}: [{section}] {key}")

    server = Server()
    if parser.has_section("server"):
        enabled = parser.get("server", "enabled", fallback=None)
        server = Server(
            enabled=parse_bool(enabled, f"{p}: [server] enabled") if enabled is not None else False,
            address=get("server", "address") or DEFAULT_SERVER_ADDRESS,
            port=port("server", "port") or DEFAULT_SERVER_PORT,
        )
        if server.enabled:
            server_endpoints(server.address, server.port, f"{p}: [server] port")  # fail here, not at bind
    vendor = get("responder", "vendor")
    return PtpIpIni(
        name=get("initiator", "friendly_name"),
        guid=get("initiator", "guid") or None,
        vendor=vendor.lower() if vendor else None,
        host=get("responder", "host") or None,
        port=port("responder", "port"),
        cmd_port=port("responder", "cmd_data_port"),
        event_port=port("responder", "event_port"),
        stream_port=port("responder", "stream_port"),
        server=server,
    )
