"""PTP values by datatype and DateTime strings: golden bytes from ptp.md §7-§8, round trips, bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ptpd.protocol.buffer import Reader, Writer
from ptpd.protocol.codes import DataType as D
from ptpd.protocol.datatypes import (
    check_value,
    decode_value,
    encode_value,
    format_datetime,
    int_range,
    min_value_size,
    parse_datetime,
    read_value,
    value_size,
    write_value,
)
from ptpd.protocol.errors import LocalProtocolError, ProtocolError

INT_TYPES = [D(t) for t in range(1, 11)]
ARRAY_TYPES = [D(0x4000 | t) for t in range(1, 11)]
VALUE_TYPES = [*INT_TYPES, *ARRAY_TYPES, D.STR]

# (datatype, value, bytes written by hand from ptp.md §7/§8 and §10's FNumber example)
GOLDEN = [
    (D.INT8, -2, "fe"),
    (D.UINT8, 100, "64"),
    (D.INT16, -1000, "18 fc"),  # ExposureBiasCompensation -1 EV
    (D.UINT16, 280, "18 01"),  # FNumber f/2.8
    (D.INT32, -2, "fe ff ff ff"),
    (D.UINT32, 0x00010001, "01 00 01 00"),  # first StorageID
    (D.INT64, -1, "ff ff ff ff ff ff ff ff"),
    (D.UINT64, 0x0102030405060708, "08 07 06 05 04 03 02 01"),
    # 128-bit: two u64, low half first.
    (D.UINT128, (2 << 64) | 1, "01 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00"),
    (D.INT128, -2, "fe ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff"),
    (D.INT128, -(1 << 127), "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 80"),
    # "AUINT16 with 2 items = 4 + 4 bytes"
    (D.AUINT16, (180, 280), "02 00 00 00 b4 00 18 01"),
    (D.AUINT32, (), "00 00 00 00"),
    (D.AINT8, (-1, 1), "02 00 00 00 ff 01"),
    (D.AUINT8, (1, 2, 3), "03 00 00 00 01 02 03"),
    (D.AINT16, (-1,), "01 00 00 00 ff ff"),
    (D.AINT32, (-1,), "01 00 00 00 ff ff ff ff"),
    (D.AUINT32, (0x00010001, 0xFFFFFFFF), "02 00 00 00 01 00 01 00 ff ff ff ff"),
    (D.AINT64, (-2,), "01 00 00 00 fe ff ff ff ff ff ff ff"),
    (D.AUINT64, (1,), "01 00 00 00 01 00 00 00 00 00 00 00"),
    (D.AUINT128, (1 << 64,), "01 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00"),
    (D.AINT128, (-1,), "01 00 00 00" + " ff" * 16),
    # "" is the single byte 00; "AB" is 03 41 00 42 00 00 00
    (D.STR, "", "00"),
    (D.STR, "AB", "03 41 00 42 00 00 00"),
    (D.STR, "6000x4000", "0a 36 00 30 00 30 00 30 00 78 00 34 00 30 00 30 00 30 00 00 00"),
    (D.STR, "é", "02 e9 00 00 00"),
]


@pytest.mark.parametrize(("datatype", "value", "hexbytes"), GOLDEN, ids=lambda x: getattr(x, "name", None))
def test_golden(datatype: D, value: object, hexbytes: str) -> None:
    raw = bytes.fromhex(hexbytes)
    assert decode_value(raw, datatype) == value
    assert encode_value(datatype, value) == raw
    r = Reader(raw + b"\xaa")
    assert read_value(r, int(datatype)) == value
    assert r.remaining == 1


def test_every_value_type_has_a_golden_case() -> None:
    assert {d for d, _, _ in GOLDEN} == set(VALUE_TYPES)


def test_sizes_and_ranges() -> None:
    assert [value_size(t) for t in INT_TYPES] == [1, 1, 2, 2, 4, 4, 8, 8, 16, 16]
    assert value_size(D.STR) is None and value_size(D.AUINT8) is None
    assert min_value_size(D.STR) == 1 and min_value_size(D.AUINT128) == 4 and min_value_size(D.INT64) == 8
    assert int_range(D.INT8) == (-128, 127)
    assert int_range(D.UINT16) == (0, 65535)
    assert int_range(D.UINT128) == (0, (1 << 128) - 1)
    assert int_range(D.AINT32) == (-(1 << 31), (1 << 31) - 1)


@pytest.mark.parametrize("datatype", INT_TYPES + ARRAY_TYPES, ids=lambda d: d.name)
def test_out_of_range_refused_on_encode(datatype: D) -> None:
    lo, hi = int_range(datatype)
    for bad in (lo - 1, hi + 1):
        value = (0, bad) if datatype.is_array else bad
        w = Writer()
        with pytest.raises(LocalProtocolError):
            write_value(w, datatype, value)
        assert len(w) == 0  # validated before writing
    assert decode_value(encode_value(datatype, (lo, hi) if datatype.is_array else lo), datatype) in (lo, (lo, hi))


@pytest.mark.parametrize(
    ("datatype", "value"),
    [
        (D.UINT8, True),
        (D.UINT8, 1.0),
        (D.UINT8, "1"),
        (D.UINT16, None),
        (D.AUINT16, 5),
        (D.AUINT16, "ab"),
        (D.AUINT16, (1, "2")),
        (D.AINT8, b"\xff"),
        (D.STR, 5),
        (D.STR, b"ab"),
        (D.STR, "a\x00b"),  # would be cut at the NUL on the other side
        (D.STR, "x" * 255),  # 254 characters is the maximum
        (D.STR, "\U0001f600" * 128),  # 256 UTF-16 code units
        (D.STR, "\ud800"),  # lone surrogate: not UTF-16 encodable
        (D.UNDEF, 0),
        (0x0042, 0),
    ],
)
def test_bad_values_refused(datatype: int, value: object) -> None:
    with pytest.raises(LocalProtocolError):
        encode_value(datatype, value)


def test_longest_string() -> None:
    raw = encode_value(D.STR, "x" * 254)
    assert raw[0] == 255 and len(raw) == 1 + 2 * 255
    assert decode_value(raw, D.STR) == "x" * 254


def test_bytes_accepted_for_auint8() -> None:
    assert encode_value(D.AUINT8, b"\x01\x02") == bytes.fromhex("02 00 00 00 01 02")
    assert encode_value(D.AUINT16, [1]) == bytes.fromhex("01 00 00 00 01 00")


@pytest.mark.parametrize("code", [0x0000, 0x000B, 0x4000, 0x400B, 0x8000, 0xFFFE, 0x10000])
def test_unknown_datatype_is_protocol_error(code: int) -> None:
    with pytest.raises(ProtocolError):
        decode_value(b"\x00" * 32, code)
    with pytest.raises(ProtocolError):
        read_value(Reader(b"\x00" * 32), code)


@pytest.mark.parametrize(("datatype", "value", "hexbytes"), GOLDEN, ids=lambda x: getattr(x, "name", None))
def test_every_truncation_is_protocol_error(datatype: D, value: object, hexbytes: str) -> None:
    raw = bytes.fromhex(hexbytes)
    for n in range(len(raw)):
        with pytest.raises(ProtocolError):
            decode_value(raw[:n], datatype)


def test_billion_element_array_refused_before_allocation() -> None:
    billion = (1_000_000_000).to_bytes(4, "little")
    assert billion == bytes.fromhex("00 ca 9a 3b")
    for t in ARRAY_TYPES:
        with pytest.raises(ProtocolError, match="count"):
            decode_value(billion + b"\x00" * 64, t)
    with pytest.raises(ProtocolError):
        decode_value(b"\xff\xff\xff\xff", D.AUINT8)


def test_bad_strings() -> None:
    with pytest.raises(ProtocolError):
        decode_value(bytes.fromhex("02 41 00 42 00"), D.STR)  # no NUL terminator
    with pytest.raises(ProtocolError):
        decode_value(bytes.fromhex("02 00 d8 00 00"), D.STR)  # lone surrogate
    with pytest.raises(ProtocolError):
        decode_value(bytes.fromhex("ff 41 00"), D.STR)  # count past the end


# -- hypothesis round trips -------------------------------------------------------------

safe_text = st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=100).filter(
    lambda s: len(s.encode("utf-16-le")) // 2 <= 254
)


def values_for(datatype: D) -> st.SearchStrategy[object]:
    if datatype is D.STR:
        return safe_text
    lo, hi = int_range(datatype)
    ints = st.integers(lo, hi)
    if datatype.is_array:
        return st.lists(ints, max_size=20).map(tuple)
    return ints


typed_values = st.sampled_from(VALUE_TYPES).flatmap(lambda d: st.tuples(st.just(d), values_for(d)))


@settings(max_examples=400, deadline=None)
@given(typed_values)
def test_round_trip(pair: tuple[D, object]) -> None:
    datatype, value = pair
    raw = encode_value(datatype, value)
    assert decode_value(raw, datatype) == value
    assert check_value(datatype, value) == value
    size = value_size(datatype)
    if size is not None:
        assert len(raw) == size


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(VALUE_TYPES + [D.UNDEF, 0x1234]), st.binary(max_size=64))
def test_random_bytes_raise_only_protocol_error(datatype: int, raw: bytes) -> None:
    try:
        decode_value(raw, datatype)
    except ProtocolError:
        pass


# -- DateTime ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20240101T120000", dt.datetime(2024, 1, 1, 12, 0, 0)),  # ptp.md §8, gphoto2-verified
        ("19991231T235959.9", dt.datetime(1999, 12, 31, 23, 59, 59, 900_000)),
        ("20240229T000000Z", dt.datetime(2024, 2, 29, tzinfo=dt.UTC)),
        ("20240101T120000+0130", dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=1, minutes=30)))),
        (
            "20240101T120000.5-0800",
            dt.datetime(2024, 1, 1, 12, 0, 0, 500_000, tzinfo=dt.timezone(dt.timedelta(hours=-8))),
        ),
        ("20240101T120000.25", dt.datetime(2024, 1, 1, 12, 0, 0, 250_000)),
        ("20240101T120000\x00", dt.datetime(2024, 1, 1, 12)),
        ("", None),
    ],
)
def test_parse_datetime(text: str, expected: dt.datetime | None) -> None:
    assert parse_datetime(text) == expected
    if expected is not None:
        assert parse_datetime(text).tzinfo == expected.tzinfo  # type: ignore[union-attr]  # == expected: not None


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-01T12:00:00",
        "20240101 120000",
        "20240101T1200",
        "20241301T120000",  # month 13
        "20240230T120000",  # Feb 30
        "20240101T250000",
        "20240101T120060",
        "20240101T120000.",
        "20240101T120000+2500",
        "20240101T120000+0160",
        "20240101T120000+01",
        "20240101T120000ZZ",
        "２０２４0101T120000",  # non-ASCII digits
        "garbage",
    ],
)
def test_parse_datetime_refuses_bad_input(text: str) -> None:
    with pytest.raises(ProtocolError):
        parse_datetime(text)


def test_format_datetime() -> None:
    assert format_datetime(dt.datetime(2024, 1, 1, 12)) == "20240101T120000"
    assert format_datetime(dt.datetime(2024, 1, 1, 12, 0, 0, 560_000)) == "20240101T120000.5"
    assert format_datetime(dt.datetime(2024, 1, 1, 12, 0, 0, 560_000), tenths=False) == "20240101T120000"
    assert format_datetime(dt.datetime(5, 1, 1, tzinfo=dt.UTC)) == "00050101T000000Z"
    tz = dt.timezone(-dt.timedelta(hours=5, minutes=45))
    assert format_datetime(dt.datetime(2024, 7, 9, 8, 7, 6, tzinfo=tz)) == "20240709T080706-0545"
    assert format_datetime(None) == ""
    with pytest.raises(LocalProtocolError):
        format_datetime(dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(seconds=30))))
    with pytest.raises(LocalProtocolError):
        format_datetime("20240101T120000")  # type: ignore[arg-type]  # not a datetime, on purpose


minute_offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59)),
    st.integers(0, 9),
    st.none() | minute_offsets,
)
def test_datetime_round_trip(value: dt.datetime, tenth: int, tz: dt.timezone | None) -> None:
    value = value.replace(microsecond=tenth * 100_000, tzinfo=tz)
    text = format_datetime(value)
    parsed = parse_datetime(text)
    assert parsed == value and parsed is not None and parsed.utcoffset() == value.utcoffset()
    assert encode_value(D.STR, text)  # always a valid PTP string


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_parse_datetime_raises_only_protocol_error(text: str) -> None:
    try:
        parse_datetime(text)
    except ProtocolError:
        pass
