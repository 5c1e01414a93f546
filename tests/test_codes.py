"""The code tables: unique, complete per ptp.md, round-trip through int, named safely."""

from __future__ import annotations

import enum
import inspect
import re
from pathlib import Path

import pytest

from ptpd.protocol import codes
from ptpd.protocol.codes import (
    DataType,
    DevicePropCode,
    EventCode,
    InitFailReason,
    ObjectFormat,
    OperationCode,
    ResponseCode,
    code_name,
    lookup,
)

ALL_ENUMS = [
    obj
    for _, obj in inspect.getmembers(codes, inspect.isclass)
    if issubclass(obj, enum.IntEnum) and obj.__module__ == codes.__name__ and obj is not codes._Code
]

REFERENCE = Path("/work/shared/reference/ptp.md")


def test_there_are_enums() -> None:
    names = {e.__name__ for e in ALL_ENUMS}
    assert {
        "OperationCode",
        "ResponseCode",
        "EventCode",
        "DevicePropCode",
        "DataType",
        "ObjectFormat",
        "InitFailReason",
        "DataPhase",
    } <= names


@pytest.mark.parametrize("cls", ALL_ENUMS, ids=lambda c: c.__name__)
def test_unique_and_round_trip(cls: type[enum.IntEnum]) -> None:
    values = [int(m) for m in cls]
    assert len(values) == len(set(values)), f"{cls.__name__} has aliases"
    # Aliases would hide in __members__ but not in iteration.
    assert len(cls.__members__) == len(list(cls))
    for member in cls:
        assert cls(int(member)) is member
        assert cls[member.name] is member
        assert int(member).to_bytes(4, "little")  # fits a u32 wire field
        assert 0 <= int(member) <= 0xFFFFFFFF


def test_full_tables_from_ptp_md() -> None:
    # The contiguous standard ranges of ptp.md §3-§6.
    assert {int(c) for c in OperationCode} >= set(range(0x1001, 0x1026))
    assert {int(c) for c in ResponseCode} == set(range(0x2000, 0x2024))
    assert {int(c) for c in EventCode} == set(range(0x4000, 0x400F))
    assert {int(c) for c in DevicePropCode} == set(range(0x5000, 0x502D))
    assert {int(c) for c in ObjectFormat} == set(range(0x3000, 0x300E)) | set(range(0x3800, 0x3812))
    assert {int(c) for c in DataType} == set(range(0, 11)) | set(range(0x4001, 0x400B)) | {0xFFFF}


@pytest.mark.skipif(not REFERENCE.exists(), reason="reference not present")
def test_names_match_reference_tables() -> None:
    """Every `| 0xNNNN | Name |` row in ptp.md names the same member (independent source)."""
    text = REFERENCE.read_text()
    checked = 0
    for code, name in re.findall(r"\| (0x[0-9A-F]{4}) \| ([A-Za-z]+) ", text):
        value = int(code, 16)
        kind = value >> 12
        cls = {1: OperationCode, 2: ResponseCode, 4: EventCode, 5: DevicePropCode}.get(kind)
        if cls is None:
            continue
        assert cls(value).name == name, (code, name)
        checked += 1
    assert checked > 100


def test_golden_values() -> None:
    assert OperationCode.GetDeviceInfo == 0x1001
    assert OperationCode.GetPartialObject == 0x101B
    assert OperationCode.GetStream == 0x1025
    assert ResponseCode.OK == 0x2001
    assert ResponseCode.SessionAlreadyOpen == 0x201E
    assert EventCode.CaptureComplete == 0x400D
    assert DevicePropCode.ExposureIndex == 0x500F
    assert DevicePropCode.AudioVolume == 0x502C
    assert ObjectFormat.Association == 0x3001
    assert ObjectFormat.EXIF_JPEG == 0x3801
    assert ObjectFormat.JFIF == 0x3808
    assert ObjectFormat.DNG == 0x3811
    assert DataType.STR == 0xFFFF
    assert DataType.AUINT16 == 0x4004
    assert InitFailReason.Busy == 2


def test_datatype_helpers() -> None:
    assert DataType.AUINT32.is_array and DataType.AUINT32.element is DataType.UINT32
    assert DataType.UINT32.array_of() is DataType.AUINT32
    assert [DataType(t).size for t in range(1, 11)] == [1, 1, 2, 2, 4, 4, 8, 8, 16, 16]
    assert DataType.INT16.signed and not DataType.UINT16.signed and DataType.AINT64.signed
    assert DataType.STR.size is None and not DataType.STR.is_array and not DataType.STR.is_integer
    with pytest.raises(ValueError):
        DataType.STR.array_of()
    assert ObjectFormat.EXIF_JPEG.is_image and not ObjectFormat.Association.is_image


def test_code_name_never_raises() -> None:
    assert code_name("operation", 0x1001) == "GetDeviceInfo"
    assert code_name("response", 0x2019) == "DeviceBusy"
    assert code_name("event", 0x4002) == "ObjectAdded"
    assert code_name("property", 0x5005) == "WhiteBalance"
    assert code_name("datatype", 0xFFFF) == "STR"
    assert code_name("format", 0x3801) == "EXIF_JPEG"
    assert code_name(OperationCode, 0x9805) == "0x9805"
    assert code_name(EventCode, 0xC001) == "0xC001"
    assert code_name(ResponseCode, 0x12345) == "0x12345"
    assert lookup(ResponseCode, 0x2001) is ResponseCode.OK
    assert lookup(ResponseCode, 0xA001) == 0xA001 and type(lookup(ResponseCode, 0xA001)) is int
    assert codes.is_vendor_code(0xD212) and not codes.is_vendor_code(0x5005)


def test_members_format_as_ints() -> None:
    # Others log codes with f"{code:04X}"; a str() override would break that.
    assert f"{OperationCode.GetObject:04X}" == "1009"
    assert OperationCode.GetObject.hex == "0x1009"
    assert OperationCode.GetObject + 1 == 0x100A


def test_every_member_documented() -> None:
    """Each member has a #: comment citing its source (style.md (c)3)."""
    source = inspect.getsource(codes)
    for cls in ALL_ENUMS:
        for member in cls:
            assert re.search(rf"^\s+{member.name} = [^\n]*#: ", source, re.M), f"{cls.__name__}.{member.name}"
