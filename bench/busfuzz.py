"""Bus fuzzing: what a broken or hostile local client can send the daemon's command socket.

:func:`messages` yields ``(kind, frames, expected_id)`` forever from a seeded RNG:
random bytes, msgpack that is not a map, maps with missing or mistyped fields, unknown
commands, known commands with bad arguments (never a valid one, so nothing fires), wrong
frame counts, deep nesting and large (but allowed) messages. Each one is answerable: the
daemon must send exactly one error reply, with the request's id when it had a readable
one. Oversized messages (over ``bus.MAX_REQUEST_BYTES``) are not answerable — libzmq drops
the connection that sends one — and are sent separately by the caller.

Used by ``tests/test_security_bus.py`` and ``bench/faults``.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from typing import Any

import msgpack

from ptpd import bus

#: a request is well-formed and valid in none of these
BAD_ARGS: list[tuple[str, Any]] = [
    ("get", {}),  # missing prop
    ("get", {"prop": 5.5}),
    ("get", {"prop": None}),
    ("get", {"prop": "iso", "extra": 1}),
    ("set", {"prop": "iso"}),  # missing value
    ("set", {"value": "800"}),
    ("describe", {"prop": ["iso"]}),
    ("capture", {"count": "two"}),
    ("capture", {"count": -1}),
    ("capture", {"count": 0}),
    ("capture", {"count": 1_000_000}),
    ("capture", {"count": 2, "download": "yes please"}),
    ("capture", {"count": 1, "bogus": True}),
    ("download", {}),
    ("download", {"handle": "abc"}),
    ("download", {"handle": -5}),
    ("download", {"handle": 1, "offset": -1}),
    ("delete", {"handle": None}),
    ("delete", {}),
    ("opreq", {}),
    ("opreq", {"code": "GetDeviceInfo"}),
    ("opreq", {"code": 0x1001, "params": [1, 2, 3, 4, 5, 6]}),
    ("opreq", {"code": 0x1001, "params": ["x"]}),
    ("opreq", {"code": 0x1001, "params": [-1]}),
    ("opreq", {"code": 0x1001, "params": [1 << 40]}),
    ("opreq", {"code": 1 << 20}),
    ("sim.fault", {"action": "explode", "options": {}}),
    ("sim.fault", {"action": 5}),
]


def _rand_obj(rng: random.Random, depth: int = 0) -> Any:
    k = rng.randrange(8 if depth < 3 else 5)
    if k == 0:
        return rng.randrange(-(1 << 63), 1 << 63)
    if k == 1:
        return rng.random() * 1e9
    if k == 2:
        return "".join(rng.choice(string.printable) for _ in range(rng.randrange(20)))
    if k == 3:
        return rng.randbytes(rng.randrange(20))
    if k == 4:
        return rng.choice([None, True, False])
    if k == 5:
        return [_rand_obj(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {str(_rand_obj(rng, depth + 1))[:10]: _rand_obj(rng, depth + 1) for _ in range(rng.randrange(4))}


def _pack(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def messages(seed: int = 1, *, big: bool = True) -> Iterator[tuple[str, list[bytes], Any]]:
    """Endless answerable bad requests: ``(kind, frames after the DEALER, expected reply id)``.

    ``frames`` is what the DEALER sends (normally ``[b"", body]``); ``expected_id`` is
    the id the error reply must carry (None when the request had no readable id).
    """
    rng = random.Random(seed)
    n = 0
    while True:
        n += 1
        rid = n
        k = rng.randrange(100)
        if k < 20:
            body = rng.randbytes(rng.randrange(0, 200))
            try:
                exp = bus.request_id_of(body)
            except Exception:
                exp = None
            yield "random-bytes", [b"", body], exp
        elif k < 30:
            obj = _rand_obj(rng)
            while isinstance(obj, dict):
                obj = _rand_obj(rng)
            yield "not-a-map", [b"", _pack(obj)], None
        elif k < 45:
            m: dict[str, Any] = {"id": rid, "cmd": rng.choice(["ping", "status", "get"]), "args": {}}
            expect: int | None = rid
            which = rng.randrange(6)
            if which == 0:
                del m["id"]
                expect = None
            elif which == 1:
                m["id"] = rng.choice([1.5, True, None, [1], {"a": 1}, b"\x00"])
                expect = None
            elif which == 2:
                del m["cmd"]
            elif which == 3:
                m["cmd"] = rng.choice([5, None, ["ping"], {"x": 1}, b"ping", 1.0])
            elif which == 4:
                m["args"] = rng.choice([[1, 2], "a=b", 7, True, b"args"])
            else:
                m = {"id": rid, "cmd": "ping", "args": {}, **{str(i): i for i in range(3)}, "cmd2": 1}
                m["cmd"] = 42  # still invalid, with extra keys around it
            yield "bad-fields", [b"", _pack(m)], expect
        elif k < 60:
            name = rng.choice(
                [
                    "".join(rng.choice(string.ascii_letters + "._-/") for _ in range(rng.randrange(1, 24))),
                    "PING",
                    "ping ",
                    " ping",
                    "__init__",
                    "_run",
                    "../help",
                    "sim",
                    "sim.fault.x",
                    "liveview",
                    "capture\x00",
                    "get\n",
                    "ståtus",
                    "",
                ]
            )
            if name in bus.COMMANDS:
                name += "?"
            yield "unknown-command", [b"", bus.encode_request(rid, name, {"prop": "iso"})], rid
        elif k < 80:
            cmd, args = BAD_ARGS[rng.randrange(len(BAD_ARGS))]
            yield "bad-args", [b"", bus.encode_request(rid, cmd, args)], rid
        elif k < 90:
            good = bus.encode_request(rid, "ping")
            shape = rng.randrange(4)
            if shape == 0:
                yield "frames:two-bodies", [b"", good, good], rid
            elif shape == 1:
                yield "frames:empty-body", [b"", b""], None
            elif shape == 2:
                yield "frames:delimiter-only", [b""], None
            else:
                yield "frames:three-bodies", [b"", b"x", b"y", good], None
        elif k < 97:
            depth = rng.choice([200, 5000, 100_000])
            body = b"\x91" * depth + b"\xc0"  # a list in a list in a list ... of nil
            yield "deep-nesting", [b"", body], None
        else:
            if not big or rng.random() > 0.3:  # about 1 in 300 messages is large
                continue
            size = rng.choice([1 << 16, 1 << 20, 4 << 20])
            which = rng.randrange(3)
            if which == 0:
                body = _pack({"id": rid, "cmd": "x" * size, "args": {}})
                yield "big-command-name", [b"", body], rid
            elif which == 1:
                body = _pack({"id": rid, "cmd": "get", "args": {f"k{i}": i for i in range(size // 16)}})
                yield "big-args", [b"", body], rid
            else:
                yield "big-random", [b"", rng.randbytes(size)], None


def oversized() -> bytes:
    """One request over the daemon's size limit (never answerable)."""
    return b"\x00" * (bus.MAX_REQUEST_BYTES + 4096)
