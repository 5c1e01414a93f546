"""Capturing shots with their images, and saving them under the camera's file names:
``ptpctl capture`` and ``ptptrigger`` do both the same way."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ptpd_client import RequestInterrupted

from .files import free_name, is_jpeg_name, safe_name, write_atomic
from .targets import check_directory

#: the daemon's ``source`` of a shot's bytes: the image itself (docs/bus.md, capture)
SOURCE_CAMERA = "camera"
#: ... or, when the camera named no object, its preview
SOURCE_PREVIEW = "preview"


def capture_shots(
    client: Any,
    count: int,
    *,
    want_data: bool,
    preview: bool = False,
    delete_after: bool = False,
    save_into: Iterable[Path] = (),
    on_event: Callable[[Any], None] | None = None,
) -> Captured:
    """Capture ``count`` shots; with ``want_data`` each carries its image bytes.

    Check, then fire: every directory in ``save_into`` (where the caller will save the
    shots) is checked with :func:`~.targets.check_directory` before the camera is asked
    to shoot, so a shot is never taken that cannot be saved (:class:`~.targets.TargetError`).

    The daemon downloads each shot by the handle the camera layer reports (and deletes
    it afterwards with ``delete_after``). A camera that names no new object (a Fuji body
    that lists no objects in remote mode) leaves only its preview: that is used then.
    ``on_event`` follows the capture as the daemon reports it (see ``Client.capture``).
    Returns ``(shot, source)`` pairs, source "camera" (the image), "preview" or None,
    the daemon's words (docs/bus.md); ``.stopped`` says why the daemon ended the capture
    before ``count`` shots (``"stopping"``, ``"expired"``), ``None`` when it did not.

    Ctrl-C stops the capture on the daemon after the shot in progress, which is still
    downloaded: :class:`CaptureInterrupted` then carries the shots taken, to be saved.
    """
    for directory in save_into:
        check_directory(directory)
    kw: dict[str, Any] = {"on_event": on_event} if on_event is not None else {}
    try:
        result = client.capture(
            count,
            download=want_data,
            preview=preview or want_data,
            keep=(not delete_after) if want_data else None,
            **kw,
        )
    except RequestInterrupted as exc:
        taken = _shots_of(exc.result, want_data) if exc.result is not None else []
        raise CaptureInterrupted(taken, exc) from None
    return _shots_of(result, want_data)


class CaptureInterrupted(KeyboardInterrupt):
    """Ctrl-C during a capture: ``shots`` are the ``(shot, source)`` pairs taken before the
    daemon stopped it (the one in progress included), ``interrupted`` the client's
    :class:`~ptpd_client.RequestInterrupted` (its ``error`` when the capture failed)."""

    def __init__(self, shots: list[tuple[Any, str | None]], interrupted: RequestInterrupted) -> None:
        super().__init__("capture interrupted")
        self.shots = shots
        self.interrupted = interrupted


class Captured(list[tuple[Any, str | None]]):
    """The ``(shot, source)`` pairs of a capture, and why it ended early (``stopped``)."""

    stopped: str | None = None


def _shots_of(result: Any, want_data: bool) -> Captured:
    """``(shot, source)`` pairs of a capture's result."""
    out = Captured()
    raw = getattr(result, "raw", None)
    out.stopped = raw.get("stopped") if isinstance(raw, dict) else None
    for i, s in enumerate(result.shots):
        source: str | None = None
        if s.data is not None:
            given = s.raw.get("source") if isinstance(getattr(s, "raw", None), dict) else None
            source = given if given in (SOURCE_CAMERA, SOURCE_PREVIEW) else SOURCE_CAMERA
        if want_data and s.data is None and s.preview:
            s = replace(s, data=s.preview, filename=s.filename or f"preview-{i + 1}.jpg")
            source = SOURCE_PREVIEW
        out.append((s, source))
    return out


def checks(shot: Any, source: str | None) -> dict[str, Any]:
    """What :func:`~.files.write_atomic` verifies for a shot: the size the daemon reported
    is the image's (a preview stand-in is checked only as a JPEG), and a ``.jpg`` name
    means a JPEG, end marker and all."""
    return {
        "expected_size": (shot.size or None) if source == SOURCE_CAMERA else None,
        "jpeg": True if is_jpeg_name(shot.filename or "") else None,
    }


def save_shot(shot: Any, source: str | None, directory: Path, fallback: str, *, overwrite: bool = False) -> Path:
    """Write a captured shot's bytes into ``directory`` under the camera's file name
    (``fallback`` when it gives none); an existing file is replaced only with
    ``overwrite``, else the shot goes to ``name-1.jpg``, ``name-2.jpg``... Raises
    :class:`~.files.Incomplete` (nothing written) when the bytes are not the whole image."""
    name = safe_name(shot.filename or "", fallback)
    dest = directory / name if overwrite else free_name(directory, name)
    return write_atomic(dest, shot.data, overwrite=overwrite, **checks(shot, source))
