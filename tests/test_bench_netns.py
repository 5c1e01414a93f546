"""The benchmarks' camera links (``bench.netns``): two namespaces, a veth pair, a rate the
kernel enforces; everything made is removed, on an error, Ctrl-C or SIGTERM too; and the
arithmetic that reads a transfer off the link's byte counter."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.netns import CAMERA_IP, HOST_IP, Link, Profile, _tx_of, available, bulk, rate_series, sweep, tcp_ceiling

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.timeout(60)
needs_links = pytest.mark.skipif(available() is not None, reason=str(available()))

SLOW = Profile("test", "test link", 20.0, (0.0, 0.0), 20.0)  # 2.5 MB/s


def namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def run_in(link: Link, side: str, args: list[str]) -> str:
    wrap = link.camera if side == "camera" else link.host
    return subprocess.run(wrap(args), capture_output=True, text=True, timeout=20, check=True).stdout


# -- pure arithmetic ---------------------------------------------------------------------------


def test_tx_bytes_are_read_from_proc_net_dev() -> None:
    text = (
        "Inter-|   Receive                                                |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
        "    lo:     100       1    0    0    0     0          0         0      200       2    0    0    0     0       0          0\n"
        "pl7c1: 5000 10 0 0 0 0 0 0 123456 99 0 0 0 0 0 0\n"
    )
    assert _tx_of(text, "pl7c1") == 123456 and _tx_of(text, "lo") == 200
    with pytest.raises(KeyError):
        _tx_of(text, "eth0")


def test_bulk_finds_the_transfer_between_its_edges() -> None:
    # 1 MB at 1 MB/s from t=2 s, after 0.5 s of nothing; a little chatter before it
    samples = [(t / 100, 1000 + (0 if t < 200 else min(1_000_000, (t - 200) * 10_000))) for t in range(0, 400)]
    b = bulk(samples, 1_000_000)
    assert b is not None
    assert b["rate"] == pytest.approx(1_000_000, rel=0.01)
    assert b["start"] == pytest.approx(2.02, abs=0.011) and b["end"] == pytest.approx(2.98, abs=0.011)
    assert bulk(samples, 5_000_000) is None  # the link never carried that much
    assert bulk(samples[:1], 10) is None


def test_rate_series_gives_the_rate_per_window() -> None:
    samples = [(t / 100, t * 5_000) for t in range(0, 101)]  # 500 kB/s for 1 s
    xs, ys = rate_series(samples, 0.0, 0.1)
    assert len(xs) == 10 and xs[0] == pytest.approx(0.05)
    assert all(y == pytest.approx(500_000, rel=1e-6) for y in ys)
    assert rate_series([], 0.0, 0.1) == ([], [])


# -- real links ----------------------------------------------------------------------------------


@needs_links
def test_a_link_joins_two_namespaces_at_the_profile_rate_and_goes_away() -> None:
    with Link(SLOW) as link:
        assert {link.cam_ns, link.host_ns} <= namespaces()
        assert f"inet {CAMERA_IP}/24" in run_in(link, "camera", ["ip", "-o", "addr", "show", "dev", link.cam_if])
        assert f"inet {HOST_IP}/24" in run_in(link, "host", ["ip", "-o", "addr", "show", "dev", link.host_if])
        # nothing of ours outside: the root namespace has neither end
        assert link.cam_if not in subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        assert "rate 20Mbit" in link.qdisc_stats()
        # the kernel enforces the rate: 1 MB cannot cross a 2.5 MB/s link in less than ~0.4 s
        took, overhead = tcp_ceiling(link, 1_000_000)
        assert took >= 1_000_000 / SLOW.bytes_per_s * 0.95, took
        assert 1.0 < overhead < 1.1, overhead  # the link counted the payload and its headers
    assert not {link.cam_ns, link.host_ns} & namespaces()


@needs_links
def test_an_outage_takes_the_carrier_away_and_gives_it_back() -> None:
    with Link(SLOW) as link:
        link.down()
        state = run_in(link, "host", ["ip", "-o", "link", "show", link.host_if])
        assert "NO-CARRIER" in state or "LOWERLAYERDOWN" in state, state
        link.up()
        state = run_in(link, "host", ["ip", "-o", "link", "show", link.host_if])
        assert "LOWER_UP" in state and "NO-CARRIER" not in state, state


@needs_links
def test_an_error_inside_removes_the_link() -> None:
    link = Link(SLOW)
    with pytest.raises(KeyboardInterrupt), link:
        assert link.cam_ns in namespaces()
        raise KeyboardInterrupt  # Ctrl-C
    assert not {link.cam_ns, link.host_ns} & namespaces()


@needs_links
def test_sweep_removes_what_a_dead_run_left_and_nothing_of_a_live_one() -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(10)
    stale = f"ptpdl{dead.pid}-1-cam"
    live = f"ptpdl{os.getpid()}-999-cam"
    for name in (stale, live):
        subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    try:
        gone = sweep()
        assert stale in gone and stale not in namespaces()
        assert live in namespaces()
    finally:
        for name in (stale, live):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


@needs_links
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_benchmark_stopped_midway_leaves_no_namespace(sig: int) -> None:
    p = subprocess.Popen(
        [sys.executable, "-m", "bench.reconnect", "--quick"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not any(n.startswith(f"ptpdl{p.pid}-") for n in namespaces()):
            assert p.poll() is None and time.monotonic() < deadline, "the benchmark made no link"
            time.sleep(0.05)
        time.sleep(1.5)  # the camera and the daemon running on it
        p.send_signal(sig)
        _, err = p.communicate(timeout=40)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    assert "Traceback" not in err or "KeyboardInterrupt" in err or "SystemExit" in err, err[-2000:]
    assert not any(n.startswith(f"ptpdl{p.pid}-") for n in namespaces())
