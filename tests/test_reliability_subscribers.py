"""Subscribers: one that never reads and one killed with SIGKILL mid-stream harm no one.

Two reading subscribers (separate processes) record every live-view frame's sequence
number over a window; a third subscribes and never reads; a fourth reads and is killed
with SIGKILL in the middle of the window. Checked, without timing thresholds: every frame
the daemon published in the window reached the readers (none lost to both; a reader the
machine left unscheduled may drop a few of its own, as live view does for slow readers),
both see the same frames, the daemon forgets the killed subscriber, keeps running, and its
RSS does not grow.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from bench.common import PYTHON, Procs
from bench.fanout import _go, _start_children, _wait_ready
from bench.harness import Daemon, DaemonOptions

pytestmark = pytest.mark.timeout(90)

WINDOW = 5.0


def test_stuck_and_killed_subscribers_do_not_disturb_others(tmp_path: Path) -> None:
    opts = DaemonOptions(simulate="fuji", keepalive=0, sim_options={"pairing_delay": 0.0, "liveview_fps": 60.0})
    with Daemon(tmp_path / "d", opts) as d, Procs() as procs:
        d.start(timeout=60)
        ep = d.endpoints["liveview"]
        readers = _start_children(
            [[PYTHON, "-m", "bench.fanout", "sub", ep, str(tmp_path / f"r{i}.json"), "latency"] for i in range(2)],
            procs,
        )
        idle = _start_children([[PYTHON, "-m", "bench.fanout", "sub", ep, "-", "idle"]], procs)
        victim = _start_children(
            [[PYTHON, "-m", "bench.fanout", "sub", ep, str(tmp_path / "victim.json"), "count"]], procs
        )
        _wait_ready(readers + idle + victim, 60)
        with d.client() as c:  # the idle one says ready before its subscription arrives
            deadline = time.monotonic() + 10
            while c.result("status")["liveview"]["subscribers"] < 4 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert c.result("status")["liveview"]["subscribers"] == 4
        t0 = time.monotonic() + 0.3
        t1 = t0 + WINDOW
        _go(readers + victim, t0, t1)
        _go(idle, t0, t1, idle_for=WINDOW + 2)
        while time.monotonic() < t0 + 1.0:
            time.sleep(0.01)
        rss_before = d.rss()
        os.killpg(victim[0].pid, signal.SIGKILL)  # mid-stream, no goodbye
        victim[0].popen.wait(5)
        with d.client() as c:  # the daemon notices the dead peer while the others still read
            watching = c.result("status")["liveview"]["subscribers"]
            while watching > 3 and time.monotonic() < t1 - 0.5:
                time.sleep(0.05)
                watching = c.result("status")["liveview"]["subscribers"]
        assert watching == 3, watching  # two readers and the idle one
        while time.monotonic() < t1 + 0.5:
            time.sleep(0.05)
        for r in readers:
            r.popen.wait(30)
        rss_after = d.rss()
        assert d.alive(), d.log_text()[-2000:]
        seqs = [json.loads((tmp_path / f"r{i}.json").read_text())["seqs"] for i in range(2)]
        for s in seqs:
            assert len(s) > 50, "frames did not flow"
        # A frame the daemon failed to send because of the kill or the idle subscriber is
        # lost to both readers alike. A reader the machine left unscheduled for longer than
        # its queue lasts loses frames of its own (live view drops the oldest for a slow
        # reader, by design): those the other reader got, and only a few.
        lo, hi = max(s[0] for s in seqs), min(s[-1] for s in seqs)
        got = set(seqs[0]) | set(seqs[1])
        lost_by_both = [n for n in range(lo, hi + 1) if n not in got]
        assert not lost_by_both, (
            f"frames around the kill or behind the idle subscriber reached no reader: {lost_by_both[:5]}"
        )
        for s in seqs:
            own = [(a, b) for a, b in zip(s, s[1:]) if b != a + 1]
            assert sum(b - a - 1 for a, b in own) <= 0.05 * len(s), f"a reader lost frames: {own[:5]}"
        # both readers got the same frames (their windows may differ by a frame at each end)
        common = set(seqs[0]) & set(seqs[1])
        assert len(common) >= min(len(seqs[0]), len(seqs[1])) - 2
        assert rss_after - rss_before < 5 * 1024 * 1024, (rss_before, rss_after)
        print(
            f"readers got {len(seqs[0])} and {len(seqs[1])} frames, seq {seqs[0][0]}..{seqs[0][-1]} contiguous; daemon RSS {rss_before / 1e6:.1f} -> {rss_after / 1e6:.1f} MB"
        )
        assert d.stop() == 0
