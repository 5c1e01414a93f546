"""ptpctl: capture (aliases shoot, shutter, snap)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from ptpd_console.errors import CliError, Exit, Interrupted
from ptpd_console.files import FileExists, Incomplete, numbered, write_atomic
from ptpd_console.shots import SOURCE_PREVIEW, CaptureInterrupted, capture_shots, checks, save_shot
from ptpd_console.targets import TargetError, has_display

from .. import output
from ..params import json_option, pass_session, want_json
from ..progress import ShotProgress
from ..session import Session


@click.command(short_help="Release the shutter (aliases: shoot, shutter, snap).")
@click.argument("args", nargs=-1, metavar="[COUNT] [PATH]")
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False),
    help="Download each image into DIR under the camera's file name (a relative PATH goes into DIR).",
)
@click.option("--view", is_flag=True, help="Show each capture preview in a window.")
@click.option("--overwrite", is_flag=True, help="Replace existing files.")
@click.option("--delete", "delete_after", is_flag=True, help="Delete each image from the camera after downloading it.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="A line per shot on stderr [default: on a terminal, for more than one shot, without --json].",
)
@json_option
@pass_session
def capture(
    session: Session,
    args: tuple[str, ...],
    output_dir: str | None,
    view: bool,
    overwrite: bool,
    delete_after: bool,
    progress: bool | None,
    as_json: bool,
) -> None:
    """Capture COUNT images (default 1). With PATH, download them to PATH, numbered
    name-1.jpg, name-2.jpg, ... when COUNT > 1; with -o DIR, under the camera's names.
    A PATH that ends in / or is a directory means that directory; with -o DIR a
    relative PATH is taken inside DIR. Existing files are never replaced without
    --overwrite. Aliases: shoot, shutter, snap.

    Before the shutter is released the target is checked: its directory exists or can
    be made, can be written, and has room for an image; --view needs a display.

    PATH "view" is the ptp-ip tool's way of saying --view.

    Ctrl-C stops the capture after the shot in progress; every shot taken is saved, then
    ptpctl exits 130.
    """
    count, path = _count_and_path(args)
    if path == "view":
        view, path = True, None
    path, output_dir = _target(path, output_dir)
    targets: list[Path] | None = None
    if path is not None:
        targets = numbered(Path(path), count)
        if not overwrite:
            taken = [str(t) for t in targets if t.exists()]
            if taken:
                verb = "exists" if len(taken) == 1 else "exist"
                raise CliError(f"{', '.join(taken)} {verb}; use --overwrite to replace", Exit.USAGE)
    if view and not has_display():
        raise CliError("no display to show the preview on (DISPLAY is not set); nothing was captured", Exit.ERROR)
    want_data = targets is not None or output_dir is not None
    save_into = sorted({t.parent for t in targets}) if targets is not None else [Path(output_dir)] if output_dir else []
    show = (count > 1 and not want_json(session, as_json) and sys.stderr.isatty()) if progress is None else progress
    interrupted: CaptureInterrupted | None = None
    fetched: list[tuple[Any, str | None]]  # a Captured, or the shots taken before Ctrl-C
    with ShotProgress(count) if show else contextlib.nullcontext() as shown:
        try:
            fetched = capture_shots(
                session.client,
                count,
                want_data=want_data,
                preview=view,
                delete_after=delete_after,
                save_into=save_into,
                on_event=shown.on_event if shown is not None else None,
            )
        except TargetError as exc:
            raise CliError(f"{exc}; nothing was captured", Exit.USAGE) from None
        except CaptureInterrupted as exc:  # the daemon stopped after the shot in progress: save what was taken
            fetched, interrupted = exc.shots, exc
        if shown is not None:
            shown.finish([s for s, _ in fetched])
    saved: list[str | None] = []
    for i, (shot, src) in enumerate(fetched):
        dest: Path | None = None
        if shot.data is not None:
            try:
                if targets is not None:
                    dest = targets[i] if i < len(targets) else numbered(Path(path or "capture"), i + 1)[-1]
                    try:
                        write_atomic(dest, shot.data, overwrite=overwrite, **checks(shot, src))
                    except FileExists:
                        raise CliError(f"{dest} appeared meanwhile; not replaced", Exit.ERROR) from None
                elif output_dir is not None:
                    dest = save_shot(shot, src, Path(output_dir), f"capture-{i + 1}.jpg", overwrite=overwrite)
            except Incomplete as exc:
                raise _incomplete(shot, exc, delete_after) from None
            except OSError as exc:  # checked before the shot; the disk changed since
                raise _unsaved(shot, dest, exc, delete_after) from None
        saved.append(str(dest) if dest else None)
        if view and shot.preview and interrupted is None:
            _show_preview(shot.preview, f"Capture preview {i + 1}/{count}")
    if interrupted is not None:
        raise Interrupted(_interrupted(interrupted, count, saved))
    stopped = _stopped(session, fetched, count)
    if want_json(session, as_json):
        output.emit_json({"shots": [s.to_dict() | {"saved": p, "source": src} for (s, src), p in zip(fetched, saved)]})
        if stopped is not None:
            raise stopped
        return
    rows = []
    for i, ((s, src), p) in enumerate(zip(fetched, saved), 1):
        size = output.human_size(len(s.data)) if s.data is not None else output.human_size(s.size) if s.size else ""
        rows.append(
            (
                i,
                output.hexv(s.handle) if s.handle is not None else "-",
                s.filename or "-",
                size,
                (p or "") + (" (preview)" if p and src == SOURCE_PREVIEW else ""),
            )
        )
    output.table(rows, ["#", "Handle", "File", "Size", "Saved to"])
    if stopped is not None:
        raise stopped
    if not want_data:
        click.echo(f"{'Image' if count == 1 else f'{count} images'} captured; they are on the camera (ptpctl ls).")


def _interrupted(exc: CaptureInterrupted, count: int, saved: list[str | None]) -> str:
    """The one line of a capture stopped by Ctrl-C: what was taken and where it is."""
    req = exc.interrupted
    if req.error is not None:
        return f"interrupted; the capture failed: {req.error}"
    taken = len(exc.shots)
    if req.state is None and not taken:
        return "interrupted; the daemon did not say whether the capture had started"
    if not taken:
        return "interrupted; no shot was taken"
    return f"interrupted after {taken} of {count} shot(s), {_saved_where(saved)}"


#: most file names an interrupted capture's line spells out; a longer run names its
#: first and last files and says how many (the directory holds them all)
_NAMED = 5


def _saved_where(saved: Sequence[str | None]) -> str:
    """Where the shots taken are, in one form whatever their number: ``saved in DIR:
    a.jpg, b.jpg`` (the directory the user chose, then each file), and the shots not
    saved as left on the camera."""
    files = [p for p in saved if p]
    if not files:
        return "on the camera (ptpctl ls)"
    dirs = {os.path.dirname(p) or "." for p in files}
    names = [os.path.basename(p) for p in files] if len(dirs) == 1 else files
    listed = (
        ", ".join(names) if len(names) <= _NAMED else f"{', '.join(names[:2])}, ... {names[-1]} ({len(names)} files)"
    )
    where = f"saved in {dirs.pop()}: {listed}" if len(dirs) == 1 else f"saved as {listed}"
    left = len(saved) - len(files)
    return where + (f"; {left} on the camera (ptpctl ls)" if left else "")


def _stopped(session: Session, fetched: Any, count: int) -> CliError | None:
    """The error for a capture the daemon ended early (it is stopping, or the timeout
    would have passed during the next shot); the shots taken are saved and listed first."""
    why = getattr(fetched, "stopped", None)
    if why == "stopping":
        return CliError(
            f"capture stopped after {len(fetched)} of {count} shot(s): the daemon is stopping", Exit.UNREACHABLE
        )
    if why == "expired":
        return CliError(
            f"capture stopped after {len(fetched)} of {count} shot(s): the next one would have ended "
            f"after the timeout ({session.timeout:g} s and 2 s a shot); give more --timeout",
            Exit.UNREACHABLE,
        )
    return None


def _target(path: str | None, output_dir: str | None) -> tuple[str | None, str | None]:
    """(file PATH, directory) from the words given: ``capture x.jpg -o DIR`` is DIR/x.jpg
    (as curl's ``--output-dir``); a PATH ending in / or naming a directory is a directory."""
    if path is not None and output_dir is not None:
        if os.path.isabs(path):
            raise click.UsageError(f"PATH {path!r} is absolute and -o names a directory: give one of them")
        path = os.path.join(output_dir, path)
        output_dir = None
    if path is not None and (path.endswith(("/", os.sep)) or Path(path).is_dir()):
        return None, path
    return path, output_dir


def _incomplete(shot: Any, exc: Incomplete, deleted: bool) -> CliError:
    handle = output.hexv(shot.handle) if shot.handle is not None else "unknown"
    where = "" if deleted else "; the image stays on the camera"
    return CliError(f"capture: handle {handle}: download incomplete ({exc}); {exc.path} not written{where}", Exit.ERROR)


def _unsaved(shot: Any, dest: Path | None, exc: OSError, deleted: bool) -> CliError:
    handle = output.hexv(shot.handle) if shot.handle is not None else "unknown"
    where = (
        "; the camera's copy was deleted (--delete)"
        if deleted
        else f"; the image stays on the camera as {shot.filename or 'handle ' + handle}"
    )
    return CliError(
        f"capture: handle {handle}: cannot write {dest or 'the image'}: {exc.strerror or exc}{where}", Exit.ERROR
    )


def _count_and_path(args: tuple[str, ...]) -> tuple[int, str | None]:
    """``[COUNT] [PATH]``: both optional, so a first word that is not a number is PATH."""
    words = list(args)
    count = 1
    if words and words[0].isdigit():
        count = int(words.pop(0))
        if not 1 <= count <= 999:
            raise click.BadParameter(f"{count} is not in 1-999", param_hint="COUNT")
    if len(words) > 1:
        raise click.UsageError(f"unexpected extra argument {words[1]!r}; usage: capture [COUNT] [PATH]")
    return count, (words[0] if words else None)


def _show_preview(jpeg: bytes, title: str) -> None:
    try:
        import cv2
        import numpy as np
    except ImportError as exc:  # OpenCV comes with the [viewer] extra
        from ptpd.extras import extra_for

        raise CliError(
            f"cannot show the preview: {extra_for(exc, 'ptpctl capture --preview') or exc}", Exit.CLIENT
        ) from None
    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise CliError("the preview is not a decodable JPEG")
    if not has_display():
        raise CliError("no display to show the preview on (DISPLAY is not set)", Exit.ERROR)
    cv2.imshow(title, img)
    click.echo(f"{title}: press any key in the window to continue", err=True)
    cv2.waitKey(0)
    cv2.destroyWindow(title)
