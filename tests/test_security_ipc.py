"""Local by default: another user cannot reach the daemon's ipc:// sockets.

The check runs as a different uid (``nobody`` via ``setpriv``), because root passes every
permission check. Each test first proves the probe *can* connect when nothing stops it
(a bare ROUTER in an open directory), so a probe that is broken for another reason
cannot pass for security.

The probe (``ipc_probe.py``) uses the standard library only and is copied into a
directory every uid can traverse: the project's virtualenv, its packages and often the
interpreter may sit where ``nobody`` cannot go (a clone under ``/root``, or any 0700
directory). It runs with the first interpreter that ``nobody`` can actually execute; when
there is none, the tests are skipped and say why.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgpack
import pytest
import zmq

from bench.common import tempdir
from bench.harness import Daemon, DaemonOptions

pytestmark = pytest.mark.timeout(60)

SETPRIV = shutil.which("setpriv")
PROBE_SOURCE = Path(__file__).with_name("ipc_probe.py")
PING = msgpack.packb({"id": 1, "cmd": "ping", "args": {}}).hex()


def _other_uid() -> tuple[str, str] | None:
    if os.geteuid() != 0 or not SETPRIV:
        return None
    try:
        pw = pwd.getpwnam("nobody")
    except KeyError:
        return None
    return str(pw.pw_uid), str(pw.pw_gid)


OTHER = _other_uid()
needs_other_uid = pytest.mark.skipif(OTHER is None, reason="needs root and setpriv to run a probe as another uid")


def as_other(*argv: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    assert OTHER is not None and SETPRIV is not None
    uid, gid = OTHER
    return subprocess.run(
        [SETPRIV, f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd="/",
        env={"PATH": os.defpath, "LANG": "C.UTF-8"},
    )


def interpreters() -> list[str]:
    """Pythons to try, this one first; the system's next (they live where anyone can go)."""
    found = [sys.executable, os.path.realpath(sys.executable), getattr(sys, "_base_executable", "")]
    found += [p for p in (shutil.which("python3", path=os.defpath), "/usr/bin/python3", "/usr/local/bin/python3") if p]
    return [p for i, p in enumerate(found) if p and p not in found[:i]]


@dataclass(frozen=True)
class Probe:
    """The probe copied where ``nobody`` can read it, and an interpreter that runs it as them."""

    python: str
    script: Path

    def run(self, endpoint: str, *extra: str) -> str:
        cp = as_other(self.python, str(self.script), endpoint, *extra)
        assert cp.returncode == 0, cp.stderr
        return cp.stdout


@pytest.fixture(scope="module")
def probe() -> Iterator[Probe]:
    if OTHER is None:
        pytest.skip("needs root and setpriv to run a probe as another uid")
    d = Path(tempfile.mkdtemp(prefix="ptpd-probe-", dir="/tmp"))
    try:
        os.chmod(d, 0o755)
        script = d / "ipc_probe.py"
        shutil.copyfile(PROBE_SOURCE, script)
        os.chmod(script, 0o644)
        tried = []
        for python in interpreters():
            try:
                cp = as_other(python, str(script), "--self-check", timeout=10)
            except (OSError, subprocess.TimeoutExpired) as exc:
                tried.append(f"{python}: {exc}")
                continue
            if cp.returncode == 0 and cp.stdout.split() == ["PROBE", "ok"]:
                yield Probe(python, script)
                return
            tried.append(f"{python}: exit {cp.returncode} {cp.stderr.strip()[-200:]}")
        pytest.skip(f"no Python that uid {OTHER[0]} can run reads {script}: " + "; ".join(tried))
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory any uid can traverse (like /run/user or /tmp), removed afterwards."""
    d = Path(tempfile.mkdtemp(prefix="ptpd-sec-", dir="/tmp"))
    os.chmod(d, 0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def echo_router(endpoint: str) -> tuple[zmq.Context, zmq.Socket, threading.Thread]:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.linger = 0
    sock.bind(endpoint)

    def serve() -> None:
        if sock.poll(10_000):
            frames = sock.recv_multipart()
            sock.send_multipart([*frames[:-1], b"\x80"])

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return ctx, sock, t


def control_probe_connects(probe: Probe, endpoint: str, path: Path | None = None) -> None:
    """The probe reaches a socket that nothing protects: it can tell open from closed."""
    ctx, sock, t = echo_router(endpoint)
    try:
        if path is not None:
            os.chmod(path, 0o777)
        out = probe.run(endpoint, PING)
    finally:
        t.join(12)
        sock.close(0)
        ctx.term()
    assert "REPLY" in out.split(), f"control probe failed, the check below would prove nothing: {out}"


def open_endpoint(shared: Path) -> tuple[str, Path]:
    open_dir = shared / "open"
    open_dir.mkdir()
    os.chmod(open_dir, 0o777)
    return f"ipc://{open_dir}/echo", open_dir / "echo"


def test_probe_tells_a_listener_from_none(probe: Probe, shared_dir: Path) -> None:
    """The probe itself: a full ZeroMQ exchange with an open ROUTER; nothing where none listens."""
    control_probe_connects(probe, *open_endpoint(shared_dir))
    out = probe.run(f"ipc://{shared_dir}/nothing-here", PING)
    assert out.split()[:2] == ["UNIX_CONNECT", "ENOENT"] and "REPLY" not in out.split(), out


@needs_other_uid
def test_runtime_dir_is_0700_and_another_uid_cannot_connect(probe: Probe, shared_dir: Path) -> None:
    control_probe_connects(probe, *open_endpoint(shared_dir))
    run = shared_dir / "ptpd"  # does not exist: the daemon makes it
    with tempdir() as work:
        d = Daemon(work, DaemonOptions(simulate="generic"), run_dir=run)
        with d:
            d.start(wait_connected=False)
            mode = stat.S_IMODE(run.stat().st_mode)
            assert mode == 0o700, oct(mode)
            out = probe.run(d.endpoints["command"], PING)
            assert "UNIX_CONNECT EACCES" in out, out
            assert "REPLY" not in out.split(), out
            for name in ("event", "liveview"):  # the kernel's answer is enough here
                out = probe.run(d.endpoints[name], "unix-only")
                assert "UNIX_CONNECT EACCES" in out, out
            # and the owner still gets in
            with d.client() as c:
                assert c.result("ping", timeout=5)["pong"]
            assert d.alive()


@needs_other_uid
def test_existing_world_writable_runtime_dir_is_tightened_or_refused(shared_dir: Path) -> None:
    run = shared_dir / "ptpd"
    run.mkdir()
    os.chmod(run, 0o777)
    with tempdir() as work:
        d = Daemon(work, DaemonOptions(simulate="generic"), run_dir=run)
        with d:
            try:
                d.start(wait_connected=False, timeout=10)
            except (RuntimeError, TimeoutError):
                return  # refused to start: fine
            assert stat.S_IMODE(run.stat().st_mode) == 0o700


@needs_other_uid
def test_abstract_ipc_endpoint_is_not_open_to_other_users(probe: Probe) -> None:
    tag = os.urandom(6).hex()
    eps = {k: f"ipc://@ptpd-test-{tag}/{k}" for k in ("command", "event", "liveview")}
    with tempdir() as work:
        d = Daemon(work, DaemonOptions(simulate="generic"), endpoints=eps)
        with d:
            try:
                d.start(wait_connected=False, timeout=10)
            except (RuntimeError, TimeoutError):
                return  # refused: fine
            # an abstract socket has no file: only the daemon can keep the probe out
            control_probe_connects(probe, f"ipc://@ptpd-test-{tag}/open")
            out = probe.run(eps["command"], PING)
            assert "REPLY" not in out.split(), out
