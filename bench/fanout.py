"""Live view over the camera's link: the daemon relaying one camera to 1 and 16 processes.

Per link profile (:mod:`bench.netns`), the simulated Fuji camera in the camera's namespace
streams live view at its own rate (30 fps, 640x480 JPEGs of about 20 KB, one distinct
picture per frame over a 4 s lap) across the link. Measured, one after the other on the
same link:

* **the link alone**: a bare reader of the camera's stream socket in the host's
  namespace: what reading the camera over this link takes (latency from the camera's
  send to the reader, the rate it gets);
* **ptpd**: the daemon (``ptpd run``, in the host's namespace) relaying to 1, then 16
  subscriber processes (raw pyzmq SUBs on its live-view socket): frames delivered per
  second against the rate the camera sent in the same window, and latency from the
  camera's send to each subscriber. The camera notes when it sends each frame (counter,
  time, fingerprint), each subscriber when it has it, on one clock (CLOCK_MONOTONIC is
  one clock for every process and every network namespace). *Added* latency = ptpd's
  percentile minus the bare reader's (the link's share is the same for both); beside it,
  what each subscriber measures from the daemon's receipt of the frame's last byte;
* **time to the first frame**: a subscriber subscribing to a daemon whose live view is
  off, until its first frame; against one ``gphoto2 --capture-preview`` (a process: the
  session, then one frame from the camera's stream);
* **gphoto2's preview rate**: ``gphoto2 --capture-preview`` in a loop (a process per
  frame, the way scripts poll it), and ``--capture-movie=N`` (one process reading frames
  in a loop: its best).

gphoto2 takes the camera from whoever holds it, so the daemon is stopped while gphoto2
runs (first-frame times: ptpd, gphoto2, ptpd). The camera reports the Fuji
VendorExtensionID so that gphoto2 takes its Fuji live-view path.

Targets on the Wi-Fi 802.11n profile: every frame the camera sends delivered (>= 0.99 of
its rate) to each of 16 subscribers, and added p99 latency at 16 subscribers <= 5 ms.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import (
    PYTHON,
    ROOT,
    TAIL,
    OtherCpu,
    Proc,
    Procs,
    Result,
    Stats,
    Table,
    Target,
    ms,
    other_cpu_text,
    run_timed,
    tail_crc,
    tempdir,
)
from bench.harness import BusClient, Daemon, _readline, gphoto2_args, gphoto2_env
from bench.linkbench import camera, daemon, main_for_links, verdict_note
from bench.netns import Link, Profile

FPS = 30.0
#: seconds of each latency window: 180 frames per subscriber (2,880 samples at 16)
WINDOW = 6.0
#: distinct pictures per lap (4 s at 30 fps): a frame's fingerprint names it within a lap
STEPS = 120
SUBSCRIBERS = (1, 16)
FIRST_FRAMES = 4  #: tries per side and block
PREVIEWS = 8  #: gphoto2 --capture-preview processes in the loop


# -- one subscriber process -----------------------------------------------------------------------


def _window(next_frame: Any, mark: Any = None) -> tuple[list[float], list[Any]]:
    """Read ``T0 T1`` on stdin, then take frames (``next_frame()``: one, or None when it
    timed out) until T1: the receive times of those inside the window, and with ``mark``
    what ``mark(frame)`` notes of each, after its time was taken.

    A mark is small (the JPEG's last :data:`TAIL` bytes, not the frame): keeping every
    frame would make each receive write fresh memory, which a reader that lets the
    previous frame go never does, and on a shared machine that cost lands on the other
    readers' time too. It is cheap as well: the fingerprint (a CRC) is taken after the
    window, off the path of the frames that the other readers are still waiting for.
    """
    t0, t1 = (float(x) for x in sys.stdin.readline().split())
    times: list[float] = []
    marks: list[Any] = []
    now = time.monotonic
    while True:
        frame = next_frame()
        if frame is None:
            if now() > t1:
                break
            continue
        t = now()
        if t < t0:
            continue
        if t > t1:
            break
        times.append(t)
        if mark is not None:
            marks.append(mark(frame))
    return times, marks


def _record(out: str, times: list[float], seen: list[tuple[bytes, int, float | None, int | None]]) -> None:
    """Write the window: receive times, and per frame its fingerprint (of the tail it
    kept), the camera's frame counter, and where the daemon (or relay) stamped it, its age
    since it had the frame (``t_camera``) and its sequence number."""
    Path(out).write_text(
        json.dumps(
            {
                "times": times,
                "crcs": [tail_crc(tail) for tail, _, _, _ in seen],
                "counters": [counter for _, counter, _, _ in seen],
                "ages": [t - t_camera for t, (_, _, t_camera, _) in zip(times, seen) if t_camera is not None],
                "seqs": [seq for _, _, _, seq in seen if seq is not None],
            }
        )
    )


def _subscriber(endpoint: str, out: str, mode: str) -> None:
    """Subscribe, print ``ready`` at the first frame, read ``T0 T1`` on stdin, record the window."""
    import msgpack
    import zmq

    ctx = zmq.Context()
    s = ctx.socket(zmq.SUB)
    s.linger = 0
    s.setsockopt(zmq.SUBSCRIBE, b"liveview.frame")
    s.connect(endpoint)
    if mode == "idle":  # subscribed, never reads
        print("ready", flush=True)
        sys.stdin.readline()
        time.sleep(float(sys.stdin.readline() or 0))
        return
    while not s.poll(100):
        pass
    s.recv_multipart()
    print("ready", flush=True)
    mark = (lambda frames: (bytes(frames[2].buffer[-TAIL:]), frames[1].bytes)) if mode == "latency" else None
    s.rcvtimeo = 200

    def next_frame() -> Any:
        try:
            return s.recv_multipart(copy=False)
        except zmq.Again:
            return None

    times, marks = _window(next_frame, mark)
    seen = []
    for tail, packed in marks:
        meta = msgpack.unpackb(packed)
        seen.append((tail, meta["counter"], meta["t_camera"], meta["seq"]))
    _record(out, times, seen)
    s.close(0)
    ctx.term()


def _bare(host: str, port: int, out: str) -> None:
    """The link's own latency: a bare reader as the camera's only client, on its stream
    socket (what reading the camera directly takes), in the host's namespace."""
    import socket
    import struct

    with socket.create_connection((host, port), timeout=30) as sock:
        sock.settimeout(0.2)
        buf = bytearray()

        def next_frame() -> Any:
            while len(buf) < 4 or len(buf) < struct.unpack_from("<I", buf)[0]:
                try:
                    chunk = sock.recv(1 << 20)
                except TimeoutError:
                    return None
                if not chunk:
                    return None
                buf.extend(chunk)
            n = struct.unpack_from("<I", buf)[0]
            frame = (buf[8], bytes(buf[18:n]))  # counter byte, JPEG
            del buf[:n]
            return frame

        while next_frame() is None:
            pass
        print("ready", flush=True)
        times, seen = _window(next_frame, lambda f: (f[1][-TAIL:], f[0], None, None))
    _record(out, times, seen)


# -- orchestration ------------------------------------------------------------------------------------


def _start_children(args_list: list[list[str]], procs: Procs) -> list[Proc]:
    import subprocess

    out = []
    for args in args_list:
        p = Proc.__new__(Proc)
        p.args = args
        p._log = None
        p.popen = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, start_new_session=True
        )
        p.pid = p.popen.pid
        procs.items.append(p)
        out.append(p)
    return out


def _wait_ready(children: list[Proc], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for c in children:
        line = _readline(c, max(0.1, deadline - time.monotonic()))
        if line.strip() != "ready":
            raise RuntimeError(f"subscriber not ready: {line!r}")


def _go(children: list[Proc], t0: float, t1: float, idle_for: float = 0.0) -> None:
    for c in children:
        assert c.popen.stdin is not None
        c.popen.stdin.write(f"{t0} {t1}\n{idle_for}\n".encode())
        c.popen.stdin.flush()


def _finish(children: list[Proc], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for c in children:
        try:
            c.popen.wait(max(0.1, deadline - time.monotonic()))
        except Exception:
            c.stop()


# -- windows --------------------------------------------------------------------------------


def _open_window(readers: list[Proc], seconds: float) -> dict[str, Any]:
    """Open a window of ``seconds`` for ready readers; what else the cores ran meanwhile."""
    t0 = time.monotonic() + 0.3
    t1 = t0 + seconds
    _go(readers, t0, t1)
    other = OtherCpu()  # its look through /proc takes a few ms: before the window
    # one sleep through the window: polling the readers would wake this process up to 20
    # times a second, and each wake-up is a process the readers share the cores with
    time.sleep(max(0.0, t1 - time.monotonic()) + 0.05)
    noise = other.stop()
    _finish(readers, seconds + 30)
    return {"t0": t0, "t1": t1, "other_cpu": noise}


def _match(outs: list[Path], sent: dict[tuple[int, int], list[float]], win: dict[str, Any]) -> dict[str, Any]:
    """Each reader's frames matched to the camera's sends: latencies, ages since the
    daemon had the frame, gaps, and per reader the share of the camera's frames it got.

    The share counts the frames the camera sent from 0.2 s after the window opened to 0.2 s
    before it closed (each frame's latency is far below that), so that a frame in flight at
    either edge counts for neither side."""
    t0, t1 = win["t0"], win["t1"]
    a, b = t0 + 0.2, t1 - 0.2
    sends = sorted(t for ts in sent.values() for t in ts if a <= t <= b)
    camera_fps = len(sends) / (b - a)
    latency: list[float] = []
    ages: list[float] = []
    shares: list[float] = []
    unmatched = gaps = 0
    for out in outs:
        data = json.loads(out.read_text())
        ages += data["ages"]
        seqs = data["seqs"]
        gaps += sum(1 for x, y in zip(seqs, seqs[1:]) if y != x + 1)
        got = set()
        for t, counter, crc in zip(data["times"], data["counters"], data["crcs"]):
            # the camera's latest send of this picture with this counter before it arrived
            # (the counter wraps every 256 frames, 8.5 s at 30 fps; the picture every lap)
            cands = [s for s in sent.get((counter, crc), ()) if 0 <= t - s < 1.0]
            if cands:
                latency.append(t - max(cands))
                got.add(max(cands))
            else:
                unmatched += 1
        shares.append(sum(1 for s in sends if s in got) / len(sends) if sends else float("nan"))
    return {
        "latency": Stats.of(latency),
        "ages": Stats.of(ages),
        "share": Stats.of(shares),
        "camera_fps": camera_fps,
        "unmatched": unmatched,
        "seq_gaps": gaps,
        "other_cpu": win["other_cpu"],
    }


def first_frame(d: Daemon, timeout: float = 10.0) -> dict[str, Any]:
    """A subscriber subscribing to a daemon whose live view is off, until its first frame:
    when it subscribed, when the frame came, and the frame's counter and fingerprint (to
    find when the camera sent it)."""
    import msgpack
    import zmq

    with BusClient(d.endpoints["command"]) as c:
        deadline = time.monotonic() + timeout
        while c.result("status")["liveview"]["on"]:  # the last watcher's live view winds down
            if time.monotonic() > deadline:
                raise TimeoutError("the daemon's live view did not stop")
            time.sleep(0.05)
    # and the simulated camera's stream goes idle (it keeps its frame clock for one frame
    # interval after its last reader left, then starts a new reader at once): what is
    # timed is ptpd's start, not where the camera's clock happened to be
    time.sleep(3 / FPS)
    s: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.SUB)
    s.linger = 0
    try:
        t0 = time.monotonic()
        s.connect(d.endpoints["liveview"])
        s.setsockopt(zmq.SUBSCRIBE, b"liveview.frame")
        if not s.poll(int(timeout * 1000)):
            raise TimeoutError(f"no live-view frame within {timeout}s")
        frames = s.recv_multipart()
        t1 = time.monotonic()
    finally:
        s.close(0)
    return {
        "subscribed": t0,
        "received": t1,
        "counter": msgpack.unpackb(frames[1])["counter"],
        "crc": tail_crc(frames[2]),
    }


def _first_frames(tries: list[dict[str, Any]], sent: dict[tuple[int, int], list[float]]) -> dict[str, Stats]:
    """Time to the first frame, and its two parts: subscribing -> the camera sends the
    frame (the daemon starts the camera's live view), the camera's send -> the subscriber."""
    total, start, carry = [], [], []
    for f in tries:
        total.append(f["received"] - f["subscribed"])
        cands = [s for s in sent.get((f["counter"] & 0xFF, f["crc"]), ()) if 0 <= f["received"] - s < 1.0]
        if cands:
            s = max(cands)
            start.append(s - f["subscribed"])
            carry.append(f["received"] - s)
    return {"total": Stats.of(total), "to_camera_send": Stats.of(start), "camera_send_to_subscriber": Stats.of(carry)}


def gphoto2_previews(link: Link, sim: Any, work: Path, n: int) -> dict[str, Any]:
    """``n`` ``gphoto2 --capture-preview`` processes one after the other (each time one, and
    the loop's rate), then ``--capture-movie`` for 2 s worth of frames in one process."""
    env = gphoto2_env(work / "home")
    argv = link.host(gphoto2_args(sim))
    times: list[float] = []
    problems: list[str] = []
    for i in range(n):
        out = work / f"preview-{i}"
        out.mkdir()
        dt, rc, text = run_timed(
            [*argv, "--capture-preview", "--filename", str(out / "preview.jpg")], env=env, timeout=60
        )
        files = list(out.iterdir())
        if rc != 0 or len(files) != 1 or files[0].read_bytes()[:2] != b"\xff\xd8":
            problems.append(f"exit {rc}, {len(files)} files: {text.strip()[-200:]}")
            continue
        times.append(dt)
    frames = int(2 * FPS)
    dt, rc, text = run_timed([*argv, f"--capture-movie={frames}", "--stdout"], env=env, timeout=60)
    got = text.count("\xff\xd8\xff")  # SOI markers in what it wrote (stdout and stderr together)
    if rc != 0:
        problems.append(f"--capture-movie exit {rc}")
    return {
        "times": Stats.of(times),
        "loop_fps": len(times) / sum(times) if times else float("nan"),
        "movie_fps": frames / dt if rc == 0 else float("nan"),
        "movie_frames": got,
        "problems": problems,
    }


def on_link(profile: Profile, quick: bool, res: Result, table: Table, ff_table: Table) -> None:
    with tempdir() as work:
        _on_link(profile, quick, res, table, ff_table, work)


def _on_link(profile: Profile, quick: bool, res: Result, table: Table, ff_table: Table, work: Path) -> None:
    seconds = 1.5 if quick else WINDOW
    counts = (1, 2) if quick else SUBSCRIBERS
    raw: dict[str, Any] = {}
    with Link(profile) as link:
        sent_log = work / "sent.json"
        sim = camera(
            link,
            "fuji",
            lv_fps=FPS,
            lv_size="640x480",
            lv_steps=STEPS,
            lv_send_log=sent_log,
            opts={"pairing_delay": 0, "initial_images": 0, "vendor_extension_id": 0x0E, "late_ports": False},
        )  # its bare reader reads the stream with no session
        windows: dict[str, tuple[list[Path], dict[str, Any]]] = {}
        ff: list[dict[str, Any]] = []
        tries = 2 if quick else FIRST_FRAMES
        try:
            with Procs() as procs:
                out = work / "bare.json"
                readers = _start_children(
                    [link.host([PYTHON, "-m", "bench.fanout", "bare", sim.host, str(sim.liveview_port), str(out)])],
                    procs,
                )
                _wait_ready(readers, 60)
                time.sleep(1.0)
                windows["bare"] = ([out], _open_window(readers, seconds))
                procs.stop_all()
                with daemon(link, sim, work / "d1") as d:
                    for n in counts:
                        outs = [work / f"sub{n}-{i}.json" for i in range(n)]
                        readers = _start_children(
                            [
                                [PYTHON, "-m", "bench.fanout", "sub", d.endpoints["liveview"], str(o), "latency"]
                                for o in outs
                            ],
                            procs,
                        )
                        _wait_ready(readers, 120)
                        time.sleep(1.0)
                        windows[f"ptpd-{n}"] = (outs, _open_window(readers, seconds))
                        procs.stop_all()
                    ff += [first_frame(d) for _ in range(tries)]
                gp = gphoto2_previews(link, sim, work, 2 if quick else PREVIEWS)
                with daemon(link, sim, work / "d2") as d:
                    ff += [first_frame(d) for _ in range(tries)]
        finally:
            sim.stop()  # the camera writes its send log as it stops
        sent: dict[tuple[int, int], list[float]] = {}
        for counter, t, crc in json.loads(sent_log.read_text()):
            sent.setdefault((counter, crc), []).append(t)
    bare = _match(windows["bare"][0], sent, windows["bare"][1])
    raw["bare"] = bare
    table.rows.append(
        [
            profile.title,
            "link alone: bare reader",
            1,
            f"{bare['camera_fps']:.1f}",
            f"{bare['share'].median * bare['camera_fps']:.1f}",
            f"{bare['share'].min:.3f}",
            ms(bare["latency"].median),
            ms(bare["latency"].p99),
            "",
            "",
            "",
            f"{bare['unmatched']}/{bare['seq_gaps']}",
            other_cpu_text(bare["other_cpu"]),
        ]
    )
    for n in counts:
        m = _match(windows[f"ptpd-{n}"][0], sent, windows[f"ptpd-{n}"][1])
        raw[f"ptpd_{n}"] = m
        lat, base = m["latency"], bare["latency"]
        table.rows.append(
            [
                profile.title,
                f"ptpd, {n} subscriber{'s' if n > 1 else ''}",
                n,
                f"{m['camera_fps']:.1f}",
                f"{m['share'].median * m['camera_fps']:.1f}",
                f"{m['share'].min:.3f}",
                ms(lat.median),
                ms(lat.p99),
                ms(lat.median - base.median),
                ms(lat.p99 - base.p99),
                f"{ms(m['ages'].median)} / {ms(m['ages'].p99)}",
                f"{m['unmatched']}/{m['seq_gaps']}",
                other_cpu_text(m["other_cpu"]),
            ]
        )
        share = Target(
            f"{profile.name}: live view delivered to each of {n} subscribers / camera's rate (worst subscriber)",
            m["share"].min,
            0.99,
        )
        added = Target(
            f"{profile.name}: added p99 latency, camera send -> subscriber, {n} subscribers (ptpd p99 - bare reader p99)",
            (lat.p99 - base.p99) * 1000,
            5.0,
            "<=",
            " ms",
        )
        on_target = profile.name == "wifi-n" and n == max(counts)
        res.summarize(
            profile.title,
            f"live view to {n} subscriber{'s' if n > 1 else ''}: worst one's share of the camera's frames",
            f"{m['share'].min:.3f} ({m['camera_fps']:.1f} fps sent)",
            f"{bare['share'].min:.3f} (bare reader)",
            "",
            share if on_target else None,
        )
        res.summarize(
            profile.title,
            f"live view to {n} subscriber{'s' if n > 1 else ''}: latency camera send -> subscriber p50 / p99",
            f"{ms(lat.median)} / {ms(lat.p99)} ms",
            f"{ms(base.median)} / {ms(base.p99)} ms (bare reader)",
            f"added {ms(lat.median - base.median)} / {ms(lat.p99 - base.p99)} ms",
            added if on_target else None,
        )
    parts = _first_frames(ff, sent)
    pf = parts["total"]
    raw["first_frame"] = {"ptpd": pf, "ptpd_parts": parts, "gphoto2_preview": gp}
    g = gp["times"]
    ff_table.rows.append(
        [
            profile.title,
            f"{pf.n}",
            ms(pf.median),
            ms(pf.max),
            ms(parts["to_camera_send"].median),
            ms(parts["camera_send_to_subscriber"].median),
            ms(g.median),
            f"{g.median / pf.median:.2f}" if pf.n and g.n else "n/a",
            f"{gp['loop_fps']:.2f}",
            f"{gp['movie_fps']:.1f}",
        ]
    )
    res.summarize(
        profile.title,
        "time to the first live-view frame (ptpd: subscribe; gphoto2: --capture-preview)",
        f"{ms(pf.median)} ms",
        f"{ms(g.median)} ms",
        f"{g.median / pf.median:.0f}x as fast" if pf.n and g.n else "",
    )
    m1 = raw[f"ptpd_{min(counts)}"]
    res.summarize(
        profile.title,
        "live-view frames per second to one reader (gphoto2: --capture-preview loop / --capture-movie)",
        f"{m1['share'].median * m1['camera_fps']:.1f}",
        f"{gp['loop_fps']:.2f} / {gp['movie_fps']:.1f}",
        f"{m1['share'].median * m1['camera_fps'] / gp['loop_fps']:.0f}x the loop"
        if gp["loop_fps"] == gp["loop_fps"] and gp["loop_fps"]
        else "",
    )
    for p in gp["problems"]:
        res.notes.append(f"{profile.name}: gphoto2: {p}")
    res.raw[profile.name] = raw


def run(quick: bool, profs: list[Profile]) -> Result:
    res = Result(
        "fanout",
        "Live view over the camera's link: ptpd relaying to 1 and 16 subscribers, gphoto2's preview",
        f"simulated Fuji camera at {FPS:g} fps (640x480) in its own network namespace, the link's rate enforced by tc tbf; "
        "a bare reader of its stream (the link alone) vs `ptpd run` relaying to raw SUB processes; "
        "time to the first frame vs `gphoto2 --capture-preview`; gphoto2's preview loop rate",
    )
    table = Table(
        "Live view: frames and latency from the camera's send (one clock)",
        [
            "link",
            "reader",
            "readers",
            "camera fps",
            "delivered fps (median reader)",
            "worst reader's share of the camera's frames",
            "p50 ms",
            "p99 ms",
            "added p50 ms",
            "added p99 ms",
            "daemon has frame -> subscriber p50 / p99 ms",
            "unmatched / seq gaps",
            "other CPU",
        ],
    )
    ff_table = Table(
        "Time to the first frame, and gphoto2's preview rate",
        [
            "link",
            "ptpd tries",
            "ptpd first frame median ms",
            "ptpd max ms",
            "of which: subscribe -> camera sends it",
            "camera send -> subscriber",
            "gphoto2 --capture-preview ms",
            "x ptpd (speed)",
            "gphoto2 --capture-preview loop fps",
            "gphoto2 --capture-movie fps",
        ],
    )
    for profile in profs:
        on_link(profile, quick, res, table, ff_table)
    res.tables += [table, ff_table]
    res.notes.append(
        "added = ptpd's percentile minus the bare reader's on the same link (the link's share is the same for both)"
    )
    verdict_note(res)
    return res


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "sub":
        _subscriber(argv[1], argv[2], argv[3])
        return 0
    if argv and argv[0] == "bare":
        _bare(argv[1], int(argv[2]), argv[3])
        return 0
    return main_for_links(run, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
