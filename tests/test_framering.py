"""The live-view frame ring (``ptpd.framering``): the documented layout, newest-frame
reads, frames overwritten during a copy, oversize frames, closing, files that are not
rings, where a ring lives, and a reader woken by a writer in another process. Every test
runs with the reader's hot path in C (``ptpd/_ringwait.c``) and in Python."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import struct
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ptpd import framering
from ptpd.framering import FrameRingReader, FrameRingWriter, RingUnavailable, ring_path

SHM = Path("/dev/shm")


@pytest.fixture(autouse=True, params=["c", "python"])
def reader_code(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The reader's hot path under test: C where it was built, else the Python loop."""
    if request.param == "c":
        if framering.C_WAIT is None:
            # test_the_c_reader_is_built_where_it_can_be fails where this should not happen
            pytest.skip("ptpd._ringwait was not built (no compiler or Python headers, or not Linux)")
    else:
        monkeypatch.setattr(framering, "C_WAIT", None)
    return request.param


@pytest.fixture
def path(request: pytest.FixtureRequest) -> str:
    p = SHM / f"ptpdring-test-{os.getpid()}-{request.node.name[:40]}"
    yield str(p)
    for leftover in (p, *SHM.glob(p.name + ".*")):
        leftover.unlink(missing_ok=True)


@contextlib.contextmanager
def opened(path: str, **writer_options: int) -> Iterator[tuple[FrameRingWriter, FrameRingReader]]:
    """A writer and a reader on one ring, both closed after."""
    w = FrameRingWriter(path, **writer_options)
    r = FrameRingReader(path)
    try:
        yield w, r
    finally:
        r.close()
        w.close()


def put(w: FrameRingWriter, jpeg: bytes, seq: int = 1) -> bool:
    return w.write(jpeg, seq=seq, counter=seq + 100, t_camera=1.5, t_daemon=1.75, t_wall=1e9, width=640, height=480)


def test_header_and_slot_follow_the_documented_layout(path: str) -> None:
    w = FrameRingWriter(path, slots=4, slot_size=4096 * 4)
    try:
        assert w.write(b"\xff\xd8JPEG\xff\xd9", seq=7, counter=-1, t_camera=1.5, t_daemon=2.25, t_wall=3.125, width=640, height=480)
        raw = Path(path).read_bytes()
        # offsets as docs/bus.md gives them
        assert raw[0:8] == b"PTPDRING"
        assert struct.unpack_from("<IIQ", raw, 8) == (2, 4, 4096 * 4)
        assert struct.unpack_from("<I", raw, 24)[0] == 1  # the futex word
        assert struct.unpack_from("<I", raw, 28)[0] == 0  # open
        assert struct.unpack_from("<Q", raw, 32)[0] == 1  # published
        assert struct.unpack_from("<I", raw, 40)[0] == os.getpid()
        slot = 4096 + (1 % 4) * (4096 * 4)
        assert struct.unpack_from("<QQII", raw, slot) == (1, 1, 72, 8)
        assert struct.unpack_from("<Qq", raw, slot + 24) == (7, -1)
        assert struct.unpack_from("<ddd", raw, slot + 40) == (1.5, 2.25, 3.125)
        assert struct.unpack_from("<II", raw, slot + 64) == (640, 480)
        assert raw[slot + 72 : slot + 80] == b"\xff\xd8JPEG\xff\xd9"
        assert len(raw) == 4096 + 4 * 4096 * 4
    finally:
        w.close()


def test_a_frame_reads_back_with_the_sockets_meta(path: str) -> None:
    w = FrameRingWriter(path)
    r = FrameRingReader(path)
    try:
        put(w, b"jpeg", seq=9)
        f = r.newest()
        assert f.meta() == {"seq": 9, "counter": 109, "t_camera": 1.5, "t_daemon": 1.75, "t_wall": 1e9,
                            "width": 640, "height": 480, "size": 4}
        # a longer slot header (a later version's extra fields) is skipped, not misread
        at = 4096 + (2 % w.slots) * w.slot_size
        put(w, b"x" * 16, seq=10)
        w._mm[at + 16 : at + 20] = struct.pack("<I", 80)
        w._mm[at + 20 : at + 24] = struct.pack("<I", 8)
        assert r.newest().jpeg == b"x" * 8
    finally:
        r.close()
        w.close()


def test_a_reader_gets_the_newest_frame_published_after_it_opened(path: str) -> None:
    w = FrameRingWriter(path)
    try:
        put(w, b"before")
        r = FrameRingReader(path)
        assert r.newest() is None  # a frame already there when it came is old
        for n in range(3):
            put(w, b"frame %d" % n)
        f = r.newest()
        assert f is not None and (f.number, f.jpeg) == (4, b"frame 2")
        assert r.newest() is None  # taken: nothing newer yet
        put(w, b"frame 3")
        got = r.wait(5.0)
        assert got is not None and got.jpeg == b"frame 3"
        r.close()
        with pytest.raises(ValueError):
            r.newest()
    finally:
        w.close()


def test_a_frame_overwritten_while_it_is_copied_is_not_returned(path: str) -> None:
    with opened(path, slots=2, slot_size=4096) as (w, r):
        put(w, b"one")
        # the writer starts frame 3 in frame 1's slot (3 % 2 == 1) before the reader is done
        w._mm[4096 + 4096 : 4096 + 4096 + 8] = struct.pack("<Q", 3)
        assert r.newest() is None
        w.published = 2  # frame 2 went to the other slot; frame 3 now completes
        put(w, b"three")
        assert r.newest().jpeg == b"three"


def test_a_frame_too_big_for_a_slot_is_left_out(path: str) -> None:
    with opened(path, slots=2, slot_size=1024) as (w, r):
        assert not put(w, b"x" * 1000)
        assert w.oversize == 1 and r.newest() is None
        assert put(w, b"x" * 952)  # 72 + 952 = 1024: fits exactly
        assert len(r.newest().jpeg) == 952


def test_closing_wakes_readers_and_removes_the_file(path: str) -> None:
    w = FrameRingWriter(path)
    r = FrameRingReader(path)
    w.close()
    assert r.closed and r.wait(30.0) is None  # returns at once: the ring says closed
    assert not os.path.exists(path) and r.replaced()
    r.close()


def test_mode_is_exact_and_a_stale_file_is_replaced(path: str) -> None:
    Path(path).write_bytes(b"left by a daemon that died")
    old = os.umask(0o077)
    try:
        w = FrameRingWriter(path, mode=0o640)
    finally:
        os.umask(old)
    try:
        assert os.stat(path).st_mode & 0o777 == 0o640
        FrameRingReader(path).close()  # a ring again
    finally:
        w.close()


def test_files_that_are_not_rings_are_refused(path: str, tmp_path: Path) -> None:
    with pytest.raises(RingUnavailable):
        FrameRingReader(path)  # missing
    Path(path).write_bytes(b"\0" * 8192)
    with pytest.raises(RingUnavailable, match="not a version-2 frame ring"):
        FrameRingReader(path)
    Path(path).write_bytes(b"short")
    with pytest.raises(RingUnavailable, match="not a frame ring"):
        FrameRingReader(path)
    os.unlink(path)
    real = FrameRingWriter(str(tmp_path / "real"), slots=2, slot_size=4096)
    os.symlink(real.path, path)
    try:
        with pytest.raises(RingUnavailable):
            FrameRingReader(path)  # never through a symlink
    finally:
        real.close()


def test_where_the_ring_lives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert ring_path("tcp://127.0.0.1:5555") is None
    assert ring_path("ipc://@abstract") is None
    run = SHM / f"ptpd-ringpath-{os.getpid()}"
    run.mkdir()
    try:
        # a directory in memory: beside the socket, under the same access rules
        assert ring_path(f"ipc://{run}/liveview") == f"{run}/liveview.ring"
    finally:
        run.rmdir()
    monkeypatch.setattr(framering, "_fs_type", lambda p: "ext4")
    on_disk = ring_path(f"ipc://{tmp_path}/liveview", shm_dir="/dev/shm")
    assert on_disk is not None and on_disk.startswith("/dev/shm/ptpdring-")
    # one socket, one name; another socket, another name
    assert on_disk == ring_path(f"ipc://{tmp_path}/liveview")
    assert on_disk != ring_path(f"ipc://{tmp_path}/other")


def test_fs_type_reads_the_mount_table() -> None:
    assert framering._fs_type("/dev/shm") == "tmpfs"
    assert framering._fs_type("/proc/self") == "proc"


_WRITER = """
import sys, time
from ptpd.framering import FrameRingWriter
w = FrameRingWriter(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
time.sleep(0.2)
w.write(b"from another process", seq=1, counter=1, t_camera=0.0, t_daemon=0.0, t_wall=0.0)
sys.stdin.readline()
w.close()
"""


@pytest.mark.skipif(not framering.FUTEX, reason="futex wake-ups are Linux-only")
def test_a_writer_in_another_process_wakes_a_waiting_reader(path: str) -> None:
    p = subprocess.Popen([sys.executable, "-c", _WRITER, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        r = FrameRingReader(path)
        p.stdin.write("go\n")
        p.stdin.flush()
        t0 = time.monotonic()
        f = r.wait(30.0)
        waited = time.monotonic() - t0
        assert f is not None and f.jpeg == b"from another process"
        assert waited < 30.0  # woken by the write, not by the timeout
        p.stdin.write("close\n")
        p.stdin.flush()
        assert p.wait(10) == 0
        assert r.wait(30.0) is None and r.closed
        r.close()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)


def test_the_ring_reserves_its_memory_so_a_full_tmpfs_is_an_error_not_sigbus(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    w = FrameRingWriter(path, slots=2, slot_size=1 << 20)
    assert os.stat(path).st_blocks * 512 >= w.size  # every page allocated, none a hole
    w.close()

    def full(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", full)
    with pytest.raises(OSError) as exc:
        FrameRingWriter(path)
    assert exc.value.errno == errno.ENOSPC
    assert not list(SHM.glob(Path(path).name + "*"))  # no ring, no temporary file


def test_a_group_the_daemon_cannot_give_narrows_the_mode(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(fd: int, uid: int, gid: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "fchown", refuse)
    w = FrameRingWriter(path, mode=0o640, group=12345)
    try:
        assert os.stat(path).st_mode & 0o777 == 0o600  # never readable by its own group instead
    finally:
        w.close()


def test_closing_leaves_a_newer_ring_under_the_same_name_alone(path: str) -> None:
    old = FrameRingWriter(path)
    new = FrameRingWriter(path)  # a restarted daemon's, made before the old one closed
    old.close()
    try:
        r = FrameRingReader(path)
        put(new, b"new")
        assert r.wait(5.0).jpeg == b"new"
        r.close()
    finally:
        new.close()
    assert not os.path.exists(path)


def test_a_reader_refuses_a_ring_that_is_not_the_daemon_users(path: str) -> None:
    w = FrameRingWriter(path)
    try:
        FrameRingReader(path, owner=os.geteuid()).close()
        with pytest.raises(RingUnavailable, match="not the daemon's"):
            FrameRingReader(path, owner=os.geteuid() + 1)
        os.chmod(path, 0o620)  # writable by a group: anyone in it could forge frames
        with pytest.raises(RingUnavailable, match="not the daemon's"):
            FrameRingReader(path, owner=os.geteuid())
    finally:
        w.close()



def test_a_version_1_ring_is_refused(path: str) -> None:
    w = FrameRingWriter(path)
    try:
        w._mm[8:12] = struct.pack("<I", 1)  # msgpack meta in its slots: another layout
        with pytest.raises(RingUnavailable, match="not a version-2 frame ring"):
            FrameRingReader(path)
    finally:
        w.close()


def test_fields_a_camera_leaves_out_or_overflows_do_not_stop_the_write(path: str) -> None:
    with opened(path) as (w, r):
        assert w.write(b"jpeg", seq=1, counter=None, t_camera=None, t_daemon=2.0, t_wall=3.0, width=None, height=-1)  # type: ignore[arg-type]
        f = r.newest()
        assert (f.counter, f.t_camera, f.width, f.height) == (0, 0.0, 0, 0xFFFFFFFF)
        assert w.write(b"jpeg", seq=2, counter=1 << 70, t_camera=1.0, t_daemon=2.0, t_wall=3.0, width=1 << 33, height=480)
        f = r.newest()
        assert (f.counter, f.width, f.height) == ((1 << 63) - 1, 0, 480)


def test_reading_a_closed_reader_is_an_error_not_a_crash(path: str) -> None:
    w = FrameRingWriter(path)
    r = FrameRingReader(path)
    r.close()
    try:
        for read in (r.take, lambda: r.wait_raw(0.1), r.newest, lambda: r.wait(0.1)):
            with pytest.raises(ValueError, match="closed"):
                read()
        assert r.closed
    finally:
        w.close()


def test_the_c_reader_is_built_where_it_can_be() -> None:
    """An install on Linux with a compiler and Python's headers builds the C hot path (the
    build is optional, so a failure there would pass unseen, and readers be slower)."""
    headers = Path(sysconfig.get_paths()["include"], "Python.h")
    can_build = framering.FUTEX and sys.byteorder == "little" and headers.exists() and shutil.which("cc")
    # _c_wait() looks afresh: the fixture's stand-in for C_WAIT does not count here
    assert not can_build or framering._c_wait() is not None, "ptpd._ringwait is not built: make clean && make setup"


@pytest.mark.skipif(not framering.FUTEX, reason="futex wake-ups are Linux-only")
def test_a_signal_ends_a_wait_in_the_main_thread(path: str) -> None:
    """Ctrl-C reaches a viewer waiting for a frame: the handler runs and its exception
    leaves the wait, long before the wait's timeout."""

    class Interrupted(Exception):
        pass

    def handler(signum: int, frame: object) -> None:
        raise Interrupted

    with opened(path) as (_w, r):
        old = signal.signal(signal.SIGUSR1, handler)
        timer = threading.Timer(0.2, signal.pthread_kill, (threading.main_thread().ident, signal.SIGUSR1))
        try:
            timer.start()
            t0 = time.monotonic()
            with pytest.raises(Interrupted):
                r.wait(20.0)
            assert time.monotonic() - t0 < 5.0  # a wait that ignored it would sit out the 20 s
        finally:
            timer.cancel()
            signal.signal(signal.SIGUSR1, old)


def test_odd_timeouts_neither_hang_nor_spin(path: str) -> None:
    """0 or less looks once; NaN is an error (a wait that could never end); infinity waits
    until a frame comes."""
    with opened(path) as (w, r):
        for timeout in (0.0, -1.0):
            t0 = time.monotonic()
            assert r.wait_raw(timeout) is None
            assert time.monotonic() - t0 < 1.0
        with pytest.raises(ValueError):
            r.wait_raw(float("nan"))
        timer = threading.Timer(0.2, put, (w, b"late"))
        try:
            timer.start()
            raw = r.wait_raw(float("inf"))
            assert raw is not None and raw[-1] == b"late"
        finally:
            timer.cancel()
