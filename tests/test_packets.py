"""PTP/IP packets and framing: golden bytes written by hand from ptpip.md §2, round trips, fuzz."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ptpd.protocol.errors import LocalProtocolError, ProtocolError
from ptpd.protocol.framing import PacketBuffer
from ptpd.protocol.packets import (
    PACKET_CLASSES,
    Cancel,
    Data,
    DataPhase,
    EndData,
    Event,
    InitCommandAck,
    InitCommandRequest,
    InitEventAck,
    InitEventRequest,
    InitFail,
    OperationRequest,
    OperationResponse,
    PacketType,
    ProbeRequest,
    ProbeResponse,
    StartData,
    decode_packet,
)


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace("|", " "))


GUID = bytes(range(16))

# (packet, bytes) — every hex string is written from the byte-layout tables of ptpip.md §2,
# field by field, not produced by our encoder.
GOLDEN = [
    (
        InitCommandRequest(GUID, "ab"),
        # Length 8+16+2*3+4 = 34, Type 1, GUID, "ab\0" UTF-16LE, version 1.0
        h("22000000 01000000 000102030405060708090a0b0c0d0e0f | 6100 6200 0000 | 00000100"),
    ),
    (
        InitCommandAck(1, b"\xff" * 16, "X"),
        # Length 8+4+16+4+4 = 36, Type 2, ConnectionNumber 1, GUID, "X\0", version
        h("24000000 02000000 01000000" + "ff" * 16 + "5800 0000 00000100"),
    ),
    (InitEventRequest(1), h("0c000000 03000000 01000000")),
    (InitEventAck(), h("08000000 04000000")),
    (InitFail(2), h("0c000000 05000000 02000000")),
    (
        OperationRequest(DataPhase.NoDataOrIn, 0x1002, 0, (1,)),
        # OpenSession(1), TID 0: 18 + 4 = 22 bytes
        h("16000000 06000000 01000000 0210 00000000 01000000"),
    ),
    (
        OperationRequest(2, 0x1016, 7, (0x500F,)),
        h("16000000 06000000 02000000 1610 07000000 0f500000"),
    ),
    (OperationRequest(1, 0x1001, 1), h("12000000 06000000 01000000 0110 01000000")),
    (OperationResponse(0x2001, 0), h("0e000000 07000000 0120 00000000")),
    (
        OperationResponse(0x2001, 3, (1, 2, 3, 4, 5)),
        h("22000000 07000000 0120 03000000 01000000 02000000 03000000 04000000 05000000"),
    ),
    (Event(0x4002, 5, (0x10,)), h("12000000 08000000 0240 05000000 10000000")),
    (Event(0x400D), h("0e000000 08000000 0d40 ffffffff")),
    (
        StartData(1, 0x1_0000_0002),
        # u64 total length: low half first
        h("14000000 09000000 01000000 02000000 01000000"),
    ),
    (Data(1, b"abc"), h("0f000000 0a000000 01000000 616263")),
    (Cancel(7), h("0c000000 0b000000 07000000")),
    (EndData(1, b""), h("0c000000 0c000000 01000000")),
    (EndData(9, b"\x00\x01"), h("0e000000 0c000000 09000000 0001")),
    (ProbeRequest(), h("08000000 0d000000")),
    (ProbeResponse(), h("08000000 0e000000")),
]


@pytest.mark.parametrize(("packet", "wire"), GOLDEN, ids=[type(p).__name__ for p, _ in GOLDEN])
def test_golden_encode(packet, wire):
    assert packet.encode() == wire


@pytest.mark.parametrize(("packet", "wire"), GOLDEN, ids=[type(p).__name__ for p, _ in GOLDEN])
def test_golden_decode(packet, wire):
    got = decode_packet(wire)
    assert type(got) is type(packet)
    assert got == packet


def test_all_fourteen_types():
    assert len(PacketType) == 14
    assert set(PACKET_CLASSES) == set(PacketType)
    assert {type(p).TYPE for p, _ in GOLDEN} == set(PacketType)


def test_data_payload_is_a_view_not_a_copy():
    wire = h("0f000000 0a000000 01000000 616263")
    pkt = decode_packet(wire)
    assert isinstance(pkt.payload, memoryview)
    assert pkt.payload.obj is wire
    assert bytes(pkt.payload) == b"abc"


def test_data_header_lets_payload_go_out_uncopied():
    payload = b"x" * 100
    pkt = Data(4, payload)
    assert pkt.header() + payload == pkt.encode()


def test_non_ascii_friendly_name():
    pkt = InitCommandRequest(GUID, "Kamera ü 写真")
    assert decode_packet(pkt.encode()).name == "Kamera ü 写真"


BAD = [
    ("short header", h("0800 0000")),
    ("length mismatch", h("0c000000 03000000 01000000 00")),
    ("length smaller", h("10000000 03000000 01000000")),
    ("unknown type 0", h("08000000 00000000")),
    ("unknown type 15", h("08000000 0f000000")),
    ("event ack with payload", h("0c000000 04000000 00000000")),
    ("start data too short", h("10000000 09000000 01000000 00000000")),
    ("probe with payload", h("09000000 0d000000 00")),
    ("op request truncated", h("0e000000 06000000 01000000 0110")),
    ("op request half param", h("14000000 06000000 01000000 0110 01000000 0100")),
    ("op request 6 params", h("2a000000 06000000 01000000 0110 01000000" + "01000000" * 6)),
    ("response 6 params", h("26000000 07000000 0120 01000000" + "00000000" * 6)),
    ("event 6 params", h("26000000 08000000 0240 01000000" + "00000000" * 6)),
    ("name without NUL", h("1e000000 01000000" + "00" * 16 + "6100 6200 0000")),
    ("name, no version", h("1e000000 01000000" + "00" * 16 + "6100 0000 0000")),
    ("name odd byte", h("21000000 01000000" + "00" * 16 + "6100 0000 00000100 00")),
    ("invalid utf-16", h("1e000000 01000000" + "00" * 16 + "00d8 0000 00000100")),
    ("data without tid", h("0a000000 0a000000 0100")),
]


@pytest.mark.parametrize(("why", "wire"), BAD, ids=[w for w, _ in BAD])
def test_malformed_packets_raise_protocol_error(why, wire):
    with pytest.raises(ProtocolError):
        decode_packet(wire)


def test_event_accepts_up_to_five_params_but_sends_three():
    wire = h("22000000 08000000 0240 01000000" + "01000000" * 5)
    assert decode_packet(wire).params == (1,) * 5
    with pytest.raises(LocalProtocolError):
        Event(0x4002, 1, (1, 2, 3, 4)).encode()


@pytest.mark.parametrize(
    "make",
    [
        lambda: InitCommandRequest(b"short", "x"),
        lambda: OperationRequest(1, 0x10000, 1),
        lambda: OperationRequest(1, 0x1001, 1, (1,) * 6),
        lambda: OperationResponse(0x2001, -1),
        lambda: StartData(1, 2**64),
        lambda: InitFail(2**32),
    ],
)
def test_unencodable_records_are_local_errors(make):
    with pytest.raises(LocalProtocolError):
        make()


# --- round trips and fuzz ---------------------------------------------------------

u32 = st.integers(0, 0xFFFFFFFF)
u16 = st.integers(0, 0xFFFF)
names = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40)
guids = st.binary(min_size=16, max_size=16)

packets = st.one_of(
    st.builds(InitCommandRequest, guids, names, u32),
    st.builds(InitCommandAck, u32, guids, names, u32),
    st.builds(InitEventRequest, u32),
    st.just(InitEventAck()),
    st.builds(InitFail, u32),
    st.builds(OperationRequest, u32, u16, u32, st.lists(u32, max_size=5).map(tuple)),
    st.builds(OperationResponse, u16, u32, st.lists(u32, max_size=5).map(tuple)),
    st.builds(Event, u16, u32, st.lists(u32, max_size=3).map(tuple)),
    st.builds(StartData, u32, st.integers(0, 2**64 - 1)),
    st.builds(Data, u32, st.binary(max_size=64)),
    st.builds(Cancel, u32),
    st.builds(EndData, u32, st.binary(max_size=64)),
    st.just(ProbeRequest()),
    st.just(ProbeResponse()),
)


@given(packets)
def test_round_trip(packet):
    wire = packet.encode()
    assert struct.unpack_from("<I", wire)[0] == len(wire)
    assert decode_packet(wire) == packet


@given(st.binary(max_size=80))
@settings(max_examples=500)
def test_random_bytes_raise_only_protocol_error(data):
    try:
        decode_packet(data)
    except ProtocolError:
        pass


@given(packets, st.data())
@settings(max_examples=500)
def test_mutated_packets_raise_only_protocol_error(packet, data):
    wire = bytearray(packet.encode())
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "grow"]))
        if op == "flip" and wire:
            i = data.draw(st.integers(0, len(wire) - 1))
            wire[i] = data.draw(st.integers(0, 255))
        elif op == "cut" and wire:
            del wire[data.draw(st.integers(0, len(wire) - 1)) :]
        else:
            wire += data.draw(st.binary(min_size=1, max_size=8))
    try:
        decode_packet(bytes(wire))
    except ProtocolError:
        pass


# --- framing ----------------------------------------------------------------------

STREAM = b"".join(w for _, w in GOLDEN)
EXPECTED = [p for p, _ in GOLDEN]


def drain(buf: PacketBuffer) -> list:
    out = []
    while (raw := buf.next_packet()) is not None:
        out.append(decode_packet(raw))
    return out


def test_framing_several_packets_in_one_feed():
    buf = PacketBuffer()
    buf.feed(STREAM)
    assert drain(buf) == EXPECTED
    assert len(buf) == 0


def test_framing_one_byte_at_a_time():
    buf = PacketBuffer()
    got = []
    for i in range(len(STREAM)):
        buf.feed(STREAM[i : i + 1])
        got += drain(buf)
    assert got == EXPECTED


@given(st.lists(st.integers(1, 50), min_size=1, max_size=40))
def test_framing_any_split(sizes):
    buf = PacketBuffer()
    got = []
    pos = 0
    i = 0
    while pos < len(STREAM):
        n = sizes[i % len(sizes)]
        buf.feed(STREAM[pos : pos + n])
        pos += n
        i += 1
        got += drain(buf)
    assert got == EXPECTED


def test_framing_packet_across_many_feeds_is_joined_once():
    payload = bytes(range(256)) * 1000
    wire = Data(3, payload).encode()
    buf = PacketBuffer()
    for i in range(0, len(wire), 4096):
        buf.feed(wire[i : i + 4096])
    pkt = decode_packet(buf.next_packet())
    assert pkt.payload == payload


def test_framing_whole_packet_in_one_chunk_is_not_copied():
    wire = Data(3, b"z" * 1000).encode()
    buf = PacketBuffer()
    chunk = wire + wire[:5]
    buf.feed(chunk)
    raw = buf.next_packet()
    assert isinstance(raw, memoryview) and raw.obj is chunk
    assert buf.next_packet() is None
    assert len(buf) == 5


def test_framing_copies_mutable_input():
    wire = bytearray(ProbeRequest().encode())
    buf = PacketBuffer()
    buf.feed(wire)
    wire[4] = 0xEE
    assert decode_packet(buf.next_packet()) == ProbeRequest()


@pytest.mark.parametrize("length", [0, 1, 7])
def test_framing_refuses_length_below_header(length):
    buf = PacketBuffer()
    buf.feed(struct.pack("<I", length))
    with pytest.raises(ProtocolError):
        buf.next_packet()


def test_framing_refuses_absurd_length_before_the_body_arrives():
    buf = PacketBuffer()
    buf.feed(b"\xff\xff\xff\xff")  # 4 GB announced; nothing allocated, refused at once
    with pytest.raises(ProtocolError):
        buf.next_packet()


def test_framing_cap_is_configurable():
    buf = PacketBuffer(max_packet_size=100)
    buf.feed(Data(1, b"x" * 88).encode())
    assert buf.next_packet() is not None
    buf.feed(Data(1, b"x" * 89).encode())
    with pytest.raises(ProtocolError):
        buf.next_packet()


def test_framing_partial_length_field_waits():
    buf = PacketBuffer()
    buf.feed(b"\x08\x00")
    assert buf.next_packet() is None
    assert buf.next_length() is None
