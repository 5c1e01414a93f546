"""Hostile local clients: raw pyzmq sockets that send the daemon what no client should.

``python -m bench.hostile_client ATTACK ENDPOINT [--scale S] [--handle H]`` runs one
attack against the socket at ENDPOINT (ipc:// or loopback tcp://) in its own process,
so that its CPU and its own libzmq troubles stay out of the measuring process, and
prints one line ``done KEY=VALUE ...`` with what it saw. ``scale`` 1.0 is the size of
the attack in the issue that reported it; the test suite runs small fractions.

=====================  ===========================================================================
attack                  what it sends
=====================  ===========================================================================
``msgpack-items``       30 requests of ~60 MiB of one-byte msgpack items (an array of 60 M
                        integers): 8.3 GB of RSS before the request budgets (now as large as
                        a request may be, 16 MiB)
``long-ids``            60 side-effect requests with a 32 MiB string id (3.9 GB, kept after
                        160 s idle, before; now 16 MiB, the largest request)
``reply-cache``         5,000 side-effect requests (``liveview.stop``) with distinct 256-byte ids
``topics``              40,000 distinct subscriptions on one XSUB (a 250 s stall before)
``big-subscriptions``   100 subscriptions of 1 MiB each (5 GB before)
``xpub-message``        one 512 MiB message into a publishing socket (900 MB before)
``unread-replies``      100 ``download`` requests of one object, no reply ever read
``bad-requests``        10,000 malformed requests from busfuzz, pipelined 100 at a time
``ghost-captures``      100 clients each sending one ``capture`` with a 7 s deadline at once, then
                        a ``set`` of ``--prop`` to ``--value`` with the same deadline, to a slow
                        camera (before: the camera took all 100 pictures for 15 clients still
                        waiting, and a ``set`` reported as failed was applied later)
=====================  ===========================================================================
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import msgpack
import zmq

from ptpd.bus import MAX_REQUEST_BYTES

#: The issue's request sizes, or the largest the daemon reads when its cap is lower (a
#: bigger request only costs its sender the connection, unread)
ITEMS_BYTES = min(60 * 1024 * 1024, MAX_REQUEST_BYTES - 64)
ID_BYTES = min(32 * 1024 * 1024, MAX_REQUEST_BYTES - 1024)

ATTACKS = (
    "msgpack-items",
    "long-ids",
    "reply-cache",
    "topics",
    "big-subscriptions",
    "xpub-message",
    "unread-replies",
    "bad-requests",
    "ghost-captures",
)


def _n(full: int, scale: float, least: int = 1) -> int:
    return max(least, int(full * scale))


def _dealer(ctx: zmq.Context, endpoint: str) -> zmq.Socket:
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    s.sndhwm = 0
    s.connect(endpoint)
    return s


def _drain(s: zmq.Socket, want: int, timeout: float) -> tuple[int, list[dict]]:
    """Read up to ``want`` replies within ``timeout`` seconds: (count, the first few)."""
    got, sample = 0, list[dict]()
    deadline = time.monotonic() + timeout
    while got < want and s.poll(max(0, int((deadline - time.monotonic()) * 1000))):
        reply = msgpack.unpackb(s.recv_multipart()[-1], raw=False, strict_map_key=False)
        got += 1
        if len(sample) < 3:
            sample.append(reply)
    return got, sample


def _ghost_captures(ctx: zmq.Context, endpoint: str, scale: float, prop: str, value: str) -> dict[str, object]:
    """Every reply timed as it arrives: an ``ok`` after its client's deadline is a ghost
    (``late``); the caller counts the pictures taken against the ``ok`` replies."""
    n = _n(100, scale, 10)
    deadline = float(os.environ.get("HOSTILE_DEADLINE_S", "7"))
    socks = [_dealer(ctx, endpoint) for _ in range(n + 1)]
    time.sleep(0.3)  # every client connected before the first request
    sent: dict[zmq.Socket, float] = {}
    for k, s in enumerate(socks[:n]):
        sent[s] = time.monotonic()
        s.send_multipart(
            [b"", msgpack.packb({"id": k, "cmd": "capture", "args": {"count": 1}, "timeout_ms": int(deadline * 1000)})]
        )
    setter = socks[n]
    sent[setter] = time.monotonic()
    setter.send_multipart(
        [
            b"",
            msgpack.packb(
                {"id": "set", "cmd": "set", "args": {"prop": prop, "value": value}, "timeout_ms": int(deadline * 1000)}
            ),
        ]
    )
    poller = zmq.Poller()
    for s in socks:
        poller.register(s, zmq.POLLIN)
    codes: dict[str, int] = {}
    late = got = 0
    set_code = "none"
    end = time.monotonic() + deadline + 60
    while got < n + 1 and time.monotonic() < end:
        for s, _ in poller.poll(500):
            reply = msgpack.unpackb(s.recv_multipart()[-1], raw=False, strict_map_key=False)
            took = time.monotonic() - sent[s]
            got += 1
            code = "ok" if reply.get("ok") else (reply.get("error") or {}).get("code", "?")
            if s is setter:
                set_code = code
            else:
                codes[code] = codes.get(code, 0) + 1
            late += code == "ok" and took > deadline
    return {
        "sent": n,
        "answered": got - (set_code != "none"),
        "ok": codes.get("ok", 0),
        "expired": codes.get("expired", 0),
        "other": sum(v for k, v in codes.items() if k not in ("ok", "expired")),
        "late": late,
        "set": set_code,
    }


def attack(
    name: str, endpoint: str, scale: float, handle: int, prop: str = "iso", value: str = "1600"
) -> dict[str, object]:
    ctx = zmq.Context()
    out: dict[str, object] = {}
    if name == "msgpack-items":
        s = _dealer(ctx, endpoint)
        items = ITEMS_BYTES
        body = b"\x83\xa2id\x01\xa3cmd\xa4ping\xa4args\x81\xa1x\xdd" + items.to_bytes(4, "big") + b"\x01" * items
        n = _n(30, scale)
        for _ in range(n):
            s.send_multipart([b"", body], copy=False)
        got, sample = _drain(s, n, 60)
        out = {"sent": n, "answered": got, "code": sample[0]["error"]["code"] if sample else None}
    elif name == "long-ids":
        s = _dealer(ctx, endpoint)
        n = _n(60, scale)
        rid = "i" * ID_BYTES
        for k in range(n):
            s.send_multipart([b"", msgpack.packb({"id": rid + str(k), "cmd": "liveview.stop", "args": {}})])
        got, sample = _drain(s, n, 60)
        out = {
            "sent": n,
            "answered": got,
            "code": sample[0]["error"]["code"] if sample else None,
            "id_echoed": any(r.get("id") for r in sample),
        }
    elif name == "reply-cache":
        s = _dealer(ctx, endpoint)
        n = _n(5000, scale)
        for k in range(n):
            s.send_multipart([b"", msgpack.packb({"id": f"{k:0256d}", "cmd": "liveview.stop", "args": {}})])
        got, sample = _drain(s, n, 60)
        out = {"sent": n, "answered": got, "ok": bool(sample) and sample[0].get("ok")}
    elif name in ("topics", "big-subscriptions", "xpub-message"):
        x = ctx.socket(zmq.XSUB)
        x.linger = 0
        x.sndhwm = 0
        x.connect(endpoint)
        time.sleep(0.2)
        if name == "topics":
            n = _n(40_000, scale)
            for k in range(n):
                x.send(b"\x01liveview.frame/%08d" % k)
        elif name == "big-subscriptions":
            n = _n(100, scale)
            for k in range(n):
                x.send(b"\x01" + bytes([k % 256]) * (1 << 20))
        else:
            n = _n(512, scale) * 1024 * 1024
            x.send(b"\x02" + bytes(n - 1))
        time.sleep(1.0)  # while the daemon reads it
        out = {"sent": n}
        # never close these sockets: libzmq's own teardown of a trie of 1 MiB topics
        # recurses a million levels deep (in this process: not the daemon's concern)
        sys.stdout.write("done " + " ".join(f"{k}={v}" for k, v in out.items()) + "\n")
        sys.stdout.flush()
        os._exit(0)
    elif name == "unread-replies":
        s = _dealer(ctx, endpoint)
        s.rcvhwm = 1
        n = _n(100, scale, 10)
        for k in range(n):
            s.send_multipart([b"", msgpack.packb({"id": k, "cmd": "download", "args": {"handle": handle}})])
        time.sleep(float(os.environ.get("HOSTILE_UNREAD_S", "5")))  # the daemon works, nothing is read
        out = {"sent": n}
    elif name == "bad-requests":
        sys.path.insert(0, os.getcwd())
        from bench.busfuzz import messages

        s = _dealer(ctx, endpoint)
        n = _n(10_000, scale)
        gen = messages(seed=21, big=True)
        got = 0
        for start in range(0, n, 100):
            batch = min(100, n - start)
            for _ in range(batch):
                s.send_multipart(next(gen)[1])
            got += _drain(s, batch, 30)[0]
        out = {"sent": n, "answered": got}
    elif name == "ghost-captures":
        out = _ghost_captures(ctx, endpoint, scale, prop, value)
    else:
        raise SystemExit(f"unknown attack {name!r}")
    sys.stdout.write("done " + " ".join(f"{k}={v}" for k, v in out.items()) + "\n")
    sys.stdout.flush()
    os._exit(0)  # no lingering on sockets the daemon may have cut off


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("attack", choices=ATTACKS)
    ap.add_argument("endpoint")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--handle", type=int, default=1)
    ap.add_argument("--prop", default="iso", help="ghost-captures: the property to set")
    ap.add_argument("--value", default="1600", help="ghost-captures: the value to set it to")
    ns = ap.parse_args(argv)
    attack(ns.attack, ns.endpoint, ns.scale, ns.handle, ns.prop, ns.value)


if __name__ == "__main__":
    main()
