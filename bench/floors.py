"""The limits of this machine, measured the same way as ptpd: what no client can beat.

* ``rpc``: a bare pyzmq DEALER -> ROUTER echo in another process, msgpack both ways,
  request and reply the size of a ptpd ``get``, plus a configurable sleep standing in for
  the camera's per-transaction latency. The floor for a command round trip.
* ``startup``: ``python -c "import zmq, msgpack"``, the floor for any Python CLI.
* ``tcp``: a bare loopback socket streaming N bytes from memory to a reader; the limit
  for a download.
* ``stream``: a bare reader of the Fuji live-view socket (u32 length + 14-byte header +
  JPEG per frame); the limit for live-view fan-out (used by ``bench.fanout``).

Run ``python -m bench.floors [--quick]`` to print them; the other benchmarks import the
functions. The helper processes are this module's ``serve-*`` subcommands.
"""

from __future__ import annotations

import socket
import struct
import sys
import time
from pathlib import Path

from bench.common import (
    PYTHON,
    Proc,
    Result,
    Stats,
    Table,
    free_port,
    main_for,
    ms,
    run_timed,
    tempdir,
    wait_port,
)

#: what a ptpd ``get iso`` looks like on the bus (same sizes as the real thing)
GET_REQUEST = {"id": 1, "cmd": "get", "args": {"prop": "iso"}}
GET_REPLY = {"id": 1, "ok": True, "result": {"code": 0x500F, "name": "iso", "value": 400, "label": "400"}}


# -- rpc floor -------------------------------------------------------------------------------


def _serve_echo(endpoint: str, latency_ms: float) -> None:
    """ROUTER that answers each request after ``latency_ms`` with a get-sized reply."""
    import msgpack
    import zmq

    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.linger = 0
    sock.bind(endpoint)
    delay = latency_ms / 1000.0
    print("ready", flush=True)
    while True:
        frames = sock.recv_multipart()
        req = msgpack.unpackb(frames[-1], raw=False)
        if req.get("cmd") == "quit":
            break
        if delay:
            time.sleep(delay)
        rep = dict(GET_REPLY, id=req["id"])
        sock.send_multipart([*frames[:-1], msgpack.packb(rep, use_bin_type=True)])
    sock.close()
    ctx.term()


def rpc_floor(n: int, latency_ms: float = 0.0, transport: str = "ipc") -> list[float]:
    """Round-trip seconds of ``n`` get-sized requests to a bare echo ROUTER in another process."""
    import msgpack
    import zmq

    with tempdir() as d:
        endpoint = f"ipc://{d}/echo" if transport == "ipc" else f"tcp://127.0.0.1:{free_port()}"
        srv = Proc([PYTHON, "-m", "bench.floors", "serve-echo", endpoint, str(latency_ms)], cwd=Path(__file__).parent.parent)
        try:
            assert srv.popen.stdout is not None
            srv.popen.stdout.readline()  # "ready"
            ctx = zmq.Context()
            sock = ctx.socket(zmq.DEALER)
            sock.linger = 0
            sock.connect(endpoint)
            samples = []
            for i in range(n + 3):
                t0 = time.perf_counter()
                sock.send_multipart([b"", msgpack.packb(dict(GET_REQUEST, id=i), use_bin_type=True)])
                if not sock.poll(10_000):
                    raise TimeoutError("echo server did not answer")
                rep = msgpack.unpackb(sock.recv_multipart()[-1], raw=False)
                dt = time.perf_counter() - t0
                assert rep["id"] == i
                if i >= 3:  # first ones pay for the connection
                    samples.append(dt)
            sock.send_multipart([b"", msgpack.packb({"id": -1, "cmd": "quit"})])
            sock.close()
            ctx.term()
        finally:
            srv.stop()
    return samples


# -- start-up floor --------------------------------------------------------------------------


def startup_floor(n: int) -> list[float]:
    """Wall seconds of ``python -c "import zmq, msgpack"``, ``n`` times."""
    out = []
    for _ in range(n):
        dt, rc, text = run_timed([PYTHON, "-c", "import zmq, msgpack"], timeout=30)
        if rc != 0:
            raise RuntimeError(text)
        out.append(dt)
    return out


# -- tcp download limit ------------------------------------------------------------------------


def _serve_blast(port: int, nbytes: int) -> None:
    """Accept connections; send each one ``nbytes`` from memory, then close it."""
    payload = bytes(range(256)) * (nbytes // 256) + bytes(nbytes % 256)
    view = memoryview(payload)
    with socket.socket() as srv:
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", port))
        srv.listen(4)
        print("ready", flush=True)
        while True:
            conn, _ = srv.accept()
            with conn:
                cmd = conn.recv(16)
                if cmd.startswith(b"quit"):
                    return
                conn.sendall(view)


def tcp_limit(nbytes: int, repeats: int, *, fresh: bool = False) -> list[float]:
    """Seconds to read ``nbytes`` from a bare loopback socket into memory, ``repeats`` times.

    By default every read goes into the same buffer, whose pages are already mapped: the
    machine's ceiling. ``fresh=True`` reads each time into new memory (an anonymous map,
    so no zero-filling pass: the cheapest new memory there is), as a downloader that keeps
    what it read must.
    """
    import mmap

    port = free_port()
    srv = Proc([PYTHON, "-m", "bench.floors", "serve-blast", str(port), str(nbytes)], cwd=Path(__file__).parent.parent)
    samples = []
    try:
        assert srv.popen.stdout is not None
        srv.popen.stdout.readline()
        warm = bytearray(nbytes)
        for _ in range(repeats):
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                t0 = time.perf_counter()
                buf = mmap.mmap(-1, nbytes) if fresh else warm
                view = memoryview(buf)
                s.sendall(b"go")
                got = 0
                while got < nbytes:
                    k = s.recv_into(view[got:], min(nbytes - got, 1 << 20))
                    if not k:
                        raise ConnectionError(f"short read: {got} of {nbytes}")
                    got += k
                samples.append(time.perf_counter() - t0)
                view.release()
                if fresh:
                    buf.close()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"quit")
    finally:
        srv.stop()
    return samples


# -- Fuji live-view stream reader ---------------------------------------------------------------

#: Fuji live-view framing: u32 length (whole packet), 14-byte header, JPEG (SOI at byte 18)
LV_HEADER = 14


def read_lv_stream(host: str, port: int, *, frames: int, timeout: float = 20.0) -> tuple[list[float], list[int]]:
    """Read ``frames`` frames from a Fuji live-view socket as fast as they come.

    Returns the arrival time of each frame (perf_counter) and its JPEG size. Checks that
    every frame is a JPEG (SOI first); raises on anything else.
    """
    times: list[float] = []
    sizes: list[int] = []
    with socket.create_connection((host, port), timeout=timeout) as s:
        buf = bytearray()
        deadline = time.monotonic() + timeout
        while len(times) < frames:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(times)} of {frames} frames in {timeout}s")
            while len(buf) >= 4:
                (length,) = struct.unpack_from("<I", buf)
                if length < 4 + LV_HEADER + 2 or length > 64 << 20:
                    raise ValueError(f"absurd live-view packet length {length}")
                if len(buf) < length:
                    break
                jpeg = buf[4 + LV_HEADER : length]
                if jpeg[:2] != b"\xff\xd8":
                    raise ValueError("live-view frame does not start with a JPEG SOI")
                times.append(time.perf_counter())
                sizes.append(len(jpeg))
                del buf[:length]
                if len(times) >= frames:
                    break
            else:
                pass
            if len(times) >= frames:
                break
            chunk = s.recv(1 << 20)
            if not chunk:
                raise ConnectionError(f"stream closed after {len(times)} frames")
            buf += chunk
    return times, sizes


def fps_of(times: list[float]) -> float:
    if len(times) < 2:
        return float("nan")
    return (len(times) - 1) / (times[-1] - times[0])


# -- the benchmark ------------------------------------------------------------------------------


def run(quick: bool) -> Result:
    n = 20 if quick else 200
    res = Result(
        "floors",
        "Floors: the limits of this machine",
        "bare pyzmq DEALER/ROUTER echo (get-sized msgpack, other process) at 0 and 15 ms latency; "
        "`python -c \"import zmq, msgpack\"`; a bare loopback socket reading bytes from memory",
    )
    t = Table("Floors", ["what", "n", "median ms", "p99 ms", "per second"])
    for lat in (0.0, 15.0):
        for tr in ("ipc", "tcp"):
            s = Stats.of(rpc_floor(n if lat == 0 else max(10, n // 10), lat, tr))
            t.rows.append([f"rpc echo {tr}, latency {lat:g} ms", s.n, ms(s.median), ms(s.p99), f"{1 / s.median:.0f} req/s"])
            res.raw[f"rpc_{tr}_{lat:g}ms"] = s
    s = Stats.of(startup_floor(3 if quick else 15))
    t.rows.append(["python -c 'import zmq, msgpack'", s.n, ms(s.median), ms(s.p99), ""])
    res.raw["startup"] = s
    size = (8 if quick else 50) * 1_000_000
    s = Stats.of(tcp_limit(size, 2 if quick else 5))
    t.rows.append([f"bare tcp read of {size / 1e6:g} MB", s.n, ms(s.median), ms(s.p99), f"{size / s.median / 1e6:.0f} MB/s"])
    res.raw["tcp"] = {"bytes": size, "stats": s}
    res.tables.append(t)
    return res


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "serve-echo":
        _serve_echo(argv[1], float(argv[2]))
        return 0
    if argv and argv[0] == "serve-blast":
        _serve_blast(int(argv[1]), int(argv[2]))
        return 0
    return main_for(run, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
