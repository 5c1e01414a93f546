"""Check, then fire: what must hold before a console client asks the camera to shoot.

A shot the client cannot save is left on the camera with nobody told its name, so every
capture that saves (``ptpctl capture PATH`` and ``-o DIR``, ``ptptrigger -o DIR``) checks
its directory first, and ``capture view`` its display. The checks do what saving would
do, rather than ask permission bits (root passes every ``access()`` test, and ``/proc``
says it is writable): the directory is made, a file is created in it and removed.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["TYPICAL_IMAGE_BYTES", "TargetError", "check_directory", "has_display"]

#: the room one image needs: a 26 MP camera's fine JPEG is 10-20 MB, its RAW 30-55 MB
TYPICAL_IMAGE_BYTES = 32 * 1024 * 1024


class TargetError(Exception):
    """An image could not be saved there; the message says where and why, in one line."""


def check_directory(directory: Path, *, need: int = TYPICAL_IMAGE_BYTES) -> None:
    """Raise :class:`TargetError` unless images can be saved into ``directory``: it exists
    or can be made (it is made), a file can be created in it, and ``need`` bytes are free."""
    import tempfile  # here: only a capture that saves gets this far

    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise TargetError(f"{directory} is not a directory") from None
    except NotADirectoryError:
        raise TargetError(f"cannot make the directory {directory}: part of its path is a file") from None
    except OSError as exc:
        raise TargetError(f"cannot make the directory {directory}: {exc.strerror or exc}") from None
    try:
        fd, probe = tempfile.mkstemp(dir=directory, prefix=".ptpd-probe-")
    except OSError as exc:
        raise TargetError(f"cannot write into {directory}: {exc.strerror or exc}") from None
    os.close(fd)
    os.unlink(probe)
    st = os.statvfs(directory)
    free = st.f_bavail * st.f_frsize
    if free < need:
        raise TargetError(
            f"{directory}: {free // (1024 * 1024)} MB free; an image needs about {need // (1024 * 1024)} MB"
        )


def has_display() -> bool:
    """True when there is a display to open a window on (X11 or Wayland)."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
