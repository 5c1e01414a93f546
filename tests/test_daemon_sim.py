"""``ptpd run --simulate`` as a real process, driven with raw pyzmq sockets.

The whole stack runs: bus -> daemon -> camera API -> PTP/IP initiator -> loopback TCP ->
simulated camera. The reconnect test runs the simulator as its own process
(``ptpd simulate``) so it can be killed and started again.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from conftest import Proc, free_port, wait_for_port
from ptpd import bus
from test_daemon_process import PTPD, Raw, daemon_env, endpoint_args, wait_ping


def needs_generic() -> None:
    pytest.importorskip("ptpd.camera.generic", reason="GenericCamera not there yet")


pytestmark = pytest.mark.timeout(60)


def wait_status(c: Raw, want: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        st = c.ok("status")
        if st["connection"] == want:
            return st
        assert time.monotonic() < deadline, f"connection stayed {st['connection']} ({st['detail']})"
        time.sleep(0.05)


def subscriber(ctx: Any, endpoint: str, *topics: bytes, rcvhwm: int = 1000) -> Any:
    """A SUB socket of ``ctx`` (a ``zmq.Context`` or ``zmq.asyncio.Context``) on
    ``endpoint`` for ``topics``."""
    s = ctx.socket(zmq.SUB)
    s.linger = 0
    s.rcvhwm = rcvhwm
    s.connect(endpoint)
    for t in topics:
        s.subscribe(t)
    return s


def largest_object(c: Raw) -> dict[str, Any]:
    """The biggest object on the camera, once the daemon is connected."""
    wait_status(c, "connected", 20)
    return max(c.ok("objects", timeout=10)["objects"], key=lambda o: o["size"])


def largest_and_bytes(c: Raw) -> tuple[dict[str, Any], bytes]:
    """The biggest object and all its bytes (an undisturbed download, to compare with)."""
    obj = largest_object(c)
    return obj, bytes(c.ok("download", {"handle": obj["handle"]}, timeout=20)["data"])


class Daemon:
    def __init__(self, tmp: Path, *args: str) -> None:
        run = tmp / "run"
        run.mkdir(mode=0o700, exist_ok=True)
        self.eps = {k: f"ipc://{run}/{k}" for k in ("command", "event", "liveview")}
        self.proc = Proc([PTPD, "run", *args, *endpoint_args(self.eps)], env=daemon_env(tmp))
        self.ctx = zmq.Context()
        self.c = Raw(self.ctx, self.eps["command"])
        try:
            wait_ping(self.c, self.proc)
        except BaseException:
            self.close()  # the process runs in its own session: never leave it behind
            raise

    def client(self) -> Raw:
        return Raw(self.ctx, self.eps["command"])

    def sub(self, which: str, *topics: bytes, rcvhwm: int = 1000) -> zmq.Socket:
        return subscriber(self.ctx, self.eps[which], *topics, rcvhwm=rcvhwm)

    def close(self) -> int:
        code = self.proc.stop()
        self.ctx.destroy(linger=0)
        return code


@pytest.fixture(scope="module")
def generic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    needs_generic()
    d = Daemon(tmp_path_factory.mktemp("gen"), "--simulate", "generic", "--keepalive", "0.5")
    try:
        wait_status(d.c, "connected")
    except BaseException:
        d.close()
        raise
    yield d
    assert d.close() == 0


def recv(sock: zmq.Socket, timeout: float = 5.0) -> list[bytes]:
    assert sock.poll(int(timeout * 1000)), "nothing arrived"
    return sock.recv_multipart()


def test_every_command_against_the_simulated_camera(generic: Daemon, tmp_path: Path) -> None:
    c = generic.c
    assert c.ok("ping")["pong"] is True
    assert c.ok("version")["protocol"] == bus.PROTOCOL_VERSION
    st = c.ok("status")
    assert st["connection"] == "connected" and st["simulated"] and st["model"]
    assert {x["name"] for x in c.ok("help")["commands"]} == set(bus.COMMANDS)
    info = c.ok("info")
    assert info["model"] == st["model"] and 0x1001 in info["operations"]
    assert "iso" in c.ok("properties")["names"]
    desc = c.ok("describe", {"prop": "iso"})
    assert desc["code"] == 0x500F and desc["form"] == "enum" and any(a["label"] == "800" for a in desc["allowed"])
    assert c.ok("set", {"prop": "iso", "value": "800"})["label"] == "800"
    assert c.ok("get", {"prop": "0x500F"})["value"] == 800
    e = c.call("set", {"prop": "iso", "value": "12345"})["error"]
    assert e["code"] == "invalid_value"
    assert any(p["name"] == "iso" for p in c.ok("state")["properties"])
    assert c.ok("snapshot")["state"]["iso"]["value"] == 800

    shot = c.ok("capture", {"download": True, "preview": True}, timeout=15)["shots"][0]
    assert shot["data"][:2] == b"\xff\xd8" and shot["data"][-2:] == b"\xff\xd9" and shot["size"] == len(shot["data"])
    out = tmp_path / "out"
    saved = c.ok("capture", {"dir": str(out)}, timeout=15)["shots"][0]
    assert Path(saved["path"]).parent == out and Path(saved["path"]).read_bytes()[:2] == b"\xff\xd8"
    handles = [o["handle"] for o in c.ok("objects")["objects"]]
    assert shot["handle"] in handles and saved["handle"] in handles
    dl = c.ok("download", {"handle": shot["handle"]}, timeout=15)
    assert dl["data"] == shot["data"]
    assert c.ok("delete", {"handle": saved["handle"]})["handle"] == saved["handle"]
    assert saved["handle"] not in [o["handle"] for o in c.ok("objects")["objects"]]
    e = c.call("download", {"handle": saved["handle"]})["error"]
    assert e["code"] == "camera_refused" and e["ptp_code"] == 0x2009  # InvalidObjectHandle

    raw = c.ok("opreq", {"code": 0x1001})
    assert raw["code"] == 0x2001 and raw["code_name"] == "OK" and len(raw["data"]) > 20
    raw = c.ok("opreq", {"code": 0x10FF})
    assert raw["code"] == 0x2005 and raw["code_name"] == "OperationNotSupported"

    lv = c.call("liveview.start")
    assert lv["ok"] or lv["error"]["code"] == "unsupported"
    assert c.ok("liveview.stop")["on"] is False
    assert "injected" in c.ok("sim.fault", {"action": "snapshot"})["faults"]


def test_two_clients_at_once(generic: Daemon) -> None:
    results: dict[int, list[Any]] = {}

    def work(n: int) -> None:
        c = generic.client()
        got = []
        for i in range(30):
            cmd, args = [("ping", None), ("get", {"prop": "iso"}), ("status", None)][i % 3]
            r = c.call(cmd, args, timeout=10)
            got.append((r["id"], r["ok"]))
        results[n] = got
        c.sock.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [0, 1]
    for got in results.values():
        assert [i for i, _ in got] == list(range(1, 31)) and all(ok for _, ok in got)


def test_malformed_bus_input_gets_errors_and_daemon_still_serves(generic: Daemon) -> None:
    s = generic.ctx.socket(zmq.DEALER)
    s.linger = 0
    s.connect(generic.eps["command"])
    junk = [os.urandom(n) for n in (1, 7, 64, 1000)] + [
        bus.pack("string"),
        bus.pack({"id": 1}),
        bus.pack({"id": 2, "cmd": "get", "args": {"prop": None}}),
        bus.pack({"id": 3, "cmd": "get", "args": {"prop": [1]}}),
        bus.pack({"id": 4, "cmd": "capture", "args": {"count": 10_000}}),
        bus.pack({"id": 5, "cmd": "nope"}),
    ]
    for raw in junk:
        s.send_multipart([b"", raw])
        r = bus.unpack(recv(s)[-1])
        assert r["ok"] is False and r["error"]["code"] in ("bad_request", "unknown_command"), (raw, r)
    s.send_multipart([b"", b"a", b"b", b"c"])
    assert bus.unpack(recv(s)[-1])["error"]["code"] == "bad_request"
    s.close()
    assert generic.c.ok("get", {"prop": "iso"})["name"] == "iso"


def test_late_joiner_is_consistent_after_snapshot(generic: Daemon) -> None:
    c = generic.c
    c.ok("set", {"prop": "iso", "value": "400"})
    sub = generic.sub("event", b"state.")
    deadline = time.monotonic() + 5
    while c.ok("status")["subscribers"] < 1:  # the subscription reached the daemon
        assert time.monotonic() < deadline
        time.sleep(0.01)
    c.ok("set", {"prop": "iso", "value": "1600"})
    snap = c.ok("snapshot")
    c.ok("set", {"prop": "iso", "value": "200"})
    state = {k: v["value"] for k, v in snap["state"].items()}
    assert state["iso"] == 1600
    while state["iso"] != 200:
        topic, meta = recv(sub)
        m = bus.unpack(meta)
        if m["seq"] > snap["seq"]:
            state[m["name"]] = m["value"]
    sub.close()


def test_camera_busy_is_reported_with_its_ptp_code(generic: Daemon) -> None:
    c = generic.c
    c.ok("sim.fault", {"action": "busy_for", "options": {"seconds": 1.0}})
    e = c.call("get", {"prop": "iso"})["error"]
    assert e["code"] == "camera_busy" and e["ptp_code"] == 0x2019
    c.ok("sim.fault", {"action": "clear"})
    time.sleep(1.0)
    assert c.ok("get", {"prop": "iso"})["name"] == "iso"


def test_sim_fault_refuses_options_it_cannot_take(generic: Daemon) -> None:
    # Taken unchecked, {drop_rate: "x"} answered ok and then every transaction failed
    # inside the simulator: now the simulator's control surface says no up front.
    c = generic.c
    before = c.ok("sim.fault", {"action": "snapshot"})["faults"]
    for options in ({"drop_rate": "x"}, {"drop_rate": 2}, {"nonsense": 1}):
        e = c.call("sim.fault", {"action": "configure", "options": options})["error"]
        assert e["code"] == "bad_request" and next(iter(options)) in e["message"], e
    e = c.call("sim.fault", {"action": "drop_next", "options": {"point": "sideways"}})["error"]
    assert e["code"] == "bad_request" and "point" in e["message"]
    e = c.call("sim.fault", {"action": "explode"})["error"]
    assert e["code"] == "bad_request" and "configure" in e["message"]
    assert c.ok("sim.fault", {"action": "snapshot"})["faults"] == before  # nothing changed
    for _ in range(5):  # and the camera answers as before
        assert c.ok("get", {"prop": "iso"})["name"] == "iso"
    assert c.ok("status")["connection"] == "connected"


def test_dropped_link_reconnects_by_itself(generic: Daemon) -> None:
    c = generic.c
    sub = generic.sub("event", b"status.connection")
    before = c.ok("status")["reconnects"]
    c.ok("sim.fault", {"action": "drop_next", "options": {"point": "before-response"}})
    e = c.call("get", {"prop": "iso"}, timeout=15)["error"]
    assert e["code"] in ("not_connected", "timeout")
    states = []
    while "connected" not in states:
        states.append(bus.unpack(recv(sub, 10)[1])["state"])
    assert states[0] == "disconnected" or states[0] == "connecting"
    assert c.ok("get", {"prop": "iso"})["name"] == "iso"
    assert c.ok("status")["reconnects"] == before + 1
    sub.close()


@pytest.mark.parametrize("vendor", ["generic", "fuji", "canon"])
def test_reconnect_after_simulator_restart_reapplies_iso(tmp_path: Path, vendor: str) -> None:
    pytest.importorskip(f"ptpd.camera.{vendor}", reason=f"{vendor} camera not there yet")
    port = free_port(3)
    sim_args = [PTPD, "simulate", "--vendor", vendor, "--host", "127.0.0.1", "--port", str(port)]
    sim = Proc(sim_args)
    d = None
    try:
        wait_for_port(port)
        d = Daemon(tmp_path, "--vendor", vendor, "--camera", f"127.0.0.1:{port}", "--reconnect-max", "0.5")
        c = d.c
        wait_status(c, "connected")
        assert c.ok("get", {"prop": "iso"})["label"] != "1600"
        assert c.ok("set", {"prop": "iso", "value": "1600"})["label"] == "1600"
        os.killpg(sim.popen.pid, signal.SIGKILL)
        sim.popen.wait(5)
        wait_status(c, "disconnected")
        t0 = time.monotonic()
        assert c.call("get", {"prop": "iso"})["error"]["code"] == "not_connected"
        assert time.monotonic() - t0 < 1.0
        sim = Proc(sim_args)  # a fresh camera: ISO back at its default
        wait_for_port(port)
        st = wait_status(c, "connected", timeout=15)
        assert st["reconnects"] >= 1
        assert c.ok("get", {"prop": "iso"})["label"] == "1600"
    finally:
        sim.stop()
        if d is not None:
            assert d.close() == 0


def test_a_reconnect_sets_settings_again_but_never_winds_the_clock_back(tmp_path: Path) -> None:
    """Issue 20: after ``set datetime`` every reconnect rewound the camera's clock to the
    value once set. The clock runs on across the drop; the ISO a client chose is set again."""
    needs_generic()
    d = Daemon(tmp_path, "--simulate", "generic", "--reconnect-max", "0.5")
    try:
        c = d.c
        wait_status(c, "connected")
        assert c.ok("set", {"prop": "datetime", "value": "20200101T000000"})["value"] == "20200101T000000"
        c.ok("set", {"prop": "iso", "value": "1600"})
        time.sleep(2.2)
        before = c.ok("status")["reconnects"]
        c.ok("sim.fault", {"action": "drop_next", "options": {"point": "before-response"}})
        assert c.call("get", {"prop": "battery"}, timeout=15)["error"]["code"] in ("not_connected", "timeout")
        deadline = time.monotonic() + 15
        while c.ok("status")["reconnects"] == before or c.ok("status")["connection"] != "connected":
            assert time.monotonic() < deadline, "no reconnect"
            time.sleep(0.05)
        clock = c.ok("get", {"prop": "datetime"})["value"]
        assert "20200101T000002" <= clock < "20200101T000100", clock  # ran on: not set back to 00:00:00
        assert c.ok("get", {"prop": "iso"})["value"] == 1600
    finally:
        assert d.close() == 0


def test_sigterm_during_a_capture_exits_cleanly(tmp_path: Path) -> None:
    needs_generic()
    d = Daemon(tmp_path, "--simulate", "generic")
    try:
        wait_status(d.c, "connected")
        d.c.ok("sim.fault", {"action": "slow_next", "options": {"ms": 5000}})
        d.c.sock.send_multipart([b"", bus.encode_request("cap", "capture", {"count": 1})])
        time.sleep(0.3)
        assert d.c.ok("status")["busy"] == "capture"
        t0 = time.monotonic()
        d.proc.popen.send_signal(signal.SIGTERM)
        assert d.proc.popen.wait(6) == 0
        assert time.monotonic() - t0 < 4.0
        if d.c.sock.poll(500):  # the capture got an answer before the socket closed
            r = bus.unpack(d.c.sock.recv_multipart()[-1])
            assert r["id"] == "cap"
        err = d.proc.output()[1]
        assert "Traceback" not in err
    finally:
        d.close()


@pytest.fixture
def fuji(tmp_path: Path) -> Iterator[Daemon]:
    pytest.importorskip("ptpd.camera.fuji", reason="FujiCamera not there yet")
    pytest.importorskip("ptpd.simulator.fuji", reason="Fuji simulator not there yet")
    d = Daemon(tmp_path, "--simulate", "fuji")
    try:
        wait_status(d.c, "connected", timeout=20)
    except BaseException:
        d.close()
        raise
    yield d
    assert d.close() == 0


def test_three_subscribers_get_the_same_frames_while_a_fourth_never_reads(fuji: Daemon) -> None:
    c = fuji.c
    assert c.ok("status")["liveview"]["on"] is False
    stuck = fuji.sub("liveview", b"liveview.frame", rcvhwm=1)  # never read
    readers = [fuji.sub("liveview", b"liveview.") for _ in range(3)]
    frames: list[dict[int, str]] = [{} for _ in readers]
    deadline = time.monotonic() + 15
    while min(len(f) for f in frames) < 15:
        assert time.monotonic() < deadline, [len(f) for f in frames]
        for s, got in zip(readers, frames, strict=True):
            while s.poll(0):
                topic, meta, jpeg = s.recv_multipart()
                m = bus.unpack(meta)
                assert topic == b"liveview.frame" and m["size"] == len(jpeg) and jpeg[:2] == b"\xff\xd8"
                got[m["seq"]] = hashlib.sha1(jpeg).hexdigest()
        time.sleep(0.005)
    common = set(frames[0]) & set(frames[1]) & set(frames[2])
    assert len(common) >= 5
    for seq in common:
        assert frames[0][seq] == frames[1][seq] == frames[2][seq]
    st = c.ok("status")
    assert st["liveview"]["on"] and st["liveview"]["subscribers"] == 4 and st["liveview"]["fps"] > 0
    for s in [*readers, stuck]:
        s.close()
    deadline = time.monotonic() + 5
    while c.ok("status")["liveview"]["on"]:
        assert time.monotonic() < deadline, "live view kept running with nobody watching"
        time.sleep(0.05)
