"""Files on the daemon's side (``dir``): whole or absent, never overwritten, under a safe name.

* :func:`safe_filename` reduces a camera-supplied name to one harmless path component.
* :func:`check_dir` refuses a directory the daemon cannot write before the camera does
  any work whose result would have nowhere to go.
* :func:`write_verified` checks the bytes are the whole object (the camera layer's
  :func:`~ptpd.camera.verify`), writes them to a temp name, fsyncs and links the final
  name (never overwriting); on any failure the temp file is removed.
  :func:`write_into` runs it off the event loop and turns a write error into a bus error.
  The temp name carries the daemon's PID, and the directory is noted in the daemon's
  journal first (:func:`set_journal`), so that a daemon killed mid-write has its temp
  file removed at the next start (:mod:`ptpd.daemon.leftovers`).
"""

from __future__ import annotations

import asyncio
import errno
import os
import re
import tempfile
from pathlib import Path

from ptpd.bus import BusError, ErrorCode
from ptpd.camera import IncompleteTransfer, verify
from ptpd.daemon.leftovers import Journal, temp_prefix

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

#: why a directory or file cannot be written that is the request's to mend (the path or
#: its permissions); any other (a full disk, an I/O error) is the machine's
_PATH_ERRORS = frozenset(
    {
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.ENOTDIR,
        errno.EEXIST,
        errno.ENOENT,
        errno.ENAMETOOLONG,
        errno.ELOOP,
        errno.EISDIR,
    }
)


#: where the directories written into are noted (the daemon sets it at start)
_journal: Journal | None = None


def set_journal(journal: Journal | None) -> None:
    """Note every directory a temp file goes into in ``journal`` from now on."""
    global _journal
    _journal = journal


def safe_filename(name: str, fallback: str) -> str:
    """A camera-supplied name reduced to one harmless path component."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].replace("\0", "")
    base = _UNSAFE.sub("_", base).lstrip(".")
    return base[:128] or fallback


def _write_error(what: str, exc: OSError) -> BusError:
    code = ErrorCode.BAD_REQUEST if exc.errno in _PATH_ERRORS else ErrorCode.INTERNAL
    return BusError(code, f"cannot write {what}: {exc.strerror or exc}")


async def check_dir(directory: str) -> None:
    """Refuse a directory the daemon cannot write before the camera does any work for it
    (a shutter released, an object read) whose result would then have nowhere to go."""

    def check() -> None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        if not os.access(directory, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, "permission denied")

    if "\0" in directory:  # no path holds one: the request is malformed, not the value
        raise BusError(ErrorCode.BAD_REQUEST, "dir must not contain a NUL character")
    if not os.path.isabs(directory):  # relative to what? the daemon's cwd means nothing to a client
        raise BusError(
            ErrorCode.BAD_REQUEST, f"dir must be an absolute path on the daemon's machine, got {directory!r}"
        )
    try:
        await asyncio.to_thread(check)
    except OSError as exc:
        raise _write_error(f"into {directory}", exc) from None


async def write_into(
    directory: str, filename: str, data: bytes | bytearray | memoryview, size: int | None = None, fmt: int = 0
) -> str:
    """Write a verified file under ``directory`` (off the event loop); a directory the
    daemon cannot write is the request's fault, not the daemon's."""
    try:
        return await asyncio.to_thread(write_verified, directory, filename, data, size, fmt)
    except OSError as exc:
        raise _write_error(f"{filename} into {directory}", exc) from None


def write_verified(
    directory: str, filename: str, data: bytes | bytearray | memoryview, size: int | None = None, fmt: int = 0
) -> str:
    """Write to a temp name in ``directory``, verify, fsync, and link the final name (never
    overwriting: ``name-1.ext`` when taken). On any failure the temp file is removed and
    nothing appears under a final name."""
    verify(data, size, fmt, filename)
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    if _journal is not None:
        _journal.note(d)  # before the temp file exists: a kill after it is cleaned up
    fd, tmp = tempfile.mkstemp(dir=d, prefix=temp_prefix(), suffix=".part")
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
