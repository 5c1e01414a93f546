"""Typed, bounds-checked reading and writing of little-endian PTP fields.

Every dataset and packet is decoded through :class:`Reader` and encoded through
:class:`Writer`, so no ad-hoc ``struct`` call can leak an ``IndexError`` or a
``struct.error``: a short or malformed input raises :class:`ProtocolError`.

PTP strings (ISO 15740 §5.3.5) are a u8 count of UCS-2 code units *including* the
terminating NUL, then the code units; the empty string is the single byte 0.
Arrays (§5.3.4) are a u32 element count followed by the elements. Counts are checked
against the bytes actually left before anything is allocated, so an absurd count in a
small packet is refused at once.
"""

from __future__ import annotations

import builtins
import struct
from collections.abc import Iterable

from ptpd.protocol.errors import LimitExceeded, LocalProtocolError, ProtocolError

#: Longest PTP string: the u8 count includes the NUL, so 254 characters + NUL = 255.
MAX_STRING_CHARS = 254

_U8 = struct.Struct("<B")
_I8 = struct.Struct("<b")
_U16 = struct.Struct("<H")
_I16 = struct.Struct("<h")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_U64 = struct.Struct("<Q")
_I64 = struct.Struct("<q")


class Reader:
    """Reads fields from a bytes-like object, front to back.

    >>> r = Reader(b"\\x01\\x00\\x02\\x00\\x00\\x00")
    >>> r.u16(), r.u32(), r.at_end
    (1, 2, True)
    """

    __slots__ = ("_data", "_pos", "_end")

    def __init__(self, data: bytes | bytearray | memoryview, offset: int = 0) -> None:
        self._data = memoryview(data).cast("B") if not isinstance(data, bytes) else data
        self._pos = offset
        self._end = len(data)

    @property
    def position(self) -> int:
        return self._pos

    @property
    def remaining(self) -> int:
        return self._end - self._pos

    @property
    def at_end(self) -> bool:
        return self._pos >= self._end

    def _need(self, n: int, what: str) -> int:
        pos = self._pos
        if n < 0 or pos + n > self._end:
            raise ProtocolError(f"truncated {what}: need {n} bytes at offset {pos}, have {self._end - pos}")
        self._pos = pos + n
        return pos

    def _unpack(self, st: struct.Struct, what: str) -> int:
        pos = self._need(st.size, what)
        value: int = st.unpack_from(self._data, pos)[0]
        return value

    def u8(self) -> int:
        return self._unpack(_U8, "UINT8")

    def i8(self) -> int:
        return self._unpack(_I8, "INT8")

    def u16(self) -> int:
        return self._unpack(_U16, "UINT16")

    def i16(self) -> int:
        return self._unpack(_I16, "INT16")

    def u32(self) -> int:
        return self._unpack(_U32, "UINT32")

    def i32(self) -> int:
        return self._unpack(_I32, "INT32")

    def u64(self) -> int:
        return self._unpack(_U64, "UINT64")

    def i64(self) -> int:
        return self._unpack(_I64, "INT64")

    def u128(self) -> int:
        pos = self._need(16, "UINT128")
        return int.from_bytes(self._data[pos : pos + 16], "little", signed=False)

    def i128(self) -> int:
        pos = self._need(16, "INT128")
        return int.from_bytes(self._data[pos : pos + 16], "little", signed=True)

    def bytes(self, n: int) -> bytes:
        """The next ``n`` bytes, copied."""
        pos = self._need(n, "bytes")
        return bytes(self._data[pos : pos + n])

    def rest(self) -> builtins.bytes:  # ``bytes`` here is the method above
        """Everything not read yet, copied."""
        return self.bytes(self.remaining)

    def skip(self, n: int) -> None:
        self._need(n, "bytes")

    def count(self, element_size: int, what: str = "array", limit: int | None = None) -> int:
        """A u32 element count, refused if the elements cannot fit in what is left, or
        (:class:`LimitExceeded`) if it is over ``limit``."""
        n = self.u32()
        if limit is not None and n > limit:
            raise LimitExceeded(f"{what} count {n} is over the limit of {limit}")
        if element_size > 0 and n > self.remaining // element_size:
            raise ProtocolError(f"{what} count {n} needs {n * element_size} bytes, only {self.remaining} left")
        return n

    def array(self, element: str, element_size: int) -> tuple[int, ...]:
        """A PTP array of integers; ``element`` names a method of this class (``"u32"``)."""
        n = self.count(element_size)
        read = getattr(self, element)
        return tuple(read() for _ in range(n))

    def string(self) -> str:
        """A PTP string: u8 count of UCS-2 units including NUL, then the units."""
        n = self.u8()
        if n == 0:
            return ""
        pos = self._need(2 * n, "string")
        raw = bytes(self._data[pos : pos + 2 * n])
        if raw[-2:] != b"\x00\x00":
            raise ProtocolError("PTP string is not NUL-terminated")
        try:
            text = raw[:-2].decode("utf-16-le")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"PTP string is not valid UCS-2: {exc}") from exc
        # Some cameras pad with extra NULs inside the counted length.
        return text.split("\x00", 1)[0]

    def utf16z(self) -> str:
        """A NUL-terminated UTF-16LE string with no count (PTP/IP friendly names)."""
        data = self._data
        pos = self._pos
        end = self._end
        i = pos
        while i + 1 < end:
            if data[i] == 0 and data[i + 1] == 0:
                break
            i += 2
        else:
            raise ProtocolError("UTF-16 name is not NUL-terminated")
        raw = bytes(data[pos:i])
        self._pos = i + 2
        try:
            return raw.decode("utf-16-le")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"UTF-16 name is not valid: {exc}") from exc


class Writer:
    """Builds little-endian PTP fields into one ``bytearray``."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def getvalue(self) -> bytes:
        return bytes(self._buf)

    def __len__(self) -> int:
        return len(self._buf)

    def _pack(self, st: struct.Struct, value: int, what: str) -> Writer:
        try:
            self._buf += st.pack(value)
        except struct.error as exc:
            raise LocalProtocolError(f"{value!r} does not fit a {what}") from exc
        return self

    def u8(self, v: int) -> Writer:
        return self._pack(_U8, v, "UINT8")

    def i8(self, v: int) -> Writer:
        return self._pack(_I8, v, "INT8")

    def u16(self, v: int) -> Writer:
        return self._pack(_U16, v, "UINT16")

    def i16(self, v: int) -> Writer:
        return self._pack(_I16, v, "INT16")

    def u32(self, v: int) -> Writer:
        return self._pack(_U32, v, "UINT32")

    def i32(self, v: int) -> Writer:
        return self._pack(_I32, v, "INT32")

    def u64(self, v: int) -> Writer:
        return self._pack(_U64, v, "UINT64")

    def i64(self, v: int) -> Writer:
        return self._pack(_I64, v, "INT64")

    def u128(self, v: int) -> Writer:
        try:
            self._buf += int(v).to_bytes(16, "little", signed=False)
        except OverflowError as exc:
            raise LocalProtocolError(f"{v!r} does not fit a UINT128") from exc
        return self

    def i128(self, v: int) -> Writer:
        try:
            self._buf += int(v).to_bytes(16, "little", signed=True)
        except OverflowError as exc:
            raise LocalProtocolError(f"{v!r} does not fit an INT128") from exc
        return self

    def bytes(self, b: bytes | bytearray | memoryview) -> Writer:
        self._buf += b
        return self

    def array(self, element: str, values: Iterable[int]) -> Writer:
        values = list(values)
        self.u32(len(values))
        write = getattr(self, element)
        for v in values:
            write(v)
        return self

    def string(self, s: str) -> Writer:
        """A PTP string; ``""`` is the single byte 0."""
        if not s:
            return self.u8(0)
        units = s.encode("utf-16-le")
        n = len(units) // 2 + 1
        if n > MAX_STRING_CHARS + 1:
            raise LocalProtocolError(f"PTP string of {n - 1} code units is longer than {MAX_STRING_CHARS}")
        self.u8(n)
        self._buf += units
        self._buf += b"\x00\x00"
        return self

    def utf16z(self, s: str) -> Writer:
        """A NUL-terminated UTF-16LE string with no count (PTP/IP friendly names)."""
        self._buf += s.encode("utf-16-le") + b"\x00\x00"
        return self
