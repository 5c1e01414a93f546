"""The errors a :class:`~ptpd.camera.base.Camera` raises, in one place for its callers.

The daemon maps these to bus error codes and never looks below the camera layer, so
every error a camera can raise is importable from :mod:`ptpd.camera`::

    PTPError
    ├── ProtocolError             the camera sent bytes that break the format (link reset)
    │   └── LimitExceeded         a count past a budget (a DeviceInfo of a million codes)
    ├── DatasetError              a dataset the camera sent cannot be read, though the
    │                             byte stream around it was whole (an error on the command)
    ├── DataOverrun               a data phase past what was asked for (the object's declared
    │                             size, a dataset's budget): cancelled, the link carries on
    ├── InitFailed(reason)        the camera refused the connection (Fuji: pairing refused, ...)
    ├── ResponseError(code)       the camera answered a transaction with a non-OK code
    ├── CameraDisconnected        the link went away
    ├── Timeout                   a wait ran out (also a builtin ``TimeoutError``)
    ├── CaptureTimeout            the camera answered the release but named no new picture
    │                             in time (an error on the capture; the session goes on)
    ├── Unsupported               this camera (or its current mode) cannot do what was asked
    ├── TransferInterrupted       the link dropped during a transfer; ``transfer`` holds
    │                             what arrived, ``cause`` the link error
    ├── IncompleteTransfer        what arrived is not the whole object
    └── NotAFile                  the handle names a folder: there are no bytes to read
                                  (also a ``ValueError``: the request named the wrong thing)

:data:`LINK_ERRORS` are the errors after which the session's state is unknown: whoever
holds the camera drops the link and connects again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ptpd.protocol.codes import InitFailReason
from ptpd.protocol.errors import (
    CameraDisconnected,
    DataOverrun,
    InitFailed,
    LimitExceeded,
    ProtocolError,
    PTPError,
    ResponseError,
    Timeout,
)

if TYPE_CHECKING:
    from ptpd.camera.transfer import Transfer

T = TypeVar("T")


class Unsupported(PTPError):
    """This camera (or its current mode) cannot do what was asked."""


class DatasetError(PTPError):
    """A dataset the camera sent (an ObjectInfo, a property description, a list of
    handles) cannot be read, though the byte stream around it was whole: the command that
    asked for it fails, and the session goes on. Not a :class:`ProtocolError`, so not one
    of :data:`LINK_ERRORS`: only a broken byte stream resets a camera link."""


def read_dataset(what: str, decode: Callable[[Any], T], data: Any) -> T:
    """``decode(data)`` for a data phase that arrived whole; what cannot be read is a
    :class:`DatasetError` naming ``what`` rather than a :class:`ProtocolError`."""
    try:
        return decode(data)
    except ProtocolError as exc:
        raise DatasetError(f"camera's {what} cannot be read: {exc}") from exc


class CaptureTimeout(PTPError):
    """The camera took the release and answered every transaction since, but named no new
    picture within the capture's wait (no card, a focus that never locked, a body that
    reports its objects some other way). The shot failed; the byte stream did not, so this
    is no :class:`Timeout` and not one of :data:`LINK_ERRORS`: the session goes on."""


class TransferInterrupted(PTPError):
    """The link dropped during a transfer; ``transfer`` holds what arrived, and a new
    camera object continues it after the reconnect (:meth:`Camera.resume`)."""

    def __init__(self, transfer: Transfer, cause: BaseException) -> None:
        self.transfer = transfer
        self.cause = cause
        super().__init__(
            f"transfer of handle 0x{transfer.handle:08X} interrupted after {transfer.received} bytes: {cause}"
        )


class IncompleteTransfer(PTPError):
    """What arrived is not the whole object (size or end marker wrong), or it cannot be
    continued from where it stopped."""


class NotAFile(PTPError, ValueError):
    """The handle names a folder (an association), which has no bytes to download."""


def refused_as_busy(exc: BaseException) -> bool:
    """The camera refused the connection because another initiator holds it (the PTP/IP
    Init Fail reason "busy", which Fuji bodies use too)."""
    return isinstance(exc, InitFailed) and exc.reason == InitFailReason.Busy


#: errors after which the session state is unknown: drop the link and reconnect
LINK_ERRORS: tuple[type[BaseException], ...] = (
    CameraDisconnected,
    ProtocolError,
    Timeout,
    asyncio.TimeoutError,
    ConnectionError,
    EOFError,
)

__all__ = [
    "LINK_ERRORS",
    "CameraDisconnected",
    "CaptureTimeout",
    "DataOverrun",
    "DatasetError",
    "IncompleteTransfer",
    "InitFailed",
    "LimitExceeded",
    "NotAFile",
    "PTPError",
    "ProtocolError",
    "ResponseError",
    "Timeout",
    "TransferInterrupted",
    "Unsupported",
    "read_dataset",
    "refused_as_busy",
]
