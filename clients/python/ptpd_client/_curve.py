"""CURVE keys for a client of a daemon that listens on TCP with CURVE (see docs/bus.md
"Security"): the server's public key and this client's key pair, applied to every socket.

Imported only when keys are given, so a plain ``ipc://`` client loads none of it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from ptpd.bus import ENV_CURVE_CLIENT_KEY as ENV_CLIENT_KEY
from ptpd.bus import ENV_CURVE_SERVER_KEY as ENV_SERVER_KEY

from ._errors import ClientError

#: a key given as text: a path to a certificate file, or a 40-character z85 string
KeySpec = str | os.PathLike[str] | bytes

_Z85 = re.compile(r"^[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}$")
_FIELD = re.compile(r'^\s*(public|secret)-key\s*=\s*"([^"]*)"', re.MULTILINE)


@dataclass(frozen=True, slots=True)
class CurveKeys:
    """The server's public key and this client's key pair, each 40 z85 bytes."""

    server_public: bytes
    public: bytes
    secret: bytes

    def apply(self, sock: Any) -> None:
        """Make ``sock`` a CURVE client of the daemon (before it connects)."""
        import zmq

        sock.setsockopt(zmq.CURVE_SERVERKEY, self.server_public)
        sock.setsockopt(zmq.CURVE_PUBLICKEY, self.public)
        sock.setsockopt(zmq.CURVE_SECRETKEY, self.secret)


def _read_cert(path: str) -> dict[str, bytes]:
    """The ``public-key``/``secret-key`` fields of a zmq.auth certificate file."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read(64 * 1024)
    except OSError as exc:
        raise ClientError(f"CURVE key file {path}: {exc.strerror or exc}") from None
    fields = {name: value.encode("ascii", "replace") for name, value in _FIELD.findall(text)}
    for name, value in fields.items():
        if not _Z85.match(value.decode("ascii", "replace")):
            raise ClientError(f"CURVE key file {path}: {name}-key is not a 40-character z85 key")
    if not fields:
        raise ClientError(f"CURVE key file {path}: no public-key or secret-key in it (make keys with 'ptpd keys')")
    return fields


def _as_text(spec: KeySpec) -> str:
    if isinstance(spec, bytes):
        return spec.decode("ascii", "replace")
    return os.fspath(spec)


def _z85(text: str) -> bytes | None:
    return text.encode("ascii") if _Z85.match(text) else None


def server_key(spec: KeySpec) -> bytes:
    """The server's public key from a certificate file (``server.key``, or the secret file,
    of which only the public key is used) or a z85 string."""
    text = _as_text(spec)
    if not os.path.exists(text):
        key = _z85(text)
        if key is not None:
            return key
        raise ClientError(f"CURVE server key {text!r}: no such file and not a 40-character z85 key")
    fields = _read_cert(text)
    if "public" not in fields:
        raise ClientError(f"CURVE key file {text}: no public-key in it")
    return fields["public"]


def client_keys(spec: KeySpec | tuple[KeySpec, KeySpec]) -> tuple[bytes, bytes]:
    """This client's ``(public, secret)``: from its secret certificate file (``NAME.key_secret``),
    a ``(public, secret)`` pair of z85 strings, or the z85 secret alone (public derived)."""
    if isinstance(spec, tuple):
        pub, sec = (_z85(_as_text(s)) for s in spec)
        if pub is None or sec is None:
            raise ClientError("CURVE client key pair: both keys must be 40-character z85 strings")
        return pub, sec
    text = _as_text(spec)
    if os.path.exists(text):
        fields = _read_cert(text)
        if "secret" not in fields:
            raise ClientError(
                f"CURVE key file {text}: no secret-key in it (give the client's NAME.key_secret, not NAME.key)"
            )
        sec = fields["secret"]
        pub = fields.get("public")
    else:
        sec = _z85(text)
        if sec is None:
            raise ClientError(f"CURVE client key {text!r}: no such file and not a 40-character z85 secret key")
        pub = None
    if pub is None:
        import zmq

        pub = zmq.curve_public(sec)
    return pub, sec


def curve_keys(server: KeySpec | None, client: KeySpec | tuple[KeySpec, KeySpec] | None) -> CurveKeys | None:
    """Keys from arguments, else ``PTPD_CURVE_SERVER_KEY``/``PTPD_CURVE_CLIENT_KEY``;
    ``None`` when neither is set. Half a configuration is an error: the daemon lets in only
    clients whose public key it knows, so a client needs its own pair and the server's key."""
    server = server or os.environ.get(ENV_SERVER_KEY) or None
    client = client or os.environ.get(ENV_CLIENT_KEY) or None
    if server is None and client is None:
        return None
    if server is None:
        raise ClientError(
            f"CURVE: a client key needs the server's public key too (curve_server_key or {ENV_SERVER_KEY})"
        )
    if client is None:
        raise ClientError(
            f"CURVE: the server key needs this client's key pair too (curve_client_key or {ENV_CLIENT_KEY}; "
            "make one with 'ptpd keys DIR --name NAME')"
        )
    pub, sec = client_keys(client)
    return CurveKeys(server_key(server), pub, sec)
