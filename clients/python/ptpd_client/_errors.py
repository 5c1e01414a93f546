"""Errors raised by the client.

::

    ClientError
    ├── DaemonUnavailable   no daemon listens on the command endpoint (or it went away)
    ├── RequestTimeout      the daemon did not answer (or no event/frame came) in time;
    │                       ``started`` says whether a command with side effects ran
    ├── ProtocolMismatch    the daemon answered with something that is not a bus reply
    └── CommandFailed       the daemon answered with an error: ``code`` (bus error code),
                            ``message``, and ``ptp_code`` when the camera said no

    KeyboardInterrupt
    └── RequestInterrupted  Ctrl-C while waiting for a reply: the daemon was told to stop
                            the request (``cancel``); what it had done is in ``result``
"""

from __future__ import annotations

from typing import Any

from ptpd.bus import ErrorCode


class ClientError(Exception):
    """Base class of every error this package raises."""


class DaemonUnavailable(ClientError):
    """Nothing answers on the command endpoint: the daemon is not running or not reachable."""

    def __init__(self, message: str, endpoint: str = "") -> None:
        super().__init__(message)
        self.endpoint = endpoint


class RequestTimeout(ClientError):
    """No reply (or no event / frame) arrived within the timeout.

    For a command with side effects the client then asks the daemon to stop it and learns
    how far it got: ``started`` is ``False`` when it never started (nothing was done),
    ``True`` when it was still running on the camera (what it did is unknown), ``None``
    when the daemon could not say.
    """

    def __init__(self, message: str, timeout: float | None = None, started: bool | None = None) -> None:
        super().__init__(message)
        self.timeout = timeout
        self.started = started


class ProtocolMismatch(ClientError):
    """The daemon sent something that is not a valid bus reply."""


class CommandFailed(ClientError):
    """The daemon answered with an error.

    ``code`` is the bus :class:`~ptpd.bus.ErrorCode` (an unknown string stays a string),
    ``message`` the daemon's text, ``ptp_code`` the camera's PTP response code when the
    camera refused, ``details`` the whole error map as the daemon sent it (a capture that
    could not deliver a shot names there the ``handles`` left on the camera and its
    ``shots``).
    """

    def __init__(
        self,
        code: ErrorCode | str,
        message: str,
        ptp_code: int | None = None,
        command: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        try:
            code = ErrorCode(code)
        except ValueError:
            pass
        self.code = code
        self.message = message
        self.ptp_code = ptp_code
        self.command = command
        self.details: dict[str, Any] = details if details is not None else {}
        text = message
        if ptp_code is not None:
            text = f"{message} (PTP response 0x{ptp_code:04X})"
        super().__init__(text)

    @property
    def holder(self) -> str | None:
        """Who holds the control lease, for a ``locked`` refusal."""
        holder = self.details.get("holder")
        return str(holder) if holder is not None else None

    @property
    def code_name(self) -> str:
        """The error code as its stable string."""
        return self.code.value if isinstance(self.code, ErrorCode) else str(self.code)


class RequestInterrupted(KeyboardInterrupt):
    """Ctrl-C (``KeyboardInterrupt``) while a call waited for its reply.

    The client told the daemon to stop the request (``cancel``) and waited for its answer:
    a queued request never started; a running capture stopped after the shot in progress,
    which was still downloaded. ``state`` is what the daemon said (``queued``, ``running``,
    ``done``, ``unknown``, or ``None`` without an answer); ``result`` the request's typed
    result when it ended with one (a capture's shots taken, ``stopped`` in its ``raw``),
    ``error`` the :class:`CommandFailed` when it ended with an error. A second Ctrl-C while
    waiting raises a plain ``KeyboardInterrupt`` at once.
    """

    def __init__(
        self,
        command: str,
        request_id: str,
        state: str | None,
        result: object = None,
        error: CommandFailed | None = None,
    ) -> None:
        super().__init__(f"{command} interrupted")
        self.command = command
        self.request_id = request_id
        self.state = state
        self.result = result
        self.error = error
