"""Fuji handshake packets, containers and live-view framing against the X-T1's bytes."""

from __future__ import annotations

import pytest

from ptpd.fuji.codes import ContainerKind, FujiEventCode, InitFailReason
from ptpd.fuji.packets import (
    Container,
    EventView,
    InitCommandAck,
    InitCommandRequest,
    InitFail,
    LiveViewSplitter,
    decode_handshake,
    encode_liveview_frame,
)
from ptpd.protocol.errors import LocalProtocolError, ProtocolError
from ptpd.protocol.framing import PacketBuffer
from test_fuji_golden import (
    ACK_GUID,
    BRING_UP,
    BRING_UP_EXACT,
    CAPTURE_OK,
    CAPTURE_REQUEST,
    EVENT_CAPTURE_COMPLETE,
    EVENT_OBJECT_ADDED,
    EVENT_PREVIEW,
    FUJI_APP_GUID,
    GET_FILM_DATA,
    GET_FILM_REQUEST,
    INIT_ACK,
    INIT_FAIL_NAME,
    INIT_FAIL_VERSION,
    INIT_GUID,
    INIT_REQUEST_VARIABLE,
    LIVEVIEW_FRAME,
    PREVIEW_DATA_HEADER,
    PREVIEW_REQUEST,
    SET_FILM_DATA_PADDED,
    SET_WB_DATA,
    SET_WB_REQUEST,
    h,
)


def test_init_request_fixed_82_bytes() -> None:
    pkt = InitCommandRequest(guid=FUJI_APP_GUID, name="ptpd").encode()
    # Layout from ptpip.md §9 / fuji-ptpip.md §3.1: len 0x52, type 1, magic, GUID, name padded.
    expected = (
        h("52 00 00 00 01 00 00 00 f2 e4 53 8f") + FUJI_APP_GUID + "ptpd".encode("utf-16-le") + b"\x00" * (54 - 8)
    )
    assert len(pkt) == 82
    assert pkt == expected
    back = InitCommandRequest.decode(pkt)
    assert back == InitCommandRequest(guid=FUJI_APP_GUID, name="ptpd")
    assert back.fixed_size


def test_init_request_variable_form_matches_reference() -> None:
    pkt = InitCommandRequest(guid=INIT_GUID, name="ptpd", fixed_size=False).encode()
    assert pkt == INIT_REQUEST_VARIABLE
    back = decode_handshake(INIT_REQUEST_VARIABLE)
    assert isinstance(back, InitCommandRequest)
    assert (back.guid, back.name, back.version, back.fixed_size) == (INIT_GUID, "ptpd", 0x8F53E4F2, False)


def test_init_request_name_too_long_refused() -> None:
    with pytest.raises(LocalProtocolError):
        InitCommandRequest(guid=FUJI_APP_GUID, name="x" * 27).encode()
    assert len(InitCommandRequest(guid=FUJI_APP_GUID, name="x" * 26).encode()) == 82


def test_init_ack_golden() -> None:
    ack = decode_handshake(INIT_ACK)
    assert ack == InitCommandAck(connection_number=1, guid=ACK_GUID, name="X-T1", version=0x00010000)
    assert ack.encode() == INIT_ACK


def test_init_ack_with_padded_name() -> None:
    # A 68-byte ack like the X-T100's: the name area is zero padded before the version.
    body = h("00 00 00 00") + ACK_GUID + "X-T100".encode("utf-16-le") + b"\x00" * 24 + h("00 00 01 00")
    pkt = (8 + len(body)).to_bytes(4, "little") + h("02 00 00 00") + body
    ack = InitCommandAck.decode(pkt)
    assert (ack.connection_number, ack.name, ack.version) == (0, "X-T100", 0x10000)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [(INIT_FAIL_NAME, InitFailReason.NameNotAccepted), (INIT_FAIL_VERSION, InitFailReason.WrongVersion)],
)
def test_init_fail_golden(raw: bytes, reason: InitFailReason) -> None:
    fail = decode_handshake(raw)
    assert fail == InitFail(reason)
    assert fail.encode() == raw


def test_handshake_garbage() -> None:
    with pytest.raises(ProtocolError):
        decode_handshake(h("0c 00 00 00 07 00 00 00 01 20 00 00"))
    with pytest.raises(ProtocolError):
        decode_handshake(h("0d 00 00 00 05 00 00 00 01 20 00 00"))  # length lies
    with pytest.raises(ProtocolError):
        decode_handshake(b"\x0c\x00")


def test_bring_up_containers_round_trip() -> None:
    for _, raw in BRING_UP:
        c = Container.decode(raw)
        assert c.encode() == raw
    # What our encoder builds for the initiator side is byte-exact with the reference:
    # exactly the operation's parameters, and malc0mn's padded form when asked for.
    assert Container.command(0x1002, 1, (1,)).encode() == BRING_UP_EXACT[0][1]
    assert Container.command(0x1016, 2, (0xDF01,)).encode() == BRING_UP_EXACT[2][1]
    assert Container.command(0x101C, 5, (0, 0)).encode() == BRING_UP_EXACT[11][1]
    assert Container.command(0x1002, 1, (1,), pad=True).encode() == BRING_UP[0][1]
    assert Container.command(0x101C, 5, pad=True).encode() == BRING_UP[11][1]
    data = Container.decode(BRING_UP[6][1])
    assert (data.kind, data.code, data.transaction_id) == (ContainerKind.Data, 0x1015, 3)
    assert int.from_bytes(data.payload, "little") == 0x00020001
    ok = Container.decode(BRING_UP[1][1])
    assert ok == Container.response(0x2001, 1)


def test_unpadded_and_exact_size_forms() -> None:
    req = Container.command(0x1016, 0x68, (0x5005,))
    assert req.encode() == SET_WB_REQUEST
    assert Container.data(0x1016, 0x68, h("06 80")).encode() == SET_WB_DATA
    padded = Container.decode(SET_FILM_DATA_PADDED)
    assert padded.params == (3, 0, 0, 0, 0)
    get = Container.decode(GET_FILM_REQUEST)
    assert (get.kind, get.code, get.params[0]) == (ContainerKind.Command, 0x1015, 0xD001)
    data = Container.decode(GET_FILM_DATA)
    assert bytes(data.payload) == h("02 00")


def test_capture_containers_decode_as_tabulated() -> None:
    req = Container.decode(CAPTURE_REQUEST)
    assert (req.kind, req.code, req.transaction_id, req.params) == (ContainerKind.Command, 0x100E, 7, (0,) * 5)
    assert Container.decode(CAPTURE_OK) == Container.response(0x2001, 7)
    added = EventView.from_container(Container.decode(EVENT_OBJECT_ADDED))
    assert added == EventView(code=FujiEventCode.ObjectAdded, transaction_id=7, params=(7, 0, 0), amount=1)
    preview = EventView.from_container(Container.decode(EVENT_PREVIEW))
    assert preview.code == 0xC001 and preview.transaction_id == 7
    assert preview.params[1] == 0xF129 == 61737
    done = EventView.from_container(Container.decode(EVENT_CAPTURE_COMPLETE))
    assert (done.code, done.transaction_id, done.params) == (0x400D, 8, (8, 0, 0))
    # Our event encoder writes the X-T1's 28-byte layout exactly.
    assert Container.event(0xC001, 7, (7, 0xF129)).encode() == EVENT_PREVIEW
    assert added.encode() == EVENT_OBJECT_ADDED
    prev_req = Container.decode(PREVIEW_REQUEST)
    assert (prev_req.code, prev_req.transaction_id) == (0x9022, 8)
    jpeg = b"\xff\xd8\xff" + bytes(61737 - 3)
    assert Container.data(0x9022, 8, jpeg).header() == PREVIEW_DATA_HEADER


def test_container_garbage() -> None:
    with pytest.raises(ProtocolError):
        Container.decode(h("0c 00 00 00 07 00 01 20 01 00 00 00"))  # kind 7
    with pytest.raises(ProtocolError):
        Container.decode(h("08 00 00 00 03 00 01 20"))
    with pytest.raises(LocalProtocolError):
        Container.command(0x1001, 1, (1, 2, 3, 4, 5, 6))


def _chunks(data: bytes, sizes: list[int]) -> list[bytes]:
    out, pos, i = [], 0, 0
    while pos < len(data):
        n = sizes[i % len(sizes)]
        out.append(data[pos : pos + n])
        pos += n
        i += 1
    return out


STREAM = b"".join(raw for _, raw in BRING_UP)


@pytest.mark.parametrize("sizes", [[len(STREAM)], [1], [3, 7, 13], [31, 2, 64]])
def test_fuji_containers_split_by_the_ptpip_framer_in_odd_chunks(sizes: list[int]) -> None:
    # Fuji containers carry PTP/IP's u32 length prefix: the shared PacketBuffer frames them
    sp = PacketBuffer(min_packet_size=12)
    got = []
    for chunk in _chunks(STREAM, sizes):
        sp.feed(chunk)
        while (pkt := sp.next_packet()) is not None:
            got.append(bytes(pkt))
    assert got == [raw for _, raw in BRING_UP]
    assert len(sp) == 0


def test_the_framer_refuses_absurd_fuji_lengths() -> None:
    sp = PacketBuffer(1000, min_packet_size=12)
    sp.feed(h("00 00 00 00"))
    with pytest.raises(ProtocolError):
        sp.next_packet()
    sp = PacketBuffer(1000, min_packet_size=12)
    sp.feed(h("ff ff ff 7f 02 00"))
    with pytest.raises(ProtocolError):
        sp.next_packet()


def test_liveview_reference_frame() -> None:
    frames = LiveViewSplitter().feed(LIVEVIEW_FRAME)
    assert len(frames) == 1
    f = frames[0]
    assert f.counter == 0x2A
    # 4 length + 14 header = 18 bytes of prefix; the JPEG is what follows.
    assert bytes(f.jpeg) == LIVEVIEW_FRAME[18:]
    assert bytes(f.header) == LIVEVIEW_FRAME[4:18]
    assert f.jpeg.obj is f.frame  # a view of the received frame, not a copy


def _stream(n: int) -> tuple[bytes, list[tuple[int, bytes]]]:
    frames = []
    for i in range(n):
        jpeg = b"\xff\xd8" + bytes([i % 251]) * (i * 37 % 500) + b"\xff\xd9"
        frames.append(((i + 250) & 0xFF, jpeg))
    return b"".join(encode_liveview_frame(c, j) for c, j in frames), frames


@pytest.mark.parametrize("sizes", [None, [1], [5, 17, 3], [1000, 1], [4], [18]])
def test_liveview_split_any_chunking(sizes: list[int] | None) -> None:
    stream, expected = _stream(40)
    stream = LIVEVIEW_FRAME + stream
    expected = [(0x2A, LIVEVIEW_FRAME[18:])] + expected
    sp = LiveViewSplitter()
    got = []
    for chunk in [stream] if sizes is None else _chunks(stream, sizes):
        got += [(f.counter, bytes(f.jpeg)) for f in sp.feed(chunk)]
    assert got == expected
    assert sp.idle
    # The counter wraps 0xFF -> 0 as the X-T1's does.
    counters = [c for c, _ in got]
    assert 0xFF in counters and counters[counters.index(0xFF) + 1] == 0


def test_liveview_buffered_protocol_interface() -> None:
    stream, expected = _stream(5)
    sp = LiveViewSplitter()
    pos = 0
    while pos < len(stream):
        buf = sp.get_buffer()
        n = min(len(buf), 7, len(stream) - pos)
        buf[:n] = stream[pos : pos + n]
        sp.buffer_updated(n)
        pos += n
    assert [(f.counter, bytes(f.jpeg)) for f in sp.pop_frames()] == expected


def test_liveview_refuses_bad_length() -> None:
    with pytest.raises(ProtocolError):
        LiveViewSplitter().feed(h("05 00 00 00 00"))
    with pytest.raises(ProtocolError):
        LiveViewSplitter(max_length=100).feed(h("00 10 00 00"))
