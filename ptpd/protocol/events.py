"""Semantic events of a PTP/IP channel, as :mod:`ptpd.protocol.connection` speaks them.

Packets (:mod:`ptpd.protocol.packets`) are wire records; these are what a conversation
means. The two differ where PTP/IP splits one idea over several packets: a data phase is
Start Data + Data* + End Data on the wire, but one :class:`DataIn` (responder →
initiator) or :class:`DataOut` (initiator → responder) event here, reassembled and checked
against the announced total length.

Both roles use the same event types: what one side ``send()`` s, the other side gets from
``next_event()``. All events are frozen, slotted dataclasses under :class:`ConnectionEvent`,
the base both dialects share (:mod:`ptpd.protocol.sansio`, with :data:`NEED_DATA` and
:class:`ConnectionClosed`). Don't subclass them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ptpd.protocol.packets import NO_TRANSACTION, PROTOCOL_VERSION, DataPhase
from ptpd.protocol.sansio import NEED_DATA, Bytes, ConnectionClosed, ConnectionEvent


@dataclass(frozen=True, slots=True)
class InitCommandRequest(ConnectionEvent):
    """The initiator asks to open a session on the command connection."""

    guid: bytes  #: initiator GUID, 16 bytes
    name: str  #: initiator friendly name
    version: int = PROTOCOL_VERSION


@dataclass(frozen=True, slots=True)
class InitCommandAck(ConnectionEvent):
    """The responder accepts; ``connection_number`` binds the event connection."""

    connection_number: int
    guid: bytes  #: responder GUID, 16 bytes
    name: str  #: responder friendly name
    version: int = PROTOCOL_VERSION


@dataclass(frozen=True, slots=True)
class InitEventRequest(ConnectionEvent):
    """The initiator binds this (event) connection to session ``connection_number``."""

    connection_number: int


@dataclass(frozen=True, slots=True)
class InitEventAck(ConnectionEvent):
    """The responder accepted the event connection."""


@dataclass(frozen=True, slots=True)
class InitFail(ConnectionEvent):
    """The responder refuses the connection (``InitFailReason``); the channel is closed after."""

    reason: int


@dataclass(frozen=True, slots=True)
class OperationRequest(ConnectionEvent):
    """One PTP operation. ``data_phase`` = ``DataPhase.OUT`` when a :class:`DataOut` follows."""

    code: int
    transaction_id: int
    params: tuple[int, ...] = ()
    data_phase: int = DataPhase.NoDataOrIn

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple(self.params))


@dataclass(frozen=True, slots=True)
class DataIn(ConnectionEvent):
    """A whole responder → initiator data phase (Start Data + Data* + End Data)."""

    transaction_id: int
    payload: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class DataOut(ConnectionEvent):
    """A whole initiator → responder data phase (Start Data + Data* + End Data)."""

    transaction_id: int
    payload: Bytes = field(repr=False)  # the caller's buffer, not copied


@dataclass(frozen=True, slots=True)
class DataTooLarge(ConnectionEvent):
    """The camera's data-in phase announced or brought more than the initiator allowed
    for the transaction (:meth:`InitiatorConnection.expect_data`): the initiator has
    cancelled it (the Cancel is queued for ``data_to_send()``) and drops the rest."""

    transaction_id: int
    size: int  #: bytes announced, or received, when it was stopped
    limit: int  #: what the transaction allowed


@dataclass(frozen=True, slots=True)
class OperationResponse(ConnectionEvent):
    """The end of a transaction: response code and up to five parameters."""

    code: int
    transaction_id: int
    params: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple(self.params))


@dataclass(frozen=True, slots=True)
class Event(ConnectionEvent):
    """A PTP event from the camera (normally on the event connection)."""

    code: int
    transaction_id: int = NO_TRANSACTION
    params: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple(self.params))


@dataclass(frozen=True, slots=True)
class ProbeRequest(ConnectionEvent):
    """The peer probed us. The connection has already queued the Probe Response."""


@dataclass(frozen=True, slots=True)
class ProbeResponse(ConnectionEvent):
    """The peer answered our probe: it is alive."""


@dataclass(frozen=True, slots=True)
class Cancel(ConnectionEvent):
    """Abort transaction ``transaction_id``; late packets of it are dropped afterwards."""

    transaction_id: int


__all__ = [
    "NEED_DATA",
    "Cancel",
    "ConnectionClosed",
    "ConnectionEvent",
    "DataIn",
    "DataOut",
    "DataTooLarge",
    "Event",
    "InitCommandAck",
    "InitCommandRequest",
    "InitEventAck",
    "InitEventRequest",
    "InitFail",
    "OperationRequest",
    "OperationResponse",
    "ProbeRequest",
    "ProbeResponse",
]
