"""Every input from a camera has a budget: counts past it are refused before the work.

Decoding costs the daemon's one event loop, so a dataset may cost it a few
milliseconds at most: a DeviceInfo of 2 M operation codes took 3.5 s to decode before
these caps (and a bus ``ping`` waited for it). The caps sit far above what real
cameras send (see ``docs/reliability.md``), and an over-cap count is an error even for
the lenient ``partial`` DeviceInfo decoder, which reads a cut-short dataset as "fewer
fields": an absurd count must not read as "0 operations" on a connected camera.
"""

from __future__ import annotations

import struct
import time

import pytest

from ptpd.protocol.buffer import Writer
from ptpd.protocol.codes import DataType, OperationCode
from ptpd.protocol.datasets import (
    MAX_CODES,
    MAX_ENUMERATION_VALUES,
    MAX_HANDLES,
    DeviceInfo,
    DevicePropDesc,
    Enumeration,
    decode_uint32_array,
)
from ptpd.protocol.datatypes import MAX_ARRAY_ELEMENTS, decode_value
from ptpd.protocol.errors import LimitExceeded, ProtocolError


def device_info(n: int, lists: int = 5) -> bytes:
    """A DeviceInfo whose first ``lists`` code lists hold ``n`` codes each."""
    w = Writer().u16(100).u32(0).u16(0).string("").u16(0)
    codes = [(0x1001 + i) % 0x10000 for i in range(n)]
    for i in range(5):
        k = n if i < lists else 0
        w.u32(k).bytes(struct.pack(f"<{k}H", *codes[:k]))
    for s in ("Maker", "Model", "1.0", "42"):
        w.string(s)
    return w.getvalue()


def best_of(fn, runs: int = 5) -> float:
    """The fastest of ``runs`` calls, in seconds (the machine is shared)."""
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def test_a_full_device_info_decodes_in_milliseconds() -> None:
    # every list at its cap: 20,480 codes; before the look-up fix 4,096 took 33 ms
    raw = device_info(MAX_CODES)
    info = DeviceInfo.decode(raw)
    assert len(info.operations_supported) == MAX_CODES
    assert info.operations_supported[0] is OperationCode.GetDeviceInfo
    assert best_of(lambda: DeviceInfo.decode(raw)) < 0.015


@pytest.mark.parametrize("partial", [False, True])
def test_a_device_info_over_the_cap_is_refused_at_once(partial: bool) -> None:
    raw = device_info(2_000_000, lists=1)  # 4 MB: 3.5 s of decoding before
    t = time.perf_counter()
    with pytest.raises(LimitExceeded, match="operations_supported.*2000000.*4096"):
        DeviceInfo.decode(raw, partial=partial)
    assert time.perf_counter() - t < 0.05


def test_an_absurd_count_is_not_read_as_no_operations() -> None:
    # the count says 1e9 in a small dataset: a truncation for the old partial decoder,
    # which gave a DeviceInfo with no operations (and a camera shown connected)
    raw = device_info(3)
    at = 11  # OperationsSupported's count: after u16, u32, u16, "" and u16
    assert raw[at : at + 4] == (3).to_bytes(4, "little")
    cut = raw[:at] + (1_000_000_000).to_bytes(4, "little") + raw[at + 4 :]
    with pytest.raises(LimitExceeded):
        DeviceInfo.decode(cut, partial=True)
    # a DeviceInfo that is merely cut short still reads as far as it goes
    short = DeviceInfo.decode(raw[: at + 4 + 6 + 2], partial=True)
    assert len(short.operations_supported) == 3 and short.model == ""


def test_enumerations_have_a_cap() -> None:
    def desc(n: int) -> bytes:
        w = Writer().u16(0x5005).u16(DataType.UINT16).u8(1).u16(1).u16(1).u8(2).u16(n)
        return w.bytes(struct.pack(f"<{n}H", *range(n))).getvalue()

    form = DevicePropDesc.decode(desc(MAX_ENUMERATION_VALUES)).form
    assert isinstance(form, Enumeration) and len(form.values) == MAX_ENUMERATION_VALUES
    with pytest.raises(LimitExceeded, match="Enumeration"):
        DevicePropDesc.decode(desc(MAX_ENUMERATION_VALUES + 1))
    with pytest.raises(LimitExceeded):
        DevicePropDesc.decode(desc(65535))


def test_array_values_have_a_cap() -> None:
    # an AUINT8 of 16 M elements is a 16 MiB data phase but a 128 MiB tuple
    def arr(n: int) -> bytes:
        return struct.pack("<I", n) + bytes(n)

    values = decode_value(arr(MAX_ARRAY_ELEMENTS), DataType.AUINT8)
    assert isinstance(values, tuple) and len(values) == MAX_ARRAY_ELEMENTS
    with pytest.raises(LimitExceeded):
        decode_value(arr(MAX_ARRAY_ELEMENTS + 1), DataType.AUINT8)


def test_handle_arrays_have_a_cap() -> None:
    ok = struct.pack(f"<I{MAX_HANDLES}I", MAX_HANDLES, *range(MAX_HANDLES))
    assert len(decode_uint32_array(ok)) == MAX_HANDLES
    assert best_of(lambda: decode_uint32_array(ok), 3) < 0.05
    over = struct.pack("<I", MAX_HANDLES + 1) + bytes(4 * (MAX_HANDLES + 1))
    with pytest.raises(LimitExceeded):
        decode_uint32_array(over)


def test_limit_exceeded_is_a_protocol_error() -> None:
    # callers that refuse bad camera data keep refusing it
    assert issubclass(LimitExceeded, ProtocolError)
