"""Datasets: golden bytes written by hand from ptp.md §10's tables, round trips, fuzzing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ptpd.protocol.codes import (
    DataType,
    DevicePropCode,
    FormFlag,
    ObjectFormat,
    OperationCode,
    StorageType,
    WhiteBalance,
)
from ptpd.protocol.datasets import (
    DeviceInfo,
    DevicePropDesc,
    Enumeration,
    ObjectInfo,
    OtherForm,
    Range,
    StorageInfo,
    decode_handles,
    decode_uint32_array,
    encode_uint32_array,
)
from ptpd.protocol.datatypes import int_range
from ptpd.protocol.errors import LocalProtocolError, ProtocolError


def h(text: str) -> bytes:
    """Hex with spaces, '|' separators and comments after '#' on each line."""
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    return bytes.fromhex(" ".join(lines).replace("|", " "))


# -- golden bytes -------------------------------------------------------------------------

DEVICE_INFO_BYTES = h("""
    64 00                                   # StandardVersion 100
    0e 00 00 00                             # VendorExtensionID 0x0E Fuji
    64 00                                   # VendorExtensionVersion 100
    03 46 00 3b 00 00 00                    # VendorExtensionDesc "F;"
    00 00                                   # FunctionalMode standard
    03 00 00 00 | 01 10 02 10 09 10         # OperationsSupported 0x1001 0x1002 0x1009
    02 00 00 00 | 02 40 0d 40               # EventsSupported ObjectAdded CaptureComplete
    01 00 00 00 | 05 50                     # DevicePropertiesSupported WhiteBalance
    01 00 00 00 | 01 38                     # CaptureFormats EXIF/JPEG
    02 00 00 00 | 01 30 01 38               # ImageFormats Association EXIF/JPEG
    03 46 00 75 00 00 00                    # Manufacturer "Fu"
    03 58 00 31 00 00 00                    # Model "X1"
    04 31 00 2e 00 30 00 00 00              # DeviceVersion "1.0"
    00                                      # SerialNumber ""
""")

DEVICE_INFO = DeviceInfo(
    standard_version=100,
    vendor_extension_id=0x0E,
    vendor_extension_version=100,
    vendor_extension_desc="F;",
    functional_mode=0,
    operations_supported=(0x1001, 0x1002, 0x1009),
    events_supported=(0x4002, 0x400D),
    device_properties_supported=(0x5005,),
    capture_formats=(0x3801,),
    image_formats=(0x3001, 0x3801),
    manufacturer="Fu",
    model="X1",
    device_version="1.0",
    serial_number="",
)

STORAGE_INFO_BYTES = h("""
    04 00                     # StorageType removable RAM
    03 00                     # FilesystemType DCF
    00 00                     # AccessCapability read-write
    00 00 00 00 08 00 00 00   # MaxCapacity 32 GiB
    78 56 34 12 00 00 00 00   # FreeSpaceInBytes 0x12345678
    ff ff ff ff               # FreeSpaceInImages not used
    03 53 00 44 00 00 00      # StorageDescription "SD"
    00                        # VolumeLabel ""
""")

STORAGE_INFO = StorageInfo(4, 3, 0, 32 << 30, 0x12345678, 0xFFFFFFFF, "SD", "")

OBJECT_INFO_BYTES = h("""
    01 00 01 00     # 0  StorageID 0x00010001
    01 38           # 4  ObjectFormat EXIF/JPEG
    00 00           # 6  ProtectionStatus none
    40 e2 01 00     # 8  ObjectCompressedSize 123456
    08 38           # 12 ThumbFormat JFIF
    a0 0f 00 00     # 14 ThumbCompressedSize 4000
    a0 00 00 00     # 18 ThumbPixWidth 160
    78 00 00 00     # 22 ThumbPixHeight 120
    70 17 00 00     # 26 ImagePixWidth 6000
    a0 0f 00 00     # 30 ImagePixHeight 4000
    18 00 00 00     # 34 ImageBitDepth 24
    05 00 00 00     # 38 ParentObject 5
    00 00           # 42 AssociationType none
    00 00 00 00     # 44 AssociationDesc
    00 00 00 00     # 48 SequenceNumber
    06 41 00 2e 00 4a 00 50 00 47 00 00 00    # 52 Filename "A.JPG"
    10 32 00 30 00 32 00 34 00 30 00 31 00 30 00 31 00 54 00
       31 00 32 00 30 00 30 00 30 00 30 00 00 00             # CaptureDate "20240101T120000"
    00              # ModificationDate ""
    02 6b 00 00 00  # Keywords "k"
""")

OBJECT_INFO = ObjectInfo(
    storage_id=0x00010001,
    object_format=0x3801,
    protection_status=0,
    object_compressed_size=123456,
    thumb_format=0x3808,
    thumb_compressed_size=4000,
    thumb_pix_width=160,
    thumb_pix_height=120,
    image_pix_width=6000,
    image_pix_height=4000,
    image_bit_depth=24,
    parent_object=5,
    association_type=0,
    association_desc=0,
    sequence_number=0,
    filename="A.JPG",
    capture_date="20240101T120000",
    modification_date="",
    keywords="k",
)

FOLDER_INFO_BYTES = h("""
    01 00 01 00 | 01 30 | 00 00 | 00 00 00 00 | 00 00 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00
    00 00 00 00 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00 | 01 00 | 00 00 00 00 | 00 00 00 00
    05 44 00 43 00 49 00 4d 00 00 00 | 00 | 00 | 00      # "DCIM", no dates, no keywords
""")

DESCS: list[tuple[str, bytes, DevicePropDesc]] = [
    (
        "fnumber-enum (ptp.md example)",
        h("07 50 | 04 00 | 01 | 18 01 | 18 01 | 02 | 04 00 | b4 00 18 01 90 01 30 02"),
        DevicePropDesc(0x5007, DataType.UINT16, 1, 280, 280, Enumeration((180, 280, 400, 560))),
    ),
    (
        "whitebalance-enum",
        h("05 50 | 04 00 | 01 | 02 00 | 04 00 | 02 | 03 00 | 02 00 04 00 06 00"),
        DevicePropDesc(0x5005, DataType.UINT16, 1, 2, 4, Enumeration((2, 4, 6))),
    ),
    (
        "battery-range-getonly",
        h("01 50 | 02 00 | 00 | 64 | 32 | 01 | 00 64 01"),
        DevicePropDesc(0x5001, DataType.UINT8, 0, 100, 50, Range(0, 100, 1)),
    ),
    (
        "expbias-int16-range",
        h("10 50 | 03 00 | 01 | 00 00 | 0c fe | 01 | 30 f8 d0 07 f4 01"),
        DevicePropDesc(0x5010, DataType.INT16, 1, 0, -500, Range(-2000, 2000, 500)),
    ),
    (
        "imagesize-str-none",
        h("""03 50 | ff ff | 01
             0a 36 00 30 00 30 00 30 00 78 00 34 00 30 00 30 00 30 00 00 00
             0a 36 00 30 00 30 00 30 00 78 00 34 00 30 00 30 00 30 00 00 00
             00"""),
        DevicePropDesc(0x5003, DataType.STR, 1, "6000x4000", "6000x4000", None),
    ),
    (
        "imagesize-str-enum",
        h("""03 50 | ff ff | 01 | 04 31 00 78 00 31 00 00 00 | 04 32 00 78 00 32 00 00 00
             02 | 02 00 | 04 31 00 78 00 31 00 00 00 | 04 32 00 78 00 32 00 00 00"""),
        DevicePropDesc(0x5003, DataType.STR, 1, "1x1", "2x2", Enumeration(("1x1", "2x2"))),
    ),
    (
        "datetime-str-empty",
        h("11 50 | ff ff | 01 | 00 | 00 | 00"),
        DevicePropDesc(0x5011, DataType.STR, 1, "", "", None),
    ),
    (
        "vendor-auint16-none",
        h("12 d2 | 04 40 | 00 | 00 00 00 00 | 02 00 00 00 01 00 02 00 | 00"),
        DevicePropDesc(0xD212, DataType.AUINT16, 0, (), (1, 2), None),
    ),
    (
        "exposuretime-uint32-range",
        h("0d 50 | 06 00 | 01 | 64 00 00 00 | 64 00 00 00 | 01 | 01 00 00 00 | 10 27 00 00 | 01 00 00 00"),
        DevicePropDesc(0x500D, DataType.UINT32, 1, 100, 100, Range(1, 10000, 1)),
    ),
    (
        "uint128-none",
        h("00 d0 | 0a 00 | 00 | " + "ff " * 16 + "| 01 " + "00 " * 15 + "| 00"),
        DevicePropDesc(0xD000, DataType.UINT128, 0, (1 << 128) - 1, 1, None),
    ),
    (
        "datetime-form-3-kept-raw",
        h("11 50 | ff ff | 01 | 00 | 00 | 03"),
        DevicePropDesc(0x5011, DataType.STR, 1, "", "", OtherForm(3, b"")),
    ),
]

GOLDEN = [
    ("DeviceInfo", DeviceInfo, DEVICE_INFO_BYTES, DEVICE_INFO),
    ("StorageInfo", StorageInfo, STORAGE_INFO_BYTES, STORAGE_INFO),
    ("ObjectInfo", ObjectInfo, OBJECT_INFO_BYTES, OBJECT_INFO),
    *((f"DevicePropDesc {name}", DevicePropDesc, raw, desc) for name, raw, desc in DESCS),
]


@pytest.mark.parametrize(("cls", "raw", "expected"), [g[1:] for g in GOLDEN], ids=[g[0] for g in GOLDEN])
def test_golden_decode_and_encode(cls: Any, raw: bytes, expected: Any) -> None:
    assert cls.decode(raw) == expected
    assert cls.decode(raw, strict=True) == expected
    assert expected.encode() == raw


@pytest.mark.parametrize(("cls", "raw", "expected"), [g[1:] for g in GOLDEN], ids=[g[0] for g in GOLDEN])
def test_every_truncation_is_protocol_error(cls: Any, raw: bytes, expected: object) -> None:
    for n in range(len(raw)):
        with pytest.raises(ProtocolError):
            cls.decode(raw[:n])


@pytest.mark.parametrize(("cls", "raw", "expected"), [g[1:] for g in GOLDEN], ids=[g[0] for g in GOLDEN])
def test_trailing_bytes_tolerated_unless_strict(cls: Any, raw: bytes, expected: object) -> None:
    if isinstance(expected, DevicePropDesc) and isinstance(expected.form, OtherForm):
        assert cls.decode(raw + b"\x01\x02").form == OtherForm(3, b"\x01\x02")
        return
    assert cls.decode(raw + b"vendor data") == expected
    assert cls.decode(bytearray(raw + b"\x00")) == expected
    assert cls.decode(memoryview(raw + b"\x00")) == expected
    with pytest.raises(ProtocolError, match="unexpected bytes"):
        cls.decode(raw + b"\x00", strict=True)


def test_object_info_details() -> None:
    assert OBJECT_INFO_BYTES[52] == 6  # Filename at offset 52 (ptp.md §10)
    info = ObjectInfo.decode(OBJECT_INFO_BYTES)
    assert info.object_format is ObjectFormat.EXIF_JPEG and not info.is_folder
    assert info.capture_datetime == dt.datetime(2024, 1, 1, 12)
    assert info.modification_datetime is None
    assert dataclasses.replace(info, capture_date="junk").capture_datetime is None
    folder = ObjectInfo.decode(FOLDER_INFO_BYTES, strict=True)
    assert folder.is_folder and folder.filename == "DCIM" and folder.association_type == 1
    assert folder.parent_object == 0 and folder.encode() == FOLDER_INFO_BYTES


def test_decoded_codes_are_enums_and_ints() -> None:
    info = DeviceInfo.decode(DEVICE_INFO_BYTES)
    assert info.operations_supported[0] is OperationCode.GetDeviceInfo
    assert info.supports_operation(OperationCode.GetObject) and not info.supports_operation(0x101B)
    vendor = DeviceInfo.decode(DeviceInfo(operations_supported=(0x9805,)).encode())
    assert vendor.operations_supported == (0x9805,) and type(vendor.operations_supported[0]) is int
    assert StorageInfo.decode(STORAGE_INFO_BYTES).storage_type is StorageType.RemovableRAM
    desc = DevicePropDesc.decode(DESCS[1][1])
    assert desc.code is DevicePropCode.WhiteBalance and desc.datatype is DataType.UINT16
    assert desc.current == WhiteBalance.Daylight and desc.form_flag == FormFlag.Enumeration


def test_lists_become_tuples() -> None:
    info = DeviceInfo(operations_supported=[0x1001])  # type: ignore[arg-type]  # a list, on purpose
    assert info.operations_supported == (0x1001,)
    assert Enumeration([1, 2]).values == (1, 2)  # type: ignore[arg-type]  # as above
    hash(info)


def test_partial_device_info() -> None:
    assert DeviceInfo.decode(b"", partial=True) == DeviceInfo()
    cut = DEVICE_INFO_BYTES[:20]  # ends inside OperationsSupported
    info = DeviceInfo.decode(cut, partial=True)
    assert info.vendor_extension_id == 0x0E and info.vendor_extension_desc == "F;"
    assert info.operations_supported == () and info.model == ""
    with pytest.raises(ProtocolError, match="DeviceInfo.operations_supported"):
        DeviceInfo.decode(cut)


def test_desc_helpers() -> None:
    fnum = DESCS[0][2]
    assert fnum.writable and fnum.allows(400) and not fnum.allows(401) and not fnum.allows("400")
    assert fnum.with_current(560).current == 560 and fnum.current == 280
    battery = DESCS[2][2]
    assert not battery.writable and battery.allows(0) and battery.allows(100)
    assert not battery.allows(101) and not battery.allows(-1) and battery.form_flag == FormFlag.Range
    bias = DESCS[3][2]
    assert bias.allows(-1500) and not bias.allows(-1400) and not bias.allows(True)
    assert DESCS[4][2].allows("anything") and DESCS[4][2].form_flag == FormFlag.NoForm
    assert not DESCS[4][2].allows("x" * 300)
    assert DESCS[5][2].allows("1x1") and not DESCS[5][2].allows("3x3")


@pytest.mark.parametrize(
    "desc",
    [
        DevicePropDesc(0x5007, DataType.UINT16, 1, 280, 70000, None),  # current out of range
        DevicePropDesc(0x5007, DataType.UINT16, 1, 280, 280, Enumeration((1, -1))),
        DevicePropDesc(0x5007, DataType.UINT16, 1, 280, 280, Range(0, 1, "x")),
        DevicePropDesc(0x5007, DataType.UINT16, 2 << 8, 280, 280, None),  # GetSet not a u8
        DevicePropDesc(0x5007, 0x0042, 1, 0, 0, None),  # unknown datatype
        DevicePropDesc(0x5007, DataType.UNDEF, 1, 0, 0, None),
        DevicePropDesc(0x15007, DataType.UINT16, 1, 0, 0, None),
        DevicePropDesc(0x5003, DataType.STR, 1, "a\x00", "", None),
        DevicePropDesc(0x5003, DataType.UINT8, 1, 0, 0, Enumeration(tuple(range(1)) * 65536)),
        DevicePropDesc(0x5003, DataType.UINT8, 1, 0, 0, OtherForm(2, b"")),
        DevicePropDesc(0x5003, DataType.UINT8, 1, 0, 0, "range"),  # type: ignore[arg-type]  # not a form, on purpose
    ],
)
def test_bad_desc_refused_on_encode(desc: DevicePropDesc) -> None:
    with pytest.raises(LocalProtocolError, match="DevicePropDesc"):
        desc.encode()


def test_bad_fields_refused_on_encode() -> None:
    with pytest.raises(LocalProtocolError, match="ObjectInfo.storage_id"):
        ObjectInfo(storage_id=-1).encode()
    with pytest.raises(LocalProtocolError, match="DeviceInfo.operations_supported"):
        DeviceInfo(operations_supported=(0x10000,)).encode()
    with pytest.raises(LocalProtocolError, match="StorageInfo.volume_label"):
        StorageInfo(volume_label="v" * 255).encode()
    with pytest.raises(LocalProtocolError):
        ObjectInfo(filename=None).encode()  # type: ignore[arg-type]  # not a string, on purpose


def test_desc_with_unknown_datatype_is_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="DataType"):
        DevicePropDesc.decode(h("07 50 | 42 00 | 01 | 00 00 | 00 00 | 00"))
    with pytest.raises(ProtocolError, match="UNDEF"):
        DevicePropDesc.decode(h("07 50 | 00 00 | 01 | 00"))


# -- arrays, absurd counts ----------------------------------------------------------------------


def test_uint32_arrays_golden() -> None:
    raw = h("03 00 00 00 | 01 00 00 00 | 02 00 00 00 | ff ff ff 7f")
    assert decode_uint32_array(raw) == (1, 2, 0x7FFFFFFF)
    assert encode_uint32_array([1, 2, 0x7FFFFFFF]) == raw
    assert decode_handles(h("00 00 00 00")) == ()
    assert encode_uint32_array(()) == h("00 00 00 00")
    assert decode_uint32_array(h("01 00 00 00 | 01 00 01 00"), strict=True) == (0x00010001,)
    with pytest.raises(ProtocolError):
        decode_uint32_array(h("01 00 00 00 | 01 00 01 00 | 00"), strict=True)
    with pytest.raises(LocalProtocolError):
        encode_uint32_array([1 << 32])
    for n in range(len(raw)):
        with pytest.raises(ProtocolError):
            decode_uint32_array(raw[:n])


BILLION = (1_000_000_000).to_bytes(4, "little")
FOUR_GB = (0xFFFFFFFF).to_bytes(4, "little")


@pytest.mark.parametrize(
    ("decode", "raw"),
    [
        (decode_uint32_array, BILLION + b"\x00" * 64),
        (decode_uint32_array, FOUR_GB + b"\x00" * 64),
        # DeviceInfo whose OperationsSupported claims a billion entries
        (DeviceInfo.decode, DEVICE_INFO_BYTES[:17] + BILLION + b"\x00" * 64),
        # ... and EventsSupported 4 G entries (8 GB)
        (DeviceInfo.decode, DEVICE_INFO_BYTES[:27] + FOUR_GB + b"\x00" * 64),
        # an AUINT128 property value whose count says 64 GB
        (DevicePropDesc.decode, h("00 d0 | 0a 40 | 00") + FOUR_GB + b"\x00" * 64),
        # an Enumeration of 65535 strings in a few bytes
        (DevicePropDesc.decode, h("03 50 | ff ff | 01 | 00 | 00 | 02 | ff ff | 00 00 00")),
    ],
    ids=[
        "handles-billion",
        "handles-4G",
        "deviceinfo-ops-billion",
        "deviceinfo-events-4G",
        "desc-auint128-4G",
        "desc-enum-65535",
    ],
)
def test_absurd_counts_refused_before_allocation(decode: Callable[[bytes], object], raw: bytes) -> None:
    assert DEVICE_INFO_BYTES[17:21] == h("03 00 00 00") and DEVICE_INFO_BYTES[27:31] == h("02 00 00 00")
    tracemalloc.start()
    try:
        with pytest.raises(ProtocolError, match="count|values cannot fit"):
            decode(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20  # nothing near the announced size was allocated


# -- hypothesis round trips ------------------------------------------------------------------

text = st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=30)
u16, u32, u64 = st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF), st.integers(0, (1 << 64) - 1)
u16s = st.lists(u16, max_size=12).map(tuple)

device_infos = st.builds(DeviceInfo, u16, u32, u16, text, u16, u16s, u16s, u16s, u16s, u16s, text, text, text, text)
storage_infos = st.builds(StorageInfo, u16, u16, u16, u64, u64, u32, text, text)
object_infos = st.builds(
    ObjectInfo, u32, u16, u16, u32, u16, u32, u32, u32, u32, u32, u32, u32, u16, u32, u32, text, text, text, text
)

SCALAR_AND_ARRAY = [t for t in DataType if t not in (DataType.UNDEF,)]


def values_for(datatype: DataType) -> st.SearchStrategy[Any]:
    if datatype is DataType.STR:
        return text
    lo, hi = int_range(datatype)
    if datatype.is_array:
        return st.lists(st.integers(lo, hi), max_size=6).map(tuple)
    return st.integers(lo, hi)


@st.composite
def prop_descs(draw: st.DrawFn) -> DevicePropDesc:
    datatype = draw(st.sampled_from(SCALAR_AND_ARRAY))
    value = values_for(datatype)
    form = draw(
        st.one_of(
            st.none(),
            st.builds(Range, value, value, value),
            st.builds(Enumeration, st.lists(value, max_size=8).map(tuple)),
            st.builds(OtherForm, st.integers(3, 255), st.binary(max_size=16)),
        )
    )
    return DevicePropDesc(draw(u16), datatype, draw(st.integers(0, 255)), draw(value), draw(value), form)


@settings(max_examples=150, deadline=None)
@given(st.one_of(device_infos, storage_infos, object_infos, prop_descs()))
def test_round_trip(dataset: DeviceInfo | StorageInfo | ObjectInfo | DevicePropDesc) -> None:
    raw = dataset.encode()
    again = type(dataset).decode(raw, strict=True)
    assert again == dataset
    assert again.encode() == raw


@settings(max_examples=100, deadline=None)
@given(st.lists(u32, max_size=50))
def test_uint32_array_round_trip(values: list[int]) -> None:
    raw = encode_uint32_array(values)
    assert len(raw) == 4 + 4 * len(values)
    assert decode_uint32_array(raw, strict=True) == tuple(values)


# -- fuzz: only ProtocolError may come out ---------------------------------------------------

DECODERS: list[Callable[[bytes], object]] = [
    DeviceInfo.decode,
    StorageInfo.decode,
    ObjectInfo.decode,
    DevicePropDesc.decode,
    decode_uint32_array,
    lambda b: DeviceInfo.decode(b, partial=True),
    lambda b: ObjectInfo.decode(b, strict=True),
]
SEEDS = [g[2] for g in GOLDEN] + [FOLDER_INFO_BYTES, h("02 00 00 00 01 00 00 00 02 00 00 00")]


def _decode_only_protocol_errors(raw: bytes) -> None:
    for decode in DECODERS:
        try:
            decode(raw)
        except ProtocolError:
            pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_random_bytes(raw: bytes) -> None:
    _decode_only_protocol_errors(raw)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "count"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[pos] = draw(st.sampled_from([0x00, 0x01, 0x02, 0x03, 0x7F, 0x80, 0xFE, 0xFF]))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and data:
            del data[pos : pos + draw(st.integers(1, 8))]
        elif op == "truncate":
            del data[pos:]
        elif op == "count" and len(data) >= pos + 4:
            data[pos : pos + 4] = draw(st.sampled_from([BILLION, FOUR_GB, b"\xff\xff\x00\x00"]))
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_fuzz_mutated_golden_bytes(raw: bytes) -> None:
    _decode_only_protocol_errors(raw)
