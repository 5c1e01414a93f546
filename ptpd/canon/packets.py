"""The EOS data phases other than GetEvent's, encoded and decoded (sans-I/O).

* SetDevicePropValueEx 0x9110 (ptp.c:4071-4180): ``u32 size, u32 code, value``, size
  counting all of it: 12 for a scalar (``0c000000 03d10000 58000000`` sets ISO 400,
  gphoto2 on the wire), 8 + length + 1 for a string, 8 + 4 + 16n for ImageFormat.
* GetViewFinderData 0x9153 (library.c:3442-3566): a list of blobs ``u32 len, u32 type,
  len - 8 bytes``; type 1 (and 11) is the live-view JPEG; a blob of length 8 and type 0
  ends the list. libgphoto2 walks it with no guard against a zero length (it spins for
  ever, research notes §5), so a responder sends exactly the list and we stop at any
  length below 8 or past the end.
* GetDeviceInfoEx 0x9108 (ptp-pack.c:510-535): ``u32 length``, then three u32-count
  arrays of u32: events, properties, and a third list that must not be empty (an empty
  one fails libgphoto2's prepare with "PTP I/O Error", our run).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from ptpd.canon.codes import ViewFinderBlob
from ptpd.protocol.errors import ProtocolError

_U32 = struct.Struct("<I")
_HEADER = struct.Struct("<II")


# -- SetDevicePropValueEx ---------------------------------------------------------------------


def encode_set_property(code: int, value: bytes) -> bytes:
    """The data phase of SetDevicePropValueEx for ``code`` and its value's bytes."""
    return _HEADER.pack(8 + len(value), code) + value


def decode_set_property(data: bytes | bytearray | memoryview) -> tuple[int, bytes]:
    """(code, value bytes) of a SetDevicePropValueEx data phase; ProtocolError when its
    size field does not fit the bytes."""
    buf = bytes(data)
    if len(buf) < 8:
        raise ProtocolError(f"SetDevicePropValueEx data of {len(buf)} bytes")
    size, code = _HEADER.unpack_from(buf)
    if size < 8 or size > len(buf):
        raise ProtocolError(f"SetDevicePropValueEx says {size} bytes, has {len(buf)}")
    return code, buf[8:size]


# -- GetViewFinderData --------------------------------------------------------------------------


def decode_viewfinder(data: bytes | bytearray | memoryview) -> list[tuple[int, memoryview]]:
    """The blobs of a GetViewFinderData reply as (type, payload view), up to the end blob."""
    view = memoryview(data).cast("B")
    out: list[tuple[int, memoryview]] = []
    pos, end = 0, len(view)
    while pos + 8 <= end:
        length, kind = _HEADER.unpack_from(view, pos)
        if kind == ViewFinderBlob.End and length == 8:
            break
        if length < 8 or pos + length > end:
            break
        out.append((kind, view[pos + 8 : pos + length]))
        pos += length
    return out


def viewfinder_jpeg(data: bytes | bytearray | memoryview) -> memoryview | None:
    """The live-view JPEG of a GetViewFinderData reply (its first type 1 or 11 blob)."""
    for kind, payload in decode_viewfinder(data):
        if kind in (ViewFinderBlob.JPEG, ViewFinderBlob.JPEG2):
            return payload
    return None


def encode_viewfinder(blobs: Iterable[tuple[int, bytes]]) -> bytes:
    """A GetViewFinderData reply: the blobs, then the end blob."""
    parts = [_HEADER.pack(8 + len(payload), kind) + payload for kind, payload in blobs]
    return b"".join(parts) + _HEADER.pack(8, ViewFinderBlob.End)


# -- GetDeviceInfoEx ------------------------------------------------------------------------------


def _array(values: Iterable[int]) -> bytes:
    items = list(values)
    return _U32.pack(len(items)) + b"".join(_U32.pack(v) for v in items)


def encode_device_info_ex(events: Iterable[int], properties: Iterable[int], third: Iterable[int]) -> bytes:
    """GetDeviceInfoEx's data: its length, then the three arrays."""
    body = _array(events) + _array(properties) + _array(third)
    return _U32.pack(4 + len(body)) + body


def decode_device_info_ex(data: bytes | bytearray | memoryview) -> tuple[tuple[int, ...], ...]:
    """The three arrays of a GetDeviceInfoEx reply (the last ones empty when cut short)."""
    buf = bytes(data)
    pos, out = 4, []
    for _ in range(3):
        if pos + 4 > len(buf):
            out.append(())
            continue
        n = _U32.unpack_from(buf, pos)[0]
        pos += 4
        n = min(n, (len(buf) - pos) // 4)
        out.append(tuple(_U32.unpack_from(buf, pos + 4 * i)[0] for i in range(n)))
        pos += 4 * n
    return tuple(out)


__all__ = [
    "decode_device_info_ex",
    "decode_set_property",
    "decode_viewfinder",
    "encode_device_info_ex",
    "encode_set_property",
    "encode_viewfinder",
    "viewfinder_jpeg",
]
