"""A Fuji property's value as bytes and back: ints by datatype (or by size when a body
does not say), text as a PTP string or as the X-T1's ASCII blobs.

:mod:`ptpd.fuji.properties` re-exports these beside the table they serve.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ptpd.protocol.buffer import Reader, Writer
from ptpd.protocol.codes import DataType
from ptpd.protocol.errors import ProtocolError

if TYPE_CHECKING:
    from ptpd.fuji.properties import FujiProperty

#: a property's value: an int, or text for the string-typed ones
Raw = int | str


def decode_value(prop: FujiProperty, payload: bytes, datatype: int | None = None) -> Raw:
    """A GetDevicePropValue payload as a value: ints by datatype (or by size when the
    datatype is unknown), ASCII/PTP-string blobs as text."""
    dt = prop.datatype if datatype is None else datatype
    if dt == DataType.STR:
        return decode_text_blob(payload)
    sizes: dict[int, int] = {
        DataType.UINT8: 1,
        DataType.INT8: 1,
        DataType.UINT16: 2,
        DataType.INT16: 2,
        DataType.UINT32: 4,
        DataType.INT32: 4,
    }
    size = sizes.get(dt)
    if size is None:
        if len(payload) in (1, 2, 4):
            return int.from_bytes(payload, "little")
        return decode_text_blob(payload)
    if len(payload) < size:
        # Some bodies answer with a shorter value; zero-extend as malc0mn does.
        if not payload:
            raise ProtocolError(f"{prop.name}: empty value")
        return int.from_bytes(payload, "little")
    signed = dt in (DataType.INT8, DataType.INT16, DataType.INT32)
    return int.from_bytes(payload[:size], "little", signed=signed)


def encode_value(prop: FujiProperty, value: Raw, datatype: int | None = None) -> bytes:
    """The data-out payload for SetDevicePropValue, exactly the value's size (as Fuji's
    app sends it). Text goes as ASCII + NUL, the form the X-T1's blobs use."""
    dt = prop.datatype if datatype is None else datatype
    if isinstance(value, str) or dt == DataType.STR:
        return encode_text_blob(str(value))
    w = Writer()
    writers: dict[int, Callable[[int], Writer]] = {
        DataType.UINT8: w.u8,
        DataType.INT8: w.i8,
        DataType.UINT16: w.u16,
        DataType.INT16: w.i16,
        DataType.INT32: w.i32,
    }
    writer = writers.get(dt, w.u32)
    if dt == DataType.INT16 and value > 0x7FFF:
        value -= 0x10000
    try:
        writer(value)
    except Exception as exc:  # LocalProtocolError from the writer
        raise ValueError(f"{prop.name}: {value!r} does not fit its datatype") from exc
    return w.getvalue()


def decode_text_blob(payload: bytes) -> str:
    """A Fuji text value: a PTP string (u8 count + UTF-16) when it parses as one,
    else ASCII up to the first NUL (the X-T1's own blobs, fuji-ptpip.md §6.4)."""
    if payload:
        n = payload[0]
        if n and 1 + 2 * n <= len(payload) and payload[2 * n - 1 : 2 * n + 1] == b"\x00\x00":
            try:
                return Reader(payload).string()
            except ProtocolError:
                pass
    return payload.split(b"\x00", 1)[0].decode("ascii", "replace")


def encode_text_blob(text: str) -> bytes:
    """ASCII + NUL (what the X-T1's string-typed properties hold)."""
    return text.encode("ascii", "replace") + b"\x00"
