"""A PTP/IP data phase both ways: split into packets to send, reassembled on receipt.

On the wire a data phase is Start Data (the total length, or "unknown"), any number of
Data packets and one End Data, which may carry payload too (ptpip.md §4). One
:class:`~ptpd.protocol.events.DataIn` / ``DataOut`` event stands for all of it.

Sending (:func:`data_packets`): Data packets of ``chunk_size`` payload each and the last
piece in End Data, as views of the caller's payload (nothing is copied).

Receiving (:class:`Reassembly`), whatever the split, checked against the announced
total; a phase the link cut short still gives what arrived (:meth:`Reassembly.so_far`).
Two ways, chosen at Start Data:

* a phase announced as :data:`FILL_THRESHOLD` bytes or more (and at most
  ``max_preallocate``) is received into one ``bytearray`` that grows towards the
  announced total as bytes arrive (so memory follows what the camera sends, not what it
  announces); each byte is written once, at its place, or read there straight from the
  socket (:class:`Streamed`), and the phase is handed out as that buffer, never joined;
* smaller phases, and those of unknown length, are kept as views of the received
  packets and joined once at End Data.

Every phase has a cap: the connection's ``max_data_size``, and below it the limit the
initiator set for its transaction (the size the camera declared for the object, a
dataset's budget). A Start Data that announces more, or bytes past the announced total
or past the cap of an unknown-length phase, raise :class:`OverLimit` as soon as the
packet header that crosses it is in, before its payload is read.
"""

from __future__ import annotations

from collections.abc import Sequence

from ptpd.protocol import packets as pk
from ptpd.protocol.errors import LimitExceeded, ProtocolError
from ptpd.protocol.sansio import Bytes
from ptpd.protocol.transitions import Input, State

#: Payload bytes per Data packet we send. libgphoto2 uses 64 KiB; packets of this size
#: usually sit inside one socket read on the other side, so its framer can slice them
#: without copying.
DEFAULT_CHUNK_SIZE = 64 * 1024
#: Largest data phase we accept (a PTP object is at most 4 GiB: ObjectCompressedSize is u32).
DEFAULT_MAX_DATA_SIZE = 4 * 1024**3
#: A data phase whose Start Data announces at least this many bytes is received into one
#: buffer, each Data payload copied (or read) straight to its place, and handed out as
#: that ``bytearray``, never joined. Smaller phases keep the zero-copy views.
FILL_THRESHOLD = 64 * 1024
#: Phases announced bigger than this are collected as views and joined once, as small
#: ones (the one buffer grows by doubling; past this size a join is the safer bet).
DEFAULT_MAX_PREALLOCATE = 1024 * 1024**2
#: A preallocated phase starts with a buffer of at most this size and doubles it as bytes
#: arrive (never beyond the announced total): a lying Start Data costs the camera as much
#: data as it costs us memory.
FIRST_FILL = 256 * 1024
#: Data and End Data headers: length, type, transaction id.
DATA_HEADER_SIZE = 12


class OverLimit(LimitExceeded):
    """A data phase past its cap. ``own``: the cap was the transaction's own limit (the
    initiator may cancel the transaction and carry on); otherwise the stream itself is
    broken (more than Start Data announced, or past the connection's cap)."""

    def __init__(self, message: str, size: int, limit: int, own: bool) -> None:
        super().__init__(message)
        self.size = size
        self.limit = limit
        self.own = own


def data_packets(transaction_id: int, payload: Bytes, chunk_size: int) -> list[Bytes]:
    """Start Data, Data packets of ``chunk_size``, End Data with the last chunk: headers
    as ``bytes``, payloads as views of ``payload``."""
    view = memoryview(payload).cast("B")
    total = len(view)
    parts: list[Bytes] = [pk.StartData(transaction_id, total).encode()]
    pos = 0
    while total - pos > chunk_size:
        chunk = view[pos : pos + chunk_size]
        parts.append(pk.Data(transaction_id, chunk).header())
        parts.append(chunk)
        pos += chunk_size
    last = view[pos:]
    parts.append(pk.EndData(transaction_id, last).header())
    if len(last):
        parts.append(last)
    return parts


def strip(parts: list[memoryview], n: int) -> list[memoryview]:
    """``parts`` without their first ``n`` bytes."""
    out = []
    for part in parts:
        if n >= len(part):
            n -= len(part)
            continue
        out.append(part[n:] if n else part)
        n = 0
    return out


def _grow(buf: bytearray, size: int, used: int) -> bytearray:
    """``buf`` made ``size`` long, its first ``used`` bytes kept: in place when no view of it
    is held (realloc moves big blocks without copying), else copied into a new buffer."""
    try:
        buf += bytes(size - len(buf))
        return buf
    except BufferError:
        # someone still holds a view of it (a read in flight): copy to a new one
        new = bytearray(size)
        memoryview(new)[:used] = memoryview(buf)[:used]
        return new


class Reassembly:
    """One data phase being received.

    Either into ``buf`` (big phases, see the module docstring) or as pieces kept as views
    and joined once at End Data (small phases, unknown totals).
    """

    __slots__ = ("transaction_id", "total", "received", "parts", "buf", "cap", "own")

    def __init__(
        self, transaction_id: int, total: int, prealloc: bool, cap: int = DEFAULT_MAX_DATA_SIZE, own: bool = False
    ) -> None:
        self.transaction_id = transaction_id
        self.total = total
        self.received = 0
        self.parts: list[Bytes] = []
        self.buf: bytearray | None = bytearray(min(total, FIRST_FILL)) if prealloc else None
        self.cap = cap  #: most bytes this phase may bring
        self.own = own  #: ``cap`` is the transaction's own limit, not the connection's

    @classmethod
    def start(
        cls, start: pk.StartData, max_data_size: int, max_preallocate: int, limit: int | None = None
    ) -> Reassembly:
        """The reassembly a Start Data announces; :class:`OverLimit` if it announces more
        than ``max_data_size`` or the transaction's ``limit``."""
        own = limit is not None and limit < max_data_size
        cap = limit if own else max_data_size
        assert cap is not None
        known = start.total_length != pk.UNKNOWN_DATA_LENGTH
        if known and start.total_length > cap:
            what = "the transaction allows" if own else "is the cap"
            raise OverLimit(
                f"data phase of {start.total_length} bytes announced, {cap} {what}", start.total_length, cap, own
            )
        prealloc = known and FILL_THRESHOLD <= start.total_length <= max_preallocate
        return cls(start.transaction_id, start.total_length, prealloc, cap, own)

    @property
    def in_place(self) -> bool:
        """True if the phase is received into one buffer (payloads may be read there)."""
        return self.buf is not None

    def room(self, want: int) -> memoryview:
        """A view of the next (at most ``want``) bytes of ``buf``, grown if it is full."""
        buf = self.buf
        assert buf is not None
        cap = len(buf)
        if cap == self.received and cap < self.total:
            buf = self.buf = _grow(buf, min(self.total, 2 * cap), self.received)
            cap = len(buf)
        return memoryview(buf)[self.received : min(cap, self.received + want)]

    def check_room(self, size: int) -> None:
        """Refuse a packet of ``size`` payload bytes that would pass the announced total
        (a broken stream) or, in a phase of unknown length, the cap (:class:`OverLimit`)."""
        n = self.received + size
        if self.total != pk.UNKNOWN_DATA_LENGTH:
            if n > self.total:
                raise OverLimit(
                    f"data phase sent {n} bytes, more than the {self.total} announced", n, self.total, False
                )
        elif n > self.cap:
            what = "the transaction allows" if self.own else "is the cap"
            raise OverLimit(f"data phase of unknown length sent {n} bytes, {self.cap} {what}", n, self.cap, self.own)

    def add(self, parts: Sequence[Bytes]) -> None:
        """Payload pieces of one Data / End Data packet, in order."""
        self.check_room(sum(len(part) for part in parts))
        for part in parts:
            if self.buf is not None:
                part = memoryview(part)
                while len(part):
                    room = self.room(len(part))
                    room[:] = part[: len(room)]
                    part = part[len(room) :]
                    self.received += len(room)
            elif len(part):
                self.parts.append(part)
                self.received += len(part)

    def so_far(self) -> Bytes:
        """The bytes received so far, in order from the phase's first: a view of the one
        buffer, or the whole packets joined (a packet still arriving is not in it). What a
        phase cut short by a dropped link leaves to keep."""
        if self.buf is not None:
            return memoryview(self.buf)[: self.received]
        parts = self.parts
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def payload(self) -> Bytes:
        """The whole phase at End Data; :class:`ProtocolError` if it came short."""
        if self.total != pk.UNKNOWN_DATA_LENGTH and self.received != self.total:
            raise ProtocolError(f"data phase ended after {self.received} of {self.total} bytes")
        if self.buf is not None:
            return self.buf
        parts = self.parts
        return parts[0] if len(parts) == 1 and isinstance(parts[0], bytes) else b"".join(parts)


class Streamed:
    """A Data / End Data packet of an in-place phase whose header was taken and whose
    payload is still arriving (it goes straight into the phase's buffer)."""

    __slots__ = ("inp", "nxt", "tid", "left", "discard")

    def __init__(self, inp: Input, nxt: State, tid: int, left: int) -> None:
        self.inp = inp
        self.nxt = nxt
        self.tid = tid
        self.left = left  #: payload bytes of this packet not received yet
        self.discard = False  #: the transaction ended (we cancelled it): drop the rest


__all__ = [
    "DATA_HEADER_SIZE",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_MAX_DATA_SIZE",
    "DEFAULT_MAX_PREALLOCATE",
    "FILL_THRESHOLD",
    "FIRST_FILL",
    "OverLimit",
    "Reassembly",
    "Streamed",
    "data_packets",
    "strip",
]
