"""Object transfers that survive a dropped link, and checks that what arrived is whole.

* A :class:`Transfer` is one object on its way from the camera: its handle, its size
  (from ObjectInfo, when the camera said), the first byte asked for, and the bytes
  received so far. It belongs to no camera object: after a reconnect a *new*
  :class:`~ptpd.camera.base.Camera` continues it from :attr:`Transfer.position`
  (:meth:`Camera.resume <ptpd.camera.base.Camera.resume>`).
* :func:`fetch` reads the rest of a transfer in one
  :meth:`Camera.download <ptpd.camera.base.Camera.download>` (one GetObject from the
  start, one GetPartialObject for the rest from an offset: the link carries the object
  at its own rate, with no wait for the camera between steps), whose own buffer becomes
  the result (no copy); a camera that caps its partial reads
  (:attr:`Camera.read_step <ptpd.camera.base.Camera.read_step>`) is read in steps of
  that size. A link error is raised as :class:`TransferInterrupted`, carrying the
  transfer, which keeps every byte that arrived, also of the read the link cut short
  (the protocol layer hands them up in the error's ``partial``): a resume continues
  from there with GetPartialObject.
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
    data: bytearray = field(default_factory=bytearray)  #: bytes received so far (kept across a drop)
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


async def fetch(cam: Camera, t: Transfer, progress: Progress | None = None) -> Download:
    """The rest of ``t`` (from :attr:`Transfer.position`) from ``cam``.

    One download of the rest, or steps of the camera's
    :attr:`~ptpd.camera.base.Camera.read_step` where it has one. Raises :class:`TransferInterrupted` on a link error,
    with every byte that arrived kept in ``t`` (where the camera can continue from them:
    it has partial reads and the size is known), and :class:`IncompleteTransfer` for bytes
    received that this camera cannot continue.
    """
    resumable = False
    try:
        resumable = t.size is not None and await cam.partial_reads()
        if t.received and not resumable:
            raise IncompleteTransfer(f"camera cannot resume handle 0x{t.handle:08X} (no partial reads)")
        step = cam.read_step
        if resumable and step:
            return await _in_steps(cam, t, step, progress)
        before = t.received
        relay = None
        if progress is not None:

            def relay(received: int, total: int) -> None:
                progress(before + received, before + total)

        data = await cam.download(t.handle, relay, t.position, size=t.size)
        if not t.data:
            if t.size is None:
                t.size = t.start + len(data)
            return t.finish(data)
        t.data += data
        return t.finish(t.data)
    except LINK_ERRORS as exc:
        if resumable:
            _keep(t, getattr(exc, "partial", b""))
        raise TransferInterrupted(t, exc) from exc


async def _in_steps(cam: Camera, t: Transfer, step: int, progress: Progress | None) -> Download:
    """The rest of ``t`` in partial reads of at most ``step`` bytes (a camera that caps them)."""
    assert t.size is not None
    total = t.size - t.start
    while t.position < t.size:
        chunk = await cam.read_partial(t.handle, t.position, min(step, t.size - t.position))
        if not chunk:
            break  # the camera has no more than this; verify() tells
        if not t.data and len(chunk) >= total:  # all at once (an object within one step)
            if progress is not None:
                progress(total, total)
            return t.finish(chunk[:total] if len(chunk) > total else chunk)
        t.data += memoryview(chunk)[: t.size - t.position]
        if progress is not None:
            progress(t.received, total)
    return t.finish(t.data)


def _keep(t: Transfer, partial: bytes | bytearray | memoryview) -> None:
    """The bytes of a read the link cut short, from :attr:`Transfer.position` on: kept (never
    past the object's size), so the resume asks only for what is missing."""
    if partial and t.size is not None:
        n = min(len(partial), t.size - t.position)
        if n > 0:
            t.data += memoryview(partial)[:n]
            log.info("handle 0x%08X: kept %d bytes of the read the link cut short (%s)", t.handle, n, t.so_far)


__all__ = ["SIZE_UNKNOWN", "Download", "Transfer", "fetch", "verify"]
