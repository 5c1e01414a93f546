"""Load: 32 clients x 200 mixed commands at once against one daemon.

Each client is its own DEALER (a thread here) with up to 6 requests in flight, mixing
local commands (ping, status, version) with camera ones (get and describe of different
properties, set, state). Checked: every request gets exactly one reply, with its own id;
each reply is the answer to *that* request (a ``get whitebalance`` is answered with
whitebalance, a ``set iso 800`` with 800: no transaction mix-ups on the camera); camera
commands from one client are answered in the order they were sent (local ones may
overtake them, by design: ``ping`` never waits behind a capture); nothing fails.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq

from bench.harness import Daemon, DaemonOptions

pytestmark = pytest.mark.timeout(120)

CLIENTS = 32
PER_CLIENT = 200
#: requests in flight per client: 32 x 6 stays below the daemon's camera queue (256), so
#: every request is admitted; beyond that the daemon answers camera_busy, by design
WINDOW = 6
ISO = ["200", "400", "800", "1600"]


def plan(client: int) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for i in range(PER_CLIENT):
        k = (i * 7 + client) % 8
        out.append(
            [
                ("ping", {}),
                ("status", {}),
                ("get", {"prop": "iso"}),
                ("get", {"prop": "whitebalance"}),
                ("describe", {"prop": "exp-bias"}),
                ("set", {"prop": "iso", "value": ISO[(client + i) % 4]}),
                ("state", {}),
                ("version", {}),
            ][k]
        )
    return out


def check_answer(cmd: str, args: dict[str, Any], result: Any) -> str | None:
    """None when ``result`` is an answer to (cmd, args); else what is wrong."""
    if cmd == "ping":
        return None if result.get("pong") else "ping without pong"
    if cmd == "status":
        return None if "connection" in result else "status without connection"
    if cmd == "version":
        return None if "protocol" in result else "version without protocol"
    if cmd in ("get", "describe"):
        return (
            None if result.get("name") == args["prop"] else f"{cmd} {args['prop']} answered with {result.get('name')}"
        )
    if cmd == "set":
        ok = result.get("name") == "iso" and str(result.get("label")) == args["value"]
        return None if ok else f"set iso {args['value']} answered with {result.get('name')}={result.get('label')}"
    if cmd == "state":
        return None if isinstance(result.get("properties"), list) else "state without properties"
    return f"unexpected {cmd}"


class LoadClient(threading.Thread):
    def __init__(self, n: int, ctx: zmq.Context, endpoint: str) -> None:
        super().__init__(daemon=True)
        self.n = n
        self.ctx = ctx
        self.endpoint = endpoint
        self.problems: list[str] = []
        self.replies: Counter[str] = Counter()
        self.camera_order: list[int] = []

    def run(self) -> None:
        s = self.ctx.socket(zmq.DEALER)
        s.linger = 0
        s.connect(self.endpoint)
        todo = plan(self.n)
        sent = 0
        pending: dict[int, tuple[str, dict[str, Any]]] = {}
        try:
            while sent < len(todo) or pending:
                while sent < len(todo) and len(pending) < WINDOW:
                    cmd, args = todo[sent]
                    rid = self.n * 100_000 + sent
                    s.send_multipart([b"", msgpack.packb({"id": rid, "cmd": cmd, "args": args})])
                    pending[rid] = (cmd, args)
                    sent += 1
                if not s.poll(30_000):
                    self.problems.append(f"no reply for 30 s with {len(pending)} pending")
                    return
                rep = msgpack.unpackb(s.recv_multipart()[-1], raw=False, strict_map_key=False)
                rid = rep.get("id")
                if rid not in pending:
                    self.problems.append(f"reply to unknown or repeated id {rid!r}")
                    continue
                cmd, args = pending.pop(rid)
                self.replies[cmd] += 1
                if not rep.get("ok"):
                    self.problems.append(f"{cmd} {args}: {rep.get('error')}")
                    continue
                wrong = check_answer(cmd, args, rep["result"])
                if wrong:
                    self.problems.append(wrong)
                if cmd in ("get", "describe", "set", "state"):
                    self.camera_order.append(rid)
        finally:
            s.close(0)


def test_32_clients_200_mixed_commands(tmp_path: Path) -> None:
    with Daemon(tmp_path, DaemonOptions(simulate="fuji", keepalive=0, sim_options={"pairing_delay": 0.0})) as d:
        d.start(timeout=60)
        ctx = zmq.Context()
        clients = [LoadClient(i, ctx, d.endpoints["command"]) for i in range(CLIENTS)]
        for c in clients:
            c.start()
        for c in clients:
            c.join(100)
        ctx.term()
        assert all(not c.is_alive() for c in clients)
        problems = [f"client {c.n}: {p}" for c in clients for p in c.problems]
        assert not problems, f"{len(problems)} problems, e.g. {problems[:5]}"
        total = sum(sum(c.replies.values()) for c in clients)
        assert total == CLIENTS * PER_CLIENT
        for c in clients:
            assert c.camera_order == sorted(c.camera_order), f"client {c.n}: camera replies out of order"
        with d.client() as bc:
            st = bc.result("status")
            assert st["connection"] == "connected"
        print(
            f"{total} replies to {CLIENTS} clients, 0 problems; by command {dict(sum((c.replies for c in clients), Counter()))}; daemon RSS {d.rss() / 1e6:.0f} MB"
        )
        assert d.stop() == 0
