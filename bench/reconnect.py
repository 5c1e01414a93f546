"""Back to work after the link drops: a 3 s outage, then the time until a command succeeds.

Per link profile (:mod:`bench.netns`), the simulated Fuji camera (the product's Wi-Fi body)
in the camera's namespace, the client side in the host's. The link goes down for
:data:`OUTAGE` seconds (the camera's end of the veth pair is set down, so the host's end
loses its carrier: what is in flight is lost and neither side is told, as when a camera's
access point goes out of reach), then comes back. Measured: from the moment both ends have
their carrier again to the first command that succeeds.

* ptpd: the daemon (its own defaults for the camera's timeout, the keep-awake poll and the
  reconnect backoff) holds the camera; a client sends ``get iso`` on the bus, waits at
  most :data:`TRY` seconds for the reply, and sends the next one (a reply that comes late
  still counts when it comes).
* gphoto2: ``gphoto2 --get-config iso`` in a loop, each run given at most :data:`TRY`
  seconds (``timeout``), as a script polls a camera: it has no session to keep, so its
  time back is one run that works after the link returns.

Blocks ABBA (ptpd, gphoto2, gphoto2, ptpd). Target: ptpd back within 1 s of the link.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import msgpack
import zmq

from bench.common import Result, Stats, Table, Target, ms, run_timed, tempdir
from bench.harness import BusClient, Daemon, gphoto2_args, gphoto2_env
from bench.linkbench import camera, daemon, main_for_links, verdict_note
from bench.netns import Link, Profile

OUTAGE = 3.0  #: seconds the link stays down
TRY = 1.0  #: seconds a client waits for one command before it tries again
GIVE_UP = 30.0  #: seconds after the link returns without a success: reported as not back


def _poll_bus(endpoint: str, stop: threading.Event, log: list[tuple[float, bool]]) -> None:
    """Send ``get iso`` until ``stop``, each waited for at most :data:`TRY` s before the
    next is sent; every reply as ``(received, ok)`` (a late one too)."""
    s: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.DEALER)
    s.linger = 0
    s.connect(endpoint)
    rid = 0
    try:
        while not stop.is_set():
            rid += 1
            s.send_multipart([b"", msgpack.packb({"id": rid, "cmd": "get", "args": {"prop": "iso"}})])
            deadline = time.monotonic() + TRY
            answered = False
            while not answered and not stop.is_set() and (left := deadline - time.monotonic()) > 0:
                if s.poll(int(min(left, 0.1) * 1000) + 1):
                    rep = msgpack.unpackb(s.recv_multipart()[-1], raw=False)
                    log.append((time.monotonic(), bool(rep.get("ok"))))
                    answered = rep.get("id") == rid
            if answered:
                time.sleep(0.05)  # a client's pace, not a flood
    finally:
        s.close(0)


def ptpd_outage(link: Link, d: Daemon, outage: float) -> dict[str, Any]:
    """One outage with the daemon holding the camera: seconds from the link's return to
    the first successful command (None: not back within :data:`GIVE_UP`)."""
    log: list[tuple[float, bool]] = []
    stop = threading.Event()
    with BusClient(d.endpoints["command"]) as c:
        reconnects = c.result("status")["reconnects"]
    poller = threading.Thread(target=_poll_bus, args=(d.endpoints["command"], stop, log), name="poller", daemon=True)
    poller.start()
    try:
        time.sleep(1.0)  # commands flowing first
        link.down()
        down = time.monotonic()
        time.sleep(outage)
        link.up()
        up = time.monotonic()
        back = None
        while back is None and time.monotonic() < up + GIVE_UP:
            back = next((t for t, ok in list(log) if ok and t >= up), None)
            time.sleep(0.01)
    finally:
        stop.set()
        poller.join(TRY + 5)
    with BusClient(d.endpoints["command"]) as c:
        reconnects = c.result("status", timeout=GIVE_UP)["reconnects"] - reconnects
    # reconnects: 0 means the daemon's session lived through the outage (TCP carried the
    # request in flight once the link was back)
    return {
        "back": None if back is None else back - up,
        "errors": sum(1 for t, ok in log if not ok and t >= down),
        "reconnects": reconnects,
    }


def gphoto2_outage(link: Link, sim: Any, home: Path, outage: float) -> dict[str, Any]:
    """One outage with gphoto2 polling in a loop; seconds from the link's return to the end
    of the first run that succeeded."""
    env = gphoto2_env(home)
    argv = ["timeout", "-k", "1", f"{TRY:g}", *link.host([*gphoto2_args(sim), "--get-config", "iso"])]
    marks: dict[str, float] = {}

    def outage_now() -> None:
        time.sleep(1.0)
        link.down()
        marks["down"] = time.monotonic()
        time.sleep(outage)
        link.up()
        marks["up"] = time.monotonic()

    t = threading.Thread(target=outage_now, name="outage")
    t.start()
    back = None
    fails = 0
    deadline = time.monotonic() + 1.0 + outage + GIVE_UP
    while time.monotonic() < deadline:
        dt, rc, text = run_timed(argv, env=env, timeout=TRY + 5)
        end = time.monotonic()
        if "up" in marks and rc == 0 and "Current:" in text:
            back = end - marks["up"]
            break
        if "down" in marks and rc != 0:
            fails += 1
        if rc != 0:
            time.sleep(0.05)
    t.join()
    return {"back": back, "errors": fails}


def on_link(profile: Profile, quick: bool, res: Result, table: Table) -> None:
    outage = 1.0 if quick else OUTAGE
    reps = 1 if quick else 4
    found: dict[str, list[dict[str, Any]]] = {"ptpd": [], "gphoto2": []}
    with (
        tempdir() as work,
        Link(profile) as link,
        camera(
            link,
            "fuji",
            opts={
                # a full DeviceInfo (the bodies send an empty one over Wi-Fi): gphoto2 then stays on
                # its generic paths, where --get-config iso is the standard ExposureIndex
                "pairing_delay": 0,
                "initial_images": 0,
                "full_device_info": True,
            },
        ) as sim,
    ):

        def ptpd_block(k: int) -> None:
            # the daemon as installed: its own timeout, keep-awake poll and reconnect backoff
            with daemon(
                link, sim, work / f"d{len(found['ptpd'])}", timeout=10.0, keepalive=10.0, reconnect_max=None
            ) as d:
                for _ in range(k):
                    found["ptpd"].append(ptpd_outage(link, d, outage))
                    time.sleep(0.5)

        def gphoto2_block(k: int) -> None:
            for _ in range(k):
                found["gphoto2"].append(gphoto2_outage(link, sim, work / "home", outage))

        half = max(1, reps // 2)
        ptpd_block(half)
        gphoto2_block(half)
        if not quick:
            gphoto2_block(reps - half)
            ptpd_block(reps - half)
    worst: dict[str, float | None] = {}
    for side, rs in found.items():
        backs = [r["back"] for r in rs if r["back"] is not None]
        s = Stats.of(backs)
        worst[side] = max(backs) if backs and len(backs) == len(rs) else None
        table.rows.append(
            [
                profile.title,
                "ptpd (daemon, bus client)" if side == "ptpd" else "gphoto2 --get-config in a loop",
                f"{len(backs)}/{len(rs)}",
                ms(s.median),
                ms(s.max),
                ", ".join("-" if r["back"] is None else ms(r["back"]) for r in rs),
                sum(r["errors"] for r in rs),
                sum(r["reconnects"] for r in rs) if side == "ptpd" else "",
            ]
        )
        res.raw[f"{profile.name}_{side}"] = {"back": s, "runs": rs}
    p, g = worst["ptpd"], worst["gphoto2"]
    res.summarize(
        profile.title,
        f"back after a {outage:g} s link outage: link up -> first command that succeeds (worst of {len(found['ptpd'])})",
        "not back" if p is None else f"{ms(p)} ms",
        "not back" if g is None else f"{ms(g)} ms",
        f"{g / p:.1f}x as fast" if p and g else "",
        Target(
            f"{profile.name}: ptpd back after a {outage:g} s outage, seconds from the link's return to the first "
            f"command that succeeds (worst of {len(found['ptpd'])})",
            p,
            1.0,
            "<=",
            " s",
        ),
    )


def run(quick: bool, profs: list[Profile]) -> Result:
    res = Result(
        "reconnect",
        "Back to work after a link outage: ptpd vs gphoto2",
        f"the link down for {1.0 if quick else OUTAGE:g} s (the camera's end of the veth set down), then up; time from the "
        f"link's return to the first command that succeeds: `get iso` on ptpd's bus (each waited for {TRY:g} s at most) vs "
        f"`gphoto2 --get-config iso` in a loop (each run {TRY:g} s at most); simulated Fuji camera in its own network "
        "namespace; blocks ABBA",
    )
    table = Table(
        "Time back after the outage",
        [
            "link",
            "side",
            "back",
            "median ms",
            "worst ms",
            "each ms",
            "failed commands during the outage",
            "daemon reconnects",
        ],
    )
    for profile in profs:
        on_link(profile, quick, res, table)
    res.tables.append(table)
    verdict_note(res)
    return res


def main(argv: list[str] | None = None) -> int:
    return main_for_links(run, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
