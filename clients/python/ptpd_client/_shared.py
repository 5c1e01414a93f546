"""A shared-memory buffer a client on the daemon's machine lends it for downloads."""

from __future__ import annotations

import mmap
import os
import re
import secrets
import weakref
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ptpd import bus

if TYPE_CHECKING:
    from ._camera import Download

#: where Linux keeps POSIX shared memory; the daemon looks for the segment there
SHM_DIR = Path(bus.SHM_DIR)


#: the names :class:`SharedBuffer` gives: ptpd-PID-12 hex digits
_NAME = re.compile(re.escape(bus.SHM_PREFIX) + r"(\d+)-[0-9a-f]{12}\Z")


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def _sweep(directory: Path) -> None:
    """Remove segments this user's SharedBuffers left behind in processes that are gone
    (killed before they could remove them): each holds an object's worth of memory."""
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    me = os.geteuid()
    for entry in entries:
        m = _NAME.match(entry.name)
        if m is None:
            continue
        try:
            if entry.stat(follow_symlinks=False).st_uid != me:
                continue
            os.kill(int(m.group(1)), 0)
        except ProcessLookupError:
            _unlink(Path(entry.path))  # its process is gone
        except OSError:
            continue  # alive (perhaps as another user), or already removed


class SharedBuffer:
    """A POSIX shared-memory segment (``/dev/shm/ptpd-…``) to download into.

    Pass it as ``download(handle, into=buf)``: a daemon on the same machine reads the
    object from the camera's socket straight into it, and the bytes never cross the bus.
    Keep one buffer and reuse it: its pages stay mapped in both processes, which is what
    makes it fast. The result's ``data`` is then a ``memoryview`` of the buffer, valid
    until the next download into it (copy with ``bytes(d.data)`` to keep it longer).

    When the daemon cannot use the buffer (it runs on another machine or as another user,
    or the object is bigger than the buffer), the bytes come over the bus as usual:
    ``Download.shared`` says which happened. One download at a time per buffer: a second
    one started while the first runs raises :class:`RuntimeError`.

    Its memory is reserved when it is made: :class:`OSError` (``ENOSPC``) when
    ``/dev/shm`` has not that much room left. The segment is created readable and
    writable by this user only (``mode``); it is
    removed by :meth:`close`, on ``with`` exit, or when the buffer is garbage-collected;
    one left by a process that was killed is removed when this user makes the next.
    """

    def __init__(self, size: int, *, mode: int = 0o600, directory: Path | str = SHM_DIR) -> None:
        if size <= 0:
            raise ValueError("size must be > 0")
        _sweep(Path(directory))
        self.name = f"{bus.SHM_PREFIX}{os.getpid()}-{secrets.token_hex(6)}"
        self.path = Path(directory) / self.name
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
        try:
            bus.reserve_shm(fd, size)
            # populate: the pages are mapped now, once, not a fault at a time in a download
            self._mm = mmap.mmap(fd, size, flags=mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0))
        except BaseException:
            _unlink(self.path)
            raise
        finally:
            os.close(fd)
        self.size = size
        self._busy = False
        self._unlink = weakref.finalize(self, _unlink, self.path)

    @property
    def closed(self) -> bool:
        return not self._unlink.alive

    def view(self, nbytes: int | None = None) -> memoryview:
        """A view of the first ``nbytes`` (default: all) of the buffer."""
        if self.closed:
            raise ValueError("shared buffer is closed")
        return memoryview(self._mm)[: self.size if nbytes is None else nbytes]

    def claim(self) -> None:
        """Mark the buffer as taken by a download (the client calls this)."""
        if self.closed:
            raise ValueError("shared buffer is closed")
        if self._busy:
            raise RuntimeError(f"{self.name} is in use by another download (one at a time per buffer)")
        self._busy = True

    def release(self) -> None:
        """The download that claimed the buffer is over (the client calls this)."""
        self._busy = False

    def received(self, d: Download) -> Download:
        """``d`` with ``data`` viewing this buffer when the daemon wrote it here."""
        if not d.shared:
            return d
        return replace(d, data=self.view(d.size - d.offset))

    def close(self) -> None:
        """Remove the segment; the memory goes once no view of it is left. Idempotent."""
        self._unlink()
        try:
            self._mm.close()
        except BufferError:
            pass  # someone still holds a view (a Download's data): unmapped when it goes

    def __enter__(self) -> SharedBuffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SharedBuffer({self.size}, name={self.name!r}{', closed' if self.closed else ''})"
