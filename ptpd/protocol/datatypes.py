"""PTP values by datatype code, and PTP DateTime strings (ISO 15740 §5.3, ptp.md §7-§8).

A PTP value is typed by a :class:`~ptpd.protocol.codes.DataType` code that travels next to
it (DevicePropDesc) or is known from context (GetDevicePropValue). In Python:

=====================  ===============================  ====================================
datatype               Python value                     wire
=====================  ===============================  ====================================
INT8 .. UINT128        ``int``                          1/2/4/8/16 bytes, little-endian;
                                                        128-bit = low u64 first
AINT8 .. AUINT128      ``tuple[int, ...]``              u32 count, then the elements
STR                    ``str``                          u8 count of UCS-2 units incl. NUL,
                                                        the units; ``""`` is one byte 0
=====================  ===============================  ====================================

Reading goes through :class:`~ptpd.protocol.buffer.Reader` and raises only
:class:`ProtocolError` (truncation, unknown datatype code, a count that cannot fit the bytes
left, and :class:`~ptpd.protocol.errors.LimitExceeded` for an array longer than
:data:`MAX_ARRAY_ELEMENTS` or the caller's limit). Writing goes through :class:`~ptpd.protocol.buffer.Writer` and validates first: a
value that does not fit its datatype raises :class:`LocalProtocolError` before any byte is
written, so a half-written dataset never escapes.

DateTime strings (ptp.md §8): ``YYYYMMDDThhmmss`` optionally followed by ``.s`` (tenths of
a second) and by ``Z`` or ``±hhmm``; the empty string means "unknown".
:func:`parse_datetime` and :func:`format_datetime` convert to and from
:class:`datetime.datetime` (naive without a zone suffix, aware with one).
"""

from __future__ import annotations

import datetime as _dt
import re
import struct
from collections.abc import Iterable
from typing import Final, TypeAlias

from ptpd.protocol.buffer import MAX_STRING_CHARS, Reader, Writer
from ptpd.protocol.codes import DataType
from ptpd.protocol.errors import LocalProtocolError, ProtocolError

#: Most elements an array value may have (a caller may allow more or fewer). An AUINT8
#: of 16 M elements is a 16 MiB data phase but a 128 MiB tuple: the cap keeps a hostile
#: camera from turning its bytes into eight times as much of our memory. Array-valued
#: properties of real cameras hold tens of elements.
MAX_ARRAY_ELEMENTS = 65536

#: A decoded PTP value: int for scalar integers, tuple of ints for arrays, str for STR.
Value: TypeAlias = int | str | tuple[int, ...]

# struct format letters of the integer types up to 64 bits.
_STRUCT_CODE: Final = {
    DataType.INT8: "b",
    DataType.UINT8: "B",
    DataType.INT16: "h",
    DataType.UINT16: "H",
    DataType.INT32: "i",
    DataType.UINT32: "I",
    DataType.INT64: "q",
    DataType.UINT64: "Q",
}

_READERS: Final = {
    DataType.INT8: Reader.i8,
    DataType.UINT8: Reader.u8,
    DataType.INT16: Reader.i16,
    DataType.UINT16: Reader.u16,
    DataType.INT32: Reader.i32,
    DataType.UINT32: Reader.u32,
    DataType.INT64: Reader.i64,
    DataType.UINT64: Reader.u64,
    DataType.INT128: Reader.i128,
    DataType.UINT128: Reader.u128,
}


def datatype_of(code: int) -> DataType:
    """The :class:`DataType` for a wire code; :class:`ProtocolError` if it is not one.

    UNDEF is a valid code but has no value encoding; :func:`read_value` refuses it.
    """
    try:
        return DataType(code)
    except ValueError:
        raise ProtocolError(f"unknown PTP datatype code 0x{int(code):04X}") from None


def _value_type(code: int) -> DataType:
    dt = datatype_of(code)
    if dt is DataType.UNDEF:
        raise ProtocolError("datatype UNDEF (0x0000) has no value encoding")
    return dt


def int_range(datatype: int) -> tuple[int, int]:
    """Smallest and largest value of an integer datatype (of the element, for arrays)."""
    dt = _value_type(datatype)
    size = dt.size
    if size is None:
        raise ProtocolError(f"{dt.name} is not an integer datatype")
    bits = 8 * size
    if dt.signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def value_size(datatype: int) -> int | None:
    """Bytes of a value of a scalar integer datatype; ``None`` for STR and arrays (variable)."""
    dt = _value_type(datatype)
    return None if dt.is_array else dt.size


def min_value_size(datatype: int) -> int:
    """Fewest bytes any value of ``datatype`` takes (used to bound counts before reading)."""
    dt = _value_type(datatype)
    if dt is DataType.STR:
        return 1
    if dt.is_array:
        return 4
    assert dt.size is not None
    return dt.size


# -- reading ---------------------------------------------------------------------------


def read_value(reader: Reader, datatype: int, max_elements: int = MAX_ARRAY_ELEMENTS) -> Value:
    """Read one value of ``datatype`` from ``reader``.

    Raises :class:`ProtocolError` for an unknown or UNDEF datatype, truncated input, or an
    array count larger than the bytes left, and :class:`LimitExceeded` for one over
    ``max_elements`` (both checked before anything is allocated).
    """
    dt = _value_type(datatype)
    if dt is DataType.STR:
        return reader.string()
    if dt.is_array:
        return _read_array(reader, dt.element, max_elements)
    return _READERS[dt](reader)


def _read_array(reader: Reader, element: DataType, max_elements: int) -> tuple[int, ...]:
    size = element.size
    assert size is not None
    n = reader.count(size, f"{element.name} array", max_elements)
    raw = reader.bytes(n * size)
    code = _STRUCT_CODE.get(element)
    if code is not None:
        return struct.unpack(f"<{n}{code}", raw)
    signed = element.signed
    return tuple(int.from_bytes(raw[i : i + 16], "little", signed=signed) for i in range(0, len(raw), 16))


def decode_value(data: bytes | bytearray | memoryview, datatype: int) -> Value:
    """Decode a bare value (a GetDevicePropValue data phase). Trailing bytes are ignored."""
    return read_value(Reader(data), datatype)


# -- validation and writing -------------------------------------------------------------


def check_value(datatype: int, value: object) -> Value:
    """Return ``value`` normalised for ``datatype`` or raise :class:`LocalProtocolError`.

    Integers must be ``int`` (not ``bool``) within range; arrays any iterable of such ints
    (returned as a tuple; ``bytes`` works for AUINT8); strings at most 254 UTF-16 code
    units, without NUL (a reader would cut the string there) and encodable as UTF-16.
    """
    try:
        dt = _value_type(datatype)
    except ProtocolError as exc:
        raise LocalProtocolError(str(exc)) from None
    if dt is DataType.STR:
        return _check_string(value)
    if dt.is_array:
        if isinstance(value, (str, int)) or not isinstance(value, Iterable):
            raise LocalProtocolError(f"{dt.name} value must be a sequence of ints, not {type(value).__name__}")
        values = tuple(value)
        if len(values) > 0xFFFFFFFF:
            raise LocalProtocolError(f"{dt.name} of {len(values)} elements exceeds the u32 count")
        lo, hi = int_range(dt)
        for v in values:
            _check_int(dt.element, v, lo, hi)
        return values
    lo, hi = int_range(dt)
    return _check_int(dt, value, lo, hi)


def _check_int(dt: DataType, value: object, lo: int, hi: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise LocalProtocolError(f"{dt.name} value must be an int, not {type(value).__name__}")
    if not lo <= value <= hi:
        raise LocalProtocolError(f"{value} is out of range for {dt.name} ({lo}..{hi})")
    return int(value)


def _check_string(value: object) -> str:
    if not isinstance(value, str):
        raise LocalProtocolError(f"STR value must be a str, not {type(value).__name__}")
    if "\x00" in value:
        raise LocalProtocolError("a PTP string cannot contain NUL")
    try:
        units = len(value.encode("utf-16-le")) // 2
    except UnicodeEncodeError as exc:
        raise LocalProtocolError(f"string is not encodable as UTF-16: {exc}") from None
    if units > MAX_STRING_CHARS:
        raise LocalProtocolError(f"PTP string of {units} code units is longer than {MAX_STRING_CHARS}")
    return value


def write_value(writer: Writer, datatype: int, value: object) -> Writer:
    """Validate ``value`` (see :func:`check_value`) and append it to ``writer``."""
    v = check_value(datatype, value)
    dt = DataType(datatype)
    if dt is DataType.STR:
        assert isinstance(v, str)
        return writer.string(v)
    if dt.is_array:
        assert isinstance(v, tuple)
        element = dt.element
        writer.u32(len(v))
        code = _STRUCT_CODE.get(element)
        if code is not None:
            return writer.bytes(struct.pack(f"<{len(v)}{code}", *v))
        signed = element.signed
        return writer.bytes(b"".join(x.to_bytes(16, "little", signed=signed) for x in v))
    assert isinstance(v, int)
    code = _STRUCT_CODE.get(dt)
    if code is not None:
        return writer.bytes(struct.pack("<" + code, v))
    return writer.bytes(v.to_bytes(16, "little", signed=dt.signed))


def encode_value(datatype: int, value: object) -> bytes:
    """A bare value as bytes (a SetDevicePropValue data phase)."""
    return write_value(Writer(), datatype, value).getvalue()


# -- DateTime strings -------------------------------------------------------------------

_DATETIME_RE: Final = re.compile(
    r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(?:\.(\d+))?(Z|[+-]\d{4})?",
    re.ASCII,
)


def parse_datetime(text: str) -> _dt.datetime | None:
    """Parse a PTP DateTime string; ``""`` gives ``None`` (unknown).

    ``"20240101T120000"`` → naive ``datetime(2024, 1, 1, 12, 0)``; a ``Z`` or ``±hhmm``
    suffix gives an aware datetime. Tenths after ``.`` are kept (more digits, which some
    cameras send, are read as a decimal fraction down to microseconds). Surrounding
    whitespace and NULs are ignored. Anything else raises :class:`ProtocolError`.
    """
    if not isinstance(text, str):
        raise ProtocolError(f"DateTime must be a string, not {type(text).__name__}")
    s = text.strip(" \t\r\n\x00")
    if not s:
        return None
    m = _DATETIME_RE.fullmatch(s)
    if m is None:
        raise ProtocolError(f"not a PTP DateTime string: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac, zone = m.group(7), m.group(8)
    micro = int((frac + "000000")[:6]) if frac else 0
    tz: _dt.tzinfo | None = None
    if zone == "Z":
        tz = _dt.UTC
    elif zone:
        hh, mm = int(zone[1:3]), int(zone[3:5])
        if hh > 23 or mm > 59:
            raise ProtocolError(f"bad UTC offset in DateTime {text!r}")
        offset = _dt.timedelta(hours=hh, minutes=mm)
        tz = _dt.timezone(-offset if zone[0] == "-" else offset)
    try:
        return _dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError as exc:
        raise ProtocolError(f"bad DateTime {text!r}: {exc}") from None


def format_datetime(value: _dt.datetime | None, *, tenths: bool = True) -> str:
    """Format a datetime as a PTP DateTime string (``None`` → ``""``).

    Tenths of a second are written as ``.s`` when ``tenths`` is true and they are not zero
    (finer fractions are truncated). An aware datetime gets ``Z`` (offset 0) or ``±hhmm``;
    an offset with seconds, or a year outside 0001-9999, raises :class:`LocalProtocolError`.
    """
    if value is None:
        return ""
    if not isinstance(value, _dt.datetime):
        raise LocalProtocolError(f"DateTime must be a datetime, not {type(value).__name__}")
    out = f"{value.year:04d}{value.month:02d}{value.day:02d}T{value.hour:02d}{value.minute:02d}{value.second:02d}"
    tenth = value.microsecond // 100_000
    if tenths and tenth:
        out += f".{tenth}"
    offset = value.utcoffset()
    if offset is not None:
        total = int(offset.total_seconds())
        if total % 60 or offset.microseconds:
            raise LocalProtocolError(f"UTC offset {offset} is not a whole number of minutes")
        if total == 0:
            out += "Z"
        else:
            sign = "-" if total < 0 else "+"
            hh, mm = divmod(abs(total) // 60, 60)
            out += f"{sign}{hh:02d}{mm:02d}"
    return out


__all__ = [
    "MAX_ARRAY_ELEMENTS",
    "Value",
    "check_value",
    "datatype_of",
    "decode_value",
    "encode_value",
    "format_datetime",
    "int_range",
    "min_value_size",
    "parse_datetime",
    "read_value",
    "value_size",
    "write_value",
]
