"""What the camera-link benchmarks share: the camera in the camera's namespace, the daemon
in the host's, the profiles a run covers, and a clean exit on SIGTERM.

A link benchmark (``bench.capture``, ``bench.rpc``, ``bench.fanout``, ``bench.reconnect``)
runs each of its measurements on every profile of :data:`bench.netns.PROFILES` (``--quick``:
the wired one, small sizes), ptpd and gphoto2 one after the other on the same link.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.common import Result, main_for
from bench.harness import Daemon, DaemonOptions, Simulator
from bench.netns import CAMERA_IP, PROFILES, Link, Profile, available


def camera(link: Link, vendor: str = "generic", **kw: Any) -> Simulator:
    """A simulated camera on ``link``, answering each transaction in the profile's time."""
    lo, hi = link.profile.answer_ms
    return Simulator(vendor, lo, jitter_ms=hi - lo, host=CAMERA_IP, wrap=link.camera, **kw)


def daemon(link: Link, sim: Simulator, workdir: Path, **opts: Any) -> Daemon:
    """``ptpd run`` for ``sim`` in the host's namespace (started: connected to the camera)."""
    o = DaemonOptions(simulate=None, camera=f"{sim.host}:{sim.port}", vendor=sim.vendor, **opts)
    d = Daemon(workdir, o)
    try:
        d.start(timeout=60, wrap=link.host)
    except BaseException:
        d.stop()
        raise
    return d


def profiles(quick: bool, names: str | None = None) -> list[Profile]:
    """The profiles to run: ``names`` (comma list), else all; a quick run takes the wired one."""
    if names:
        return [PROFILES[n.strip()] for n in names.split(",") if n.strip()]
    return [PROFILES["wired"]] if quick else list(PROFILES.values())


def _sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds: every ``with`` removes what it made


def main_for_links(run: Callable[[bool, list[Profile]], Result], argv: Sequence[str] | None, doc: str | None) -> int:
    """``main_for`` plus ``--profiles a,b``; SIGTERM unwinds like Ctrl-C; without root (or
    ``ip``/``tc``) the benchmark says why and writes no result."""
    args = list(sys.argv[1:] if argv is None else argv)
    names = None
    if "--profiles" in args:
        i = args.index("--profiles")
        names = args[i + 1]
        del args[i : i + 2]
    why = available()
    if why:
        print(f"cannot make camera links here: {why}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _sigterm)
    return main_for(lambda quick: run(quick, profiles(quick, names)), args, doc)


def verdict_note(res: Result) -> None:
    """A line saying which targets are missed, for the reader of the console output."""
    missed = [t.what for t in res.targets if t.met is False]
    if missed:
        res.notes.append("missed: " + "; ".join(missed))
