"""The vendors the camera layer knows: name -> how to make its camera, its ports, a line
of description.

A vendor is a dialect folder (``ptpd/<vendor>/``: wire facts, sans-I/O), a camera class
(``ptpd/camera/<vendor>.py``, with a ``from_target`` class method) and a simulator
profile (``ptpd/simulator/``). It becomes known here by one line in :data:`VENDORS`;
nothing in the daemon names a vendor (docs/vendors.md).

This module imports no camera class: the daemon's command line lists the names, and
only the vendor asked for is imported, when its first camera is made.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ptpd.camera.base import Camera, CameraInfo


@dataclass(frozen=True, slots=True)
class Target:
    """Where a camera is and how we introduce ourselves: what a vendor's camera is made from."""

    host: str
    ports: tuple[int, int, int]  #: command, event, live view (one port repeated where shared)
    guid: bytes  #: our 16-byte initiator GUID (cameras pair by it)
    name: str = "ptpd"  #: our friendly name (the camera shows it when pairing)
    timeout: float = 10.0  #: seconds a transaction may take
    #: called with a message while the camera asks its user to accept us (Fuji)
    on_pairing: Callable[[str], None] | None = None


@dataclass(frozen=True, slots=True)
class Vendor:
    """One camera dialect as the daemon sees it."""

    name: str  #: ``--vendor`` value, ``CameraInfo.vendor``
    description: str
    camera: str  #: ``"module:Class"`` of its camera class (imported when first made)
    port: int  #: its default command port
    #: event and live-view ports as offsets from the command port; 0 = the same port
    #: (standard PTP/IP carries both channels on one)
    offsets: tuple[int, int] = (0, 0)
    #: the hook of ``--vendor auto``: true when a camera that answered a standard
    #: DeviceInfo is this vendor's, so its camera class takes the session over
    recognises: Callable[[CameraInfo], bool] | None = None

    def ports(
        self, command: int | None = None, event: int | None = None, liveview: int | None = None
    ) -> tuple[int, int, int]:
        """(command, event, live view) ports: each given one, else the vendor's default."""
        base = command or self.port
        return (base, event or base + self.offsets[0], liveview or base + self.offsets[1])

    def camera_class(self) -> type[Camera]:
        """The vendor's camera class (imported now, if it was not)."""
        module, _, attr = self.camera.partition(":")
        cls: type[Camera] = getattr(importlib.import_module(module), attr)
        return cls

    def make(self, target: Target) -> Camera:
        """A new, unconnected camera of this vendor at ``target``."""
        return self.camera_class().from_target(target)


def _canon(info: CameraInfo) -> bool:
    from ptpd.canon.detect import is_eos

    return is_eos(info.manufacturer, int(info.extra.get("vendor_extension_id", 0)), info.operations)


#: Every vendor, in ``--vendor`` order; a new vendor is one line here.
VENDORS: dict[str, Vendor] = {
    v.name: v
    for v in (
        Vendor(
            "generic",
            "any camera speaking standard PTP/IP (ISO 15740, CIPA DC-X005)",
            "ptpd.camera.generic:GenericCamera",
            15740,
        ),
        Vendor(
            "fuji",
            "Fujifilm X bodies over Wi-Fi (X-T1 and later; docs/cameras.md)",
            "ptpd.camera.fuji:FujiCamera",
            55740,
            (1, 2),
        ),
        Vendor(
            "canon", "Canon EOS bodies over Wi-Fi (PTP/IP)", "ptpd.camera.canon:CanonCamera", 15740, recognises=_canon
        ),
    )
}

#: ``--vendor auto``: not a dialect but the choice of one, from the DeviceInfo a standard
#: PTP/IP connection reads (:mod:`ptpd.camera.auto`); the default on port 15740.
AUTO = Vendor(
    "auto",
    "pick the dialect from the camera's DeviceInfo (the default on port 15740)",
    "ptpd.camera.auto:AutoCamera",
    15740,
)


def names() -> tuple[str, ...]:
    """Every vendor's name and ``auto`` (``--vendor`` choices)."""
    return (*VENDORS, AUTO.name)


def vendor(name: str) -> Vendor:
    """The vendor called ``name`` (or :data:`AUTO`); ValueError naming the choices when there is none."""
    if name == AUTO.name:
        return AUTO
    try:
        return VENDORS[name]
    except KeyError:
        raise ValueError(f"vendor {name!r}: choose one of {', '.join(names())}") from None


def recognising(info: CameraInfo) -> Vendor | None:
    """The first vendor whose ``recognises`` hook takes the camera ``info`` describes."""
    for v in VENDORS.values():
        if v.recognises is not None and v.recognises(info):
            return v
    return None


__all__ = ["AUTO", "VENDORS", "Target", "Vendor", "names", "recognising", "vendor"]
