"""Benchmark 3: capture to disk, 20 shots with download.

Against the same simulated camera (its own process, 15 ms per transaction like Wi-Fi):

* ``gphoto2 --capture-image-and-download --filename DIR/%f.%C``, once per shot (a process
  and a session each: what users script today);
* ``ptpctl capture 20 -o DIR``: one process, the daemon holds the session;
* the Python client, ``capture(download=True)`` per shot, for a per-shot distribution.

Every file is checked: count, JPEG SOI and EOI markers, and that Pillow decodes it.
Target: ptpd at least 2x faster than gphoto2, every file complete and valid.
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

from bench.common import VENDOR, Result, Stats, Table, Target, main_for, ms, run_timed, tempdir
from bench.harness import Daemon, DaemonOptions, Simulator, gphoto2_args, gphoto2_env, ptpctl_cmd

LATENCY_MS = 15.0


def check_jpegs(d: Path) -> tuple[int, list[str]]:
    """(valid JPEG files, problems) under ``d`` (temp files count as problems)."""
    from PIL import Image

    ok, bad = 0, []
    for f in sorted(p for p in d.rglob("*") if p.is_file()):
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


def run(quick: bool) -> Result:
    n = 3 if quick else 20
    vendor = VENDOR
    res = Result(
        "capture",
        f"Capture to disk: {n} shots with download",
        f"`gphoto2 --capture-image-and-download` x{n} vs `ptpctl capture {n} -o DIR` vs Python client "
        f"`capture(download=True)` x{n}, simulated {vendor} camera at {LATENCY_MS:g} ms per transaction",
    )
    table = Table("Capture + download", ["side", "shots", "total s", "per shot median ms", "per shot p99 ms", "valid files", "x ptpctl"])
    opts = {"initial_images": 0}
    with tempdir() as work:
        totals: dict[str, float] = {}
        with Simulator(vendor, LATENCY_MS, opts=opts) as sim:
            out = work / "gphoto2"
            out.mkdir()
            env = gphoto2_env(work / "home")
            per: list[float] = []
            failed = []
            for i in range(n):
                dt, rc, text = run_timed([*gphoto2_args(sim), "--capture-image-and-download", "--filename", str(out / f"g{i:03d}-%f.%C")], env=env, timeout=60)
                per.append(dt)
                if rc != 0:
                    failed.append(f"shot {i}: exit {rc}: {text[-200:]}")
            totals["gphoto2"] = sum(per)
            valid, bad = check_jpegs(out)
            s = Stats.of(per)
            res.raw["gphoto2"] = {"per_shot": s, "total": sum(per), "valid": valid, "problems": bad + failed}
            table.rows.append(["gphoto2 (process per shot)", n, f"{sum(per):.2f}", ms(s.median), ms(s.p99), f"{valid}/{n}"])
            if bad or failed:
                res.notes.append(f"gphoto2 problems: {(bad + failed)[:3]}")

        with Simulator(vendor, LATENCY_MS, opts=opts) as sim:
            d = Daemon(work / "d", DaemonOptions(simulate=None, camera=f"127.0.0.1:{sim.port}", vendor=vendor, keepalive=0))
            with d:
                d.start(timeout=60)
                out = work / "ptpctl"
                out.mkdir()
                dt, rc, text = run_timed([*ptpctl_cmd(), "--timeout", "120", "capture", str(n), "-o", str(out)], env=d.client_env, timeout=300)
                totals["ptpctl"] = dt
                valid, bad = check_jpegs(out)
                res.raw["ptpctl"] = {"total": dt, "rc": rc, "valid": valid, "problems": bad, "output_tail": text[-300:]}
                table.rows.append([f"ptpctl capture {n} -o DIR (one process)", n, f"{dt:.2f}", ms(dt / n) + " (mean)", "", f"{valid}/{n}"])
                if rc != 0 or bad or valid != n:
                    res.notes.append(f"ptpctl capture: exit {rc}, {valid}/{n} valid; {bad[:3]}; output: {text[-300:]!r}")

                from ptpd_client import Client

                out = work / "client"
                out.mkdir()
                per = []
                with Client(command_endpoint=d.endpoints["command"], timeout=120) as c:
                    c.ping()
                    for i in range(n):
                        t0 = time.perf_counter()
                        r = c.capture(1, download=True)
                        per.append(time.perf_counter() - t0)
                        for j, shot in enumerate(getattr(r, "shots", []) or []):
                            data = getattr(shot, "data", None)
                            if data:
                                (out / f"c{i:03d}-{j}.jpg").write_bytes(data)
                totals["python client"] = sum(per)
                valid, bad = check_jpegs(out)
                s = Stats.of(per)
                res.raw["python client"] = {"per_shot": s, "total": sum(per), "valid": valid, "problems": bad}
                table.rows.append(["Python client capture(download=True)", n, f"{sum(per):.2f}", ms(s.median), ms(s.p99), f"{valid}/{n}"])
        for row in table.rows:
            key = "gphoto2" if row[0].startswith("gphoto2") else "ptpctl" if row[0].startswith("ptpctl") else "python client"
            row.append(f"{totals[key] / totals['ptpctl']:.2f}")
        res.tables.append(table)
        res.targets.append(Target("gphoto2 total / ptpctl total (speed-up)", totals["gphoto2"] / totals["ptpctl"], 2.0))
        res.targets.append(Target("ptpctl files complete and valid", float(res.raw["ptpctl"]["valid"]), float(n)))
    return res


def main(argv: list[str] | None = None) -> int:
    return main_for(run, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
