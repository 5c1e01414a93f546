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
import time
from collections.abc import Callable

from ptpd.protocol.codes import OperationCode as OP
from ptpd.simulator.faults import Faults, Plan

log = logging.getLogger(__name__)

__all__ = ["DATA_IN_OPERATIONS", "plan_delay", "watch_sleep"]

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
