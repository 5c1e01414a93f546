"""Connecting to a Fuji body, as the daemon (a real process) shows it on ``status.connection``.

* While the camera asks its user to accept this client, the state is ``pairing`` and its
  detail says what to do ("press OK on the camera"); then ``connected``.
* A closed command port is a refusal in milliseconds, and the daemon's back-off between
  attempts is what it announces ("retrying in 0.25s", then 0.5 s, 1 s, ...).
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import free_port
from ptpd import bus
from sim_thread import SimThread
from test_daemon_sim import Daemon

pytestmark = pytest.mark.timeout(60)


def connection_events(d: Daemon, until: Any, timeout: float = 20.0) -> list[tuple[float, dict[str, Any]]]:
    """``status.connection`` messages (arrival time, meta) until ``until(meta)`` is true."""
    sub = d.sub("event", b"status.connection")
    seen: list[tuple[float, dict[str, Any]]] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            assert left > 0 and sub.poll(int(left * 1000)), f"no end in sight: {[m for _, m in seen]}"
            _, meta = sub.recv_multipart()
            m = bus.unpack(meta)
            seen.append((time.monotonic(), m))
            if until(m):
                return seen
    finally:
        sub.close()


@pytest.fixture
def served() -> Iterator[SimThread]:
    s = SimThread()
    yield s
    s.close()


def test_status_says_pairing_with_what_to_do_while_the_camera_asks_its_user(served: SimThread, tmp_path: Path) -> None:
    sim = served.start("fuji", model="X-T4", pairing_delay=1.0)
    d = Daemon(tmp_path, "--vendor", "fuji", "--camera", "127.0.0.1", "--cmd-port", str(sim.port), "--keepalive", "0")
    try:
        seen = connection_events(d, lambda m: m["state"] == "connected")
        states = [m["state"] for _, m in seen]
        assert "pairing" in states and states[-1] == "connected", states
        pairing = next(m for _, m in seen if m["state"] == "pairing")
        assert "press OK on the camera" in pairing["detail"]
        assert d.c.ok("status")["reconnects"] == 0 and sim.pairing_prompts == 1 and sim.sessions_opened == 1
    finally:
        assert d.close() == 0


def test_a_closed_port_fails_at_once_and_the_backoff_is_what_it_says(tmp_path: Path) -> None:
    port = free_port(3)
    with socket.socket() as probe:  # nothing listens there (and nothing will)
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    d = Daemon(tmp_path, "--vendor", "fuji", "--camera", "127.0.0.1", "--cmd-port", str(port), "--keepalive", "0")
    try:
        seen = connection_events(d, lambda m: m["detail"].endswith("retrying in 4.00s"))
    finally:
        assert d.close() == 0
    # the daemon's own publish times: what the subscriber's scheduling adds does not count
    tries = [(m["t"], m) for _, m in seen if m["state"] in ("connecting", "disconnected")]
    pairs = list(zip(tries, tries[1:]))
    failed = [(t1 - t0) for (t0, a), (t1, b) in pairs if a["state"] == "connecting" and b["state"] == "disconnected"]
    waits = [
        (t1 - t0, float(re.search(r"retrying in ([0-9.]+)s", a["detail"]).group(1)))  # type: ignore[union-attr]  # a wait says how long
        for (t0, a), (t1, b) in pairs
        if a["state"] == "disconnected" and b["state"] == "connecting"
    ]
    assert len(failed) >= 3 and len(waits) >= 3, [m for _, m in seen]
    assert max(failed) < 0.5, failed  # a refusal is known at once (it took 5 s per attempt before)
    assert all("refused the connection" in m["detail"] for _, m in tries if m["state"] == "disconnected")
    said = [w for _, w in waits]
    assert said[-3:] == [0.5, 1.0, 2.0], said  # doubling from 0.25 s (the first may come before we listen)
    for took, wait in waits:
        assert wait - 0.05 <= took <= wait + 0.4, waits  # what it says, give or take a busy machine
