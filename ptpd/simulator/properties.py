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
from dataclasses import dataclass, field
from enum import IntEnum, unique

from ptpd.protocol import datatypes
from ptpd.protocol.buffer import Reader
from ptpd.protocol.codes import DataType
from ptpd.protocol.errors import LocalProtocolError, ProtocolError

INT8, UINT8, INT16, UINT16 = DataType.INT8, DataType.UINT8, DataType.INT16, DataType.UINT16
UINT32, STR = DataType.UINT32, DataType.STR

Value = int | str


@unique
class Form(IntEnum):
    """DevicePropDesc FormFlag (ISO 15740 §5.5.3)."""

    NONE = 0  #: any value of the datatype
    RANGE = 1  #: min, max, step
    ENUM = 2  #: a list of allowed values


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
    """The fixed description of one property."""

    code: int  #: DevicePropCode
    name: str  #: unified name (``iso``, ``whitebalance``, ...)
    datatype: int
    default: Value
    writable: bool = True
    form: Form = Form.NONE
    #: Enumeration form: allowed values in camera order
    values: tuple[Value, ...] = ()
    #: Range form: (minimum, maximum, step)
    range: tuple[int, int, int] | None = None
    #: human label for a raw value (for logs, the scene overlay and the EXIF)
    labels: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A description that refuses its own default is a bug in the table, not input.
        self.check(self.default)

    def check(self, value: Value) -> None:
        """Raise :class:`InvalidValue` unless ``value`` is allowed."""
        try:
            datatypes.check_value(self.datatype, value)
        except LocalProtocolError as exc:
            raise InvalidValue(f"0x{self.code:04X}: {exc}") from None
        if self.form == Form.ENUM and value not in self.values:
            raise InvalidValue(f"0x{self.code:04X}: {value!r} is not one of {list(self.values)}")
        if self.form == Form.RANGE:
            assert self.range is not None
            lo, hi, step = self.range
            if not isinstance(value, int) or not lo <= value <= hi or (step > 0 and (value - lo) % step):
                raise InvalidValue(f"0x{self.code:04X}: {value!r} is outside {lo}..{hi} step {step}")

    def label(self, value: Value) -> str:
        if isinstance(value, int) and value in self.labels:
            return self.labels[value]
        return str(value)


# --- the standard properties a simple camera has ---------------------------------------

BATTERY_LEVEL = 0x5001
IMAGE_SIZE = 0x5003
WHITE_BALANCE = 0x5005
F_NUMBER = 0x5007
FOCUS_MODE = 0x500A
FLASH_MODE = 0x500C
EXPOSURE_TIME = 0x500D
EXPOSURE_PROGRAM = 0x500E
EXPOSURE_INDEX = 0x500F
EXPOSURE_BIAS = 0x5010
DATE_TIME = 0x5011
CAPTURE_DELAY = 0x5012
EFFECT_MODE = 0x5017
FOCUS_METERING = 0x501C

WHITE_BALANCE_LABELS = {1: "manual", 2: "automatic", 3: "one push automatic", 4: "daylight", 5: "fluorescent", 6: "tungsten", 7: "flash"}
#: EXIF WhiteBalance (0 auto, 1 manual) and LightSource (0 unknown, 1 daylight, 2 fluorescent, 3 tungsten, 4 flash)
WHITE_BALANCE_EXIF = {1: (1, 0), 2: (0, 0), 3: (1, 0), 4: (1, 1), 5: (1, 2), 6: (1, 3), 7: (1, 4)}
#: ExposureTime in 1/10000 s -> label
EXPOSURE_TIMES = {
    10000: "1", 5000: "1/2", 2500: "1/4", 1250: "1/8", 400: "1/25", 200: "1/50", 100: "1/100",
    80: "1/125", 40: "1/250", 20: "1/500", 10: "1/1000", 5: "1/2000",
}


def _bias_label(v: int) -> str:
    thirds = round(v * 3 / 1000)
    if thirds == 0:
        return "0"
    sign = "-" if thirds < 0 else "+"
    whole, rest = divmod(abs(thirds), 3)
    return sign + (f"{whole} " if whole and rest else f"{whole}" if whole else "") + (f"{rest}/3" if rest else "")


_BIAS = tuple(round(t * 1000 / 3) for t in range(-6, 7))


def standard_specs(image_sizes: Iterable[str] = ("1600x1200", "1024x768", "640x480")) -> list[PropertySpec]:
    """The property descriptions of the generic simulated camera, in DeviceInfo order."""
    sizes = tuple(image_sizes)
    return [
        PropertySpec(BATTERY_LEVEL, "battery", UINT8, 100, writable=False, form=Form.RANGE, range=(0, 100, 1)),
        PropertySpec(IMAGE_SIZE, "imagesize", STR, sizes[1] if len(sizes) > 1 else sizes[0], form=Form.ENUM, values=sizes),
        PropertySpec(WHITE_BALANCE, "whitebalance", UINT16, 2, form=Form.ENUM, values=(2, 4, 5, 6, 7, 1), labels=WHITE_BALANCE_LABELS),
        PropertySpec(F_NUMBER, "f-number", UINT16, 400, form=Form.ENUM, values=(180, 280, 400, 560, 800, 1100, 1600),
                     labels={v: f"f/{v / 100:g}" for v in (180, 280, 400, 560, 800, 1100, 1600)}),
        PropertySpec(FOCUS_MODE, "focusmode", UINT16, 2, form=Form.ENUM, values=(1, 2, 3),
                     labels={1: "manual", 2: "automatic", 3: "automatic macro"}),
        PropertySpec(FLASH_MODE, "flashmode", UINT16, 2, form=Form.ENUM, values=(1, 2, 3, 4),
                     labels={1: "auto flash", 2: "off", 3: "fill", 4: "red eye auto"}),
        PropertySpec(EXPOSURE_TIME, "exposure", UINT32, 80, form=Form.ENUM, values=tuple(sorted(EXPOSURE_TIMES, reverse=True)),
                     labels=EXPOSURE_TIMES),
        PropertySpec(EXPOSURE_PROGRAM, "expprogram", UINT16, 2, form=Form.ENUM, values=(1, 2, 3, 4),
                     labels={1: "manual", 2: "automatic", 3: "aperture priority", 4: "shutter priority"}),
        PropertySpec(EXPOSURE_INDEX, "iso", UINT16, 200, form=Form.ENUM, values=(100, 200, 400, 800, 1600, 3200, 6400)),
        PropertySpec(EXPOSURE_BIAS, "exp-bias", INT16, 0, form=Form.ENUM, values=_BIAS, labels={v: _bias_label(v) for v in _BIAS}),
        PropertySpec(DATE_TIME, "datetime", STR, ""),
        PropertySpec(CAPTURE_DELAY, "delay", UINT32, 0, form=Form.ENUM, values=(0, 1000, 2000, 5000, 10000),
                     labels={0: "off", 1000: "1 second", 2000: "2 seconds", 5000: "5 seconds", 10000: "10 seconds"}),
        PropertySpec(EFFECT_MODE, "effect", UINT16, 1, form=Form.ENUM, values=(1, 2, 3),
                     labels={1: "standard", 2: "B&W", 3: "sepia"}),
        PropertySpec(FOCUS_METERING, "focusmtr", UINT16, 2, form=Form.ENUM, values=(1, 2),
                     labels={1: "center spot", 2: "multi spot"}),
    ]


def ptp_datetime(t: _dt.datetime) -> str:
    """A PTP DateTime string, ``YYYYMMDDThhmmss``."""
    return t.strftime("%Y%m%dT%H%M%S")


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
        for s in self._specs.values():
            if s.name == name:
                return s
        raise UnknownProperty(f"no property named {name!r}")

    def now(self) -> _dt.datetime:
        """The camera's clock."""
        return self._clock() + self._clock_offset

    def get(self, code: int) -> Value:
        spec = self.spec(code)
        if code == DATE_TIME:
            return ptp_datetime(self.now())
        return self._values[spec.code]

    def set(self, code: int, value: Value, *, force: bool = False) -> bool:
        """Store a new value; True if it changed. ``force`` writes read-only ones (battery drain)."""
        spec = self.spec(code)
        if not spec.writable and not force:
            raise ReadOnly(f"0x{code:04X} ({spec.name}) is read-only")
        spec.check(value)
        if code == DATE_TIME:
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
        if code == DATE_TIME:
            return False
        return self.set(code, spec.default, force=True)

    def label(self, code: int) -> str:
        return self.spec(code).label(self.get(code))
