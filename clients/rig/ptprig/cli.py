"""``ptprig``: many cameras, on this host or many, driven as one.

A rig file (TOML, ``docs/rigs.md``) names the cameras: each one's daemon (a ``ptpd@NAME`` on
this host, or one on another host over TCP with CURVE), and groups of them. Every command
runs on all the cameras at once (or on those ``-c``/``-g`` choose) and answers per camera:
one that fails never holds up the others and says why.

A program of its own rather than ``ptpctl rig``: ptpctl's options name one daemon and
every ptpctl command talks to that one; a rig is a different target (a file of many), and
its commands (fire at one moment, gather into a manifest, a mosaic) have no one-daemon
counterpart. Sharing the name would give ``ptpctl --command-endpoint X rig ...`` options
that mean nothing.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from ptpd import __version__
from ptpd.bus import ErrorCode
from ptpd_client import Outcome, Rig, RigCamera, RigFileError, RigShot, load_rig
from ptpd_console.errors import EXIT_HELP, CliError, Exit, interrupts_as_errors, run_console
from ptpd_console.tables import json_default, table
from ptpd_console.targets import TargetError, check_directory

T = TypeVar("T")

#: the environment variable that names the rig file when ``-r`` does not
ENV_RIG = "PTPRIG_FILE"

#: a failure's code -> the exit code it gives (the first failing camera's, in rig order)
_EXIT_BY_CODE = {
    "unreachable": Exit.UNREACHABLE,
    "timeout": Exit.UNREACHABLE,
    ErrorCode.NOT_CONNECTED.value: Exit.UNREACHABLE,
    ErrorCode.TIMEOUT.value: Exit.UNREACHABLE,
    ErrorCode.CAMERA_BUSY.value: Exit.REFUSED,
    ErrorCode.CAMERA_REFUSED.value: Exit.REFUSED,
    ErrorCode.UNSUPPORTED.value: Exit.REFUSED,
    ErrorCode.INVALID_VALUE.value: Exit.USAGE,
    ErrorCode.BAD_REQUEST.value: Exit.CLIENT,
    ErrorCode.UNKNOWN_COMMAND.value: Exit.CLIENT,
    "client": Exit.CLIENT,
}


@dataclass
class Options:
    """The group's options, for every command."""

    rig_path: Path
    cameras: tuple[str, ...]
    groups: tuple[str, ...]
    timeout: float | None
    json: bool
    _spec: tuple[list[RigCamera], float] | None = None

    def spec(self) -> tuple[list[RigCamera], float]:
        """The cameras chosen and their timeout (the rig file read on first use:
        ``--help`` needs none); a rig file that will not do is exit 102."""
        if self._spec is None:
            try:
                spec = load_rig(self.rig_path)
                self._spec = spec.select(self.cameras, self.groups), self.timeout or spec.timeout
            except RigFileError as exc:
                raise CliError(str(exc), Exit.CONFIG) from None
        return self._spec

    def rig(self) -> Rig:
        """The rig the options name."""
        cameras, timeout = self.spec()
        return Rig(cameras, timeout=timeout)


def exit_for(codes: list[str | None]) -> int:
    """The exit code for the cameras' failure codes (in rig order): 0 when none failed,
    else the first failure's."""
    for code in codes:
        if code is not None:
            return int(_EXIT_BY_CODE.get(code, Exit.ERROR))
    return Exit.OK


def run(opts: Options, work: Callable[[Rig], Awaitable[T]]) -> T:
    """``work(rig)`` on the asyncio loop, the rig closed after it (Ctrl-C included: the
    requests in flight are cancelled on their daemons)."""

    async def main() -> T:
        async with opts.rig() as rig:
            return await work(rig)

    return asyncio.run(main())


def emit(data: Any) -> None:
    print(json.dumps(data, indent=2 if sys.stdout.isatty() else None, ensure_ascii=False, default=json_default))


def failures(outcomes: dict[str, Any]) -> None:
    """One line per camera that failed, on stderr, after the table."""
    for name, o in outcomes.items():
        if getattr(o, "error", None):
            click.echo(f"ptprig: {name}: {o.code}: {o.error}", err=True)


def ms(seconds: float | None, signed: bool = False) -> str:
    if seconds is None:
        return ""
    return f"{seconds * 1000:+.3f}" if signed else f"{seconds * 1000:.3f}"


# -- the group -----------------------------------------------------------------------------------


@click.group(
    "ptprig",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_HELP + "\n\n\b\nA command that some cameras failed exits with the first failing camera's code.",
)
@click.option(
    "-r",
    "--rig",
    "rig_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar=ENV_RIG,
    default="rig.toml",
    show_default=True,
    help=f"The rig file (env {ENV_RIG}).",
)
@click.option("-c", "--camera", "cameras", multiple=True, metavar="NAME", help="Only this camera (repeat for more).")
@click.option(
    "-g",
    "--group",
    "groups",
    multiple=True,
    metavar="GROUP",
    help="Only the cameras of this group, or of this host (repeat for more).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=None,
    metavar="SECONDS",
    help="How long each camera's replies may take [default: the rig file's, else 10].",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("-v", "--verbose", count=True, help="More detail (-vv: debug log).")
@click.version_option(__version__, prog_name="ptprig")
@click.pass_context
def cli(
    ctx: click.Context,
    rig_path: Path,
    cameras: tuple[str, ...],
    groups: tuple[str, ...],
    timeout: float | None,
    as_json: bool,
    verbose: int,
) -> None:
    """Drive a rig of cameras, each held by its own ptpd daemon, as one: status, settings,
    releases at one moment, the images gathered with a manifest, a live-view mosaic."""
    if verbose:
        import logging

        logging.basicConfig(
            level=logging.DEBUG if verbose > 1 else logging.INFO,
            stream=sys.stderr,
            format="ptprig: %(levelname)s %(name)s: %(message)s",
        )
    ctx.obj = Options(rig_path, cameras, groups, timeout, as_json)


pass_options = click.make_pass_decorator(Options)


@cli.command()
@pass_options
def status(opts: Options) -> int:
    """Every camera: connection, model, battery, shots left."""
    got = run(opts, lambda rig: rig.status())
    if opts.json:
        emit({n: {"ok": o.ok, **_status_dict(o)} for n, o in got.items()})
    else:
        rows: list[tuple[object, ...]] = []
        for name, o in got.items():
            s = o.value
            if s is None:
                rows.append((name, o.code, "", "", ""))
            else:
                conn = (
                    s.connection
                    if s.connection == "connected"
                    else f"{s.connection} ({s.detail})"
                    if s.detail
                    else s.connection
                )
                rows.append((name, conn, s.model, s.battery or "", "" if s.shots_left is None else s.shots_left))
        table(rows, ["Camera", "Connection", "Model", "Battery", "Shots left"])
        failures(got)
    return exit_for(
        [
            o.code if not o.ok or o.value is None else (None if o.value.connection == "connected" else "unreachable")
            for o in got.values()
        ]
    )


def _status_dict(o: Outcome[Any]) -> dict[str, Any]:
    if o.value is None:
        return {"error": o.error, "code": o.code}
    s = o.value
    return {
        "connection": s.connection,
        "detail": s.detail,
        "vendor": s.vendor,
        "model": s.model,
        "battery": s.battery,
        "shots_left": s.shots_left,
    }


@cli.command("set")
@click.argument("prop")
@click.argument("value")
@pass_options
def set_(opts: Options, prop: str, value: str) -> int:
    """Set PROP to VALUE on every camera; each camera's value now in force, or why not."""
    got = run(opts, lambda rig: rig.set(prop, value))
    if opts.json:
        emit(
            {
                n: (
                    {"ok": True, "name": o.value.name, "value": o.value.value, "label": o.value.label}
                    if o.ok and o.value is not None
                    else {"ok": False, "error": o.error, "code": o.code}
                )
                for n, o in got.items()
            }
        )
    else:
        table(
            [
                (n, o.value.label if o.ok and o.value is not None else "", "" if o.ok else f"{o.code}: {o.error}")
                for n, o in got.items()
            ],
            ["Camera", prop, "Error"],
        )
    return exit_for([o.code for o in got.values()])


# -- capture and gathering -----------------------------------------------------------------------


@cli.command()
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Gather the images here (DIR/<shot>/<camera>.<ext>) with DIR/manifest.json.",
)
@click.option(
    "-n", "--count", type=click.IntRange(1, 100000), default=1, show_default=True, help="Shots, one after the other."
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    metavar="SECONDS",
    help="From one shot's release to the next (at least the time the gathering takes).",
)
@click.option(
    "--lead",
    type=click.FloatRange(min=0.05, max=60),
    default=0.5,
    show_default=True,
    metavar="SECONDS",
    help="How far ahead each release is planned (the requests reach every daemon before it).",
)
@click.option(
    "--pattern",
    default=None,
    metavar="PATTERN",
    help="Where each file goes under DIR: fields {shot}, {camera}, {ext}, {name} [default: {shot}/{camera}.{ext}].",
)
@click.option(
    "--shot", "shot_name", default=None, metavar="NAME", help="The shot's name (one shot) [default: the next number]."
)
@pass_options
def capture(
    opts: Options,
    out: Path | None,
    count: int,
    interval: float,
    lead: float,
    pattern: str | None,
    shot_name: str | None,
) -> int:
    """Release every camera at one moment, COUNT times; report the skew; with -o gather the images.

    Each daemon gets the release time in its own clock ahead of time and releases from its
    own event loop; the skew is the spread of the release times the daemons report. A
    camera that fails is reported and never holds up the others; its image, when it took
    one, stays on the camera, named in the manifest for 'ptprig download -o DIR'.
    """
    from .gather import PATTERN, Manifest, PatternError, check_pattern, fetch_shot, record_shot

    manifest = None
    if shot_name is not None and count > 1:
        raise click.UsageError("--shot names one shot; leave it out with --count")
    opts.spec()  # a rig file that will not do says so before anything is made
    if out is not None:
        try:
            check_directory(out)
            manifest = Manifest.load(out)
            pattern = check_pattern(pattern or manifest.data.get("pattern") or PATTERN)
        except (TargetError, PatternError) as exc:
            raise CliError(str(exc), Exit.USAGE) from None
        except ValueError as exc:
            raise CliError(str(exc), Exit.CONFIG) from None
        if shot_name is not None and shot_name in manifest.shots:
            raise CliError(
                f"shot {shot_name} is in {out / 'manifest.json'} already; 'ptprig download -o {out}' completes it",
                Exit.USAGE,
            )
    elif pattern is not None:
        raise click.UsageError("--pattern goes with -o DIR")

    async def work(rig: Rig) -> list[tuple[str, RigShot, Any]]:
        done = []
        began = time.monotonic()
        for i in range(count):
            if i and interval:
                await asyncio.sleep(max(0.0, began + i * interval - lead - time.monotonic()))
            shot = await rig.fire(lead=lead)
            name = shot_name or (manifest.next_shot() if manifest is not None else f"{i + 1:04d}")
            fetched = None
            if manifest is not None:
                assert pattern is not None
                record_shot(manifest, name, shot, pattern, str(opts.rig_path.resolve()))
                manifest.save()  # the handles are on record before anything is fetched
                fetched = await fetch_shot(rig, manifest, name, shot.releases, timeout=rig.timeout + 60)
                manifest.save()
            report_shot(opts, name, shot, manifest, out)
            done.append((name, shot, fetched))
        return done

    shots = run(opts, work)
    skews = [s.skew for _, s, _ in shots if s.skew is not None]
    if len(shots) > 1 and not opts.json:
        from statistics import median

        s = sorted(skews)
        p99 = s[min(len(s) - 1, round(0.99 * (len(s) - 1)))] if s else None
        click.echo(
            f"release skew over {len(shots)} shots: p50 {ms(median(s) if s else None)} ms, "
            f"p99 {ms(p99)} ms, max {ms(max(s) if s else None)} ms"
        )
    codes: list[str | None] = []
    for _name, shot, fetched in shots:
        codes += [r.code for r in shot.releases.values()]
        if fetched is not None and fetched.missing:
            codes.append("missing")
    return exit_for(codes)


def report_shot(opts: Options, name: str, shot: RigShot, manifest: Any, out: Path | None) -> None:
    entries = manifest.shots[name]["cameras"] if manifest is not None else {}
    if opts.json:
        emit(
            {
                "shot": name,
                "skew_ms": None if shot.skew is None else round(shot.skew * 1000, 3),
                "cameras": entries
                or {
                    n: {
                        "handle": getattr(r.shot, "handle", None),
                        "filename": getattr(r.shot, "filename", None),
                        "release_ms": None if r.released is None else round((r.released - shot.planned) * 1000, 3),
                        "late_ms": None if r.late is None else round(r.late * 1000, 3),
                        "error": r.error,
                        "code": r.code,
                    }
                    for n, r in shot.releases.items()
                },
            }
        )
        return
    released = len(shot.released)
    skew = f", skew {ms(shot.skew)} ms" if shot.skew is not None else ""
    click.echo(f"shot {name}: {released} of {len(shot.releases)} camera(s) released{skew}")
    rows = []
    for cam, r in shot.releases.items():
        e = entries.get(cam, {})
        where = e.get("file") or (getattr(r.shot, "filename", "") or "") if r.shot is not None else ""
        why = e.get("error") or r.error or ""
        rows.append((cam, ms(None if r.released is None else r.released - shot.planned, True), ms(r.late), where, why))
    table(rows, ["Camera", "Release ms", "Late ms", "File" if manifest is not None else "On camera", "Error"])


@cli.command()
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The directory a capture gathered into (its manifest.json).",
)
@pass_options
def download(opts: Options, out: Path) -> int:
    """Complete a gathering: fetch every image the manifest in DIR lacks from the camera
    that still holds it; files that are there and match their SHA-256 stay as they are."""
    from .gather import Manifest, complete

    try:
        manifest = Manifest.load(out)
    except ValueError as exc:
        raise CliError(str(exc), Exit.CONFIG) from None
    if not manifest.shots:
        raise CliError(
            f"no manifest.json with shots in {out}: nothing to complete ('ptprig capture -o {out}' makes one)",
            Exit.USAGE,
        )
    got = run(opts, lambda rig: complete(rig, manifest, timeout=rig.timeout + 60))
    if opts.json:
        emit({"written": got.written, "present": got.present, "missing": got.missing})
    else:
        click.echo(f"{len(got.written)} file(s) fetched, {len(got.present)} already there, {len(got.missing)} missing")
        for label, why in got.missing.items():
            click.echo(f"ptprig: {label}: {why}", err=True)
    return Exit.UNREACHABLE if got.missing else Exit.OK


# -- live view -----------------------------------------------------------------------------------


def _size(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    try:
        size = int(w), int(h)
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected WIDTHxHEIGHT") from None
    if not (16 <= size[0] <= 4096 and 16 <= size[1] <= 4096):
        raise click.BadParameter(f"{text!r}: 16 to 4096 pixels a side")
    return size


@cli.command()
@click.option(
    "--http",
    "http_addr",
    metavar="[HOST:]PORT",
    help="Serve the mosaic as a page and an MJPEG stream (default host 127.0.0.1).",
)
@click.option(
    "--snapshot",
    "snapshot_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save one mosaic (PNG or JPEG by extension) once every camera that can has sent a frame, and exit.",
)
@click.option("--fps", type=click.FloatRange(0.5, 60), default=10.0, show_default=True, help="Mosaics drawn a second.")
@click.option("--tile", default="320x240", show_default=True, metavar="WxH", help="Each camera's tile.")
@click.option("--columns", type=click.IntRange(1, 64), default=None, help="Tiles a row [default: a square grid].")
@pass_options
def liveview(
    opts: Options, http_addr: str | None, snapshot_path: Path | None, fps: float, tile: str, columns: int | None
) -> None:
    """Every camera's live view in one mosaic: a window (q quits), a browser page, or a file."""
    from ptpd.extras import require

    require("viewer", "ptprig liveview")
    if snapshot_path and http_addr:
        raise click.UsageError("--snapshot and --http exclude each other")
    from . import mosaic

    cameras, timeout = opts.spec()
    mosaic.main(
        cameras,
        timeout=timeout,
        http_addr=http_addr,
        snapshot_path=snapshot_path,
        fps=fps,
        tile=_size(tile),
        columns=columns,
    )


for _c in (status, set_, capture, download, liveview):
    interrupts_as_errors(_c)


def main() -> None:
    """Console entry point: one line on stderr for any error, the console clients' exit codes."""
    run_console(cli, "ptprig")
