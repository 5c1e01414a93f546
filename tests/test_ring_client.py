"""Live-view frames through the daemon's frame ring, against real daemon processes: the
ring is advertised and read by default, readers count as watchers, latest-frame
semantics on both transports, the asyncio client, a daemon without a ring, refusals,
and a stream that outlives a daemon restart."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_client_daemon import Daemon, daemon  # noqa: F401  (module-scoped fixture)

from ptpd.framering import ring_path
from ptpd_client import AsyncClient, Client, ClientError, Frame


def _wait_for(pred, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_version_advertises_the_ring_where_the_socket_says(daemon: Daemon) -> None:  # noqa: F811
    with daemon.client(timeout=10.0) as c:
        path = c.version().liveview_ring
    assert path == ring_path(daemon.endpoints["liveview"])
    st = os.stat(path)
    assert st.st_uid == os.geteuid() and st.st_mode & 0o777 == 0o600  # its run dir is 0700


@pytest.mark.parametrize("transport", ["ring", "bus"])
def test_latest_frame_semantics_on_both_transports(daemon: Daemon, transport: str) -> None:  # noqa: F811
    with daemon.client(timeout=10.0) as c, c.frames(timeout=10.0, transport=transport) as frames:
        assert frames.transport == transport
        f1 = next(frames)
        assert isinstance(f1, Frame) and f1.jpeg[:2] == b"\xff\xd8" and f1.jpeg[-2:] == b"\xff\xd9"
        assert f1.width == 640 and f1.meta["size"] == len(f1.jpeg)
        # the ring builds its frames straight into the slots: the same frozen Frame
        assert f1 == Frame(f1.seq, f1.jpeg, f1.width, f1.height, f1.meta, f1.dropped, f1.received)
        with pytest.raises(dataclasses.FrozenInstanceError):
            f1.seq = 0  # type: ignore[misc]
        time.sleep(0.6)  # a slow consumer: ~18 frames are published meanwhile
        f2 = next(frames)
        assert f2.seq - f1.seq >= 5 and f2.dropped == f2.seq - f1.seq - 1
        assert frames.replaced >= f2.dropped


def test_auto_reads_the_ring_and_ring_readers_are_watchers(daemon: Daemon) -> None:  # noqa: F811
    with daemon.client(timeout=10.0) as c:
        with c.frames(timeout=10.0) as frames:
            assert frames.transport == "ring"
            next(frames)
            lv = c.status().liveview
            assert lv.ring_readers == 1 and lv.subscribers >= 1 and lv.on
        assert _wait_for(lambda: c.status().liveview.ring_readers == 0)


def test_a_socket_reader_joining_ring_readers_gets_frames_and_both_go_on(daemon: Daemon) -> None:  # noqa: F811
    """With ring readers alone the daemon sends nothing on the socket; a socket reader who
    joins starts the frames there, and the ring keeps going beside it."""
    with daemon.client(timeout=10.0) as c, c.frames(timeout=10.0, transport="ring") as ring:
        first = next(ring).seq
        with c.frames(timeout=10.0, transport="bus") as bus:
            got = [next(bus) for _ in range(3)]
            assert all(f.jpeg[:2] == b"\xff\xd8" for f in got) and got[0].seq > first
            assert next(ring).seq > first
        after = next(ring).seq  # the socket reader left: the ring still runs
        assert after >= got[-1].seq


def test_the_asyncio_client_reads_the_ring(daemon: Daemon) -> None:  # noqa: F811
    async def main() -> None:
        async with AsyncClient(daemon.endpoints["command"], timeout=10.0) as c:
            frames = await c.frames(timeout=10.0)
            assert frames.transport == "ring"
            seqs = [(await frames.get(10.0)).seq for _ in range(3)]
            assert seqs == sorted(set(seqs))
            await frames.aclose()
            bus_frames = await c.frames(timeout=10.0, transport="bus")
            assert bus_frames.transport == "bus" and (await bus_frames.get(10.0)).jpeg[:2] == b"\xff\xd8"
            await bus_frames.aclose()

    asyncio.run(main())


def test_bad_transport_and_ring_out_of_reach_are_clear_errors(daemon: Daemon) -> None:  # noqa: F811
    with daemon.client(timeout=10.0) as c, pytest.raises(ValueError, match="transport must be one of auto, ring, bus"):
        c.frames(transport="shm")
    # a live-view socket reached over TCP may be on another machine: no ring
    with Client(daemon.endpoints["command"], daemon.endpoints["event"], "tcp://127.0.0.1:9", timeout=2.0) as c:
        with pytest.raises(ClientError, match="no live-view frame ring"):
            c.frames(transport="ring")


@pytest.fixture
def ringless(tmp_path: Path) -> Iterator[Daemon]:
    d = Daemon(tmp_path / "ringless", extra=("--no-liveview-ring",))
    try:
        d.wait_connected()
        yield d
    finally:
        assert d.stop() == 0


def test_a_daemon_without_a_ring_serves_frames_on_the_socket(ringless: Daemon) -> None:
    with ringless.client(timeout=10.0) as c:
        assert c.version().liveview_ring is None
        assert not os.path.exists(ring_path(ringless.endpoints["liveview"]))
        with c.frames(timeout=10.0) as frames:
            assert frames.transport == "bus" and next(frames).jpeg[:2] == b"\xff\xd8"
        with pytest.raises(ClientError, match="no live-view frame ring"):
            c.frames(transport="ring")


def test_a_ring_stream_outlives_a_daemon_restart(tmp_path: Path) -> None:
    d = Daemon(tmp_path / "restart")
    try:
        d.wait_connected()
        path = ring_path(d.endpoints["liveview"])
        with d.client(timeout=10.0) as c, c.frames(timeout=20.0) as frames:
            before = next(frames)
            first = os.stat(path).st_ino
            assert d.stop() == 0
            assert not os.path.exists(path)  # removed on a clean stop
            d = Daemon(tmp_path / "restart")  # same endpoints, same ring path
            after = next(frames)  # the stream found the new ring by itself
            assert frames.transport == "ring" and after.jpeg[:2] == b"\xff\xd8"
            assert os.stat(path).st_ino != first
            assert after.meta["t_camera"] > before.meta["t_camera"]
    finally:
        d.stop()


_CLOSE_RACE = """
import sys, threading
from ptpd_client import Client
for _ in range(5):
    with Client(sys.argv[1], timeout=10.0) as c:
        frames = c.frames(timeout=10.0, transport="ring")
        got, ended = [], threading.Event()
        def read():
            try:
                for f in frames:
                    got.append(f.seq)
            finally:
                ended.set()
        t = threading.Thread(target=read)
        t.start()
        while not got:
            t.join(0.01)
        frames.close()  # from another thread, while the reader waits in the ring
        assert ended.wait(5.0), "the reading thread did not end"
        t.join(5.0)
print("ok")
"""


def test_closing_a_ring_stream_from_another_thread_ends_its_reader(daemon: Daemon) -> None:  # noqa: F811
    import subprocess
    import sys

    # a process of its own: unmapping under a read would kill it (SIGSEGV), not the suite
    p = subprocess.run([sys.executable, "-c", _CLOSE_RACE, daemon.endpoints["command"]], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr[-2000:]


def test_get_with_no_wait_takes_a_frame_that_is_there(daemon: Daemon) -> None:  # noqa: F811
    from ptpd_client import RequestTimeout

    with daemon.client(timeout=10.0) as c, c.frames(timeout=10.0, transport="ring") as frames:
        next(frames)
        got = 0
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and got < 3:
            try:
                frames.get(0)
                got += 1
            except RequestTimeout:
                time.sleep(0.01)
        assert got == 3


def test_a_broad_socket_subscriber_is_no_ring_reader(daemon: Daemon) -> None:  # noqa: F811
    import zmq

    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.linger = 0
    sub.setsockopt(zmq.SUBSCRIBE, b"")  # everything on the live-view socket
    sub.connect(daemon.endpoints["liveview"])
    try:
        assert sub.poll(10000)  # frames flow to it
        with daemon.client(timeout=10.0) as c:
            lv = c.status().liveview
            assert lv.subscribers >= 1 and lv.ring_readers == 0
    finally:
        sub.close(0)
        ctx.term()


_TWO_READERS = """
import os, sys, threading, time
from ptpd_client import Client, RequestTimeout
c = Client(sys.argv[1], timeout=10.0)
frames = c.frames(timeout=1.0, transport="ring")
stop = threading.Event()
counts = [0, 0]
def read(i):
    while not stop.is_set():
        try:
            frames.get(1.0)
            counts[i] += 1
        except (RequestTimeout, StopIteration):
            pass
threads = [threading.Thread(target=read, args=(i,)) for i in range(2)]
for t in threads:
    t.start()
print("reading", flush=True)
sys.stdin.readline()  # the daemon was replaced meanwhile
before = sum(counts)
deadline = time.monotonic() + 20
while sum(counts) == before and time.monotonic() < deadline:
    time.sleep(0.05)
stop.set()
frames.close()
for t in threads:
    t.join(5)
c.close()
print("ok" if sum(counts) > before else "no frames after the restart", flush=True)
"""


def test_two_threads_reading_one_ring_stream_survive_a_daemon_replaced(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    d = Daemon(tmp_path / "twice")
    p = None
    try:
        d.wait_connected()
        p = subprocess.Popen([sys.executable, "-c", _TWO_READERS, d.endpoints["command"]], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "reading"
        time.sleep(0.5)
        d.proc.popen.send_signal(signal.SIGKILL)  # no clean close: the ring is replaced, not closed
        d.proc.popen.wait(10)
        d.stop()
        for leftover in ("command", "event", "liveview"):
            (tmp_path / "twice" / "run" / leftover).unlink(missing_ok=True)
        d = Daemon(tmp_path / "twice")
        p.stdin.write("go\n")
        p.stdin.flush()
        out, _ = p.communicate(timeout=60)
        assert p.returncode == 0 and out.strip() == "ok", (p.returncode, out)
    finally:
        if p is not None and p.poll() is None:
            p.kill()
            p.wait(5)
        d.stop()


def test_a_feed_leaves_a_ring_that_still_gets_frames_for_a_newer_one(tmp_path: Path) -> None:
    """An old daemon that goes on writing its ring after a new one took the name (and the
    socket) does not keep its readers: they look now and then while frames flow, and move."""
    import threading

    import zmq

    from ptpd.framering import FrameRingWriter
    from ptpd_client._ring import _RECHECK_FLOWING, RingFeed

    ctx = zmq.Context()
    watchers = ctx.socket(zmq.XPUB)
    watchers.linger = 0
    endpoint = f"ipc://{tmp_path}/liveview"
    watchers.bind(endpoint)
    path = f"/dev/shm/ptpdring-test-{os.getpid()}-flowing"
    stop = threading.Event()
    writers: list[threading.Thread] = []

    def stream(w: FrameRingWriter, tag: bytes) -> None:
        seq = 0
        while not stop.is_set():
            seq += 1
            w.write(tag, seq, seq, time.monotonic(), time.monotonic(), time.time(), 640, 480)
            time.sleep(1 / 30)

    old = FrameRingWriter(path)
    new = None
    feed = RingFeed(path, ctx, endpoint)
    try:
        writers.append(threading.Thread(target=stream, args=(old, b"old"), daemon=True))
        writers[-1].start()
        first = feed.get(5.0)
        assert first is not None and first.jpeg == b"old"
        reading = time.monotonic()
        while time.monotonic() - reading < 1.5:  # reading for a while: frames flow
            first = feed.get(5.0)
            assert first is not None and first.jpeg == b"old"
        new = FrameRingWriter(path)  # the name now holds a new ring; the old one still gets frames
        writers.append(threading.Thread(target=stream, args=(new, b"new"), daemon=True))
        writers[-1].start()
        t0 = time.monotonic()
        frame = first
        while frame is not None and frame.jpeg == b"old" and time.monotonic() - t0 < 10.0:
            frame = feed.get(5.0)
        assert frame is not None and frame.jpeg == b"new"
        assert time.monotonic() - t0 < _RECHECK_FLOWING + 2.0
    finally:
        stop.set()
        for t in writers:
            t.join(5)
        feed.close()
        old.close()
        if new is not None:
            new.close()
        watchers.close(0)
        ctx.term()
