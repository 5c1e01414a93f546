"""Benchmark 5: the daemon's memory, idle and under load, and whether it leaks.

The daemon (``ptpd run --camera``, the simulated Fuji camera in its own process streaming
live view fast) is measured by its RSS (``/proc/PID/status``):

1. idle, connected, nobody watching;
2. while 16 subscriber processes take 10,000 frames (the highest sample);
3. after the subscribers left and one client sent 10,000 commands (get, describe,
   status, objects, state; pipelined 50 at a time);
4. the same load again (round 2): growth over round 2 is what a leak looks like, growth
   over round 1 includes warm-up (caches, pools, allocator arenas).

Targets: growth < 5 MB (idle -> after round 1, and over round 2); RSS with 16
subscribers < 80 MB.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import msgpack
import zmq

from bench.common import PYTHON, Procs, Result, Table, Target, main_for, tempdir
from bench.fanout import _go, _start_children, _wait_ready
from bench.harness import BusClient, Daemon, DaemonOptions, Simulator

MB = 1024 * 1024
COMMANDS = [
    ("get", {"prop": "iso"}),
    ("describe", {"prop": "iso"}),
    ("status", {}),
    ("objects", {}),
    ("state", {}),
    ("get", {"prop": "whitebalance"}),
]


def frames_round(d: Daemon, procs: Procs, work: Path, subs: int, frames: int, tag: str) -> dict[str, Any]:
    readers = _start_children(
        [
            [PYTHON, "-m", "bench.fanout", "sub", d.endpoints["liveview"], str(work / f"{tag}-{i}.json"), "count"]
            for i in range(subs)
        ],
        procs,
    )
    _wait_ready(readers, 120)
    peak = 0
    with BusClient(d.endpoints["command"]) as c:
        start = c.result("status")["liveview"]["frames"]
        t0 = time.monotonic()
        _go(readers, t0, t0 + 3600)
        while True:
            peak = max(peak, d.rss())
            done = c.result("status")["liveview"]["frames"] - start
            if done >= frames or time.monotonic() - t0 > 300:
                break
            time.sleep(0.05)
        elapsed = time.monotonic() - t0
    for p in readers:
        p.stop()
    procs.items[:] = [p for p in procs.items if p not in readers]
    return {"frames": done, "seconds": elapsed, "peak_rss": peak}


def commands_round(d: Daemon, n: int) -> dict[str, Any]:
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    s.connect(d.endpoints["command"])
    sent = ok = failed = 0
    t0 = time.monotonic()
    try:
        while sent < n:
            window = min(50, n - sent)
            for i in range(window):
                cmd, args = COMMANDS[(sent + i) % len(COMMANDS)]
                s.send_multipart([b"", msgpack.packb({"id": sent + i, "cmd": cmd, "args": args})])
            for _ in range(window):
                if not s.poll(30_000):
                    raise TimeoutError(f"no reply after {sent} commands")
                rep = msgpack.unpackb(s.recv_multipart()[-1], raw=False, strict_map_key=False)
                if rep.get("ok"):
                    ok += 1
                else:
                    failed += 1
            sent += window
    finally:
        s.close(0)
        ctx.term()
    return {"commands": sent, "ok": ok, "failed": failed, "seconds": time.monotonic() - t0}


def settle(d: Daemon, seconds: float = 1.0) -> int:
    time.sleep(seconds)
    return d.rss()


def run(quick: bool) -> Result:
    subs = 4 if quick else 16
    n = 500 if quick else 10_000
    res = Result(
        "memory",
        "Daemon memory: idle, under load, and growth",
        f"`ptpd run --camera` (simulated Fuji in its own process): RSS idle, with {subs} subscribers taking {n} frames, "
        f"after {n} commands; the same load twice",
    )
    with (
        tempdir() as work,
        Procs() as procs,
        Simulator("fuji", 0.0, lv_fps=500, lv_steps=30, opts={"pairing_delay": 0, "initial_images": 0}) as sim,
    ):
        d = Daemon(work / "d", DaemonOptions(simulate=None, camera=f"127.0.0.1:{sim.port}", vendor="fuji", keepalive=0))
        with d:
            d.start(timeout=60)
            pause = 0.3 if quick else 1.0
            idle = settle(d, 2 * pause)
            rounds: list[dict[str, Any]] = []
            for r in (1, 2):
                before = d.rss()
                fr = frames_round(d, procs, work, subs, n, f"r{r}")
                mid = settle(d, pause)
                cm = commands_round(d, n)
                after = settle(d, pause)
                rounds.append({"before": before, "frames": fr, "after_frames": mid, "commands": cm, "after": after})
            res.raw = {"idle": idle, "rounds": rounds, "subscribers": subs, "n": n}
    t = Table("Daemon RSS (MB)", ["moment", "round 1", "round 2"])
    t.rows.append(["idle, connected, nobody watching", f"{idle / MB:.1f}", ""])
    t.rows.append(
        [f"peak while {subs} subscribers take {n} frames", *(f"{r['frames']['peak_rss'] / MB:.1f}" for r in rounds)]
    )
    t.rows.append(["after the frames (subscribers gone)", *(f"{r['after_frames'] / MB:.1f}" for r in rounds)])
    t.rows.append([f"after {n} commands", *(f"{r['after'] / MB:.1f}" for r in rounds)])
    t.rows.append(["frames / seconds", *(f"{r['frames']['frames']} / {r['frames']['seconds']:.1f}" for r in rounds)])
    t.rows.append(
        [
            "commands ok / failed / seconds",
            *(f"{r['commands']['ok']} / {r['commands']['failed']} / {r['commands']['seconds']:.1f}" for r in rounds),
        ]
    )
    res.tables.append(t)
    g1 = (rounds[0]["after"] - idle) / MB
    g2 = (rounds[1]["after"] - rounds[0]["after"]) / MB
    res.targets.append(Target("RSS growth idle -> after round 1 (frames + commands)", g1, 5.0, "<=", " MB"))
    res.targets.append(Target("RSS growth over round 2 (leak indicator)", g2, 5.0, "<=", " MB"))
    res.targets.append(
        Target(
            f"RSS peak with {subs} subscribers", max(r["frames"]["peak_rss"] for r in rounds) / MB, 80.0, "<=", " MB"
        )
    )
    return res


def main(argv: list[str] | None = None) -> int:
    return main_for(run, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
