"""Ctrl-C (SIGINT) ends every tool with exit 130 and one line, never a traceback:
ptpctl (waiting for events, in the middle of a multi-shot capture), ptpview --http,
ptptrigger, and the daemon itself; SIGTERM stays the quiet way to stop (exit 0)."""

from __future__ import annotations

import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import free_port
from test_client_daemon import Daemon

PYTHON = sys.executable


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([PYTHON, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for_line(stream, what: str, timeout: float = 30.0) -> str:
    """Read ``stream`` line by line until one contains ``what``; return what was read."""
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], 0.2)
        if ready:
            line = stream.readline()
            if not line:
                break
            seen += line
            if what in line:
                return seen
    raise AssertionError(f"no line with {what!r} within {timeout} s; got {seen!r}")


def finish(p: subprocess.Popen[str], sig: int) -> tuple[int, str, str]:
    p.send_signal(sig)
    try:
        out, err = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate(timeout=5)
    return p.returncode, out, err


def test_ptpctl_events_ctrl_c(daemon: Daemon) -> None:
    p = start(["-m", "ptpctl", "events", "heartbeat"], daemon.full_env())
    wait_for_line(p.stdout, "heartbeat")
    code, _, err = finish(p, signal.SIGINT)
    assert code == 130 and err == "ptpctl: error: interrupted\n", err


def test_ptpctl_capture_ctrl_c_mid_way(daemon: Daemon, tmp_path: Path) -> None:
    with daemon.client(timeout=10) as c:
        before = len(c.objects())
    out_dir = tmp_path / "out"
    p = start(["-m", "ptpctl", "capture", "60", "-o", str(out_dir), "--progress"], daemon.full_env())
    early = wait_for_line(p.stderr, "1/60")
    code, out, err = finish(p, signal.SIGINT)
    lines = (early + err).splitlines()
    files = sorted(out_dir.iterdir())
    assert code == 130, early + err
    # the daemon stopped after the shot in progress; every shot taken was saved
    assert lines[-1] == f"ptpctl: error: interrupted after {len(files)} of 60 shot(s), saved in {out_dir}", early + err
    assert all("/60" in line for line in lines[:-1]) and "Traceback" not in err  # progress lines, then one line
    assert out == ""
    time.sleep(1.0)
    with daemon.client(timeout=30) as c:  # no shot was taken after it: the camera holds what was saved
        assert len(c.objects()) - before == len(files) >= 1


def test_ptpctl_ctrl_c_on_a_self_timer_keeps_what_the_camera_took(daemon: Daemon, tmp_path: Path) -> None:
    """Issue 20's check: ``capture 4 -o DIR`` with a 2 s self-timer, Ctrl-C after 3 s:
    as many files as the camera took shots, at most 2, exit 130, and the daemon answers
    within 1 s."""
    with daemon.client(timeout=10) as c:
        c.set("delay", "2s")
        before = len(c.objects())
    try:
        out_dir = tmp_path / "out"
        p = start(["-m", "ptpctl", "capture", "4", "-o", str(out_dir)], daemon.full_env())
        time.sleep(3.0)
        p.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        with daemon.client(timeout=2) as c:
            c.ping()
        ping = time.monotonic() - t0
        out, err = p.communicate(timeout=20)
        code = p.returncode
        files = sorted(out_dir.iterdir())
        time.sleep(2.5)  # a shot taken after the reply would be on the card by now
        with daemon.client(timeout=10) as c:
            taken = len(c.objects()) - before
        print(f"capture 4 with a 2 s self-timer, Ctrl-C at 3 s: exit {code}, {len(files)} files, "
              f"camera took {taken}, ping {ping * 1000:.0f} ms; {err.strip()!r}")
        assert code == 130 and out == "", err
        assert 1 <= len(files) == taken <= 2
        assert err.strip().splitlines()[-1] == f"ptpctl: error: interrupted after {taken} of 4 shot(s), saved in {out_dir}"
        assert ping < 1.0
    finally:
        with daemon.client(timeout=10) as c:
            c.set("delay", "off")


def test_ptpview_http_ctrl_c_and_sigterm(daemon: Daemon) -> None:
    for sig, code, last in ((signal.SIGINT, 130, "ptpview: error: interrupted"), (signal.SIGTERM, 0, None)):
        port = free_port()
        p = start(["-m", "ptpview", "--http", f"127.0.0.1:{port}"], daemon.full_env())
        first = wait_for_line(p.stderr, "serving live view")
        rc, _, err = finish(p, sig)
        assert rc == code, first + err
        assert err.splitlines() == ([last] if last else []), err


def test_ptptrigger_ctrl_c_after_the_work_in_hand(daemon: Daemon) -> None:
    for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 0)):
        p = start(["-m", "ptptrigger", "--face", "--dry-run", "-v"], daemon.full_env())
        time.sleep(3.0)  # it has subscribed and analyses frames
        rc, _, err = finish(p, sig)
        last = [line for line in err.splitlines() if not line.startswith("ptptrigger: INFO")]
        assert rc == code and len(last) == 1 and "Traceback" not in err, err
        assert "frame(s) analysed" in last[0] and " 0 frame(s)" not in last[0]
        assert last[0].startswith("ptptrigger: error: interrupted after" if code else "ptptrigger: 0 trigger(s)")


def test_ptpd_run_ctrl_c_is_130_sigterm_is_0(tmp_path: Path) -> None:
    for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 0)):
        d = Daemon(tmp_path / sig.name, vendor="generic")
        try:
            d.wait_connected()
            d.proc.popen.send_signal(sig)
            rc = d.proc.popen.wait(15)
            _, err = d.proc.output()
        finally:
            d.stop()
        assert rc == code, err
        assert "Traceback" not in err
        if code:
            assert err.splitlines()[-1] == "ptpd: interrupted"
        else:
            assert "interrupted" not in err


def test_ptpctl_liveview_ctrl_c_is_one_line_from_ptpview(daemon: Daemon) -> None:
    # a terminal's Ctrl-C goes to the whole foreground process group: ptpctl and the
    # ptpview it runs; ptpview says it, ptpctl passes its 130 on without a second line
    import os

    port = free_port()
    p = subprocess.Popen([PYTHON, "-m", "ptpctl", "liveview", "--http", f"127.0.0.1:{port}"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=daemon.full_env(), start_new_session=True)
    try:
        first = wait_for_line(p.stderr, "serving live view")
        os.killpg(p.pid, signal.SIGINT)
        out, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)
    assert p.returncode == 130, first + err
    assert err.splitlines() == ["ptpview: error: interrupted"], err
