"""Waiting for live-view frames without waiting in vain: a camera the daemon found to
have no live view fails at once, a camera that is gone fails with its state named."""

from __future__ import annotations

import time
from typing import Any

from ptpd_client import RequestTimeout

from .errors import CliError, Exit

__all__ = ["NoFrame", "check_liveview", "next_frame"]

#: how often the daemon's status is asked while no frame comes
POLL_S = 0.5


class NoFrame(CliError):
    """No frame came in time (exit 105): the camera is gone, or streams nothing."""

    def __init__(self, message: str) -> None:
        super().__init__(message, Exit.UNREACHABLE)


def check_liveview(status: Any) -> None:
    """Refuse (exit 106) when the daemon's ``status`` says the camera has no live view."""
    if status.liveview.unsupported:
        raise CliError(f"the camera has no live view ({status.liveview.unsupported})", Exit.REFUSED)


def next_frame(client: Any, frames: Any, timeout: float, *, poll: float = POLL_S, waited: float | None = None) -> Any:
    """The next frame of ``frames`` (a ``client.frames()`` stream) within ``timeout``.

    While none comes the daemon's ``status`` is asked every ``poll`` seconds: a camera
    it found to have no live view (``liveview.unsupported``) is a :class:`CliError` with
    exit 106 at once; at the timeout, :class:`NoFrame` (exit 105) says what the
    connection is doing, naming ``waited`` (the caller's whole wait, when this call is
    only its last part) or else ``timeout``.
    """
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        try:
            return frames.get(max(0.01, min(poll, left)))
        except RequestTimeout:
            pass
        status = client.status()
        check_liveview(status)
        if time.monotonic() >= deadline:
            why = "" if status.connection == "connected" else f": the camera is {status.connection}"
            detail = status.raw.get("detail") if status.connection != "connected" else None
            raise NoFrame(
                f"no live-view frame within {waited if waited is not None else timeout:.3g} s{why}"
                + (f" ({detail})" if detail else "")
            )
