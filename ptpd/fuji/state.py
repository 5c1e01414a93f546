"""Fuji list datasets: the 0xD212 current-state list and the 0x902B property-descriptor list.

0xD212 (GetDevicePropValue on a pseudo-property, fuji-ptpip.md §5.5)::

    u16 count, then count x (u16 property code, u32 value)     # values always 4 bytes

0x902B (fuji-ptpip.md §5.4)::

    u32 count, then count x (u32 entry length incl. itself, DevicePropDesc)

Descriptors are standard PTP DevicePropDesc (:class:`ptpd.protocol.datasets.DevicePropDesc`)
except that the X-T1's string-typed ones (0x5003, 0xD174) hold fixed-width ASCII fields
instead of PTP strings; :func:`decode_property_desc` reads those leniently. Pure code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ptpd.fuji.properties import format_value, name_of
from ptpd.protocol.buffer import Reader, Writer
from ptpd.protocol.codes import DataType
from ptpd.protocol.datasets import DevicePropDesc, Enumeration
from ptpd.protocol.errors import ProtocolError

#: A 0xD212 entry is a u16 code and a u32 value.
STATE_ENTRY_SIZE = 6


@dataclass(frozen=True, slots=True)
class StateEntry:
    """One entry of the current-state list, with its property name and value label."""

    code: int
    value: int
    name: str
    label: str

    @classmethod
    def of(cls, code: int, value: int) -> StateEntry:
        return cls(code=code, value=value, name=name_of(code), label=format_value(code, value))


def decode_state(payload: bytes | bytearray | memoryview) -> tuple[StateEntry, ...]:
    """Decode the 0xD212 payload into labelled entries, in camera order."""
    r = Reader(payload)
    n = r.u16()
    if n * STATE_ENTRY_SIZE > r.remaining:
        raise ProtocolError(f"state list of {n} entries needs {n * STATE_ENTRY_SIZE} bytes, has {r.remaining}")
    return tuple(StateEntry.of(r.u16(), r.u32()) for _ in range(n))


def encode_state(entries: Iterable[tuple[int, int]]) -> bytes:
    """The 0xD212 payload for (code, value) pairs (the simulator's side)."""
    entries = list(entries)
    w = Writer().u16(len(entries))
    for code, value in entries:
        w.u16(code).u32(value & 0xFFFFFFFF)
    return w.getvalue()


def decode_property_desc(data: bytes | bytearray | memoryview) -> DevicePropDesc:
    """A DevicePropDesc as Fuji sends it.

    Integer types are standard. A string type (0xFFFF) is tried as PTP strings first;
    if that fails it is the X-T1's ASCII form: the printable runs are read as factory
    default, current value and the allowed values, in that order [?] (fuji-ptpip.md §5.2).
    """
    try:
        return DevicePropDesc.decode(data)
    except ProtocolError:
        r = Reader(data)
        code, datatype, get_set = r.u16(), r.u16(), r.u8()
        if datatype != DataType.STR:
            raise
        tokens = tuple(t.decode("ascii") for t in re.findall(rb"[\x21-\x7e]{2,}", bytes(data[5:])))
        default = tokens[0] if tokens else ""
        current = tokens[1] if len(tokens) > 1 else default
        values = tuple(dict.fromkeys(tokens[2:]))
        return DevicePropDesc(code, DataType.STR, get_set, default, current, Enumeration(values) if values else None)


def decode_property_list(payload: bytes | bytearray | memoryview) -> tuple[DevicePropDesc, ...]:
    """Decode the 0x902B payload into its descriptors, in camera order."""
    r = Reader(payload)
    n = r.count(4, "property list")
    out = []
    for i in range(n):
        length = r.u32()
        if length < 4 + 5:
            raise ProtocolError(f"property list entry {i} has length {length}")
        body = r.bytes(length - 4)
        try:
            out.append(decode_property_desc(body))
        except ProtocolError as exc:
            raise ProtocolError(f"property list entry {i}: {exc}") from exc
    return tuple(out)


def encode_property_list(descs: Iterable[DevicePropDesc]) -> bytes:
    """The 0x902B payload for these descriptors (the simulator's side)."""
    bodies = [d.encode() for d in descs]
    w = Writer().u32(len(bodies))
    for b in bodies:
        w.u32(4 + len(b)).bytes(b)
    return w.getvalue()


__all__ = [
    "StateEntry",
    "decode_property_desc",
    "decode_property_list",
    "decode_state",
    "encode_property_list",
    "encode_state",
]
