"""Writing files the safe way: never overwrite unless asked, always atomically."""

from __future__ import annotations

import os
import re
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str, fallback: str) -> str:
    """A camera-supplied file name reduced to one harmless path component."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].replace("\0", "")
    base = _UNSAFE.sub("_", base).lstrip(".")
    return base[:128] or fallback


def numbered(path: Path, count: int, ext_hint: str = ".jpg") -> list[Path]:
    """Target paths for ``count`` shots: ``path`` itself for one, ``name-1.jpg``,
    ``name-2.jpg``, ... for more; a missing extension takes ``ext_hint``."""
    if not path.suffix:
        path = path.with_name(path.name + ext_hint)
    if count == 1:
        return [path]
    return [path.with_name(f"{path.stem}-{i}{path.suffix}") for i in range(1, count + 1)]


def free_name(directory: Path, filename: str) -> Path:
    """``directory/filename``, or ``stem-1.ext``, ``stem-2.ext``... if taken."""
    target = directory / filename
    stem, suffix = target.stem, target.suffix
    n = 1
    while target.exists():
        target = directory / f"{stem}-{n}{suffix}"
        n += 1
    return target


class FileExists(Exception):
    """The target exists and overwriting was not allowed."""


class Incomplete(Exception):
    """What was written is not the whole image (wrong size, or a JPEG without its end
    marker); the temp file was removed and nothing was written under the final name,
    ``path`` (when known)."""

    def __init__(self, reason: str, path: Path | None = None) -> None:
        super().__init__(reason)
        self.path = path


#: how far from the end a JPEG's FFD9 may sit behind zero padding (cameras pad to blocks)
_TAIL = 64 * 1024


def _verify(fd: int, expected_size: int | None, jpeg: bool) -> None:
    """Check the written temp file itself (not the buffer we meant to write)."""
    size = os.fstat(fd).st_size
    if expected_size and size != expected_size:
        raise Incomplete(f"{size} bytes where the camera reported {expected_size}")
    if jpeg:
        tail = os.pread(fd, min(size, _TAIL), max(0, size - _TAIL)).rstrip(b"\0")
        if not tail.endswith(b"\xff\xd9"):
            raise Incomplete("the JPEG has no end marker (FFD9): truncated")


def is_jpeg_name(name: str) -> bool:
    return name.lower().endswith((".jpg", ".jpeg"))


def write_atomic(
    path: Path,
    data: bytes | bytearray | memoryview,
    *,
    overwrite: bool = False,
    expected_size: int | None = None,
    jpeg: bool | None = None,
) -> Path:
    """Write ``data`` to ``path`` through a temp file in the same directory and a rename,
    so a reader never sees half a file. Without ``overwrite`` an existing file (even one
    that appears meanwhile) is never replaced: :class:`FileExists`.

    Before the rename the temp file is verified: its size against ``expected_size`` (the
    size the daemon reported; 0 or ``None``: not checked) and, for a JPEG (``jpeg``, or by
    default when the data starts with FFD8), the FFD9 end marker, trailing zero padding
    allowed. A mismatch removes the temp file and raises :class:`Incomplete`.

    ``data`` may be any buffer (the client hands out a view of the received message): it
    goes to the file descriptor as it is, with no copy in between.
    """
    import tempfile  # here: every console client loads this module, few of them write

    path.parent.mkdir(parents=True, exist_ok=True)
    if not overwrite and path.exists():
        raise FileExists(str(path))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        try:
            _write_all(fd, data)
            if jpeg is None:
                jpeg = bytes(memoryview(data).cast("B")[:2]) == b"\xff\xd8"
            try:
                _verify(fd, expected_size, jpeg)
            except Incomplete as exc:
                raise Incomplete(str(exc), path) from None
            os.fsync(fd)
            os.fchmod(fd, 0o644)
        finally:
            os.close(fd)
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # atomic and refuses an existing name
            except FileExistsError:
                raise FileExists(str(path)) from None
            os.unlink(tmp)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """``os.write`` until every byte is out (a write may take less than it was given)."""
    view = memoryview(data).cast("B")
    while view:
        n = os.write(fd, view)
        view = view[n:]
