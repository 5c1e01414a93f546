"""A camera link the kernel enforces: two network namespaces, a veth pair, a ``tbf`` rate.

The simulated camera runs in one namespace (address :data:`CAMERA_IP`), the host side
(the daemon, gphoto2, ptpctl) in the other (:data:`HOST_IP`); a veth pair joins them and
nothing else is in either namespace, so no address of the benchmark exists outside them.
Each end's egress goes through ``tc`` ``tbf`` at the profile's rate, with a queue bound
of the profile's ``queue_ms`` (the kernel here has no ``netem``: the camera's time to
answer, 5-20 ms on Wi-Fi, is the simulator's own per-transaction delay, see
:attr:`Profile.answer_ms`).

Everything made is removed on :meth:`Link.close` (and on leaving the ``with`` block,
Ctrl-C included), each command under a timeout; :func:`sweep` removes what a killed run
left behind (names carry the pid of the process that made them, and only namespaces of
processes that are gone are touched). :class:`LinkMeter` samples the bytes the camera's
end has sent, so a transfer's rate over time is read off the link itself, the same way
for every client.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

#: the camera's address (a Fuji body as an access point has 192.168.0.1), and the host's
CAMERA_IP = "192.168.0.1"
HOST_IP = "192.168.0.2"
PREFIX = 24
NETNS_DIR = "/run/netns"
#: every namespace this module makes is named ``ptpdl<pid>-<n>-cam`` / ``-host``
_NAME = re.compile(r"^ptpdl(\d+)-\d+-(cam|host)$")
_counter = itertools.count(1)
COMMAND_TIMEOUT = 10.0


@dataclass(frozen=True)
class Profile:
    """One kind of camera link."""

    name: str
    title: str
    mbit: float  #: the link's rate, Mbit/s (tbf on each end)
    answer_ms: tuple[float, float]  #: the camera's time to answer a transaction, uniform in [min, max]
    queue_ms: float  #: tbf's latency bound: the longest a packet waits in the link's queue

    @property
    def bytes_per_s(self) -> float:
        return self.mbit * 1e6 / 8

    @property
    def burst(self) -> int:
        """tbf bucket, bytes: half a millisecond at the rate, at least two full frames.
        A bigger bucket would let a live-view frame (20-70 KB) cross a Wi-Fi link at once,
        where the radio takes milliseconds; below half a millisecond at a gigabit the
        kernel's timer, not the rate, sets the pace (measured: 0.71 of the rate with a
        3 KB bucket at 1 Gbit/s, 0.96 at 64 KB; 0.96 at 50 Mbit/s with 3 KB)."""
        return max(2 * 1514, int(self.bytes_per_s * 0.0005))

    def describe(self) -> str:
        lo, hi = self.answer_ms
        return (
            f"{self.title}: {self.mbit:g} Mbit/s, camera answers in {lo:g}-{hi:g} ms, queue bound {self.queue_ms:g} ms"
        )


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        # 1x1 802.11n on 20 MHz: about 50 Mbit/s usable (docs/performance.md); a camera's
        # access point answers a transaction in 5-20 ms
        Profile("wifi-n", "Wi-Fi 802.11n", 50.0, (5.0, 20.0), 20.0),
        Profile("wifi-ac", "Wi-Fi 802.11ac", 200.0, (2.0, 8.0), 10.0),
        # studio bodies on wired Ethernet, or USB-class links
        Profile("wired", "Ethernet/USB class", 1000.0, (0.5, 2.0), 5.0),
    )
}


def available() -> str | None:
    """None when links can be made here, else why not (no root, no ``ip``/``tc``/``nsenter``)."""
    if os.geteuid() != 0:
        return "making network namespaces needs root"
    missing = [c for c in ("ip", "tc", "nsenter") if shutil.which(c) is None]
    if missing:
        return f"missing commands: {', '.join(missing)} (Debian: iproute2, util-linux)"
    return None


def _run(
    args: Sequence[str], *, check: bool = True, timeout: float = COMMAND_TIMEOUT, cwd: Any = None
) -> subprocess.CompletedProcess[str]:
    cp = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, cwd=cwd)
    if check and cp.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({cp.returncode}): {cp.stderr.strip()}")
    return cp


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep() -> list[str]:
    """Delete the namespaces a run of this module left behind (its process is gone); the
    names deleted. A live process's namespaces are never touched."""
    if shutil.which("ip") is None:
        return []
    try:
        out = _run(["ip", "netns", "list"], check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gone = []
    for line in out.splitlines():
        name = line.split()[0] if line.strip() else ""
        m = _NAME.match(name)
        if m and not _alive(int(m.group(1))):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                _run(["ip", "netns", "del", name], check=False)
                gone.append(name)
    return gone


class Link:
    """Two namespaces joined by a veth pair whose ends send at the profile's rate.

    ``camera(args)`` / ``host(args)`` wrap a command so it runs in that namespace
    (``nsenter --net``: it execs, so the pid stays the command's own).
    """

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        n = next(_counter)
        pid = os.getpid()
        self.cam_ns = f"ptpdl{pid}-{n}-cam"
        self.host_ns = f"ptpdl{pid}-{n}-host"
        self.cam_if = f"pl{pid}c{n}"[:15]
        self.host_if = f"pl{pid}h{n}"[:15]
        self.made: list[str] = []
        #: a process that only sleeps in the camera's namespace: /proc/PID/net/dev of it
        #: shows the camera's end of the link (:meth:`tx_bytes`, :class:`LinkMeter`)
        self.anchor: subprocess.Popen[bytes] | None = None

    # -- life cycle ------------------------------------------------------------------------

    def create(self) -> Link:
        sweep()
        p = self.profile
        try:
            for ns in (self.cam_ns, self.host_ns):
                _run(["ip", "netns", "add", ns])
                self.made.append(ns)
            _run(
                [
                    "ip",
                    "link",
                    "add",
                    self.cam_if,
                    "netns",
                    self.cam_ns,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    self.host_if,
                    "netns",
                    self.host_ns,
                ]
            )
            for ns, dev, ip in ((self.cam_ns, self.cam_if, CAMERA_IP), (self.host_ns, self.host_if, HOST_IP)):
                _run(["ip", "-n", ns, "addr", "add", f"{ip}/{PREFIX}", "dev", dev])
                _run(["ip", "-n", ns, "link", "set", "lo", "up"])
                _run(["ip", "-n", ns, "link", "set", dev, "up"])
                _run(
                    [
                        "tc",
                        "-n",
                        ns,
                        "qdisc",
                        "replace",
                        "dev",
                        dev,
                        "root",
                        "tbf",
                        "rate",
                        f"{p.mbit:g}mbit",
                        "burst",
                        str(p.burst),
                        "latency",
                        f"{p.queue_ms:g}ms",
                    ]
                )
            self.wait_carrier()
            self.anchor = subprocess.Popen(
                self.camera(["sleep", "86400"]),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                start_new_session=True,
            )
            deadline = time.monotonic() + COMMAND_TIMEOUT
            while True:  # nsenter has joined the namespace once the interface is in its view
                with contextlib.suppress(OSError, KeyError):
                    self.tx_bytes()
                    break
                if time.monotonic() > deadline or self.anchor.poll() is not None:
                    raise RuntimeError("could not start a process in the camera's namespace")
                time.sleep(0.005)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Remove both namespaces (the veth pair goes with them). Never raises."""
        if self.anchor is not None:
            with contextlib.suppress(OSError):
                self.anchor.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.anchor.wait(COMMAND_TIMEOUT)
            self.anchor = None
        for ns in reversed(self.made):
            with contextlib.suppress(OSError, subprocess.SubprocessError, RuntimeError):
                _run(["ip", "netns", "del", ns], check=False)
        self.made.clear()

    def __enter__(self) -> Link:
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- running inside ------------------------------------------------------------------------

    def camera(self, args: Sequence[str]) -> list[str]:
        return ["nsenter", f"--net={NETNS_DIR}/{self.cam_ns}", "--", *args]

    def host(self, args: Sequence[str]) -> list[str]:
        return ["nsenter", f"--net={NETNS_DIR}/{self.host_ns}", "--", *args]

    # -- outages ---------------------------------------------------------------------------------

    def down(self) -> None:
        """The link is lost: the camera's end goes down (the host's loses its carrier);
        what is in flight is dropped, nothing tells either side."""
        _run(["ip", "-n", self.cam_ns, "link", "set", self.cam_if, "down"])

    def up(self) -> None:
        """The link is back; returns once both ends have their carrier."""
        _run(["ip", "-n", self.cam_ns, "link", "set", self.cam_if, "up"])
        self.wait_carrier()

    def wait_carrier(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            states = [
                _run(["ip", "-n", ns, "-o", "link", "show", dev]).stdout
                for ns, dev in ((self.cam_ns, self.cam_if), (self.host_ns, self.host_if))
            ]
            if all("LOWER_UP" in s and "NO-CARRIER" not in s for s in states):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"link not up after {timeout}s: {states}")
            time.sleep(0.01)

    def tx_bytes(self) -> int:
        """Bytes the camera's end has sent so far."""
        assert self.anchor is not None, "the link is not up"
        return tx_bytes(self.anchor.pid, self.cam_if)

    def meter(self, interval: float = 0.005) -> LinkMeter:
        """A :class:`LinkMeter` on the camera's end."""
        assert self.anchor is not None, "the link is not up"
        return LinkMeter(self.anchor.pid, self.cam_if, interval)

    def qdisc_stats(self) -> str:
        """``tc -s qdisc`` of the camera's end (what the link sent, dropped, overlimits)."""
        return _run(["tc", "-n", self.cam_ns, "-s", "qdisc", "show", "dev", self.cam_if], check=False).stdout.strip()


def tx_bytes(pid: int, ifname: str) -> int:
    """Bytes interface ``ifname`` has sent, as seen from process ``pid``'s namespace."""
    with open(f"/proc/{pid}/net/dev") as f:
        return _tx_of(f.read(), ifname)


def _tx_of(text: str, ifname: str) -> int:
    for line in text.splitlines():
        name, sep, rest = line.partition(":")
        if sep and name.strip() == ifname:
            return int(rest.split()[8])
    raise KeyError(f"no interface {ifname} in /proc/net/dev")


class LinkMeter:
    """Samples, in a thread, the bytes the camera's end of the link has sent: ``(t, bytes)``
    with ``t`` on ``time.monotonic()``, every ``interval`` seconds while running.

    ``pid`` is any process in the camera's namespace (the simulator's).
    """

    def __init__(self, pid: int, ifname: str, interval: float = 0.005) -> None:
        self.path = f"/proc/{pid}/net/dev"
        self.ifname = ifname
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _loop(self) -> None:
        with open(self.path) as f:
            while True:
                f.seek(0)
                self.samples.append((time.monotonic(), _tx_of(f.read(), self.ifname)))
                if self._stop.wait(self.interval):
                    f.seek(0)
                    self.samples.append((time.monotonic(), _tx_of(f.read(), self.ifname)))
                    return

    @contextlib.contextmanager
    def running(self) -> Iterator[LinkMeter]:
        """Sample while inside the block; ``samples`` holds this block's samples only."""
        self.samples = []
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="link-meter", daemon=True)
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(5)


def bulk(
    samples: Sequence[tuple[float, int]], size: int, lo: float = 0.02, hi: float = 0.98, overhead: float = 1.0
) -> dict[str, Any] | None:
    """The bulk of one transfer of ``size`` bytes among the samples: from when the link had
    sent ``lo`` of it (over the first sample) to when it had sent ``hi``; its rate in
    bytes of the object per second, its start and end times. None when the link never
    carried that much. ``overhead``: link bytes per byte of payload (headers; see
    :func:`tcp_ceiling`), so that the rate is the object's, not the headers'.

    The edges are left out on purpose: what a client does before the first byte (start-up,
    the capture) and after the last (writing the file) is in its time per shot, not here;
    and the bytes of other transactions (object info, events) around the transfer are
    small against ``lo`` of a megabyte object."""
    if len(samples) < 2:
        return None
    base = samples[0][1]

    def when(frac: float) -> float | None:
        target = base + frac * size * overhead
        prev = samples[0]
        for t, b in samples[1:]:
            if b >= target:
                t0, b0 = prev
                return t0 + (t - t0) * ((target - b0) / (b - b0)) if b > b0 else t
            prev = (t, b)
        return None

    t_lo, t_hi = when(lo), when(hi)
    if t_lo is None or t_hi is None or t_hi <= t_lo:
        return None
    return {"rate": (hi - lo) * size / (t_hi - t_lo), "start": t_lo, "end": t_hi}


def rate_series(samples: Sequence[tuple[float, int]], t0: float, window: float) -> tuple[list[float], list[float]]:
    """Bytes/s over consecutive windows of ``window`` seconds from ``t0``: (mid times since
    ``t0``, rates)."""
    if not samples:
        return [], []
    xs: list[float] = []
    ys: list[float] = []
    end = samples[-1][0]
    i = 0

    def at(t: float) -> float:
        nonlocal i
        while i + 1 < len(samples) and samples[i + 1][0] <= t:
            i += 1
        (ta, ba) = samples[i]
        if i + 1 < len(samples):
            tb, bb = samples[i + 1]
            if tb > ta and t > ta:
                return ba + (bb - ba) * min(1.0, (t - ta) / (tb - ta))
        return float(ba)

    t = max(t0, samples[0][0])
    while t + window <= end:
        a = at(t)
        b = at(t + window)
        xs.append(t + window / 2 - t0)
        ys.append((b - a) / window)
        t += window
    return xs, ys


# -- the link's own ceiling: bare TCP across it ------------------------------------------------------

TCP_PORT = 15999


def _send(nbytes: int) -> None:
    """In the camera's namespace: accept one connection, and when asked (one byte) send
    ``nbytes`` from memory."""
    import socket

    with socket.socket() as srv:
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((CAMERA_IP, TCP_PORT))
        srv.listen(1)
        print("ready", flush=True)
        conn, _ = srv.accept()
        with conn:
            conn.recv(1)
            block = memoryview(bytes(1 << 20))
            left = nbytes
            while left:
                k = min(left, len(block))
                conn.sendall(block[:k])
                left -= k


def _receive(nbytes: int) -> None:
    """In the host's namespace: ask for ``nbytes`` and read them; print the seconds from the
    asking to the last byte read."""
    import socket

    buf = bytearray(1 << 20)
    with socket.create_connection((CAMERA_IP, TCP_PORT), timeout=60) as s:
        t0 = time.perf_counter()
        s.sendall(b"g")
        got = 0
        while got < nbytes:
            n = s.recv_into(buf)
            if not n:
                raise SystemExit(f"closed after {got} bytes")
            got += n
        print(f"{time.perf_counter() - t0:.6f}", flush=True)


def tcp_ceiling(link: Link, nbytes: int) -> tuple[float, float]:
    """A bare TCP connection carrying ``nbytes`` across ``link`` (camera to host): the
    seconds it takes (what the link itself allows, with nothing of PTP on it), and the
    bytes the camera's end sent per byte of payload (TCP/IP and Ethernet headers as the
    link counts them; the kernel hands the veth large segments, so this is measured, not
    the 1514/1448 of one frame per MTU)."""
    from bench.common import PYTHON, ROOT

    sender = subprocess.Popen(
        link.camera([PYTHON, "-m", "bench.netns", "send", str(nbytes)]),
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        cwd=ROOT,
    )
    try:
        assert sender.stdout is not None
        if sender.stdout.readline().strip() != "ready":
            raise RuntimeError("the link's test sender did not start")
        before = link.tx_bytes()
        out = _run(link.host([PYTHON, "-m", "bench.netns", "receive", str(nbytes)]), timeout=120, cwd=ROOT).stdout
        sender.wait(10)  # it closes after the last byte: every byte it sent is counted
        return float(out.strip()), (link.tx_bytes() - before) / nbytes
    finally:
        with contextlib.suppress(ProcessLookupError):
            sender.kill()
        sender.wait(10)


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["send"]:
        _send(int(sys.argv[2]))
    elif sys.argv[1:2] == ["receive"]:
        _receive(int(sys.argv[2]))
    else:
        raise SystemExit("usage: python -m bench.netns send|receive NBYTES")
