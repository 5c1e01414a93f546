"""The one seam between the daemon and the simulated camera it embeds (``ptpd run --simulate``).

The daemon starts a simulated camera in its own loop with :func:`start_embedded`, reaches
it like any camera at :attr:`EmbeddedCamera.host` and :attr:`EmbeddedCamera.ports`,
drives its faults with :meth:`EmbeddedCamera.control` (checked by the simulator, plain data
back; :mod:`.control`), presses its shutter button with :meth:`EmbeddedCamera.press_shutter`
and stops it with :meth:`EmbeddedCamera.close`. Nothing else of the
simulator is the daemon's business, so the simulator may change behind this seam freely.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from ptpd.simulator.control import ControlError, control

log = logging.getLogger(__name__)

__all__ = ["MAX_PRESSES", "ControlError", "EmbeddedCamera", "start_embedded"]

#: most presses of the shutter button one request may ask for
MAX_PRESSES = 100


class EmbeddedCamera:
    """A running simulated camera as its host sees it; make one with :func:`start_embedded`."""

    def __init__(self, vendor: str, simulator: Any) -> None:
        self.vendor = vendor
        self._sim = simulator

    @property
    def host(self) -> str:
        """The address it listens on."""
        return str(self._sim.host)

    @property
    def ports(self) -> tuple[int, int, int]:
        """Command, event and live-view ports; a vendor without a separate channel repeats
        the command port (standard PTP/IP carries both channels on one port)."""
        sim = self._sim
        command = int(sim.port)
        return command, int(getattr(sim, "event_port", 0) or command), int(getattr(sim, "liveview_port", 0) or command)

    def control(self, action: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Drive the fault model (:func:`ptpd.simulator.control.control`): plain data back,
        :class:`ControlError` for a request the simulator does not take."""
        return control(self._sim.faults, action, options)

    async def press_shutter(self, count: int = 1) -> list[int]:
        """Press the shutter button on the body ``count`` times, as its photographer would:
        pictures no host asked for, announced to a connected host by ObjectAdded. The new
        objects' handles; :class:`ControlError` for a body that has no such control here."""
        press = getattr(self._sim, "press_shutter", None)
        if press is None:
            raise ControlError(f"the simulated {self.vendor} body has no shutter button to press")
        if not 1 <= count <= MAX_PRESSES:
            raise ControlError(f"count must be 1-{MAX_PRESSES}, not {count}")
        return [int(h) for h in await press(count)]

    async def close(self) -> None:
        """Stop listening and close every connection."""
        await self._sim.close()


class OptionError(ValueError):
    """A ``[simulate]`` option the simulated camera does not take."""


async def start_embedded(
    vendor: str,
    *,
    model: str | None = None,
    latency_ms: float = 0.0,
    options: Mapping[str, Any] | None = None,
    host: str = "127.0.0.1",
) -> EmbeddedCamera:
    """Start a simulated ``vendor`` camera on free loopback ports in the running loop.

    ``options`` go to the vendor's simulator as they are (they may come from a config file
    as text; each simulator reads them as the types it needs and refuses unknown ones).
    """
    from ptpd.simulator import start_simulator

    opts = dict(options or {})
    if model:
        opts["model"] = model
    try:
        sim = await start_simulator(vendor, host, 0, latency_ms=latency_ms, **opts)
    except TypeError as exc:  # an option its start or its config does not take
        m = re.search(r"argument '(\w+)'", str(exc))
        name = m.group(1) if m else None
        if name is None or name not in opts:
            raise
        raise OptionError(
            f"[simulate] {name} = {opts[name]!r}: the simulated {vendor} camera takes no such option"
        ) from None
    camera = EmbeddedCamera(vendor, sim)
    log.info("simulated %s camera on %s, ports %s", vendor, camera.host, camera.ports)
    return camera
