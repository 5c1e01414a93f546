"""0x902B descriptor list and 0xD212 state list, decoded from the X-T1's own bytes."""

from __future__ import annotations

import pytest

from ptpd.fuji.packets import Container
from ptpd.fuji.properties import format_value
from ptpd.fuji.state import (
    StateEntry,
    decode_property_desc,
    decode_property_list,
    decode_state,
    encode_property_list,
    encode_state,
)
from ptpd.protocol.codes import DataType
from ptpd.protocol.datasets import DevicePropDesc, Enumeration, Range
from ptpd.protocol.errors import ProtocolError
from test_fuji_golden import PROP_LIST_CONTAINER, PROP_LIST_PAYLOAD, STATE_CONTAINER, STATE_TABLE, WB_DESC_CONTAINER

ISO_ENUM = (
    0x80000190, 0x80000320, 0x80000640, 0x80000C80, 0x80001900, 0x40000064, 200, 250, 320, 400,
    500, 640, 800, 1000, 1250, 1600, 2000, 2500, 3200, 4000, 5000, 6400, 0x40003200, 0x40006400,
    0x4000C800,
)  # fmt: skip
EV_ENUM = (
    -3000, -2667, -2333, -2000, -1667, -1333, -1000, -667, -333, 0, 333, 667, 1000, 1333, 1667,
    2000, 2333, 2667, 3000,
)  # fmt: skip

# fuji-ptpip.md §5.4 table: code, type, default, current, form
EXPECTED_LIST = [
    (0x5012, DataType.UINT16, 0, 0, Enumeration((0, 2, 4))),
    (0x500C, DataType.UINT16, 0x0002, 0x8009, Enumeration((0x8009, 0x800A))),
    (0x5005, DataType.UINT16, 2, 2, Enumeration((2, 4, 0x8006, 0x8001, 0x8002, 0x8003, 6, 0x800A, 0x800B, 0x800C))),
    (0x5010, DataType.INT16, 0, 0, Enumeration(EV_ENUM)),
    (0xD001, DataType.UINT16, 1, 2, Enumeration(tuple(range(1, 12)))),
    (0xD02A, DataType.UINT32, 0xFFFFFFFF, 0x80001900, Enumeration(ISO_ENUM)),
    (0xD019, DataType.UINT16, 1, 1, Enumeration((0, 1))),
    (0xD17C, DataType.UINT32, 0, 0x03020404, Range(0, 0x10090707, 1)),
]


def test_property_list_decodes_to_the_eight_descriptions() -> None:
    c = Container.decode(PROP_LIST_CONTAINER)
    assert (c.code, c.transaction_id, len(PROP_LIST_CONTAINER)) == (0x902B, 6, 356)
    descs = decode_property_list(c.payload)
    got = [(d.code, d.datatype, d.factory_default, d.current, d.form) for d in descs]
    assert got == EXPECTED_LIST
    assert all(d.writable for d in descs)


def test_property_list_labels() -> None:
    descs = decode_property_list(PROP_LIST_PAYLOAD)
    assert [format_value(d.code, d.current) for d in descs] == [  # type: ignore[arg-type]  # Fuji values are ints
        "off", "disabled", "auto", "0", "Velvia", "S6400", "1", "4x4",
    ]  # fmt: skip
    iso = descs[5]
    assert isinstance(iso.form, Enumeration) and all(isinstance(v, int) for v in iso.form.values)
    assert [format_value(0xD02A, v) for v in iso.form.values][:7] == [  # type: ignore[arg-type]  # ints, checked above
        "S400", "S800", "S1600", "S3200", "S6400", "L100", "200",
    ]  # fmt: skip
    assert [format_value(0xD02A, v) for v in iso.form.values][-3:] == ["H12800", "H25600", "H51200"]  # type: ignore[arg-type]  # as above


def test_property_list_round_trip_and_truncation() -> None:
    descs = decode_property_list(PROP_LIST_PAYLOAD)
    assert encode_property_list(descs) == PROP_LIST_PAYLOAD
    with pytest.raises(ProtocolError):
        decode_property_list(PROP_LIST_PAYLOAD[:-1])
    with pytest.raises(ProtocolError):
        decode_property_list(b"\xff\xff\xff\x00" + PROP_LIST_PAYLOAD[4:])


def test_white_balance_descriptor() -> None:
    c = Container.decode(WB_DESC_CONTAINER)
    d = decode_property_desc(c.payload)
    assert (d.code, d.datatype, d.factory_default, d.current) == (0x5005, DataType.UINT16, 2, 2)
    assert d.form == Enumeration((2, 4, 0x8006, 0x8001, 0x8002, 0x8003, 6, 0x800A, 0x800B, 0x800C))


def test_state_decodes_to_17_entries() -> None:
    c = Container.decode(STATE_CONTAINER)
    entries = decode_state(c.payload)
    assert len(entries) == 17
    assert [(e.code, e.value) for e in entries] == STATE_TABLE
    by_name = {e.name: e.label for e in entries}
    assert by_name == {
        "battery": "3/3",
        "image-size": "L 3:2",
        "whitebalance": "auto",
        "focus-mode": "single AF",
        "flashmode": "enabled",
        "exposure-program": "P",
        "exp-bias": "0",
        "delay": "off",
        "effect": "Velvia",
        "image-quality": "fine+RAW",
        "command-dial": "both",
        "iso": "S6400",
        "focusmtr": "4x4",
        "focus-lock": "off",
        "device-error": "none",
        "captures-remaining": "1431",
        "movie-remaining": "1679",
    }
    assert encode_state(STATE_TABLE) == bytes(c.payload)


def test_state_mock_values() -> None:
    # The mock's variants (fuji-ptpip.md §5.5): bias 0xFEB3 in a u32 slot, focus 0x03020702.
    entries = decode_state(encode_state([(0x5010, 0xFEB3), (0xD17C, 0x03020702), (0x5001, 2)]))
    assert [e.label for e in entries] == ["-1/3", "7x2", "2/3"]
    assert entries[0] == StateEntry(0x5010, 0xFEB3, "exp-bias", "-1/3")
    # A sign-extended slot reads the same.
    assert decode_state(encode_state([(0x5010, -2333)]))[0].label == "-2 1/3"


def test_state_truncated() -> None:
    with pytest.raises(ProtocolError):
        decode_state(b"\x11\x00" + bytes(6 * 16))
    with pytest.raises(ProtocolError):
        decode_state(b"\x01")


def test_fuji_ascii_string_descriptor() -> None:
    # 0xD174's descriptor holds ASCII fields, not PTP strings (fuji-ptpip.md §5.2, §6.4).
    fields = [b"320x280", b"320x280", b"320x280", b"640x480", b"1280x960"]
    body = b"\x74\xd1\xff\xff\x01" + b"".join(f.ljust(16, b"\x00") for f in fields)
    d = decode_property_desc(body)
    assert (d.code, d.datatype, d.current) == (0xD174, DataType.STR, "320x280")
    assert d.form == Enumeration(("320x280", "640x480", "1280x960"))
    # A standard PTP string descriptor decodes as such.
    std = DevicePropDesc(0xD174, DataType.STR, 1, "320x280", "640x480", Enumeration(("320x280", "640x480")))
    assert decode_property_desc(std.encode()) == std
