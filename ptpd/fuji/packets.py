"""Fuji wire records: handshake packets, 12-byte containers, live-view frames.

Three framings share one rule — a u32 length that counts itself — and nothing else
(fuji-ptpip.md §2):

* the handshake on the command port uses PTP/IP headers (u32 length, u32 type), with
  Fuji's InitCommandRequest putting the protocol version 0x8F53E4F2 *first* and, as
  Fuji's app and libgphoto2 send it, a fixed 82-byte size;
* everything after it, on the command and event ports, is a PTP-over-USB style
  container: u32 length, u16 kind, u16 code, u32 transaction id, payload;
* the live-view port carries u32 length, a 14-byte header (frame counter at byte 8 of
  the frame), then one JPEG.

This module is pure: records with ``encode()``/``decode()``, a splitter for
length-prefixed streams, and a live-view frame splitter. No I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ptpd.fuji.codes import FUJI_PROTOCOL_VERSION, ContainerKind, HandshakePacketType
from ptpd.protocol.buffer import Reader, Writer
from ptpd.protocol.errors import LocalProtocolError, ProtocolError

#: The size of Fuji's own InitCommandRequest (and libgphoto2's): 0x52 bytes.
INIT_REQUEST_SIZE = 82
#: Its friendly-name field: 27 UTF-16 units (26 characters + NUL), zero padded.
NAME_FIELD_BYTES = INIT_REQUEST_SIZE - 28
MAX_NAME_CHARS = NAME_FIELD_BYTES // 2 - 1
#: The constant GUID Fuji's app and hkr/fuji-cam-wifi-tool send (fuji-ptpip.md §3.1).
FUJI_APP_GUID = bytes.fromhex("ada5485d87b27f0bd3d5ded00278a8c0")

CONTAINER_HEADER_SIZE = 12
#: At most five parameters per request (the PTP container's slots). malc0mn fills all
#: five (32 bytes) and the X-T1 accepted that; Fuji's app and libgphoto2 send only the
#: ones an operation takes (12 + 4 n bytes), and petabyt/vcam, modelled on real bodies,
#: refuses a padded OpenSession. No body is known to need the padding.
PADDED_PARAMS = 5
#: Event containers are 28 bytes on the X-T1: "amount", tid, three parameters.
EVENT_SIZE = 28

#: Live-view frame: u32 length, then this many header bytes, then the JPEG.
LIVEVIEW_HEADER_SIZE = 14
LIVEVIEW_PREFIX_SIZE = 4 + LIVEVIEW_HEADER_SIZE
#: Offset of the frame counter inside a live-view frame (after the length and a u32 0).
LIVEVIEW_COUNTER_OFFSET = 8

#: Refuse containers longer than this: a full-size JPEG of a modern body is < 64 MiB.
DEFAULT_MAX_CONTAINER = 256 * 1024 * 1024
#: Refuse live-view frames longer than this (an XGA JPEG is ~100-300 KiB).
DEFAULT_MAX_LIVEVIEW_FRAME = 16 * 1024 * 1024


def _check_guid(guid: bytes) -> None:
    if len(guid) != 16:
        raise LocalProtocolError(f"a GUID is 16 bytes, got {len(guid)}")


def _header(data: bytes | bytearray | memoryview, expected: HandshakePacketType) -> Reader:
    r = Reader(data)
    length = r.u32()
    if length != len(data):
        raise ProtocolError(f"packet length field {length} does not match its {len(data)} bytes")
    ptype = r.u32()
    if ptype != expected:
        raise ProtocolError(f"expected PTP/IP packet type {int(expected)}, got {ptype}")
    return r


# --------------------------------------------------------------------------- handshake


@dataclass(frozen=True, slots=True)
class InitCommandRequest:
    """Fuji's InitCommandRequest: version first, then GUID, then the friendly name.

    ``fixed_size`` (the default) writes the 82-byte form Fuji's app and libgphoto2 send
    (name zero padded to 54 bytes; some bodies close the socket on anything else);
    ``False`` writes malc0mn's variable-length form. ``decode`` accepts both.
    """

    guid: bytes
    name: str
    version: int = FUJI_PROTOCOL_VERSION
    fixed_size: bool = field(default=True, compare=False)

    def encode(self) -> bytes:
        _check_guid(self.guid)
        name = self.name.encode("utf-16-le")
        if self.fixed_size:
            if len(self.name) > MAX_NAME_CHARS or len(name) > NAME_FIELD_BYTES - 2:
                raise LocalProtocolError(f"friendly name {self.name!r} is longer than {MAX_NAME_CHARS} characters")
            name_field = name.ljust(NAME_FIELD_BYTES, b"\x00")
        else:
            name_field = name + b"\x00\x00"
        w = Writer()
        w.u32(28 + len(name_field)).u32(HandshakePacketType.InitCommandRequest)
        w.u32(self.version).bytes(self.guid).bytes(name_field)
        return w.getvalue()

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> InitCommandRequest:
        r = _header(data, HandshakePacketType.InitCommandRequest)
        version = r.u32()
        guid = r.bytes(16)
        raw = r.rest()
        name = _utf16_until_nul(raw)
        return cls(guid=guid, name=name, version=version, fixed_size=len(data) == INIT_REQUEST_SIZE)


@dataclass(frozen=True, slots=True)
class InitCommandAck:
    """The camera's acceptance, in the standard PTP/IP layout (fuji-ptpip.md §3.2)."""

    connection_number: int
    guid: bytes
    name: str
    version: int = 0x00010000

    def encode(self) -> bytes:
        _check_guid(self.guid)
        w = Writer()
        body = self.name.encode("utf-16-le") + b"\x00\x00"
        w.u32(8 + 4 + 16 + len(body) + 4).u32(HandshakePacketType.InitCommandAck)
        w.u32(self.connection_number).bytes(self.guid).bytes(body).u32(self.version)
        return w.getvalue()

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> InitCommandAck:
        r = _header(data, HandshakePacketType.InitCommandAck)
        conn = r.u32()
        guid = r.bytes(16)
        if r.remaining < 4:
            raise ProtocolError("InitCommandAck has no room for its version")
        # Everything between the GUID and the last four bytes is the (padded) name.
        name = _utf16_until_nul(r.bytes(r.remaining - 4))
        version = r.u32()
        return cls(connection_number=conn, guid=guid, name=name, version=version)


@dataclass(frozen=True, slots=True)
class InitFail:
    """The camera's refusal: 12 bytes with a u32 reason (:class:`InitFailReason`)."""

    reason: int

    def encode(self) -> bytes:
        return Writer().u32(12).u32(HandshakePacketType.InitFail).u32(self.reason).getvalue()

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> InitFail:
        r = _header(data, HandshakePacketType.InitFail)
        return cls(reason=r.u32())


HandshakePacket = InitCommandRequest | InitCommandAck | InitFail
_HANDSHAKE_DECODERS: dict[HandshakePacketType, Callable[[bytes | bytearray | memoryview], HandshakePacket]] = {
    HandshakePacketType.InitCommandRequest: InitCommandRequest.decode,
    HandshakePacketType.InitCommandAck: InitCommandAck.decode,
    HandshakePacketType.InitFail: InitFail.decode,
}


def decode_handshake(data: bytes | bytearray | memoryview) -> HandshakePacket:
    """Decode one whole handshake packet (length field included) by its type."""
    r = Reader(data)
    r.u32()
    ptype = r.u32()
    try:
        decoder = _HANDSHAKE_DECODERS[HandshakePacketType(ptype)]
    except ValueError:
        raise ProtocolError(f"PTP/IP packet type {ptype} is not part of Fuji's handshake") from None
    return decoder(data)


def _utf16_until_nul(raw: bytes) -> str:
    # Names may be zero padded (the fixed 82-byte form) or odd-length garbage after the
    # NUL; take UTF-16 units up to the first NUL unit.
    units = len(raw) // 2
    end = units
    for i in range(units):
        if raw[2 * i] == 0 and raw[2 * i + 1] == 0:
            end = i
            break
    try:
        return raw[: 2 * end].decode("utf-16-le")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"friendly name is not valid UTF-16: {exc}") from exc


# --------------------------------------------------------------------------- containers


@dataclass(frozen=True, slots=True)
class Container:
    """One Fuji container: u32 length, u16 kind, u16 code, u32 transaction id, payload.

    For a data container ``code`` is the operation code of its transaction; for a
    response the response code; for an event the event code. On the X-T1's 28-byte
    events the "transaction id" slot holds 1 (malc0mn's "amount") and the real
    transaction id is the first payload word — see :meth:`event` and :class:`EventView`.
    """

    kind: ContainerKind
    code: int
    transaction_id: int
    payload: bytes | bytearray | memoryview = b""

    @property
    def params(self) -> tuple[int, ...]:
        """The payload read as u32 parameters (a trailing partial word is ignored)."""
        return _u32s(self.payload)

    def encode(self) -> bytes:
        """The whole container: header and payload in one bytes object (one TCP write)."""
        w = Writer()
        w.u32(CONTAINER_HEADER_SIZE + len(self.payload)).u16(self.kind).u16(self.code)
        w.u32(self.transaction_id).bytes(self.payload)
        return w.getvalue()

    def header(self) -> bytes:
        """Only the 12 header bytes, for writing a large payload without joining it."""
        w = Writer()
        w.u32(CONTAINER_HEADER_SIZE + len(self.payload)).u16(self.kind).u16(self.code)
        return w.u32(self.transaction_id).getvalue()

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Container:
        """Decode one whole container. The payload is a zero-copy slice when ``data``
        is a memoryview or bytearray, and a bytes slice otherwise."""
        r = Reader(data)
        length = r.u32()
        if length != len(data):
            raise ProtocolError(f"container length field {length} does not match its {len(data)} bytes")
        if length < CONTAINER_HEADER_SIZE:
            raise ProtocolError(f"container of {length} bytes is shorter than its 12-byte header")
        kind_raw = r.u16()
        try:
            kind = ContainerKind(kind_raw)
        except ValueError:
            raise ProtocolError(f"unknown Fuji container kind 0x{kind_raw:04X}") from None
        code = r.u16()
        tid = r.u32()
        payload = data[CONTAINER_HEADER_SIZE:]
        return cls(kind=kind, code=code, transaction_id=tid, payload=payload)

    # Constructors -----------------------------------------------------------------

    @classmethod
    def command(
        cls, code: int, transaction_id: int, params: tuple[int, ...] | list[int] = (), *, pad: bool = False
    ) -> Container:
        """An operation request carrying exactly ``params`` (12 + 4 n bytes, the form Fuji's
        app and libgphoto2 send). ``pad`` fills five parameter slots (32 bytes), malc0mn's
        form, kept to read and replay its X-T1 dumps."""
        params = tuple(params)
        if len(params) > PADDED_PARAMS:
            raise LocalProtocolError(f"an operation carries at most 5 parameters, got {len(params)}")
        if pad:
            params = params + (0,) * (PADDED_PARAMS - len(params))
        return cls(ContainerKind.Command, code, transaction_id, _pack_u32s(params))

    @classmethod
    def data(cls, code: int, transaction_id: int, payload: bytes | bytearray | memoryview) -> Container:
        """A data-phase container; ``code`` is the transaction's operation code."""
        return cls(ContainerKind.Data, code, transaction_id, payload)

    @classmethod
    def response(cls, code: int, transaction_id: int, params: tuple[int, ...] | list[int] = ()) -> Container:
        """An operation response (0x2001 OK, or a PTP error code)."""
        return cls(ContainerKind.Response, code, transaction_id, _pack_u32s(tuple(params)))

    @classmethod
    def event(
        cls, code: int, transaction_id: int, params: tuple[int, ...] | list[int] = (), *, amount: int = 1
    ) -> Container:
        """An event in the X-T1's 28-byte layout: ``amount`` (always 1 on the X-T1) in the
        header's transaction slot, then the transaction id and three parameters."""
        params = tuple(params)
        if len(params) > 3:
            raise LocalProtocolError(f"a Fuji event carries at most 3 parameters, got {len(params)}")
        words = (transaction_id,) + params + (0,) * (3 - len(params))
        return cls(ContainerKind.Event, code, amount, _pack_u32s(words))


@dataclass(frozen=True, slots=True)
class EventView:
    """An event container in either of the two layouts Fuji events come in.

    * The X-T1's 28 bytes (fuji-ptpip.md §8.1): "amount" (always 1) in the header's
      transaction slot, then the transaction id and three words; ``params`` are those
      three (for the capture events param1 repeats the transaction id and param2 of
      0xC001 is the preview size).
    * The USB container, as libgphoto2 reads Fuji events (``fujiptpip.c``: the header's
      transaction id, then up to four parameters): anything that is not exactly the
      X-T1's shape, e.g. ObjectAdded(handle) in 16 bytes.
    """

    code: int
    transaction_id: int
    params: tuple[int, ...]
    amount: int = 1

    @classmethod
    def from_container(cls, c: Container) -> EventView:
        if c.kind != ContainerKind.Event:
            raise ProtocolError(f"expected an event container, got kind {c.kind.name}")
        words = c.params
        if len(words) == 4 and c.transaction_id == 1 and len(c.payload) == EVENT_SIZE - CONTAINER_HEADER_SIZE:
            return cls(code=c.code, transaction_id=words[0], params=words[1:], amount=c.transaction_id)
        # the USB layout: the header slot is the transaction id, the words its parameters
        return cls(code=c.code, transaction_id=c.transaction_id, params=words, amount=1)

    def encode(self) -> bytes:
        return Container.event(self.code, self.transaction_id, self.params, amount=self.amount).encode()


def _u32s(payload: bytes | bytearray | memoryview) -> tuple[int, ...]:
    r = Reader(payload)
    return tuple(r.u32() for _ in range(len(payload) // 4))


def _pack_u32s(words: tuple[int, ...]) -> bytes:
    w = Writer()
    for v in words:
        w.u32(v)
    return w.getvalue()


# --------------------------------------------------------------------------- live view


@dataclass(frozen=True, slots=True, eq=False)
class LiveViewPacket:
    """One frame of the live-view stream: the whole frame bytes and views into them.

    ``jpeg`` and ``header`` are zero-copy memoryviews of ``frame`` (which is the
    length field, the 14 header bytes and the JPEG, exactly as received).
    """

    frame: bytes | bytearray
    counter: int

    @property
    def header(self) -> memoryview:
        """The 14 header bytes after the length."""
        return memoryview(self.frame)[4:LIVEVIEW_PREFIX_SIZE]

    @property
    def jpeg(self) -> memoryview:
        """The JPEG image, as a slice of the received frame."""
        return memoryview(self.frame)[LIVEVIEW_PREFIX_SIZE:]

    @classmethod
    def decode(cls, frame: bytes | bytearray) -> LiveViewPacket:
        r = Reader(frame)
        length = r.u32()
        if length != len(frame):
            raise ProtocolError(f"live-view length field {length} does not match its {len(frame)} bytes")
        if length < LIVEVIEW_PREFIX_SIZE:
            raise ProtocolError(f"live-view frame of {length} bytes is shorter than its 18-byte prefix")
        return cls(frame=frame, counter=frame[LIVEVIEW_COUNTER_OFFSET])


def encode_liveview_frame(counter: int, jpeg: bytes | bytearray | memoryview, tail: bytes = b"\xff\xff") -> bytes:
    """One live-view frame: u32 length, u32 0, counter byte (mod 256), 7 zero bytes,
    two "varying" bytes (``tail``; the X-T1 showed ff ff, 5e 49, 4b bf), the JPEG."""
    if len(tail) != 2:
        raise LocalProtocolError("the live-view header tail is two bytes")
    w = Writer()
    w.u32(LIVEVIEW_PREFIX_SIZE + len(jpeg)).u32(0).u8(counter & 0xFF).bytes(b"\x00" * 7).bytes(tail)
    w.bytes(jpeg)
    return w.getvalue()


class LiveViewSplitter:
    """Splits the live-view stream into frames, with one copy per byte at most.

    Each frame gets its own ``bytearray`` sized from its length field; bytes are
    copied into it once, and the frame is handed out as that buffer (so the JPEG is a
    slice of it, never copied again). It serves both ways of reading a socket:

    * ``feed(data) -> list[LiveViewPacket]`` for stream readers;
    * ``get_buffer()`` / ``buffer_updated(n)`` for ``asyncio.BufferedProtocol``, where
      the kernel writes straight into the frame buffer (no copy at all).
    """

    __slots__ = ("_lenbuf", "_lenview", "_lenfill", "_frame", "_view", "_fill", "max_length", "_ready")

    def __init__(self, *, max_length: int = DEFAULT_MAX_LIVEVIEW_FRAME) -> None:
        self.max_length = max_length
        self._lenbuf = bytearray(4)
        self._lenview = memoryview(self._lenbuf)
        self._lenfill = 0
        self._frame: bytearray | None = None
        self._view: memoryview | None = None  #: of ``_frame``, made once per frame
        self._fill = 0
        self._ready: list[LiveViewPacket] = []

    def get_buffer(self, sizehint: int = -1) -> memoryview:
        """Where the next received bytes should go (for ``BufferedProtocol``)."""
        if self._view is None:
            return self._lenview[self._lenfill :]
        return self._view[self._fill :]

    def buffer_updated(self, n: int) -> None:
        """``n`` bytes were written into the last :meth:`get_buffer`."""
        if self._frame is None:
            self._lenfill += n
            if self._lenfill == 4:
                self._start_frame()
        else:
            self._fill += n
            if self._fill == len(self._frame):
                self._finish_frame()

    def pop_frames(self) -> Sequence[LiveViewPacket]:
        """Frames completed since the last call (nothing is allocated when there are none:
        most reads complete no frame)."""
        ready = self._ready
        if not ready:
            return ()
        self._ready = []
        return ready

    def feed(self, data: bytes | bytearray | memoryview) -> Sequence[LiveViewPacket]:
        """Take any chunk of the stream; return the frames it completed."""
        mv = memoryview(data).cast("B")
        pos = 0
        while pos < len(mv):
            target = self.get_buffer()
            n = min(len(target), len(mv) - pos)
            target[:n] = mv[pos : pos + n]
            pos += n
            self.buffer_updated(n)
        return self.pop_frames()

    @property
    def idle(self) -> bool:
        """True between frames (no partial frame buffered)."""
        return self._frame is None and self._lenfill == 0

    def _start_frame(self) -> None:
        length = int.from_bytes(self._lenbuf, "little")
        if length < LIVEVIEW_PREFIX_SIZE or length > self.max_length:
            raise ProtocolError(f"live-view frame length {length} is outside {LIVEVIEW_PREFIX_SIZE}..{self.max_length}")
        frame = bytearray(length)
        frame[:4] = self._lenbuf
        self._frame = frame
        self._view = memoryview(frame)
        self._fill = 4
        self._lenfill = 0

    def _finish_frame(self) -> None:
        frame = self._frame
        assert frame is not None
        self._frame = None
        self._view = None
        self._fill = 0
        self._ready.append(LiveViewPacket(frame=frame, counter=frame[LIVEVIEW_COUNTER_OFFSET]))


__all__ = [
    "CONTAINER_HEADER_SIZE",
    "DEFAULT_MAX_CONTAINER",
    "DEFAULT_MAX_LIVEVIEW_FRAME",
    "EVENT_SIZE",
    "FUJI_APP_GUID",
    "INIT_REQUEST_SIZE",
    "LIVEVIEW_HEADER_SIZE",
    "LIVEVIEW_PREFIX_SIZE",
    "MAX_NAME_CHARS",
    "Container",
    "EventView",
    "HandshakePacket",
    "InitCommandAck",
    "InitCommandRequest",
    "InitFail",
    "LiveViewPacket",
    "LiveViewSplitter",
    "decode_handshake",
    "encode_liveview_frame",
]
