"""Can this uid reach a ZeroMQ ipc:// endpoint? Standard library only.

``test_security_ipc`` runs this file as another user (``nobody``), with whatever Python that
user can execute: the project's virtualenv, its packages and often the interpreter itself
live in a directory only their owner can traverse (a clone under ``/root``). So it speaks
ZMTP 3 itself, NULL mechanism, as a DEALER: the greeting, READY, one request, and waits for
any reply.

Usage: ``python3 ipc_probe.py ENDPOINT [HEX_PAYLOAD | unix-only]``. Prints
``UNIX_CONNECT ok`` or ``UNIX_CONNECT <errno name>``, then ``REPLY`` or ``NOREPLY <why>``.
``python3 ipc_probe.py --self-check`` prints ``PROBE ok`` (the interpreter runs this file).

Kept to what Python 3.6 has: the system interpreter may be old.
"""

import errno
import socket
import struct
import sys
import time

SIGNATURE = b"\xff" + b"\x00" * 8 + b"\x7f"
# ZMTP 3.0 greeting (rfc.zeromq.org/spec/23): signature, version 3.0, mechanism (20 bytes,
# zero padded), as-server 0, 31 bytes of filler: 64 bytes in all
GREETING = SIGNATURE + b"\x03\x00" + b"NULL".ljust(20, b"\x00") + b"\x00" + b"\x00" * 31
MORE, LONG, COMMAND = 0x01, 0x02, 0x04


def frame(body, flags=0):
    """One ZMTP frame: flags, a 1- or 8-byte size, the body."""
    if len(body) > 255:
        return struct.pack(">BQ", flags | LONG, len(body)) + body
    return struct.pack(">BB", flags, len(body)) + body


def ready(socket_type):
    """The NULL mechanism's READY command with the one property a peer needs."""
    name = b"Socket-Type"
    prop = struct.pack(">B", len(name)) + name + struct.pack(">I", len(socket_type)) + socket_type
    return frame(b"\x05READY" + prop, COMMAND)


class Closed(Exception):
    """The peer closed the connection (or sent what is not ZMTP)."""


def read_exact(sock, n, deadline):
    data = b""
    while len(data) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError()
        sock.settimeout(left)
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise Closed("connection closed")
        data += chunk
    return data


def read_frame(sock, deadline):
    """``(flags, body)`` of the next frame."""
    flags = read_exact(sock, 1, deadline)[0]
    if flags & LONG:
        size = struct.unpack(">Q", read_exact(sock, 8, deadline))[0]
    else:
        size = read_exact(sock, 1, deadline)[0]
    return flags, read_exact(sock, size, deadline)


def address(endpoint):
    path = endpoint[len("ipc://") :]
    return "\0" + path[1:] if path.startswith("@") else path  # Linux abstract namespace


def ask(sock, payload, timeout):
    """Handshake as a DEALER, send ``["", payload]``, wait for a whole message back."""
    deadline = time.monotonic() + timeout
    sock.sendall(GREETING)
    theirs = read_exact(sock, 64, deadline)
    if theirs[0] != 0xFF or theirs[9] & 0x01 != 0x01 or theirs[10] < 3:
        raise Closed(f"not a ZMTP 3 greeting: {theirs[:12]!r}")
    mechanism = theirs[12:32].rstrip(b"\x00")
    if mechanism != b"NULL":
        raise Closed(f"peer wants mechanism {mechanism.decode('ascii', 'replace')}")
    sock.sendall(ready(b"DEALER"))
    flags, body = read_frame(sock, deadline)
    if not flags & COMMAND or not body.startswith(b"\x05READY"):
        raise Closed(f"peer did not say READY: {body[:16]!r}")
    sock.sendall(frame(b"", MORE) + frame(payload))
    while True:
        flags, body = read_frame(sock, deadline)
        if flags & COMMAND:
            if body.startswith(b"\x05ERROR"):
                raise Closed("peer sent ERROR")
            continue  # PING and the like
        if not flags & MORE:
            return body


def main(argv):
    if argv[1:] == ["--self-check"]:
        print("PROBE ok")
        return 0
    endpoint = argv[1]
    mode = argv[2] if len(argv) > 2 else ""
    if not endpoint.startswith("ipc://"):
        print("NOREPLY not an ipc:// endpoint")
        return 2
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            sock.connect(address(endpoint))
        except OSError as exc:
            print("UNIX_CONNECT", errno.errorcode.get(exc.errno, exc.errno))
            print("NOREPLY cannot connect")
            return 0
        print("UNIX_CONNECT ok")
        if mode == "unix-only":
            return 0
        payload = bytes.fromhex(mode) if mode else b"\x80"
        try:
            ask(sock, payload, timeout=1.5)
        except TimeoutError:
            print("NOREPLY timeout")
        except (Closed, OSError) as exc:
            print("NOREPLY", exc)
        else:
            print("REPLY")
        return 0
    finally:
        sock.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
