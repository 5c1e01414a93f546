"""Live-view frame streams of the Python client against real daemon processes: readers
count as watchers (a broad subscriber too), a stream closed from another thread ends its
reader, ``get(0)`` takes a frame that is there, and a stream outlives its daemon being
stopped, or killed, and started again."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import zmq

from ptpd_client import FrameStream, RequestTimeout
from test_client_daemon import Daemon


def _wait_for(pred, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_socket_readers_are_watchers(daemon: Daemon) -> None:
    with daemon.client(timeout=10.0) as c:
        with c.frames(timeout=10.0) as frames:
            next(frames)
            lv = c.status().liveview
            assert lv.subscribers == 1 and lv.on
        assert _wait_for(lambda: c.status().liveview.subscribers == 0)


def test_a_broad_subscriber_is_a_watcher(daemon: Daemon) -> None:
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.linger = 0
    sub.setsockopt(zmq.SUBSCRIBE, b"")  # everything on the live-view socket
    sub.connect(daemon.endpoints["liveview"])
    try:
        assert sub.poll(10000)  # frames flow to it: live view runs for it alone
        with daemon.client(timeout=10.0) as c:
            lv = c.status().liveview
            assert lv.subscribers == 1 and lv.on
    finally:
        sub.close(0)
        ctx.term()


def test_closing_a_stream_from_another_thread_ends_its_reader(daemon: Daemon) -> None:
    with daemon.client(timeout=10.0) as c:
        for _ in range(3):
            frames = c.frames(timeout=10.0)
            got: list[int] = []
            ended = threading.Event()

            def read(frames: FrameStream, got: list[int], ended: threading.Event) -> None:
                try:
                    for f in frames:
                        got.append(f.seq)
                finally:
                    ended.set()

            t = threading.Thread(target=read, args=(frames, got, ended))
            t.start()
            assert _wait_for(lambda got=got: bool(got))
            frames.close()  # from this thread, while the reader waits for the next frame
            assert ended.wait(5.0), "the reading thread did not end"
            t.join(5.0)


def test_get_with_no_wait_takes_a_frame_that_is_there(daemon: Daemon) -> None:
    with daemon.client(timeout=10.0) as c, c.frames(timeout=10.0) as frames:
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


def _drain(frames) -> None:
    """Take what the stopped daemon sent: the next frame can only be the new one's."""
    while True:
        try:
            frames.get(0.5)
        except RequestTimeout:
            return


def test_a_stream_outlives_its_daemon_stopped_or_killed(tmp_path: Path) -> None:
    """The same endpoints served again: the stream's socket reconnects and subscribes by
    itself, after a clean stop and after a SIGKILL that left the socket files behind."""
    d = Daemon(tmp_path / "restart")
    try:
        d.wait_connected()
        with d.client(timeout=10.0) as c, c.frames(timeout=20.0) as frames:
            before = next(frames)
            assert d.stop() == 0
            _drain(frames)
            d = Daemon(tmp_path / "restart")
            after = next(frames)
            assert after.jpeg[:2] == b"\xff\xd8" and after.meta["t_camera"] > before.meta["t_camera"]
            d.proc.popen.send_signal(signal.SIGKILL)
            d.proc.popen.wait(10)
            d.stop()
            _drain(frames)
            for leftover in ("command", "event", "liveview"):
                (tmp_path / "restart" / "run" / leftover).unlink(missing_ok=True)
            d = Daemon(tmp_path / "restart")
            again = next(frames)
            assert again.jpeg[:2] == b"\xff\xd8" and again.meta["t_camera"] > after.meta["t_camera"]
    finally:
        d.stop()
