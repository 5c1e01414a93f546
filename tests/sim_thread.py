"""Simulated cameras served from a thread of the test process, for tests that drive them
from outside the loop: a daemon run as a process, gphoto2. The test keeps a hand on the
body (its counters, its answers) while the client is a real separate program."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from conftest import free_port
from ptpd.simulator import start_simulator


class SimThread:
    """One event loop in a daemon thread serving any number of simulated bodies."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="sim-thread", daemon=True)
        self.thread.start()
        self.sims: list[Any] = []

    def start(self, vendor: str = "fuji", **options: Any) -> Any:
        """A new body on free loopback ports (three for Fuji); its simulator object."""
        sim = asyncio.run_coroutine_threadsafe(
            start_simulator(vendor, "127.0.0.1", free_port(3), **options), self.loop
        ).result(60)
        self.sims.append(sim)
        return sim

    def close(self) -> None:
        for sim in self.sims:
            asyncio.run_coroutine_threadsafe(sim.close(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
