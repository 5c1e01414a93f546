"""Benchmark: time-lapse timing drift.

A ``timelapse`` job in the daemon against a simulated camera in its own process, 15 ms
per transaction (a Wi-Fi camera), each shot downloaded and written (``dir``) as the job
does in use. For each shot the job records its planned time (``start + k × interval``)
and its actual one (when its release got the camera); drift is actual minus planned.
Reported at 1 s and 10 s intervals: median, p99 and worst drift, missed slots, files
valid. At 1 s also with a second client reading a property every 50 ms meanwhile (the
camera's queue is shared: a shot can wait behind a client's command). At 10 s the job
keeps the camera awake between shots (``awake``: a request after 10 s idle, never within
1 s of a slot), which must not delay them.

Alongside each series a bare asyncio process sleeps to the same grid of planned times
and records how late its timer fires: the machine's own floor (a loaded machine wakes a
process late whatever it runs), reported next to the job's drift.

Target: p99 drift at or under 50 ms (a twentieth of the shortest interval).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import PYTHON, Result, Stats, Table, Target, main_for, ms, tempdir
from bench.harness import BusClient, Daemon, DaemonOptions, Simulator

LATENCY_MS = 15.0
#: p99 drift goal, seconds
GOAL = 0.050


def _poll(endpoint: str, stop: threading.Event, counts: list[int]) -> None:
    """A second client: a ``get`` every 50 ms until stopped."""
    with BusClient(endpoint) as c:
        while not stop.is_set():
            try:
                c.result("get", {"prop": "iso"}, timeout=5)
                counts[0] += 1
            except Exception:  # locked it is not (get only reads); a timeout shows in the count
                pass
            stop.wait(0.05)


def check_jpegs(d: Path) -> tuple[int, list[str]]:
    """(whole JPEG files Pillow decodes, problems) under ``d``; a temp file is a problem."""
    from PIL import Image

    ok, bad = 0, []
    for f in sorted(p for p in d.iterdir() if p.is_file()):
        data = f.read_bytes()
        if not (data[:3] == b"\xff\xd8\xff" and data.rstrip(b"\x00")[-2:] == b"\xff\xd9"):
            bad.append(f"{f.name}: no SOI/EOI ({len(data)} bytes)")
            continue
        try:
            with Image.open(io.BytesIO(data)) as im:
                im.load()
        except Exception as exc:
            bad.append(f"{f.name}: {exc}")
            continue
        ok += 1
    return ok, bad


#: the floor: an asyncio process that sleeps to each planned time and says how late it woke
_FLOOR = """
import asyncio, json, sys, time
start, interval, count = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
async def main():
    late = []
    for k in range(count):
        planned = start + k * interval
        wait = planned - time.time()
        if wait <= 0:
            continue  # not up yet (a loaded machine starts a process slowly): nothing to time
        await asyncio.sleep(wait)
        late.append(time.time() - planned)
    print(json.dumps(late))
asyncio.run(main())
"""


def floor_proc(start: float, interval: float, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PYTHON, "-c", _FLOOR, str(start), str(interval), str(count)], stdout=subprocess.PIPE, text=True
    )


def one_series(d: Daemon, out: Path, interval: float, count: int, busy: bool) -> dict[str, Any]:
    """A time-lapse of ``count`` shots at ``interval`` s on daemon ``d``: the drift of each
    shot, and the floor measured beside it."""
    stop, polls = threading.Event(), [0]
    poller = threading.Thread(target=_poll, args=(d.endpoints["command"], stop, polls)) if busy else None
    with d.client() as c:
        if poller is not None:
            poller.start()
        start = time.time() + 1.5  # the floor process is up by then
        job = c.result(
            "job.start",
            {"kind": "timelapse", "options": {"interval": interval, "count": count, "dir": str(out), "start": start}},
        )
        floor = floor_proc(start, interval, count)
        deadline = time.monotonic() + interval * (count + 5) + 30
        while True:
            j = c.result("job.get", {"id": job["id"]})
            if j["state"] != "running" or time.monotonic() > deadline:
                break
            time.sleep(min(0.5, interval / 4))
        stop.set()
        if poller is not None:
            poller.join(10)
        floor_out, _ = floor.communicate(timeout=interval * count + 30)
    valid, bad = check_jpegs(out) if out.exists() else (0, ["no directory"])
    drifts = [s["drift"] for s in j["shots"] if "drift" in s]
    return {
        "job": j,
        "drifts": drifts,
        "floor": json.loads(floor_out or "[]"),
        "valid": valid,
        "problems": bad,
        "polls": polls[0],
    }


def run(quick: bool) -> Result:
    # quick: a smoke check of the same paths, shorter intervals (not a measurement)
    series = (
        [(0.5, 2, False), (0.5, 2, True), (1.0, 2, False)]
        if quick
        else [(1.0, 40, False), (1.0, 40, True), (10.0, 9, False)]
    )
    res = Result(
        "timelapse",
        "Time-lapse timing drift",
        f"a `timelapse` job (download each shot to a directory) against a simulated generic camera at {LATENCY_MS:g} ms "
        "per transaction in its own process; drift = actual release time minus planned (start + k × interval)",
    )
    table = Table(
        "Drift of each shot (actual minus planned release time); floor: a bare asyncio timer on the same grid",
        [
            "interval",
            "second client",
            "shots",
            "median ms",
            "p99 ms",
            "max ms",
            "floor p99 ms",
            "floor max ms",
            "missed",
            "valid files",
        ],
    )
    worst: dict[float, float] = {}
    with tempdir() as work, Simulator("generic", LATENCY_MS, opts={"initial_images": 0}) as sim:
        d = Daemon(work / "d", DaemonOptions(simulate=None, camera=sim.address, vendor="generic", keepalive=0))
        with d:
            d.start(timeout=60)
            runs = [
                one_series(d, work / f"s{i}", interval, count, busy) for i, (interval, count, busy) in enumerate(series)
            ]
        for (interval, count, busy), r in zip(series, runs):
            j, s, f = r["job"], Stats.of(r["drifts"]), Stats.of(r["floor"])
            label = f"get every 50 ms ({r['polls']} answered)" if busy else "none"
            table.rows.append(
                [
                    f"{interval:g} s",
                    label,
                    f"{j['done']}/{count}",
                    ms(s.median),
                    ms(s.p99),
                    ms(s.max),
                    ms(f.p99),
                    ms(f.max),
                    j["missed"],
                    f"{r['valid']}/{count}",
                ]
            )
            res.raw[f"{interval:g}s{'-busy' if busy else ''}"] = {
                "drift": s,
                "floor": f,
                "drifts": r["drifts"],
                "job_state": j["state"],
                "detail": j["detail"],
                "missed": j["missed"],
                "valid": r["valid"],
                "problems": r["problems"],
                "polls": r["polls"],
            }
            worst[interval] = max(worst.get(interval, 0.0), s.p99)
            if j["state"] != "done" or r["valid"] != count:
                res.notes.append(
                    f"{interval:g} s{' busy' if busy else ''}: job {j['state']} ({j['detail']}), "
                    f"{r['valid']}/{count} valid files; {r['problems'][:3]}"
                )
    res.tables.append(table)
    for interval, p99 in sorted(worst.items()):
        res.targets.append(Target(f"p99 drift at {interval:g} s intervals", p99 * 1000, GOAL * 1000, "<=", " ms"))
    return res


def main(argv: list[str] | None = None) -> int:
    return main_for(run, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
