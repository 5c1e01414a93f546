"""Errors of the protocol layer.

The hierarchy::

    PTPError
    ├── ProtocolError            bytes that break the wire format (the peer sent garbage)
    │   ├── LocalProtocolError   we asked a state machine for something illegal
    │   ├── StreamCut            the stream stopped inside a packet or let a deadline pass
    │   └── LimitExceeded        a count or size past a budget ptpd sets (not a truncation)
    ├── DataOverrun              a data phase brought more than its transaction allowed
    ├── InitFailed(reason)       the responder refused the PTP/IP init handshake
    ├── ResponseError(code)      the camera answered a transaction with a non-OK code
    ├── CameraDisconnected       the link went away
    └── Timeout                  a wait ran out (also a builtin ``TimeoutError``)

Decoders raise only :class:`ProtocolError`; never ``IndexError`` or ``struct.error``.

A link error that cuts a transaction short carries in ``partial`` the part of the
transaction's data that had arrived (see :attr:`PTPError.partial`), so that a caller can
keep it: a dropped link then costs no byte already received.
"""

from __future__ import annotations

Bytes = bytes | bytearray | memoryview


class PTPError(Exception):
    """Base of every error the protocol layer raises."""

    #: Set on a link error (:class:`CameraDisconnected`, :class:`Timeout`,
    #: :class:`StreamCut`) that ended a call before its data was all in: the part that
    #: arrived, from its first byte (a transaction's data-in phase; for a camera's
    #: download, the object from the offset asked for). Empty otherwise, and always when
    #: the peer garbled the stream (bytes after garbage are not trusted).
    partial: Bytes = b""

    def carrying(self, partial: Bytes) -> PTPError:
        """This error with ``partial`` set to the data that arrived; for ``raise``."""
        self.partial = partial
        return self


class ProtocolError(PTPError):
    """Bytes received from the peer break the PTP or PTP/IP format."""


class LocalProtocolError(ProtocolError):
    """We tried to do something the protocol state does not allow."""


class StreamCut(ProtocolError):
    """The byte stream stopped short: the peer closed the connection inside a packet, or
    let a deadline pass on a channel that cannot cancel. The stream is over, but nothing
    in it was garbage: what arrived before the cut is whole."""


class LimitExceeded(ProtocolError):
    """Input past a budget ptpd sets on what it decodes (an array count, a data phase
    size) that real cameras never approach: refused before the work or the memory is
    spent. Unlike a truncation, a lenient decoder never reads it as "fewer fields"."""


class DataOverrun(PTPError):
    """A data phase brought (or announced) more bytes than its transaction allowed: the
    size the camera itself declared for the object, or the cap on a dataset. The
    initiator cancelled the transaction (PTP/IP Cancel) and dropped what came; the
    channel carries the next one."""

    def __init__(self, message: str, size: int, limit: int) -> None:
        self.size = size  #: bytes announced or received when it was stopped
        self.limit = limit  #: what the transaction allowed
        super().__init__(message)


class InitFailed(PTPError):
    """The responder answered the init handshake with Init Fail.

    ``reason`` is the u32 from the Init Fail packet (1 rejected, 2 busy, 3 unspecified).
    """

    def __init__(self, reason: int, message: str | None = None) -> None:
        self.reason = reason
        super().__init__(message or f"camera refused the connection (Init Fail reason {reason})")


class ResponseError(PTPError):
    """The camera ended a transaction with a response code other than OK.

    ``code`` is the PTP response code (``ResponseCode`` where known, else the int).
    """

    def __init__(self, code: int, message: str | None = None, params: tuple[int, ...] = ()) -> None:
        self.code = int(code)
        self.params = params
        if message is None:
            message = f"camera answered {_response_name(self.code)} (0x{self.code:04X})"
        super().__init__(message)


class CameraDisconnected(PTPError):
    """The connection to the camera is closed or was lost."""


class Timeout(PTPError, TimeoutError):
    """A wait for the camera ran out of time."""


def _response_name(code: int) -> str:
    # Imported lazily: codes imports nothing from here, but keep errors importable alone.
    try:
        from ptpd.protocol.codes import ResponseCode

        return ResponseCode(code).name
    except (ImportError, ValueError):
        return "response"
