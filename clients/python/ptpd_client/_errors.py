"""Errors raised by the client.

::

    ClientError
    ├── DaemonUnavailable   no daemon listens on the command endpoint (or it went away)
    ├── RequestTimeout      the daemon did not answer (or no event/frame came) in time
    ├── ProtocolMismatch    the daemon answered with something that is not a bus reply
    └── CommandFailed       the daemon answered with an error: ``code`` (bus error code),
                            ``message``, and ``ptp_code`` when the camera said no
"""

from __future__ import annotations

from ptpd.bus import ErrorCode


class ClientError(Exception):
    """Base class of every error this package raises."""


class DaemonUnavailable(ClientError):
    """Nothing answers on the command endpoint: the daemon is not running or not reachable."""

    def __init__(self, message: str, endpoint: str = "") -> None:
        super().__init__(message)
        self.endpoint = endpoint


class RequestTimeout(ClientError):
    """No reply (or no event / frame) arrived within the timeout."""

    def __init__(self, message: str, timeout: float | None = None) -> None:
        super().__init__(message)
        self.timeout = timeout


class ProtocolMismatch(ClientError):
    """The daemon sent something that is not a valid bus reply."""


class CommandFailed(ClientError):
    """The daemon answered with an error.

    ``code`` is the bus :class:`~ptpd.bus.ErrorCode` (an unknown string stays a string),
    ``message`` the daemon's text, ``ptp_code`` the camera's PTP response code when the
    camera refused.
    """

    def __init__(self, code: ErrorCode | str, message: str, ptp_code: int | None = None, command: str = "") -> None:
        try:
            code = ErrorCode(code)
        except ValueError:
            pass
        self.code = code
        self.message = message
        self.ptp_code = ptp_code
        self.command = command
        text = message
        if ptp_code is not None:
            text = f"{message} (PTP response 0x{ptp_code:04X})"
        super().__init__(text)

    @property
    def code_name(self) -> str:
        """The error code as its stable string."""
        return self.code.value if isinstance(self.code, ErrorCode) else str(self.code)
