"""``--vendor auto``: the camera that finds out which vendor's camera it is.

It connects as a standard PTP/IP camera (the transport every dialect on port 15740
shares), reads DeviceInfo, and asks each registered vendor whether the camera is its
own (:attr:`Vendor.recognises <ptpd.camera.vendors.Vendor.recognises>`; an EOS body says
Canon in its Manufacturer or VendorExtensionID, :mod:`ptpd.canon.detect`). The first
vendor that recognises it takes over the open session (:meth:`GenericCamera.adopt
<ptpd.camera.generic.GenericCamera.adopt>`: no second connection, no second pairing
prompt); none does, and it stays a standard camera. Every call then goes to that camera.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING

from ptpd.camera.base import (
    Camera,
    CameraEvent,
    CameraInfo,
    LiveViewFrame,
    ObjectEntry,
    Progress,
    PropertyDesc,
    PropertyValue,
    RawResult,
    ReleaseGate,
    Shot,
    Storage,
)
from ptpd.camera.errors import CameraDisconnected
from ptpd.camera.generic import GenericCamera
from ptpd.camera.transfer import Download, Transfer

if TYPE_CHECKING:
    from ptpd.camera.vendors import Target

log = logging.getLogger(__name__)


class AutoCamera(Camera):
    """A camera on standard PTP/IP whose dialect is chosen from its DeviceInfo."""

    vendor = "auto"

    def __init__(self, target: Target) -> None:
        self.target = target
        self._cam: Camera | None = None

    @classmethod
    def from_target(cls, target: Target) -> AutoCamera:
        return cls(target)

    @property
    def camera(self) -> Camera:
        """The camera chosen at connect."""
        if self._cam is None:
            raise CameraDisconnected("not connected")
        return self._cam

    async def connect(self) -> None:
        from ptpd.camera.vendors import recognising  # the registry imports this module's name only

        generic = GenericCamera.from_target(self.target)
        await generic.connect()
        try:
            info = await generic.info()
            chosen = recognising(info)
            if chosen is None:
                log.info("%s %s: no vendor dialect recognises it, a standard PTP camera", info.manufacturer, info.model)
                self._cam = generic
                return
            cam = chosen.make(self.target)
            if not isinstance(cam, GenericCamera):
                raise TypeError(f"{chosen.name}'s camera cannot take over a standard PTP/IP session")
            log.info("%s %s speaks the %s dialect", info.manufacturer, info.model, chosen.name)
            await cam.adopt(generic)
            self._cam = cam
        except BaseException:
            await generic.close()
            raise

    async def close(self) -> None:
        if self._cam is not None:
            await self._cam.close()

    @property
    def connected(self) -> bool:
        return self._cam is not None and self._cam.connected

    async def info(self) -> CameraInfo:
        return await self.camera.info()

    async def property_names(self) -> list[str]:
        return await self.camera.property_names()

    async def describe(self, prop: str | int) -> PropertyDesc:
        return await self.camera.describe(prop)

    async def get(self, prop: str | int) -> PropertyValue:
        return await self.camera.get(prop)

    async def set(self, prop: str | int, value: str | int) -> PropertyValue:
        return await self.camera.set(prop, value)

    async def state(self) -> list[PropertyValue]:
        return await self.camera.state()

    async def capture(self, gate: ReleaseGate | None = None) -> Shot:
        return await self.camera.capture(gate) if gate is not None else await self.camera.capture()

    async def storage(self) -> Storage:
        return await self.camera.storage()

    @property
    def focus_drive_settings(self) -> tuple[str, ...]:
        return self.camera.focus_drive_settings

    async def supports_focus_drive(self) -> bool:
        return await self.camera.supports_focus_drive()

    async def focus_step(self, steps: int) -> bool:
        return await self.camera.focus_step(steps)

    async def objects(self) -> list[ObjectEntry]:
        return await self.camera.objects()

    async def object_info(self, handle: int) -> ObjectEntry:
        return await self.camera.object_info(handle)

    async def transfer(self, handle: int, offset: int = 0) -> Transfer:
        return await self.camera.transfer(handle, offset)

    async def partial_reads(self) -> bool:
        return await self.camera.partial_reads()

    async def read_partial(self, handle: int, offset: int, size: int) -> bytes | bytearray:
        return await self.camera.read_partial(handle, offset, size)

    @property
    def read_step(self) -> int | None:  # type: ignore[override]  # the camera's own, read through
        return self.camera.read_step if self._cam is not None else None

    async def fetch(self, t: Transfer, progress: Progress | None = None) -> Download:
        return await self.camera.fetch(t, progress)

    async def resume(self, t: Transfer, progress: Progress | None = None) -> Download:
        return await self.camera.resume(t, progress)

    async def download(
        self, handle: int, progress: Progress | None = None, offset: int = 0, size: int | None = None
    ) -> bytes | bytearray:
        return await self.camera.download(handle, progress, offset, size)

    async def delete(self, handle: int) -> None:
        await self.camera.delete(handle)

    async def raw(self, code: int, params: tuple[int, ...] = (), data: bytes | None = None) -> RawResult:
        return await self.camera.raw(code, params, data)

    def events(self) -> AsyncGenerator[CameraEvent, None]:
        return self.camera.events()

    async def keepalive(self) -> None:
        await self.camera.keepalive()

    def liveview(self) -> AsyncGenerator[LiveViewFrame, None]:
        return self.camera.liveview()

    async def liveview_to(self, sink: Callable[[LiveViewFrame], None]) -> None:
        await self.camera.liveview_to(sink)


__all__ = ["AutoCamera"]
