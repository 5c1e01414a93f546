"""ptpctl: ls, download and delete."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ptpd.bus import ErrorCode
from ptpd_client import CommandFailed
from ptpd_console.errors import CliError, Exit
from ptpd_console.files import FileExists, Incomplete, is_jpeg_name, safe_name, write_atomic

from .. import output
from ..params import IntParam, json_option, pass_session, want_json
from ..session import Session

#: PTP InvalidObjectHandle (ISO 15740 Table 27): the camera has no such object
INVALID_OBJECT_HANDLE = 0x2009


@click.command("ls", short_help="List the images on the camera.")
@json_option
@pass_session
def ls_(session: Session, as_json: bool) -> None:
    """List the objects on the camera's storage: handle, name, size, date."""
    objs = session.client.objects()
    if want_json(session, as_json):
        output.emit_json([o.to_dict() for o in objs])
        return
    rows = [
        (
            output.hexv(o.handle),
            o.filename + ("/" if o.is_folder else ""),
            "" if o.is_folder else output.human_size(o.size),
            o.captured or "",
        )
        for o in objs
    ]
    output.table(rows, ["Handle", "Name", "Size", "Captured"])
    files = [o for o in objs if not o.is_folder]
    click.echo(f"{len(files)} file(s), {output.human_size(sum(o.size for o in files))}")


@click.command(short_help="Download images by handle.")
@click.argument("handles", type=IntParam(), nargs=-1, required=True)
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="Where to write the files.",
)
@click.option("--overwrite", is_flag=True, help="Replace existing files.")
@click.option(
    "--daemon-dir",
    metavar="PATH",
    help="Have the daemon write the files into PATH, an absolute path on its own machine "
    "(no bytes cross the bus; never replaces a file).",
)
@click.option("--progress/--no-progress", default=None, help="Show a progress bar [default: on a terminal].")
@json_option
@pass_session
def download(
    session: Session,
    handles: tuple[int, ...],
    output_dir: str,
    overwrite: bool,
    daemon_dir: str | None,
    progress: bool | None,
    as_json: bool,
) -> None:
    """Download the objects HANDLE... (from 'ptpctl ls') into DIR under the camera's
    file names, atomically, never replacing an existing file without --overwrite.
    With --daemon-dir the daemon writes them on its side instead."""
    show = sys.stderr.isatty() if progress is None else progress
    if daemon_dir is not None:
        ctx = click.get_current_context()
        if ctx.get_parameter_source("output_dir") is not click.core.ParameterSource.DEFAULT or overwrite:
            raise CliError("--daemon-dir writes on the daemon's side: not with -o or --overwrite", Exit.USAGE)
        _emit(session, as_json, [_fetch_on_daemon(session, h, daemon_dir, show) for h in handles])
        return
    out = Path(output_dir)
    results = []
    for h in handles:
        # No listing of the card first (a transaction per object on a real camera): the
        # reply names the file, and the name is checked before anything is written.
        d = _fetch(session, h, show)
        dest = out / safe_name(d.filename, f"object-{h:08x}")
        try:
            write_atomic(
                dest,
                d.data,
                overwrite=overwrite,
                expected_size=d.size or None,  # straight from the received frame
                jpeg=True if is_jpeg_name(d.filename) else None,
            )
        except FileExists:
            raise CliError(f"{dest} exists; use --overwrite to replace", Exit.USAGE) from None
        except Incomplete as exc:
            raise CliError(
                f"download: handle {output.hexv(h)}: incomplete ({exc}); {dest} not written; "
                "the image stays on the camera",
                Exit.ERROR,
            ) from None
        results.append({"handle": h, "filename": d.filename, "size": len(d.data), "path": str(dest)})
        del d  # the next download need not wait for this one's memory
    _emit(session, as_json, results)


def _emit(session: Session, as_json: bool, results: list[dict[str, Any]]) -> None:
    if want_json(session, as_json):
        output.emit_json(results)
        return
    output.table(
        [(output.hexv(r["handle"]), output.human_size(r["size"]), r["path"]) for r in results],
        ["Handle", "Size", "Saved to"],
    )


def _fetch_on_daemon(session: Session, handle: int, directory: str, show: bool) -> dict[str, Any]:
    """One object written by the daemon into ``directory`` on its machine."""
    d = _fetch(session, handle, show, directory)
    return {"handle": handle, "filename": d.filename, "size": d.size, "path": d.path}


def _fetch(session: Session, handle: int, show: bool, directory: str | None = None) -> Any:
    """One object's download (written by the daemon into ``directory`` when given), with a
    progress bar on stderr when ``show``."""
    timeout = max(session.timeout, 30.0)
    try:
        if not show:
            return session.client.download(handle, timeout=timeout, dir=directory)
        with click.progressbar(length=1, label=output.hexv(handle), file=sys.stderr, show_pos=True) as bar:
            seen = [0]

            def on_progress(done: int, total: int) -> None:
                if total and bar.length != total:
                    bar.length = total
                bar.update(max(0, done - seen[0]))
                seen[0] = max(seen[0], done)

            d = session.client.download(handle, progress=on_progress, timeout=timeout, dir=directory)
            bar.update(max(0, (bar.length or 0) - seen[0]))
            return d
    except CommandFailed as exc:
        if exc.ptp_code == INVALID_OBJECT_HANDLE:
            raise CliError(f"no object with handle {output.hexv(handle)} (see 'ptpctl ls')", Exit.USAGE) from None
        if directory is not None and exc.code == ErrorCode.BAD_REQUEST:  # the directory: the user's to mend
            raise CliError(f"download: {exc.message}", Exit.USAGE) from None
        raise


#: PTP's handle for "every object" (DeleteObject): only ever sent as the word ``all``
ALL_OBJECTS = 0xFFFFFFFF


@click.command(short_help="Delete images by handle, or all of them.")
@click.argument("handles", nargs=-1, required=True, metavar="HANDLE... | all")
@json_option
@pass_session
def delete(session: Session, handles: tuple[str, ...], as_json: bool) -> None:
    """Delete the objects HANDLE... (from 'ptpctl ls') from the camera; 'ptpctl delete all'
    deletes every object on it. Wiping the card takes the word 'all': handle 0xFFFFFFFF,
    which means the same to the camera, is refused."""
    if "all" in handles:
        if len(handles) > 1:
            raise CliError("delete: 'all' deletes every object; give it alone", Exit.USAGE)
        session.client.delete_all()
        if want_json(session, as_json):
            output.emit_json({"all": True})
        else:
            click.echo("deleted every object on the camera")
        return
    numbers = [IntParam().convert(h, None, click.get_current_context()) for h in handles]
    if ALL_OBJECTS in numbers:
        raise CliError(
            "delete: handle 0xFFFFFFFF means every object on the camera; say 'ptpctl delete all'", Exit.USAGE
        )
    done = []
    for h in numbers:
        try:
            session.client.delete(h)
        except CommandFailed as exc:
            if exc.ptp_code == INVALID_OBJECT_HANDLE:
                raise CliError(f"no object with handle {output.hexv(h)} (see 'ptpctl ls')", Exit.USAGE) from None
            raise
        done.append(h)
    if want_json(session, as_json):
        output.emit_json([{"handle": h} for h in done])
    else:
        for h in done:
            click.echo(f"deleted {output.hexv(h)}")
