"""Deadlines and ``cancel`` on the bus, against ``ptpd run --simulate generic`` as a real
process and raw pyzmq clients: a capture stops after the shot in progress, which is
saved; a queued request never starts; a request whose client gave up (its
``timeout_ms`` passed) never starts, so a slow camera takes no picture nobody waits for.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import zmq

from ptpd import bus
from test_daemon_sim import Daemon, needs_generic, wait_status

pytestmark = pytest.mark.timeout(90)


class Conn:
    """One DEALER (one client identity) with requests in flight, replies kept by id."""

    def __init__(self, d: Daemon) -> None:
        self.sock = d.ctx.socket(zmq.DEALER)
        self.sock.linger = 0
        self.sock.connect(d.eps["command"])
        self.replies: dict[Any, tuple[float, dict[str, Any]]] = {}
        self.n = 0

    def send(self, cmd: str, args: dict[str, Any] | None = None, rid: Any = None, timeout: float | None = None) -> Any:
        if rid is None:
            self.n += 1
            rid = f"r{self.n}"
        self.sock.send_multipart([b"", bus.encode_request(rid, cmd, args, timeout=timeout)])
        return rid

    def wait(self, rid: Any, timeout: float = 10.0) -> dict[str, Any]:
        """The reply to ``rid`` (others that arrive meanwhile are kept)."""
        deadline = time.monotonic() + timeout
        while rid not in self.replies:
            left = deadline - time.monotonic()
            assert left > 0 and self.sock.poll(int(left * 1000)), f"no reply to {rid!r} within {timeout} s"
            reply = bus.unpack(self.sock.recv_multipart()[-1])
            self.replies[reply["id"]] = (time.monotonic(), reply)
        return self.replies[rid][1]

    def arrived(self, rid: Any) -> float:
        return self.replies[rid][0]

    def call(self, cmd: str, args: dict[str, Any] | None = None, timeout: float = 10.0) -> dict[str, Any]:
        return self.wait(self.send(cmd, args), timeout)

    def ok(self, cmd: str, args: dict[str, Any] | None = None, timeout: float = 10.0) -> Any:
        r = self.call(cmd, args, timeout)
        assert r["ok"], r
        return r["result"]


@pytest.fixture
def generic(tmp_path: Path) -> Any:
    needs_generic()
    d = Daemon(tmp_path, "--simulate", "generic")
    try:
        wait_status(d.c, "connected")
        yield d
    finally:
        d.close()


def count_objects(c: Conn) -> int:
    return len(c.ok("objects")["objects"])


def test_cancel_stops_a_capture_after_the_shot_in_progress_and_saves_it(generic: Daemon, tmp_path: Path) -> None:
    """Issue 20's case on the bus: 4 shots with a 2 s self-timer, cancelled after 3 s."""
    c = Conn(generic)
    assert c.ok("set", {"prop": "delay", "value": "2s"})["value"] == 2000
    before = count_objects(c)
    out = tmp_path / "out"
    t0 = time.monotonic()
    c.send("capture", {"count": 4, "dir": str(out)}, rid="cap")
    time.sleep(3.0)  # shot 1 is saved, shot 2 is on its self-timer
    sent = time.monotonic()
    state = c.ok("cancel", {"id": "cap"}, timeout=2)["state"]
    answered = time.monotonic() - sent
    other = Conn(generic)
    ping_start = time.monotonic()
    other.ok("ping", timeout=2)
    ping = time.monotonic() - ping_start
    reply = c.wait("cap", 15)
    took = c.arrived("cap") - t0
    assert state == "running" and answered < 0.5 and ping < 1.0, (state, answered, ping)
    assert reply["ok"], reply
    result = reply["result"]
    assert result["stopped"] == "cancelled"
    shots = result["shots"]
    assert len(shots) == 2, shots  # the shot in progress at the cancel was finished, no third
    assert 3.5 < took < 6.0, took
    files = sorted(out.iterdir())
    assert sorted(Path(s["path"]) for s in shots) == files
    assert all(f.read_bytes()[:2] == b"\xff\xd8" and f.read_bytes()[-2:] == b"\xff\xd9" for f in files)
    time.sleep(2.5)  # a third shot on its self-timer would have been added by now
    assert count_objects(c) - before == len(files) == 2
    print(
        f"cancel answered in {answered * 1000:.1f} ms, ping in {ping * 1000:.1f} ms, capture replied {took:.2f} s after it began"
    )


def test_a_queued_request_never_starts_and_cancel_says_what_it_found(generic: Daemon) -> None:
    c = Conn(generic)
    c.ok("set", {"prop": "delay", "value": "2s"})
    iso = c.ok("get", {"prop": "iso"})["value"]
    c.send("capture", {"count": 1}, rid="cap")
    time.sleep(0.3)  # the capture holds the camera
    c.send("set", {"prop": "iso", "value": "1600"}, rid="s1")
    time.sleep(0.1)
    t0 = time.monotonic()
    assert c.ok("cancel", {"id": "s1"})["state"] == "queued"
    e = c.wait("s1", 1)["error"]
    assert e["code"] == "cancelled" and "nothing was done" in e["message"]
    assert c.arrived("s1") - t0 < 0.5
    # another client cannot stop this one's request
    assert Conn(generic).ok("cancel", {"id": "cap"})["state"] == "unknown"
    assert c.wait("cap", 10)["ok"]
    assert c.ok("get", {"prop": "iso"})["value"] == iso  # the cancelled set was never applied
    assert c.ok("cancel", {"id": "cap"})["state"] == "done"  # its reply is kept for a retry
    assert c.ok("cancel", {"id": "nope"})["state"] == "unknown"
    assert c.call("cancel", {"id": True})["error"]["code"] == "bad_request"


def test_a_request_whose_client_gave_up_never_starts(generic: Daemon) -> None:
    """A ``set`` queued behind a long capture, with a 0.5 s deadline: it answers
    ``expired`` when its deadline passes (it leaves the queue), and is never applied."""
    c = Conn(generic)
    c.ok("set", {"prop": "delay", "value": "2s"})
    iso = c.ok("get", {"prop": "iso"})["value"]
    c.send("capture", {"count": 1}, rid="cap")
    time.sleep(0.3)
    t0 = time.monotonic()
    c.send("set", {"prop": "iso", "value": "1600"}, rid="s", timeout=0.5)
    e = c.wait("s", 3)["error"]
    waited = c.arrived("s") - t0
    assert e["code"] == "expired" and "nothing was done" in e["message"], e
    assert 0.45 < waited < 1.0, waited
    assert c.ok("status")["queue"] == 1  # only the capture: the expired set left the queue
    assert c.wait("cap", 10)["ok"]
    time.sleep(0.2)
    assert c.ok("get", {"prop": "iso"})["value"] == iso
    # a deadline that is not a number of milliseconds is refused
    c.sock.send_multipart([b"", bus.pack({"id": "bad", "cmd": "ping", "timeout_ms": "soon"})])
    assert c.wait("bad")["error"]["code"] == "bad_request"


def test_no_ghost_commands_with_a_slow_camera(tmp_path: Path) -> None:
    """Issue 21's case: many clients capture at once against a camera that takes 150 ms
    a transaction, each waiting 2 s. Those whose deadline passes in the queue are never
    started; every picture the camera took was answered in time to a client still waiting."""
    needs_generic()
    d = Daemon(tmp_path, "--simulate", "generic", "--sim-latency", "150")
    try:
        wait_status(d.c, "connected")
        admin = Conn(d)
        before = count_objects(admin)
        n, wait_s = 40, 2.0
        conns = [Conn(d) for _ in range(n)]
        sent: dict[int, float] = {}
        for i, c in enumerate(conns):
            sent[i] = time.monotonic()
            c.send("capture", {"count": 1}, rid=f"cap{i}", timeout=wait_s)
        poller = zmq.Poller()
        for c in conns:
            poller.register(c.sock, zmq.POLLIN)
        by_sock = {c.sock: c for c in conns}
        end = time.monotonic() + 60
        while sum(len(c.replies) for c in conns) < n and time.monotonic() < end:
            for sock, _ in poller.poll(1000):  # every reply timed as it arrives
                c = by_sock[sock]
                reply = bus.unpack(sock.recv_multipart()[-1])
                c.replies[reply["id"]] = (time.monotonic(), reply)
        outcomes: dict[str, int] = {}
        late_ok = []
        ok_at = []
        for i, c in enumerate(conns):
            reply = c.wait(f"cap{i}", 1)
            if reply["ok"]:
                ok_at.append(round(c.arrived(f"cap{i}") - sent[i], 3))
            code = "ok" if reply["ok"] else reply["error"]["code"]
            outcomes[code] = outcomes.get(code, 0) + 1
            if reply["ok"] and c.arrived(f"cap{i}") - sent[i] > wait_s:
                late_ok.append(round(c.arrived(f"cap{i}") - sent[i], 3))
        time.sleep(0.5)
        taken = count_objects(admin) - before
        queue = admin.ok("status")["queue"]
        print(f"{n} captures, {wait_s} s each: {outcomes}; pictures taken {taken}; ok replies after {ok_at} s")
        assert set(outcomes) <= {"ok", "expired"}, outcomes
        assert outcomes.get("ok", 0) == taken, (outcomes, taken)
        assert 0 < taken < n and outcomes.get("expired", 0) == n - taken
        assert late_ok == [], "a picture was answered after its client had given up"
        assert queue == 0
    finally:
        d.close()


def test_sigterm_during_a_multi_shot_capture_says_what_was_taken(tmp_path: Path) -> None:
    """Issue 21's lifecycle case: the reply to a capture the daemon stops lists the files
    written, and every file written is in it; nothing is torn off when the shot in
    progress can finish."""
    needs_generic()
    d = Daemon(tmp_path, "--simulate", "generic", "--sim-latency", "30")
    try:
        wait_status(d.c, "connected")
        c = Conn(d)
        out = tmp_path / "out"
        c.send("capture", {"count": 30, "dir": str(out)}, rid="cap")
        deadline = time.monotonic() + 30
        while not out.exists() or len(list(out.iterdir())) < 4:
            assert time.monotonic() < deadline, "no files"
            time.sleep(0.05)
        d.proc.popen.send_signal(signal.SIGTERM)
        reply = c.wait("cap", 10)
        assert d.proc.popen.wait(10) == 0
        files = sorted(str(p) for p in out.iterdir() if not p.name.startswith(".ptpd-"))
        if reply["ok"]:
            result = reply["result"]
            assert result["stopped"] == "stopping"
            listed = sorted(s["path"] for s in result["shots"])
        else:  # torn off in the middle of a shot: still names what was taken and left
            e = reply["error"]
            assert e["code"] == "not_connected" and "shots" in e and "delivered" in e["message"]
            listed = sorted(s["path"] for s in e["shots"] if "path" in s)
        assert files == listed and 4 <= len(files) < 30, (files, reply)
        assert not any(p.name.startswith(".ptpd-") for p in out.iterdir())
    finally:
        d.close()


def test_cancel_from_two_threads_does_not_cross_clients(generic: Daemon) -> None:
    """Two clients use the same request id: each cancel stops only its own request."""
    a, b = Conn(generic), Conn(generic)
    a.ok("set", {"prop": "delay", "value": "1s"})
    a.send("capture", {"count": 3}, rid="same")
    time.sleep(0.2)
    b.send("capture", {"count": 1}, rid="same")  # queued behind a's
    time.sleep(0.1)
    results: dict[str, str] = {}
    t = threading.Thread(target=lambda: results.__setitem__("b", b.ok("cancel", {"id": "same"})["state"]))
    t.start()
    t.join(5)
    assert results["b"] == "queued"
    assert b.wait("same", 2)["error"]["code"] == "cancelled"
    r = a.wait("same", 15)
    assert r["ok"] and len(r["result"]["shots"]) == 3 and "stopped" not in r["result"]
