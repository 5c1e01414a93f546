"""Capture to a file over the camera's link: ptpd against gphoto2, on the same link.

For each link profile (:mod:`bench.netns`: Wi-Fi 802.11n, 802.11ac, Ethernet/USB class,
the rate enforced by the kernel), a simulated generic PTP/IP camera in the camera's
namespace takes pictures of a real camera's sizes: a 12 MiB JPEG and a 50 MiB RAW-sized
object (real JPEGs grown with padding segments: cheap to make, real on the link). Each
shot is captured and downloaded to a file by

* ``gphoto2 --capture-image-and-download --no-keep`` (a process and a session per shot:
  what users script today), and
* ``ptpctl capture 1 --delete -o DIR`` (a process per shot; the daemon, in the host's
  namespace, holds the session),

both deleting the image from the camera once saved. The two take turns in blocks, ABBA
(ptpd, gphoto2, gphoto2, ptpd; the daemon is stopped while gphoto2 has the camera), so
the machine's drift falls on both alike. Every file is checked: one per shot, the
object's size, JPEG SOI/EOI, and Pillow decodes it.

Per shot: the wall time of the process, and from the link's own byte counter
(:class:`bench.netns.LinkMeter`, every 5 ms) the transfer's rate (from 2 % to 98 % of
the object's bytes on the link), how long the process ran before the transfer (start-up,
session, the capture) and after it (handing the bytes over, writing the file). For
context, a bare TCP connection across the same link: the link's own ceiling (its
headers cost a few per cent of the link; the bytes the link counts per byte of payload
are measured there and taken off every transfer rate, so rates are the object's bytes).

Targets per profile and size: ptpd's transfer at least 0.9 of the link's rate; ptpd's
time per shot at least 1.5x faster than gphoto2's (medians). Writes one plot per profile,
``bench/capture-<profile>.png``: bytes/s on the link over one RAW shot, ptpd and gphoto2.
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import Result, Stats, Table, Target, run_timed, tempdir
from bench.harness import Daemon, gphoto2_args, gphoto2_env, ptpctl_cmd
from bench.linkbench import camera, daemon, main_for_links, verdict_note
from bench.netns import Link, LinkMeter, Profile, bulk, rate_series, tcp_ceiling

HERE = Path(__file__).resolve().parent
MIB = 1024 * 1024
#: (kind, MiB): a JPEG of a 24-40 MP body, and a RAW of the same
SIZES = (("JPEG", 12.0), ("RAW", 50.0))
SHOTS = 10
GPHOTO2 = "gphoto2"
PTPCTL = "ptpctl"


def check_file(out: Path, size: int) -> str | None:
    """None when ``out`` holds exactly one file of ``size`` bytes that is a whole JPEG
    Pillow decodes; else what is wrong."""
    from PIL import Image

    files = [p for p in out.iterdir() if p.is_file()]
    if len(files) != 1:
        return f"{len(files)} files: {[p.name for p in files][:4]}"
    data = files[0].read_bytes()
    if len(data) != size:
        return f"{files[0].name}: {len(data)} bytes, expected {size}"
    if not (data[:3] == b"\xff\xd8\xff" and data.rstrip(b"\x00")[-2:] == b"\xff\xd9"):
        return f"{files[0].name}: no SOI/EOI"
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
    except Exception as exc:
        return f"{files[0].name}: {exc}"
    return None


def _shot(
    side: str, argv: list[str], env: dict[str, str], meter: LinkMeter, out: Path, size: int, overhead: float
) -> dict[str, Any]:
    """One shot by one side: its wall time, the transfer as the link saw it, the check."""
    with meter.running():
        t0 = time.monotonic()
        dt, rc, text = run_timed(argv, env=env, timeout=600)
        t1 = t0 + dt
    b = bulk(meter.samples, size, overhead=overhead)
    shot: dict[str, Any] = {"side": side, "seconds": dt, "rc": rc, "problem": None, "samples": meter.samples, "t0": t0}
    if b is not None:
        shot.update(rate=b["rate"], before=b["start"] - t0, after=t1 - b["end"])
    shot["problem"] = f"exit {rc}: {text.strip()[-300:]}" if rc != 0 else check_file(out, size)
    if b is None and shot["problem"] is None:
        shot["problem"] = "the link never carried the object"
    return shot


def run_size(link: Link, work: Path, kind: str, mb: float, shots: int, overhead: float) -> list[dict[str, Any]]:
    """``shots`` shots each way of one picture size, blocks ABBA; every shot's record."""
    size = int(mb * MIB)
    half = max(1, shots // 2)
    records: list[dict[str, Any]] = []
    with camera(link, opts={"initial_images": 0, "image_mb": mb}) as sim:
        meter = link.meter()
        genv = gphoto2_env(work / f"home-{kind}")
        g_argv = link.host([*gphoto2_args(sim), "--capture-image-and-download", "--no-keep"])
        p_argv = link.host([*ptpctl_cmd(), "--timeout", "600", "capture", "1", "--delete"])
        n = 0

        def gphoto2_block(k: int) -> None:
            nonlocal n
            for _ in range(k):
                out = work / f"{kind}-{n}"
                out.mkdir()
                n += 1
                records.append(
                    _shot(GPHOTO2, [*g_argv, "--filename", str(out / "%f.%C")], genv, meter, out, size, overhead)
                )

        def ptpd_block(k: int) -> None:
            nonlocal n
            d: Daemon = daemon(link, sim, work / f"d-{kind}-{n}", keepalive=0, timeout=30)
            with d:
                for _ in range(k):
                    out = work / f"{kind}-{n}"
                    out.mkdir()
                    n += 1
                    records.append(_shot(PTPCTL, [*p_argv, "-o", str(out)], d.client_env, meter, out, size, overhead))

        ptpd_block(half)
        gphoto2_block(half)
        gphoto2_block(shots - half)
        ptpd_block(shots - half)
    return records


def _med(records: list[dict[str, Any]], key: str) -> float:
    vals = [r[key] for r in records if r.get(key) is not None and not r["problem"]]
    return Stats.of(vals).median


def _plot(profile: Profile, records: list[dict[str, Any]], size: int, png: Path) -> None:
    """Bytes/s on the link over one RAW shot per side (the shot of median time)."""
    from bench.plot import line_plot

    series = []
    window = max(0.01, size / profile.bytes_per_s / 60)
    for side in (PTPCTL, GPHOTO2):
        ok = sorted((r for r in records if r["side"] == side and not r["problem"]), key=lambda r: r["seconds"])
        if not ok:
            continue
        r = ok[len(ok) // 2]
        xs, ys = rate_series(r["samples"], r["t0"], window)
        series.append(
            (
                f"{'ptpd (ptpctl capture)' if side == PTPCTL else 'gphoto2'}: {r['seconds']:.2f} s",
                xs,
                [y / 1e6 for y in ys],
            )
        )
    line_plot(
        png,
        f"{profile.title}: one {size / MIB:.0f} MiB RAW capture + download, bytes on the link",
        "seconds since the command started",
        "MB/s on the link",
        series,
        xlog=False,
        markers=False,
        goal=(f"link rate {profile.bytes_per_s / 1e6:g} MB/s", profile.bytes_per_s / 1e6),
    )


def run(quick: bool, profs: list[Profile]) -> Result:
    sizes = (("JPEG", 1.0), ("RAW", 4.0)) if quick else SIZES
    shots = 2 if quick else SHOTS
    res = Result(
        "capture",
        "Capture to a file over the camera's link: ptpd vs gphoto2",
        f"{shots} shots each of a {' and a '.join(f'{mb:g} MiB {k}' for k, mb in sizes)}, captured and downloaded to a file: "
        "`gphoto2 --capture-image-and-download --no-keep` (a process per shot) vs `ptpctl capture 1 --delete -o DIR` "
        "(a process per shot, the daemon holds the session), blocks ABBA on the same link; simulated generic PTP/IP "
        "camera in its own network namespace, rate enforced by tc tbf",
    )
    for profile in profs:
        table = Table(
            f"{profile.describe()}",
            [
                "picture",
                "side",
                "shots ok",
                "per shot median s",
                "per shot max s",
                "x ptpd (time)",
                "transfer MB/s",
                "x link rate",
                "before transfer s",
                "after transfer s",
            ],
        )
        raw: dict[str, Any] = {"mbit": profile.mbit, "answer_ms": profile.answer_ms, "queue_ms": profile.queue_ms}
        with tempdir() as work, Link(profile) as link:
            ceiling_bytes = int(sizes[0][1] * MIB)
            runs = sorted(tcp_ceiling(link, ceiling_bytes) for _ in range(1 if quick else 3))
            t_tcp, overhead = runs[len(runs) // 2]  # the median run
            raw["tcp_ceiling"] = {
                "bytes": ceiling_bytes,
                "seconds": t_tcp,
                "of_link": ceiling_bytes / t_tcp / profile.bytes_per_s,
                "link_bytes_per_payload_byte": overhead,
            }
            for kind, mb in sizes:
                size = int(mb * MIB)
                records = run_size(link, work, kind, mb, shots, overhead)
                by = {side: [r for r in records if r["side"] == side] for side in (PTPCTL, GPHOTO2)}
                t_ptpd = _med(by[PTPCTL], "seconds")
                for side, rs in by.items():
                    ok = [r for r in rs if not r["problem"]]
                    t = Stats.of([r["seconds"] for r in ok])
                    rate = _med(rs, "rate")
                    table.rows.append(
                        [
                            f"{kind} {size / 1e6:.1f} MB",
                            "ptpd: ptpctl capture" if side == PTPCTL else "gphoto2",
                            f"{len(ok)}/{len(rs)}",
                            f"{t.median:.3f}",
                            f"{t.max:.3f}",
                            f"{t.median / t_ptpd:.2f}",
                            f"{rate / 1e6:.2f}",
                            f"{rate / profile.bytes_per_s:.3f}",
                            f"{_med(rs, 'before'):.3f}",
                            f"{_med(rs, 'after'):.3f}",
                        ]
                    )
                    raw[f"{kind}_{side}"] = {
                        "bytes": size,
                        "seconds": t,
                        "rate": Stats.of([r["rate"] for r in ok if "rate" in r]),
                        "before": Stats.of([r["before"] for r in ok if "before" in r]),
                        "after": Stats.of([r["after"] for r in ok if "after" in r]),
                        "problems": [r["problem"] for r in rs if r["problem"]],
                    }
                    for r in rs:
                        if r["problem"]:
                            res.notes.append(f"{profile.name} {kind} {side}: {r['problem']}")
                t_g = _med(by[GPHOTO2], "seconds")
                r_p, r_g = _med(by[PTPCTL], "rate"), _med(by[GPHOTO2], "rate")
                link_rate = profile.bytes_per_s
                res.summarize(
                    profile.title,
                    f"{kind} ({size / 1e6:.1f} MB) capture to a file, time per shot (median of {shots})",
                    f"{t_ptpd:.2f} s",
                    f"{t_g:.2f} s",
                    f"{t_g / t_ptpd:.2f}x as fast",
                    Target(
                        f"{profile.name} {kind}: gphoto2 / ptpd time per shot, capture to file (median of {shots})",
                        t_g / t_ptpd,
                        1.5,
                    ),
                )
                res.summarize(
                    profile.title,
                    f"{kind} transfer rate on the link (median of {shots}), x link rate",
                    f"{r_p / 1e6:.2f} MB/s ({r_p / link_rate:.3f})",
                    f"{r_g / 1e6:.2f} MB/s ({r_g / link_rate:.3f})",
                    f"{r_p / r_g:.2f}x",
                    Target(
                        f"{profile.name} {kind}: ptpd transfer rate / link rate (median of {shots})",
                        r_p / link_rate,
                        0.9,
                    ),
                )
                if kind == sizes[-1][0]:
                    png = (
                        Path(tempfile.gettempdir()) / f"ptpd-capture-{profile.name}-quick.png"
                        if quick
                        else HERE / f"capture-{profile.name}.png"
                    )
                    _plot(profile, records, size, png)
                    if not quick:
                        res.files.append(png.name)
                    res.notes.append(f"plot: {png}")
        table.rows.append(
            [
                "(link ceiling)",
                f"bare TCP, {ceiling_bytes / 1e6:.1f} MB",
                f"{len(runs)}/{len(runs)}",
                f"{t_tcp:.3f}",
                "",
                "",
                f"{ceiling_bytes / t_tcp / 1e6:.2f}",
                f"{raw['tcp_ceiling']['of_link']:.3f}",
                "",
                "",
            ]
        )
        res.tables.append(table)
        res.raw[profile.name] = raw
    res.notes.append(
        "transfer = the object's bytes from 2 % to 98 % of it on the link (the link's counter, less its "
        "headers as measured by the bare TCP run); before/after = the process's time before and after that "
        "(start-up, session and capture; handing over and writing the file)"
    )
    verdict_note(res)
    return res


def main(argv: list[str] | None = None) -> int:
    return main_for_links(run, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
