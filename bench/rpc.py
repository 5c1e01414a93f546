"""One property read and write over the camera's link, and the CLI's start-up.

Per link profile (:mod:`bench.netns`), the simulated generic camera in the camera's
namespace answers each transaction in the profile's time (5-20 ms on Wi-Fi 802.11n).
``get iso`` and ``set iso V`` (two values alternating, so every write changes something),
``n`` of each, three ways:

* ``gphoto2 --get-config iso`` / ``--set-config iso=V``: a process and a PTP session per
  command (what users do today);
* ``ptpctl get iso`` / ``ptpctl set iso V``: a process per command, the daemon (in the
  host's namespace) holds the session;
* the Python client (``ptpd_client.Client``) in one process.

gphoto2 takes the camera from whoever holds it, so the daemon is stopped while gphoto2
runs: blocks ABA (the daemon's two sides, gphoto2, the daemon's two sides again). Reported
per side: median and p99 per command, and ratios to gphoto2.

CLI start-up (no link: a 0 ms camera on loopback): ``ptpctl get iso`` against ``python -c
"import zmq, msgpack"`` (the floor of any Python client), the two run alternately; target
at most 1.5x.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from bench.common import PYTHON, VENDOR, Result, Stats, Table, Target, ms, run_timed, tempdir
from bench.harness import Daemon, DaemonOptions, Simulator, gphoto2_args, gphoto2_env, ptpctl_cmd
from bench.linkbench import camera, daemon, main_for_links, verdict_note
from bench.netns import Link, Profile

VALUES = ("800", "400")


def gphoto2_side(argv: list[str], n: int, home: Path, out: dict[str, list[float]]) -> None:
    env = gphoto2_env(home)
    for i in range(n):
        dt, rc, text = run_timed([*argv, "--get-config", "iso"], env=env, timeout=60)
        if rc != 0 or "Current:" not in text:
            raise RuntimeError(f"gphoto2 --get-config iso failed ({rc}): {text[-500:]}")
        out.setdefault("get", []).append(dt)
        dt, rc, text = run_timed([*argv, "--set-config", f"iso={VALUES[i % 2]}"], env=env, timeout=60)
        if rc != 0:
            raise RuntimeError(f"gphoto2 --set-config failed ({rc}): {text[-500:]}")
        out.setdefault("set", []).append(dt)


def daemon_sides(d: Daemon, wrap: Any, n: int, out: dict[str, dict[str, list[float]]]) -> None:
    """``n`` gets and sets by ptpctl (a process each) and by the Python client, alternated
    command by command."""
    from ptpd_client import Client

    ptpctl = wrap(ptpctl_cmd())
    with Client(command_endpoint=d.endpoints["command"], timeout=60) as c:
        c.get("iso")  # connected outside the measurement, as a long-running program would be
        for i in range(n):
            for cmd, args in (("get", ["iso"]), ("set", ["iso", VALUES[i % 2]])):
                dt, rc, text = run_timed([*ptpctl, cmd, *args], env=d.client_env, timeout=60)
                if rc != 0:
                    raise RuntimeError(f"ptpctl {cmd} failed ({rc}): {text[-500:]}")
                out["ptpctl"].setdefault(cmd, []).append(dt)
                t0 = time.perf_counter()
                if cmd == "get":
                    c.get("iso")
                else:
                    c.set("iso", VALUES[(i + 1) % 2])  # the other value: a change again
                out["python client"].setdefault(cmd, []).append(time.perf_counter() - t0)


def startup_floor(n: int) -> list[float]:
    """Wall seconds of ``python -c "import zmq, msgpack"``, ``n`` times."""
    out = []
    for _ in range(n):
        dt, rc, text = run_timed([PYTHON, "-c", "import zmq, msgpack"], timeout=30)
        if rc != 0:
            raise RuntimeError(text)
        out.append(dt)
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


def on_link(profile: Profile, n: int, res: Result, table: Table) -> None:
    sides: dict[str, dict[str, list[float]]] = {"ptpctl": {}, "python client": {}, "gphoto2": {}}
    half = max(1, n // 2)
    with tempdir() as work, Link(profile) as link, camera(link, opts={"initial_images": 0}) as sim:
        with daemon(link, sim, work / "d1", keepalive=0) as d:
            daemon_sides(d, link.host, half, sides)
        try:
            gphoto2_side(link.host(gphoto2_args(sim)), n, work / "home", sides["gphoto2"])
        except (RuntimeError, OSError) as exc:
            res.notes.append(f"{profile.name}: gphoto2 not measured: {str(exc)[:300]}")
        with daemon(link, sim, work / "d2", keepalive=0) as d:
            daemon_sides(d, link.host, n - half, sides)
    pooled = {k: Stats.of(v.get("get", []) + v.get("set", [])) for k, v in sides.items()}
    g = pooled["gphoto2"].median
    for k, v in sides.items():
        s = pooled[k]
        if not s.n:
            continue
        table.rows.append(
            [
                profile.title,
                k,
                s.n,
                ms(s.median),
                ms(s.p99),
                ms(Stats.of(v["get"]).median),
                ms(Stats.of(v["set"]).median),
                f"{g / s.median:.2f}" if g == g else "n/a",
            ]
        )
        res.raw[f"{profile.name}_{k}"] = {"get": Stats.of(v["get"]), "set": Stats.of(v["set"]), "pooled": s}
        if k != "gphoto2":
            res.summarize(
                profile.title,
                f"one property get/set, {k} (median of {s.n})",
                f"{ms(s.median)} ms",
                f"{ms(g)} ms" if g == g else "n/a",
                f"{g / s.median:.2f}x as fast" if g == g else "",
            )


def run(quick: bool, profs: list[Profile]) -> Result:
    n = 2 if quick else 10
    res = Result(
        "rpc",
        "One property get/set over the camera's link: gphoto2 vs ptpctl vs Python client; CLI start-up",
        f"{n} `get iso` + {n} `set iso` per side against the same simulated {VENDOR} camera in its own network "
        "namespace, answering in the link profile's time; gphoto2 with the daemon stopped (blocks ABA). "
        "CLI start-up: `ptpctl get iso` vs `python -c 'import zmq, msgpack'`, alternated, 0 ms camera on loopback",
    )
    table = Table(
        "Per command (get and set pooled)",
        ["link", "side", "n", "median ms", "p99 ms", "get median", "set median", "x gphoto2 (speed)"],
    )
    for profile in profs:
        on_link(profile, n, res, table)
    with tempdir() as work, Simulator(VENDOR, 0.0, opts={"initial_images": 0}) as sim:
        d = Daemon(work / "d", DaemonOptions(simulate=None, camera=f"127.0.0.1:{sim.port}", vendor=VENDOR, keepalive=0))
        with d:
            d.start(timeout=60)
            floor_s, ptpctl_s = startup_pairs(d, 5 if quick else 30)
    floor_start, s = Stats.of(floor_s), Stats.of(ptpctl_s)
    t2 = Table(
        "CLI start-up (a whole process, 0 ms camera on loopback; the two sides alternated run by run)",
        ["what", "n", "median ms", "p99 ms", "x floor"],
    )
    t2.rows.append(
        ["python -c 'import zmq, msgpack'", floor_start.n, ms(floor_start.median), ms(floor_start.p99), "1.00"]
    )
    t2.rows.append(["ptpctl get iso", s.n, ms(s.median), ms(s.p99), f"{s.median / floor_start.median:.2f}"])
    res.raw["startup_floor"] = floor_start
    res.raw["startup_ptpctl_get"] = s
    res.targets.append(
        Target("ptpctl get iso / python -c 'import zmq, msgpack'", s.median / floor_start.median, 1.5, "<=")
    )
    res.tables += [table, t2]
    verdict_note(res)
    return res


def main(argv: list[str] | None = None) -> int:
    return main_for_links(run, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
