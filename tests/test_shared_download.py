"""Downloads into a shared-memory segment the client lends (``download``'s ``shm``).

A real ``ptpd run --simulate generic`` process and the Python client's
:class:`~ptpd_client.SharedBuffer`; the daemon's side (:class:`SharedSegments`) also on
its own, against real files in a temporary directory.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ptpd.daemon.shared import SHM_DIR, SharedSegments, valid_name
from ptpd_client import AsyncClient, Client, CommandFailed, SharedBuffer
from tests.test_daemon_sim import Daemon, largest_and_bytes, needs_generic, wait_status

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    needs_generic()
    d = Daemon(tmp_path_factory.mktemp("shm"), "--simulate", "generic", "--keepalive", "0")
    try:
        wait_status(d.c, "connected", 20)
        yield d
    finally:
        d.close()


@pytest.fixture(scope="module")
def obj_and_bytes(gen: Daemon) -> tuple[int, bytes]:
    obj, whole = largest_and_bytes(gen.c)
    return obj["handle"], whole


def test_the_bytes_land_in_the_buffer_and_not_on_the_bus(gen: Daemon, obj_and_bytes: tuple[int, bytes]) -> None:
    handle, whole = obj_and_bytes
    with Client(gen.eps["command"], timeout=20) as c, SharedBuffer(len(whole) + 100) as buf:
        for _ in range(2):  # the same buffer again: the daemon keeps it mapped
            buf.view()[:] = b"\x00" * buf.size
            d = c.download(handle, into=buf)
            assert d.shared and d.size == len(whole) and d.offset == 0
            assert d.data.obj is buf.view().obj and bytes(d.data) == whole
            del d
        # the reply itself carried no data: only the client's wrapper points at the buffer
        raw = gen.c.ok("download", {"handle": handle, "shm": buf.name}, timeout=20)
        assert raw["shared"] is True and "data" not in raw
        tail = c.download(handle, offset=1000, into=buf)
        assert tail.shared and bytes(tail.data) == whole[1000:] and tail.size == len(whole)


def test_a_buffer_too_small_gets_the_bytes_over_the_bus(gen: Daemon, obj_and_bytes: tuple[int, bytes]) -> None:
    handle, whole = obj_and_bytes
    with Client(gen.eps["command"], timeout=20) as c, SharedBuffer(1000) as buf:
        d = c.download(handle, into=buf)
        assert not d.shared and bytes(d.data) == whole and d.data.obj is not buf.view().obj
        assert buf.view() == bytes(1000)  # left alone


def test_a_segment_the_daemon_cannot_open_means_the_bus(gen: Daemon, obj_and_bytes: tuple[int, bytes]) -> None:
    """A client on another machine names a segment the daemon's machine does not have."""
    handle, whole = obj_and_bytes
    r = gen.c.ok("download", {"handle": handle, "shm": "ptpd-on-another-machine"}, timeout=20)
    assert "shared" not in r and bytes(r["data"]) == whole


@pytest.mark.parametrize("name", ["../etc/passwd", "not-ours", "ptpd-a/b", "ptpd-"])
def test_a_name_that_is_not_a_ptpd_segment_is_refused(gen: Daemon, obj_and_bytes: tuple[int, bytes], name: str) -> None:
    rep = gen.c.call("download", {"handle": obj_and_bytes[0], "shm": name}, timeout=20)
    assert not rep["ok"] and rep["error"]["code"] == "bad_request", rep
    assert "shm must be" in rep["error"]["message"]


def test_the_async_client_downloads_into_the_buffer(gen: Daemon, obj_and_bytes: tuple[int, bytes]) -> None:
    handle, whole = obj_and_bytes

    async def go() -> None:
        async with AsyncClient(gen.eps["command"], timeout=20) as c:
            with SharedBuffer(len(whole)) as buf:
                d = await c.download(handle, into=buf)
                assert d.shared and bytes(d.data) == whole and d.data.obj is buf.view().obj
                del d

    asyncio.run(asyncio.wait_for(go(), 30))


def _mapped(pid: int, name: str) -> bool:
    return name in Path(f"/proc/{pid}/maps").read_text()


def test_the_daemon_lets_go_of_a_segment_its_client_removed(gen: Daemon, obj_and_bytes: tuple[int, bytes]) -> None:
    pid = gen.proc.popen.pid
    with Client(gen.eps["command"], timeout=20) as c:
        buf = SharedBuffer(len(obj_and_bytes[1]))
        assert not _mapped(pid, buf.name)
        assert c.download(obj_and_bytes[0], into=buf).shared
        assert _mapped(pid, buf.name)  # kept for the next download
        buf.close()
    deadline = time.monotonic() + 5
    while _mapped(pid, buf.name) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _mapped(pid, buf.name), "the daemon still maps a segment whose client removed it"


def test_a_missing_object_is_still_an_error(gen: Daemon, obj_and_bytes: tuple[int, bytes]) -> None:
    with Client(gen.eps["command"], timeout=20) as c, SharedBuffer(len(obj_and_bytes[1])) as buf:
        with pytest.raises(CommandFailed) as exc:
            c.download(0x7FFF0000, into=buf)
        assert exc.value.code == "camera_refused" and exc.value.ptp_code == 0x2009  # InvalidObjectHandle
        assert c.download(obj_and_bytes[0], into=buf).shared  # the failure let the buffer go


def test_one_download_at_a_time_per_buffer(gen: Daemon, obj_and_bytes: tuple[int, bytes]) -> None:
    handle, whole = obj_and_bytes

    async def go() -> None:
        async with AsyncClient(gen.eps["command"], timeout=20) as c:
            with SharedBuffer(len(whole)) as buf:
                first = asyncio.ensure_future(c.download(handle, into=buf))
                await asyncio.sleep(0)  # the first has claimed the buffer
                with pytest.raises(RuntimeError, match="in use by another download"):
                    await c.download(handle, into=buf)
                d = await first
                assert d.shared and bytes(d.data) == whole
                del d
                with pytest.raises(CommandFailed):
                    await c.download(0x7FFF0000, into=buf)
                d = await c.download(handle, into=buf)  # free again after a failure too
                assert d.shared
                del d

    asyncio.run(asyncio.wait_for(go(), 30))


# -- the client's buffer ----------------------------------------------------------------------


def test_shared_buffer_is_a_private_segment_removed_on_close(tmp_path: Path) -> None:
    buf = SharedBuffer(1 << 20, directory=tmp_path)
    assert valid_name(buf.name) and buf.path.parent == tmp_path
    assert buf.path.stat().st_size == 1 << 20 and buf.path.stat().st_mode & 0o777 == 0o600
    view = buf.view(10)
    view[:] = b"0123456789"
    assert buf.path.read_bytes()[:10] == b"0123456789"  # the file is the memory
    buf.close()  # a view is still held: the segment's name goes, the memory when the view does
    assert not buf.path.exists() and buf.closed
    assert bytes(view) == b"0123456789"
    with pytest.raises(ValueError, match="closed"):
        buf.view()
    buf.close()  # idempotent


def test_a_forgotten_buffer_is_removed_when_collected(tmp_path: Path) -> None:
    buf = SharedBuffer(4096, directory=tmp_path)
    path = buf.path
    del buf
    gc.collect()
    assert not path.exists()


def test_segments_left_by_killed_processes_are_removed_by_the_next(tmp_path: Path) -> None:
    import subprocess
    import sys

    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    dead = tmp_path / f"ptpd-{int(child.stdout)}-0123456789ab"  # its process has exited
    dead.write_bytes(bytes(100))
    alive = tmp_path / f"ptpd-{os.getpid()}-0123456789ab"
    alive.write_bytes(bytes(100))
    other = tmp_path / "ptpd-not-a-buffer-name"
    other.write_bytes(bytes(100))
    with SharedBuffer(4096, directory=tmp_path) as buf:
        assert not dead.exists() and alive.exists() and other.exists() and buf.path.exists()


@pytest.mark.skipif(not SHM_DIR.is_dir(), reason="no /dev/shm")
def test_shared_buffer_reserves_its_memory_when_made() -> None:
    size = 3 << 20
    with SharedBuffer(size) as buf:  # in /dev/shm, where the daemon looks
        assert buf.path.parent == SHM_DIR
        assert buf.path.stat().st_blocks * 512 >= size  # every page allocated, none a hole


def test_where_pages_cannot_be_allocated_ahead_the_buffer_is_still_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    def unsupported(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))

    monkeypatch.setattr(os, "posix_fallocate", unsupported)
    with SharedBuffer(1 << 20, directory=tmp_path) as buf:
        assert buf.path.stat().st_size == 1 << 20
        buf.view(4)[:] = b"abcd"
        assert buf.path.read_bytes()[:4] == b"abcd"


def test_no_room_for_a_shared_buffer_is_an_error_when_it_is_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    def full(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", full)  # /dev/shm without room for it
    with pytest.raises(OSError) as exc:
        SharedBuffer(1 << 20, directory=tmp_path)
    assert exc.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []  # nothing left behind


def test_shared_buffer_refuses_a_size_of_zero(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="size"):
        SharedBuffer(0, directory=tmp_path)
    assert list(tmp_path.iterdir()) == []


# -- the daemon's side ------------------------------------------------------------------------


def make(tmp: Path, name: str, size: int) -> Path:
    p = tmp / name
    p.write_bytes(bytes(size))
    return p


def test_segments_are_mapped_once_and_written_through(tmp_path: Path) -> None:
    segs = SharedSegments(tmp_path)
    p = make(tmp_path, "ptpd-one", 4096)
    v = segs.view("ptpd-one")
    assert v is not None and len(v) == 4096
    v[:5] = b"hello"
    assert p.read_bytes()[:5] == b"hello"
    again = segs.view("ptpd-one")
    assert again is not None and again.obj is v.obj  # the same map
    del v, again
    segs.close()


def test_a_segment_made_again_is_mapped_again_and_a_gone_one_unmapped(tmp_path: Path) -> None:
    segs = SharedSegments(tmp_path)
    make(tmp_path, "ptpd-a", 4096)
    first = segs.view("ptpd-a")
    assert first is not None
    first_map = first.obj
    del first
    os.unlink(tmp_path / "ptpd-a")
    make(tmp_path, "ptpd-a", 8192)  # a new segment under the old name
    second = segs.view("ptpd-a")
    assert second is not None and len(second) == 8192 and second.obj is not first_map
    assert first_map.closed  # type: ignore[attr-defined]
    del second
    make(tmp_path, "ptpd-b", 100)
    assert segs.view("ptpd-b") is not None and len(segs) == 2
    os.unlink(tmp_path / "ptpd-a")
    assert segs.view("ptpd-b") is not None and len(segs) == 1  # ptpd-a's client let it go
    segs.close()
    assert len(segs) == 0


def test_at_most_max_mapped_segments_stay_mapped(tmp_path: Path) -> None:
    segs = SharedSegments(tmp_path, max_mapped=2)
    for n in "abc":
        make(tmp_path, f"ptpd-{n}", 100)
        assert segs.view(f"ptpd-{n}") is not None
    assert len(segs) == 2
    segs.close()


def test_what_cannot_be_a_segment_is_not_used(tmp_path: Path) -> None:
    segs = SharedSegments(tmp_path)
    assert segs.view("ptpd-missing") is None
    (tmp_path / "ptpd-dir").mkdir()
    assert segs.view("ptpd-dir") is None
    make(tmp_path, "ptpd-empty", 0)
    assert segs.view("ptpd-empty") is None
    target = make(tmp_path, "elsewhere", 100)
    (tmp_path / "ptpd-link").symlink_to(target)
    assert segs.view("ptpd-link") is None  # never follows a link out of the directory
    with pytest.raises(ValueError, match="shm must be"):
        segs.view("../ptpd-x")
    shared = make(tmp_path, "ptpd-one-of-two", 100)
    os.link(shared, tmp_path / "ptpd-hard-link")  # the same file under a second name
    assert segs.view("ptpd-one-of-two") is None and segs.view("ptpd-hard-link") is None
    assert len(segs) == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user takes root")
def test_another_users_segment_is_not_used(tmp_path: Path) -> None:
    segs = SharedSegments(tmp_path)
    theirs = make(tmp_path, "ptpd-theirs", 100)
    os.chown(theirs, 65534, 65534)
    assert segs.view("ptpd-theirs") is None
    os.chown(theirs, os.geteuid(), os.getegid())
    assert segs.view("ptpd-theirs") is not None  # the same file, ours again
    segs.close()


def test_a_download_cancelled_before_it_ran_leaves_the_buffer_free(gen: Daemon, obj_and_bytes: tuple[int, bytes]) -> None:
    handle, whole = obj_and_bytes

    async def go() -> None:
        async with AsyncClient(gen.eps["command"], timeout=20) as c:
            with SharedBuffer(len(whole)) as buf:
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(c.download(handle, into=buf), 0)  # cancelled before its first step
                d = await c.download(handle, into=buf)
                assert d.shared and bytes(d.data) == whole
                del d

    asyncio.run(asyncio.wait_for(go(), 30))
