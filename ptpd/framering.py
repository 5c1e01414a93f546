"""The live-view frame ring: frames in shared memory for watchers on the daemon's machine.

Over the live-view socket every frame is sent once per subscriber, and each subscriber
process wakes twice for it (ZeroMQ's I/O thread, then the reader). With many watchers on
a small machine those wake-ups queue behind each other and a frame reaches the last one
late. The ring is the same frames written once into a file in shared memory; one
``futex`` wake-up call rouses every waiting reader at once, and a reader wakes once per
frame, in the thread that wants it.

The daemon writes, any number of local processes read; a reader takes the newest frame
and never holds the writer up (a slow one skips frames, like a slow subscriber). The
layout (little-endian; ``docs/bus.md`` has it for readers in other languages)::

    header, 4096 bytes
      0  8s  magic b"PTPDRING"
      8  u32 version (2)
     12  u32 slots
     16  u64 slot size (bytes, slot header included)
     24  u32 published, low 32 bits: the futex word readers wait on
     28  u32 state: 0 open, 1 closed (the writer is gone; open the path again)
     32  u64 published: the number of the newest complete frame (0: none yet)
     40  u32 writer pid
    slot k = frame n % slots, at 4096 + k * slot size
      0  u64 begin: the frame being written into this slot
      8  u64 end: the frame complete in this slot
     16  u32 header length (H: where the JPEG starts), 20 u32 JPEG length
     24  u64 seq, 32 i64 counter, 40 f64 t_camera, 48 f64 t_daemon, 56 f64 t_wall,
     64  u32 width, 68 u32 height (the socket's meta, in binary); the JPEG at H

A reader reads ``published`` (n), checks slot ``n % slots`` has ``end == n``, copies the
fields and JPEG out, then checks ``begin`` is still ``n``: otherwise the writer came round to the
slot while it copied, and it tries the newest frame again. The writer only returns to a
slot ``slots - 1`` frames later, so at live-view rates a reader has tens of milliseconds.

This module is the contract both sides import (like :mod:`ptpd.bus`); it does no I/O
beyond the file and the futex call, and needs Linux for the wake-ups (elsewhere readers
poll every millisecond). A reader's wait and copy run in C (``_ringwait.c``) where the
install could build it, else in Python: the same results for a quarter to a third less
CPU per frame (docs/performance.md).
"""

from __future__ import annotations

import ctypes
import functools
import mmap
import os
import platform
import secrets
import stat
import struct
import sys
import time
import weakref
from typing import Any, NamedTuple

from ptpd import bus

MAGIC = b"PTPDRING"
VERSION = 2  #: 2: binary frame fields in the slot header (1 carried msgpack meta)
HEADER_SIZE = 4096
#: a slot's header: begin, end, header length, JPEG length, then the frame's fields
SLOT_HEADER = 72
#: slots in a ring: a reader has ``SLOTS - 1`` frame times to copy a frame out
SLOTS = 8
#: bytes per slot: a live-view JPEG is tens of KB; a bigger frame goes over the socket only
SLOT_SIZE = 512 << 10
STATE_OPEN, STATE_CLOSED = 0, 1

_HEAD = struct.Struct("<8sIIQ")  # magic, version, slots, slot size
_PUBLISHED = 32
_WORD = 24
_STATE = 28
_PID = 40
_SLOT = struct.Struct("<QQII")  # begin, end, header length, JPEG length
# seq, counter, t_camera, t_daemon, t_wall, width, height: fixed fields, not msgpack, so a
# reader woken among many builds its frame with no decoder to run (cold, that costs)
_FIELDS = struct.Struct("<QqdddII")
_U64 = struct.Struct("<Q")
_U64_MAX, _U32_MAX, _I64_MIN, _I64_MAX = (1 << 64) - 1, (1 << 32) - 1, -(1 << 63), (1 << 63) - 1
_U32 = struct.Struct("<I")

# -- the futex call (Linux): one syscall wakes every reader ----------------------------------

#: ``SYS_futex`` by machine (the kernel's syscall tables)
_SYS_FUTEX = {"x86_64": 202, "amd64": 202, "aarch64": 98, "arm64": 98, "riscv64": 98,
              "armv7l": 240, "armv6l": 240, "i686": 240, "i386": 240, "ppc64le": 221, "s390x": 238}
_FUTEX_WAIT, _FUTEX_WAKE = 0, 1


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # CDLL calls release the GIL while they wait
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _libc()
_PROT_READ, _MAP_SHARED = 1, 1
_MAP_FAILED = ctypes.c_void_p(-1).value


def _futex() -> Any:
    """``syscall`` typed for ``futex(addr, op, val, timeout, NULL, 0)``, or None."""
    nr = _SYS_FUTEX.get(platform.machine().lower()) if platform.system() == "Linux" else None
    if nr is None or _LIBC is None or not hasattr(_LIBC, "syscall"):
        return None
    # a function object of our own (not libc.syscall, which others may type otherwise),
    # typed once: a call then builds no ctypes objects, which a reader woken 30 times a
    # second among many others would pay for in cold caches each time
    fn = ctypes.CFUNCTYPE(ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_int, ctypes.c_uint,
                          ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, use_errno=True)(("syscall", _LIBC))
    return functools.partial(fn, nr)


_FUTEX = _futex()
#: True where readers sleep in the kernel until a frame comes (else they poll)
FUTEX = _FUTEX is not None


def _c_wait() -> Any:
    """The reader's hot path in C (``ptpd/_ringwait.c``), or None: not built (no compiler
    at install), or a machine it was not written for (the futex call, little-endian)."""
    if _FUTEX is None or sys.byteorder != "little":
        return None
    try:
        from ptpd import _ringwait
    except ImportError:
        return None
    return _ringwait.wait


#: ``wait(addr, slots, slot_size, last, timeout)`` in C, or None (the Python loop reads)
C_WAIT = _c_wait()


def _wake_all(addr: int) -> None:
    if _FUTEX is not None:
        _FUTEX(addr, _FUTEX_WAKE, 0x7FFFFFFF, None, None, 0)


# -- where the ring lives ----------------------------------------------------------------------


def _fs_type(path: str) -> str:
    """The file system type of the mount that holds ``path`` (``""`` if unknown)."""
    best, kind = "", ""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.split()
                if " - " not in line or len(fields) < 5:
                    continue
                mount = fields[4].replace("\\040", " ")
                if (path == mount or path.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best):
                    best, kind = mount, line.split(" - ", 1)[1].split()[0]
    except OSError:
        return ""
    return kind


def ring_path(liveview_endpoint: str, shm_dir: str = "/dev/shm") -> str | None:
    """Where the daemon of ``liveview_endpoint`` keeps its ring, or None (no ring: the
    endpoint is not a socket file on this machine).

    Beside the socket (``…/liveview.ring``) when that directory is in memory (tmpfs, as
    ``/run`` and ``$XDG_RUNTIME_DIR`` are), so it shares the socket's access rules and a
    systemd unit's private ``/dev/shm`` does not hide it; otherwise in ``shm_dir``, named
    after the socket, never on a disk that every frame would be written to.
    """
    if not liveview_endpoint.startswith("ipc://"):
        return None
    sock = liveview_endpoint[len("ipc://"):]
    if not sock or sock.startswith("@"):
        return None
    sock = os.path.realpath(sock)
    directory = os.path.dirname(sock)
    if _fs_type(directory) == "tmpfs":
        return sock + ".ring"
    import hashlib

    return os.path.join(shm_dir, "ptpdring-" + hashlib.sha256(sock.encode()).hexdigest()[:16])


# -- the writer (the daemon) ------------------------------------------------------------------


class FrameRingWriter:
    """Creates the ring file and writes frames into it (one writer per ring).

    ``mode`` is the file's permission bits; ``group`` a group to give it (None: keep).
    A file left by a daemon that died is replaced.
    """

    def __init__(self, path: str, *, slots: int = SLOTS, slot_size: int = SLOT_SIZE, mode: int = 0o600, group: int | None = None) -> None:
        if slots < 2 or slot_size <= SLOT_HEADER:
            raise ValueError(f"a ring needs at least 2 slots of more than {SLOT_HEADER} bytes")
        self.path = path
        self.slots = slots
        self.slot_size = slot_size
        self.size = HEADER_SIZE + slots * slot_size
        self.published = 0
        self.oversize = 0  #: frames too big for a slot (they went over the socket only)
        tmp = f"{path}.{secrets.token_hex(8)}.tmp"  # unguessable: nobody can squat it first
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            if group is not None:
                try:
                    os.fchown(fd, -1, group)
                except OSError:
                    mode &= 0o700  # not a member of that group: for the daemon's user only
            os.fchmod(fd, mode)  # not narrowed by the umask
            # every page now: a full file system is ENOSPC here, never SIGBUS in publish
            bus.reserve_shm(fd, self.size)
            self._mm = mmap.mmap(fd, self.size, flags=mmap.MAP_SHARED)
            _HEAD.pack_into(self._mm, 0, MAGIC, VERSION, slots, slot_size)
            _U32.pack_into(self._mm, _PID, os.getpid())
            st = os.fstat(fd)
            # the finished header appears under the name at once: a reader never sees half
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        finally:
            os.close(fd)
        self.identity = (st.st_dev, st.st_ino)
        self._word = ctypes.c_uint32.from_buffer(self._mm, _WORD)
        self._addr = ctypes.addressof(self._word)

    def write(self, jpeg: bytes | memoryview, seq: int, counter: int, t_camera: float, t_daemon: float,
              t_wall: float, width: int = 0, height: int = 0) -> bool:
        """Put one frame in the ring and wake every reader; False if it does not fit."""
        n = self.published + 1
        size = SLOT_HEADER + len(jpeg)
        if size > self.slot_size:
            self.oversize += 1
            return False
        mm = self._mm
        at = HEADER_SIZE + (n % self.slots) * self.slot_size
        _U64.pack_into(mm, at, n)  # begin: readers still copying the old frame see it change
        try:
            _FIELDS.pack_into(mm, at + 24, seq, counter, t_camera, t_daemon, t_wall, width, height)
        except (struct.error, TypeError, ValueError):
            # a camera that leaves a field out (None) or gives a size that is no u32 costs
            # its readers that field, not the daemon its live view
            _FIELDS.pack_into(mm, at + 24, *_fit(seq, counter, t_camera, t_daemon, t_wall, width, height))
        mm[at + SLOT_HEADER : at + size] = jpeg
        _SLOT.pack_into(mm, at, n, n, SLOT_HEADER, len(jpeg))
        _U64.pack_into(mm, _PUBLISHED, n)
        self._word.value = n & 0xFFFFFFFF
        self.published = n
        _wake_all(self._addr)
        return True

    def close(self, unlink: bool = True) -> None:
        """Mark the ring closed (readers look for a new one), wake them, and remove it."""
        if self._mm.closed:
            return
        _U32.pack_into(self._mm, _STATE, STATE_CLOSED)
        self._word.value = (self.published + 1) & 0xFFFFFFFF  # a change, so waiters return
        _wake_all(self._addr)
        del self._word
        self._mm.close()
        if unlink:
            try:
                st = os.stat(self.path, follow_symlinks=False)
                if (st.st_dev, st.st_ino) == self.identity:  # not a newer daemon's ring
                    os.unlink(self.path)
            except OSError:
                pass


def _fit(seq: Any, counter: Any, t_camera: Any, t_daemon: Any, t_wall: Any, width: Any, height: Any) -> tuple[Any, ...]:
    """The frame's fields made to fit ``_FIELDS``: None as 0, integers cut to their width."""
    return (int(seq or 0) & _U64_MAX, max(_I64_MIN, min(_I64_MAX, int(counter or 0))), float(t_camera or 0.0),
            float(t_daemon or 0.0), float(t_wall or 0.0), int(width or 0) & _U32_MAX, int(height or 0) & _U32_MAX)


# -- the reader (any local client) -----------------------------------------------------------


class RingUnavailable(Exception):
    """The ring cannot be read here (missing, not a ring, no permission)."""


class RingFrame(NamedTuple):
    """One frame copied out of the ring: its number in the ring, the daemon's fields for
    it (as in the socket's meta) and the JPEG bytes."""

    number: int
    seq: int
    counter: int
    t_camera: float
    t_daemon: float
    t_wall: float
    width: int
    height: int
    jpeg: bytes

    def meta(self) -> dict[str, Any]:
        """The frame's meta as the live-view socket sends it."""
        return {"seq": self.seq, "counter": self.counter, "t_camera": self.t_camera, "t_daemon": self.t_daemon,
                "t_wall": self.t_wall, "width": self.width, "height": self.height, "size": len(self.jpeg)}


class FrameRingReader:
    """Reads the newest frames of a ring; ``wait`` blocks in the calling thread.

    The file is mapped read-only (a reader may have read permission only) through libc,
    because the futex call needs the word's address and Python's ``mmap`` lends no address
    of a read-only map.
    """

    def __init__(self, path: str, owner: int | None = None) -> None:
        self.path = path
        if _LIBC is None:
            raise RingUnavailable("no libc to map the ring with")
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            raise RingUnavailable(f"{path}: {exc.strerror}") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size < HEADER_SIZE:
                raise RingUnavailable(f"{path}: not a frame ring")
            if owner is not None and (st.st_uid != owner or st.st_mode & 0o022):
                # someone else's file under the ring's name (a squatted /dev/shm name)
                raise RingUnavailable(f"{path}: not the daemon's (owner {st.st_uid}, mode {st.st_mode & 0o777:04o})")
            magic, version, slots, slot_size = _HEAD.unpack(os.pread(fd, _HEAD.size, 0))
            size = HEADER_SIZE + slots * slot_size
            if magic != MAGIC or version != VERSION or slots < 2 or slot_size <= SLOT_HEADER or st.st_size < size:
                raise RingUnavailable(f"{path}: not a version-{VERSION} frame ring")
            addr = _LIBC.mmap(None, size, _PROT_READ, _MAP_SHARED, fd, 0)
            if addr is None or addr == _MAP_FAILED:
                raise RingUnavailable(f"{path}: cannot map it: {os.strerror(ctypes.get_errno())}")
        finally:
            os.close(fd)
        self._addr = addr
        self._buf = (ctypes.c_char * size).from_address(addr)
        self._unmap = weakref.finalize(self, _LIBC.munmap, ctypes.c_void_p(addr), ctypes.c_size_t(size))
        # not at interpreter exit, where another thread may still be reading: the kernel
        # unmaps it with the process
        self._unmap.atexit = False
        self.identity = (st.st_dev, st.st_ino)
        self._ts = _Timespec()
        self._ts_addr = ctypes.addressof(self._ts)
        self.slots = slots
        self.slot_size = slot_size
        # frames already there when the reader came are old: it waits for the next one
        self.last = _U64.unpack_from(self._buf, _PUBLISHED)[0]  #: the number of the last frame taken

    @property
    def closed(self) -> bool:
        """The writer closed the ring (or this reader was closed)."""
        return not self._addr or _U32.unpack_from(self._buf, _STATE)[0] == STATE_CLOSED

    def replaced(self) -> bool:
        """The path now names another file (a restarted daemon's ring) or none."""
        try:
            st = os.stat(self.path)
        except OSError:
            return True
        return (st.st_dev, st.st_ino) != self.identity

    def newest(self) -> RingFrame | None:
        """The newest complete frame if it is newer than the last one taken, else None."""
        raw = self.take()
        return None if raw is None else RingFrame(*raw)

    def wait(self, timeout: float) -> RingFrame | None:
        """The next frame newer than the last one taken, waiting up to ``timeout`` seconds;
        None on timeout or when the ring was closed."""
        raw = self.wait_raw(timeout)
        return None if raw is None else RingFrame(*raw)

    def take(self) -> tuple[Any, ...] | None:
        """:meth:`newest` as a plain tuple (``ValueError`` once closed)."""
        return self.wait_raw(0.0)

    def wait_raw(self, timeout: float) -> tuple[Any, ...] | None:
        """:meth:`wait` as a plain tuple in :class:`RingFrame`'s order (``ValueError`` once
        closed; the caller keeps the reader open meanwhile).

        The hot path: a reader is woken with caches gone cold (sixteen readers on two
        cores take turns), and every function, object and module it touches then costs
        far more than it would warm. So it runs in C where that was built (:data:`C_WAIT`),
        else in one frame of Python.
        """
        if C_WAIT is not None:
            raw = C_WAIT(self._addr, self.slots, self.slot_size, self.last, timeout)
            if raw is not None:
                self.last = raw[0]
            return raw
        buf = self._buf
        deadline = 0.0
        tries = 0
        try:
            while True:
                # the word first: a frame published after this read changes it, and the
                # futex call then returns at once instead of sleeping through the frame
                word = _U32.unpack_from(buf, _WORD)[0]
                n = _U64.unpack_from(buf, _PUBLISHED)[0]
                if n != self.last and tries < 4:
                    tries += 1
                    at = HEADER_SIZE + (n % self.slots) * self.slot_size
                    _begin, end, hlen, jlen = _SLOT.unpack_from(buf, at)
                    if end == n and SLOT_HEADER <= hlen and hlen + jlen <= self.slot_size:
                        fields = _FIELDS.unpack_from(buf, at + 24)
                        jpeg = buf[at + hlen : at + hlen + jlen]
                        if _U64.unpack_from(buf, at)[0] == n:
                            self.last = n
                            return (n, *fields, jpeg)
                    continue  # overwritten while we copied: the (new) newest again
                if _U32.unpack_from(buf, _STATE)[0] == STATE_CLOSED:
                    return None
                now = time.monotonic()
                if not deadline:
                    deadline = now + timeout
                left = min(deadline - now, 0.5)
                if left <= 0:
                    return None
                ts = self._ts
                ts.tv_sec, ts.tv_nsec = int(left), int(left % 1 * 1e9)
                # sleep until the word is no longer ``word`` (or the time is up, or a signal
                # comes: the loop looks again either way)
                if _FUTEX is None:
                    time.sleep(0.001)
                else:
                    _FUTEX(self._addr + _WORD, _FUTEX_WAIT, word, self._ts_addr, None, 0)
                tries = 0
        except struct.error:  # the empty buffer close() leaves: never the unmapped memory
            raise ValueError("frame ring reader is closed") from None

    def wake(self) -> None:
        """Wake every reader waiting on this ring (they look again and sleep on): how a
        thread that closes a stream gets another thread's :meth:`wait` to return."""
        if self._unmap.alive:
            _wake_all(self._addr + _WORD)

    def close(self) -> None:
        """Unmap the ring (frames already taken stay valid: they are copies). Only when no
        thread is in :meth:`wait` or :meth:`newest`: the caller sees to that."""
        self._buf = b""  # a later read fails on this, not on memory that is gone
        self._addr = 0  # and so does the C reader's
        self._unmap()
