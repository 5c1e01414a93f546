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


def saved_line(err: str, count: int, out_dir: Path) -> list[Path]:
    """The files the last line of an interrupted capture names, each checked to be there
    and a whole JPEG: ``interrupted after N of COUNT shot(s), saved in DIR: a, b``, or for
    a long run ``a, b, ... z (N files)``, whose N files are then the directory's."""
    head, _, names = err.strip().splitlines()[-1].partition(f" of {count} shot(s), saved in {out_dir}: ")
    assert head.startswith("ptpctl: error: interrupted after ") and names, err
    taken = int(head.rsplit(" ", 1)[1])
    listed, dots, rest = names.partition(", ... ")
    if dots:
        last, _, total = rest.partition(" (")
        assert total == f"{taken} files)", err
        files = sorted(out_dir.iterdir())
        assert {out_dir / n for n in [*listed.split(", "), last]} <= set(files), err
    else:
        files = [out_dir / n for n in names.split(", ")]
    assert taken == len(files), err
    for f in files:
        data = f.read_bytes()
        assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9", f"{f} is not a whole JPEG"
    return files


def test_ptpctl_capture_ctrl_c_mid_way(daemon: Daemon, tmp_path: Path) -> None:
    with daemon.client(timeout=10) as c:
        before = len(c.objects())
    out_dir = tmp_path / "out"
    p = start(["-m", "ptpctl", "capture", "60", "-o", str(out_dir), "--progress"], daemon.full_env())
    early = wait_for_line(p.stderr, "1/60")
    code, out, err = finish(p, signal.SIGINT)
    lines = (early + err).splitlines()
    assert code == 130, early + err
    # the daemon stopped after the shot in progress; every shot taken was saved and is named
    named = saved_line(early + err, 60, out_dir)
    assert sorted(named) == sorted(out_dir.iterdir()), early + err
    assert all("/60" in line for line in lines[:-1]) and "Traceback" not in err  # progress lines, then one line
    assert out == ""
    time.sleep(1.0)
    with daemon.client(timeout=30) as c:  # no shot was taken after it: the camera holds what was saved
        assert len(c.objects()) - before == len(named) >= 1


def test_ptpctl_capture_ctrl_c_after_one_shot_names_it_like_any_other(daemon: Daemon, tmp_path: Path) -> None:
    """Ctrl-C while the first shot downloads (a camera slow to answer keeps that window
    open): the one shot taken is saved and named in the same words as several would be."""
    with daemon.client(timeout=10) as c:
        before = len(c.objects())
        c.request("sim.fault", {"action": "configure", "options": {"slow_rate": 1.0, "slow_ms": 400}})
    try:
        out_dir = tmp_path / "out"
        p = start(
            ["-m", "ptpctl", "--timeout", "60", "capture", "3", "-o", str(out_dir), "--progress"], daemon.full_env()
        )
        early = wait_for_line(p.stderr, "1/3")  # the shot is taken; its download has not ended
        code, out, err = finish(p, signal.SIGINT)
    finally:
        with daemon.client(timeout=30) as c:
            c.request("sim.fault", {"action": "clear"})
    assert code == 130 and out == "", early + err
    (only,) = saved_line(early + err, 3, out_dir)
    assert list(out_dir.iterdir()) == [only]
    with daemon.client(timeout=30) as c:
        assert len(c.objects()) - before == 1


def test_an_interrupted_captures_line_names_files_in_one_form() -> None:
    """One shot or many, the line says ``saved in DIR:`` and the files; a long run names
    its first two and last files with their number; shots not saved stay on the camera."""
    from ptpctl.commands.capture import _saved_where

    assert _saved_where(["out/A.JPG"]) == "saved in out: A.JPG"
    assert _saved_where(["out/A.JPG", "out/B.JPG"]) == "saved in out: A.JPG, B.JPG"
    seven = [f"out/{c}.JPG" for c in "ABCDEFG"]
    assert _saved_where(seven) == "saved in out: A.JPG, B.JPG, ... G.JPG (7 files)"
    assert _saved_where(["out/A.JPG", None]) == "saved in out: A.JPG; 1 on the camera (ptpctl ls)"
    assert _saved_where([None]) == "on the camera (ptpctl ls)"
    assert _saved_where(["a/A.JPG", "b/B.JPG"]) == "saved as a/A.JPG, b/B.JPG"


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
        print(
            f"capture 4 with a 2 s self-timer, Ctrl-C at 3 s: exit {code}, {len(files)} files, "
            f"camera took {taken}, ping {ping * 1000:.0f} ms; {err.strip()!r}"
        )
        assert code == 130 and out == "", err
        assert 1 <= len(files) == taken <= 2
        assert sorted(saved_line(err, 4, out_dir)) == files
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
    p = subprocess.Popen(
        [PYTHON, "-m", "ptpctl", "liveview", "--http", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=daemon.full_env(),
        start_new_session=True,
    )
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
