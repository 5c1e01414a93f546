"""The standard PTP property table: unified names, and human labels both ways.

The one table of standard (ISO 15740) property names and value labels: the camera layer
reads and writes values with it and the simulated cameras label their pictures with it.
A vendor dialect keeps its own table beside its codes (``ptpd.fuji.properties``).

Names follow the Go ``ptp-ip`` tool our users come from (ptp-ip-tool.md §7: ``iso``,
``whitebalance``, ``exposure``, ``exp-bias``, ``effect``, ``delay``, ``flashmode``,
``focusmtr``) plus a short name for every other standard property (``battery``,
``fnumber``, ``focusmode``, ``program``, ``imagesize`` ...). Value meanings are ISO 15740
§13.5 (ptp.md §6); enum labels are the ones ptp-ip-tool.md §8.3 shows.

* :func:`property_code` resolves a name, a code int, or ``"0x500F"`` / ``"500f"`` /
  ``"20495"`` to the code.
* :func:`format_value` gives the label: ExposureTime 40 → ``"1/250"``, FNumber 280 →
  ``"f/2.8"``, ExposureBias -333 → ``"-1/3"``, ExposureIndex 0xFFFF → ``"auto"``.
* :func:`parse_value` goes back: a label (matched against the allowed values first, so
  the camera's own values win), a format-specific spelling (``"1/250"``, ``"f/2.8"``,
  ``"+2/3"``, ``"2s"``), or a raw decimal / ``0x`` hex integer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from ptpd.protocol.codes import DevicePropCode as P

Value = int | str | tuple[int, ...]

ISO_AUTO = 0xFFFF  #: ExposureIndex meaning automatic ISO (common camera convention)
FNUMBER_AUTO = 0xFFFF
EXPOSURE_BULB = 0xFFFFFFFF  #: ExposureTime some cameras use for bulb
FOCUS_INFINITY = 0xFFFF


def _key(text: str) -> str:
    """Labels match ignoring case, spaces, ``-`` and ``_``."""
    return re.sub(r"[\s_\-]+", "", text.strip().lower())


# -- formatters and parsers per kind ----------------------------------------------------------


def _signed16(v: int) -> int:
    # an INT16 that came through an unsigned slot (0xFEAD) is still negative
    v &= 0xFFFF
    return v - 0x10000 if v > 0x7FFF else v


def format_exposure(v: int) -> str:
    """ExposureTime (1/10000 s): ``1/250``, ``1/3``, ``0.6s``, ``2s``, ``bulb``."""
    if v == EXPOSURE_BULB:
        return "bulb"
    if v <= 0:
        return "0"
    if v < 10000:
        den = round(10000 / v)
        if den and round(10000 / den) == v:
            return f"1/{den}"
    return f"{v / 10000:g}s"


def parse_exposure(text: str) -> int | None:
    t = text.strip().lower()
    if t == "bulb":
        return EXPOSURE_BULB
    if m := re.fullmatch(r"1\s*/\s*(\d+)\s*s?", t):
        den = int(m.group(1))
        return round(10000 / den) if den else None
    if m := re.fullmatch(r"(\d+(?:\.\d+)?)\s*(?:s|sec|\")", t):
        return round(Fraction(m.group(1)) * 10000)
    return None


def format_fnumber(v: int) -> str:
    """FNumber (×100): ``f/2.8``, ``f/11``; 0xFFFF ``auto``."""
    if v == FNUMBER_AUTO:
        return "auto"
    return f"f/{v / 100:g}"


def parse_fnumber(text: str) -> int | None:
    t = text.strip().lower()
    if t in ("auto", "automatic"):
        return FNUMBER_AUTO
    if m := re.fullmatch(r"f\s*/?\s*(\d+(?:\.\d+)?)", t):
        return round(Fraction(m.group(1)) * 100)
    if m := re.fullmatch(r"\d+\.\d+", t):  # "2.8": a bare decimal is an f-number, an int is raw
        return round(Fraction(m.group(0)) * 100)
    return None


def format_exp_bias(v: int) -> str:
    """ExposureBiasCompensation (1/1000 EV): ``0``, ``+2/3``, ``-1/3``, ``+1 1/3``, ``-1/2``."""
    v = _signed16(v)
    if v == 0:
        return "0"
    sign = "+" if v > 0 else "-"
    a = abs(v)
    for den in (3, 2):
        n = round(a * den / 1000)
        if abs(n * 1000 / den - a) <= 2:  # 333/334 and 667/666 are thirds
            whole, num = divmod(n, den)
            if num == 0:
                return f"{sign}{whole}"
            frac = f"{num}/{den}"
            return f"{sign}{frac}" if whole == 0 else f"{sign}{whole} {frac}"
    return f"{sign}{a / 1000:g}"


def parse_exp_bias(text: str) -> int | None:
    t = text.strip().lower().replace("\u2212", "-").removesuffix("ev").strip()
    if m := re.fullmatch(r"([+-]?)\s*(?:(\d+)\s+)?(\d+)\s*/\s*(\d+)", t):
        if int(m.group(4)) == 0:
            return None
        ev = int(m.group(2) or 0) + Fraction(int(m.group(3)), int(m.group(4)))
    elif m := re.fullmatch(r"([+-]?)\s*(\d+(?:\.\d+)?)", t):
        ev = Fraction(m.group(2))
        thirds = round(ev * 3)
        if "." in m.group(2) and abs(ev - Fraction(thirds, 3)) <= DECIMAL_THIRD_SLACK:
            ev = Fraction(thirds, 3)  # "0.3", "1.7": how cameras show thirds of a stop
    else:
        return None
    value = round(ev * 1000)
    return -value if m.group(1) == "-" else value


#: a decimal EV this close to a third of a stop means that third; any other decimal is
#: taken as it is ("0.1" is 100, which a camera stepping in thirds then refuses)
DECIMAL_THIRD_SLACK = Fraction(1, 30)


def format_iso(v: int) -> str:
    """ExposureIndex: ``800``; 0xFFFF ``auto``."""
    return "auto" if v == ISO_AUTO else str(v)


def parse_iso(text: str) -> int | None:
    t = re.sub(r"[\s_]+", "", text.lower()).removeprefix("iso")  # a sign stays: "-5" is not ISO 5
    if t in ("auto", "a"):
        return ISO_AUTO
    return int(t) if t.isdigit() else None


def format_delay(v: int) -> str:
    """CaptureDelay (ms): ``off``, ``2s``, ``500ms``."""
    if v == 0:
        return "off"
    return f"{v // 1000}s" if v % 1000 == 0 else f"{v}ms"


def parse_delay(text: str) -> int | None:
    t = text.strip().lower()
    if t in ("off", "none"):
        return 0
    if m := re.fullmatch(r"(\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds?)", t):
        n = Fraction(m.group(1))
        return round(n if m.group(2) == "ms" else n * 1000)
    return None


def _unit(scale: int, suffix: str) -> tuple[Callable[[int], str], Callable[[str], int | None]]:
    def fmt(v: int) -> str:
        return f"{v / scale:g}{suffix}"

    def parse(text: str) -> int | None:
        m = re.fullmatch(rf"(\d+(?:\.\d+)?)\s*{re.escape(suffix)}", text.strip().lower())
        return round(Fraction(m.group(1)) * scale) if m else None

    return fmt, parse


def format_battery(v: int) -> str:
    return f"{v}%"


def parse_battery(text: str) -> int | None:
    m = re.fullmatch(r"(\d+)\s*%", text.strip())
    return int(m.group(1)) if m else None


def format_focus_distance(v: int) -> str:
    return "infinity" if v == FOCUS_INFINITY else f"{v}mm"


def parse_focus_distance(text: str) -> int | None:
    t = text.strip().lower()
    if t in ("infinity", "inf", "\u221e"):
        return FOCUS_INFINITY
    m = re.fullmatch(r"(\d+)\s*mm", t)
    return int(m.group(1)) if m else None


# -- the table -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PropertyInfo:
    """One standard property: code, unified name, title, and how its values read."""

    code: int
    name: str  #: unified name (``iso``)
    title: str  #: human title (``"ISO"``), as ptp-ip-tool.md §8.1 lists them
    labels: Mapping[int, str] | None = None  #: enum value → label
    formatter: Callable[[int], str] | None = None
    parser: Callable[[str], int | None] | None = None
    aliases: tuple[str, ...] = ()  #: other accepted names
    #: a value set is a setting that holds until changed, restored after a reconnect; False
    #: for a clock, whose old value would set it back
    reapply: bool = True

    def label(self, value: Value) -> str:
        """The human label of a raw ``value``."""
        if isinstance(value, str):
            return value
        if isinstance(value, tuple):
            return " ".join(str(v) for v in value)
        if self.labels is not None:
            if value in self.labels:
                return self.labels[value]
            return f"0x{value:04X}"  # vendor value of an enum (>= 0x8000 usually)
        if self.formatter is not None:
            return self.formatter(value)
        return str(value)

    def parse(self, text: str) -> int | None:
        """A raw value from a label or a kind-specific spelling; ``None`` if not understood."""
        if self.labels is not None:
            k = _key(text)
            for raw, label in self.labels.items():
                if _key(label) == k:
                    return raw
            for alias, raw in _ENUM_ALIASES.get(self.code, {}).items():
                if alias == k:
                    return raw
        if self.parser is not None:
            return self.parser(text)
        return None


_WB = {0: "undefined", 1: "manual", 2: "automatic", 3: "one push automatic", 4: "daylight",
       5: "fluorescent", 6: "tungsten", 7: "flash"}  # fmt: skip
_FOCUS = {0: "undefined", 1: "manual", 2: "automatic", 3: "automatic macro"}
_FLASH = {0: "undefined", 1: "auto flash", 2: "off", 3: "fill", 4: "red eye auto", 5: "red eye fill",
          6: "external sync"}  # fmt: skip
_PROGRAM = {0: "undefined", 1: "manual", 2: "automatic", 3: "aperture priority", 4: "shutter priority",
            5: "program creative", 6: "program action", 7: "portrait"}  # fmt: skip
_EFFECT = {0: "undefined", 1: "standard", 2: "black and white", 3: "sepia"}
_FOCUS_METERING = {0: "undefined", 1: "center spot", 2: "multi spot"}
_METERING = {0: "undefined", 1: "average", 2: "center weighted average", 3: "multi spot", 4: "center spot"}
_STILL = {0: "undefined", 1: "normal", 2: "burst", 3: "timelapse"}
_FUNCTIONAL = {0: "standard", 1: "sleep"}

# Short spellings people type, per property: normalised key → raw value.
_ENUM_ALIASES: dict[int, dict[str, int]] = {
    P.WhiteBalance: {"auto": 2, "awb": 2, "onepush": 3, "sunny": 4, "incandescent": 6},
    P.FocusMode: {"mf": 1, "af": 2, "auto": 2, "macro": 3},
    P.FlashMode: {"auto": 1, "on": 3, "redeye": 4},
    P.ExposureProgramMode: {"m": 1, "p": 2, "auto": 2, "a": 3, "av": 3, "s": 4, "tv": 4},
    P.EffectMode: {"bw": 2, "mono": 2, "monochrome": 2, "blackwhite": 2},
    P.FocusMeteringMode: {"center": 1, "spot": 1, "multi": 2},
}

_fl = _unit(100, "mm")
_zoom = _unit(10, "x")

#: Every standard property ptpd names (ISO 15740 §13.5; ptp.md §6).
PROPERTIES: tuple[PropertyInfo, ...] = (
    PropertyInfo(P.BatteryLevel, "battery", "battery level", None, format_battery, parse_battery),
    PropertyInfo(P.FunctionalMode, "functionalmode", "functional mode", _FUNCTIONAL),
    PropertyInfo(P.ImageSize, "imagesize", "image size"),
    PropertyInfo(P.CompressionSetting, "compression", "compression setting"),
    PropertyInfo(P.WhiteBalance, "whitebalance", "white balance", _WB, aliases=("wb",)),
    PropertyInfo(P.RGBGain, "rgbgain", "RGB gain"),
    PropertyInfo(
        P.FNumber, "fnumber", "F-number", None, format_fnumber, parse_fnumber, aliases=("f-number", "aperture")
    ),  # fmt: skip
    PropertyInfo(P.FocalLength, "focallength", "focal length", None, *_fl),
    PropertyInfo(
        P.FocusDistance, "focusdistance", "focus distance", None, format_focus_distance, parse_focus_distance
    ),  # fmt: skip
    PropertyInfo(P.FocusMode, "focusmode", "focus mode", _FOCUS),
    PropertyInfo(P.ExposureMeteringMode, "metering", "exposure metering mode", _METERING),
    PropertyInfo(P.FlashMode, "flashmode", "flash mode", _FLASH, aliases=("flash",)),
    PropertyInfo(
        P.ExposureTime,
        "exposure",
        "exposure time",
        None,
        format_exposure,
        parse_exposure,
        aliases=("shutterspeed", "shutter"),
    ),  # fmt: skip
    PropertyInfo(
        P.ExposureProgramMode, "program", "exposure program mode", _PROGRAM, aliases=("expprogram", "mode")
    ),  # fmt: skip
    PropertyInfo(P.ExposureIndex, "iso", "ISO", None, format_iso, parse_iso),
    PropertyInfo(
        P.ExposureBiasCompensation,
        "exp-bias",
        "exposure bias compensation",
        None,
        format_exp_bias,
        parse_exp_bias,
        aliases=("expbias", "ev"),
    ),  # fmt: skip
    PropertyInfo(P.DateTime, "datetime", "date time", reapply=False),  # a clock: it runs on
    PropertyInfo(P.CaptureDelay, "delay", "capture delay", None, format_delay, parse_delay),
    PropertyInfo(P.StillCaptureMode, "stillmode", "still capture mode", _STILL, aliases=("drive",)),
    PropertyInfo(P.Contrast, "contrast", "contrast"),
    PropertyInfo(P.Sharpness, "sharpness", "sharpness"),
    PropertyInfo(P.DigitalZoom, "digitalzoom", "digital zoom", None, *_zoom),
    PropertyInfo(P.EffectMode, "effect", "effect mode", _EFFECT),
    PropertyInfo(P.BurstNumber, "burstnumber", "burst number"),
    PropertyInfo(P.BurstInterval, "burstinterval", "burst interval", None, *_unit(1, "ms")),
    PropertyInfo(P.TimelapseNumber, "timelapsenumber", "timelapse number"),
    PropertyInfo(P.TimelapseInterval, "timelapseinterval", "timelapse interval", None, *_unit(1, "ms")),
    PropertyInfo(P.FocusMeteringMode, "focusmtr", "focus metering mode", _FOCUS_METERING),
    PropertyInfo(P.UploadURL, "uploadurl", "upload URL"),
    PropertyInfo(P.Artist, "artist", "artist"),
    PropertyInfo(P.CopyrightInfo, "copyright", "copyright info"),
)

BY_CODE: dict[int, PropertyInfo] = {p.code: p for p in PROPERTIES}
BY_NAME: dict[str, PropertyInfo] = {}
for _p in PROPERTIES:
    for _n in (_p.name, *_p.aliases, _key(_p.title)):
        BY_NAME.setdefault(_key(_n), _p)
    BY_NAME.setdefault(_key(P(_p.code).name), _p)  # the spec's name: "exposureindex"

#: The unified names of ptp-ip-tool.md §7, in its order.
UNIFIED_NAMES = ("delay", "effect", "exposure", "exp-bias", "flashmode", "focusmtr", "iso", "whitebalance")


def property_code(prop: str | int, extra: Mapping[str, int] | None = None) -> int:
    """The code of a property named ``prop``: a name, an int, ``"0x500F"``, ``"500f"`` or ``"20495"``.

    ``extra`` maps more (vendor) names to codes. Raises ``ValueError`` if unknown.
    """
    if isinstance(prop, int) and not isinstance(prop, bool):
        if not 0 <= prop <= 0xFFFF:
            raise ValueError(f"property code {prop} is not a u16")
        return int(prop)
    text = str(prop).strip()
    k = _key(text)
    if extra:
        for name, code in extra.items():
            if _key(name) == k:
                return int(code)
    if k in BY_NAME:
        return int(BY_NAME[k].code)
    try:
        if k.startswith("0x"):
            code = int(k, 16)
        elif re.fullmatch(r"[0-9a-f]{4}", k) and not k.isdigit():
            code = int(k, 16)  # "500f"
        elif re.fullmatch(r"5[0-9a-f]{3}|d[0-9a-f]{3}", k):
            code = int(k, 16)  # "5001": four hex digits in a property range
        else:
            code = int(k, 10)
    except ValueError:
        raise ValueError(f"unknown property {prop!r}; known: {', '.join(p.name for p in PROPERTIES)}") from None
    if not 0 <= code <= 0xFFFF:
        raise ValueError(f"property code {prop!r} is not a u16")
    return code


def reapplies(code: int) -> bool:
    """True when a value set for property ``code`` is a setting to restore after a
    reconnect (unknown codes: yes); False for a clock such as DateTime."""
    info = BY_CODE.get(code)
    return info.reapply if info is not None else True


def property_name(code: int) -> str:
    """The unified name of ``code``, or ``"0xD0FF"`` if it has none."""
    info = BY_CODE.get(code)
    return info.name if info else f"0x{code:04X}"


def format_value(code: int, value: Value) -> str:
    """The human label of ``value`` for property ``code``."""
    info = BY_CODE.get(code)
    if info is not None:
        return info.label(value)
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value)
    return str(value)


def parse_value(
    code: int, value: str | int, allowed: Iterable[Value] | None = None, *, is_string: bool = False
) -> Value:
    """A raw value for property ``code`` from ``value`` (label, spelling, decimal, ``0x`` hex).

    With ``allowed`` (the desc's enumeration), labels are matched against the allowed
    values' own labels first, and a parsed value is snapped to the allowed value with the
    same label (so ``"-1/3"`` finds the camera's -333 or -334). ``is_string`` properties
    take the text as it is. Raises ``ValueError`` if nothing fits.
    """
    if isinstance(value, bool):
        raise ValueError("a property value is a label or an integer, not a bool")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if is_string:
        return text
    allowed_list = list(allowed) if allowed is not None else None
    info = BY_CODE.get(code)
    if allowed_list:
        k = _key(text)
        for v in allowed_list:
            if _key(format_value(code, v)) == k:
                return v
    if info is not None:
        raw = info.parse(text)
        if raw is not None:
            if allowed_list and raw not in allowed_list:
                label = format_value(code, raw)
                for v in allowed_list:
                    if format_value(code, v) == label:
                        return v
            return raw
    t = text.lower()
    try:
        if re.fullmatch(r"[+-]?0x[0-9a-f]+", t):
            return int(t, 16)
        if re.fullmatch(r"[+-]?\d+", t):
            return int(t, 10)
    except ValueError:
        pass
    name = info.name if info else f"0x{code:04X}"
    raise ValueError(f"cannot read {text!r} as a value of {name}")


__all__ = [
    "BY_CODE",
    "BY_NAME",
    "PROPERTIES",
    "UNIFIED_NAMES",
    "PropertyInfo",
    "format_exp_bias",
    "format_exposure",
    "format_fnumber",
    "format_value",
    "parse_value",
    "property_code",
    "property_name",
    "reapplies",
]
