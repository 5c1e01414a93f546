"""Shared-memory segments that clients on the daemon's machine lend it for downloads.

A local client creates a POSIX shared-memory segment (``/dev/shm/ptpd-…``), keeps it, and
names it in ``download``'s ``shm`` argument. The daemon reads the object from the camera's
socket straight into the segment and replies without the bytes. Reused from one download
to the next, the segment's pages are mapped already on both sides, so the object crosses
memory once (the kernel's copy out of the socket) instead of three times (socket → daemon,
daemon → bus, bus → client), and no new page has to be mapped: on a fast link that is most
of a download's cost.

A segment this daemon cannot use is not an error: the bytes go over the bus. It uses
only regular files owned by its own user with one link: a client on another machine has
no segment here, and a client of another user cannot have the daemon write into somebody
else's memory. The daemon writes through its mapping, so a client that shrinks its
segment while a download into it runs makes that write fault; only a process of the
daemon's own user can do that, and such a process could stop the daemon anyway.
"""

from __future__ import annotations

import mmap
import os
import re
import stat
from collections import OrderedDict
from pathlib import Path

from ptpd import bus

#: where Linux keeps POSIX shared memory (``shm_open`` names are files here)
SHM_DIR = Path(bus.SHM_DIR)
#: names a client may lend: the prefix keeps the daemon off other programs' segments
NAME = re.compile(re.escape(bus.SHM_PREFIX) + r"[A-Za-z0-9_.-]{1,200}\Z")
#: segments kept mapped at once (a client normally keeps one and reuses it)
MAX_MAPPED = 4
#: the most of a segment that is mapped: the largest PTP object (ObjectCompressedSize is u32)
MAX_SEGMENT = 0xFFFFFFFF


def valid_name(name: str) -> bool:
    """Whether ``name`` is one a client may lend (``ptpd-`` and letters, digits, ``_.-``)."""
    return bool(NAME.match(name))


class SharedSegments:
    """The segments clients lent, mapped once and kept while they exist.

    A segment is known by its device, inode and size: one unlinked and created again
    under the same name is mapped afresh; one that is gone is unmapped by :meth:`prune`.
    """

    def __init__(self, directory: Path = SHM_DIR, max_mapped: int = MAX_MAPPED) -> None:
        self.directory = directory
        self.max_mapped = max_mapped
        self._maps: OrderedDict[str, tuple[tuple[int, int, int], mmap.mmap]] = OrderedDict()

    def view(self, name: str) -> memoryview | None:
        """A writable view of the segment ``name`` (its first :data:`MAX_SEGMENT` bytes);
        None when it is not one to use here (missing, not a regular file, not owned by
        this process's user, more than one link, empty).

        Raises :class:`ValueError` for a name :func:`valid_name` refuses.
        """
        if not valid_name(name):
            raise ValueError(f"shm must be a name like ptpd-1234-ab (letters, digits, _.-), got {name!r}")
        self.prune(keep=name)
        try:
            fd = os.open(self.directory / name, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size == 0 or st.st_nlink != 1 or st.st_uid != os.geteuid():
                return None
            key = (st.st_dev, st.st_ino, st.st_size)
            known = self._maps.get(name)
            if known is not None and known[0] == key:
                self._maps.move_to_end(name)
                return memoryview(known[1])
            self._drop(name)
            # no MAP_POPULATE: mapping stays cheap whatever the size (the request waits
            # for it); the client made the pages, the first download maps them in
            try:
                mm = mmap.mmap(fd, min(st.st_size, MAX_SEGMENT), flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE)
            except OSError:
                return None
        finally:
            os.close(fd)
        self._maps[name] = (key, mm)
        while len(self._maps) > self.max_mapped:
            self._drop(next(iter(self._maps)))
        return memoryview(mm)

    def close(self) -> None:
        """Unmap every segment."""
        for name in list(self._maps):
            self._drop(name)

    def __len__(self) -> int:
        return len(self._maps)

    def prune(self, keep: str | None = None) -> None:
        """Unmap segments whose file is gone or was replaced (their client let them go).
        The daemon calls it every second too, so that their memory goes soon."""
        for name, (key, _) in list(self._maps.items()):
            if name == keep:
                continue
            try:
                st = os.stat(self.directory / name, follow_symlinks=False)
            except OSError:
                self._drop(name)
                continue
            if (st.st_dev, st.st_ino, st.st_size) != key:
                self._drop(name)

    def _drop(self, name: str) -> None:
        entry = self._maps.pop(name, None)
        if entry is None:
            return
        try:
            entry[1].close()
        except BufferError:
            pass  # a reply still reads from it: unmapped when its last view goes
