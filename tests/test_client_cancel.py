"""The Python client stops what it gives up on, and notices a daemon that went away.

Against ``ptpd run --simulate generic`` as a real process: Ctrl-C in a blocking capture
(a real SIGINT to a real process) stops it after the shot in progress and hands back the
shots taken; ``cancel`` from another thread and a cancelled asyncio task do the same; a
timeout on a slow camera never leaves a picture taken for no one; SIGKILL and SIGSTOP of
the daemon are noticed within 3 s, not at the call's timeout.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ptpd_client import AsyncClient, Client, CommandFailed, DaemonUnavailable, RequestTimeout
from test_client_daemon import Daemon

PYTHON = sys.executable

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def generic(tmp_path: Path) -> Iterator[Daemon]:
    d = Daemon(tmp_path / "d", vendor="generic")
    try:
        d.wait_connected()
        yield d
    finally:
        d.stop()


def objects(c: Client) -> int:
    return len(c.objects())


#: a script that captures with the blocking client and, on Ctrl-C, saves what it got
SCRIPT = r"""
import json, sys
from pathlib import Path
from ptpd_client import Client, RequestInterrupted
out = Path(sys.argv[1])
out.mkdir()
with Client(timeout=10) as c:
    print("ready", flush=True)
    try:
        result = c.capture(4, download=True)
    except RequestInterrupted as exc:
        result = exc.result
        for s in (result.shots if result is not None else ()):
            (out / s.filename).write_bytes(s.data)
        print(json.dumps({"state": exc.state, "stopped": result.raw.get("stopped") if result else None,
                          "shots": len(result.shots) if result else 0}), flush=True)
        sys.exit(130)
print("finished", flush=True)
"""


def test_ctrl_c_in_a_blocking_capture_keeps_the_shots_taken(generic: Daemon, tmp_path: Path) -> None:
    """Issue 20's check with the Python client: 4 shots, 2 s self-timer, Ctrl-C after 3 s."""
    with generic.client(timeout=10) as c:
        c.set("delay", "2s")
        before = objects(c)
    out = tmp_path / "out"
    p = subprocess.Popen(
        [PYTHON, "-c", SCRIPT, str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=generic.full_env(),
    )
    try:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        time.sleep(3.0)
        p.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        with generic.client(timeout=2) as c:
            c.ping()
        ping = time.monotonic() - t0
        out_text, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, err
    summary = json.loads(out_text.strip().splitlines()[-1])
    files = sorted(out.iterdir())
    time.sleep(2.5)  # a shot the camera took after the reply would be on the card by now
    with generic.client(timeout=10) as c:
        taken = objects(c) - before
    print(f"Ctrl-C: {summary}; {len(files)} files; camera took {taken}; ping {ping * 1000:.0f} ms after SIGINT")
    assert summary == {"state": "running", "stopped": "cancelled", "shots": len(files)}
    assert len(files) == taken <= 2 and taken >= 1
    assert all(f.read_bytes()[:2] == b"\xff\xd8" for f in files)
    assert ping < 1.0


def test_cancel_from_another_thread(generic: Daemon) -> None:
    with generic.client(timeout=20) as c:
        c.set("delay", "1s")
        got: dict[str, Any] = {}

        def shoot() -> None:
            try:
                got["result"] = c.capture(5)
            except Exception as exc:
                got["error"] = exc

        t = threading.Thread(target=shoot)
        t.start()
        time.sleep(1.5)
        assert c.cancel() is None  # handed to the waiting call
        t.join(15)
        result = got["result"]
        assert result.raw["stopped"] == "cancelled" and 1 <= len(result.shots) <= 2, got
        assert c.cancel("no-such-request") == "unknown"


def test_a_cancelled_task_stops_its_request(generic: Daemon) -> None:
    async def main() -> None:
        async with AsyncClient(generic.endpoints["command"], generic.endpoints["event"], timeout=20) as c:
            await c.set("delay", "1s")
            before = len(await c.objects())
            task = asyncio.ensure_future(c.capture(5))
            await asyncio.sleep(1.5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(2.5)
            taken = len(await c.objects()) - before
            assert 1 <= taken <= 2, taken  # the shot in progress, then nothing more
            # a queued request, cancelled by id: it never starts
            await c.set("delay", "2s")
            first = asyncio.ensure_future(c.capture(1))
            await asyncio.sleep(0.3)
            second = asyncio.ensure_future(c.set("iso", "1600"))
            await asyncio.sleep(0.2)
            [rid] = [r for r, cmd in c._commands.items() if cmd == "set"]
            assert await c.cancel(rid) == "queued"
            with pytest.raises(CommandFailed) as e:
                await second
            assert e.value.code_name == "cancelled"
            await first
            assert (await c.get("iso")).label != "1600"

    asyncio.run(main())


def test_a_timeout_never_leaves_a_picture_taken_for_no_one(tmp_path: Path) -> None:
    """20 clients capture at once against a camera that takes 150 ms a transaction, each
    waiting 2 s: every picture the camera took is one a client was told about."""
    d = Daemon(tmp_path / "slow", vendor="generic", extra=("--sim-latency", "150"))
    try:
        d.wait_connected()
        with d.client(timeout=20) as c:
            before = objects(c)
        outcomes: list[str] = []
        lock = threading.Lock()

        def shoot() -> None:
            with d.client(timeout=2.0) as c:
                try:
                    r = c.capture(1, timeout=2.0)
                    what = f"ok:{len(r.shots)}"
                except RequestTimeout as exc:
                    what = f"timeout:{exc.started}"
                except CommandFailed as exc:
                    what = f"failed:{exc.code_name}"
            with lock:
                outcomes.append(what)

        threads = [threading.Thread(target=shoot) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        time.sleep(0.5)
        with d.client(timeout=20) as c:
            taken = objects(c) - before
            iso = c.get("iso").label
            # a set that cannot start in time is not applied later
            with d.client(timeout=0.3) as quick, d.client(timeout=20) as busy:
                done = threading.Event()

                def capture_then_done() -> None:
                    busy.capture(3)
                    done.set()

                th = threading.Thread(target=capture_then_done)
                th.start()
                time.sleep(0.3)
                with pytest.raises(RequestTimeout) as e:
                    quick.set("iso", "3200")
                th.join(20)
            assert e.value.started is False and "nothing was done" in str(e.value)
            time.sleep(0.3)
            assert c.get("iso").label == iso
        reported = sum(int(o.split(":")[1]) for o in outcomes if o.startswith("ok:"))
        print(f"20 captures at 150 ms, 2 s each: {sorted(outcomes)}; camera took {taken}")
        assert reported == taken, (outcomes, taken)
        assert all(o.startswith("ok:") or o == "timeout:False" for o in outcomes), outcomes
    finally:
        d.stop()


@pytest.mark.parametrize("how", ["SIGKILL", "SIGSTOP"])
def test_a_vanished_daemon_is_noticed_within_3_s(tmp_path: Path, how: str) -> None:
    d = Daemon(tmp_path / how, vendor="generic", extra=("--sim-latency", "400"))
    try:
        d.wait_connected()
        with d.client(timeout=60) as c:
            c.set("delay", "10s")  # a long capture: the call waits
            got: dict[str, Any] = {}

            def shoot() -> None:
                t0 = time.monotonic()
                try:
                    c.capture(1, download=True, timeout=60)
                except Exception as exc:
                    got["error"] = exc
                got["after"] = time.monotonic() - t0

            t = threading.Thread(target=shoot)
            t.start()
            time.sleep(1.0)
            gone = time.monotonic()
            os.kill(d.proc.popen.pid, getattr(signal, how))
            t.join(20)
            noticed = time.monotonic() - gone
            print(f"{how}: the call ended {noticed:.2f} s later: {got.get('error')!r}")
            assert isinstance(got.get("error"), DaemonUnavailable), got
            assert "went away" in str(got["error"])
            assert noticed < 3.0, noticed

        async def main() -> float:
            # the asyncio client, against the daemon left for dead
            async with AsyncClient(d.endpoints["command"], d.endpoints["event"], timeout=60) as ac:
                t0 = time.monotonic()
                with pytest.raises(DaemonUnavailable):
                    await ac.ping()
                return time.monotonic() - t0

        if how == "SIGSTOP":
            assert asyncio.run(main()) < 3.0
    finally:
        if how == "SIGSTOP":
            os.kill(d.proc.popen.pid, signal.SIGKILL)
        d.stop()


def test_sigterm_of_the_daemon_still_delivers_the_capture_reply(tmp_path: Path) -> None:
    """The daemon answers the capture it stops, then goes: the client reads that answer
    (the shots taken) instead of reporting a vanished daemon."""
    d = Daemon(tmp_path / "term", vendor="generic")
    try:
        d.wait_connected()
        with d.client(timeout=30) as c:
            c.set("delay", "1s")
            got: dict[str, Any] = {}

            def shoot() -> None:
                try:
                    got["result"] = c.capture(5, download=True)
                except Exception as exc:
                    got["error"] = exc

            t = threading.Thread(target=shoot)
            t.start()
            time.sleep(1.6)
            d.proc.popen.send_signal(signal.SIGTERM)
            t.join(15)
            assert d.proc.popen.wait(10) == 0
        result = got.get("result")
        assert result is not None, got
        assert result.raw["stopped"] == "stopping" and 1 <= len(result.shots) < 5
        assert all(s.data is not None and bytes(s.data[:2]) == b"\xff\xd8" for s in result.shots)
    finally:
        d.stop()


def test_ptpctl_says_when_a_capture_stopped_before_its_timeout(generic: Daemon, tmp_path: Path) -> None:
    """A capture whose next shot would end after the client's timeout stops after the
    shot in hand (no picture is taken for a client that gave up): ptpctl saves and lists
    what was taken, then says why it stopped (exit 105)."""
    with generic.client(timeout=10) as c:
        c.set("delay", "5s")
        before = objects(c)
    out = tmp_path / "out"
    p = subprocess.run(
        [PYTHON, "-m", "ptpctl", "--timeout", "1", "capture", "3", "-o", str(out)],
        env=generic.full_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    time.sleep(1.0)
    with generic.client(timeout=10) as c:
        taken = objects(c) - before
    files = sorted(out.iterdir())
    assert p.returncode == 105, p.stderr
    assert p.stderr.strip().splitlines()[-1] == (
        "ptpctl: error: capture stopped after 1 of 3 shot(s): the next one would have ended after the timeout "
        "(1 s and 2 s a shot); give more --timeout"
    )
    assert len(files) == taken == 1 and files[0].name in p.stdout
