"""``make bench``: run every benchmark, write ``bench/results.md`` and the plots.

Each benchmark runs as its own process (``python -m bench.<name> --json FILE``), so one
that breaks or hangs is reported and the others still run (one over its time is sent
SIGTERM, which removes the network namespaces it made, and killed 30 s later; any it
left behind are swept); its JSON result becomes a section of ``results.md``, and the
link benchmarks' summary rows become a table per link profile at the top. ``--quick`` runs the tiny versions (a smoke check, a minute);
``--only rpc,fanout`` reruns some benchmarks and keeps the others' last results (all
raw results live in ``bench/results.json``, the source of ``results.md``); ``--out FILE``
writes the markdown elsewhere (and then touches no stored result).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.common import PYTHON, ROOT, Result, machine_line, tempdir, write_results
from bench.netns import sweep

HERE = Path(__file__).resolve().parent

#: name -> (module, time limit in seconds for the full run)
BENCHMARKS: dict[str, tuple[str, float]] = {
    "capture": ("bench.capture", 900),
    "fanout": ("bench.fanout", 600),
    "rpc": ("bench.rpc", 300),
    "reconnect": ("bench.reconnect", 300),
    "memory": ("bench.memory", 600),
    "faults": ("bench.faults", 900),
    "rig": ("bench.rig", 1200),
    "timelapse": ("bench.timelapse", 600),
    "hostile": ("bench.hostile", 900),
}


def run_one(args: list[str], timeout: float) -> tuple[int, str]:
    """Run a benchmark to its end, or SIGTERM it after ``timeout`` s (it unwinds: its
    links go) and SIGKILL its process group 30 s later; (exit code, its output)."""
    with tempdir() as d:
        out_path = d / "out.txt"
        with open(out_path, "wb") as out:
            p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
            try:
                rc = p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGTERM)
                try:
                    rc = p.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    rc = p.wait(10)
                rc = rc or 124
            except BaseException:  # Ctrl-C here: the benchmark (a session of its own) unwinds too
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait(10)
                raise
        return rc, out_path.read_text(errors="replace")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="tiny versions only")
    ap.add_argument("--only", help="comma-separated benchmark names: " + ",".join(BENCHMARKS))
    ap.add_argument("--out", default=str(HERE / "results.md"), help="where to write the markdown")
    ns = ap.parse_args(argv)
    names = [n.strip() for n in ns.only.split(",")] if ns.only else list(BENCHMARKS)
    started = time.monotonic()
    print(f"machine: {machine_line()}", flush=True)
    store = HERE / "results.json"
    default_out = Path(ns.out) == HERE / "results.md"
    kept: dict[str, dict] = {}
    if default_out and not ns.quick and store.exists():
        kept = {k: v for k, v in json.loads(store.read_text()).items() if k in BENCHMARKS}
    results: list[Result] = []
    with tempdir() as d:
        for name in names:
            module, limit = BENCHMARKS[name]
            out = d / f"{name}.json"
            args = [PYTHON, "-m", module, "--json", str(out)] + (["--quick"] if ns.quick else [])
            print(f"\n### {name}: {' '.join(args[1:3])}{' --quick' if ns.quick else ''}", flush=True)
            t0 = time.monotonic()
            try:
                rc, text = run_one(args, limit / (5 if ns.quick else 1))
            finally:
                for name_left in sweep():
                    print(f"removed a network namespace left behind: {name_left}", flush=True)
            print(text.rstrip(), flush=True)
            if rc == 0 and out.exists():
                results.append(Result.from_json(json.loads(out.read_text())))
            else:
                r = Result(name, f"{name}: did not finish", f"`python -m {module}`")
                r.notes.append(
                    f"exit {rc} after {time.monotonic() - t0:.0f} s; last output: "
                    + " / ".join(text.strip().splitlines()[-5:])
                )
                results.append(r)
    if default_out and not ns.quick:
        for r in results:
            kept[r.name] = r.as_json()
        store.write_text(json.dumps(kept, indent=1, default=str))
        results = [Result.from_json(kept[n]) for n in BENCHMARKS if n in kept]
    write_results(results, Path(ns.out), header="Quick run (smoke sizes): not a measurement." if ns.quick else "")
    print(f"\nwrote {ns.out} ({time.monotonic() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
