"""ptpctl: job (start, list, show, watch, stop): work the daemon does on its own."""

from __future__ import annotations

import json as _json
import os
import sys
import time
from typing import Any

import click

from ptpd_console.errors import CliError, Exit, Interrupted
from ptpd_console.tables import json_default

from .. import output
from ..params import json_option, pass_session
from ..session import Session

#: width of the progress bar of ``job watch`` on a terminal
BAR = 20
#: erase to the end of the line (ANSI)
_CLEAR = "\x1b[K"


def _abs_dir(value: str | None) -> str | None:
    """A directory for the daemon: absolute (a relative one is taken from here, where
    the daemon on this machine writes it)."""
    return os.path.abspath(os.path.expanduser(value)) if value else None


def _json_flag(ctx: click.Context, as_json: bool) -> bool:
    """``--json`` on the subcommand, on ``job``, or on ptpctl."""
    session = ctx.find_object(Session)
    parent = ctx.find_root().meta.get("ptpctl.job-json", False)
    return as_json or bool(parent) or bool(session and session.json)


def _job_json(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_root().meta["ptpctl.job-json"] = True


@click.group("job", short_help="Jobs in the daemon: time-lapse, bracket, focus stack, tether.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    expose_value=False,
    callback=_job_json,
    help="Print JSON (for every job subcommand).",
)
def job() -> None:
    """Start, list, follow and stop jobs: work the daemon does on its own, for as long as
    it takes. A job goes on when ptpctl exits, waits for a camera that went away, and is
    resumed when the daemon starts again; the shots it took are not taken again.

    \b
      ptpctl job start timelapse --interval 10 --count 360 --dir ~/tl --delete-after
      ptpctl job start bracket --steps 5 --ev 1
      ptpctl job start focus-stack --steps 10
      ptpctl job start tether --dir ~/shots --hook 'echo new: "$1"'
      ptpctl job watch 3       ptpctl job list       ptpctl job stop 3

    A directory is on the daemon's machine (a relative one is taken from the current
    directory). Jobs that change settings or release the shutter hold the camera's
    control lease while they run: other clients' set and capture are refused (locked).
    """


# -- start ----------------------------------------------------------------------------------


@job.group("start", short_help="Start a job.")
def start() -> None:
    """Start a job of one kind (each has its own options; --help on each)."""


def _started(
    ctx: click.Context, session: Session, kind: str, options: dict[str, Any], watch: bool, as_json: bool
) -> None:
    j = session.client.jobs.start(kind, **options)
    if _json_flag(ctx, as_json) and not watch:
        output.emit_json(j.to_dict())
        return
    if not _json_flag(ctx, as_json):
        click.echo(f"started {kind} job {j.id}" + (f": {_plan(j)}" if _plan(j) else ""))
        if not watch:
            click.echo(f"follow it with 'ptpctl job watch {j.id}', stop it with 'ptpctl job stop {j.id}'", err=True)
    if watch:
        _watch(ctx, session, j.id, as_json)


def _plan(j: Any) -> str:
    o = j.options
    if j.kind == "timelapse":
        ends = [
            f"{o['count']} shots" if o.get("count") else "",
            f"for {o['duration']:g} s" if o.get("duration") else "",
            f"until {time.strftime('%Y-%m-%d %H:%M', time.localtime(o['stop']))}" if o.get("stop") else "",
        ]
        text = f"a shot every {o['interval']:g} s" + "".join(f", {e}" for e in ends if e)
    elif j.kind == "bracket":
        text = f"{o['prop']} " + ", ".join(label for _, label in o.get("plan", []))
    elif j.kind == "focus-stack":
        text = f"{o['steps']} frames, {o['step']} focus step(s) apart"
    else:
        text = "every picture the camera adds" + (", then the hook" if o.get("hook") else "")
    return text + (f", into {o['dir']}" if o.get("dir") else "")


def _shot_options(f: Any) -> Any:
    f = click.option("--watch", is_flag=True, help="Follow the job until it ends (as 'job watch').")(f)
    f = click.option("--delete-after", is_flag=True, help="Delete each image from the camera once it is saved.")(f)
    return click.option("--dir", "directory", metavar="DIR", help="Save each image there, on the daemon's machine.")(f)


#: how long a bracket or a focus stack waits for a camera that went away
_wait_option = click.option(
    "--wait",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="How long to wait for a camera that went away [default: 60].",
)


@start.command("timelapse", short_help="A shot every INTERVAL seconds.")
@click.option(
    "--interval", type=click.FloatRange(min=0.2), required=True, metavar="SECONDS", help="Seconds between shots."
)
@click.option("--count", type=click.IntRange(min=1), help="Shots to deliver (missed slots do not count).")
@click.option("--duration", type=click.FloatRange(min=0.001), metavar="SECONDS", help="Plan shots for this long.")
@click.option(
    "--start", "start_at", metavar="TIME", help="First shot at TIME (ISO 8601, e.g. 2026-06-01T05:30); default now."
)
@click.option("--stop", "stop_at", metavar="TIME", help="No shot after TIME (ISO 8601).")
@click.option(
    "--late",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="The latest a shot may start after its slot, else the slot is missed [default: half the interval].",
)
@click.option(
    "--awake",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="Keep the camera awake with a request after this much idleness (0: never) [default: 10].",
)
@_shot_options
@json_option
@pass_session
@click.pass_context
def start_timelapse(
    ctx: click.Context,
    session: Session,
    interval: float,
    count: int | None,
    duration: float | None,
    start_at: str | None,
    stop_at: str | None,
    late: float | None,
    awake: float | None,
    directory: str | None,
    delete_after: bool,
    watch: bool,
    as_json: bool,
) -> None:
    """A shot every INTERVAL seconds on a fixed grid, until --count shots are delivered,
    --duration has passed or --stop comes (none of them: until 'job stop'). A shot that
    cannot start in time (the camera away, the daemon not running) is a missed slot,
    reported with why. With --dir each image is saved there as capture saves it."""
    options = {
        "interval": interval,
        "count": count,
        "duration": duration,
        "start": start_at,
        "stop": stop_at,
        "late": late,
        "awake": awake,
        "dir": _abs_dir(directory),
        "delete_after": delete_after or None,
    }
    _started(ctx, session, "timelapse", options, watch, as_json)


@start.command("bracket", short_help="STEPS shots stepping exposure around its value.")
@click.option("--steps", type=click.IntRange(2, 99), default=5, show_default=True, help="Shots in the bracket.")
@click.option("--ev", type=click.FloatRange(0.1, 5), default=1.0, show_default=True, help="Stops between shots.")
@click.option(
    "--prop",
    type=click.Choice(["exp-bias", "exposure"]),
    default="exp-bias",
    show_default=True,
    help="Step exposure compensation, or the shutter speed.",
)
@_wait_option
@_shot_options
@json_option
@pass_session
@click.pass_context
def start_bracket(
    ctx: click.Context,
    session: Session,
    steps: int,
    ev: float,
    prop: str,
    wait: float | None,
    directory: str | None,
    delete_after: bool,
    watch: bool,
    as_json: bool,
) -> None:
    """STEPS shots stepping --prop by --ev stops around the value in force (darkest
    first); the value is put back afterwards, also after a failure."""
    options = {
        "steps": steps,
        "ev": ev,
        "prop": prop,
        "wait": wait,
        "dir": _abs_dir(directory),
        "delete_after": delete_after or None,
    }
    _started(ctx, session, "bracket", options, watch, as_json)


@start.command("focus-stack", short_help="STEPS frames stepping the focus farther.")
@click.option("--steps", type=click.IntRange(2, 500), default=10, show_default=True, help="Frames in the stack.")
@click.option(
    "--step", type=click.IntRange(1, 100), default=1, show_default=True, help="Focus drive steps between frames."
)
@_wait_option
@_shot_options
@json_option
@pass_session
@click.pass_context
def start_focus_stack(
    ctx: click.Context,
    session: Session,
    steps: int,
    step: int,
    wait: float | None,
    directory: str | None,
    delete_after: bool,
    watch: bool,
    as_json: bool,
) -> None:
    """STEPS frames from the focus in force outwards, on a body with a focus drive (the
    camera says 'unsupported' otherwise). What the drive changed is put back."""
    options = {
        "steps": steps,
        "step": step,
        "wait": wait,
        "dir": _abs_dir(directory),
        "delete_after": delete_after or None,
    }
    _started(ctx, session, "focus-stack", options, watch, as_json)


@start.command("tether", short_help="Download every picture the camera adds.")
@click.option(
    "--dir", "directory", metavar="DIR", required=True, help="Where the pictures go, on the daemon's machine."
)
@click.option("--hook", metavar="CMD", help="Shell command run after each file, with its path as $1 (and PTPD_FILE).")
@click.option(
    "--hook-timeout", type=click.FloatRange(min=0.1), metavar="SECONDS", help="Longest a hook may run [default: 60]."
)
@click.option("--watch", is_flag=True, help="Follow the job (as 'job watch'); Ctrl-C stops following, not the job.")
@json_option
@pass_session
@click.pass_context
def start_tether(
    ctx: click.Context,
    session: Session,
    directory: str,
    hook: str | None,
    hook_timeout: float | None,
    watch: bool,
    as_json: bool,
) -> None:
    """Download every picture the camera adds (taken on the body) into DIR, also those
    taken while the camera or the daemon was away, never one twice. What is on the card
    already is left alone. A failing hook is reported, and the job goes on."""
    options = {"dir": _abs_dir(directory), "hook": hook, "hook_timeout": hook_timeout}
    _started(ctx, session, "tether", options, watch, as_json)


# -- list, show, watch, stop ------------------------------------------------------------------


def _next(j: Any) -> str:
    return time.strftime("%H:%M:%S", time.localtime(j.next_at)) if j.next_at and j.running else ""


@job.command("list", short_help="The jobs: running ones and those ended lately.")
@click.option("--all", "everything", is_flag=True, help="Every ended job too.")
@json_option
@pass_session
@click.pass_context
def list_(ctx: click.Context, session: Session, everything: bool, as_json: bool) -> None:
    """One line per job: id, kind, state, shots delivered (of how many), missed, the
    next shot, and what it is doing or how it ended."""
    jobs = session.client.jobs.list(all=everything)
    if _json_flag(ctx, as_json):
        output.emit_json([j.to_dict() for j in jobs])
        return
    if not jobs:
        click.echo("no jobs")
        return
    rows = [
        [
            j.id,
            j.kind,
            j.state,
            f"{j.done}/{j.total}" if j.total is not None else str(j.done),
            j.missed,
            _next(j),
            j.detail,
        ]
        for j in jobs
    ]
    output.table(rows, ["ID", "Kind", "State", "Done", "Missed", "Next", "Detail"])


@job.command("show", short_help="One job, shot by shot.")
@click.argument("job_id", metavar="ID", type=int)
@json_option
@pass_session
@click.pass_context
def show(ctx: click.Context, session: Session, job_id: int, as_json: bool) -> None:
    """The job and each of its shots (planned and actual time, file, or why it was
    missed); a tether job's files."""
    j = session.client.jobs.get(job_id)
    if _json_flag(ctx, as_json):
        output.emit_json(j.to_dict())
        return
    click.echo(j.progress())
    if j.shots:
        rows = [
            [
                s["slot"] + 1,
                s["state"],
                _clock(s.get("planned")),
                f"{s['drift'] * 1000:+.0f} ms" if "drift" in s else "",
                s.get("value", ""),
                s.get("path") or s.get("filename") or "",
                s.get("why", ""),
            ]
            for s in j.shots
        ]
        output.table(rows, ["Shot", "State", "Planned", "Drift", "Value", "File", "Why"])
    if j.files:
        output.table(
            [[f.get("state"), f.get("filename"), f.get("path") or "", f.get("why", "")] for f in j.files],
            ["State", "Name", "Saved as", "Why"],
        )


def _clock(t: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) if t else ""


@job.command("watch", short_help="Follow a job until it ends.")
@click.argument("job_id", metavar="ID", type=int)
@json_option
@pass_session
@click.pass_context
def watch(ctx: click.Context, session: Session, job_id: int, as_json: bool) -> None:
    """Follow job ID until it ends: on a terminal one progress line with a bar, rewritten
    as shots come, and a line for each missed slot or failure; in a pipe a line per
    report; --json one JSON object per report. Ctrl-C stops following, not the job.
    Exits 0 when the job ended done or stopped, 1 when it failed."""
    _watch(ctx, session, job_id, as_json)


def _watch(ctx: click.Context, session: Session, job_id: int, as_json: bool) -> None:
    as_json = _json_flag(ctx, as_json)
    line = _Line(sys.stdout if not as_json else None)
    last = None
    try:
        for update in session.client.jobs.watch(job_id):
            last = update.job
            if as_json:
                data = {k: v for k, v in update.data.items() if k not in ("seq", "t")} or update.job.to_dict()
                click.echo(_json.dumps({"event": update.event, **data}, default=json_default))
                sys.stdout.flush()
                continue
            note = _note(update)
            if note:
                line.note(note)
            line.show(_bar(update.job))
    except KeyboardInterrupt:
        line.close()
        raise Interrupted(f"stopped following job {job_id}; it goes on ('ptpctl job stop {job_id}' stops it)") from None
    line.close()
    if last is not None and last.state == "failed":
        raise CliError(f"job {job_id} failed: {last.detail}", Exit.ERROR)


def _note(update: Any) -> str | None:
    """A line of its own for what should not scroll away: a missed slot, a failure."""
    d = update.data
    if update.event == "missed":
        return f"slot {int(d.get('slot', 0)) + 1} missed: {d.get('why')}"
    if update.event == "file" and (d.get("file") or {}).get("state") == "failed":
        return f"{d['file'].get('filename')}: not downloaded: {d['file'].get('why')}"
    if update.event == "file":
        return f"saved {(d.get('file') or {}).get('path')}"
    if update.event == "hook" and not d.get("ok"):
        return f"hook for {d.get('path')}: {d.get('why')}"
    if update.event == "restored":
        return "settings put back: " + ", ".join(f"{p} = {v}" for p, v in d.get("settings", []))
    return None


def _bar(j: Any) -> str:
    if j.total:
        filled = min(BAR, BAR * j.done // j.total)
        return f"[{'#' * filled}{'-' * (BAR - filled)}] {j.progress()}"
    return j.progress()


class _Line:
    """One progress line on a terminal (rewritten), or a line per change elsewhere."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.rewrite = bool(stream is not None and stream.isatty())
        self.open = False
        self.last = ""

    def show(self, text: str) -> None:
        if self.stream is None or text == self.last:
            return
        self.last = text
        if self.rewrite:
            self.stream.write(f"\r{text}{_CLEAR}")
            self.open = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        if self.stream is None:
            return
        if self.open:
            self.stream.write("\r" + _CLEAR)
            self.open = False
        self.stream.write(text + "\n")
        self.stream.flush()
        self.last = ""

    def close(self) -> None:
        if self.open and self.stream is not None:
            self.stream.write("\n")
            self.stream.flush()
            self.open = False


@job.command("stop", short_help="Stop a job after its shot in progress.")
@click.argument("job_id", metavar="ID", type=int)
@json_option
@pass_session
@click.pass_context
def stop(ctx: click.Context, session: Session, job_id: int, as_json: bool) -> None:
    """Stop job ID after its shot in progress (saved); the settings it changed are put
    back. Prints how it ended."""
    j = session.client.jobs.stop(job_id)
    if _json_flag(ctx, as_json):
        output.emit_json(j.to_dict())
        return
    click.echo(j.progress())
