"""Semantic events of the Fuji connections (what ``next_event()`` returns, what ``send()`` takes).

Wire records live in :mod:`ptpd.fuji.packets`; these are what they *mean* to a
connection, the way h11 keeps ``_events`` apart from ``_readers``/``_writers``. All are
frozen dataclasses; don't subclass them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ptpd.fuji.codes import FUJI_PROTOCOL_VERSION


class _Sentinel(type):
    def __repr__(cls) -> str:
        return cls.__name__


class NEED_DATA(metaclass=_Sentinel):  # noqa: N801 - a sentinel, spelled like h11's
    """Returned by ``next_event()`` when more bytes must be received first."""


class FujiEvent:
    """Base of every Fuji connection event."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class InitRequest(FujiEvent):
    """The initiator's InitCommandRequest (GUID, friendly name, protocol version)."""

    guid: bytes
    name: str
    version: int = FUJI_PROTOCOL_VERSION
    #: 82-byte form (Fuji's app, libgphoto2) rather than malc0mn's variable length
    fixed_size: bool = True


@dataclass(frozen=True, slots=True)
class InitAccepted(FujiEvent):
    """The camera's InitCommandAck."""

    connection_number: int
    guid: bytes
    name: str
    version: int = 0x00010000


@dataclass(frozen=True, slots=True)
class InitRejected(FujiEvent):
    """The camera's InitFail; ``reason`` is an :class:`~ptpd.fuji.codes.InitFailReason` value."""

    reason: int


@dataclass(frozen=True, slots=True)
class OperationRequest(FujiEvent):
    """An operation request. ``data_out`` says a data container will follow (sender side
    bookkeeping only: Fuji's wire form is the same either way)."""

    code: int
    transaction_id: int
    params: tuple[int, ...] = ()
    data_out: bool = False


@dataclass(frozen=True, slots=True)
class Data(FujiEvent):
    """The one data container of a transaction (data-in or data-out)."""

    code: int  #: the operation code of the transaction
    transaction_id: int
    payload: bytes = b""


@dataclass(frozen=True, slots=True)
class OperationResponse(FujiEvent):
    """The response that ends a transaction."""

    code: int
    transaction_id: int
    params: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Event(FujiEvent):
    """A camera event, read in the X-T1's layout (see :class:`ptpd.fuji.packets.EventView`)."""

    code: int
    transaction_id: int
    params: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ConnectionClosed(FujiEvent):
    """The peer closed the stream (EOF, or hkr's u32 0xFFFFFFFF goodbye)."""


__all__ = [
    "NEED_DATA",
    "ConnectionClosed",
    "Data",
    "Event",
    "FujiEvent",
    "InitAccepted",
    "InitRejected",
    "InitRequest",
    "OperationRequest",
    "OperationResponse",
]
