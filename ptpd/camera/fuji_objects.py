"""What a Fuji body offers among the standard operations, and its objects (list, info,
download, delete), for :class:`ptpd.camera.fuji.FujiCamera`.

A body says what it offers in its DeviceInfo where it sends one; the X-T4 sends an empty
one over Wi-Fi (libgphoto2 ``fujiptpip.c``), so an operation is then known only by trying
it: OperationNotSupported is remembered, and what the body lacks is :class:`Unsupported`
at once from then on. The app never lists handles over Wi-Fi (libfuji); bodies that do
answer GetObjectHandles are listed with it. A download goes in GetPartialObject steps
(libfuji asks at most 1 MiB each), with GetObject where the body has no partial reads.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ptpd.camera.base import ObjectEntry, Progress
from ptpd.camera.errors import DatasetError, ProtocolError, ResponseError, Unsupported
from ptpd.fuji.codes import FujiOperationCode
from ptpd.protocol.codes import OperationCode, ResponseCode
from ptpd.protocol.datasets import DeviceInfo, decode_uint32_array

if TYPE_CHECKING:
    from ptpd.fuji.link import FujiLink

log = logging.getLogger(__name__)

#: Bytes asked per GetPartialObject (libfuji reads at most 1 MiB per request).
DOWNLOAD_CHUNK = 1 << 20
#: ObjectInfo's fixed fields, StorageID to SequenceNumber (ISO 15740 §5.5.2), before its strings
OBJECT_INFO_FIXED = 52
#: Responses that mean "this body does not do that" (not "not now").
_UNSUPPORTED_CODES = (ResponseCode.OperationNotSupported,)


class FujiObjects:
    """The operations part of the Fuji camera: what the body offers, and its objects."""

    link: FujiLink
    _device_info: DeviceInfo | None
    _refused: set[int]  #: operations the body answered OperationNotSupported

    async def _device_info_offered(self) -> DeviceInfo | None:  # pragma: no cover - the camera's
        raise NotImplementedError

    def offers(self, operation: int) -> bool | None:
        """Whether the body offers ``operation``: from its DeviceInfo, or False once it
        refused it; None when it has not said (an empty DeviceInfo)."""
        if operation in self._refused:
            return False
        di = self._device_info
        if di is not None and di.operations_supported:
            return operation in di.operations_supported
        return None

    async def _op(self, code: int, params: tuple[int, ...] = ()) -> bytes:
        """One operation with data in; :class:`Unsupported` at once for what the body said
        it does not offer, and for OperationNotSupported (remembered)."""
        if self.offers(code) is False:
            raise Unsupported(f"camera does not offer {_op_name(code)}")
        try:
            _, data = await self.link.transact(code, params)
        except ResponseError as exc:
            if exc.code in _UNSUPPORTED_CODES:
                self._refused.add(code)
                raise Unsupported(f"camera does not offer {_op_name(code)}") from exc
            raise
        return data or b""

    async def object_handles(self) -> set[int] | None:
        """Every object handle on the card; ``None`` when the body offers no listing (the
        X-T1 in remote mode: it is then not asked again)."""
        if self.offers(OperationCode.GetObjectHandles) is False:
            return None
        try:
            data = await self._op(OperationCode.GetObjectHandles, (0xFFFFFFFF, 0, 0))
        except Unsupported:
            log.info("camera lists no objects: captures report a handle only where it names one")
            return None
        except ResponseError as exc:
            log.warning("capture cannot list objects, no handle from a listing for this shot: %s", exc)
            return None
        try:
            return set(decode_uint32_array(data))
        except ProtocolError as exc:
            log.warning("camera's object list cannot be read: %s", exc)
            return None

    async def new_object(self, before: set[int]) -> ObjectEntry | None:
        """The file that appeared since ``before``: the highest new handle that is not a
        folder (a new folder may come with the first picture of a directory)."""
        after = await self.object_handles()
        if after is None:
            return None
        for handle in sorted(after - before, reverse=True):
            try:
                entry = await self.object_info(handle)
            except (ResponseError, Unsupported) as exc:
                log.warning("capture: no info for new object 0x%08X: %s", handle, exc)
                continue
            if not entry.is_folder:
                return entry
        log.warning("capture: no new object appeared on the card")
        return None

    async def object_info(self, handle: int) -> ObjectEntry:
        """One GetObjectInfo. A dataset that ends before its last strings (an emulator of
        real bodies leaves out the keywords) reads them as empty; one that ends inside its
        52 bytes of fixed fields (the size among them) cannot be read: :class:`Unsupported`
        for this handle, and the session goes on."""
        data = await self._op(OperationCode.GetObjectInfo, (handle,))
        if len(data) < OBJECT_INFO_FIXED:
            raise Unsupported(
                f"camera's ObjectInfo of handle 0x{handle:08X} cannot be read: {len(data)} bytes, "
                f"short of its {OBJECT_INFO_FIXED} bytes of fixed fields"
            )
        try:
            return ObjectEntry.decode(handle, data)
        except DatasetError as exc:
            raise Unsupported(f"camera's {exc}") from exc

    async def objects(self) -> list[ObjectEntry]:
        data = await self._op(OperationCode.GetObjectHandles, (0xFFFFFFFF, 0, 0))
        handles = _readable_handles(data)
        out = []
        for h in handles:
            try:
                out.append(await self.object_info(h))
            except Unsupported as exc:
                log.warning("listing skips handle 0x%08X: %s", h, exc)
        return out

    async def partial_reads(self) -> bool:
        await self._device_info_offered()
        return self.offers(OperationCode.GetPartialObject) is not False

    async def read_partial(self, handle: int, offset: int, size: int) -> bytes | bytearray:
        """One GetPartialObject; a body that refuses it gives the object by GetObject."""
        try:
            return await self._op(OperationCode.GetPartialObject, (handle, offset, size))
        except Unsupported:
            return (await self._op(OperationCode.GetObject, (handle,)))[offset:]

    async def download(
        self, handle: int, progress: Progress | None = None, offset: int = 0, size: int | None = None
    ) -> bytes:
        """The object's bytes from ``offset``, in GetPartialObject steps (GetObject where the
        body has no partial reads), joined once. The steps need the size: ``size``, or one
        GetObjectInfo."""
        if self.offers(OperationCode.GetPartialObject) is not False:
            if size is None:  # an unknown size (0xFFFFFFFF) came from ObjectInfo: asking again cannot help
                size = (await self.object_info(handle)).size
            parts: list[bytes] = []
            pos = offset
            try:
                while pos < size:
                    chunk = await self._op(
                        OperationCode.GetPartialObject, (handle, pos, min(DOWNLOAD_CHUNK, size - pos))
                    )
                    if not chunk:
                        break
                    parts.append(chunk)
                    pos += len(chunk)
                    if progress is not None:
                        progress(pos - offset, size - offset)
                return b"".join(parts)
            except Unsupported:
                pass
        whole = await self._op(OperationCode.GetObject, (handle,))
        if progress is not None:
            progress(len(whole) - offset, len(whole) - offset)
        return whole[offset:]

    async def delete(self, handle: int) -> None:
        await self._op(OperationCode.DeleteObject, (handle, 0))


def _op_name(code: int) -> str:
    for enum in (OperationCode, FujiOperationCode):
        try:
            return f"{enum(code).name} (0x{code:04X})"
        except ValueError:
            continue
    return f"operation 0x{code:04X}"


def _readable_handles(data: bytes) -> list[int]:
    try:
        return list(decode_uint32_array(data))
    except ProtocolError as exc:
        raise Unsupported(f"camera's object list cannot be read: {exc}") from exc


__all__ = ["DOWNLOAD_CHUNK", "FujiObjects"]
