"""The limits of this machine, measured the same way as ptpd: what no client can beat.

* ``rpc``: a bare pyzmq DEALER -> ROUTER echo in another process, msgpack both ways,
  request and reply the size of a ptpd ``get``, plus a configurable sleep standing in for
  the camera's per-transaction latency. The floor for a command round trip.
* ``startup``: ``python -c "import zmq, msgpack"``, the floor for any Python CLI.
* ``tcp``: a bare loopback socket streaming N bytes from memory to a reader; the limit
  for a download.
* ``object``: a bare PTP/IP reader of one object from a camera (:func:`read_object`):
  init, OpenSession, one GetObject whose data is read straight into a buffer; the limit
  a camera's own link sets.
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
from collections.abc import Callable
from pathlib import Path

from ptpd.protocol.codes import OperationCode, ResponseCode
from ptpd.protocol.packets import PacketType

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
    """Accept connections; on each, send ``nbytes`` from memory for every ``g`` received,
    until the peer closes (or sends ``q``: then stop serving)."""
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
                while (cmd := conn.recv(1)) == b"g":
                    conn.sendall(view)
                if cmd == b"q":
                    return


class TcpLimit:
    """A bare loopback socket reading ``nbytes`` from memory, one run at a time (so that a
    benchmark can alternate it, run by run, with the side it is compared with).

    By default every read goes into the same buffer, whose pages are already mapped: the
    machine's ceiling. All runs share one connection (its windows grown by the first, as a
    camera's long-lived one is), and each read takes all the socket has. ``fresh=True``
    reads each time into new memory (an anonymous map, so no zero-filling pass: the
    cheapest new memory there is), as a downloader that keeps what it read must.
    ``after(bytes read)`` runs after each run, untimed (a benchmark's sides all do the
    same work there, e.g. hash what they got). ``cpus``: the cores the sender runs on
    (the camera's, when a benchmark gives the camera its own: see
    :class:`bench.common.CoreSplit`).
    """

    def __init__(
        self,
        nbytes: int,
        *,
        fresh: bool = False,
        after: Callable[[memoryview], object] | None = None,
        cpus: frozenset[int] | None = None,
    ) -> None:
        self.nbytes, self.fresh, self.after = nbytes, fresh, after
        port = free_port()
        self.srv = Proc([PYTHON, "-m", "bench.floors", "serve-blast", str(port), str(nbytes)], cwd=Path(__file__).parent.parent, cpus=cpus)
        try:
            assert self.srv.popen.stdout is not None
            self.srv.popen.stdout.readline()
            self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        except BaseException:
            self.srv.stop()
            raise
        self.warm = bytearray(nbytes)

    def run(self) -> float:
        """Seconds for one read of the whole ``nbytes``."""
        import mmap

        t0 = time.perf_counter()
        buf = mmap.mmap(-1, self.nbytes) if self.fresh else self.warm
        view = memoryview(buf)
        self.sock.sendall(b"g")
        _recv_into(self.sock, view)
        dt = time.perf_counter() - t0
        if self.after is not None:
            self.after(view)
        view.release()
        if buf is not self.warm:
            buf.close()
        return dt

    def close(self) -> None:
        try:
            self.sock.sendall(b"q")
            self.sock.close()
        finally:
            self.srv.stop()

    def __enter__(self) -> TcpLimit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def tcp_limit(
    nbytes: int,
    repeats: int,
    *,
    fresh: bool = False,
    after: Callable[[memoryview], object] | None = None,
    cpus: frozenset[int] | None = None,
) -> list[float]:
    """Seconds to read ``nbytes`` from a bare loopback socket, ``repeats`` runs of
    :class:`TcpLimit` (see there)."""
    with TcpLimit(nbytes, fresh=fresh, after=after, cpus=cpus) as limit:
        return [limit.run() for _ in range(repeats)]


# -- bare PTP/IP object reader -----------------------------------------------------------------


def _recv_into(sock: socket.socket, view: memoryview) -> None:
    """Fill ``view`` from ``sock``, each read taking all the socket has (up to what is left)."""
    got, n = 0, len(view)
    while got < n:
        k = sock.recv_into(view[got:])
        if not k:
            raise ConnectionError(f"the peer closed the connection ({got} of {n} bytes)")
        got += k


def _recv_exact(sock: socket.socket, n: int) -> bytearray:
    buf = bytearray(n)
    _recv_into(sock, memoryview(buf))
    return buf


class BareObjectReader:
    """The least a PTP/IP host can do to read an object: no state machine, no events, no
    checks beyond the packet types; a data phase goes straight into one buffer.

    Requests are encoded with ptpd's packet classes (a few bytes each); everything the
    camera sends is read raw.
    """

    def __init__(self, host: str, port: int) -> None:
        from ptpd.protocol import packets as pk

        self.pk = pk
        self.cmd = socket.create_connection((host, port), timeout=30)
        self.cmd.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.cmd.sendall(pk.InitCommandRequest(bytes(range(16)), "ptpd-bench-bare").encode())
        ack = pk.decode_packet(self._packet())
        self.evt = socket.create_connection((host, port), timeout=30)
        self.evt.sendall(pk.InitEventRequest(ack.connection_number).encode())  # type: ignore[attr-defined]
        self._packet(self.evt)
        self.tid = 0
        self.transaction(OperationCode.OpenSession, 1)

    def _packet(self, sock: socket.socket | None = None) -> bytearray:
        sock = sock or self.cmd
        head = _recv_exact(sock, 8)
        (length,) = struct.unpack_from("<I", head)
        return head + _recv_exact(sock, length - 8)

    def transaction(self, code: int, *params: int, into: memoryview | None = None) -> tuple[int, int]:
        """Run one operation; data-in goes into ``into`` (or is dropped). Returns
        ``(response code, data bytes)``."""
        self.tid += 1
        self.cmd.sendall(self.pk.OperationRequest(1, code, self.tid, params).encode())
        got = 0
        while True:
            head = _recv_exact(self.cmd, 8)
            length, ptype = struct.unpack("<II", head)
            if ptype in (PacketType.DATA, PacketType.END_DATA):  # the payload goes into place
                _recv_exact(self.cmd, 4)
                n = length - 12
                if into is not None:
                    _recv_into(self.cmd, into[got : got + n])
                else:
                    _recv_exact(self.cmd, n)
                got += n
                continue
            body = _recv_exact(self.cmd, length - 8)
            if ptype == PacketType.OPERATION_RESPONSE:
                return struct.unpack_from("<H", body)[0], got
            # Start Data and anything else: nothing to keep

    def data(self, code: int, *params: int, size: int = 1 << 20) -> bytes:
        buf = bytearray(size)
        rc, n = self.transaction(code, *params, into=memoryview(buf))
        if rc != ResponseCode.OK:
            raise RuntimeError(f"operation 0x{code:04X} answered 0x{rc:04X}")
        return bytes(buf[:n])

    def largest_object(self) -> tuple[int, int]:
        """``(handle, size)`` of the biggest object on the card."""
        raw = self.data(OperationCode.GetObjectHandles, 0xFFFFFFFF, 0, 0)
        (count,) = struct.unpack_from("<I", raw)
        best = (0, -1)
        for handle in struct.unpack_from(f"<{count}I", raw, 4):
            info = self.data(OperationCode.GetObjectInfo, handle)  # ObjectCompressedSize at byte 8
            size = struct.unpack_from("<I", info, 8)[0]
            if size > best[1]:
                best = (handle, size)
        return best

    def close(self) -> None:
        try:
            self.transaction(OperationCode.CloseSession)
        finally:
            self.cmd.close()
            self.evt.close()


def read_object(
    host: str, port: int, repeats: int, after: Callable[[memoryview], object] | None = None, *, reuse: bool = False
) -> tuple[list[float], int]:
    """Seconds for one GetObject of the camera's largest object, ``repeats`` times, read
    by :class:`BareObjectReader` into new memory each run (``reuse``: into one buffer,
    its pages mapped by the runs before); and the object's size. ``after(bytes read)``
    runs between runs, untimed."""
    import mmap

    reader = BareObjectReader(host, port)
    try:
        handle, size = reader.largest_object()
        samples = []
        warm = mmap.mmap(-1, size) if reuse else None
        if warm is not None:
            warm.write(bytes(size))  # map its pages before the first run, as the limit's are
        for _ in range(repeats):
            t0 = time.perf_counter()
            buf = warm if warm is not None else mmap.mmap(-1, size)
            view = memoryview(buf)
            rc, n = reader.transaction(OperationCode.GetObject, handle, into=view)
            samples.append(time.perf_counter() - t0)
            if after is not None:
                after(view)
            view.release()
            if buf is not warm:
                buf.close()
            if rc != ResponseCode.OK or n != size:
                raise RuntimeError(f"GetObject answered 0x{rc:04X} with {n} of {size} bytes")
        if warm is not None:
            warm.close()
        return samples, size
    finally:
        reader.close()


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
