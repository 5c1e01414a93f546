"""A simulated camera as a process, with the knobs benchmarks need that ``ptpd simulate`` lacks.

``python -m bench.simproc --vendor fuji [--host ADDR] --port P [--latency MS] [--jitter MS] [--lv-fps N]
[--lv-size 640x480|1024x768] [--lv-steps N] [--lv-send-log FILE] [--release-log FILE] [--opt key=json ...]`` starts
:func:`ptpd.simulator.start_simulator`, prints ``ready HOST PORT`` and serves until
SIGTERM/SIGINT. ``--lv-fps`` sets the Fuji live-view rate (a high value = as fast as the
simulator can); ``--lv-steps`` caps the distinct frames per lap of the moving scene, so
after one lap every frame comes from the simulator's cache and rendering stops costing
CPU (the benchmark then measures transport, not drawing). ``--lv-send-log`` writes, at exit,
``[counter mod 256, time.monotonic(), tail_crc]`` for each live-view frame as the camera
sent it: latency is timed from there. ``--release-log`` appends a line with ``time.monotonic()``
for each InitiateCapture the camera takes up, as it takes it up (a rig's releases, timed by
the cameras themselves). Runs in its own process so the daemon under test never shares a
core's event loop with the camera.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any


async def serve(ns: argparse.Namespace) -> None:
    from ptpd.simulator import start_simulator

    opts: dict[str, Any] = {}
    for kv in ns.opt:
        k, _, v = kv.partition("=")
        try:
            opts[k] = json.loads(v)
        except json.JSONDecodeError:
            opts[k] = v
    if ns.vendor == "fuji" and ns.lv_fps:
        opts["liveview_fps"] = ns.lv_fps
    if ns.jitter:
        opts["latency_jitter_ms"] = ns.jitter
    sim = await start_simulator(ns.vendor, ns.host, ns.port, latency_ms=ns.latency, **opts)
    if ns.vendor == "fuji":
        if ns.lv_size:
            dev = sim.device
            with dev.lock:
                dev.values[0xD174] = {"640x480": "640x480", "1024x768": "1280x960"}.get(ns.lv_size, ns.lv_size)
        if ns.lv_steps:
            sim.frames.steps = ns.lv_steps
    sent: list[tuple[int, float, int]] = []
    if ns.lv_send_log:
        from bench.common import tail_crc

        def on_frame(counter: int, jpeg: bytes) -> None:
            t = time.monotonic()  # first: the crc is ours, not the camera's send
            sent.append((counter & 0xFF, t, tail_crc(jpeg)))

        sim.liveview.on_frame = on_frame
    if ns.release_log:
        log_release(sim, ns.release_log)
    print(f"ready {sim.host} {sim.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(sim.close(), 5)
    if ns.lv_send_log:
        Path(ns.lv_send_log).write_text(json.dumps(sent))  # noqa: ASYNC240  # once, after the run


def log_release(sim: Any, path: str) -> None:
    """Append ``time.monotonic()`` to ``path`` for every InitiateCapture, when the camera
    starts the transaction (the clock first, the write after)."""
    initiate_capture = 0x100E
    out = open(path, "a", buffering=1)
    plan = sim.faults.on_transaction

    def on_transaction(op_code: int, *args: Any, **kw: Any) -> Any:
        if op_code == initiate_capture:
            out.write(f"{time.monotonic():.7f}\n")
        return plan(op_code, *args, **kw)

    sim.faults.on_transaction = on_transaction


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--vendor", default="generic", choices=("generic", "fuji"))
    ap.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (loopback, or one inside a benchmark's namespace)"
    )
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.0, help="ms each transaction waits")
    ap.add_argument("--jitter", type=float, default=0.0, help="up to this many ms more per transaction (uniform)")
    ap.add_argument("--lv-fps", type=float, default=0.0)
    ap.add_argument("--lv-size", default="")
    ap.add_argument("--lv-steps", type=int, default=0)
    ap.add_argument("--lv-send-log", default="")
    ap.add_argument("--release-log", default="", help="append the time of each InitiateCapture taken up here")
    ap.add_argument("--opt", action="append", default=[], metavar="KEY=JSON")
    ns = ap.parse_args(argv)
    asyncio.run(serve(ns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
