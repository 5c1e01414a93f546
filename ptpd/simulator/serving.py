"""What every simulated camera's server does the same way around its sessions.

The generic server (:mod:`.server`) and the Fuji one (:mod:`.fuji.server`) frame their
traffic differently, but they ask the fault model (:mod:`.faults`) the same questions at
the same moments and carry out the answers the same way: wait the link's latency plus
whatever the plan adds before answering, and close every session when the camera falls
asleep. Those shared parts live here.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable

from ptpd.protocol.codes import OperationCode as OP
from ptpd.simulator.faults import Faults, Plan

log = logging.getLogger(__name__)

__all__ = ["DATA_IN_OPERATIONS", "AnswerTime", "plan_delay", "watch_sleep"]

#: Standard operations that answer with a data phase: the fault model is asked before the
#: answer exists, and a data phase is what some faults break (ISO 15740 §10.5).
DATA_IN_OPERATIONS = frozenset(
    {
        OP.GetDeviceInfo,
        OP.GetStorageIDs,
        OP.GetStorageInfo,
        OP.GetObjectHandles,
        OP.GetObjectInfo,
        OP.GetObject,
        OP.GetThumb,
        OP.GetDevicePropDesc,
        OP.GetDevicePropValue,
        OP.GetPartialObject,
    }
)


class AnswerTime:
    """The camera's time to answer a transaction before any fault: ``latency_ms``, plus,
    with ``jitter_ms``, an extra drawn uniformly from [0, ``jitter_ms``] for each
    transaction (a Wi-Fi link and a busy camera do not answer in a fixed time). The dice
    are its own and seeded, so a run's delays repeat and the fault dice are untouched."""

    def __init__(self, latency_ms: float = 0.0, jitter_ms: float = 0.0, seed: int | None = 0) -> None:
        if latency_ms < 0 or jitter_ms < 0:
            raise ValueError("latency and jitter are milliseconds >= 0")
        self.latency_ms = float(latency_ms)
        self.jitter_ms = float(jitter_ms)
        self._dice = random.Random(seed)

    def next_ms(self) -> float:
        """The answer time of the next transaction, ms."""
        if self.jitter_ms <= 0:
            return self.latency_ms
        return self.latency_ms + self._dice.uniform(0.0, self.jitter_ms)


def plan_delay(plan: Plan, latency_ms: float) -> float:
    """Seconds to wait before answering a transaction: the link's latency, then a slow or
    stalled answer if the plan says so."""
    return latency_ms / 1000 + plan.delay_s + plan.stall_s


async def watch_sleep(faults: Faults, has_session: Callable[[], bool], drop: Callable[[], None]) -> None:
    """Carry out the fault model's sleep: ``drop`` every session once the camera falls
    asleep while one is open (the model decides when; this only looks often enough)."""
    while True:
        deadline = faults.sleep_deadline()
        wait = 0.25 if deadline is None else max(0.05, min(0.25, deadline - time.monotonic()))
        await asyncio.sleep(wait)
        if has_session() and faults.asleep():
            log.info("camera falls asleep: closing its sessions")
            drop()
