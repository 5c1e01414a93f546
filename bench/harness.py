"""Processes the benchmarks and reliability tests drive: a daemon, a simulator, raw bus clients.

Everything talks to the real product through its public surfaces only: ``ptpd run``
with a TOML config file, ``ptpd simulate``, and the bus (``ptpd.bus``) through plain
pyzmq sockets, so a test of the daemon never depends on our own client library.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack
import zmq

from bench.common import BIN, PYTHON, ROOT, Proc, rss_bytes


def ptpd_cmd() -> list[str]:
    exe = BIN / "ptpd"
    return [str(exe)] if exe.exists() else [PYTHON, "-m", "ptpd"]


def ptpctl_cmd() -> list[str]:
    exe = BIN / "ptpctl"
    return [str(exe)] if exe.exists() else [PYTHON, "-m", "ptpctl"]


# -- raw bus client ----------------------------------------------------------------------------


class BusClient:
    """A DEALER on the daemon's command socket: one request, one reply, with a timeout."""

    _ids = itertools.count(1)

    def __init__(self, endpoint: str, ctx: zmq.Context | None = None, *, curve: dict[str, bytes] | None = None) -> None:
        self.ctx = ctx or zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.linger = 0
        if curve:
            self.sock.curve_serverkey = curve["server_public"]
            self.sock.curve_publickey = curve["public"]
            self.sock.curve_secretkey = curve["secret"]
        self.sock.connect(endpoint)

    def send(self, cmd: str, args: dict[str, Any] | None = None, id: int | str | None = None) -> int | str:
        rid = next(self._ids) if id is None else id
        self.sock.send_multipart([b"", msgpack.packb({"id": rid, "cmd": cmd, "args": args or {}}, use_bin_type=True)])
        return rid

    def send_raw(self, payload: bytes, *, delimiter: bool = True) -> None:
        self.sock.send_multipart([b"", payload] if delimiter else [payload])

    def recv(self, timeout: float) -> dict[str, Any] | None:
        """The next reply, or None after ``timeout`` seconds."""
        if not self.sock.poll(int(timeout * 1000)):
            return None
        frames = self.sock.recv_multipart()
        return msgpack.unpackb(frames[-1], raw=False, strict_map_key=False)

    def call(self, cmd: str, args: dict[str, Any] | None = None, timeout: float = 10.0) -> dict[str, Any]:
        """Send and wait for the reply with the same id (skipping stale ones)."""
        rid = self.send(cmd, args)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            rep = self.recv(max(0.0, left)) if left > 0 else None
            if rep is None:
                raise TimeoutError(f"no reply to {cmd} within {timeout}s")
            if rep.get("id") == rid:
                return rep

    def result(self, cmd: str, args: dict[str, Any] | None = None, timeout: float = 10.0) -> Any:
        rep = self.call(cmd, args, timeout)
        if not rep.get("ok"):
            raise RuntimeError(f"{cmd} failed: {rep.get('error')}")
        return rep["result"]

    def close(self) -> None:
        self.sock.close(0)

    def __enter__(self) -> BusClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the daemon ------------------------------------------------------------------------------


@dataclass
class DaemonOptions:
    simulate: str | None = "generic"  #: embedded simulator vendor, or None for an external camera
    latency_ms: float = 0.0
    camera: str | None = None  #: HOST:PORT of an external camera / simulator
    vendor: str = "generic"
    keepalive: float = 0.0
    timeout: float = 10.0
    log_level: str = "warning"
    extra_toml: str = ""
    #: extra ``[simulate]`` keys, passed to the embedded simulator (pairing_delay, liveview_fps, ...)
    sim_options: dict[str, Any] | None = None
    #: the longest wait between reconnect attempts (short for tests); None: the daemon's default
    reconnect_max: float | None = 1.0


class Daemon:
    """``ptpd run`` as a real process on private ipc endpoints under ``workdir``."""

    def __init__(
        self,
        workdir: Path,
        opts: DaemonOptions | None = None,
        *,
        env: dict[str, str] | None = None,
        run_dir: Path | None = None,
        endpoints: dict[str, str] | None = None,
    ) -> None:
        self.opts = opts or DaemonOptions()
        self.dir = workdir
        run = run_dir or workdir / "run"
        if run_dir is None:  # else the daemon makes it (and its mode is under test)
            run.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.run_dir = run
        state = workdir / "state"
        state.mkdir(exist_ok=True)
        self.endpoints = endpoints or {k: f"ipc://{run}/{k}" for k in ("command", "event", "liveview")}
        o = self.opts
        lines = []
        if o.camera:
            lines += [
                "[camera]",
                f'host = "{o.camera}"',
                f'vendor = "{o.vendor}"',
                f"timeout = {o.timeout}",
                f"keepalive = {o.keepalive}",
            ]
        else:
            lines += ["[camera]", f"timeout = {o.timeout}", f"keepalive = {o.keepalive}"]
        lines += ["[bus]"] + [f'{k} = "{v}"' for k, v in self.endpoints.items()]
        lines += ["[daemon]", f'log_level = "{o.log_level}"', f'state_dir = "{state}"']
        if o.reconnect_max is not None:
            lines.append(f"reconnect_max = {o.reconnect_max}")
        if o.simulate:
            lines += ["[simulate]", f'vendor = "{o.simulate}"', f"latency = {o.latency_ms}"]
            for k, v in (o.sim_options or {}).items():
                lines.append(f"{k} = {json.dumps(v)}")
        self.config = workdir / "ptpd.toml"
        self.config.write_text("\n".join(lines) + "\n" + o.extra_toml)
        self.log = workdir / "daemon.log"
        self.env = {"PTPD_RUNTIME_DIR": str(run), **(env or {})}
        self.proc: Proc | None = None

    # the client-side environment: every client finds this daemon with no flag
    @property
    def client_env(self) -> dict[str, str]:
        return {
            "PTPD_RUNTIME_DIR": str(self.run_dir),
            "PTPD_COMMAND_ENDPOINT": self.endpoints["command"],
            "PTPD_EVENT_ENDPOINT": self.endpoints["event"],
            "PTPD_LIVEVIEW_ENDPOINT": self.endpoints["liveview"],
        }

    def start(
        self,
        *,
        wait_connected: bool = True,
        timeout: float = 20.0,
        wrap: Callable[[list[str]], list[str]] | None = None,
        wait: bool = True,
    ) -> Daemon:
        """Start ``ptpd run`` and wait until it is ready (``wait``); ``wrap`` turns its
        command line into the one to run (to start it in a network namespace:
        :meth:`bench.netns.Link.host`)."""
        args = [*ptpd_cmd(), "run", "--config", str(self.config)]
        self.proc = Proc(wrap(args) if wrap else args, env=self.env, cwd=ROOT, log=self.log)
        if wait:
            self.wait_ready(wait_connected=wait_connected, timeout=timeout)
        return self

    def wait_ready(self, *, wait_connected: bool = True, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        with BusClient(self.endpoints["command"]) as c:
            while True:
                if self.proc is not None and not self.proc.alive():
                    raise RuntimeError(f"daemon exited with {self.proc.popen.returncode}:\n{self.log_text()[-3000:]}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"daemon not ready after {timeout}s:\n{self.log_text()[-3000:]}")
                try:
                    st = c.result("status", timeout=min(1.0, left))
                except (TimeoutError, RuntimeError):
                    continue
                if not wait_connected or st.get("connection") == "connected":
                    return
                time.sleep(0.05)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss(self) -> int:
        return rss_bytes(self.pid)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.alive()

    def client(self) -> BusClient:
        return BusClient(self.endpoints["command"])

    def log_text(self) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")
        return ""

    def stop(self, timeout: float = 8.0) -> int | None:
        if self.proc is None:
            return None
        rc = self.proc.stop(timeout)
        return rc

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- a separate simulator process --------------------------------------------------------------


class Simulator:
    """A simulated camera in its own process (``bench.simproc``), on a free loopback port."""

    def __init__(
        self,
        vendor: str = "generic",
        latency_ms: float = 0.0,
        *,
        lv_fps: float = 0.0,
        lv_size: str = "",
        lv_steps: int = 0,
        lv_send_log: Path | None = None,
        release_log: Path | None = None,
        opts: dict[str, Any] | None = None,
        log: Path | None = None,
        cpus: frozenset[int] | None = None,
        host: str = "127.0.0.1",
        jitter_ms: float = 0.0,
        wrap: Callable[[list[str]], list[str]] | None = None,
        wait: bool = True,
    ) -> None:
        """``cpus``: the cores the camera runs on (:func:`bench.common.pin`);
        ``lv_send_log``: where the camera writes each live-view frame's send time when it
        stops (see ``bench.simproc``); ``host``: the address it listens on; ``jitter_ms``:
        up to this much more than ``latency_ms`` per transaction; ``wrap`` turns its
        command line into the one to run (in a namespace: :meth:`bench.netns.Link.camera`)."""
        import json

        self.vendor = vendor
        args = [
            PYTHON,
            "-m",
            "bench.simproc",
            "--vendor",
            vendor,
            "--host",
            host,
            "--port",
            "0",
            "--latency",
            str(latency_ms),
        ]
        if jitter_ms:
            args += ["--jitter", str(jitter_ms)]
        if lv_fps:
            args += ["--lv-fps", str(lv_fps)]
        if lv_size:
            args += ["--lv-size", lv_size]
        if lv_steps:
            args += ["--lv-steps", str(lv_steps)]
        if lv_send_log is not None:
            args += ["--lv-send-log", str(lv_send_log)]
        if release_log is not None:  # each InitiateCapture's time, as the camera takes it up
            args += ["--release-log", str(release_log)]
        for k, v in (opts or {}).items():
            args += ["--opt", f"{k}={json.dumps(v)}"]
        self.log = log
        if wrap is not None:
            args = wrap(args)
        self.proc = Proc(args, cwd=ROOT, stderr=None if log is None else subprocess.DEVNULL, cpus=cpus)
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        """Wait for the camera's ``ready HOST PORT`` line (the constructor does, unless
        told not to: many cameras start faster side by side)."""
        assert self.proc.popen.stdout is not None
        line = _readline(self.proc, 60.0)
        if not line.startswith("ready "):
            self.proc.stop()
            raise RuntimeError(f"simulator did not start: {line!r}")
        _, self.host, port = line.split()
        self.port = int(port)

    @property
    def event_port(self) -> int:
        return self.port + 1 if self.vendor == "fuji" else self.port

    @property
    def liveview_port(self) -> int:
        return self.port + 2

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def stop(self) -> None:
        self.proc.stop()

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _readline(proc: Proc, timeout: float) -> str:
    """One line of a child's stdout, or "" after ``timeout`` seconds (or at its exit)."""
    import select

    out = proc.popen.stdout
    assert out is not None
    buf = b""
    deadline = time.monotonic() + timeout
    fd = out.fileno()
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            ch = os.read(fd, 1)
            if not ch:
                break
            if ch == b"\n":
                return buf.decode(errors="replace")
            buf += ch
        elif proc.popen.poll() is not None:
            break
    return buf.decode(errors="replace")


# -- gphoto2 -------------------------------------------------------------------------------------


def gphoto2_env(home: Path) -> dict[str, str]:
    """A private HOME with a fixed initiator GUID, so gphoto2 never touches ~/.gphoto."""
    (home / ".gphoto").mkdir(parents=True, exist_ok=True)
    (home / ".gphoto" / "settings").write_text("ptp2_ip=guid=50:54:50:44:2d:62:65:6e:63:68:2d:67:70:68:6f:32\n")
    return {"HOME": str(home), "LANG": "C", "LC_ALL": "C"}


def gphoto2_args(sim: Simulator) -> list[str]:
    if sim.vendor == "fuji":
        return ["gphoto2", "--camera", "Fuji X (WLAN)", "--port", f"ptpip:{sim.host}:{sim.port}:{sim.port + 1}"]
    return ["gphoto2", "--camera", "PTP/IP Camera", "--port", f"ptpip:{sim.host}:{sim.port}:{sim.port}"]


# -- subscribers -----------------------------------------------------------------------------------


@contextlib.contextmanager
def sub_socket(endpoint: str, topic: bytes = b"", *, hwm: int | None = None) -> Iterator[zmq.Socket]:
    s: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.SUB)
    s.linger = 0
    if hwm is not None:
        s.rcvhwm = hwm
    s.setsockopt(zmq.SUBSCRIBE, topic)
    s.connect(endpoint)
    try:
        yield s
    finally:
        s.close(0)


def env_with(extra: dict[str, str]) -> dict[str, str]:
    e = dict(os.environ)
    e.update(extra)
    return e


# -- a simulator in this process (tests that reach into its card) --------------------------------


class InProcessSimulator:
    """``start_simulator`` on an asyncio loop in a background thread of this process.

    For tests that need the camera to hold something no option makes (objects with
    hostile names, ...): :meth:`call` runs a function on the loop's thread.
    """

    def __init__(self, vendor: str = "fuji", **options: Any) -> None:
        import asyncio
        import threading

        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="simulator", daemon=True)
        self._thread.start()
        from ptpd.simulator import start_simulator

        fut = asyncio.run_coroutine_threadsafe(start_simulator(vendor, "127.0.0.1", 0, **options), self.loop)
        self.sim = fut.result(60)
        self.vendor = vendor
        self.host, self.port = self.sim.host, self.sim.port

    def call(self, fn: Any, *args: Any) -> Any:
        import asyncio

        async def run() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(30)

    def close(self) -> None:
        import asyncio

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.sim.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    def __enter__(self) -> InProcessSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
