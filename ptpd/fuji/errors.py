"""Fuji-specific errors, each a subclass of the protocol layer's types.

::

    InitFailed (ptpd.protocol.errors)
    ├── NameNotAccepted     InitFail 0x2019: friendly name not the paired one / camera timed out
    ├── WrongVersion        InitFail 0x201D: protocol version refused
    ├── CameraBusy          InitFail 2: too many connections
    └── PairingRefused      the user declined (or never confirmed) this client on the camera
"""

from __future__ import annotations

from ptpd.fuji.codes import FUJI_PROTOCOL_VERSION, InitFailReason
from ptpd.protocol.errors import InitFailed


class NameNotAccepted(InitFailed):
    """The camera did not accept our friendly name (InitFail 0x2019)."""


class WrongVersion(InitFailed):
    """The camera refused our protocol version (InitFail 0x201D)."""


class CameraBusy(InitFailed):
    """The camera has no room for another connection (InitFail 2)."""


class PairingRefused(InitFailed):
    """The camera's user declined this client, or the pairing prompt went unanswered."""


def init_failed(reason: int, name: str = "", version: int = FUJI_PROTOCOL_VERSION) -> InitFailed:
    """The clear error for an InitFail ``reason`` (what to do is in the message)."""
    if reason == InitFailReason.NameNotAccepted:
        return NameNotAccepted(
            reason,
            f"camera did not accept the client name {name!r} (InitFail 0x2019): it is paired with "
            "another name or its connection prompt timed out; choose 'change' (accept a new client) "
            "or 'retry' on the camera, then connect again",
        )
    if reason == InitFailReason.WrongVersion:
        return WrongVersion(reason, f"camera refused protocol version 0x{version:08X} (InitFail 0x201D: wrong version)")
    if reason == InitFailReason.Busy:
        return CameraBusy(reason, "camera is busy: another client holds the connection (InitFail 2)")
    if reason == InitFailReason.Rejected:
        return InitFailed(reason, "camera rejected this client (InitFail 1)")
    return InitFailed(reason, f"camera refused the connection (InitFail 0x{reason:X})")


__all__ = ["CameraBusy", "NameNotAccepted", "PairingRefused", "WrongVersion", "init_failed"]
