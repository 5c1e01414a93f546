"""``make bench``: run every benchmark, write ``bench/results.md`` and the fan-out plot.

Each benchmark runs as its own process (``python -m bench.<name> --json FILE``), so one
that breaks or hangs is reported and the others still run; its JSON result becomes a
section of ``results.md``. ``--quick`` runs the tiny versions (a smoke check, a minute);
``--only rpc,fanout`` reruns some benchmarks and keeps the others' last results (all
raw results live in ``bench/results.json``, the source of ``results.md``); ``--out FILE``
writes the markdown elsewhere (and then touches no stored result).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bench.common import PYTHON, ROOT, Result, machine_line, run_timed, tempdir, write_results

HERE = Path(__file__).resolve().parent

#: name -> (module, time limit in seconds for the full run)
BENCHMARKS: dict[str, tuple[str, float]] = {
    "floors": ("bench.floors", 120),
    "rpc": ("bench.rpc", 900),
    "fanout": ("bench.fanout", 900),
    "capture": ("bench.capture", 600),
    "download": ("bench.download", 600),
    "memory": ("bench.memory", 600),
    "faults": ("bench.faults", 900),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="tiny versions only")
    ap.add_argument("--only", help="comma-separated benchmark names: " + ",".join(BENCHMARKS))
    ap.add_argument("--out", default=str(HERE / "results.md"), help="where to write the markdown")
    ns = ap.parse_args(argv)
    names = [n.strip() for n in ns.only.split(",")] if ns.only else list(BENCHMARKS)
    print(f"machine: {machine_line()}", flush=True)
    store = HERE / "results.json"
    default_out = Path(ns.out) == HERE / "results.md"
    kept: dict[str, dict] = {}
    if default_out and not ns.quick and store.exists():
        kept = json.loads(store.read_text())
    results: list[Result] = []
    with tempdir() as d:
        for name in names:
            module, limit = BENCHMARKS[name]
            out = d / f"{name}.json"
            args = [PYTHON, "-m", module, "--json", str(out)] + (["--quick"] if ns.quick else [])
            print(f"\n### {name}: {' '.join(args[1:3])}{' --quick' if ns.quick else ''}", flush=True)
            t0 = time.monotonic()
            dt, rc, text = run_timed(args, timeout=limit / (5 if ns.quick else 1), cwd=ROOT)
            print(text.rstrip(), flush=True)
            if rc == 0 and out.exists():
                results.append(Result.from_json(json.loads(out.read_text())))
            else:
                r = Result(name, f"{name}: did not finish", f"`python -m {module}`")
                r.notes.append(f"exit {rc} after {time.monotonic() - t0:.0f} s; last output: " + " / ".join(text.strip().splitlines()[-5:]))
                results.append(r)
    if default_out and not ns.quick:
        for r in results:
            kept[r.name] = r.as_json()
        store.write_text(json.dumps(kept, indent=1, default=str))
        results = [Result.from_json(kept[n]) for n in BENCHMARKS if n in kept]
    write_results(results, Path(ns.out), header="Quick run (smoke sizes): not a measurement." if ns.quick else "")
    print(f"\nwrote {ns.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
