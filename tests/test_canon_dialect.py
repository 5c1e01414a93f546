"""The EOS dialect, sans-I/O: GetEvent records, the other data phases, the value tables,
the property table, the state the records leave, and EOS detection.

Golden bytes come from real bodies and the reference implementation, never from our
encoder:

* GetEvent replies of a real EOS M10 (libgphoto2#301) and EOS M6 (gphoto2#174), read by
  libgphoto2 over USB and published in those threads' debug logs (whole records only);
* SetDevicePropValueEx data phases gphoto2 2.5.28 sent in our traces (research notes §6);
* ImageFormat structs: libgphoto2's own example in ptp-pack.c and a real 1300D-class
  body's current value (research notes §2.5, §3.6);
* value labels: libgphoto2 2.5.30 config.c tables.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from ptpd.canon import events as ev
from ptpd.canon import values as V
from ptpd.canon.codes import CanonEventCode as E
from ptpd.canon.codes import CanonPropCode as C
from ptpd.canon.detect import is_eos, is_eos_m
from ptpd.canon.packets import (
    decode_device_info_ex,
    decode_set_property,
    decode_viewfinder,
    encode_device_info_ex,
    encode_set_property,
    encode_viewfinder,
    viewfinder_jpeg,
)
from ptpd.canon.properties import PROPERTIES, by_code, lookup
from ptpd.canon.state import EosState
from ptpd.protocol.errors import ProtocolError


def h(text: str) -> bytes:
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    return bytes.fromhex(" ".join(lines))


#: An EOS M10's GetEvent reply from its first whole record on (libgphoto2#301, bytes
#: 0x1a-0xc2 of the 195-byte read): four AvailListChanged, four OLCInfoChanged of odd
#: sizes, the end record.
M10_EVENTS = h("""
    14 00 00 00 8a c1 00 00 09 d1 00 00 00 00 00 00 00 00 00 00   # AvailList D109 kind 0, 0 values
    14 00 00 00 8a c1 00 00 ba d1 00 00 03 00 00 00 00 00 00 00   # AvailList D1BA kind 3, 0 values
    14 00 00 00 8a c1 00 00 08 d1 00 00 00 00 00 00 00 00 00 00   # AvailList D108 kind 0
    14 00 00 00 8a c1 00 00 c9 d1 00 00 00 00 00 00 00 00 00 00   # AvailList D1C9 kind 0
    12 00 00 00 a5 c1 00 00 0a 00 00 00 01 00 00 00 01 00         # OLCInfo, mask 1: Button 1
    15 00 00 00 a5 c1 00 00 0d 00 00 00 04 00 00 00 00 00 00 00 00   # OLCInfo, mask 4 (aperture)
    16 00 00 00 a5 c1 00 00 0e 00 00 00 02 00 00 00 00 00 00 00 00 00  # OLCInfo, mask 2 (shutter)
    14 00 00 00 a5 c1 00 00 0c 00 00 00 08 00 00 00 00 01 00 00   # OLCInfo, mask 8 (ISO)
    08 00 00 00 00 00 00 00                                       # end
""")

#: Three whole records of an EOS M6's GetEvent reply (gphoto2#174, bytes 0xc7-0x10a):
#: its live-view outputs {off, MOBILE2}, EVF mode with no list, aperture with an empty list.
M6_RECORDS = h("""
    1c 00 00 00 8a c1 00 00 b0 d1 00 00 03 00 00 00 02 00 00 00 00 00 00 00 08 00 00 00
    14 00 00 00 8a c1 00 00 b1 d1 00 00 00 00 00 00 00 00 00 00
    14 00 00 00 8a c1 00 00 01 d1 00 00 03 00 00 00 00 00 00 00
""")
END = h("08 00 00 00 00 00 00 00")


# -- GetEvent records --------------------------------------------------------------------------


def test_a_real_m10_reply_decodes_record_by_record() -> None:
    records = ev.decode_events(M10_EVENTS)
    assert records[:4] == (
        ev.AvailList(0xD109, 0, 0, b""),
        ev.AvailList(0xD1BA, 3, 0, b""),
        ev.AvailList(0xD108, 0, 0, b""),
        ev.AvailList(0xD1C9, 0, 0, b""),
    )
    olc = [r for r in records[4:] if isinstance(r, ev.OLCInfo)]
    assert len(olc) == len(records[4:]) and [r.mask for r in olc] == [1, 4, 2, 8]
    assert olc[0].button == 1 and olc[1].button is None  # only mask bit 0 carries a Button
    assert len(records) == 8  # the end record ends the list


def test_a_real_m6_reply_gives_allowed_lists() -> None:
    records = ev.decode_events(M6_RECORDS + END)
    assert records[0] == ev.AvailList(C.EVFOutputDevice, 3, 2, bytes(4) + (8).to_bytes(4, "little"))
    state = EosState()
    state.apply([ev.PropValue(C.EVFOutputDevice, bytes(4)), ev.PropValue(C.Aperture, bytes(4))])
    changed = state.apply(records)
    assert state.allowed[C.EVFOutputDevice] == (0, 8)  # off, MOBILE2
    assert state.allowed[C.EVFMode] == () and state.allowed[C.Aperture] == ()  # kind 0, and kind 3 with no values
    assert changed == {C.EVFOutputDevice, C.EVFMode, C.Aperture}


def test_the_last_record_is_read_even_without_an_end_record() -> None:
    # libgphoto2 skips a last record nothing follows; a body that forgets the end record
    # (or a reply cut after it) still tells us what it holds
    assert len(ev.decode_events(M6_RECORDS)) == 3


@pytest.mark.parametrize(
    "tail",
    [
        pytest.param(b"", id="nothing"),
        pytest.param(bytes(3), id="three-padding-bytes"),
        pytest.param(h("00 00 00 00 00 00 00 00"), id="size-zero"),
        pytest.param(h("04 00 00 00 89 c1 00 00"), id="size-below-8"),
        pytest.param(h("40 00 00 00 89 c1 00 00 03 d1 00 00"), id="size-past-the-end"),
        pytest.param(h("0c 00 00 00 00 00 00 00 00 00 00 00"), id="the-emulator's-12-byte-end"),
    ],
)
def test_what_follows_the_records_never_raises_and_adds_nothing(tail: bytes) -> None:
    assert ev.decode_events(M6_RECORDS + tail)[:3] == ev.decode_events(M6_RECORDS + END)
    assert len(ev.decode_events(M6_RECORDS + tail)) == 3 + (tail[:8] == h("0c 00 00 00 00 00 00 00"))


def test_records_too_short_for_their_layout_are_kept_unknown() -> None:
    short = h("10 00 00 00 81 c1 00 00 05 00 00 00 01 00 02 00")  # ObjectAddedEx needs > 0x28 bytes
    (r,) = ev.decode_events(short + END)
    assert r == ev.Unknown(E.ObjectAddedEx, h("05 00 00 00 01 00 02 00"))


def test_an_empty_reply_is_the_8_byte_end_record() -> None:
    assert ev.encode_events([]) == END  # libgphoto2#521, gphoto2#174: 20-byte USB container = 12 + 8
    assert ev.decode_events(END) == () and ev.decode_events(b"") == ()


def test_object_records_round_trip_with_the_layouts_libgphoto2_reads() -> None:
    added = ev.ObjectAdded(0x92740C72, 0x00020001, 0x3801, 2217241, 0x92740000, "IMG_0199.JPG")
    raw = ev.encode_record(added)
    # libgphoto2's offsets: +8 oid, +0xC storage, +0x10 format, +0x1C size, +0x20 parent, +0x28 name
    assert raw[8:12] == h("72 0c 74 92") and raw[0x0C:0x10] == h("01 00 02 00") and raw[0x10:0x12] == h("01 38")
    assert raw[0x1C:0x20] == (2217241).to_bytes(4, "little") and raw[0x20:0x24] == h("00 00 74 92")
    assert raw[0x28:0x35] == b"IMG_0199.JPG\x00" and len(raw) % 4 == 0
    transfer = ev.ObjectTransfer(3, 0x3801, 468575, "IMG_0002.JPG")
    raw = ev.encode_record(transfer)
    assert raw[8:12] == (3).to_bytes(4, "little") and raw[0x14:0x18] == (468575).to_bytes(4, "little")
    assert raw[0x1C:0x29] == b"IMG_0002.JPG\x00"
    assert len(raw) == 44  # the size gphoto2 read in our traces
    for r in (
        added,
        transfer,
        ev.ObjectAdded(7, 1, 0x3801, 5, 2, "B.JPG", E.ObjectAddedEx64),
        ev.ObjectRemoved(9),
        ev.CameraStatus(1),
        ev.button_record(4),
    ):
        assert ev.decode_events(ev.encode_events([r])) == (r,)
    assert ev.encode_record(ev.button_record(4)) == h("14 00 00 00 a5 c1 00 00 0c 00 00 00 01 00 00 00 04 00 00 00")


# -- the other data phases -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "value", "wire"),
    [
        (C.ISOSpeed, 0x58, "0c000000 03d10000 58000000"),  # --set-config iso=400
        (C.CaptureDestination, 4, "0c000000 1cd10000 04000000"),  # libgphoto2's prepare: capture to the host
        (C.CaptureDestination, 2, "0c000000 1cd10000 02000000"),  # back to the card at exit
        (C.EVFOutputDevice, 2, "0c000000 b0d10000 02000000"),  # --capture-preview: output to PC
        (C.EVFOutputDevice, 8, "0c000000 b0d10000 08000000"),  # the EOS M's prepare
    ],
)
def test_set_property_payloads_are_what_gphoto2_sends(code: int, value: int, wire: str) -> None:
    raw = bytes.fromhex(wire.replace(" ", ""))
    assert encode_set_property(code, by_code(code).encode(value)) == raw
    got_code, got = decode_set_property(raw)
    assert got_code == code and by_code(code).decode(got) == value


def test_set_property_strings_and_image_formats() -> None:
    raw = encode_set_property(C.Artist, by_code(C.Artist).encode("Ann"))
    assert raw == h("0c 00 00 00 d0 d1 00 00") + b"Ann\x00"
    raw = encode_set_property(C.ImageFormat, by_code(C.ImageFormat).encode(0x0300))
    assert len(raw) == 8 + 4 + 16 and decode_set_property(raw)[0] == C.ImageFormat
    for bad in (b"", h("0c 00 00 00"), h("20 00 00 00 03 d1 00 00 58 00 00 00"), h("04 00 00 00 03 d1 00 00")):
        with pytest.raises(ProtocolError):
            decode_set_property(bad)


def test_viewfinder_blobs() -> None:
    jpeg = b"\xff\xd8 frame \xff\xd9"
    raw = encode_viewfinder([(1, jpeg), (5, h("10 08 62 05 00 00 00 00"))])
    assert raw[-8:] == h("08 00 00 00 00 00 00 00")
    assert bytes(viewfinder_jpeg(raw) or b"") == jpeg
    assert [k for k, _ in decode_viewfinder(raw)] == [1, 5]
    # a zero length (what made gphoto2 spin, research notes §5) and a cut blob end the list
    assert decode_viewfinder(h("00 00 00 00 01 00 00 00") + raw) == []
    assert [k for k, _ in decode_viewfinder(raw[:-8] + h("40 00 00 00 03 00 00 00") + bytes(8))] == [1, 5]
    assert viewfinder_jpeg(h("0c 00 00 00 04 00 00 00 00 00 00 00") + h("08 00 00 00 00 00 00 00")) is None


def test_device_info_ex_has_a_non_empty_third_list() -> None:
    raw = encode_device_info_ex([0xC189], [0xD103, 0xD101], [1])
    assert decode_device_info_ex(raw) == ((0xC189,), (0xD103, 0xD101), (1,))
    assert int.from_bytes(raw[:4], "little") == len(raw)
    assert decode_device_info_ex(raw[:12]) == ((0xC189,), (), ())
    assert decode_device_info_ex(raw[:10]) == ((), (), ())  # an element cut in two is not read


# -- value tables ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "fmt", "parse", "pairs"),
    [
        (
            "iso",
            V.format_iso,
            V.parse_iso,
            [
                (0x00, "auto"),
                (0x48, "100"),
                (0x4B, "125"),
                (0x58, "400"),
                (0x70, "3200"),
                (0x80, "12800"),
                (0xA0, "204800"),
            ],
        ),
        (
            "aperture",
            V.format_aperture,
            V.parse_aperture,
            [(0x08, "f/1"), (0x20, "f/2.8"), (0x30, "f/5.6"), (0x35, "f/7.1"), (0x50, "f/22"), (0x70, "f/91")],
        ),
        (
            "shutter",
            V.format_shutter,
            V.parse_shutter,
            [
                (0x10, "30s"),
                (0x2D, "2.5s"),
                (0x38, "1s"),
                (0x48, "1/4"),
                (0x78, "1/250"),
                (0x98, "1/4000"),
                (0xA0, "1/8000"),
            ],
        ),
        (
            "exp-bias",
            V.format_exp_bias,
            V.parse_exp_bias,
            [
                (0x00, "0"),
                (0x03, "+1/3"),
                (0x04, "+1/2"),
                (0x05, "+2/3"),
                (0x08, "+1"),
                (0x0B, "+1 1/3"),
                (0xFD, "-1/3"),
                (0xF5, "-1 1/3"),
                (0xD8, "-5"),
                (0x28, "+5"),
            ],
        ),
    ],
)
def test_value_tables_against_libgphoto2(table: str, fmt, parse, pairs) -> None:
    # codes and their values from libgphoto2's config.c tables (canon_isospeed,
    # canon_aperture, canon_shutterspeed, canon_expcompensation2); labels ptpd's
    for code, label in pairs:
        assert fmt(code) == label, (table, hex(code))
        assert parse(label) == code, (table, label)


def test_every_table_code_reads_back_to_a_code_with_its_label() -> None:
    for table, fmt, parse in (
        (V.ISO, V.format_iso, V.parse_iso),
        (V.APERTURE, V.format_aperture, V.parse_aperture),
        (V.SHUTTER, V.format_shutter, V.parse_shutter),
    ):
        for code in table:
            back = parse(fmt(code))
            assert back is not None and fmt(back) == fmt(code), hex(code)


def test_values_mean_what_the_formulas_say() -> None:
    assert V.iso_number(0x58) == 400 and V.iso_number(0x5B) == 500 and V.iso_number(0) is None
    assert V.f_number(0x30) == Fraction(28, 5) and V.f_number(0x28) == 4
    assert V.exposure_seconds(0x78) == Fraction(1, 250) and V.exposure_seconds(0x30) == 2
    assert V.exposure_seconds(0x0C) is None  # bulb
    assert V.exp_bias(0xFB) == Fraction(-2, 3) and V.exp_bias(0xFFFFFFFB) == Fraction(-2, 3)  # sign-extended too
    assert V.parse_exp_bias("0.3") == 0x03 and V.parse_exp_bias("-0.7") == 0xFB  # libgphoto2's decimal labels
    assert V.parse_exp_bias("0.5") == 0x04 and V.parse_exp_bias("1.7") == 0x0D
    assert V.parse_exp_bias("0.1") is None and V.parse_exp_bias("1/4") is None  # no step of a body: not rounded
    assert V.parse_iso("-5") is None and V.parse_iso("iso 400") == 0x58


def test_image_format_structs() -> None:
    # libgphoto2's example (ptp-pack.c): one file, RAW, size 1, lossless -> mRAW
    mraw = h("01000000 10000000 06000000 01000000 04000000")
    assert V.image_format_code(mraw) == (0x1C00, 20) and V.format_image_format(0x1C00) == "mraw"
    # a real 1300D-class body's current value: one file, JPEG, L, fine
    large_fine = h("01000000 10000000 01000000 00000000 03000000")
    assert V.image_format_code(large_fine)[0] == 0x0300 and V.image_format_struct(0x0300) == large_fine
    # RAW + L fine JPEG: two files; S1 (size 0xE) is kept as 0xD in the condensed code
    assert V.image_format_code(V.image_format_struct(0x0C03)) == (0x0C03, 36)
    assert V.image_format_struct(0xD300)[12:16] == h("0e 00 00 00")
    for code in V.IMAGE_FORMAT:
        assert V.image_format_code(V.image_format_struct(code))[0] == code
    with pytest.raises(ValueError):
        V.image_format_code(h("03 00 00 00") + bytes(48))
    assert (
        V.image_size_class(0x1300) == "M" and V.image_size_class(0x0C03) == "L" and V.image_size_class(0xE300) == "S2"
    )


def test_evf_output_bits() -> None:
    assert (
        V.format_evf_output(0) == "off" and V.format_evf_output(3) == "tft+pc" and V.format_evf_output(8) == "mobile2"
    )
    assert V.parse_evf_output("TFT + PC") == 3 and V.parse_evf_output("off") == 0 and V.parse_evf_output("x") is None


# -- the property table -------------------------------------------------------------------------------


def test_names_match_the_other_vendors() -> None:
    for name, code in (
        ("iso", C.ISOSpeed),
        ("f-number", C.Aperture),
        ("aperture", C.Aperture),
        ("shutter", C.ShutterSpeed),
        ("exposure", C.ShutterSpeed),
        ("shutter-speed", C.ShutterSpeed),
        ("exp-bias", C.ExpCompensation),
        ("whitebalance", C.WhiteBalance),
        ("wb", C.WhiteBalance),
        ("effect", C.PictureStyle),
        ("drive", C.DriveMode),
        ("0xD103", C.ISOSpeed),
        ("d1ac", C.ShutterCounter),
        (0xD120, C.ImageFormat),
    ):
        assert lookup(name).code == code, name
    assert len({p.name for p in PROPERTIES}) == len(PROPERTIES)
    with pytest.raises(ValueError, match="unknown property"):
        lookup("zoom")
    bare = lookup(0xD1FE)
    assert bare.name == "0xD1FE" and bare.decode(h("05 00 00 00")) == 5 and bare.decode(b"EOS\x00x") == "EOS"
    # a standard property a body reports in a record the way DevicePropValue encodes it (a PTP string)
    assert lookup(0x5003).decode(b"\x04" + "L43".encode("utf-16-le") + b"\x00\x00") == "L43"


def test_settings_are_set_again_after_a_reconnect_the_live_view_output_is_not() -> None:
    from ptpd.canon.properties import reapplies

    assert reapplies(C.ISOSpeed) and reapplies(C.CaptureDestination) and reapplies(C.Artist)
    assert not reapplies(C.EVFOutputDevice) and not reapplies(0x5011)  # the link's, and a clock (DateTime)


def test_values_read_from_records_as_real_bodies_send_them() -> None:
    # real bodies send every scalar in 4 bytes; a body may sign-extend the u8 compensation
    assert lookup("exp-bias").decode(h("fd ff ff ff")) == 0xFD and lookup("exp-bias").decode(h("fd")) == 0xFD
    assert lookup("iso").decode(h("58 00 00 00")) == 0x58 and lookup("iso").decode(h("58 00")) == 0x58
    assert lookup("lens").decode(b"EF-S18-55mm\x00\x00\x00") == "EF-S18-55mm"
    assert lookup("image-format").decode(h("01000000 10000000 01000000 00000000 03000000")) == 0x0300
    assert lookup("image-format").decode_list(2, V.image_format_struct(0x0300) + V.image_format_struct(0x0C03)) == (
        0x0300,
        0x0C03,
    )
    assert lookup("iso").decode_list(2, h("48 00 00 00 58 00 00 00")) == (0x48, 0x58)
    assert lookup("iso").decode_list(3, h("48 00 00 00 58 00 00 00")) == ()  # elements of another size


def test_labels_parse_against_the_cameras_own_values_first() -> None:
    iso = lookup("iso")
    assert iso.parse("400", (0x48, 0x58)) == 0x58 and iso.parse("ISO 400") == 0x58 and iso.parse("auto") == 0
    assert iso.parse(0x58) == 0x58 and iso.parse("0x58") == 0x58
    shutter = lookup("shutter-speed")
    assert shutter.parse("0.3s", (0x45,)) == 0x45  # the third stop the body lists, not the half stop
    assert shutter.parse('1/250"') == 0x78 and shutter.parse("1/250 s") == 0x78
    bias = lookup("exp-bias")
    allowed = tuple(e & 0xFF for e in range(-8, 9) if abs(e) % 8 in (0, 3, 5))  # -1 ... +1 in thirds
    assert bias.parse("1/3", allowed) == 0x03 and bias.parse("+1/3", allowed) == 0x03  # not -1/3
    assert bias.parse("-1/3", allowed) == 0xFD and bias.parse("\u22121/3", allowed) == 0xFD
    assert lookup("metering").parse("Center Weighted") == 0
    wb = lookup("whitebalance")
    assert wb.parse("Daylight") == 1 and wb.parse("awb") == 0 and wb.label(8) == "shade" and wb.label(77) == "0x4D"
    assert lookup("picture-style").parse("Monochrome") == 0x86
    assert lookup("capture-target").parse("pc") == 4
    with pytest.raises(ValueError, match="cannot read"):
        iso.parse("lots")


# -- state and detection --------------------------------------------------------------------------------


def test_state_follows_records_and_reports_what_changed() -> None:
    state = EosState()
    assert state.apply(
        [ev.PropValue(C.ISOSpeed, h("48 00 00 00")), ev.AvailList(C.ISOSpeed, 3, 2, h("48 00 00 00 58 00 00 00"))]
    ) == {C.ISOSpeed}
    assert state.values[C.ISOSpeed] == 0x48 and state.allowed[C.ISOSpeed] == (0x48, 0x58)
    assert state.apply([ev.PropValue(C.ISOSpeed, h("48 00 00 00"))]) == set()  # no news
    assert state.apply([ev.PropValue(C.ISOSpeed, h("58 00 00 00")), ev.CameraStatus(1)]) == {C.ISOSpeed}
    assert state.status == 1
    state.set(C.ISOSpeed, 0x48)
    assert state.raw[C.ISOSpeed] == h("48 00 00 00")


@pytest.mark.parametrize(
    ("manufacturer", "extension", "model", "eos", "eos_m"),
    [
        ("Canon Inc.", 6, "Canon EOS 1300D", True, False),  # what real bodies report (ptpwebcam reports)
        ("Canon.Inc", 6, "Canon EOS M", True, True),
        ("", 0xB, "Canon EOS 5D Mark III", True, False),  # Canon's own extension id
        ("Nikon", 0xA, "D850", False, False),
        ("Canon Inc.", 6, "Canon PowerShot SX600 HS", True, True),
    ],
)
def test_detection_by_manufacturer_or_extension(
    manufacturer: str, extension: int, model: str, eos: bool, eos_m: bool
) -> None:
    ops = (0x1001, 0x9114, 0x9115, 0x9116, 0x9128)
    assert is_eos(manufacturer, extension, ops) is eos
    assert is_eos_m(model, ops) is eos_m
    assert not is_eos("Canon Inc.", 6, (0x1001, 0x1002))  # a PowerShot without the EOS operations
