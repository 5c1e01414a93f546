"""Errors from the camera layer (and the daemon's own) as stable bus error codes."""

from __future__ import annotations

import asyncio

from ptpd.bus import BusError, ErrorCode
from ptpd.camera import (
    CameraDisconnected,
    CaptureTimeout,
    DataOverrun,
    DatasetError,
    IncompleteTransfer,
    InitFailed,
    NotAFile,
    ProtocolError,
    ResponseCode,
    ResponseError,
    Timeout,
    TransferInterrupted,
    Unsupported,
)


def to_bus_error(exc: BaseException) -> BusError:
    """Map an exception from the camera layer to a stable bus error."""
    if isinstance(exc, BusError):
        return exc
    if isinstance(exc, NotAFile):
        return BusError(ErrorCode.INVALID_VALUE, str(exc))
    if isinstance(exc, ResponseError):
        if exc.code == ResponseCode.DeviceBusy:
            return BusError(ErrorCode.CAMERA_BUSY, str(exc), exc.code)
        return BusError(ErrorCode.CAMERA_REFUSED, str(exc), exc.code)
    if isinstance(exc, CaptureTimeout):  # the camera answered; the shot never came: the link stays
        return BusError(ErrorCode.TIMEOUT, f"capture: {exc}; the session goes on")
    if isinstance(exc, (Timeout, asyncio.TimeoutError)):
        return BusError(ErrorCode.TIMEOUT, str(exc) or "the camera did not answer in time")
    if isinstance(exc, (CameraDisconnected, ConnectionError, EOFError, InitFailed)):
        return BusError(ErrorCode.NOT_CONNECTED, f"camera link lost: {exc}" if str(exc) else "camera link lost")
    if isinstance(exc, DatasetError):
        # the bytes arrived whole; the camera's dataset is one we cannot read: this
        # command cannot be done on this camera, and the session goes on
        return BusError(ErrorCode.UNSUPPORTED, str(exc))
    if isinstance(exc, ProtocolError):
        return BusError(ErrorCode.NOT_CONNECTED, f"camera sent malformed data; link reset: {exc}")
    if isinstance(exc, TransferInterrupted):
        return to_bus_error(exc.cause)
    if isinstance(exc, IncompleteTransfer):
        return BusError(ErrorCode.CAMERA_REFUSED, f"incomplete transfer: {exc}")
    if isinstance(exc, DataOverrun):
        return BusError(ErrorCode.CAMERA_REFUSED, str(exc))
    if isinstance(exc, Unsupported):
        return BusError(ErrorCode.UNSUPPORTED, str(exc) or "not supported by this camera")
    if isinstance(exc, (ValueError, KeyError)):
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        return BusError(ErrorCode.INVALID_VALUE, str(msg))
    return BusError(ErrorCode.INTERNAL, f"{type(exc).__name__}: {exc}")
