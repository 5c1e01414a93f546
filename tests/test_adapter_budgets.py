"""A camera that floods small packets holds neither the event loop nor our memory.

A socket read is up to 256 KiB: 32,768 Probe Requests. Handed out in one go they held
the loop for a long while (every other task, the daemon's bus among them, waited), and
a camera that sends probes and never reads the answers grew our write buffer without
end (1.6 MB/s in the issue's run). The adapter hands out at most
``EVENTS_PER_TURN`` events a loop turn and drops its own answers while more than
``MAX_UNSENT`` bytes wait for a peer that is not reading.

The camera runs in a thread of its own with blocking sockets, so that the loop's lag
measured here is the initiator's alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time

from ptpd.protocol import packets as pk
from ptpd.protocol.adapter import MAX_UNSENT
from ptpd.protocol.initiator import PTPIPInitiator

GUID = bytes(range(16))
PROBES = pk.ProbeRequest().encode() * (256 * 1024 // 8)  # one full read of probes


def _read_packet(conn: socket.socket) -> bytes:
    head = b""
    while len(head) < 8:
        head += conn.recv(8 - len(head))
    body = b""
    need = int.from_bytes(head[:4], "little") - 8
    while len(body) < need:
        body += conn.recv(need - len(body))
    return head + body


class FloodingCamera(threading.Thread):
    """Acks both channels, then floods the event channel with probes and never reads."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # small kernel buffers, so that our answers back up within a second
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(2)
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.sent = 0
        self.conns: list[socket.socket] = []

    def run(self) -> None:
        with contextlib.suppress(OSError):
            for _ in range(2):
                conn, _ = self.listener.accept()
                self.conns.append(conn)
                p = pk.decode_packet(_read_packet(conn))
                if p.TYPE is pk.PacketType.INIT_COMMAND_REQUEST:
                    conn.sendall(pk.InitCommandAck(1, GUID, "flood").encode())
                else:
                    conn.sendall(pk.InitEventAck().encode())
                    conn.settimeout(0.5)
                    while not self.stop.is_set():
                        with contextlib.suppress(TimeoutError):
                            conn.sendall(PROBES)
                            self.sent += len(PROBES)

    def close(self) -> None:
        self.stop.set()
        for c in [*self.conns, self.listener]:
            with contextlib.suppress(OSError):
                c.close()
        self.join(5)


async def _flood(seconds: float = 3.0) -> tuple[float, int, int, int]:
    cam_thread = FloodingCamera()
    cam_thread.start()
    cam = PTPIPInitiator("127.0.0.1", cam_thread.port, timeout=5.0)
    lags: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        while not done.is_set():
            t = loop.time()
            await asyncio.sleep(0.002)
            lags.append(loop.time() - t - 0.002)

    try:
        await cam.connect()
        evt = cam._evt
        assert evt is not None and evt.transport is not None
        evt.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        tick = asyncio.create_task(ticker())
        unsent = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            unsent = max(unsent, evt.transport.get_write_buffer_size())
        done.set()
        await tick
        return max(lags), unsent, evt.answers_dropped, cam_thread.sent
    finally:
        done.set()
        cam_thread.stop.set()
        await cam.close(close_session=False)
        cam_thread.close()


def test_a_probe_flood_neither_stalls_the_loop_nor_grows_the_write_buffer():
    worst_lag, unsent, dropped, sent = asyncio.run(_flood())
    assert sent > 2 * MAX_UNSENT  # the camera did flood (8 bytes a probe and its answer)
    assert dropped > 0  # the flood did pass the budget: answers were dropped
    # before: 3.7 MB after 3 s and growing; now the mark and one turn's answers at most
    assert unsent <= MAX_UNSENT + len(PROBES)
    # one turn handles 64 probes (well under a millisecond); the bound leaves room for a
    # busy machine. Before: a 256 KiB read of probes held the loop ~0.5 s.
    assert worst_lag < 0.1, f"loop held for {worst_lag * 1000:.1f} ms"
