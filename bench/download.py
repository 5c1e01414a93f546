"""Benchmark 4: download throughput of one 50 MB object.

The simulated camera (its own process, 0 ms latency: this measures throughput, not the
link) holds one ~50 MB JPEG. Compared, in one run:

* ``gphoto2 --get-file N`` (a process and a session; N found with ``--list-files``);
* ptpd: the Python client's ``download(handle)`` (in process, bytes over the bus) and
  ``ptpctl download HANDLE -o DIR`` (a process, written to disk atomically);
* the limit: a bare loopback socket reading the same number of bytes from memory, into
  one buffer reused run after run (pages already mapped): the machine's ceiling;
* for context, the same bare read into new memory each run, as any downloader that keeps
  the bytes must (every ptpd and gphoto2 side does: on this kind of machine, mapping
  50 MB of new pages costs more than reading 50 MB from a socket).

Reported: seconds and MB/s per side, and ptpd / limit. Target: >= 0.8 of the limit (the
reused-buffer one, as the target was set; the fresh-memory ratio is printed beside it).
Every downloaded copy is compared byte for byte with the others.
"""

from __future__ import annotations

import hashlib
import re
import sys
import time

from bench.common import Result, Stats, Table, Target, main_for, ms, run_timed, tempdir
from bench.floors import tcp_limit
from bench.harness import Daemon, DaemonOptions, Simulator, gphoto2_args, gphoto2_env, ptpctl_cmd
from bench.rpc import _vendor


def _direct(vendor: str, sim: Simulator, reps: int, digests: dict[str, set[str]]) -> list[float]:
    import asyncio

    async def go() -> list[float]:
        if vendor == "fuji":
            from ptpd.camera.fuji import FujiCamera

            cam = FujiCamera(sim.host, sim.port, sim.port + 1, sim.port + 2, name="ptpd-bench")
        else:
            from ptpd.camera.generic import GenericCamera

            cam = GenericCamera(sim.host, sim.port, name="ptpd-bench")
        await cam.connect()
        try:
            objs = await cam.objects()
            big = max(objs, key=lambda o: o.size)
            out = []
            for _ in range(reps):
                t0 = time.perf_counter()
                data = await cam.download(big.handle)
                out.append(time.perf_counter() - t0)
                digests.setdefault("direct", set()).add(hashlib.sha256(data).hexdigest())
            return out
        finally:
            await cam.close()

    return asyncio.run(asyncio.wait_for(go(), 300))


def run(quick: bool) -> Result:
    mb = 8 if quick else 50
    reps = 1 if quick else 5
    vendor = _vendor()
    res = Result(
        "download",
        f"Download throughput: one {mb} MB object",
        f"gphoto2 --get-file vs ptpd (Python client in process; ptpctl download to disk) vs a bare loopback "
        f"socket reading {mb} MB from memory into a reused buffer (the limit), and into new memory each run; "
        f"simulated {vendor} camera, 0 ms latency, {reps} runs each",
    )
    if vendor != "generic":
        res.notes.append("the generic camera class is not in the tree yet: measured against the simulated Fuji camera")
    opts = {"big_object_mb": mb, "initial_images": 0, **({"pairing_delay": 0} if vendor == "fuji" else {})}
    sides: dict[str, list[float]] = {}
    digests: dict[str, set[str]] = {}
    size = 0
    with tempdir() as work, Simulator(vendor, 0.0, opts=opts) as sim:
        # gphoto2 first (its own sessions), then the daemon takes the camera
        env = gphoto2_env(work / "home")
        dt, rc, text = run_timed([*gphoto2_args(sim), "--list-files"], env=env, timeout=60)
        listing = [(int(m.group(1)), int(m.group(2))) for m in re.finditer(r"^#(\d+)\s+\S+.*?\s(\d+) KB", text, re.M)]
        if rc == 0 and listing:
            num = max(listing, key=lambda x: x[1])[0]
            for i in range(reps):
                out = work / f"g{i}"
                out.mkdir()
                dt, rc, text = run_timed([*gphoto2_args(sim), "--get-file", str(num), "--filename", str(out / "%f.%C")], env=env, timeout=300)
                files = list(out.iterdir())
                if rc != 0 or len(files) != 1:
                    res.notes.append(f"gphoto2 --get-file {num} failed ({rc}): {text[-300:]}")
                    break
                sides.setdefault("gphoto2 --get-file", []).append(dt)
                digests.setdefault("gphoto2", set()).add(hashlib.sha256(files[0].read_bytes()).hexdigest())
        else:
            res.notes.append(f"gphoto2 --list-files found nothing ({rc}): {text[-300:]}")

        # the camera layer alone, in this process (the code the daemon runs, without bus)
        try:
            sides["camera API in process (no daemon, no bus)"] = _direct(vendor, sim, reps, digests)
        except Exception as exc:  # reported, not fatal: the other sides still count
            res.notes.append(f"direct camera download not measured: {type(exc).__name__}: {exc}")

        d = Daemon(work / "d", DaemonOptions(simulate=None, camera=f"127.0.0.1:{sim.port}", vendor=vendor, keepalive=0))
        with d:
            d.start(timeout=60)
            from ptpd_client import Client

            with Client(command_endpoint=d.endpoints["command"], timeout=300) as c:
                objs = c.objects()
                big = max(objs, key=lambda o: o.size)
                size = big.size
                for _ in range(reps):
                    t0 = time.perf_counter()
                    got = c.download(big.handle)
                    sides.setdefault("ptpd: Python client download", []).append(time.perf_counter() - t0)
                    digests.setdefault("client", set()).add(hashlib.sha256(got.data).hexdigest())
                    del got
            for i in range(reps):
                out = work / f"p{i}"
                out.mkdir()
                dt, rc, text = run_timed([*ptpctl_cmd(), "--timeout", "300", "download", str(big.handle), "-o", str(out), "--no-progress"], env=d.client_env, timeout=300)
                files = list(out.iterdir())
                if rc != 0 or len(files) != 1:
                    res.notes.append(f"ptpctl download failed ({rc}): {text[-300:]}")
                    break
                sides.setdefault("ptpd: ptpctl download -o DIR", []).append(dt)
                digests.setdefault("ptpctl", set()).add(hashlib.sha256(files[0].read_bytes()).hexdigest())
    sides["limit: bare socket"] = tcp_limit(size or mb * 1_000_000, reps)
    sides["bare socket into new memory each run"] = tcp_limit(size or mb * 1_000_000, reps, fresh=True)
    table = Table(f"{size / 1e6:.1f} MB object", ["side", "runs", "median ms", "p99 ms", "MB/s", "x limit (throughput)", "x camera API (throughput)"])
    lim = Stats.of(sides["limit: bare socket"]).median
    direct = Stats.of(sides.get("camera API in process (no daemon, no bus)", [])).median
    for k, v in sides.items():
        s = Stats.of(v)
        table.rows.append([k, s.n, ms(s.median), ms(s.p99), f"{size / s.median / 1e6:.0f}", f"{lim / s.median:.3f}", f"{direct / s.median:.3f}"])
        res.raw[k] = s
    res.raw["bytes"] = size
    res.tables.append(table)
    all_digests = set().union(*digests.values()) if digests else set()
    res.raw["distinct_contents"] = len(all_digests)
    if len(all_digests) > 1:
        res.notes.append(f"downloads differ: {({k: sorted(v) for k, v in digests.items()})}")
    if "ptpd: Python client download" in sides:
        best = min(Stats.of(sides[k]).median for k in sides if k.startswith("ptpd"))
        res.targets.append(Target("ptpd download throughput / bare-socket limit (best ptpd side)", lim / best, 0.8))
        fresh = Stats.of(sides["bare socket into new memory each run"]).median
        res.notes.append(f"best ptpd side / bare socket into new memory: {fresh / best:.3f} (the same read as the limit, but into new pages each run)")
    return res


def main(argv: list[str] | None = None) -> int:
    return main_for(run, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
