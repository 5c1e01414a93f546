"""Bounded under attack, the short version of ``python -m bench.hostile``.

Real daemons take twenty-two attacks, a tenth of the issue's sizes each (a hostile camera:
huge, absurd and endless DeviceInfo, 1.5 GB for a 10 KB object through the bus, a
daemon-side ``dir`` and ``ptpctl``, a trickle, 10 M handles, 65,535-value
Enumerations, probe and event floods; hostile clients: 16 MiB requests of one-byte
items and 16 MiB ids (the largest request), a reply-cache flood, 40,000 topics, 1 MiB subscriptions, a big
message into the event socket, downloads never read, malformed requests, a delete of
handle 0xFFFFFFFF and a NUL in a ``dir``; ghost commands: 10 clients capturing at once
with a 2 s deadline on a camera that takes 150 ms a transaction, a ``set`` behind them)
while a well-behaved client pings every 10 ms. Every attack must end as the daemon must end it
(the outcome column of the benchmark), the daemon must stay under the memory ceiling
and answer pings.

The ceilings asserted here have room for a shared, busy machine: the benchmark's
ceilings (150 MB, 50 ms p99) are what ``docs/reliability.md`` records; before the
budgets, these attacks took the daemon to gigabytes and held its loop for seconds.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from bench.hostile import RSS_CEILING, Row, camera_attacks, client_attacks, ghost_attacks

#: a ping p99 the suite accepts on a busy 2-core machine (the benchmark's is 50 ms)
P99_BOUND = 0.25


def _check(rows: list[Row]) -> None:
    bad = [f"{r.attack}: {r.outcome}" for r in rows if not r.ok]
    assert not bad, "attacks not ended as they must be:\n" + "\n".join(bad)
    for r in rows:
        assert r.peak_rss <= RSS_CEILING, f"{r.attack}: peak RSS {r.peak_rss / 1e6:.0f} MB"
        assert r.pings > 0 and not math.isnan(r.ping_p99), f"{r.attack}: no ping measured"
        assert r.ping_p99 <= P99_BOUND, f"{r.attack}: ping p99 {r.ping_p99 * 1000:.0f} ms"


@pytest.mark.skipif(not os.access("/proc/self/clear_refs", os.W_OK), reason="peak RSS needs /proc/PID/clear_refs")
def test_a_hostile_camera_neither_blows_up_memory_nor_freezes_the_daemon(tmp_path: Path) -> None:
    rows = camera_attacks(tmp_path, quick=True)
    assert len(rows) == 12
    _check(rows)


@pytest.mark.skipif(not os.access("/proc/self/clear_refs", os.W_OK), reason="peak RSS needs /proc/PID/clear_refs")
def test_hostile_local_clients_neither_blow_up_memory_nor_freeze_the_daemon(tmp_path: Path) -> None:
    rows = client_attacks(tmp_path, quick=True)
    assert len(rows) == 9
    _check(rows)


@pytest.mark.skipif(not os.access("/proc/self/clear_refs", os.W_OK), reason="peak RSS needs /proc/PID/clear_refs")
def test_no_ghost_commands_under_a_capture_rush(tmp_path: Path) -> None:
    rows = ghost_attacks(tmp_path, quick=True)
    assert len(rows) == 1 and "ghosts 0" in rows[0].outcome
    _check(rows)
