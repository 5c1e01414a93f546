"""Object transfers that survive a dropped link, and files that are complete or absent.

* :func:`fetch` reads an object into the daemon's own buffer, in GetPartialObject steps
  (:data:`CHUNK` bytes each) where the camera lists GetPartialObject and the object's
  size is known, so the bytes already received survive a dropped link; otherwise with one
  ``Camera.download``. A link error is raised as :class:`TransferInterrupted`, carrying
  the :class:`Transfer` (handle, bytes received) for a resume after the reconnect.
* :func:`verify` checks what arrived: the size against ObjectInfo, the JPEG end marker.
* :func:`write_verified` writes to a temp name, verifies, fsyncs and links the final
  name (never overwriting); on any failure the temp file is removed.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ptpd.camera.base import Camera, Progress
from ptpd.protocol.codes import ObjectFormat, OperationCode, ResponseCode
from ptpd.protocol.errors import PTPError, ResponseError

#: Bytes per GetPartialObject step: what a dropped link can cost at most. Small enough
#: that a typical JPEG resumes partway, large enough that a RAW is a few hundred steps.
CHUNK = 256 * 1024
SIZE_UNKNOWN = 0xFFFFFFFF


class TransferInterrupted(PTPError):
    """The link dropped during a transfer; ``transfer`` holds what arrived."""

    def __init__(self, transfer: Transfer, cause: BaseException) -> None:
        self.transfer = transfer
        self.cause = cause
        super().__init__(f"transfer of handle 0x{transfer.handle:08X} interrupted after {transfer.received} bytes: {cause}")


class IncompleteTransfer(PTPError):
    """What arrived is not the whole object (size or end marker wrong)."""


@dataclass
class Transfer:
    """One object on its way from the camera: ``start`` is the first byte asked for."""

    handle: int
    size: int | None = None  #: ObjectInfo's size, None when the camera did not say
    start: int = 0
    filename: str = ""
    format: int = 0
    data: bytearray = field(default_factory=bytearray)
    resumes: int = 0

    @property
    def received(self) -> int:
        return len(self.data)

    @property
    def position(self) -> int:
        return self.start + len(self.data)

    @property
    def so_far(self) -> str:
        """``"N of M bytes received"`` (``M`` when the size is known), for error messages."""
        size = f" of {self.size}" if self.size is not None else ""
        return f"{self.position}{size} bytes received"

    @property
    def complete(self) -> bool:
        return self.size is not None and self.position >= self.size


async def fetch(cam: Camera, t: Transfer, partial: bool, progress: Progress | None = None) -> bytes | bytearray:
    """The rest of ``t`` (from ``t.position``). ``partial``: the camera lists GetPartialObject.

    Raises :class:`TransferInterrupted` on a link error (the bytes so far stay in ``t``).
    """
    from ptpd.daemon.link import LINK_ERRORS

    try:
        if not (partial and t.size is not None and t.size != SIZE_UNKNOWN):
            if t.received and not partial:
                raise IncompleteTransfer(f"camera cannot resume handle 0x{t.handle:08X} (no GetPartialObject)")
            # one Camera.download: its own buffer is the result (no copy)
            data = await cam.download(t.handle, progress, t.position, size=t.size)
            if not t.data:
                if t.size is None:
                    t.size = t.start + len(data)
                return data
            t.data += data
            return t.data
        total = t.size - t.start
        while t.position < t.size:
            want = min(CHUNK, t.size - t.position)
            res = await cam.raw(OperationCode.GetPartialObject, (t.handle, t.position, want))
            if res.code != ResponseCode.OK:
                raise ResponseError(res.code, params=res.params)
            if not res.data:
                break  # the camera has no more than this; verify() tells
            if not t.data and len(res.data) >= total:
                return res.data[:total] if len(res.data) > total else res.data  # all at once
            t.data += res.data[: t.size - t.position]
            if progress is not None:
                progress(t.received, total)
        return t.data
    except LINK_ERRORS as exc:
        raise TransferInterrupted(t, exc) from exc


def verify(data: bytes | bytearray | memoryview, size: int | None, fmt: int, filename: str = "") -> None:
    """:class:`IncompleteTransfer` unless ``data`` is the whole object: the size ObjectInfo
    gave, and a JPEG ends with its EOI marker (FF D9; trailing zero padding allowed).
    RAF and others: the size only."""
    n = len(data)
    if size is not None and size != SIZE_UNKNOWN and n != size:
        raise IncompleteTransfer(f"got {n} of {size} bytes")
    if n == 0:
        raise IncompleteTransfer("got no bytes")
    if fmt == ObjectFormat.EXIF_JPEG or filename.lower().endswith((".jpg", ".jpeg")):
        tail = bytes(memoryview(data)[-4096:]).rstrip(b"\x00")
        if not tail.endswith(b"\xff\xd9"):
            raise IncompleteTransfer(f"JPEG of {n} bytes has no end marker (FF D9)")


def write_verified(directory: str, filename: str, data: bytes | bytearray | memoryview, size: int | None = None, fmt: int = 0) -> str:
    """Write to a temp name in ``directory``, verify, fsync, and link the final name (never
    overwriting: ``name-1.ext`` when taken). On any failure the temp file is removed and
    nothing appears under a final name."""
    verify(data, size, fmt, filename)
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".ptpd-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if os.path.getsize(tmp) != len(data):
            raise IncompleteTransfer(f"wrote {os.path.getsize(tmp)} of {len(data)} bytes")
        n = 0
        while True:
            target = d / filename if n == 0 else d / (f"{stem}-{n}.{ext}" if ext else f"{stem}-{n}")
            try:
                os.link(tmp, target)  # fails instead of overwriting if the name exists
                break
            except FileExistsError:
                n += 1
        _fsync_dir(d)
    finally:
        os.unlink(tmp)
    return str(target)


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
