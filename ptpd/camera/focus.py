"""Stepping a standard FocusDistance (ISO 15740's 0x5008, millimetres, 0xFFFF for
infinity): which positions a focus stack walks through, nearest first, evenly spaced in
dioptres, as depth of field is."""

from __future__ import annotations

from ptpd.protocol.datasets import DevicePropDesc, Enumeration, Range
from ptpd.protocol.datatypes import Value
from ptpd.protocol.properties import FOCUS_INFINITY

#: positions a FocusDistance given as a range is walked in (even steps in dioptres)
FOCUS_RANGE_STEPS = 16


def dioptres(mm: int) -> float:
    """1/distance in 1/m (0 for infinity, 0xFFFF): how far apart focus positions really are."""
    return 0.0 if mm >= FOCUS_INFINITY or mm <= 0 else 1000.0 / mm


def focus_value(value: Value) -> int:
    """A FocusDistance value: an int, as :meth:`GenericCamera._focus_desc` takes only an
    integer FocusDistance (UINT16 in the standard)."""
    assert isinstance(value, int), value
    return value


def focus_positions(desc: DevicePropDesc) -> list[int]:
    """The FocusDistance values to step through, nearest first."""
    if isinstance(desc.form, Enumeration):
        return sorted({focus_value(v) for v in desc.form.values}, key=lambda v: -dioptres(v))
    assert isinstance(desc.form, Range)
    lo, hi, step = focus_value(desc.form.minimum), focus_value(desc.form.maximum), max(1, focus_value(desc.form.step))
    near, far = dioptres(max(lo, 1)), dioptres(hi)
    out: set[int] = set()
    for i in range(FOCUS_RANGE_STEPS):
        d = near + (far - near) * i / (FOCUS_RANGE_STEPS - 1)
        mm = hi if d <= 0 else round(1000.0 / d)
        out.add(min(hi, max(lo, lo + round((mm - lo) / step) * step)))
    return sorted(out, key=lambda v: -dioptres(v))
