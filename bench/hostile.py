"""Bounded under attack: a hostile camera and hostile local clients against a real daemon.

Two daemons (``ptpd run``, real processes on private ipc endpoints) take one attack
after another while a well-behaved client pings each of them every 10 ms:

* camera attacks: the daemon holds :mod:`bench.hostile_camera`, a malicious PTP/IP
  camera whose mode is switched per attack (huge, absurd and endless DeviceInfo, a data
  phase far past the object's declared size, a trickling data phase, probe and event
  floods, 10 M object handles, Enumerations of 65,535 values);
* client attacks: the daemon holds a plain simulated camera in its own process, and
  :mod:`bench.hostile_client` sends, from a process of its own, what no client should
  (requests of one-byte items and request ids as large as a request may be, 16 MiB,
  where the issue's were 60 and 32 MiB under a 64 MiB cap; a reply-cache flood, 40,000
  subscriptions, 1 MiB subscriptions, a 512 MiB message into a publishing socket,
  downloads whose replies are never read, malformed requests, a delete of handle
  0xFFFFFFFF and a NUL in a ``dir``);
* ghost commands: the daemon holds a simulated camera that takes 150 ms a transaction,
  and 100 clients capture at once, each giving up after 7 s: every picture taken must be
  answered to a client still waiting, and nothing reported as failed may happen later.

For each attack: the daemon's peak RSS during it (``VmHWM`` after resetting it through
``/proc/PID/clear_refs``), the ping round trips during it (p99 and the worst; an
unanswered ping counts as 2 s), and the outcome: what the daemon answered or did, and
whether that is what it must do. The daemon must stay under :data:`RSS_CEILING` and
answer pings within :data:`PING_P99` at the 99th percentile during every attack (the
test suite's short version allows more for a busy machine: ``tests/test_hostile.py``).

``python -m bench.hostile`` runs the attacks at the issue's sizes; ``--quick`` runs small
fractions of them (what the test suite runs). Loopback and ipc:// only.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
import zmq

from bench.common import PYTHON, ROOT, Proc, Result, Table, Target, main_for, tempdir
from bench.harness import BusClient, Daemon, DaemonOptions, Simulator, ptpctl_cmd
from bench.hostile_client import ID_BYTES, ITEMS_BYTES

#: what the daemon must stay under during every attack
RSS_CEILING = 150 * 1000 * 1000
#: the 99th percentile of ping round trips during every attack
PING_P99 = 0.050
#: how long a ping may take before it counts as unanswered
PING_TIMEOUT = 2.0


# -- measuring -------------------------------------------------------------------------------


class Pinger(threading.Thread):
    """Pings the daemon every 10 ms on its own socket; keeps (time, round trip)."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(daemon=True, name="pinger")
        self.endpoint = endpoint
        self.samples: list[tuple[float, float]] = []
        self.stop_ev = threading.Event()

    def run(self) -> None:
        ctx = zmq.Context()
        s = ctx.socket(zmq.DEALER)
        s.linger = 0
        s.connect(self.endpoint)
        n = 0
        try:
            while not self.stop_ev.is_set():
                n += 1
                t = time.monotonic()
                s.send_multipart([b"", msgpack.packb({"id": n, "cmd": "ping", "args": {}})])
                rtt = PING_TIMEOUT
                deadline = t + PING_TIMEOUT
                while (left := deadline - time.monotonic()) > 0 and s.poll(int(left * 1000) + 1):
                    if msgpack.unpackb(s.recv_multipart()[-1], raw=False).get("id") == n:
                        rtt = time.monotonic() - t
                        break
                self.samples.append((t, rtt))
                time.sleep(0.01)
        finally:
            s.close(0)
            ctx.term()

    def window(self, t0: float, t1: float) -> list[float]:
        return [rtt for t, rtt in list(self.samples) if t0 <= t <= t1]

    def stop(self) -> None:
        self.stop_ev.set()
        self.join(PING_TIMEOUT + 2)


def p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(0.99 * len(v)))]


def reset_peak(pid: int) -> None:
    """Reset the process's peak RSS (``VmHWM``) to its current RSS (Linux >= 4.0)."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def status_kb(pid: int, field_name: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) * 1024
    return 0


@dataclass
class Row:
    """One attack's figures."""

    attack: str
    side: str  #: "camera" or "client"
    peak_rss: int = 0  #: bytes
    after_rss: int = 0  #: bytes, when the attack was over
    ping_p99: float = float("nan")  #: seconds
    ping_max: float = float("nan")
    pings: int = 0
    seconds: float = 0.0
    outcome: str = ""
    ok: bool = False  #: the daemon did what it must (the outcome), alive

    @property
    def within(self) -> bool:
        return self.ok and self.peak_rss <= RSS_CEILING and self.ping_p99 <= PING_P99

    def cells(self) -> list[Any]:
        return [
            self.attack,
            f"{self.peak_rss / 1e6:.0f} MB",
            f"{self.ping_p99 * 1000:.1f} ms",
            f"{self.ping_max * 1000:.0f} ms",
            self.outcome,
            "yes" if self.ok else "NO",
        ]


@dataclass
class Run:
    """A daemon under attack, with its pinger; :meth:`attack` measures one attack."""

    daemon: Daemon
    pinger: Pinger
    side: str
    rows: list[Row] = field(default_factory=list)

    def attack(self, name: str, fn: Callable[[], tuple[str, bool]]) -> Row:
        pid = self.daemon.pid
        time.sleep(0.2)  # let the previous attack's leftovers settle
        reset_peak(pid)
        t0 = time.monotonic()
        try:
            outcome, ok = fn()
        except Exception as exc:  # an attack that cannot run is a failed row, not a crash
            outcome, ok = f"{type(exc).__name__}: {exc}"[:200], False
        t1 = time.monotonic()
        rtts = self.pinger.window(t0, t1)
        alive = self.daemon.alive()
        row = Row(
            name,
            self.side,
            status_kb(pid, "VmHWM"),
            status_kb(pid, "VmRSS"),
            p99(rtts),
            max(rtts, default=float("nan")),
            len(rtts),
            t1 - t0,
            outcome if alive else f"DAEMON DIED: {outcome}",
            ok and alive,
        )
        self.rows.append(row)
        print(
            f"  {name:28} peak {row.peak_rss / 1e6:6.1f} MB  ping p99 {row.ping_p99 * 1000:7.1f} ms  "
            f"max {row.ping_max * 1000:7.1f} ms  {row.seconds:5.1f} s  {'ok ' if row.ok else 'BAD'} {row.outcome}",
            flush=True,
        )
        return row


def _wait(cond: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def _status(c: BusClient) -> dict[str, Any]:
    try:
        return c.result("status", timeout=3.0)
    except (TimeoutError, RuntimeError):
        return {}


# -- the camera's attacks ----------------------------------------------------------------------


class SwitchableCamera:
    """:mod:`bench.hostile_camera` in its own process; :meth:`switch` changes its mode
    (a line on its stdin; with ``drop`` it closes every connection, and the daemon comes
    back into the new mode)."""

    def __init__(self, scale: float) -> None:
        self.proc = _PipedProc([PYTHON, "-m", "bench.hostile_camera", "--scale", str(scale)])
        line = self._line(30)
        if not line.startswith("ready "):
            self.proc.stop()
            raise RuntimeError(f"hostile camera did not start: {line!r}")
        self.port = int(line.split()[2])

    def _line(self, timeout: float) -> str:
        from bench.harness import _readline

        return _readline(self.proc, timeout)

    def switch(self, mode: str, drop: bool = False) -> None:
        assert self.proc.popen.stdin is not None
        self.proc.popen.stdin.write(f"mode {mode}{' drop' if drop else ''}\n".encode())
        self.proc.popen.stdin.flush()
        line = self._line(10)
        if line != f"mode {mode}":
            raise RuntimeError(f"hostile camera did not switch to {mode}: {line!r}")

    def stop(self) -> None:
        self.proc.stop()


class _PipedProc(Proc):
    """A :class:`Proc` with a pipe on its stdin."""

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self._log = None
        self.popen = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, start_new_session=True
        )
        self.pid = self.popen.pid


def camera_attacks(work: Path, quick: bool) -> list[Row]:
    scale = 0.1 if quick else 1.0
    hold = 1.5 if quick else 10.0  # seconds a flood or a refused connect is kept up
    timeout = 1.0 if quick else 2.0  # the daemon's camera timeout
    cam = SwitchableCamera(scale)
    daemon = Daemon(
        work / "camera-attacks", DaemonOptions(simulate=None, camera=f"127.0.0.1:{cam.port}", timeout=timeout)
    )
    try:
        daemon.start(timeout=30)
        pinger = Pinger(daemon.endpoints["command"])
        pinger.start()
        run = Run(daemon, pinger, "camera")
        c = daemon.client()

        def connected() -> bool:
            return _status(c).get("connection") == "connected"

        def switch(mode: str, drop: bool = False) -> None:
            # few drops: a camera that ends sessions soon after they begin looks like
            # another initiator taking it, and the daemon backs off (ptpd.daemon.backoff)
            cam.switch(mode, drop)
            time.sleep(0.1)

        def settle() -> bool:
            """The camera answers a transaction again (a camera that streamed its
            leftovers past a Cancel holds its next answer until it is done)."""
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if connected() and c.call("get", {"prop": "battery"}, timeout=10).get("ok"):
                    return True
                time.sleep(0.2)
            return False

        def refused_connect(mode: str, expect: str) -> Callable[[], tuple[str, bool]]:
            def go() -> tuple[str, bool]:
                switch(mode, drop=True)
                # refused at every connect, and the reason said: for `hold` seconds
                deadline = time.monotonic() + hold
                seen, ok = "", True
                while time.monotonic() < deadline or not seen:
                    st = _status(c)
                    detail = st.get("detail", "")
                    if st.get("connection") == "connected":
                        ok = False
                    if re.search(expect, detail):
                        seen = f"{st.get('connection')}: {detail[:110]}"
                    if time.monotonic() > deadline + 10:
                        break
                    time.sleep(0.1)
                return seen or f"{st.get('connection')}: {detail[:110]}", ok and bool(seen)

            return go

        def call(cmd: str, args: dict[str, Any], wait: float = 60.0) -> tuple[dict[str, Any], float]:
            t = time.monotonic()
            rep = c.call(cmd, args, timeout=wait)
            return rep, time.monotonic() - t

        def download(mode: str, expect_code: str, expect: str, **args: Any) -> Callable[[], tuple[str, bool]]:
            def go() -> tuple[str, bool]:
                switch("normal")
                if not settle():
                    return "camera never answered", False
                switch(mode)
                rep, took = call("download", {"handle": 1, **args})
                err = rep.get("error") or {}
                ok = (
                    not rep.get("ok")
                    and err.get("code") == expect_code
                    and re.search(expect, err.get("message", "")) is not None
                )
                return f"{err.get('code')} in {took:.1f} s: {err.get('message', '')[:100]}", ok

            return go

        def ptpctl_download() -> tuple[str, bool]:
            switch("normal")
            if not settle():
                return "camera never answered", False
            switch("object-overrun")
            out_dir = work / "ptpctl-out"
            out_dir.mkdir(exist_ok=True)
            t = time.monotonic()
            p = subprocess.run(
                [*ptpctl_cmd(), "download", "1", "-o", str(out_dir)],
                capture_output=True,
                text=True,
                env={**os.environ, **daemon.client_env},
                timeout=120,
            )
            took = time.monotonic() - t
            files = sorted(x.name for x in out_dir.iterdir())
            lines = [x for x in p.stderr.splitlines() if x.strip()]
            ok = p.returncode != 0 and not files and len(lines) == 1 and "allowed" in lines[0]
            return f"ptpctl exit {p.returncode} in {took:.1f} s, files {files}: {lines[-1][:90] if lines else ''}", ok

        def daemon_dir_download() -> tuple[str, bool]:
            out_dir = work / "daemon-out"
            out_dir.mkdir(exist_ok=True)
            outcome, ok = download("object-overrun", "camera_refused", "allowed", dir=str(out_dir))()
            files = sorted(x.name for x in out_dir.iterdir())
            return f"{outcome}; files {files}", ok and not files

        def flood(mode: str) -> Callable[[], tuple[str, bool]]:
            def go() -> tuple[str, bool]:
                switch("normal")
                settle()
                switch(mode)  # it starts on the open event channel
                time.sleep(hold)
                st = _status(c)
                rep = c.call("ping", timeout=5)
                return f"{st.get('connection')} after {hold:.0f} s of it, ping answered", bool(rep.get("ok"))

            return go

        def objects_refused() -> tuple[str, bool]:
            switch("normal")
            if not settle():
                return "camera never answered", False
            switch("handles-huge")
            rep, took = call("objects", {})
            err = rep.get("error") or {}
            return f"{err.get('code')} in {took:.1f} s: {err.get('message', '')[:100]}", err.get(
                "code"
            ) == "camera_refused"

        def trickle() -> tuple[str, bool]:
            outcome, _ = download("trickle", "timeout", "")()
            rep = c.call("status", timeout=5)
            m = re.match(r"(\w+) in ([\d.]+) s", outcome)
            # the transaction times out after `timeout` without progress; the download
            # then waits for the reconnect and tries once more (resume window 4 x timeout + 4)
            ok = (
                m is not None
                and m.group(1) in ("timeout", "not_connected")
                and float(m.group(2)) <= 4 * timeout + 4 + 2 * timeout
            )
            return outcome, ok and rep.get("ok") is True

        attacks: list[tuple[str, Callable[[], tuple[str, bool]]]] = [
            # the refused connects first: the one session they end is the daemon's first
            ("DeviceInfo of 28 MB at connect", refused_connect("deviceinfo-huge", r"more data than|over the limit")),
            ("DeviceInfo count 0xFFFFFFFF", refused_connect("deviceinfo-absurd", r"over the limit")),
            ("DeviceInfo phase without end", refused_connect("deviceinfo-endless", r"more data than")),
            ("Enumeration of 65,535 values", refused_connect("enum-huge", r"over the limit")),
            ("1.5 GB for a 10 KB object", download("object-overrun", "camera_refused", "allowed")),
            ("1.5 GB announced for 10 KB", download("object-overrun-announced", "camera_refused", "allowed")),
            ("the same, download dir=", daemon_dir_download),
            ("the same, ptpctl download", ptpctl_download),
            ("a byte a second (trickle)", trickle),
            ("10 M object handles", objects_refused),
            ("probe flood, never reading", flood("probe-flood")),
            ("event flood", flood("event-flood")),
        ]
        for name, fn in attacks:
            run.attack(name, fn)
        pinger.stop()
        c.close()
        return run.rows
    finally:
        daemon.stop()
        cam.stop()


# -- the clients' attacks ----------------------------------------------------------------------


def client_attacks(work: Path, quick: bool) -> list[Row]:
    scale = 0.1 if quick else 1.0
    with Simulator("generic", opts={"big_object_mb": 8}) as sim:
        daemon = Daemon(work / "client-attacks", DaemonOptions(simulate=None, camera=sim.address, timeout=5.0))
        try:
            daemon.start(timeout=30)
            c = daemon.client()
            big = [o for o in c.result("objects", timeout=30)["objects"] if o["filename"] == "BIG_0001.JPG"][0]
            pinger = Pinger(daemon.endpoints["command"])
            pinger.start()
            run = Run(daemon, pinger, "client")

            def attacker(
                name: str, endpoint: str, expect: Callable[[dict[str, str]], bool], extra: Sequence[str] = ()
            ) -> Callable[[], tuple[str, bool]]:
                def go() -> tuple[str, bool]:
                    p = subprocess.run(
                        [PYTHON, "-m", "bench.hostile_client", name, endpoint, "--scale", str(scale), *extra],
                        capture_output=True,
                        text=True,
                        cwd=ROOT,
                        timeout=300,
                        env={**os.environ, "HOSTILE_UNREAD_S": "3" if quick else "8"},
                    )
                    done = next((x for x in p.stdout.splitlines() if x.startswith("done")), "")
                    seen = dict(kv.split("=", 1) for kv in done.split()[1:])
                    st = _status(c)
                    ok = bool(done) and expect(seen) and st.get("connection") == "connected"
                    return (done[5:] or p.stderr.strip()[-120:]) + f"; camera {st.get('connection')}", ok

                return go

            cmd, evt, lv = (daemon.endpoints[k] for k in ("command", "event", "liveview"))

            def answered(code: str | None = "bad_request") -> Callable[[dict[str, str]], bool]:
                return lambda s: s.get("answered") == s.get("sent") and (code is None or s.get("code") == code)

            def subscribers_back_to_zero(s: dict[str, str]) -> bool:
                st = _status(c)
                return st.get("subscribers") == 0 and st.get("liveview", {}).get("subscribers") == 0

            def dangerous() -> tuple[str, bool]:
                """Requests that once did what nobody asked for: delete of handle
                0xFFFFFFFF wiped the card, a NUL in a capture dir was invalid_value."""
                before = len(c.result("objects", timeout=30)["objects"])
                asks: list[tuple[str, dict[str, Any]]] = [
                    ("delete", {"handle": 0xFFFFFFFF}),
                    ("delete", {}),
                    ("delete", {"handle": 1, "all": True}),
                    ("capture", {"dir": str(work / "a\x00b")}),
                    ("download", {"handle": big["handle"], "dir": "x\x00"}),
                ]
                codes: list[str] = []
                end = time.monotonic() + (1.0 if quick else 3.0)  # over and over, long enough to be pinged
                while time.monotonic() < end:
                    codes += [(c.call(cmd, a, timeout=20).get("error") or {}).get("code", "ok") for cmd, a in asks]
                after = len(c.result("objects", timeout=30)["objects"])
                outcome = f"{codes.count('bad_request')} of {len(codes)} bad_request; objects {before} -> {after}"
                return outcome, codes == ["bad_request"] * len(codes) and after == before

            attacks = [
                (
                    f"30 x {round(ITEMS_BYTES / 2**20)} MiB of one-byte items",
                    attacker("msgpack-items", cmd, answered()),
                ),
                (
                    f"60 requests with {round(ID_BYTES / 2**20)} MiB ids",
                    attacker("long-ids", cmd, lambda s: answered()(s) and s.get("id_echoed") == "False"),
                ),
                ("5,000 side-effect requests", attacker("reply-cache", cmd, answered(None))),
                (
                    "40,000 distinct topics",
                    attacker("topics", lv, lambda s: _wait(lambda: subscribers_back_to_zero(s), 10)),
                ),
                (
                    "100 subscriptions of 1 MiB",
                    attacker("big-subscriptions", evt, lambda s: _wait(lambda: subscribers_back_to_zero(s), 10)),
                ),
                ("512 MiB into the event socket", attacker("xpub-message", evt, lambda s: True)),
                (
                    "100 downloads never read",
                    attacker("unread-replies", cmd, lambda s: True, ["--handle", str(big["handle"])]),
                ),
                ("10,000 malformed requests", attacker("bad-requests", cmd, answered(None))),
                ("delete 0xFFFFFFFF, NUL in dir", dangerous),
            ]
            for name, fn in attacks:
                run.attack(name, fn)
            pinger.stop()
            c.close()
            return run.rows
        finally:
            daemon.stop()


def ghost_attacks(work: Path, quick: bool) -> list[Row]:
    """Ghost commands: many clients capture at once, each with a deadline, on a camera
    that takes 150 ms a transaction. Every picture taken must have been answered ``ok``
    to a client still waiting, every other request ``expired`` (nothing done), and a
    ``set`` answered as failed must never be applied."""
    scale = 0.1 if quick else 1.0
    deadline = 2.0 if quick else 7.0  # the clients gave up after 7 s
    with Simulator("generic", latency_ms=150) as sim:
        daemon = Daemon(work / "ghost-attacks", DaemonOptions(simulate=None, camera=sim.address, timeout=5.0))
        try:
            daemon.start(timeout=30)
            c = daemon.client()
            pinger = Pinger(daemon.endpoints["command"])
            pinger.start()
            run = Run(daemon, pinger, "client")

            def ghosts() -> tuple[str, bool]:
                before = len(c.result("objects", timeout=30)["objects"])
                iso = str(c.result("get", {"prop": "iso"}, timeout=10)["value"])
                value = "800" if iso == "1600" else "1600"
                p = subprocess.run(
                    [
                        PYTHON,
                        "-m",
                        "bench.hostile_client",
                        "ghost-captures",
                        daemon.endpoints["command"],
                        "--scale",
                        str(scale),
                        "--prop",
                        "iso",
                        "--value",
                        value,
                    ],
                    capture_output=True,
                    text=True,
                    cwd=ROOT,
                    timeout=300,
                    env={**os.environ, "HOSTILE_DEADLINE_S": str(deadline)},
                )
                done = next((x for x in p.stdout.splitlines() if x.startswith("done")), "")
                if not done:
                    return p.stderr.strip()[-160:], False
                seen = dict(kv.split("=", 1) for kv in done.split()[1:])
                time.sleep(0.5)  # a picture the camera was still taking would show now
                taken = len(c.result("objects", timeout=30)["objects"]) - before
                queue = _status(c).get("queue")
                after = str(c.result("get", {"prop": "iso"}, timeout=10)["value"])
                applied = after == value
                ok_n = int(seen["ok"])
                # a ghost: a picture nobody was told of, an ok after its client gave up, a
                # request still queued, a set reported failed yet applied (or the reverse)
                ghost = max(0, taken - ok_n) + int(seen["late"]) + (queue or 0) + (applied != (seen["set"] == "ok"))
                outcome = (
                    f"{seen['sent']} captures ({deadline:.0f} s each): {ok_n} ok, {seen['expired']} expired, "
                    f"{seen['other']} other; {taken} pictures taken; set iso {seen['set']}, "
                    f"{'applied' if applied else 'not applied'}; ghosts {ghost}"
                )
                ok = (
                    seen["answered"] == seen["sent"]
                    and seen["other"] == "0"
                    and seen["set"] in ("ok", "expired")
                    and taken == ok_n
                    and queue == 0
                    and ghost == 0
                )
                return outcome, ok

            run.attack("many captures at once, slow camera", ghosts)
            pinger.stop()
            c.close()
            return run.rows
        finally:
            daemon.stop()


def attacks(quick: bool) -> list[Row]:
    """Every attack, camera side then client side."""
    only = os.environ.get("HOSTILE_ONLY", "")  # "camera" or "client": one side alone
    rows: list[Row] = []
    with tempdir("ptpd-hostile-") as work:
        if only in ("", "camera"):
            print("camera attacks:", flush=True)
            rows += camera_attacks(work, quick)
        if only in ("", "client"):
            print("client attacks:", flush=True)
            rows += client_attacks(work, quick)
            rows += ghost_attacks(work, quick)
    return rows


def run(quick: bool) -> Result:
    rows = attacks(quick)
    table = Table(
        f"Under attack (ceilings: peak RSS {RSS_CEILING / 1e6:.0f} MB, ping p99 {PING_P99 * 1000:.0f} ms)",
        ["attack", "peak RSS", "ping p99", "ping max", "outcome", "as it must"],
        [r.cells() for r in rows],
    )
    return Result(
        "hostile",
        "Bounded under attack: a hostile camera and hostile local clients",
        "the daemon's peak RSS and a well-behaved client's ping round trips during each attack",
        tables=[table],
        targets=[
            Target(
                "worst peak RSS during an attack", max(r.peak_rss for r in rows) / 1e6, RSS_CEILING / 1e6, "<=", " MB"
            ),
            Target(
                "worst ping p99 during an attack", max(r.ping_p99 for r in rows) * 1000, PING_P99 * 1000, "<=", " ms"
            ),
            Target("attacks answered as the daemon must", sum(r.ok for r in rows), len(rows), ">="),
        ],
        raw={"rows": [r.__dict__ for r in rows]},
    )


if __name__ == "__main__":
    sys.exit(main_for(run, doc=__doc__))
