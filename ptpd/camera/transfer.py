"""Object transfers that survive a dropped link, and checks that what arrived is whole.

* A :class:`Transfer` is one object on its way from the camera: its handle, its size
  (from ObjectInfo, when the camera said), the first byte asked for, and the bytes
  received so far. It belongs to no camera object: after a reconnect a *new*
  :class:`~ptpd.camera.base.Camera` continues it from :attr:`Transfer.position`
  (:meth:`Camera.resume <ptpd.camera.base.Camera.resume>`).
* :func:`fetch` reads the rest of a transfer: in partial reads of :data:`CHUNK` bytes
  where the caller wants steps, the camera offers them and the size is known, so that the
  bytes already received survive a dropped link; otherwise with one
  :meth:`Camera.download <ptpd.camera.base.Camera.download>`, whose own buffer becomes the
  result (no copy). A link error is raised as :class:`TransferInterrupted`, carrying the
  transfer.
* A :class:`Download` is what a finished transfer hands over; :func:`verify` checks that
  bytes are the whole object: the size ObjectInfo gave, and a JPEG's end marker.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ptpd.camera.errors import LINK_ERRORS, IncompleteTransfer, TransferInterrupted
from ptpd.protocol.codes import ObjectFormat

if TYPE_CHECKING:
    from ptpd.camera.base import Camera, ObjectEntry, Progress

log = logging.getLogger(__name__)

#: Bytes per partial read: what a dropped link can cost at most. Small enough that a
#: typical JPEG resumes partway, large enough that a RAW is a few hundred steps.
CHUNK = 256 * 1024
#: ObjectInfo's size for an object of 4 GiB or more: the size is not known.
SIZE_UNKNOWN = 0xFFFFFFFF


@dataclass
class Transfer:
    """One object on its way from the camera; ``start`` is the first byte asked for."""

    handle: int
    size: int | None = None  #: ObjectInfo's size, None when the camera did not say
    start: int = 0
    filename: str = ""  #: the camera's name for it ("" when it did not say)
    format: int = 0  #: ObjectFormat code (0 when unknown)
    data: bytearray = field(default_factory=bytearray)  #: bytes received in steps so far
    resumes: int = 0  #: how many times it was taken up again after a dropped link

    def __post_init__(self) -> None:
        if self.size == SIZE_UNKNOWN:
            self.size = None

    @classmethod
    def of(cls, entry: ObjectEntry, start: int = 0) -> Transfer:
        """The transfer of the object ``entry`` describes, from byte ``start``."""
        return cls(entry.handle, size=entry.size, start=start, filename=entry.filename, format=entry.format)

    @property
    def received(self) -> int:
        return len(self.data)

    @property
    def position(self) -> int:
        """The next byte to ask for."""
        return self.start + len(self.data)

    @property
    def so_far(self) -> str:
        """``"N of M bytes received"`` (``M`` when the size is known), for error messages."""
        size = f" of {self.size}" if self.size is not None else ""
        return f"{self.position}{size} bytes received"

    @property
    def complete(self) -> bool:
        return self.size is not None and self.position >= self.size

    def finish(self, data: bytes | bytearray | memoryview) -> Download:
        """What this transfer hands over once ``data`` (from :attr:`start` on) arrived."""
        return Download(self.handle, data, self.filename, self.format, self.size, self.start, self.resumes)


@dataclass(frozen=True, slots=True)
class Download:
    """An object's bytes as they arrived, with what the camera said about the object."""

    handle: int | None  #: None for a preview the camera offered instead of an object
    data: bytes | bytearray | memoryview  #: from ``offset`` on; the camera layer's own buffer
    filename: str = ""  #: the camera's name for it ("" when it did not say)
    format: int = 0  #: ObjectFormat code (0 when unknown)
    size: int | None = None  #: the whole object's size from ObjectInfo, None when unknown
    offset: int = 0  #: the first byte of ``data`` within the object
    resumes: int = 0  #: how many times the transfer was taken up again after a dropped link



def verify(data: bytes | bytearray | memoryview, size: int | None, fmt: int, filename: str = "") -> None:
    """:class:`IncompleteTransfer` unless ``data`` is the whole object: the size ObjectInfo
    gave, and a JPEG (by format or name) ends with its EOI marker (FF D9; trailing zero
    padding allowed). RAF and others: the size only."""
    n = len(data)
    if size is not None and size != SIZE_UNKNOWN and n != size:
        raise IncompleteTransfer(f"got {n} of {size} bytes")
    if n == 0:
        raise IncompleteTransfer("got no bytes")
    if fmt == ObjectFormat.EXIF_JPEG or filename.lower().endswith((".jpg", ".jpeg")):
        tail = bytes(memoryview(data)[-4096:]).rstrip(b"\x00")
        if not tail.endswith(b"\xff\xd9"):
            raise IncompleteTransfer(f"JPEG of {n} bytes has no end marker (FF D9)")


async def fetch(cam: Camera, t: Transfer, progress: Progress | None = None, *, steps: bool = True) -> Download:
    """The rest of ``t`` (from :attr:`Transfer.position`) from ``cam``.

    ``steps``: read in partial reads of :data:`CHUNK` where the camera offers them and the
    size is known (what a resume needs); False: one download, the camera's own buffer as
    the result. Raises :class:`TransferInterrupted` on a link error (the bytes so far stay
    in ``t``), :class:`IncompleteTransfer` for bytes received that this camera cannot
    continue.
    """
    try:
        stepwise = steps and t.size is not None and await cam.partial_reads()
        if not stepwise:
            if t.received:
                raise IncompleteTransfer(f"camera cannot resume handle 0x{t.handle:08X} (no partial reads)")
            data = await cam.download(t.handle, progress, t.position, size=t.size)
            if t.size is None:
                t.size = t.start + len(data)
            return t.finish(data)
        assert t.size is not None
        total = t.size - t.start
        while t.position < t.size:
            chunk = await cam.read_partial(t.handle, t.position, min(CHUNK, t.size - t.position))
            if not chunk:
                break  # the camera has no more than this; verify() tells
            if not t.data and len(chunk) >= total:
                return t.finish(chunk[:total] if len(chunk) > total else chunk)  # all at once
            t.data += chunk[: t.size - t.position]
            if progress is not None:
                progress(t.received, total)
        return t.finish(t.data)
    except LINK_ERRORS as exc:
        raise TransferInterrupted(t, exc) from exc


__all__ = ["CHUNK", "SIZE_UNKNOWN", "Download", "Transfer", "fetch", "verify"]
