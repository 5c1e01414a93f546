"""Splitting a PTP/IP byte stream into whole packets by their u32 Length field.

TCP delivers bytes, not packets: one read may hold several packets and one packet may
span many reads (ptpip.md §1). :class:`PacketBuffer` collects what was read and hands out
whole packets, in the discipline of h11's ``_receivebuffer`` and wsproto's ``Buffer``:

* Linear time. Received chunks are kept as a queue of immutable ``memoryview`` s and never
  re-sliced as a whole; taking a packet costs O(packet), never O(buffer).
* Few copies. A packet that lies inside one received chunk is returned as a ``memoryview``
  slice of it (zero copy); one that spans chunks is joined once into ``bytes``.
* A cap. A Length below the minimum (8, the header) or above ``max_packet_size`` is refused
  with :class:`ProtocolError` as soon as the 4 length bytes are in — before anything is
  allocated or waited for, so a bogus 4 GB length costs nothing.

The buffer knows only the length prefix (u32 little-endian, counting itself), so the Fuji
dialect, whose packets share that prefix, can reuse it with its own ``min_packet_size``.
"""

from __future__ import annotations

import struct
from collections import deque

from ptpd.protocol.errors import ProtocolError

#: The Length field counts the 8-byte header, so no packet is shorter.
MIN_PACKET_SIZE = 8
#: Default cap: a 64 MiB Data payload plus its 12-byte header. Cameras send far smaller
#: Data packets (libgphoto2 uses ≤ 64 KiB), so anything bigger is a broken stream.
DEFAULT_MAX_PACKET_SIZE = 64 * 1024 * 1024 + 12

_U32 = struct.Struct("<I")


class PacketBuffer:
    """Receive buffer yielding whole length-prefixed packets.

    >>> buf = PacketBuffer()
    >>> buf.feed(b"\\x08\\x00\\x00\\x00\\x0d\\x00")
    >>> buf.next_packet() is None
    True
    >>> buf.feed(b"\\x00\\x00")
    >>> bytes(buf.next_packet())
    b'\\x08\\x00\\x00\\x00\\r\\x00\\x00\\x00'
    """

    __slots__ = ("_chunks", "_size", "max_packet_size", "min_packet_size")

    def __init__(
        self,
        max_packet_size: int = DEFAULT_MAX_PACKET_SIZE,
        min_packet_size: int = MIN_PACKET_SIZE,
    ) -> None:
        if min_packet_size < 4 or max_packet_size < min_packet_size:
            raise ValueError("need 4 <= min_packet_size <= max_packet_size")
        self.max_packet_size = max_packet_size
        self.min_packet_size = min_packet_size
        self._chunks: deque[memoryview] = deque()
        self._size = 0

    def __len__(self) -> int:
        """Bytes received and not yet handed out."""
        return self._size

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append received bytes. A mutable buffer is copied (the caller may reuse it)."""
        if not data:
            return
        if isinstance(data, bytes):
            view = memoryview(data)
        elif isinstance(data, memoryview) and data.readonly:
            view = data.cast("B")
        else:
            view = memoryview(bytes(data))
        self._chunks.append(view)
        self._size += len(view)

    def _peek(self, n: int) -> bytes:
        """The first ``n`` buffered bytes (caller checked that they are there)."""
        head = self._chunks[0]
        if len(head) >= n:
            return bytes(head[:n])
        out = bytearray()
        for chunk in self._chunks:
            out += chunk[: n - len(out)]
            if len(out) >= n:
                break
        return bytes(out)

    def _take(self, n: int) -> bytes | memoryview:
        """Remove and return the first ``n`` bytes: a slice if they sit in one chunk."""
        parts = self._take_parts(n)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _take_parts(self, n: int) -> list[memoryview]:
        """Remove the first ``n`` bytes as a list of views (nothing copied)."""
        chunks = self._chunks
        self._size -= n
        parts = []
        need = n
        while need:
            head = chunks[0]
            if len(head) <= need:
                parts.append(chunks.popleft())
                need -= len(head)
            else:
                parts.append(head[:need])
                chunks[0] = head[need:]
                need = 0
        return parts

    def peek(self, n: int) -> bytes | None:
        """The first ``n`` buffered bytes without removing them, or ``None`` if fewer are in."""
        if self._size < n:
            return None
        return self._peek(n)

    def next_length(self) -> int | None:
        """The Length of the next packet once its 4 bytes are in (checked against the caps)."""
        if self._size < 4:
            return None
        length: int = _U32.unpack(self._peek(4))[0]
        if length < self.min_packet_size:
            raise ProtocolError(f"packet Length {length} is shorter than the {self.min_packet_size}-byte header")
        if length > self.max_packet_size:
            raise ProtocolError(f"packet Length {length} exceeds the cap of {self.max_packet_size} bytes")
        return length

    def next_packet(self) -> bytes | memoryview | None:
        """The next whole packet (header included), or ``None`` if more bytes are needed."""
        length = self.next_length()
        if length is None or self._size < length:
            return None
        return self._take(length)

    def next_packet_parts(self) -> list[memoryview] | None:
        """Like :meth:`next_packet`, never copying: the packet as views of the received chunks.

        For big Data packets that straddle socket reads: the receiver can keep the views
        and join a whole data phase once, instead of joining each packet and then again.
        """
        length = self.next_length()
        if length is None or self._size < length:
            return None
        return self._take_parts(length)

    def take_into(self, target: memoryview) -> int:
        """Move up to ``len(target)`` buffered bytes into ``target``; return how many.

        For a payload that is received into a buffer of its own (a big data phase): the
        bytes that came in with a header are copied once, straight to their place.
        """
        n = min(self._size, len(target))
        pos = 0
        for part in self._take_parts(n):
            k = len(part)
            target[pos : pos + k] = part
            pos += k
        return n

    def skip(self, n: int) -> int:
        """Drop up to ``n`` buffered bytes; return how many were dropped."""
        n = min(self._size, n)
        self._take_parts(n)
        return n

    def take_rest(self) -> bytes:
        """Everything still buffered (e.g. to hand the stream to another framer)."""
        data = b"".join(self._chunks)
        self._chunks.clear()
        self._size = 0
        return data


__all__ = ["DEFAULT_MAX_PACKET_SIZE", "MIN_PACKET_SIZE", "PacketBuffer"]
