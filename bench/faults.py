"""Faults survived: the daemon, four clients at work, and hundreds of injected camera faults.

``ptpd run --simulate fuji`` (the simulated camera inside the daemon, so the bus command
``sim.fault`` drives its fault model) serves four clients, each a thread with its own
socket:

* a command client: ``get``/``set``/``describe``/``state``/``status`` in a loop;
* a capture client: ``capture`` with download into a directory (written by the daemon);
* two live-view subscribers.

An injector sends random faults through ``sim.fault``: Wi-Fi loss (every socket closed
before, during or after a data phase), stalls, slow answers, DeviceBusy spells,
malformed packets (bad length, unknown type, truncated dataset, unterminated string,
absurd array count), refused init handshakes, and sleep/wake. Faults are counted by the
simulator when carried out (``Faults.injected``), not when requested.

Printed: faults injected (by kind), daemon crashes, commands without a reply within
their timeout, reconnects and their median time, captures completed / failed with a
clear error / vanished silently, and corrupt or partial files under a final name.
``python -m bench.faults`` runs 200+ faults; ``--quick`` about 25; the test suite runs a
short version (``tests/test_reliability_faults.py``).
"""

from __future__ import annotations

import io
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
import zmq

from bench.common import Result, Stats, Table, Target, main_for, ms, tempdir
from bench.harness import BusClient, Daemon, DaemonOptions

#: seconds a client waits for any reply; far above the daemon's own camera timeout
REPLY_TIMEOUT = 40.0
CAMERA_TIMEOUT = 2.0

#: (action, weight, options maker)
FAULTS: list[tuple[str, int, Any]] = [
    ("drop_next", 4, lambda r: {"point": r.choice(["before-data", "mid-data", "before-response"])}),
    ("stall_next", 2, lambda r: {"seconds": round(r.uniform(0.3, 3.0), 2)}),
    ("slow_next", 3, lambda r: {"ms": round(r.uniform(50, 600))}),
    ("busy_for", 2, lambda r: {"seconds": round(r.uniform(0.2, 1.2), 2)}),
    (
        "malformed_next",
        4,
        lambda r: {
            "kind": r.choice(
                ["bad-length", "unknown-type", "truncated-dataset", "unterminated-string", "absurd-array-count"]
            )
        },
    ),
    ("refuse_next_inits", 1, lambda r: {"count": 1, "reason": r.choice([1, 2, 3])}),  # rejected, busy, unspecified
    ("sleep_now", 1, lambda r: {"seconds": round(r.uniform(0.5, 2.0), 2)}),
]


@dataclass
class Tally:
    sent: int = 0
    ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    no_reply: list[str] = field(default_factory=list)
    silent: list[str] = field(default_factory=list)  #: ok, but an expected part is missing
    error_names_handle: int = 0
    samples: list[str] = field(default_factory=list)


class Worker(threading.Thread):
    def __init__(self, name: str, d: Daemon, stop: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self.d = d
        self.stop_ev = stop
        self.t = Tally()
        self.ctx = zmq.Context()

    def call(self, c: BusClient, cmd: str, args: dict[str, Any]) -> dict[str, Any] | None:
        self.t.sent += 1
        try:
            rep = c.call(cmd, args, timeout=REPLY_TIMEOUT)
        except TimeoutError:
            self.t.no_reply.append(f"{cmd} {args} at {time.monotonic():.1f}")
            return None
        if rep.get("ok"):
            self.t.ok += 1
        else:
            err = rep.get("error", {})
            self.t.errors[err.get("code", "?")] += 1
            if len(self.t.samples) < 8:
                self.t.samples.append(f"{cmd}: {err.get('code')}: {str(err.get('message'))[:120]}")
        return rep


class CommandClient(Worker):
    def run(self) -> None:
        rng = random.Random(7)
        values = ["800", "400", "1600"]
        with BusClient(self.d.endpoints["command"], self.ctx) as c:
            i = 0
            while not self.stop_ev.is_set():
                i += 1
                k = rng.randrange(5)
                if k == 0:
                    self.call(c, "set", {"prop": "iso", "value": values[i % 3]})
                elif k == 1:
                    self.call(c, "describe", {"prop": "whitebalance"})
                elif k == 2:
                    self.call(c, "state", {})
                elif k == 3:
                    self.call(c, "status", {})
                else:
                    self.call(c, "get", {"prop": "iso"})
                time.sleep(0.01)


class CaptureClient(Worker):
    def __init__(self, name: str, d: Daemon, stop: threading.Event, out: Path) -> None:
        super().__init__(name, d, stop)
        self.out = out
        self.paths: list[str] = []

    def run(self) -> None:
        with BusClient(self.d.endpoints["command"], self.ctx) as c:
            while not self.stop_ev.is_set():
                rep = self.call(c, "capture", {"count": 1, "download": True, "dir": str(self.out)})
                if rep is None:
                    continue
                if rep.get("ok"):
                    for shot in rep["result"].get("shots", []):
                        if shot.get("path"):
                            self.paths.append(shot["path"])
                        else:
                            self.t.silent.append(f"shot without a file: {shot!r:.200}")
                else:
                    msg = str(rep.get("error", {}).get("message", ""))
                    if "handle" in msg.lower():
                        self.t.error_names_handle += 1
                time.sleep(0.05)


class Subscriber(threading.Thread):
    def __init__(self, endpoint: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.endpoint = endpoint
        self.stop_ev = stop
        self.times: list[float] = []
        self.gaps = 0

    def run(self) -> None:
        ctx = zmq.Context()
        s = ctx.socket(zmq.SUB)
        s.linger = 0
        s.setsockopt(zmq.SUBSCRIBE, b"liveview.frame")
        s.connect(self.endpoint)
        last = None
        while not self.stop_ev.is_set():
            if not s.poll(100):
                continue
            frames = s.recv_multipart()
            self.times.append(time.monotonic())
            seq = msgpack.unpackb(frames[1])["seq"]
            if last is not None and seq != last + 1:
                self.gaps += 1
            last = seq
        s.close(0)
        ctx.term()


class ConnectionWatcher(threading.Thread):
    """Records ``status.connection`` events: (monotonic time, state)."""

    def __init__(self, endpoint: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.endpoint = endpoint
        self.stop_ev = stop
        self.changes: list[tuple[float, str]] = []

    def run(self) -> None:
        ctx = zmq.Context()
        s = ctx.socket(zmq.SUB)
        s.linger = 0
        s.setsockopt(zmq.SUBSCRIBE, b"status.connection")
        s.connect(self.endpoint)
        while not self.stop_ev.is_set():
            if s.poll(100):
                frames = s.recv_multipart()
                meta = msgpack.unpackb(frames[1], raw=False)
                self.changes.append((time.monotonic(), str(meta.get("state"))))
        s.close(0)
        ctx.term()

    def reconnects(self) -> list[float]:
        """Seconds from each loss of the camera to the next ``connected``."""
        out, down = [], None
        for t, st in self.changes:
            if st != "connected" and down is None:
                down = t
            elif st == "connected" and down is not None:
                out.append(t - down)
                down = None
        return out


def check_files(out: Path) -> tuple[int, list[str], list[str]]:
    """(valid files, corrupt files under a final name, temp leftovers)."""
    from PIL import Image

    valid, corrupt, temps = 0, [], []
    for f in sorted(out.iterdir()) if out.exists() else []:
        if f.name.startswith(".") or f.name.endswith(".part"):
            temps.append(f.name)
            continue
        data = f.read_bytes()
        ok = data[:3] == b"\xff\xd8\xff" and data.rstrip(b"\x00")[-2:] == b"\xff\xd9"
        if ok:
            try:
                with Image.open(io.BytesIO(data)) as im:
                    im.load()
            except Exception:
                ok = False
        if ok:
            valid += 1
        else:
            corrupt.append(f"{f.name} ({len(data)} bytes)")
    return valid, corrupt, temps


def run_faults(work: Path, *, target: int, max_seconds: float, interval: float, seed: int = 1) -> dict[str, Any]:
    """Run the whole scenario; returns every figure (see the module docstring)."""
    rng = random.Random(seed)
    d = Daemon(
        work / "d",
        DaemonOptions(
            simulate="fuji",
            keepalive=1.0,
            timeout=CAMERA_TIMEOUT,
            sim_options={"pairing_delay": 0.0, "liveview_fps": 30.0},
        ),
    )
    out = work / "captures"
    stop = threading.Event()
    requested: Counter[str] = Counter()
    injected: dict[str, int] = {}
    with d:
        d.start(timeout=60)
        watcher = ConnectionWatcher(d.endpoints["event"], stop)
        subs = [Subscriber(d.endpoints["liveview"], stop) for _ in range(2)]
        cmd = CommandClient("commands", d, stop)
        cap = CaptureClient("captures", d, stop, out)
        threads = [watcher, *subs, cmd, cap]
        for t in threads:
            t.start()
        time.sleep(1.0)  # everyone working before the first fault
        t_start = time.monotonic()
        crashed = False
        names = [f[0] for f in FAULTS]
        weights = [f[1] for f in FAULTS]
        makers = {f[0]: f[2] for f in FAULTS}
        with BusClient(d.endpoints["command"], zmq.Context()) as ctl:
            total = 0
            while total < target and time.monotonic() - t_start < max_seconds:
                if not d.alive():
                    crashed = True
                    break
                # inject only into a working session: faults piled onto a camera that is
                # already gone (or asleep) would be counted without being felt
                try:
                    st = ctl.result("status", timeout=5)
                except (TimeoutError, RuntimeError):
                    continue
                if st.get("connection") != "connected":
                    time.sleep(0.05)
                    continue
                action = rng.choices(names, weights)[0]
                try:
                    rep = ctl.call("sim.fault", {"action": action, "options": makers[action](rng)}, timeout=10)
                except TimeoutError:
                    continue
                if rep.get("ok"):
                    requested[action] += 1
                    before = total
                    injected = rep["result"]["faults"]["injected"]
                    total = sum(injected.values())
                    # one fault at a time: wait until this one was carried out (a one-shot
                    # fault waits for the next transaction), so faults do not stack up
                    waited = time.monotonic()
                    while total == before and time.monotonic() - waited < 5.0 and d.alive():
                        time.sleep(0.02)
                        try:
                            snap = ctl.result("sim.fault", {"action": "snapshot", "options": {}}, timeout=5)
                        except (TimeoutError, RuntimeError):
                            continue
                        injected = snap["faults"]["injected"]
                        total = sum(injected.values())
                time.sleep(interval * rng.uniform(0.5, 1.5))
            fault_seconds = time.monotonic() - t_start
            # quiet again: clear everything and let the daemon recover on its own
            try:
                rep = ctl.call("sim.fault", {"action": "clear", "options": {}}, timeout=10)
                if rep.get("ok"):
                    injected = rep["result"]["faults"]["injected"]
            except TimeoutError:
                pass
            recovered_after = None
            t_clear = time.monotonic()
            while time.monotonic() - t_clear < 45:
                if not d.alive():
                    crashed = True
                    break
                try:
                    st = ctl.result("status", timeout=5)
                except (TimeoutError, RuntimeError):
                    continue
                if st.get("connection") == "connected":
                    recovered_after = time.monotonic() - t_clear
                    break
                time.sleep(0.1)
            time.sleep(2.0)  # frames and commands flow again
            t_end = time.monotonic()
            stop.set()
            for t in threads:
                t.join(REPLY_TIMEOUT + 5)
            alive = d.alive()
            final_ping = False
            if alive:
                try:
                    final_ping = bool(ctl.result("ping", timeout=5).get("pong"))
                except (TimeoutError, RuntimeError):
                    pass
            rss = d.rss()
        rc = d.stop()
    valid, corrupt, temps = check_files(out)
    frames_after = [sum(1 for t in s.times if t >= t_end - 2.0) for s in subs]
    return {
        "faults_injected": injected,
        "faults_total": sum(injected.values()),
        "faults_requested": dict(requested),
        "fault_seconds": fault_seconds,
        "daemon_crashes": int(crashed or not alive),
        "daemon_exit_code": rc,
        "final_ping": final_ping,
        "recovered_after_clear_s": recovered_after,
        "commands": cmd.t,
        "captures": cap.t,
        "capture_files_valid": valid,
        "capture_paths_reported": len(cap.paths),
        "corrupt_files": corrupt,
        "temp_leftovers": temps,
        "reconnect_times": watcher.reconnects(),
        "connection_changes": len(watcher.changes),
        "subscriber_frames": [len(s.times) for s in subs],
        "subscriber_gaps": [s.gaps for s in subs],
        "subscriber_frames_last_2s": frames_after,
        "daemon_rss_end": rss,
    }


def summarize(r: dict[str, Any], res: Result) -> None:
    c, k = r["commands"], r["captures"]
    rec = Stats.of(r["reconnect_times"])
    t = Table("Under fire", ["figure", "value"])
    inj = r["faults_injected"]
    t.rows += [
        [
            "faults injected (carried out by the camera)",
            f"{r['faults_total']} in {r['fault_seconds']:.0f} s: "
            + ", ".join(f"{a} {b}" for a, b in sorted(inj.items())),
        ],
        ["daemon crashes", r["daemon_crashes"]],
        ["daemon exit code after SIGTERM", r["daemon_exit_code"]],
        ["commands sent / ok / error replies", f"{c.sent} / {c.ok} / {sum(c.errors.values())} ({dict(c.errors)})"],
        ["commands with no reply within timeout", len(c.no_reply) + len(k.no_reply)],
        [
            "reconnects / median / p99 / max reconnect time",
            f"{rec.n} / {ms(rec.median)} ms / {ms(rec.p99)} ms / {ms(rec.max)} ms",
        ],
        [
            "captures requested / completed (valid file) / failed with clear error / vanished silently",
            f"{k.sent} / {r['capture_files_valid']} / {sum(k.errors.values())} ({dict(k.errors)}) / {len(k.silent)}",
        ],
        ["failed captures whose error names the image's handle", k.error_names_handle],
        ["corrupt or partial files under a final name", len(r["corrupt_files"])],
        ["temp files left behind", len(r["temp_leftovers"])],
        [
            "live-view frames per subscriber (sequence gaps)",
            ", ".join(f"{a} ({b})" for a, b in zip(r["subscriber_frames"], r["subscriber_gaps"])),
        ],
        ["frames in the last 2 s after recovery, per subscriber", r["subscriber_frames_last_2s"]],
        [
            "camera connected again after faults stopped (s)",
            "never" if r["recovered_after_clear_s"] is None else f"{r['recovered_after_clear_s']:.2f}",
        ],
        ["daemon RSS at the end (MB)", f"{r['daemon_rss_end'] / 1e6:.0f}"],
    ]
    res.tables.append(t)
    res.targets += [
        Target("daemon crashes", float(r["daemon_crashes"]), 0, "<="),
        Target("commands with no reply within their timeout", float(len(c.no_reply) + len(k.no_reply)), 0, "<="),
        Target("corrupt or partial files under a final name", float(len(r["corrupt_files"])), 0, "<="),
        Target("captures that vanished silently", float(len(k.silent)), 0, "<="),
    ]
    if c.samples or k.samples:
        res.notes.append("sample error replies: " + " | ".join((c.samples + k.samples)[:8]))
    if k.silent:
        res.notes.append("silent captures, e.g.: " + " | ".join(k.silent[:3]))
    if r["corrupt_files"]:
        res.notes.append(f"corrupt files: {r['corrupt_files'][:5]}")
    if c.no_reply or k.no_reply:
        res.notes.append(f"no reply: {(c.no_reply + k.no_reply)[:5]}")


def run(quick: bool) -> Result:
    target = 15 if quick else 200
    res = Result(
        "faults",
        f"Faults survived: {target}+ injected faults while four clients work",
        "`ptpd run --simulate fuji` with a command client, a capture+download client and two live-view "
        "subscribers, while `sim.fault` injects drops, stalls, slow answers, busy spells, malformed packets, "
        "refused inits and sleep/wake at random",
    )
    with tempdir() as work:
        r = run_faults(work, target=target, max_seconds=60 if quick else 600, interval=0.1)
    res.raw = {k: (v.__dict__ if hasattr(v, "__dict__") else v) for k, v in r.items()}
    summarize(r, res)
    res.targets.insert(0, Target("faults injected", float(r["faults_total"]), float(target)))
    return res


def main(argv: list[str] | None = None) -> int:
    return main_for(run, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
