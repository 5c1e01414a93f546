"""PTP/IP packets (CIPA DC-X005-2005): the wire records, one frozen dataclass per type.

Every PTP/IP packet is ``u32 Length | u32 Type | payload`` with Length counting the whole
packet including its 8 header bytes, all little-endian (DC-X005 §5; ptpip.md §1–2).
This module only turns bytes into records and back; what a packet *means* in the
conversation is decided by :mod:`ptpd.protocol.connection`, which speaks in the semantic
events of :mod:`ptpd.protocol.events` (as h2 keeps hyperframe frames apart from its events).

Rules:

* :func:`decode_packet` raises only :class:`ProtocolError` — unknown type, a Length field
  that disagrees with the bytes, a payload of the wrong size for the type, a friendly
  name that is not NUL-terminated UTF-16LE.
* Constructors refuse records that cannot be encoded (GUID not 16 bytes, too many
  parameters, out-of-range integers) with :class:`LocalProtocolError`.
* Data / End Data payloads decoded from a buffer are ``memoryview`` slices of it (no copy);
  compare and ``bytes()`` them like any bytes-like object.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum, unique
from typing import ClassVar

from ptpd.protocol.buffer import Reader, Writer

# DataPhase and InitFailReason live with the other code tables; re-exported here.
from ptpd.protocol.codes import DataPhase, InitFailReason
from ptpd.protocol.errors import LocalProtocolError, ProtocolError

#: Size of the ``Length | Type`` header every packet starts with.
HEADER_SIZE = 8
#: PTP/IP protocol version 1.0: major in the high 16 bits, minor in the low 16 (ptpip.md §2).
PROTOCOL_VERSION = 0x00010000
#: The TransactionID carried by events not tied to a transaction (ptpip.md §4, convention).
NO_TRANSACTION = 0xFFFFFFFF
#: Operation Request / Response carry 0..5 parameters (DC-X005 §5.3.7, §5.3.8).
MAX_OPERATION_PARAMS = 5
#: Events carry 0..3 parameters by the standard (DC-X005 §5.3.9); we send at most 3 ...
MAX_EVENT_PARAMS = 3
#: ... but accept up to 5 from a camera, since a stray extra parameter is harmless.
MAX_EVENT_PARAMS_ACCEPTED = 5

_HEADER = struct.Struct("<II")
_U32 = struct.Struct("<I")
_DATA_HEADER = struct.Struct("<III")


@unique
class PacketType(IntEnum):
    """PTP/IP packet types (CIPA DC-X005-2005 §5.3, Table 5)."""

    #: I→R, command connection: GUID, friendly name, version.
    INIT_COMMAND_REQUEST = 1
    #: R→I, command connection: connection number, GUID, friendly name, version.
    INIT_COMMAND_ACK = 2
    #: I→R, event connection: connection number from the Init Command Ack.
    INIT_EVENT_REQUEST = 3
    #: R→I, event connection: no payload.
    INIT_EVENT_ACK = 4
    #: R→I, either connection: the responder refuses (reason).
    INIT_FAIL = 5
    #: I→R: data phase, operation code, transaction id, 0–5 params.
    OPERATION_REQUEST = 6
    #: R→I: response code, transaction id, 0–5 params.
    OPERATION_RESPONSE = 7
    #: R→I, event connection: event code, transaction id, 0–3 params.
    EVENT = 8
    #: Either way: transaction id, u64 total data length.
    START_DATA = 9
    #: Either way: transaction id, a chunk of the data phase.
    DATA = 10
    #: Either way: transaction id of the transaction to abort.
    CANCEL = 11
    #: Either way: transaction id, the last (possibly empty) chunk.
    END_DATA = 12
    #: Either way, normally on the event connection: are you there?
    PROBE_REQUEST = 13
    #: Answer to a Probe Request.
    PROBE_RESPONSE = 14


def _check_u32(value: int, what: str) -> None:
    if not 0 <= value <= 0xFFFFFFFF:
        raise LocalProtocolError(f"{what} {value!r} does not fit a UINT32")


def _check_u16(value: int, what: str) -> None:
    if not 0 <= value <= 0xFFFF:
        raise LocalProtocolError(f"{what} {value!r} does not fit a UINT16")


def _check_params(params: tuple[int, ...], limit: int, what: str) -> None:
    if len(params) > limit:
        raise LocalProtocolError(f"{what} takes at most {limit} parameters, got {len(params)}")
    for p in params:
        _check_u32(p, f"{what} parameter")


def _check_guid(guid: bytes) -> None:
    if not isinstance(guid, (bytes, bytearray)) or len(guid) != 16:
        raise LocalProtocolError(f"a PTP/IP GUID is 16 bytes, got {guid!r}")


def _frame(ptype: PacketType, payload: bytes) -> bytes:
    return _HEADER.pack(HEADER_SIZE + len(payload), ptype) + payload


class Packet:
    """Base of every PTP/IP packet record. Subclasses are frozen dataclasses; don't subclass them."""

    __slots__ = ()

    #: The packet's Type field.
    TYPE: ClassVar[PacketType]

    def encode(self) -> bytes:
        """The whole packet, header included, ready to write to the socket."""
        return _frame(self.TYPE, self._payload())

    def _payload(self) -> bytes:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    @classmethod
    def _decode_payload(cls, r: Reader, payload: memoryview) -> Packet:  # pragma: no cover
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class InitCommandRequest(Packet):
    """Init Command Request (type 1): the first packet on the command connection."""

    TYPE: ClassVar[PacketType] = PacketType.INIT_COMMAND_REQUEST
    guid: bytes  #: the initiator's 16-byte GUID (cameras pair by it)
    name: str  #: the initiator's friendly name
    version: int = PROTOCOL_VERSION  #: major << 16 | minor

    def __post_init__(self) -> None:
        _check_guid(self.guid)
        _check_u32(self.version, "protocol version")

    def _payload(self) -> bytes:
        return Writer().bytes(self.guid).utf16z(self.name).u32(self.version).getvalue()

    @classmethod
    def _decode_payload(cls, r: Reader, payload: memoryview) -> InitCommandRequest:
        guid = r.bytes(16)
        name = r.utf16z()
        version = r.u32()
        return cls(guid, name, version)


@dataclass(frozen=True, slots=True)
class InitCommandAck(Packet):
    """Init Command Ack (type 2): the responder accepts and names the session."""

    TYPE: ClassVar[PacketType] = PacketType.INIT_COMMAND_ACK
    connection_number: int  #: quoted back in the Init Event Request
    guid: bytes  #: the responder's 16-byte GUID
    name: str  #: the responder's friendly name
    version: int = PROTOCOL_VERSION

    def __post_init__(self) -> None:
        _check_u32(self.connection_number, "connection number")
        _check_guid(self.guid)
        _check_u32(self.version, "protocol version")

    def _payload(self) -> bytes:
        w = Writer().u32(self.connection_number).bytes(self.guid).utf16z(self.name)
        return w.u32(self.version).getvalue()

    @classmethod
    def _decode_payload(cls, r: Reader, payload: memoryview) -> InitCommandAck:
        number = r.u32()
        guid = r.bytes(16)
        name = r.utf16z()
        version = r.u32()
        return cls(number, guid, name, version)


@dataclass(frozen=True, slots=True)
class InitEventRequest(Packet):
    """Init Event Request (type 3): binds the event connection to a session."""

    TYPE: ClassVar[PacketType] = PacketType.INIT_EVENT_REQUEST
    connection_number: int

    def __post_init__(self) -> None:
        _check_u32(self.connection_number, "connection number")

    def _payload(self) -> bytes:
        return _U32.pack(self.connection_number)

    @classmethod
    def _decode_payload(cls, r: Reader, payload: memoryview) -> InitEventRequest:
        return cls(r.u32())


@dataclass(frozen=True, slots=True)
class InitEventAck(Packet):
    """Init Event Ack (type 4): the event connection is bound. Exactly 8 bytes."""

    TYPE: ClassVar[PacketType] = PacketType.INIT_EVENT_ACK

    def _payload(self) -> bytes:
        return b""

    @classmethod
    def _decode_payload(cls, r: Reader, payload: memoryview) -> InitEventAck:
        return cls()


@dataclass(frozen=True, slots=True)
class InitFail(Packet):
    """Init Fail (type 5): the responder refuses the connection (see :class:`InitFailReason`)."""

    TYPE: ClassVar[PacketType] = PacketType.INIT_FAIL
    reason: int

    def __post_init__(self) -> None:
        _check_u32(self.reason, "Init Fail reason")

    def _payload(self) -> bytes:
        return _U32.pack(self.reason)

    @classmethod
    def _decode_payload(cls, r: Reader, payload: memoryview) -> InitFail:
        return cls(r.u32())


@dataclass(frozen=True, slots=True)
class OperationRequest(Packet):
    """Operation Request (type 6): one PTP operation, parameters implied by Length."""

    TYPE: ClassVar[PacketType] = PacketType.OPERATION_REQUEST
    data_phase: int  #: :class:`~ptpd.protocol.codes.DataPhase` (0 = undefined)
    code: int  #: PTP OperationCode
    transaction_id: int
    params: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        _check_u32(self.data_phase, "data phase")
        _check_u16(self.code, "operation code")
        _check_u32(self.transaction_id, "transaction id")
        object.__setattr__(self, "params", tuple(self.params))
        _check_params(self.params, MAX_OPERATION_PARAMS, "Operation Request")

    def _payload(self) -> bytes:
        n = len(self.params)
        return struct.pack(f"<IHI{n}I", self.data_phase, self.code, self.transaction_id, *self.params)

    @classmethod
    def _decode_payload(cls, r: Reader, payload: memoryview) -> OperationRequest:
        phase, code, tid = r.u32(), r.u16(), r.u32()
        return cls(phase, code, tid, _read_params(r, MAX_OPERATION_PARAMS, "Operation Request"))


@dataclass(frozen=True, slots=True)
class OperationResponse(Packet):
    """Operation Response (type 7): ends a transaction."""

    TYPE: ClassVar[PacketType] = PacketType.OPERATION_RESPONSE
    code: int  #: PTP ResponseCode
    transaction_id: int
    params: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        _check_u16(self.code, "response code")
        _check_u32(self.transaction_id, "transaction id")
        object.__setattr__(self, "params", tuple(self.params))
        _check_params(self.params, MAX_OPERATION_PARAMS, "Operation Response")

    def _payload(self) -> bytes:
        n = len(self.params)
        return struct.pack(f"<HI{n}I", self.code, self.transaction_id, *self.params)

    @classmethod
    def _decode_payload(cls, r: Reader, payload: memoryview) -> OperationResponse:
        code, tid = r.u16(), r.u32()
        return cls(code, tid, _read_params(r, MAX_OPERATION_PARAMS, "Operation Response"))


@dataclass(frozen=True, slots=True)
class Event(Packet):
    """Event (type 8), on the event connection. We send ≤ 3 params and accept ≤ 5."""

    TYPE: ClassVar[PacketType] = PacketType.EVENT
    code: int  #: PTP EventCode
    transaction_id: int = NO_TRANSACTION
    params: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        _check_u16(self.code, "event code")
        _check_u32(self.transaction_id, "transaction id")
        object.__setattr__(self, "params", tuple(self.params))
        _check_params(self.params, MAX_EVENT_PARAMS_ACCEPTED, "Event")

    def _payload(self) -> bytes:
        if len(self.params) > MAX_EVENT_PARAMS:
            raise LocalProtocolError(f"an Event carries at most {MAX_EVENT_PARAMS} parameters")
        n = len(self.params)
        return struct.pack(f"<HI{n}I", self.code, self.transaction_id, *self.params)

    @classmethod
    def _decode_payload(cls, r: Reader, payload: memoryview) -> Event:
        code, tid = r.u16(), r.u32()
        return cls(code, tid, _read_params(r, MAX_EVENT_PARAMS_ACCEPTED, "Event"))


@dataclass(frozen=True, slots=True)
class StartData(Packet):
    """Start Data (type 9): opens a data phase of ``total_length`` payload bytes (u64)."""

    TYPE: ClassVar[PacketType] = PacketType.START_DATA
    transaction_id: int
    total_length: int  #: sum of the Data / End Data payloads; 2**64-1 = unknown

    def __post_init__(self) -> None:
        _check_u32(self.transaction_id, "transaction id")
        if not 0 <= self.total_length <= 0xFFFFFFFFFFFFFFFF:
            raise LocalProtocolError(f"total data length {self.total_length!r} does not fit a UINT64")

    def _payload(self) -> bytes:
        return struct.pack("<IQ", self.transaction_id, self.total_length)

    @classmethod
    def _decode_payload(cls, r: Reader, payload: memoryview) -> StartData:
        return cls(r.u32(), r.u64())


#: StartData's TotalDataLength meaning "not known in advance" (DC-X005; we never send it).
UNKNOWN_DATA_LENGTH = 0xFFFFFFFFFFFFFFFF

Payload = bytes | bytearray | memoryview


class _Chunk(Packet):
    __slots__ = ()
    transaction_id: int
    payload: Payload

    def __post_init__(self) -> None:
        _check_u32(self.transaction_id, "transaction id")

    def header(self) -> bytes:
        """The 12 bytes before the payload, so a writer can send the payload without a copy."""
        return _DATA_HEADER.pack(12 + len(self.payload), self.TYPE, self.transaction_id)

    def encode(self) -> bytes:
        return b"".join((self.header(), self.payload))

    def _payload(self) -> bytes:
        return _U32.pack(self.transaction_id) + bytes(self.payload)

    @classmethod
    def _decode_payload(cls, r: Reader, payload: memoryview) -> Packet:
        tid = r.u32()
        return cls(tid, payload[4:])  # type: ignore[call-arg]  # Data and EndData: (transaction_id, payload)


@dataclass(frozen=True, slots=True)
class Data(_Chunk):
    """Data (type 10): one chunk of a data phase."""

    TYPE: ClassVar[PacketType] = PacketType.DATA
    transaction_id: int
    payload: Payload = field(default=b"")


@dataclass(frozen=True, slots=True)
class EndData(_Chunk):
    """End Data (type 12): the last chunk of a data phase; its payload may be empty."""

    TYPE: ClassVar[PacketType] = PacketType.END_DATA
    transaction_id: int
    payload: Payload = field(default=b"")


@dataclass(frozen=True, slots=True)
class Cancel(Packet):
    """Cancel (type 11): abort the transaction ``transaction_id``."""

    TYPE: ClassVar[PacketType] = PacketType.CANCEL
    transaction_id: int

    def __post_init__(self) -> None:
        _check_u32(self.transaction_id, "transaction id")

    def _payload(self) -> bytes:
        return _U32.pack(self.transaction_id)

    @classmethod
    def _decode_payload(cls, r: Reader, payload: memoryview) -> Cancel:
        return cls(r.u32())


@dataclass(frozen=True, slots=True)
class ProbeRequest(Packet):
    """Probe Request (type 13): liveness check; the peer answers a Probe Response."""

    TYPE: ClassVar[PacketType] = PacketType.PROBE_REQUEST

    def _payload(self) -> bytes:
        return b""

    @classmethod
    def _decode_payload(cls, r: Reader, payload: memoryview) -> ProbeRequest:
        return cls()


@dataclass(frozen=True, slots=True)
class ProbeResponse(Packet):
    """Probe Response (type 14)."""

    TYPE: ClassVar[PacketType] = PacketType.PROBE_RESPONSE

    def _payload(self) -> bytes:
        return b""

    @classmethod
    def _decode_payload(cls, r: Reader, payload: memoryview) -> ProbeResponse:
        return cls()


def _read_params(r: Reader, limit: int, what: str) -> tuple[int, ...]:
    left = r.remaining
    if left % 4 or left // 4 > limit:
        raise ProtocolError(f"{what} has {left} parameter bytes: not a multiple of 4 up to {4 * limit}")
    return tuple(r.u32() for _ in range(left // 4))


#: Packet class by type.
PACKET_CLASSES: dict[PacketType, type[Packet]] = {
    cls.TYPE: cls
    for cls in (
        InitCommandRequest,
        InitCommandAck,
        InitEventRequest,
        InitEventAck,
        InitFail,
        OperationRequest,
        OperationResponse,
        Event,
        StartData,
        Data,
        Cancel,
        EndData,
        ProbeRequest,
        ProbeResponse,
    )
}

# Payloads whose size is fixed by the type: anything else is malformed.
_FIXED_PAYLOAD = {
    PacketType.INIT_EVENT_REQUEST: 4,
    PacketType.INIT_EVENT_ACK: 0,
    PacketType.INIT_FAIL: 4,
    PacketType.START_DATA: 12,
    PacketType.CANCEL: 4,
    PacketType.PROBE_REQUEST: 0,
    PacketType.PROBE_RESPONSE: 0,
}


def peek_header(data: bytes | bytearray | memoryview) -> tuple[int, int]:
    """``(length, type)`` from the first 8 bytes; ProtocolError if fewer are given."""
    if len(data) < HEADER_SIZE:
        raise ProtocolError(f"a PTP/IP header is {HEADER_SIZE} bytes, got {len(data)}")
    length, ptype = _HEADER.unpack_from(data, 0)
    return length, ptype


def decode_packet(data: bytes | bytearray | memoryview) -> Packet:
    """Decode one whole packet (header included).

    The Length field must equal ``len(data)``; the payload must have exactly the size its
    type calls for. Any violation raises :class:`ProtocolError`.
    """
    view = memoryview(data).cast("B") if not isinstance(data, memoryview) else data.cast("B")
    length, raw_type = peek_header(view)
    if length != len(view):
        raise ProtocolError(f"Length field says {length} bytes, packet has {len(view)}")
    try:
        ptype = PacketType(raw_type)
    except ValueError:
        raise ProtocolError(f"unknown PTP/IP packet type {raw_type}") from None
    payload = view[HEADER_SIZE:]
    fixed = _FIXED_PAYLOAD.get(ptype)
    if fixed is not None and len(payload) != fixed:
        raise ProtocolError(f"{ptype.name} payload must be {fixed} bytes, got {len(payload)}")
    cls = PACKET_CLASSES[ptype]
    r = Reader(payload)
    try:
        packet = cls._decode_payload(r, payload)
    except LocalProtocolError as exc:  # a field out of range for the record: the peer's fault
        raise ProtocolError(str(exc)) from exc
    if not isinstance(packet, _Chunk) and not r.at_end:
        raise ProtocolError(f"{ptype.name} has {r.remaining} trailing bytes")
    return packet


__all__ = [
    "HEADER_SIZE",
    "MAX_EVENT_PARAMS",
    "MAX_OPERATION_PARAMS",
    "NO_TRANSACTION",
    "PACKET_CLASSES",
    "PROTOCOL_VERSION",
    "UNKNOWN_DATA_LENGTH",
    "Cancel",
    "Data",
    "DataPhase",
    "EndData",
    "Event",
    "InitCommandAck",
    "InitCommandRequest",
    "InitEventAck",
    "InitEventRequest",
    "InitFail",
    "InitFailReason",
    "OperationRequest",
    "OperationResponse",
    "Packet",
    "PacketType",
    "ProbeRequest",
    "ProbeResponse",
    "StartData",
    "decode_packet",
    "peek_header",
]
