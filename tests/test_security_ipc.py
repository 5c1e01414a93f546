"""Local by default: another user cannot reach the daemon's ipc:// sockets.

The check runs as a different uid (``nobody`` via ``setpriv``), because root passes every
permission check. Each test first proves the probe *can* connect when nothing stops it
(a bare ROUTER in an open directory), so a probe that is broken for another reason
cannot pass for security.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from bench.common import tempdir
from bench.harness import Daemon, DaemonOptions

pytestmark = pytest.mark.timeout(60)

SETPRIV = shutil.which("setpriv")

PROBE = textwrap.dedent(
    """
    import errno, socket, sys
    import msgpack, zmq
    ep = sys.argv[1]
    if ep.startswith("ipc://") and not ep.startswith("ipc://@"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(ep[len("ipc://"):])
            print("UNIX_CONNECT ok")
        except OSError as exc:
            print("UNIX_CONNECT", errno.errorcode.get(exc.errno, exc.errno))
        finally:
            s.close()
    if len(sys.argv) > 2 and sys.argv[2] == "unix-only":
        sys.exit(0)
    ctx = zmq.Context()
    d = ctx.socket(zmq.DEALER)
    d.linger = 0
    d.connect(ep)
    d.send_multipart([b"", msgpack.packb({"id": 1, "cmd": "ping", "args": {}})])
    print("REPLY" if d.poll(1500) else "NOREPLY")
    d.close()
    ctx.term()
    """
)


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


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory any uid can traverse (like /run/user or /tmp), removed afterwards."""
    d = Path(tempfile.mkdtemp(prefix="ptpd-sec-", dir="/tmp"))
    os.chmod(d, 0o755)
    probe = d / "probe.py"
    probe.write_text(PROBE)
    os.chmod(probe, 0o644)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def probe_as_other(shared: Path, endpoint: str, *extra: str) -> str:
    assert OTHER is not None
    uid, gid = OTHER
    cp = subprocess.run(
        [SETPRIV, f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--", sys.executable, str(shared / "probe.py"), endpoint, *extra],
        capture_output=True, text=True, timeout=20, cwd="/",
    )
    assert cp.returncode == 0, cp.stderr
    return cp.stdout


def echo_router(endpoint: str) -> tuple[zmq.Context, zmq.Socket, "threading.Thread"]:
    import threading

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


def control_probe_connects(shared: Path) -> None:
    """The probe reaches a socket that nothing protects: it can tell open from closed."""
    open_dir = shared / "open"
    open_dir.mkdir()
    os.chmod(open_dir, 0o777)
    ep = f"ipc://{open_dir}/echo"
    ctx, sock, t = echo_router(ep)
    try:
        os.chmod(open_dir / "echo", 0o777)
        out = probe_as_other(shared, ep)
    finally:
        t.join(12)
        sock.close(0)
        ctx.term()
    assert "REPLY" in out.split(), f"control probe failed, the check below would prove nothing: {out}"


@needs_other_uid
def test_runtime_dir_is_0700_and_another_uid_cannot_connect(shared_dir: Path) -> None:
    control_probe_connects(shared_dir)
    run = shared_dir / "ptpd"  # does not exist: the daemon makes it
    with tempdir() as work:
        d = Daemon(work, DaemonOptions(simulate="generic"), run_dir=run)
        with d:
            d.start(wait_connected=False)
            mode = stat.S_IMODE(run.stat().st_mode)
            assert mode == 0o700, oct(mode)
            out = probe_as_other(shared_dir, d.endpoints["command"])
            assert "UNIX_CONNECT EACCES" in out, out
            assert "REPLY" not in out.split(), out
            for name in ("event", "liveview"):  # the kernel's answer is enough here
                out = probe_as_other(shared_dir, d.endpoints[name], "unix-only")
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
def test_abstract_ipc_endpoint_is_not_open_to_other_users(shared_dir: Path) -> None:
    tag = os.urandom(6).hex()
    eps = {k: f"ipc://@ptpd-test-{tag}/{k}" for k in ("command", "event", "liveview")}
    with tempdir() as work:
        d = Daemon(work, DaemonOptions(simulate="generic"), endpoints=eps)
        with d:
            try:
                d.start(wait_connected=False, timeout=10)
            except (RuntimeError, TimeoutError):
                return  # refused: fine
            out = probe_as_other(shared_dir, eps["command"])
            assert "REPLY" not in out.split(), out
