"""Benchmark 1: command round trip, and CLI start-up.

The same 50 property reads and 50 writes (``iso``, alternating two values so every write
changes something) against the same simulated camera (its own process), with the
simulator's per-transaction latency at a Wi-Fi-like 15 ms and at 0, four ways:

* ``gphoto2 --get-config iso`` / ``--set-config iso=V``: a process and a PTP session per
  command (what users do today);
* ``ptpctl get iso`` / ``ptpctl set iso V``: a process per command, the daemon holds the
  session;
* the Python client (``ptpd_client.Client``) in one process;
* the floor: a bare pyzmq DEALER/ROUTER echo of the same message sizes plus one
  simulator latency per command (``bench.floors.rpc_floor``).

Targets at 15 ms: ptpctl at least 2x faster than gphoto2 per command; the Python client
within 1.2x of the floor. Start-up: ``ptpctl get iso`` (0 ms camera) against
``python -c "import zmq, msgpack"``, at most 1.5x, the two run alternately.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from bench.common import VENDOR, Result, Stats, Table, Target, main_for, ms, run_timed, tempdir
from bench.floors import rpc_floor, startup_floor
from bench.harness import Daemon, DaemonOptions, Simulator, gphoto2_args, gphoto2_env, ptpctl_cmd

VALUES = ("800", "400")


def gphoto2_side(sim: Simulator, n: int, home: Path) -> dict[str, list[float]]:
    env = gphoto2_env(home)
    base = gphoto2_args(sim)
    out: dict[str, list[float]] = {"get": [], "set": []}
    for i in range(n):
        dt, rc, text = run_timed([*base, "--get-config", "iso"], env=env, timeout=30)
        if rc != 0 or "Current:" not in text:
            raise RuntimeError(f"gphoto2 --get-config iso failed ({rc}): {text[-500:]}")
        out["get"].append(dt)
        dt, rc, text = run_timed([*base, "--set-config", f"iso={VALUES[i % 2]}"], env=env, timeout=30)
        if rc != 0:
            raise RuntimeError(f"gphoto2 --set-config failed ({rc}): {text[-500:]}")
        out["set"].append(dt)
    return out


def ptpctl_side(d: Daemon, n: int) -> dict[str, list[float]]:
    env = d.client_env
    cmd = ptpctl_cmd()
    out: dict[str, list[float]] = {"get": [], "set": []}
    for i in range(n):
        dt, rc, text = run_timed([*cmd, "get", "iso"], env=env, timeout=30)
        if rc != 0:
            raise RuntimeError(f"ptpctl get iso failed ({rc}): {text[-500:]}")
        out["get"].append(dt)
        dt, rc, text = run_timed([*cmd, "set", "iso", VALUES[i % 2]], env=env, timeout=30)
        if rc != 0:
            raise RuntimeError(f"ptpctl set iso failed ({rc}): {text[-500:]}")
        out["set"].append(dt)
    return out


def client_side(d: Daemon, n: int) -> dict[str, list[float]]:
    from ptpd_client import Client

    out: dict[str, list[float]] = {"get": [], "set": []}
    with Client(command_endpoint=d.endpoints["command"], timeout=30) as c:
        c.get("iso")  # connect outside the measurement, as a long-running program would
        for i in range(n):
            t0 = time.perf_counter()
            c.get("iso")
            out["get"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            c.set("iso", VALUES[i % 2])
            out["set"].append(time.perf_counter() - t0)
    return out


def startup_pairs(d: Daemon, n: int) -> tuple[list[float], list[float]]:
    """``n`` alternated pairs: ``python -c "import zmq, msgpack"``, then ``ptpctl get iso``.

    Alternating puts both sides under the same load at the same moment, so that the ratio
    holds on a machine whose speed drifts from one minute to the next.
    """
    floor: list[float] = []
    ptpctl: list[float] = []
    cmd = [*ptpctl_cmd(), "get", "iso"]
    for _ in range(n):
        floor.append(startup_floor(1)[0])
        dt, rc, text = run_timed(cmd, env=d.client_env, timeout=30)
        if rc != 0:
            raise RuntimeError(f"ptpctl get iso failed ({rc}): {text[-500:]}")
        ptpctl.append(dt)
    return floor, ptpctl


def run(quick: bool) -> Result:
    n = 3 if quick else 50
    vendor = VENDOR
    res = Result(
        "rpc",
        "Command round trip: gphoto2 vs ptpctl vs Python client vs bare zmq floor",
        f"{n} `get iso` + {n} `set iso` against the same simulated {vendor} camera (own process), "
        "simulator latency 15 ms and 0 ms; floor = bare DEALER/ROUTER echo, same sizes, + one latency",
    )
    table = Table("Per command (get and set pooled; ratio = side / floor)", ["latency", "side", "n", "median ms", "p99 ms", "get median", "set median", "x floor", "x ptpctl"])
    startup_floor_s: list[float] = []
    startup_ptpctl: list[float] = []
    with tempdir() as work:
        for lat in (15.0, 0.0):
            sides: dict[str, dict[str, list[float]]] = {}
            with Simulator(vendor, lat, opts={"initial_images": 0}) as sim:
                try:
                    sides["gphoto2"] = gphoto2_side(sim, n, work / f"home-{lat:g}")
                except (RuntimeError, OSError) as exc:
                    res.notes.append(f"gphoto2 at {lat:g} ms not measured: {str(exc)[:300]}")
                d = Daemon(work / f"d-{lat:g}", DaemonOptions(simulate=None, camera=f"127.0.0.1:{sim.port}", vendor=vendor, keepalive=0))
                with d:
                    d.start(timeout=60)
                    sides["ptpctl"] = ptpctl_side(d, n)
                    sides["python client"] = client_side(d, n)
                    if lat == 0.0:
                        startup_floor_s, startup_ptpctl = startup_pairs(d, 5 if quick else 30)
            floor = rpc_floor(2 * n, lat)
            sides["floor (zmq echo)"] = {"get": floor[:n], "set": floor[n:]}
            pooled = {k: Stats.of(v["get"] + v["set"]) for k, v in sides.items()}
            f_med = pooled["floor (zmq echo)"].median
            p_med = pooled["ptpctl"].median
            for k, v in sides.items():
                s = pooled[k]
                table.rows.append([
                    f"{lat:g} ms", k, s.n, ms(s.median), ms(s.p99), ms(Stats.of(v["get"]).median), ms(Stats.of(v["set"]).median),
                    f"{s.median / f_med:.2f}", f"{s.median / p_med:.2f}",
                ])
                res.raw[f"{k}_{lat:g}ms"] = {"get": Stats.of(v["get"]), "set": Stats.of(v["set"]), "pooled": s}
            if lat == 15.0:
                if "gphoto2" in pooled:
                    res.targets.append(Target("at 15 ms: gphoto2 / ptpctl per command (speed-up)", pooled["gphoto2"].median / p_med, 2.0))
                res.targets.append(Target("at 15 ms: Python client / floor", pooled["python client"].median / f_med, 1.2, "<="))
            elif "gphoto2" in pooled:
                res.notes.append(f"at 0 ms: gphoto2 / ptpctl = {pooled['gphoto2'].median / p_med:.2f}x; Python client / floor = {pooled['python client'].median / f_med:.2f}x")
    floor_start = Stats.of(startup_floor_s)
    s = Stats.of(startup_ptpctl)
    t2 = Table("CLI start-up (a whole process, 0 ms camera; the two sides alternated run by run)", ["what", "n", "median ms", "p99 ms", "x floor"])
    t2.rows.append(["python -c 'import zmq, msgpack'", floor_start.n, ms(floor_start.median), ms(floor_start.p99), "1.00"])
    t2.rows.append(["ptpctl get iso", s.n, ms(s.median), ms(s.p99), f"{s.median / floor_start.median:.2f}"])
    res.raw["startup_floor"] = floor_start
    res.raw["startup_ptpctl_get"] = s
    res.targets.append(Target("ptpctl get iso / python -c 'import zmq, msgpack'", s.median / floor_start.median, 1.5, "<="))
    res.tables += [table, t2]
    return res


def main(argv: list[str] | None = None) -> int:
    return main_for(run, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
