"""The simulated camera's standard device properties (ISO 15740 §13, ptp.md §6).

Each property has a fixed description (:class:`PropertySpec`: datatype, get/set, factory
default, and a Range or Enumeration form) and a current value kept by
:class:`PropertyTable`. A value outside the description is refused with
:class:`InvalidValue` (the camera answers InvalidDevicePropValue 0x201C); a read-only
property with :class:`ReadOnly` (AccessDenied 0x200F); an unknown code with
:class:`UnknownProperty` (DevicePropNotSupported 0x200A).

Values travel as the bare value in the property's datatype (§10 of ptp.md): integers
little-endian, strings as PTP strings. This module encodes and decodes them with the
typed :mod:`ptpd.protocol.buffer` so a short or garbled value is a ``ProtocolError``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ptpd.protocol import datatypes
from ptpd.protocol.buffer import Reader
from ptpd.protocol.codes import DataType, FormFlag
from ptpd.protocol.codes import DevicePropCode as P
from ptpd.protocol.errors import LocalProtocolError, ProtocolError
from ptpd.protocol.properties import format_value, property_code, property_name

INT8, UINT8, INT16, UINT16 = DataType.INT8, DataType.UINT8, DataType.INT16, DataType.UINT16
UINT32, STR = DataType.UINT32, DataType.STR

Value = int | str


class PropertyError(Exception):
    """Base of property refusals."""


class UnknownProperty(PropertyError):
    """The camera has no such property (DevicePropNotSupported)."""


class ReadOnly(PropertyError):
    """The property is get-only (AccessDenied)."""


class InvalidValue(PropertyError):
    """The value is not allowed by the property's description (InvalidDevicePropValue)."""


def encode_value(datatype: int, value: Value) -> bytes:
    """The bare value as GetDevicePropValue sends it."""
    return datatypes.encode_value(datatype, value)


def decode_value(datatype: int, data: bytes) -> Value:
    """Parse a SetDevicePropValue payload; ``ProtocolError`` if short, long or garbled."""
    r = Reader(data)
    value = datatypes.read_value(r, datatype)
    if not r.at_end:
        raise ProtocolError(f"{r.remaining} extra bytes after the property value")
    if isinstance(value, tuple):  # no simulated property is an array
        raise ProtocolError("array values are not supported here")
    return value


@dataclass(frozen=True, slots=True)
class PropertySpec:
    """The fixed description of one property; its name and labels are the standard table's."""

    code: int  #: DevicePropCode
    datatype: int
    default: Value
    writable: bool = True
    form: FormFlag = FormFlag.NoForm
    #: Enumeration form: allowed values in camera order
    values: tuple[Value, ...] = ()
    #: Range form: (minimum, maximum, step)
    range: tuple[int, int, int] | None = None

    def __post_init__(self) -> None:
        # A description that refuses its own default is a bug in the table, not input.
        self.check(self.default)

    @property
    def name(self) -> str:
        """The unified name (``iso``, ``whitebalance``, ...), from :mod:`ptpd.protocol.properties`."""
        return property_name(self.code)

    def check(self, value: Value) -> None:
        """Raise :class:`InvalidValue` unless ``value`` is allowed."""
        try:
            datatypes.check_value(self.datatype, value)
        except LocalProtocolError as exc:
            raise InvalidValue(f"0x{self.code:04X}: {exc}") from None
        if self.form == FormFlag.Enumeration and value not in self.values:
            raise InvalidValue(f"0x{self.code:04X}: {value!r} is not one of {list(self.values)}")
        if self.form == FormFlag.Range:
            assert self.range is not None
            lo, hi, step = self.range
            if not isinstance(value, int) or not lo <= value <= hi or (step > 0 and (value - lo) % step):
                raise InvalidValue(f"0x{self.code:04X}: {value!r} is outside {lo}..{hi} step {step}")

    def label(self, value: Value) -> str:
        """The human label of ``value`` (for logs, the scene and the EXIF): the standard table's."""
        return format_value(self.code, value)


# --- the standard properties a simple camera has ---------------------------------------

#: ExposureTime values offered, in 1/10000 s: 1 s down to 1/2000 s
EXPOSURE_TIMES = (10000, 5000, 2500, 1250, 400, 200, 100, 80, 40, 20, 10, 5)
_BIAS = tuple(round(t * 1000 / 3) for t in range(-6, 7))
_F_NUMBERS = (180, 280, 400, 560, 800, 1100, 1600)
#: FocusDistance positions the lens drive stops at, in mm (0xFFFF: infinity), evenly spread
#: in dioptres as a lens's focus steps are: near ones close together, far ones wide apart
FOCUS_DISTANCES = (300, 350, 400, 500, 600, 800, 1000, 1500, 2000, 3000, 5000, 10000, 0xFFFF)


def standard_specs(image_sizes: Iterable[str] = ("1600x1200", "1024x768", "640x480")) -> list[PropertySpec]:
    """The property descriptions of the generic simulated camera, in DeviceInfo order."""
    sizes = tuple(image_sizes)
    enum = FormFlag.Enumeration
    return [
        PropertySpec(P.BatteryLevel, UINT8, 100, writable=False, form=FormFlag.Range, range=(0, 100, 1)),
        PropertySpec(P.ImageSize, STR, sizes[1] if len(sizes) > 1 else sizes[0], form=enum, values=sizes),
        PropertySpec(P.WhiteBalance, UINT16, 2, form=enum, values=(2, 4, 5, 6, 7, 1)),
        PropertySpec(P.FNumber, UINT16, 400, form=enum, values=_F_NUMBERS),
        PropertySpec(P.FocusDistance, UINT16, 2000, form=enum, values=FOCUS_DISTANCES),
        PropertySpec(P.FocusMode, UINT16, 2, form=enum, values=(1, 2, 3)),
        PropertySpec(P.FlashMode, UINT16, 2, form=enum, values=(1, 2, 3, 4)),
        PropertySpec(P.ExposureTime, UINT32, 80, form=enum, values=EXPOSURE_TIMES),
        PropertySpec(P.ExposureProgramMode, UINT16, 2, form=enum, values=(1, 2, 3, 4)),
        PropertySpec(P.ExposureIndex, UINT16, 200, form=enum, values=(100, 200, 400, 800, 1600, 3200, 6400)),
        PropertySpec(P.ExposureBiasCompensation, INT16, 0, form=enum, values=_BIAS),
        PropertySpec(P.DateTime, STR, ""),
        PropertySpec(P.CaptureDelay, UINT32, 0, form=enum, values=(0, 1000, 2000, 5000, 10000)),
        PropertySpec(P.EffectMode, UINT16, 1, form=enum, values=(1, 2, 3)),
        PropertySpec(P.FocusMeteringMode, UINT16, 2, form=enum, values=(1, 2)),
    ]


def ptp_datetime(t: _dt.datetime) -> str:
    """A PTP DateTime string to the second, ``YYYYMMDDThhmmss``."""
    return datatypes.format_datetime(t, tenths=False)


def parse_ptp_datetime(s: str) -> _dt.datetime:
    """Parse ``YYYYMMDDThhmmss[.s][Z|±hhmm]`` (the zone is ignored: the camera has local time)."""
    core = s[:15]
    try:
        return _dt.datetime.strptime(core, "%Y%m%dT%H%M%S")
    except ValueError:
        raise InvalidValue(f"not a PTP DateTime: {s!r}") from None


class PropertyTable:
    """Current values of a camera's properties, checked against their descriptions.

    DateTime (0x5011) is a clock, not a stored value: setting it moves the camera's
    clock offset, reading it gives the camera's "now" (``clock`` is injectable for tests).
    """

    def __init__(self, specs: Iterable[PropertySpec], clock: Callable[[], _dt.datetime] = _dt.datetime.now) -> None:
        self._specs = {s.code: s for s in specs}
        self._values: dict[int, Value] = {c: s.default for c, s in self._specs.items()}
        self._clock = clock
        self._clock_offset = _dt.timedelta(0)

    def __contains__(self, code: object) -> bool:
        return code in self._specs

    def __iter__(self) -> Iterator[PropertySpec]:
        return iter(self._specs.values())

    @property
    def codes(self) -> list[int]:
        return list(self._specs)

    def spec(self, code: int) -> PropertySpec:
        try:
            return self._specs[code]
        except KeyError:
            raise UnknownProperty(f"no property 0x{code:04X}") from None

    def by_name(self, name: str) -> PropertySpec:
        """The property the standard table names ``name`` (``"iso"``, ``"exp-bias"``, ...)."""
        try:
            return self.spec(property_code(name))
        except ValueError:
            raise UnknownProperty(f"no property named {name!r}") from None

    def now(self) -> _dt.datetime:
        """The camera's clock."""
        return self._clock() + self._clock_offset

    def get(self, code: int) -> Value:
        spec = self.spec(code)
        if code == P.DateTime:
            return ptp_datetime(self.now())
        return self._values[spec.code]

    def set(self, code: int, value: Value, *, force: bool = False) -> bool:
        """Store a new value; True if it changed. ``force`` writes read-only ones (battery drain)."""
        spec = self.spec(code)
        if not spec.writable and not force:
            raise ReadOnly(f"0x{code:04X} ({spec.name}) is read-only")
        spec.check(value)
        if code == P.DateTime:
            assert isinstance(value, str)
            self._clock_offset = parse_ptp_datetime(value) - self._clock()
            return True
        old = self._values[code]
        self._values[code] = value
        return old != value

    def set_encoded(self, code: int, data: bytes) -> bool:
        """SetDevicePropValue: decode the payload in the property's datatype, then :meth:`set`.

        Raises ``ProtocolError`` when the payload does not parse as the datatype.
        """
        spec = self.spec(code)
        if not spec.writable:
            raise ReadOnly(f"0x{code:04X} ({spec.name}) is read-only")
        return self.set(code, decode_value(spec.datatype, data))

    def get_encoded(self, code: int) -> bytes:
        return encode_value(self.spec(code).datatype, self.get(code))

    def reset(self, code: int) -> bool:
        """ResetDevicePropValue: back to the factory default."""
        spec = self.spec(code)
        if code == P.DateTime:
            return False
        return self.set(code, spec.default, force=True)

    def label(self, code: int) -> str:
        return self.spec(code).label(self.get(code))
