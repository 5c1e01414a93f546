"""ptpctl: ls and download."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .. import output
from ..cli import IntParam, Session, _want_json, json_option, pass_session
from ..errors import CliError, Exit


@click.command("ls", short_help="List the images on the camera.")
@json_option
@pass_session
def ls_(session: Session, as_json: bool) -> None:
    """List the objects on the camera's storage: handle, name, size, date."""
    objs = session.client.objects()
    if _want_json(session, as_json):
        output.emit_json([o.to_dict() for o in objs])
        return
    rows = [
        (output.hexv(o.handle), o.filename + ("/" if o.is_folder else ""), "" if o.is_folder else output.human_size(o.size), o.captured or "")
        for o in objs
    ]
    output.table(rows, ["Handle", "Name", "Size", "Captured"])
    files = [o for o in objs if not o.is_folder]
    click.echo(f"{len(files)} file(s), {output.human_size(sum(o.size for o in files))}")


@click.command(short_help="Download images by handle.")
@click.argument("handles", type=IntParam(), nargs=-1, required=True)
@click.option("-o", "--output-dir", type=click.Path(file_okay=False), default=".", show_default=True, help="Where to write the files.")
@click.option("--overwrite", is_flag=True, help="Replace existing files.")
@click.option("--progress/--no-progress", default=None, help="Show a progress bar [default: on a terminal].")
@json_option
@pass_session
def download(session: Session, handles: tuple[int, ...], output_dir: str, overwrite: bool, progress: bool | None,
             as_json: bool) -> None:
    """Download the objects HANDLE... (from 'ptpctl ls') into DIR, atomically, never
    replacing an existing file without --overwrite."""
    from ..files import FileExists, safe_name, write_atomic

    known = {o.handle: o for o in session.client.objects()}
    missing = [output.hexv(h) for h in handles if h not in known]
    if missing:
        raise CliError(f"no object with handle {', '.join(missing)} (see 'ptpctl ls')", Exit.USAGE)
    out = Path(output_dir)
    plan = [(h, out / safe_name(known[h].filename, f"object-{h:08x}")) for h in handles]
    if not overwrite:
        taken = [str(p) for _, p in plan if p.exists()]
        if taken:
            raise CliError(f"{', '.join(taken)} exists; use --overwrite to replace", Exit.USAGE)
    show = sys.stderr.isatty() if progress is None else progress
    results = []
    for h, dest in plan:
        total = known[h].size or 0
        if show:
            with click.progressbar(length=max(total, 1), label=dest.name, file=sys.stderr, show_pos=True) as bar:
                seen = [0]

                def on_progress(done: int, tot: int, bar: Any = bar, seen: list[int] = seen) -> None:
                    if tot and bar.length != tot:
                        bar.length = tot
                    bar.update(max(0, done - seen[0]))
                    seen[0] = max(seen[0], done)

                d = session.client.download(h, progress=on_progress, timeout=max(session.timeout, 30.0))
                bar.update(max(0, (bar.length or 0) - seen[0]))
        else:
            d = session.client.download(h, timeout=max(session.timeout, 30.0))
        try:
            write_atomic(dest, d.data, overwrite=overwrite)
        except FileExists:
            raise CliError(f"{dest} appeared meanwhile; not replaced", Exit.ERROR) from None
        results.append({"handle": h, "filename": d.filename or known[h].filename, "size": len(d.data), "path": str(dest)})
    if _want_json(session, as_json):
        output.emit_json(results)
        return
    output.table([(output.hexv(r["handle"]), output.human_size(r["size"]), r["path"]) for r in results], ["Handle", "Size", "Saved to"])
