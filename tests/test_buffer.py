"""The typed reader/writer: golden bytes from ISO 15740's encoding rules, and refusals."""

import pytest

from ptpd.protocol.buffer import Reader, Writer
from ptpd.protocol.errors import LocalProtocolError, ProtocolError


def test_ptp_string_golden_bytes() -> None:
    # "Hi" = count 3 (incl. NUL), then UCS-2LE code units and a NUL unit (ISO 15740 5.3.5)
    golden = bytes([3, ord("H"), 0, ord("i"), 0, 0, 0])
    assert Writer().string("Hi").getvalue() == golden
    assert Reader(golden).string() == "Hi"


def test_empty_string_is_one_zero_byte() -> None:
    assert Writer().string("").getvalue() == b"\x00"
    assert Reader(b"\x00").string() == ""


def test_integers_little_endian() -> None:
    data = bytes.fromhex("0110040302010807060504030201")
    r = Reader(data)
    assert (r.u16(), r.u32(), r.u64()) == (0x1001, 0x01020304, 0x0102030405060708)
    assert r.at_end


def test_int128_roundtrip_and_sign() -> None:
    w = Writer().i128(-2).u128(2**128 - 1)
    r = Reader(w.getvalue())
    assert r.i128() == -2
    assert r.u128() == 2**128 - 1


def test_short_input_is_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        Reader(b"\x01").u32()


def test_absurd_array_count_refused_before_allocation() -> None:
    # a billion u32 elements announced in an 8-byte buffer
    with pytest.raises(ProtocolError, match="count"):
        Reader((1_000_000_000).to_bytes(4, "little") + b"\0" * 4).array("u32", 4)


def test_unterminated_string_refused() -> None:
    with pytest.raises(ProtocolError):
        Reader(bytes([2, ord("A"), 0, ord("B"), 0])).string()


def test_string_too_long_refused_on_encode() -> None:
    with pytest.raises(LocalProtocolError):
        Writer().string("x" * 255)
    assert len(Writer().string("x" * 254).getvalue()) == 1 + 2 * 255


def test_value_out_of_range_refused_on_encode() -> None:
    with pytest.raises(LocalProtocolError):
        Writer().u16(70000)
