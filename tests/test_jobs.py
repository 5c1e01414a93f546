"""Jobs and the control lease against ``ptpd run --simulate generic`` as a real process:
a bracket puts exposure compensation back after faults mid-run, a focus stack's frames
go from a sharp foreground to a sharp horizon, a tether job catches up with pictures taken
on the body while the link was down, and the lease refuses others' ``set``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zmq
from PIL import Image

from ptpd import bus
from test_daemon_sim import Daemon, needs_generic, recv, wait_status
from test_jobs_process import valid_jpeg, wait_job

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    needs_generic()
    d = Daemon(tmp_path_factory.mktemp("jobs"), "--simulate", "generic", "--reconnect-max", "0.3", "--keepalive", "0")
    try:
        wait_status(d.c, "connected")
    except BaseException:
        d.close()
        raise
    yield d
    assert d.close() == 0


def job_events(d: Daemon) -> zmq.Socket:
    sub = d.sub("event", b"job.", b"state.exp-bias")
    time.sleep(0.1)  # the subscription takes hold
    return sub


def until(
    sub: zmq.Socket, want: Callable[[str, dict[str, Any]], bool], timeout: float = 15.0
) -> list[tuple[str, dict[str, Any]]]:
    """Events up to and including the first ``want`` accepts."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        topic, meta = recv(sub, max(0.01, deadline - time.monotonic()))
        seen.append((topic.decode(), bus.unpack(meta)))
        if want(*seen[-1]):
            return seen


def exif_bias(path: str) -> float:
    with Image.open(path) as im:
        return float(im.getexif().get_ifd(0x8769)[0x9204])  # Exif IFD: ExposureBiasValue


def test_bracket_puts_exposure_compensation_back_after_faults_mid_run(sim: Daemon, tmp_path: Path) -> None:
    c = sim.c
    sub = job_events(sim)
    # 1. the link breaks mid-run and the camera stays away longer than the job waits: the
    # job fails, and the value it found is put back when the camera returns. (0, the
    # camera's own: a value a client had set, the link would set again by itself.)
    assert c.ok("get", {"prop": "exp-bias"})["label"] == "0"
    job = c.ok("job.start", {"kind": "bracket", "options": {"steps": 3, "ev": 1, "wait": 0.3}})
    assert [v for _, v in job["options"]["plan"]] == ["-1", "0", "+1"]
    until(sub, lambda t, m: t == "state.exp-bias" and m["value"] == -1000)  # step 1 set
    c.ok("sim.fault", {"action": "sleep_now", "options": {"seconds": 1.2}})  # refuses connections
    c.ok("sim.fault", {"action": "drop_next", "options": {"point": "before-response"}})  # drops now
    seen = until(sub, lambda t, m: t == f"job.{job['id']}" and m["event"] == "restored")
    topics = [(t, m.get("event"), m.get("value")) for t, m in seen]
    ended = next(m for t, m in seen if t == f"job.{job['id']}" and m["event"] == "ended")
    assert ended["state"] == "failed" and "did not come back" in ended["detail"], ended
    # the camera held -1 EV when the job ended; 0 again only once it was back
    assert topics.index(("state.exp-bias", None, 0)) > topics.index((f"job.{job['id']}", "ended", None)), topics
    assert c.ok("get", {"prop": "exp-bias"})["label"] == "0"

    # 2. the camera turns busy in the middle: the bracket waits, goes on, and puts +1/3 back
    assert c.ok("set", {"prop": "exp-bias", "value": "+1/3"})["value"] == 333
    job = c.ok("job.start", {"kind": "bracket", "options": {"steps": 3, "ev": 1, "dir": str(tmp_path / "a")}})
    assert [v for _, v in job["options"]["plan"]] == ["-2/3", "+1/3", "+1 1/3"]
    until(sub, lambda t, m: t == "state.exp-bias" and m["label"] == "+1/3")  # step 2 set
    c.ok("sim.fault", {"action": "busy_for", "options": {"seconds": 0.6}})
    ended = until(sub, lambda t, m: t == f"job.{job['id']}" and m["event"] == "ended")[-1][1]
    assert ended["state"] == "done" and ended["done"] == 3 and ended["missed"] == 0, ended
    done = c.ok("job.get", {"id": job["id"]})
    assert [round(exif_bias(s["path"]), 2) for s in done["shots"]] == [-0.67, 0.33, 1.33]
    assert all(valid_jpeg(Path(s["path"])) for s in done["shots"])
    assert c.ok("get", {"prop": "exp-bias"})["label"] == "+1/3"
    c.ok("sim.fault", {"action": "clear"})
    sub.close()


def exif_exposure(path: str) -> float:
    with Image.open(path) as im:
        return float(im.getexif().get_ifd(0x8769)[0x829A])  # Exif IFD: ExposureTime


def test_bracket_of_shutter_speeds_puts_the_speed_back(sim: Daemon, tmp_path: Path) -> None:
    c = sim.c
    before = c.ok("get", {"prop": "exposure"})
    c.ok("set", {"prop": "exposure", "value": "1/50"})
    try:
        job = c.ok(
            "job.start", {"kind": "bracket", "options": {"steps": 3, "ev": 1, "prop": "exposure", "dir": str(tmp_path)}}
        )
        assert [v for _, v in job["options"]["plan"]] == ["1/100", "1/50", "1/25"]  # darkest first
        done = wait_job(sim, job["id"], lambda j: j["state"] != "running")
        assert done["state"] == "done" and done["done"] == 3, done
        times = [exif_exposure(s["path"]) for s in done["shots"]]
        assert times == [0.01, 0.02, 0.04], times  # one stop apart in the pictures themselves
        assert c.ok("get", {"prop": "exposure"})["label"] == "1/50"
        # a step the camera cannot reach is refused before anything changes
        err = c.call("job.start", {"kind": "bracket", "options": {"steps": 9, "ev": 3, "prop": "exposure"}})["error"]
        assert err["code"] == "bad_request" and "beyond the camera's exposure" in err["message"], err
    finally:
        c.ok("set", {"prop": "exposure", "value": before["label"]})


def test_a_timelapse_on_a_schedule_deletes_each_shot_once_saved(sim: Daemon, tmp_path: Path) -> None:
    """``start``/``stop`` times plan the grid; ``duration`` ends it too; with
    ``delete_after`` the card keeps none of the job's pictures, the directory all."""
    c = sim.c
    on_card = {o["handle"] for o in c.ok("objects")["objects"]}
    start = time.time() + 0.8
    job = c.ok(
        "job.start",
        {
            "kind": "timelapse",
            "options": {
                "interval": 0.5,
                "start": start,
                "stop": start + 1.7,
                "dir": str(tmp_path / "a"),
                "delete_after": True,
            },
        },
    )
    assert job["state"] == "running" and job["options"]["start"] == start
    done = wait_job(sim, job["id"], lambda j: j["state"] != "running")
    assert done["state"] == "done" and done["done"] == 4 and done["missed"] == 0, done  # 0, 0.5, 1.0, 1.5 s
    assert [s["planned"] for s in done["shots"]] == [start + k * 0.5 for k in range(4)]
    assert all(s["actual"] >= s["planned"] for s in done["shots"])  # never early
    files = sorted((tmp_path / "a").iterdir())
    assert len(files) == 4 and all(valid_jpeg(p) for p in files)
    assert {o["handle"] for o in c.ok("objects")["objects"]} == on_card  # each deleted once saved
    # by duration, without a directory: the pictures stay on the card
    job = c.ok("job.start", {"kind": "timelapse", "options": {"interval": 0.5, "duration": 1.2}})
    done = wait_job(sim, job["id"], lambda j: j["state"] != "running")
    assert done["state"] == "done" and done["done"] == 3, done  # 0, 0.5, 1.0 s
    assert len({o["handle"] for o in c.ok("objects")["objects"]} - on_card) == 3


def sharpness(path: str, top: float, bottom: float) -> float:
    """Variance of the Laplacian in a band of rows (the middle columns): high where sharp."""
    with Image.open(path) as im:
        a = np.asarray(im.convert("L"), np.float32)
    h, w = a.shape
    r = a[int(top * h) : int(bottom * h), int(0.3 * w) : int(0.7 * w)]
    lap = 4 * r[1:-1, 1:-1] - r[:-2, 1:-1] - r[2:, 1:-1] - r[1:-1, :-2] - r[1:-1, 2:]
    return float(lap.var())


def test_a_focus_stack_goes_from_a_sharp_foreground_to_a_sharp_horizon(sim: Daemon, tmp_path: Path) -> None:
    c = sim.c
    c.ok("set", {"prop": "focusdistance", "value": "300mm"})
    assert c.ok("get", {"prop": "focusmode"})["label"] == "automatic"
    job = c.ok("job.start", {"kind": "focus-stack", "options": {"steps": 6, "step": 2, "dir": str(tmp_path)}})
    done = wait_job(sim, job["id"], lambda j: j["state"] != "running")
    assert done["state"] == "done" and done["done"] == 6, done
    paths = [s["path"] for s in done["shots"]]
    bands = [(y, y + 0.05) for y in np.arange(0.35, 1.0, 0.05)]
    table = [[sharpness(p, a, b) for a, b in bands] for p in paths]
    near = [row[-1] for row in table]  # the ground at the bottom edge
    far = [row[0] for row in table]  # the hills at the horizon
    assert near[0] > 10 * far[0] and far[-1] > 10 * near[-1], (near, far)
    assert near == sorted(near, reverse=True) and far == sorted(far), (near, far)
    # the sharpest band climbs from the bottom towards the horizon, frame by frame
    sharpest = [max(range(len(bands)), key=row.__getitem__) for row in table]
    assert sharpest == sorted(sharpest, reverse=True) and sharpest[0] > sharpest[-1], sharpest
    # what the drive changed is back
    assert c.ok("get", {"prop": "focusmode"})["label"] == "automatic"
    assert c.ok("get", {"prop": "focusdistance"})["label"] == "300mm"


def test_tether_catches_up_after_the_link_was_down(sim: Daemon, tmp_path: Path) -> None:
    c = sim.c
    job = c.ok("job.start", {"kind": "tether", "options": {"dir": str(tmp_path)}})
    wait_job(sim, job["id"], lambda j: "waiting for pictures" in j["detail"])
    assert len(c.ok("sim.shutter")["handles"]) == 1  # on the body
    wait_job(sim, job["id"], lambda j: j["done"] == 1)
    # a client's capture is a new picture too
    c.ok("capture")
    wait_job(sim, job["id"], lambda j: j["done"] == 2)
    c.ok("sim.fault", {"action": "sleep_now", "options": {"seconds": 0.8}})
    wait_status(c, "disconnected")
    assert len(c.ok("sim.shutter", {"count": 2})["handles"]) == 2  # while the link is down
    j = wait_job(sim, job["id"], lambda j: j["done"] == 4, timeout=15)
    assert c.ok("status")["reconnects"] >= 1
    files = sorted(tmp_path.iterdir())
    assert len(files) == 4 and all(valid_jpeg(p) for p in files)
    assert len({p.read_bytes() for p in files}) == 4
    time.sleep(0.3)  # nothing more arrives: no picture twice
    j = c.ok("job.stop", {"id": job["id"]})
    assert j["state"] == "stopped" and j["done"] == 4 and len(sorted(tmp_path.iterdir())) == 4


def test_a_timelapse_keeps_the_camera_awake_between_shots(sim: Daemon, tmp_path: Path) -> None:
    """The simulated body falls asleep after 0.6 s without a request (and sleeps 5 s); the
    daemon's own keep-alive is off. The job's keep-awake requests carry it from shot to
    shot: no slot missed, no reconnect."""
    c = sim.c
    before = c.ok("status")["reconnects"]
    c.ok("sim.fault", {"action": "configure", "options": {"sleep_after_s": 0.6}})
    try:
        job = c.ok("job.start", {"kind": "timelapse", "options": {"interval": 1.5, "count": 2, "awake": 0.25}})
        done = wait_job(sim, job["id"], lambda j: j["state"] != "running", timeout=15)
        assert done["state"] == "done" and done["done"] == 2 and done["missed"] == 0, done
        assert c.ok("status")["reconnects"] == before
    finally:
        c.ok("sim.fault", {"action": "clear"})


def test_the_control_lease(sim: Daemon) -> None:
    alice, bob = sim.c, sim.client()
    sub = sim.sub("event", b"lease")
    time.sleep(0.1)
    lease = alice.ok("lock", {"holder": "alice", "ttl": 30})
    assert lease["holder"] == "alice" and len(lease["lease"]) == 32
    assert bus.unpack(recv(sub)[1])["state"] == "held"
    err = bob.call("set", {"prop": "iso", "value": "400"})["error"]
    assert err["code"] == "locked" and err["holder"] == "alice" and "locked by alice" in err["message"]
    assert bob.call("capture")["error"]["code"] == "locked"
    assert bob.call("job.start", {"kind": "timelapse", "options": {"interval": 1}})["error"]["code"] == "locked"
    assert bob.call("lock")["error"]["code"] == "locked"
    assert bob.ok("get", {"prop": "iso"})["name"] == "iso"  # others read
    assert sim.c.ok("status")["lease"]["holder"] == "alice"
    assert alice.ok("set", {"prop": "iso", "value": "400"})["label"] == "400"  # the holder's connection
    # a process given the token (ptpctl lock -- CMD) acts as the holder
    carol = sim.client()
    carol.sock.send_multipart(
        [b"", bus.encode_request(1, "set", {"prop": "iso", "value": "800"}, lease=lease["lease"])]
    )
    assert bus.unpack(recv(carol.sock)[-1])["ok"]
    assert bob.ok("unlock")["released"] is False  # not his
    assert alice.ok("unlock")["released"] is True
    assert bus.unpack(recv(sub)[1])["state"] == "released"
    assert bob.ok("set", {"prop": "iso", "value": "200"})["label"] == "200"
    # a holder that vanishes: its lease runs out
    bob.ok("lock", {"ttl": 1})
    assert alice.call("set", {"prop": "iso", "value": "400"})["error"]["code"] == "locked"
    bob.sock.close()
    time.sleep(1.2)
    assert alice.ok("set", {"prop": "iso", "value": "400"})["label"] == "400"
    states = [bus.unpack(recv(sub)[1])["state"] for _ in range(2)]
    assert states == ["held", "expired"]
    # a holder may start a job: the job takes the lease over, and gives it back at its end
    alice.ok("lock", {"holder": "alice"})
    job = alice.ok("job.start", {"kind": "bracket", "options": {"steps": 3, "ev": 1}})
    assert alice.call("set", {"prop": "iso", "value": "800"})["error"]["holder"] == f"job {job['id']} (bracket)"
    assert alice.call("unlock", {"force": True})["error"]["code"] == "locked"  # a job's: stop the job
    wait_job(sim, job["id"], lambda j: j["state"] != "running")
    assert sim.c.ok("status")["lease"] is None
    sub.close()
