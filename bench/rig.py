"""Benchmark: a rig of 16 cameras on this machine, fired at once.

Sixteen simulated cameras (generic PTP/IP, each its own process, 15 ms per transaction like
Wi-Fi), and four ways to release all sixteen for one shot:

* **deadline** (ptprig's way): the rig learns each daemon's clock offset, plans the
  release 0.5 s ahead, and every daemon releases at that moment from its own event loop
  (``capture`` with ``at``);
* **at once**: ``capture`` sent to all sixteen daemons at the same moment, each released
  when its request is run;
* **gphoto2, one after the other**: ``gphoto2 --capture-image`` per camera, in turn (what
  rig scripts do today);
* **gphoto2 in parallel**: sixteen ``gphoto2 --capture-image`` processes started together.

The skew of a shot is the latest release minus the earliest. It is read two ways: as the
daemons report it (``released``: the release's request handed to the camera's socket, put
in the rig's clock), and as the cameras saw it (each simulator notes the time it takes up
each InitiateCapture; one host, one clock). gphoto2 has only the second.

Deadline firing runs twice: as shipped, and with ``release_priority`` (the daemons' loop
real-time from just before the release until the capture returns: docs/rigs.md), which a
shared, busy host needs. Beside them, the host's own floor: 16 bare processes that sleep
until one moment and write a packet to a loopback socket, the least any daemon can do.

Then the daemon's cost per camera: RSS and CPU when idle (16 daemons), and with live view at
30 fps (4 Fuji cameras, one subscriber each); and how many cameras one host of this
machine's cores holds with live view off: the deadline skew measured with 16 and 32
cameras and daemons (release priority on), and what idle CPU and memory allow. Target: p99 release skew <= 2 ms for 16 cameras (deadline, as the daemons
report it).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench.common import Result, Stats, Table, Target, cpu_seconds, main_for, ms, stop_together, tempdir
from bench.harness import Daemon, DaemonOptions, Simulator, gphoto2_args, gphoto2_env

LATENCY_MS = 15.0
MB = 1024 * 1024
LEAD = 0.5  #: seconds between planning a release and the release
GOAL_MS = 2.0
#: the daemons' release_priority where it is on (SCHED_FIFO; the bench runs as root)
PRIORITY = 10


# -- the machine's load ---------------------------------------------------------------------------


def busy_snapshot() -> tuple[float, float]:
    """(busy, total) jiffies of all cores so far (``/proc/stat``)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return float(sum(fields) - idle), float(sum(fields))


def busy_since(snap: tuple[float, float]) -> float:
    """The share of all cores busy since ``snap`` (every process, ours included)."""
    b, t = busy_snapshot()
    return (b - snap[0]) / max(1.0, t - snap[1])


# -- the cameras' own record ------------------------------------------------------------------------


class ReleaseLogs:
    """Each simulator's InitiateCapture times (``--release-log``), read phase by phase."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self.seen = [0] * len(paths)

    def new(self) -> list[list[float]]:
        """Per camera, the release times logged since the last call."""
        out = []
        for i, p in enumerate(self.paths):
            lines = p.read_text().split() if p.exists() else []
            out.append([float(x) for x in lines[self.seen[i] :]])
            self.seen[i] = len(lines)
        return out

    def skews(self, shots: int) -> list[float] | None:
        """The per-shot skew the cameras saw for the last ``shots`` shots of every camera
        (None when a camera did not take every shot: they cannot be matched)."""
        got = self.new()
        if any(len(g) != shots for g in got):
            return None
        return [max(g[k] for g in got) - min(g[k] for g in got) for k in range(shots)]


# -- the host's own floor ---------------------------------------------------------------------------


def _bare(moments: list[float], port: int, fifo: bool, out: Any) -> None:
    """One bare process: sleep until each moment (the loop's way, then the kernel's) and
    write a packet; how late each write was."""
    import socket

    if fifo:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(PRIORITY))
    s = socket.create_connection(("127.0.0.1", port))
    late = []
    for t in moments:
        time.sleep(max(0.0, t - 0.005 - time.monotonic()))
        time.sleep(max(0.0, t - time.monotonic()))
        s.send(b"\0" * 40)
        late.append(time.monotonic() - t)
    out.put(late)
    s.close()


def host_floor(n: int, shots: int, fifo: bool) -> list[float]:
    """The spread of ``n`` bare processes' writes at one moment, per shot (see the module)."""
    import multiprocessing
    import socket

    ctx = multiprocessing.get_context("fork")
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(n)
    first = time.monotonic() + 1.0 + 0.05 * n
    moments = [first + 0.3 * k for k in range(shots)]
    q = ctx.Queue()
    procs = [ctx.Process(target=_bare, args=(moments, srv.getsockname()[1], fifo, q), daemon=True) for _ in range(n)]
    for p in procs:
        p.start()
    conns = [srv.accept()[0] for _ in range(n)]
    lates = [q.get(timeout=60) for _ in range(n)]
    for p in procs:
        p.join(10)
    for c in (*conns, srv):
        c.close()
    return [max(x[k] for x in lates) - min(x[k] for x in lates) for k in range(shots)]


# -- gphoto2 ---------------------------------------------------------------------------------------


def gphoto2_shots(sims: list[Simulator], home: Path, shots: int, parallel: bool) -> list[str]:
    """``gphoto2 --capture-image`` on every camera, ``shots`` times; the failures."""
    env = dict(os.environ, **gphoto2_env(home))
    failed: list[str] = []
    for _ in range(shots):
        if parallel:
            procs = [
                subprocess.Popen(
                    [*gphoto2_args(s), "--capture-image"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
                )
                for s in sims
            ]
            for s, p in zip(sims, procs):
                try:
                    _, err = p.communicate(timeout=120)
                except subprocess.TimeoutExpired:
                    p.kill()
                    _, err = p.communicate()
                if p.returncode:
                    failed.append(f"{s.port}: exit {p.returncode}: {err.decode(errors='replace')[-200:]}")
        else:
            for s in sims:
                r = subprocess.run(
                    [*gphoto2_args(s), "--capture-image"], env=env, capture_output=True, text=True, timeout=120
                )
                if r.returncode:
                    failed.append(f"{s.port}: exit {r.returncode}: {r.stderr[-200:]}")
        time.sleep(0.3)  # the camera finishes its shot (its image is written after the release)
    return failed


# -- the rig's two ways ------------------------------------------------------------------------------


def rig_of(daemons: dict[str, Daemon]) -> Any:
    from ptpd_client import Rig, RigCamera

    return Rig(
        [
            RigCamera(n, d.endpoints["command"], d.endpoints["event"], d.endpoints["liveview"])
            for n, d in daemons.items()
        ],
        timeout=30.0,
    )


async def deadline_shots(daemons: dict[str, Daemon], shots: int) -> dict[str, Any]:
    skews, late, errors = [], [], []
    async with rig_of(daemons) as rig:
        for _ in range(shots):
            shot = await rig.fire(lead=LEAD, preview=False)  # clock offsets measured anew, then the release
            errors += [f"{n}: {r.error}" for n, r in shot.releases.items() if r.error]
            if shot.skew is not None:
                skews.append(shot.skew)
            late += [r.late for r in shot.releases.values() if r.late is not None]
            await asyncio.sleep(0.3)
    return {"skews": skews, "late": Stats.of(late), "errors": errors}


async def at_once_shots(daemons: dict[str, Daemon], shots: int) -> dict[str, Any]:
    skews, errors, spread_sent = [], [], []
    async with rig_of(daemons) as rig:
        await rig.sync()
        for _ in range(shots):
            sent = time.monotonic()
            got = await rig.each(lambda n, c: c.capture(1, timeout=30.0))
            times = []
            for n, o in got.items():
                if not o.ok:
                    errors.append(f"{n}: {o.error}")
                    continue
                off = rig.offsets[n]
                times.append(off.ours(o.value.shots[0].released))
            if len(times) > 1:
                skews.append(max(times) - min(times))
                spread_sent.append(min(times) - sent)
            await asyncio.sleep(0.3)
    return {"skews": skews, "errors": errors, "first_release_after_send": spread_sent}


# -- cost per camera ----------------------------------------------------------------------------------


def cpu_share(pids: list[int], seconds: float) -> list[float]:
    """Each process's CPU over ``seconds``, as a share of one core."""
    before = [cpu_seconds(p) for p in pids]
    time.sleep(seconds)
    return [(cpu_seconds(p) - b) / seconds for p, b in zip(pids, before)]


def liveview_cost(work: Path, n: int, seconds: float, warm_up: float = 3.0) -> dict[str, Any]:
    """``n`` Fuji cameras streaming 30 fps to one subscriber each: each daemon's CPU and RSS."""
    import zmq

    sims = [Simulator("fuji", LATENCY_MS, lv_fps=30, lv_steps=30, opts={"initial_images": 0}) for _ in range(n)]
    daemons: list[Daemon] = []
    stop = threading.Event()
    counts = [0] * n
    try:
        for i, s in enumerate(sims):
            daemons.append(
                Daemon(
                    work / f"lv{i}", DaemonOptions(simulate=None, camera=s.address, vendor="fuji", keepalive=10)
                ).start(timeout=60)
            )
        ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
        subs = []
        for d in daemons:
            sock = ctx.socket(zmq.SUB)
            sock.linger = 0
            sock.setsockopt(zmq.SUBSCRIBE, b"liveview.frame")
            sock.connect(d.endpoints["liveview"])
            subs.append(sock)

        def read() -> None:
            poller = zmq.Poller()
            for sock in subs:
                poller.register(sock, zmq.POLLIN)
            while not stop.is_set():
                for sock, _ in poller.poll(100):
                    while True:
                        try:
                            sock.recv_multipart(zmq.NOBLOCK, copy=False)
                        except zmq.Again:
                            break
                        counts[subs.index(sock)] += 1

        t = threading.Thread(target=read, daemon=True)
        t.start()
        time.sleep(warm_up)  # live view starts, the simulators' frame cache fills
        start = list(counts)
        cpu = cpu_share([d.pid for d in daemons], seconds)
        fps = [(c - s0) / seconds for c, s0 in zip(counts, start)]
        rss = [d.rss() for d in daemons]
        stop.set()
        t.join(2)
        for sock in subs:
            sock.close(0)
        return {"cpu": cpu, "fps": fps, "rss": rss}
    finally:
        stop.set()
        for d in daemons:
            d.stop()
        for s in sims:
            s.stop()


def start_cameras(logs: list[Path]) -> list[Simulator]:
    """One simulated generic camera per release log, started side by side (dozens of
    processes starting one after the other cost the benchmark minutes)."""
    sims: list[Simulator] = []
    try:
        for log in logs:
            sims.append(Simulator("generic", LATENCY_MS, release_log=log, opts={"initial_images": 0}, wait=False))
        for s in sims:
            s.wait_ready()
    except BaseException:
        stop_together(s.proc for s in sims)
        raise
    return sims


def start_daemons(work: Path, sims: list[Simulator], tag: str, priority: int) -> dict[str, Daemon]:
    """A daemon for each camera, started side by side; every one connected on return."""
    env = {"PTPD_RELEASE_PRIORITY": str(priority)}
    daemons = {
        f"c{i:02d}": Daemon(work / f"{tag}{i}", DaemonOptions(simulate=None, camera=s.address, keepalive=10), env=env)
        for i, s in enumerate(sims)
    }
    try:
        for d in daemons.values():
            d.start(wait=False)
        for d in daemons.values():
            d.wait_ready(timeout=60)
    except BaseException:
        stop_daemons(daemons.values())
        raise
    return daemons


def stop_daemons(daemons: Iterable[Daemon]) -> None:
    stop_together(d.proc for d in daemons)


def sweep(work: Path, sizes: list[int], shots: int, settle: float = 2.0, idle_s: float = 5.0) -> list[dict[str, Any]]:
    """Deadline skew with ``n`` cameras (each its own process, as above) and ``n`` daemons,
    release priority on, for each ``n``; as the daemons report it and as the cameras saw it."""
    out = []
    for n in sizes:
        logs = [work / f"sw{n}-release-{i}.log" for i in range(n)]
        sims: list[Simulator] = []
        daemons: dict[str, Daemon] = {}
        try:
            sims = start_cameras(logs)
            daemons = start_daemons(work, sims, f"sw{n}-", PRIORITY)
            time.sleep(settle)
            idle = cpu_share([d.pid for d in daemons.values()], idle_s)
            rel = ReleaseLogs(logs)
            snap = busy_snapshot()
            got = asyncio.run(deadline_shots(daemons, shots))
            out.append(
                {
                    "n": n,
                    "skews": got["skews"],
                    "camera_skews": rel.skews(shots),
                    "errors": got["errors"],
                    "idle_cpu": sum(idle),
                    "rss": sum(d.rss() for d in daemons.values()) / n,
                    "busy": busy_since(snap),
                }
            )
        finally:
            stop_daemons(daemons.values())
            stop_together(s.proc for s in sims)
    return out


# -- the benchmark --------------------------------------------------------------------------------------


def stats_ms(samples: list[float]) -> tuple[str, str, str]:
    s = Stats.of(samples)
    return ms(s.median), ms(s.p99), ms(s.max)


def run(quick: bool) -> Result:
    n = 2 if quick else 16
    shots = 2 if quick else 20
    g_shots = 1 if quick else 5
    res = Result(
        "rig",
        f"A rig of {n} cameras on one host: release skew and cost per camera",
        f"{n} simulated generic cameras (own processes, {LATENCY_MS:g} ms per transaction): deadline firing "
        f"(capture at, {LEAD:g} s ahead) x{shots} vs capture sent to all at once x{shots} vs gphoto2 --capture-image "
        f"per camera, one after the other and in parallel processes x{g_shots}",
    )
    res.raw["loadavg_before"] = os.getloadavg()
    skew = Table(
        f"Release skew of {n} cameras (latest minus earliest release of a shot), ms",
        ["method", "shots", "daemons report p50", "p99", "max", "cameras saw p50", "p99", "max"],
    )
    with tempdir() as work:
        logs = [work / f"release-{i}.log" for i in range(n)]
        sims = start_cameras(logs)
        rel = ReleaseLogs(logs)
        try:
            # gphoto2 first: a camera holds one session, so no daemon may hold these yet
            for parallel in (False, True):
                snap = busy_snapshot()
                failed = gphoto2_shots(sims, work / "home", g_shots, parallel)
                cams = rel.skews(g_shots)
                key = "gphoto2 parallel" if parallel else "gphoto2 sequential"
                res.raw[key] = {"camera_skews": cams, "failed": failed, "busy": busy_since(snap)}
                row = ["—", "—", "—"]
                skew.rows.append(
                    [
                        f"gphoto2 --capture-image, {'16 processes at once' if parallel else 'one camera after the other'}".replace(
                            "16", str(n)
                        ),
                        g_shots,
                        *row,
                        *(stats_ms(cams) if cams else ("n/a",) * 3),
                    ]
                )
                if failed:
                    res.notes.append(f"{key}: {len(failed)} failed: {failed[:2]}")
            for priority in (0, PRIORITY):
                daemons = start_daemons(work, sims, f"p{priority}-", priority)
                try:
                    time.sleep(0.2 if quick else 1.0)
                    phases = [
                        ("deadline", deadline_shots, f"deadline (capture at, {LEAD:g} s ahead)"),
                        ("at once", at_once_shots, "capture sent to all at once"),
                    ]
                    if priority:
                        phases = [
                            (
                                "deadline, release priority",
                                deadline_shots,
                                f"deadline, release_priority {PRIORITY} (SCHED_FIFO)",
                            )
                        ]
                    for key, fn, label in phases:
                        snap = busy_snapshot()
                        got = asyncio.run(fn(daemons, shots))
                        cams = rel.skews(shots)
                        got.update(camera_skews=cams, busy=busy_since(snap), loadavg=os.getloadavg())
                        res.raw[key] = got
                        skew.rows.append(
                            [
                                f"{label}; machine {100 * got['busy']:.0f} % busy",
                                shots,
                                *stats_ms(got["skews"]),
                                *(stats_ms(cams) if cams else ("n/a",) * 3),
                            ]
                        )
                        if got["errors"]:
                            res.notes.append(f"{key}: {len(got['errors'])} camera failures: {got['errors'][:2]}")
                    if not priority:  # the daemon's cost, idle (keep-alive every 10 s, as shipped)
                        pids = [d.pid for d in daemons.values()]
                        idle = cpu_share(pids, 1.0 if quick else 10.0)
                        rss = [d.rss() for d in daemons.values()]
                        res.raw["idle"] = {"cpu": idle, "rss": rss}
                finally:
                    stop_daemons(daemons.values())
        finally:
            stop_together(s.proc for s in sims)
        for fifo in (False, True):
            floor = host_floor(n, shots, fifo)
            res.raw["host floor" + (", SCHED_FIFO" if fifo else "")] = floor
            skew.rows.append(
                [
                    f"the host's floor: {n} bare processes write at one moment{', SCHED_FIFO' if fifo else ''}",
                    shots,
                    *stats_ms(floor),
                    "—",
                    "—",
                    "—",
                ]
            )
        res.tables.append(skew)
        lv = liveview_cost(work, 1 if quick else 4, 1.0 if quick else 10.0, 1.0 if quick else 3.0)
        res.raw["liveview"] = lv
        cost = Table(
            "The daemon's cost per camera", ["state", "daemons", "CPU % of a core, mean", "max", "RSS MB, mean", "max"]
        )
        idle, rss = res.raw["idle"]["cpu"], res.raw["idle"]["rss"]
        cost.rows.append(
            [
                "idle (connected, keep-alive every 10 s)",
                len(idle),
                f"{100 * sum(idle) / len(idle):.2f}",
                f"{100 * max(idle):.2f}",
                f"{sum(rss) / len(rss) / MB:.1f}",
                f"{max(rss) / MB:.1f}",
            ]
        )
        cost.rows.append(
            [
                f"live view at 30 fps to one subscriber (measured {sum(lv['fps']) / len(lv['fps']):.1f} fps each)",
                len(lv["cpu"]),
                f"{100 * sum(lv['cpu']) / len(lv['cpu']):.1f}",
                f"{100 * max(lv['cpu']):.1f}",
                f"{sum(lv['rss']) / len(lv['rss']) / MB:.1f}",
                f"{max(lv['rss']) / MB:.1f}",
            ]
        )
        res.tables.append(cost)
        sizes = [2] if quick else [16, 32]  # 32 already misses on 2 cores: 64 shows nothing more
        sw = sweep(work, sizes, 2 if quick else 10, 0.5 if quick else 2.0, 1.0 if quick else 5.0)
        res.raw["sweep"] = sw
        hold = Table(
            f"Deadline skew by rig size on this host ({os.cpu_count()} cores; release_priority {PRIORITY}), ms",
            [
                "daemons",
                "shots",
                "daemons report p50",
                "p99",
                "max",
                "cameras saw p50",
                "p99",
                "max",
                "idle CPU, cores",
                "RSS MB per daemon",
                "machine busy while firing",
            ],
        )
        for point in sw:
            cams = point["camera_skews"]
            hold.rows.append(
                [
                    point["n"],
                    len(point["skews"]),
                    *stats_ms(point["skews"]),
                    *(stats_ms(cams) if cams else ("n/a",) * 3),
                    f"{point['idle_cpu']:.3f}",
                    f"{point['rss'] / MB:.1f}",
                    f"{100 * point['busy']:.0f} %",
                ]
            )
        res.tables.append(hold)
    for key, what in (("deadline", "as shipped"), ("deadline, release priority", f"release_priority {PRIORITY}")):
        got = res.raw[key]["skews"]
        p99 = Stats.of(got).p99 * 1000 if got else None
        res.targets.append(
            Target(
                f"p99 release skew, {n} cameras, deadline firing, {what} (daemons' report)", p99, GOAL_MS, "<=", " ms"
            )
        )
    # "holds": the median shot within the goal; a shared host's load spikes reach the p99
    # (the host's own floor, bare real-time processes, has a p99 of its own, in the table)
    within = [r["n"] for r in sw if r["skews"] and Stats.of(r["skews"]).median * 1000 <= GOAL_MS and not r["errors"]]
    strict = [r["n"] for r in sw if r["skews"] and Stats.of(r["skews"]).p99 * 1000 <= GOAL_MS and not r["errors"]]
    floor_p99 = Stats.of(res.raw["host floor, SCHED_FIFO"]).p99 * 1000
    idle_core = sum(res.raw["idle"]["cpu"]) / len(res.raw["idle"]["cpu"])
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    per_rss = sum(res.raw["idle"]["rss"]) / len(res.raw["idle"]["rss"])
    by_cpu = int((os.cpu_count() or 1) * 0.5 / idle_core) if idle_core > 0 else None
    by_mem = int(mem * 0.5 / per_rss) if per_rss else None
    res.raw["capacity"] = {
        "median_within_goal": within,
        "p99_within_goal": strict,
        "idle_core_per_daemon": idle_core,
        "rss_per_daemon": per_rss,
        "by_idle_cpu_half_the_cores": by_cpu,
        "by_memory_half_the_ram": by_mem,
    }
    cpu_text = f"{by_cpu}" if by_cpu is not None else "any number of"
    tried = ", ".join(str(r["n"]) for r in sw)
    res.notes.append(
        f"cameras one {os.cpu_count()}-core host holds with live view off (release_priority {PRIORITY}): "
        f"{max(within) if within else 'none'} of {tried} with the median shot within {GOAL_MS:g} ms, "
        f"{max(strict) if strict else 'none'} with the p99 within it (the host's own floor, bare real-time processes, "
        f"had a p99 of {floor_p99:.2f} ms in this run); idle CPU alone would allow {cpu_text} daemons in half the cores "
        f"({100 * idle_core:.3f} % of a core each), memory {by_mem} in half the RAM "
        f"({mem / MB / 1024:.0f} GB, {per_rss / MB:.0f} MB each)"
    )
    res.raw["loadavg_after"] = os.getloadavg()
    return res


def main(argv: list[str] | None = None) -> int:
    return main_for(run, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
