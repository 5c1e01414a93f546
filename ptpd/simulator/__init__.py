"""Simulated cameras speaking real PTP/IP on real sockets.

:func:`start_simulator` starts one inside the caller's asyncio loop (tests and benchmarks
use it directly); ``ptpd simulate`` runs one as a process (:mod:`.cli`).

* ``vendor="generic"``: a standard PTP/IP camera (:mod:`.generic`, :mod:`.server`), both
  channels on one port (default 15740).
* ``vendor="fuji"``: a Fujifilm Wi-Fi body (the :mod:`.fuji` package), ports ``port``,
  ``port+1`` (events), ``port+2`` (live view) (default 55740).
* ``vendor="canon"``: a Canon EOS body (the :mod:`.canon` package): standard PTP/IP on
  one port (default 15740) with EOS operations and events polled through GetEvent.

A vendor's simulator is one line of :data:`SIMULATORS` (the function that starts
its body, its default port). Both take a :class:`~ptpd.simulator.faults.Faults` (``faults=`` or the returned
simulator's ``.faults``) to inject Wi-Fi trouble at run time.

The daemon embeds one (``ptpd run --simulate``) through one narrow seam,
:func:`start_embedded` (:mod:`.embedded`): an :class:`EmbeddedCamera` with its host and
ports, ``control(action, options)`` for its faults (checked here, :mod:`.control`) and
``close()``.
"""

from __future__ import annotations

import importlib
from typing import Any

from ptpd.extras import require
from ptpd.simulator.control import ControlError
from ptpd.simulator.embedded import EmbeddedCamera, OptionError, start_embedded
from ptpd.simulator.faults import Faults, Malformed

#: vendor -> ("module:function" that starts its simulated body, default command port);
#: a new vendor's simulator is one line here
SIMULATORS: dict[str, tuple[str, int]] = {
    "generic": ("ptpd.simulator.server:start_generic_simulator", 15740),
    "fuji": ("ptpd.simulator.fuji:start_fuji_simulator", 55740),
    "canon": ("ptpd.simulator.canon:start_canon_simulator", 15740),
}
#: default command port per vendor
DEFAULT_PORTS = {vendor: port for vendor, (_, port) in SIMULATORS.items()}
VENDORS = tuple(SIMULATORS)


async def start_simulator(
    vendor: str = "generic",
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    model: str | None = None,
    latency_ms: float = 0.0,
    **options: Any,
) -> Any:
    """Start a simulated camera in the running loop and return it once it listens.

    The result has ``.host``, ``.port`` (command port), ``.event_port``, ``.faults`` and
    ``await .close()``; a Fuji one also ``.liveview_port``. ``port=0`` picks a free port.
    ``options`` go to the vendor's simulator (generic: ``faults``, ``initial_images``,
    ``big_object_mb``, ``allow_takeover``, camera config fields). Without Pillow and numpy
    it raises :class:`~ptpd.extras.MissingExtra`, which names the ``[sim]`` extra.
    """
    if vendor not in SIMULATORS:
        raise ValueError(f"unknown simulator vendor {vendor!r}; choose one of {', '.join(VENDORS)}")
    require("sim", "the simulated camera")
    module, _, function = SIMULATORS[vendor][0].partition(":")
    start = getattr(importlib.import_module(module), function)
    return await start(host, port, model=model, latency_ms=latency_ms, **options)


__all__ = [
    "DEFAULT_PORTS",
    "SIMULATORS",
    "VENDORS",
    "ControlError",
    "EmbeddedCamera",
    "Faults",
    "Malformed",
    "OptionError",
    "start_embedded",
    "start_simulator",
]
