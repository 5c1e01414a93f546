"""Semantic events of the Fuji connections (what ``next_event()`` returns, what ``send()`` takes).

Wire records live in :mod:`ptpd.fuji.packets`; these are what they *mean* to a
connection, the way h11 keeps ``_events`` apart from ``_readers``/``_writers``. All are
frozen dataclasses under the base both dialects share,
:class:`~ptpd.protocol.sansio.ConnectionEvent` (from which :data:`NEED_DATA` and
:class:`ConnectionClosed` come too); don't subclass them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ptpd.fuji.codes import FUJI_PROTOCOL_VERSION
from ptpd.protocol.sansio import NEED_DATA, ConnectionClosed, ConnectionEvent


@dataclass(frozen=True, slots=True)
class InitRequest(ConnectionEvent):
    """The initiator's InitCommandRequest (GUID, friendly name, protocol version)."""

    guid: bytes
    name: str
    version: int = FUJI_PROTOCOL_VERSION
    #: 82-byte form (Fuji's app, libgphoto2) rather than malc0mn's variable length
    fixed_size: bool = True


@dataclass(frozen=True, slots=True)
class InitAccepted(ConnectionEvent):
    """The camera's InitCommandAck."""

    connection_number: int
    guid: bytes
    name: str
    version: int = 0x00010000


@dataclass(frozen=True, slots=True)
class InitRejected(ConnectionEvent):
    """The camera's InitFail; ``reason`` is an :class:`~ptpd.fuji.codes.InitFailReason` value."""

    reason: int


@dataclass(frozen=True, slots=True)
class OperationRequest(ConnectionEvent):
    """An operation request. ``data_out`` says a data container will follow (sender side
    bookkeeping only: Fuji's wire form is the same either way)."""

    code: int
    transaction_id: int
    params: tuple[int, ...] = ()
    data_out: bool = False


@dataclass(frozen=True, slots=True)
class Data(ConnectionEvent):
    """The one data container of a transaction (data-in or data-out)."""

    code: int  #: the operation code of the transaction
    transaction_id: int
    payload: bytes = b""


@dataclass(frozen=True, slots=True)
class OperationResponse(ConnectionEvent):
    """The response that ends a transaction."""

    code: int
    transaction_id: int
    params: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class UnexpectedResponse(ConnectionEvent):
    """A response that arrived while no transaction was open. The stream around it is
    whole (the container framed correctly), so it is reported, not treated as garbage:
    an emulator modelled on real bodies answers a refused SetDevicePropValue before its
    data phase and then answers the data container on its own (fuji-bodies §2)."""

    code: int
    transaction_id: int
    params: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Event(ConnectionEvent):
    """A camera event, read in the X-T1's layout (see :class:`ptpd.fuji.packets.EventView`)."""

    code: int
    transaction_id: int
    params: tuple[int, ...] = ()


__all__ = [
    "NEED_DATA",
    "ConnectionClosed",
    "ConnectionEvent",
    "Data",
    "Event",
    "InitAccepted",
    "InitRejected",
    "InitRequest",
    "OperationRequest",
    "OperationResponse",
    "UnexpectedResponse",
]
