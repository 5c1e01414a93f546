"""Fuji property names and value labels, both ways, and refusal of disallowed values."""

from __future__ import annotations

import re

import pytest

from ptpd.fuji.properties import (
    PROPERTIES,
    UNIFIED_NAMES,
    decode_text_blob,
    decode_value,
    encode_text_blob,
    encode_value,
    format_value,
    lookup,
    parse_value,
)
from ptpd.fuji.state import decode_property_list
from ptpd.protocol.codes import DataType
from test_fuji_golden import PROP_LIST_PAYLOAD

DESCS = {d.code: d for d in decode_property_list(PROP_LIST_PAYLOAD)}

# (unified name, raw, label shown, other spellings accepted)
LABELS = [
    ("iso", 0x80001900, "S6400", ["s6400", "S 6400"]),
    ("iso", 0xFFFFFFFF, "auto", ["AUTO", "Auto"]),
    ("iso", 0x40000064, "L100", ["l100"]),
    ("iso", 0x4000C800, "H51200", []),
    ("iso", 800, "800", ["ISO 800", "iso800"]),
    ("effect", 2, "Velvia", ["velvia", "VELVIA", "vivid"]),
    ("effect", 1, "PROVIA", ["standard", "Provia"]),
    ("effect", 6, "PRO Neg. Hi", ["pro neg hi", "PRO-NEG-HI"]),
    ("effect", 11, "Classic Chrome", ["classic chrome", "classicchrome"]),
    ("exp-bias", -333, "-1/3", ["-1/3 EV", "−1/3", "-0.3"]),
    ("exp-bias", 667, "2/3", ["+2/3", "0.7"]),
    ("exp-bias", -2333, "-2 1/3", ["-2 1/3", "-2.33"]),
    ("exp-bias", 1667, "1 2/3", ["+1 2/3", "1+2/3"]),
    ("exp-bias", 0, "0", ["+0", "0 EV"]),
    ("exp-bias", 3000, "3", ["+3"]),
    ("focusmtr", 0x0404, "4x4", ["4 x 4"]),
    ("delay", 0, "off", ["OFF", "0s"]),
    ("delay", 2, "2s", ["2 s", "2 seconds", "2"]),
    ("delay", 4, "10s", ["10 sec", "10"]),
    ("delay", 3, "5s", ["5"]),
    ("whitebalance", 2, "auto", ["Auto", "automatic"]),
    ("whitebalance", 0x8006, "shade", ["Shade"]),
    ("whitebalance", 0x8002, "fluorescent 2", ["Fluorescent-2"]),
    ("whitebalance", 6, "incandescent", ["tungsten"]),
    ("flashmode", 0x8009, "disabled", ["Disabled"]),
    ("flashmode", 0x800A, "enabled", []),
    ("exposure", 40, "1/250", ["1/250s"]),
    ("exposure", 300000, "30s", ["30", "30 s"]),
    ("exposure", 0xFFFFFFFF, "auto", []),
    ("recmode", 1, "1", []),
]


@pytest.mark.parametrize(("name", "raw", "label", "others"), LABELS)
def test_labels_both_ways(name: str, raw: int, label: str, others: list[str]) -> None:
    prop = lookup(name)
    assert prop.format(raw) == label
    for text in [label, *others]:
        got = parse_value(name, text)
        if name == "focusmtr":
            assert isinstance(got, int) and got & 0xFFFF == raw
        else:
            assert got == raw


def test_focus_point_keeps_upper_bits_of_current() -> None:
    desc = DESCS[0xD17C]  # current 0x03020404
    assert parse_value("focusmtr", "7x2", desc) == 0x03020702
    assert parse_value("focus-point", "4x4", desc) == 0x03020404


def test_unified_names_map_to_fuji_codes() -> None:
    assert {n: lookup(n).code for n in UNIFIED_NAMES} == UNIFIED_NAMES
    assert lookup("effect").code == 0xD001
    assert lookup("iso").code == 0xD02A
    assert lookup("focusmtr").code == 0xD17C


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("film simulation", 0xD001),
        ("Film-Simulation", 0xD001),
        ("image quality", 0xD018),
        ("image size", 0xD241),
        ("shutter speed", 0xD240),
        ("battery", 0x5001),
        ("captures remaining", 0xD229),
        ("focus point", 0xD17C),
        ("focus lock", 0xD209),
        ("command dial", 0xD028),
        ("liveview-size", 0xD174),
        ("live-view size", 0xD174),
        ("0xD001", 0xD001),
        ("d02a", 0xD02A),
        (0x5005, 0x5005),
        ("0xD0FF", 0xD0FF),
    ],
)
def test_lookup_by_fuji_name_alias_and_code(text: str | int, code: int) -> None:
    assert lookup(text).code == code


def test_unknown_name_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown property"):
        lookup("no-such-thing")


def test_raw_hex_parses() -> None:
    assert parse_value("iso", "0x80001900") == 0x80001900
    assert parse_value("exp-bias", "0xfeb3") == -333  # INT16 bytes as the camera has them
    assert parse_value("effect", "0x3") == 3
    assert parse_value("effect", 3) == 3


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("iso", "S12800", "S400, S800, S1600, S3200, S6400, L100, 200"),
        ("iso", "100", "H51200"),
        ("effect", "ACROS", "PROVIA, Velvia, ASTIA"),
        ("delay", "1s", "off, 2s, 10s"),
        ("exp-bias", "+4", "-3, -2 2/3"),
        ("flashmode", "on", "disabled, enabled"),
        ("whitebalance", "flash", "auto, daylight, shade"),
        ("focusmtr", "0x20000000", "0x0..0x10090707"),
    ],
)
def test_disallowed_values_refused_with_allowed_labels(name: str, value: str, shown: str) -> None:
    desc = DESCS[lookup(name).code]
    with pytest.raises(ValueError) as err:
        parse_value(name, value, desc)
    assert "not allowed" in str(err.value)
    assert shown in str(err.value)


def test_allowed_values_pass_the_description() -> None:
    assert parse_value("iso", "800", DESCS[0xD02A]) == 800
    assert parse_value("effect", "Velvia", DESCS[0xD001]) == 2
    assert parse_value("exp-bias", "-1/3", DESCS[0x5010]) == -333
    assert parse_value("delay", "2s", DESCS[0x5012]) == 2
    assert parse_value("focusmtr", "4x4", DESCS[0xD17C]) == 0x03020404


def test_unreadable_value() -> None:
    with pytest.raises(ValueError, match="cannot read"):
        parse_value("effect", "Kodachrome")
    with pytest.raises(ValueError):
        parse_value("iso", "fast")


def test_value_bytes() -> None:
    eff = lookup("effect")
    assert encode_value(eff, 3) == b"\x03\x00"
    assert encode_value(lookup("exp-bias"), -333) == b"\xb3\xfe"
    assert encode_value(lookup("iso"), 0x80001900) == b"\x00\x19\x00\x80"
    assert decode_value(lookup("exp-bias"), b"\xb3\xfe") == -333
    assert decode_value(lookup("battery"), b"\x03") == 3
    assert decode_value(lookup(0xD0FF), b"\x01\x00") == 1  # unknown: by size
    with pytest.raises(ValueError):
        encode_value(eff, 0x10000)


def test_text_blobs() -> None:
    # 0xD174 / 0x5003 values are ASCII blobs on the X-T1 (fuji-ptpip.md §6.4).
    assert decode_text_blob(b"320x280\x00" + bytes(40)) == "320x280"
    assert decode_text_blob(b"L_4-3".ljust(28, b"\x00") + b"320x280\x00") == "L_4-3"
    assert decode_text_blob(encode_text_blob("640x480")) == "640x480"
    ptp_string = b"\x08" + "640x480".encode("utf-16-le") + b"\x00\x00"
    assert decode_text_blob(ptp_string) == "640x480"
    lv = lookup("liveview-size")
    assert lv.datatype == DataType.STR
    assert lv.parse("VGA") == "640x480"
    assert lv.parse("1280x960") == "1280x960"


def test_table_has_unique_codes() -> None:
    codes = [p.code for p in PROPERTIES]
    assert len(codes) == len(set(codes))
    assert format_value(0xD229, 1431) == "1431"


def test_which_values_a_reconnect_sets_again() -> None:
    """Settings a client chose are set again after a reconnect; a clock, an action, a value
    of the moment and the session's own bring-up values are not (issue 20)."""
    from ptpd.camera.fuji import FujiCamera
    from ptpd.camera.generic import GenericCamera
    from ptpd.fuji import properties as fp
    from ptpd.protocol.codes import DevicePropCode as P

    settings = ("iso", "effect", "exp-bias", "whitebalance", "delay", "image-quality", "focusmtr", "liveview-size")
    assert all(fp.reapplies(fp.lookup(n).code) for n in settings)
    not_again = ("focus-lock", "geotag", "init-sequence", "app-version")
    assert not any(fp.reapplies(fp.lookup(n).code) for n in not_again)
    assert not fp.reapplies(P.DateTime)  # not in the Fuji table: the standard one says
    fuji = FujiCamera("127.0.0.1")
    generic = GenericCamera("127.0.0.1")
    assert not fuji.reapplies(fp.lookup("focus-lock").code) and fuji.reapplies(fp.lookup("iso").code)
    assert not generic.reapplies(P.DateTime) and generic.reapplies(P.ExposureIndex) and generic.reapplies(0xD0FF)


@pytest.mark.parametrize(
    ("given", "raw", "label"),
    [
        ("0.1", 100, "0.1"),
        ("1.5", 1500, "1.5"),
        ("-0.5", -500, "-0.5"),  # taken as given, not rounded
        ("0.3", 333, "1/3"),
        ("-1.7", -1667, "-1 2/3"),
        ("0.33", 333, "1/3"),
        ("2.3", 2333, "2 1/3"),  # thirds
    ],
)
def test_a_decimal_exposure_bias_is_a_third_only_when_it_reads_as_one(given: str, raw: int, label: str) -> None:
    p = lookup("exp-bias")
    assert p.parse(given) == raw and p.format(raw) == label


def test_a_value_between_the_allowed_steps_is_refused_naming_it() -> None:
    desc = DESCS[0x5010]
    for given in ("0.1", "1.5"):
        with pytest.raises(
            ValueError,
            match=rf"exp-bias: {re.escape(given)} (\(0x[0-9A-F]+\) )?is not allowed; allowed: .*-1/3, 0, 1/3",
        ):
            parse_value("exp-bias", given, desc)
    iso = DESCS[0xD02A]
    with pytest.raises(ValueError, match=r"^iso: -5 is not allowed; allowed: "):
        parse_value("iso", "-5", iso)
    with pytest.raises(ValueError, match=r"^iso: S12345 \(0x80003039\) is not allowed"):
        parse_value("iso", "S12345", iso)
