"""The records of an EOS GetEvent (0x9116) reply, decoded and encoded (sans-I/O).

An EOS body does not push events: the host polls GetEvent and the data phase lists what
changed since the last call (libgphoto2 ``ptp_unpack_CANON_changes``, ptp-pack.c:1995-2871,
2.5.30). Each record is::

    u32 size   (the whole record, these 8 bytes included)
    u32 type   (CanonEventCode)
    size - 8 bytes of payload

and a record of size 8 and type 0 ends the list. A body with nothing to report still sends
a data phase holding just that end record (USB dumps in libgphoto2#521 and gphoto2#174).

Decoding never raises: a GetEvent reply is the camera telling us about itself, and a record
we cannot read costs that record, not the session. The framing follows libgphoto2's loop
with one difference: libgphoto2 reads the last record only if something follows it (it
stops when ``offset + size >= datasize``), so a body must end with the end record; we read
a last record that fits even without it. What we stop at:

* the end record (size 8, type 0);
* a size below 8 (no progress possible) or past the end of the data (a cut record);
* fewer than 8 bytes left (padding after the list).

Records whose payload is shorter than their layout are kept as :class:`Unknown`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

from ptpd.canon.codes import CanonEventCode as E

_HEADER = struct.Struct("<II")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")

#: The end record every list finishes with (libgphoto2#521, gphoto2#174, a real 1300D-class dump).
END_RECORD = _HEADER.pack(8, E.End)


@dataclass(frozen=True, slots=True)
class PropValue:
    """0xC189 PropValueChanged: ``+8`` u32 property code, ``+12`` the value's bytes.

    Real bodies send scalars as 4 bytes whatever libgphoto2's type says (a real dump);
    strings are plain ASCII with a NUL; some properties are structs (ImageFormat)."""

    code: int
    data: bytes


@dataclass(frozen=True, slots=True)
class AvailList:
    """0xC18A AvailListChanged: ``+8`` property, ``+12`` form kind, ``+16`` count,
    ``+20`` the elements. Only kind 3 carries a list libgphoto2 reads (ptp-pack.c); its
    elements are 4 bytes each except the ImageFormat structs (and D17D's 12-byte ones)."""

    code: int
    kind: int
    count: int
    data: bytes


@dataclass(frozen=True, slots=True)
class ObjectAdded:
    """0xC181 ObjectAddedEx (and 0xC187 ObjectInfoChangedEx, 0xC1A7/0xC1A8 their 64-bit
    forms): a new (or changed) object on the card (ptp-pack.c ``PTP_ece_OA_*``)."""

    handle: int
    storage_id: int
    format: int
    size: int
    parent: int
    filename: str
    type: int = E.ObjectAddedEx


@dataclass(frozen=True, slots=True)
class ObjectTransfer:
    """0xC186 RequestObjectTransfer (0xC1A9 the 64-bit form): a new object in the
    camera's RAM, read with GetPartialObject and released with TransferComplete
    (ptp-pack.c ``PTP_ece_OI_*``; library.c:4310-4474)."""

    handle: int
    format: int
    size: int
    filename: str
    type: int = E.RequestObjectTransfer


@dataclass(frozen=True, slots=True)
class ObjectRemoved:
    """0xC182 ObjectRemoved: ``+8`` the handle."""

    handle: int


@dataclass(frozen=True, slots=True)
class CameraStatus:
    """0xC18B CameraStatusChanged: ``+8`` the status; 1 = busy (library.c:5849-5850)."""

    status: int


@dataclass(frozen=True, slots=True)
class OLCInfo:
    """0xC1A5 OLCInfoChanged: ``+8`` u32 length, ``+12`` u16 mask, fields from ``+16`` in
    mask-bit order (ptp-pack.c:2523-2795). Only bit 0, the Button (a u16 at ``+16``), is
    read here: the EOS M capture waits for Button 4 (library.c:5940-5984)."""

    mask: int
    data: bytes  #: the payload from ``+16``

    BUTTON = 0x0001

    @property
    def button(self) -> int | None:
        """The Button field, when the mask has it."""
        if self.mask & self.BUTTON and len(self.data) >= 2:
            return int(_U16.unpack_from(self.data)[0])
        return None


@dataclass(frozen=True, slots=True)
class Unknown:
    """Any other record (or one too short for its layout), kept as it came."""

    type: int
    payload: bytes


Record = PropValue | AvailList | ObjectAdded | ObjectTransfer | ObjectRemoved | CameraStatus | OLCInfo | Unknown

_ADDED = (E.ObjectAddedEx, E.ObjectInfoChangedEx)
_ADDED64 = (E.ObjectAddedEx64, E.ObjectInfoChangedEx64)
_TRANSFER = (E.RequestObjectTransfer, E.RequestObjectTransfer64)


def _u32(b: bytes, at: int) -> int:
    return int(_U32.unpack_from(b, at)[0])


def _name(b: bytes, at: int) -> str:
    raw = b[at:].split(b"\x00", 1)[0]
    return raw.decode("ascii", "replace")


def _record(kind: int, rec: bytes) -> Record:
    """One record from its whole bytes (header included), or :class:`Unknown`."""
    n = len(rec)
    if kind == E.PropValueChanged and n >= 12:
        return PropValue(_u32(rec, 8), rec[12:])
    if kind == E.AvailListChanged and n >= 20:
        return AvailList(_u32(rec, 8), _u32(rec, 12), _u32(rec, 16), rec[20:])
    if kind in _ADDED and n > 0x28:
        return ObjectAdded(
            _u32(rec, 8),
            _u32(rec, 0x0C),
            int(_U16.unpack_from(rec, 0x10)[0]),
            _u32(rec, 0x1C),
            _u32(rec, 0x20),
            _name(rec, 0x28),
            kind,
        )
    if kind in _ADDED64 and n > 0x2C:
        return ObjectAdded(
            _u32(rec, 8),
            _u32(rec, 0x0C),
            int(_U16.unpack_from(rec, 0x10)[0]),
            _u32(rec, 0x1C),
            _u32(rec, 0x24),
            _name(rec, 0x2C),
            kind,
        )
    if kind in _TRANSFER and n > 0x1C:
        return ObjectTransfer(
            _u32(rec, 8), int(_U16.unpack_from(rec, 0x0C)[0]), _u32(rec, 0x14), _name(rec, 0x1C), kind
        )
    if kind == E.ObjectRemoved and n >= 12:
        return ObjectRemoved(_u32(rec, 8))
    if kind == E.CameraStatusChanged and n >= 12:
        return CameraStatus(_u32(rec, 8))
    if kind == E.OLCInfoChanged and n >= 14:
        return OLCInfo(int(_U16.unpack_from(rec, 12)[0]), rec[16:])
    return Unknown(kind, rec[8:])


def decode_events(data: bytes | bytearray | memoryview) -> tuple[Record, ...]:
    """The records of a GetEvent data phase, in order (see the module docstring)."""
    buf = bytes(data)
    out: list[Record] = []
    pos = 0
    end = len(buf)
    while pos + 8 <= end:
        size, kind = _HEADER.unpack_from(buf, pos)
        if size == 8 and kind == E.End:
            break
        if size < 8 or pos + size > end:
            break
        out.append(_record(kind, buf[pos : pos + size]))
        pos += size
    return tuple(out)


# -- encoding (what a body sends; the simulated body uses it) --------------------------------


def _pad(b: bytes) -> bytes:
    # bodies keep records 4-aligned where the layout allows (the 0xC186 record of 44 bytes
    # gphoto2 read in our traces); size still says the whole record
    return b + b"\x00" * (-len(b) % 4)


def _frame(kind: int, payload: bytes) -> bytes:
    return _HEADER.pack(8 + len(payload), kind) + payload


def encode_record(r: Record) -> bytes:
    """One record's bytes."""
    if isinstance(r, PropValue):
        return _frame(E.PropValueChanged, _U32.pack(r.code) + r.data)
    if isinstance(r, AvailList):
        return _frame(E.AvailListChanged, struct.pack("<III", r.code, r.kind, r.count) + r.data)
    if isinstance(r, ObjectAdded):
        if r.type in _ADDED64:  # +8 oid, +0xC storage, +0x10 format, +0x1C size, +0x24 parent, +0x28 oid, +0x2C name
            body = struct.pack("<IIHHIIIIII", r.handle, r.storage_id, r.format, 0, 0, 0, r.size, 0, r.parent, r.handle)
        else:  # +8 oid, +0xC storage, +0x10 format, +0x1C size, +0x20 parent, +0x28 name
            body = struct.pack("<IIHHIIIII", r.handle, r.storage_id, r.format, 0, 0, 0, r.size, r.parent, 0)
        return _frame(r.type, _pad(body + name_bytes(r.filename)))
    if isinstance(r, ObjectTransfer):  # +8 oid, +0xC format, +0x14 size, +0x1C name
        body = struct.pack("<IHHIII", r.handle, r.format, 0, 0, r.size, 0)
        return _frame(r.type, _pad(body + name_bytes(r.filename)))
    if isinstance(r, ObjectRemoved):
        return _frame(E.ObjectRemoved, _U32.pack(r.handle))
    if isinstance(r, CameraStatus):
        return _frame(E.CameraStatusChanged, _U32.pack(r.status))
    if isinstance(r, OLCInfo):
        payload = struct.pack("<IHH", 8 + len(r.data), r.mask, 0) + r.data
        return _frame(E.OLCInfoChanged, payload)
    return _frame(r.type, r.payload)


def name_bytes(filename: str) -> bytes:
    """A record's file name: ASCII and its NUL."""
    return filename.encode("ascii", "replace") + b"\x00"


def encode_events(records: Iterable[Record]) -> bytes:
    """A GetEvent data phase: the records, then the end record (always sent, even alone)."""
    return b"".join(encode_record(r) for r in records) + END_RECORD


def button_record(button: int) -> OLCInfo:
    """The OLCInfoChanged record an EOS M sends when its release went through (Button 4):
    the 20-byte form ``{20, 0xC1A5, 12, mask 1, 0, button}`` (library.c:5940-5984)."""
    return OLCInfo(OLCInfo.BUTTON, _U16.pack(button) + b"\x00\x00")


__all__ = [
    "END_RECORD",
    "AvailList",
    "CameraStatus",
    "OLCInfo",
    "ObjectAdded",
    "ObjectRemoved",
    "ObjectTransfer",
    "PropValue",
    "Record",
    "Unknown",
    "button_record",
    "decode_events",
    "encode_events",
    "encode_record",
    "name_bytes",
]
