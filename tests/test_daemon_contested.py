"""Two initiators on one camera (issue 20): daemons that took a camera from each other
every 250 ms without a word now notice, say so on ``status.connection`` and back off.

Two ``ptpd run`` processes against one ``ptpd simulate`` process (which, like many
cameras, lets a new initiator take over and closes the old session); a camera that
refuses a second initiator as busy, in-process; and the backoff's rules on their own.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from conftest import Proc, free_port, wait_for_port
from ptpd import bus
from ptpd.camera import InitFailed
from ptpd.daemon.backoff import CONTESTED_AFTER, CONTESTED_MAX, CONTESTED_MIN, CONTESTED_WITHIN, Backoff
from ptpd.protocol.codes import InitFailReason
from test_daemon_process import PTPD
from test_daemon_sim import Daemon, needs_generic, wait_status

pytestmark = pytest.mark.timeout(120)


def test_two_daemons_on_one_camera_back_off_and_say_why(tmp_path: Path) -> None:
    needs_generic()
    port = free_port()
    sim = Proc([PTPD, "simulate", "--vendor", "generic", "--host", "127.0.0.1", "--port", str(port)])
    daemons: list[Daemon] = []
    try:
        wait_for_port(port)
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
        args = ("--vendor", "generic", "--camera", f"127.0.0.1:{port}", "--keepalive", "0")
        daemons.append(Daemon(tmp_path / "a", *args))
        wait_status(daemons[0].c, "connected")
        subs = []
        daemons.append(Daemon(tmp_path / "b", *args))
        for d in daemons:
            subs.append(d.sub("event", bus.Topic.CONNECTION.encode()))
        t0 = time.monotonic()
        told: dict[int, str] = {}
        while not told and time.monotonic() - t0 < 30:
            for i, s in enumerate(subs):
                while s.poll(0):
                    meta = bus.unpack(s.recv_multipart()[1])
                    if "another initiator" in meta["detail"]:
                        told[i] = meta["detail"]
            time.sleep(0.05)
        noticed = time.monotonic() - t0
        assert told, "neither daemon said another initiator takes the camera"
        (i, detail), *_ = told.items()
        assert daemons[i].c.ok("status")["detail"].startswith("another initiator seems to be taking the camera")
        assert (
            f"{CONTESTED_AFTER} times in a row within {CONTESTED_WITHIN:g} s of connecting, backing off; retrying in"
            in detail
        )
        # from now on, they no longer take the camera from each other four times a second
        before = [d.c.ok("status")["reconnects"] for d in daemons]
        window = 10.0
        time.sleep(window)
        after = [d.c.ok("status")["reconnects"] for d in daemons]
        sessions = sum(a - b for a, b in zip(after, before))
        states = [d.c.ok("status")["connection"] for d in daemons]
        print(f"noticed after {noticed:.2f} s: {detail!r}; then {sessions} reconnects in {window:g} s; states {states}")
        assert sessions <= 6, sessions
    finally:
        for d in daemons:
            d.close()
        sim.stop()


def test_a_camera_that_refuses_a_second_initiator_as_busy(tmp_path: Path) -> None:
    """A camera that refuses, rather than hands over: the daemon says who holds it and
    waits seconds, not a quarter of one, between tries."""
    needs_generic()
    from ptpd.camera.generic import GenericCamera
    from ptpd.daemon.config import load_config
    from ptpd.daemon.server import Daemon as InProcess
    from ptpd.simulator.server import start_generic_simulator

    async def body() -> None:
        sim = await start_generic_simulator(allow_takeover=False)
        holder = GenericCamera(sim.host, sim.port, guid=b"\x07" * 16, name="other", timeout=5)
        await holder.connect()
        run = tmp_path / "run"
        eps = {k: f"ipc://{run}/{k}" for k in ("command", "event", "liveview")}
        cfg = load_config(
            {
                "host": "127.0.0.1",
                "port": sim.port,
                "state_dir": str(tmp_path / "state"),
                "command_endpoint": eps["command"],
                "event_endpoint": eps["event"],
                "liveview_endpoint": eps["liveview"],
                "keepalive": 0.0,
            },
            environ={},
        )
        d = InProcess(cfg)
        await d.start()
        try:
            deadline = time.monotonic() + 10
            while "another initiator" not in d.link.detail:
                assert time.monotonic() < deadline, d.link.detail
                await asyncio.sleep(0.02)
            assert d.link.detail.startswith("the camera is busy with another initiator (it refused the connection)")
            await asyncio.sleep(2.0)
            assert d.link.connection.value == "disconnected" and d.link.backoff.failures == 1  # no retry yet
            await holder.close()
        finally:
            await d.stop()
            await holder.close()
            await sim.close()

    asyncio.run(body())


def test_the_backoff_rules() -> None:
    b = Backoff(0.25, 5.0, rand=lambda: 0.5)  # no jitter
    # a camera that is not there: the ordinary exponential backoff
    assert [b.connect_failed(ConnectionRefusedError())[0] for _ in range(6)] == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0]
    b.connected()
    # sessions the camera closes right after connecting: the third starts the long waits
    waits = [b.session_ended(0.4, closed_by_camera=True) for _ in range(CONTESTED_AFTER + 5)]
    assert [w for w, _ in waits[: CONTESTED_AFTER - 1]] == [0.25] * (CONTESTED_AFTER - 1)
    assert [w for w, _ in waits[CONTESTED_AFTER - 1 :]] == [CONTESTED_MIN * 2**k for k in range(4)] + [
        CONTESTED_MAX
    ] * 2
    assert all(why is None for _, why in waits[: CONTESTED_AFTER - 1]) and all(
        why for _, why in waits[CONTESTED_AFTER - 1 :]
    )
    # a session that lasted ends it; so does a loss that was not the camera closing idle
    assert b.session_ended(CONTESTED_WITHIN + 1, closed_by_camera=True) == (0.25, None) and not b.contested
    for _ in range(CONTESTED_AFTER + 2):
        assert b.session_ended(0.1, closed_by_camera=False) == (0.25, None)
    # refused as busy: contested at once
    wait, why = b.connect_failed(InitFailed(InitFailReason.Busy))
    assert wait == CONTESTED_MIN and "busy with another initiator" in why and b.contested
    assert b.connect_failed(InitFailed(InitFailReason.RejectedInitiator))[1].startswith("InitFailed")
    # jitter keeps two daemons out of step: within +-25 %
    lo, hi = Backoff(0.25, 5.0, rand=lambda: 0.0), Backoff(0.25, 5.0, rand=lambda: 0.999999)
    for x in (lo, hi):
        for _ in range(CONTESTED_AFTER):
            w, _ = x.session_ended(0.1, closed_by_camera=True)
        assert 0.75 * CONTESTED_MIN <= w <= 1.25 * CONTESTED_MIN
