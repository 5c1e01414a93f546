"""Fuji properties by name, with their datatypes and human labels both ways.

Every property the X-T1 answers (fuji-ptpip.md §6) has one :class:`FujiProperty`: a
canonical name (the unified name of ptp-ip-tool §7 where one exists — ``iso``,
``effect``, ``exp-bias``, ``focusmtr``, ... — else a kebab-case Fuji name), aliases
(the Fuji name, malc0mn's label), its datatype, and how its values read as text.

Labels (fuji-ptpip.md §6, ptp-ip-tool §8.3), e.g.:

===============  =====================  ==========================================
property         raw                    label
===============  =====================  ==========================================
``iso``          0x80001900 / 0xFFFFFFFF  ``S6400`` / ``auto``; 0x40000064 ``L100``; 800 ``800``
``exp-bias``     -333 / 1667 / 0        ``-1/3`` / ``1 2/3`` / ``0``
``effect``       2                      ``Velvia``
``focusmtr``     0x03020404             ``4x4`` (X = bits 8-15, Y = bits 0-7)
``delay``        2                      ``2s`` (0 off, 1 1s, 2 2s, 3 5s, 4 10s)
===============  =====================  ==========================================

Parsing a value to set (:func:`parse_value`) tries, in order: a Python ``int`` (raw);
a ``0x``-prefixed hex string (raw); the property's labels and its own parser
(``"800"``, ``"S6400"``, ``"-1/3"``, ``"+2/3"``, ``"4x4"``, ``"2s"``, ``"velvia"``,
case and punctuation ignored); finally a plain decimal string (raw). The result is then
checked against the camera's description (:func:`check_allowed`): a value it does not
allow raises ``ValueError`` naming the allowed labels, before anything is sent.

Pure tables and functions; no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

from ptpd.fuji.codes import CameraState, ClientMode
from ptpd.fuji.codes import FujiPropCode as F
from ptpd.fuji.values import Raw, decode_text_blob, decode_value, encode_text_blob, encode_value
from ptpd.protocol.codes import DataType
from ptpd.protocol.datasets import DevicePropDesc, Enumeration, Range
from ptpd.protocol.properties import reapplies as _standard_reapplies

ISO_AUTO = 0xFFFFFFFF
ISO_AUTO_MAX = 0x80000000  #: flag: auto ISO with this maximum ("S" prefix)
ISO_EXTENDED = 0x40000000  #: flag: extended (emulated) ISO ("L"/"H" prefix)


def _key(text: str) -> str:
    """Normalise a label or name for matching: case, spaces and punctuation ignored."""
    return re.sub(r"[^0-9a-z/]", "", text.lower())


def _name_key(text: str) -> str:
    return re.sub(r"[\s_]+", "-", text.strip().lower())


# --------------------------------------------------------------------------- special codecs


def format_iso(v: int) -> str:
    """0xD02A: ``auto``, ``S6400`` (auto, max 6400), ``L100``/``H12800`` (extended), ``800``."""
    if v == ISO_AUTO:
        return "auto"
    flags, n = v & 0xFFFF0000, v & 0xFFFF
    if flags == ISO_AUTO_MAX:
        return f"S{n}"
    if flags == ISO_EXTENDED:
        return f"{'L' if n < 200 else 'H'}{n}"
    if flags == 0:
        return str(n)
    return f"0x{v:08X}"


def parse_iso(text: str, current: int | None = None) -> int | None:
    # spaces go, a sign stays: "-5" is not ISO 5
    t = re.sub(r"[\s_]+", "", text.lower()).removeprefix("iso")
    if t in ("auto", "a"):
        return ISO_AUTO
    m = re.fullmatch(r"([slh]?)(\d+)", t)
    if not m:
        return None
    prefix, n = m.group(1), int(m.group(2))
    if n > 0xFFFF:
        return None
    return {"": 0, "s": ISO_AUTO_MAX, "l": ISO_EXTENDED, "h": ISO_EXTENDED}[prefix] | n


def format_exp_bias(v: int) -> str:
    """0x5010 (INT16, 1/1000 EV) in thirds, malc0mn style: ``0``, ``-1/3``, ``2/3``,
    ``-2 1/3``, ``1 2/3``, ``3``. A raw unsigned 0xFEB3 reads as -333. A value that is not
    a third of a stop shows as its decimal EV (``0.1``): never as a third it is not."""
    if v > 0x7FFF:
        # INT16 in a wider slot: 0xFEB3 (mock) or 0xFFFFFEB3 (sign-extended u32) is -333.
        v &= 0xFFFF
        if v > 0x7FFF:
            v -= 0x10000
    sign = "-" if v < 0 else ""
    thirds, off = divmod(abs(v) * 3 + 500, 1000)  # the nearest third, and how far off
    if abs(off - 500) > _THIRD_SLACK * 3:
        return f"{v / 1000:g}"
    whole, third = divmod(thirds, 3)
    if third == 0:
        return f"{sign}{whole}"
    frac = f"{third}/3"
    return f"{sign}{frac}" if whole == 0 else f"{sign}{whole} {frac}"


_THIRD_SLACK = 2  #: thousandths of an EV a camera's third may be off (333, 334, 667)
#: a decimal EV this close to a third is that third ("0.3", "-1.7"), else taken as given
_DECIMAL_THIRD_SLACK = Fraction(1, 30)


def parse_exp_bias(text: str, current: int | None = None) -> int | None:
    t = text.strip().lower().replace("\u2212", "-").removesuffix("ev").strip()
    t = re.sub(r"\s*/\s*", "/", t)
    if m := re.fullmatch(r"([+-]?)\s*(?:(\d+)(?:\s+|\s*\+\s*))?([12])/3", t):
        value = int(m.group(2) or 0) * 1000 + (333 if m.group(3) == "1" else 667)
    elif m := re.fullmatch(r"([+-]?)\s*(\d+)", t):
        value = int(m.group(2)) * 1000
    else:
        try:
            ev = Fraction(t)
        except (ValueError, ZeroDivisionError):
            return None
        # "0.1" is 100, which the description then allows or refuses: never rounded
        n = round(ev * 3)
        if abs(ev - Fraction(n, 3)) > _DECIMAL_THIRD_SLACK:
            return round(ev * 1000)
        whole, r = divmod(abs(n), 3)
        value = whole * 1000 + (0, 333, 667)[r]
        return -value if n < 0 else value
    return -value if m.group(1) == "-" else value


def format_focus_point(v: int) -> str:
    """0xD17C: ``XxY`` from bits 8-15 (X) and 0-7 (Y); the upper 16 bits are not shown."""
    return f"{(v >> 8) & 0xFF}x{v & 0xFF}"


def parse_focus_point(text: str, current: int | None = None) -> int | None:
    m = re.fullmatch(r"\s*(\d+)\s*[x×,]\s*(\d+)\s*", text.lower())
    if not m:
        return None
    x, y = int(m.group(1)), int(m.group(2))
    if x > 0xFF or y > 0xFF:
        return None
    # The upper 16 bits (seen 0x0302) are kept from the current value: meaning unknown.
    upper = (current or 0) & 0xFFFF0000
    return upper | (x << 8) | y


def format_exposure_time(v: int) -> str:
    """0x500D in the standard 1/10000 s unit: ``1/250``, ``0.5s``, ``30s``; 0xFFFFFFFF ``auto``."""
    if v == 0xFFFFFFFF:
        return "auto"
    if v <= 0:
        return "0"
    if v < 10000:
        den = Fraction(10000, v)
        if den.denominator == 1:
            return f"1/{den.numerator}"
        return f"{v / 10000:g}s"
    return f"{v / 10000:g}s"


def parse_exposure_time(text: str, current: int | None = None) -> int | None:
    t = text.strip().lower().removesuffix("sec").removesuffix("s").strip()
    if t == "auto":
        return 0xFFFFFFFF
    try:
        seconds = Fraction(t)
    except (ValueError, ZeroDivisionError):
        return None
    if seconds < 0:
        return None
    return round(seconds * 10000)


def format_shutter_speed(v: int) -> str:
    """0xD240 [?]: 0xFFFFFFFF ``auto``; MSB set = ``1/N`` (hkr); otherwise ``Ns``."""
    if v == 0xFFFFFFFF:
        return "auto"
    if v & 0x80000000:
        return f"1/{v & 0x7FFFFFFF}"
    return f"{v}s"


def parse_shutter_speed(text: str, current: int | None = None) -> int | None:
    t = text.strip().lower()
    if t == "auto":
        return 0xFFFFFFFF
    if m := re.fullmatch(r"1\s*/\s*(\d+)", t):
        return 0x80000000 | int(m.group(1))
    if m := re.fullmatch(r"(\d+)\s*s(ec)?", t):
        return int(m.group(1))
    return None


def format_fnumber(v: int) -> str:
    """0x5007 (x100): ``f/3.5``; 0xFFFF ``auto``."""
    if v == 0xFFFF:
        return "auto"
    return f"f/{v / 100:g}"


def parse_fnumber(text: str, current: int | None = None) -> int | None:
    t = text.strip().lower()
    if t in ("auto", "automatic"):
        return 0xFFFF
    m = re.fullmatch(r"(?:f\s*/?\s*)?(\d+(?:\.\d+)?)", t)
    return round(float(m.group(1)) * 100) if m else None


def parse_delay_seconds(text: str, current: int | None = None) -> int | None:
    m = re.fullmatch(r"(\d+)\s*(s|sec|secs|second|seconds)?", text.strip().lower())
    if not m:
        return None
    return {0: 0, 1: 1, 2: 2, 5: 3, 10: 4}.get(int(m.group(1)))


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True, slots=True)
class FujiProperty:
    """One property: code, names, datatype and its value labels.

    ``labels`` map raw values to human labels (the first label of a value is the one
    shown); ``extra_labels`` are further spellings accepted when parsing. ``formatter``
    and ``parser`` handle properties whose labels are computed (ISO, EV, focus point).
    """

    code: int
    name: str
    title: str
    datatype: int
    aliases: tuple[str, ...] = ()
    labels: tuple[tuple[int, str], ...] = ()
    extra_labels: tuple[tuple[str, int], ...] = ()
    formatter: Callable[[int], str] | None = field(default=None, repr=False)
    parser: Callable[[str, int | None], int | None] | None = field(default=None, repr=False)
    writable: bool = True
    note: str = ""
    #: set again after a reconnect: not an action, a value of the moment or a bring-up value
    reapply: bool = True

    def format(self, value: Raw) -> str:
        """The human label of a raw value ("" never: unknown values show as numbers)."""
        if isinstance(value, str):
            return value
        for raw, label in self.labels:
            if raw == value:
                return label
        if self.formatter is not None:
            return self.formatter(value)
        if self.labels:
            return f"0x{value:X}"
        return str(value)

    def parse(self, value: Raw, current: Raw | None = None) -> Raw:
        """A raw value from a label, hex string or int; ``ValueError`` if unreadable."""
        if isinstance(value, bool):
            raise ValueError(f"{self.name}: {value!r} is not a value")
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if self.datatype == DataType.STR:
            for _raw, label in self.labels:
                if _key(label) == _key(text):
                    return label
            for alias, raw in self.extra_labels:
                if _key(alias) == _key(text):
                    return self.format(raw)
            return text
        if re.fullmatch(r"[+-]?0x[0-9a-fA-F]+", text):
            v = int(text, 16)
            return _fit_signed(v, self.datatype)
        k = _key(text)
        for raw, label in self.labels:
            if _key(label) == k:
                return raw
        for alias, raw in self.extra_labels:
            if _key(alias) == k:
                return raw
        if self.parser is not None:
            cur = current if isinstance(current, int) else None
            parsed = self.parser(text, cur)
            if parsed is not None:
                return parsed
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        allowed = ", ".join(label for _, label in self.labels)
        hint = f"; labels: {allowed}" if allowed else ""
        raise ValueError(f"{self.name}: cannot read {text!r} as a value{hint}")


def _fit_signed(v: int, datatype: int) -> int:
    # "0xFEB3" for an INT16 means -333, as the camera's own bytes would.
    bits = {DataType.INT8: 8, DataType.INT16: 16, DataType.INT32: 32, DataType.INT64: 64}.get(datatype)  # type: ignore[call-overload]  # an int finds an IntEnum key
    if bits and (1 << (bits - 1)) <= v < (1 << bits):
        return v - (1 << bits)
    return v


U8, U16, I16, U32, STR = DataType.UINT8, DataType.UINT16, DataType.INT16, DataType.UINT32, DataType.STR


_hex32: Callable[[int], str] = "0x{:08X}".format  #: versions in hex


# a table: one entry a line, laid out by hand
# fmt: off
_FILM = (
    (1, "PROVIA"),
    (2, "Velvia"),
    (3, "ASTIA"),
    (4, "Monochrome"),
    (5, "Sepia"),
    (6, "PRO Neg. Hi"),
    (7, "PRO Neg. Std"),
    (8, "Mono+Ye"),
    (9, "Mono+R"),
    (10, "Mono+G"),
    (11, "Classic Chrome"),
    (12, "ACROS"),
    (13, "ACROS+Ye"),
    (14, "ACROS+R"),
    (15, "ACROS+G"),
    (16, "ETERNA"),
)
# fmt: on

# a table: one entry a line, laid out by hand
# fmt: off
PROPERTIES: tuple[FujiProperty, ...] = (
    FujiProperty(
        0x5001, "battery", "battery level", U8, ("battery-level",),
        labels=((1, "1/3"), (2, "2/3"), (3, "3/3")), writable=False,
        note="u8 in get/describe (read-only, 0-3); u32 slot in the state list",
    ),
    FujiProperty(
        0x5003, "image-size-std", "image size (standard)", STR, ("image-format",), writable=False,
        note="non-standard ASCII blob such as 'L_4-3' (fuji-ptpip.md §6.4)",
    ),
    FujiProperty(
        0x5005, "whitebalance", "white balance", U16, ("white-balance", "wb"),
        labels=(
            (2, "auto"), (4, "daylight"), (6, "incandescent"), (0x8001, "fluorescent 1"),
            (0x8002, "fluorescent 2"), (0x8003, "fluorescent 3"), (0x8006, "shade"),
            (0x800A, "underwater"), (0x800B, "temperature"), (0x800C, "custom"),
            (1, "manual"), (3, "one push auto"), (5, "fluorescent"), (7, "flash"),
        ),
        extra_labels=(("automatic", 2), ("tungsten", 6), ("fine", 4), ("kelvin", 0x800B),
                      ("color temperature", 0x800B), ("colour temperature", 0x800B)),
    ),
    FujiProperty(
        0x5007, "f-number", "F-number", U16, ("aperture", "fnumber"),
        formatter=format_fnumber, parser=parse_fnumber,
    ),
    FujiProperty(
        0x500A, "focus-mode", "focus mode", U16, ("focusmode",),
        labels=((1, "manual"), (0x8001, "single AF"), (0x8002, "continuous AF"),
                (2, "auto"), (3, "auto macro")),
        extra_labels=(("MF", 1), ("AF-S", 0x8001), ("AF-C", 0x8002), ("single", 0x8001),
                      ("continuous", 0x8002)),
    ),
    FujiProperty(
        0x500C, "flashmode", "flash mode", U16, ("flash", "flash-mode"),
        labels=(
            (0x8009, "disabled"), (0x800A, "enabled"), (1, "auto"), (2, "off"), (3, "fill"),
            (4, "red eye auto"), (5, "red eye fill"), (6, "external sync"), (0x8001, "on"),
            (0x8002, "red eye"), (0x8003, "red eye on"), (0x8004, "red eye sync"),
            (0x8005, "red eye rear"), (0x8006, "slow sync"), (0x8007, "rear sync"),
            (0x8008, "commander"),
        ),
    ),
    FujiProperty(
        0x500D, "exposure", "exposure time", U32, ("exposure-time",),
        formatter=format_exposure_time, parser=parse_exposure_time,
        note="X-T1 enum 2, 300000, 0xFFFFFFFF; read in the standard 1/10000 s unit [?]",
    ),
    FujiProperty(
        0x500E, "exposure-program", "exposure program mode", U16, ("program", "mode", "expprogram"),
        labels=((1, "M"), (2, "P"), (3, "A"), (4, "S"), (5, "program creative"),
                (6, "program action"), (7, "portrait")),
        extra_labels=(("manual", 1), ("program", 2), ("automatic", 2), ("aperture priority", 3),
                      ("shutter priority", 4)),
    ),
    FujiProperty(
        0x5010, "exp-bias", "exposure bias compensation", I16, ("exposure-bias", "ev", "expbias"),
        formatter=format_exp_bias, parser=parse_exp_bias,
    ),
    FujiProperty(
        0x5012, "delay", "capture delay", U16, ("self-timer", "capture-delay", "timer"),
        labels=((0, "off"), (1, "1s"), (2, "2s"), (3, "5s"), (4, "10s")),
        parser=parse_delay_seconds,
        note="an enum, not milliseconds; X-T1 offers 0, 2, 4",
    ),
    FujiProperty(
        F.FilmSimulation, "effect", "film simulation", U16, ("film-simulation", "film", "filmsim"),
        labels=_FILM,
        extra_labels=(
            ("standard", 1), ("vivid", 2), ("soft", 3), ("B&W", 4), ("Pro Neg Hi", 6),
            ("Pro Neg Std", 7), ("Monochrome + Ye Filter", 8), ("Monochrome + R Filter", 9),
            ("Monochrome + G Filter", 10), ("ACROS Ye", 13), ("ACROS R", 14), ("ACROS G", 15),
        ),
    ),
    FujiProperty(
        F.ImageQuality, "image-quality", "image quality", U16, ("quality",),
        labels=((2, "fine"), (3, "normal"), (4, "fine+RAW"), (5, "normal+RAW")),
        note="X-T1 enum 1-5, 1 unmapped; no RAW-only in remote mode",
    ),
    FujiProperty(F.RecMode, "recmode", "rec mode", U16, ("rec-mode",), note="0/1, meaning unknown"),
    FujiProperty(
        F.CommandDialMode, "command-dial", "command dial mode", U16, ("command-dial-mode",),
        labels=((0, "both"), (1, "aperture"), (2, "shutter speed"), (3, "none")),
        note="hkr reads it as shutter type (0 mechanical+electronic, 1 electronic)",
    ),
    FujiProperty(
        F.ExposureIndex, "iso", "ISO", U32, ("exposure-index", "sensitivity"),
        formatter=format_iso, parser=parse_iso,
    ),
    FujiProperty(F.MovieISO, "movie-iso", "movie ISO", U32, formatter=format_iso, parser=parse_iso),
    FujiProperty(
        F.LiveViewImageSize, "liveview-size", "live-view image size", STR, ("live-view-size", "lvsize"),
        labels=((0, "320x280"), (1, "640x480"), (2, "1280x960")),
        extra_labels=(("qvga", 0), ("small", 0), ("vga", 1), ("medium", 1), ("xga", 2), ("large", 2)),
        note="ASCII blob; the descriptor lists 320x280, 640x480, 1280x960",
    ),
    FujiProperty(
        F.FocusPoint, "focusmtr", "focus point", U32, ("focus-point", "focuspoint"),
        formatter=format_focus_point, parser=parse_focus_point,
    ),
    FujiProperty(F.FocusLock, "focus-lock", "focus lock", U32, ("focuslock",), labels=((0, "off"), (1, "on")),
                 reapply=False),
    FujiProperty(F.DeviceError, "device-error", "device error", U16, labels=((0, "none"),), writable=False),
    FujiProperty(F.CapturesRemaining, "captures-remaining", "captures remaining", U32, ("remaining",),
                 writable=False),
    FujiProperty(F.MovieRemainingTime, "movie-remaining", "movie remaining time", U32, writable=False),
    FujiProperty(
        F.ShutterSpeed, "shutter-speed", "shutter speed", U32, ("shutter", "shutterspeed"),
        formatter=format_shutter_speed, parser=parse_shutter_speed,
    ),
    FujiProperty(
        F.ImageSize, "image-size", "image size", U16, ("image-aspect", "size"),
        labels=((2, "S 3:2"), (3, "S 16:9"), (4, "S 1:1"), (6, "M 3:2"), (7, "M 16:9"),
                (8, "M 1:1"), (10, "L 3:2"), (11, "L 16:9"), (12, "L 1:1")),
    ),
    FujiProperty(
        F.BatteryLevel, "battery-fuji", "battery level (Fuji)", U32,
        labels=((6, "critical"), (7, "1/5"), (8, "2/5"), (9, "3/5"), (10, "4/5"), (11, "5/5")),
        writable=False,
    ),
    FujiProperty(F.ShootControl, "shoot-control", "shoot control", U16, ("camera-action",),
                 note="libgphoto2 writes 0x0200 (focus) then 0x0304 (shoot)", reapply=False),
    FujiProperty(F.Unknown_D220, "selected-images-mode", "selected-images mode", U32, writable=False,
                 note="libfuji SelectedImgsMode; 1 in 0xD212 of real X-T2..X-T5", reapply=False),
    FujiProperty(F.Unknown_D222, "object-count", "object count", U32, writable=False,
                 note="libfuji: images on the card, handles 1..N", reapply=False),
    FujiProperty(F.Unknown_D227, "correct-file-size", "report true file size", U16,
                 labels=((0, "off"), (1, "on")), note="libfuji sets 1 before ObjectInfo and download", reapply=False),
    FujiProperty(F.Unknown_D401, "object-count-2", "object count (remote)", U32, writable=False,
                 note="libfuji ObjectCount2; equals 0xD222 in real X-T2..X-T5 logs", reapply=False),
    FujiProperty(F.Unknown_DF00, "camera-state", "camera state", U16, writable=False,
                 labels=tuple((int(v), v.name) for v in CameraState), reapply=False),
    FujiProperty(F.InitSequence, "init-sequence", "init sequence", U16, ("client-mode",),
                 labels=tuple((int(v), v.name) for v in ClientMode), reapply=False),
    FujiProperty(F.Unknown_DF21, "image-get-version", "image-get version", U32, formatter=_hex32, reapply=False),
    FujiProperty(F.Unknown_DF22, "get-object-version", "GetObject version", U32, formatter=_hex32, reapply=False),
    FujiProperty(F.Unknown_DF23, "autosave-version", "PC AutoSave version", U32, formatter=_hex32, reapply=False),
    FujiProperty(F.AppVersion, "app-version", "app version", U32, ("remote-version",), formatter=_hex32, reapply=False),
    FujiProperty(F.Unknown_DF25, "remote-get-object-version", "remote GetObject version", U32, formatter=_hex32, reapply=False),
    FujiProperty(F.Unknown_DF31, "geotag-version", "geotag version", U32, formatter=_hex32, reapply=False),
    FujiProperty(F.CameraSummary, "camera-summary", "camera summary", STR, writable=False),
    FujiProperty(F.GeoTag, "geotag", "geotag", STR, reapply=False),
)
# fmt: on

_BY_CODE: dict[int, FujiProperty] = {p.code: p for p in PROPERTIES}
_BY_NAME: dict[str, FujiProperty] = {}
for _p in PROPERTIES:
    for _n in (_p.name, *_p.aliases, _p.title):
        _k = _name_key(_n)
        if _k in _BY_NAME and _BY_NAME[_k] is not _p:  # pragma: no cover - table check
            raise AssertionError(f"property name {_n!r} is used twice")
        _BY_NAME[_k] = _p

#: The unified names of ptp-ip-tool §7 and the Fuji codes they mean here.
# a table: one entry a line, laid out by hand
# fmt: off
UNIFIED_NAMES: dict[str, int] = {
    "delay": 0x5012,
    "effect": F.FilmSimulation,
    "exposure": 0x500D,
    "exp-bias": 0x5010,
    "flashmode": 0x500C,
    "focusmtr": F.FocusPoint,
    "iso": F.ExposureIndex,
    "whitebalance": 0x5005,
    "recmode": F.RecMode,
}
# fmt: on


def lookup(prop: str | int) -> FujiProperty:
    """The property for a name (unified, Fuji, alias, title), a code int, or hex ``"0xD001"``/``"d001"``.

    An unknown but well-formed code gives a bare property named ``0xD0FF`` whose
    datatype is UNDEF (learn it from the description); an unknown name is a ``ValueError``.
    """
    if isinstance(prop, int) and not isinstance(prop, bool):
        return _by_code(prop)
    text = str(prop).strip()
    hit = _BY_NAME.get(_name_key(text))
    if hit is not None:
        return hit
    if re.fullmatch(r"(0x)?[0-9a-fA-F]{1,4}", text):
        return _by_code(int(text, 16))
    raise ValueError(f"unknown property {text!r}; known: {', '.join(p.name for p in PROPERTIES)}")


def _by_code(code: int) -> FujiProperty:
    if not 0 <= code <= 0xFFFF:
        raise ValueError(f"property code 0x{code:X} is not a u16")
    hit = _BY_CODE.get(code)
    if hit is not None:
        return hit
    return FujiProperty(code, f"0x{code:04X}", f"property 0x{code:04X}", DataType.UNDEF)


def reapplies(code: int) -> bool:
    """True when a value set for ``code`` is a setting to restore after a reconnect (codes
    not in this table answer as in the standard one: DateTime, no)."""
    hit = _BY_CODE.get(code)
    return hit.reapply if hit is not None else _standard_reapplies(code)


def name_of(code: int) -> str:
    """The canonical name of a property code (``0xD0FF`` style when unknown)."""
    return _by_code(code).name


def format_value(code: int, value: Raw) -> str:
    """The human label for ``value`` of property ``code``."""
    return _by_code(code).format(value)


# --------------------------------------------------------------------------- validation


def allowed_text(prop: FujiProperty, desc: DevicePropDesc) -> str:
    """What a description allows, as labels for the error message."""
    form = desc.form
    if isinstance(form, Enumeration):
        return ", ".join(prop.format(v) for v in form.values)  # type: ignore[arg-type]  # Fuji's values are ints
    if isinstance(form, Range):
        lo, hi, step = form.minimum, form.maximum, form.step
        return f"{prop.format(lo)} .. {prop.format(hi)} (0x{lo:X}..0x{hi:X} step {step})"  # type: ignore[arg-type]  # as above
    return "any value of its type"


def check_allowed(prop: FujiProperty, value: Raw, desc: DevicePropDesc | None, given: Raw | None = None) -> None:
    """Raise ``ValueError`` (with the allowed labels) if ``desc`` does not allow ``value``;
    the message names the value as ``given`` (what the user typed) when it was text."""
    if desc is None:
        return
    if not desc.writable:
        raise ValueError(f"{prop.name} is read-only")
    form = desc.form
    if isinstance(value, int) and desc.datatype == DataType.INT16 and value > 0x7FFF:
        value -= 0x10000
    if isinstance(form, Enumeration):
        ok = value in form.values
    elif isinstance(form, Range) and isinstance(value, int):
        ok = form.allows(value)
    else:
        ok = desc.allows(value) if desc.datatype != DataType.STR else True
    if not ok:
        raise ValueError(
            f"{prop.name}: {_shown(prop, value, given)} is not allowed; allowed: {allowed_text(prop, desc)}"
        )


def _shown(prop: FujiProperty, value: Raw, given: Raw | None) -> str:
    """A refused value as the user will recognise it: the text given when it is not the
    value's own label (``-5``, ``0.1``), else the label and the raw value."""
    label = prop.format(value)
    if isinstance(given, str) and _key(given.strip()) != _key(label):
        return given.strip()
    return f"{label} ({_hex(value)})"


def _hex(value: Raw) -> str:
    if isinstance(value, int):
        return f"0x{value & 0xFFFFFFFF:X}" if value < 0 else f"0x{value:X}"
    return repr(value)


def parse_value(prop: str | int | FujiProperty, value: Raw, desc: DevicePropDesc | None = None) -> Raw:
    """Read ``value`` (label, hex, int) for ``prop`` and check it against ``desc``.

    >>> parse_value("iso", "S6400")
    2147490048
    """
    p = prop if isinstance(prop, FujiProperty) else lookup(prop)
    current = desc.current if desc is not None else None
    raw = p.parse(value, current)  # type: ignore[arg-type]  # Fuji's values are ints
    check_allowed(p, raw, desc, value)
    return raw


def all_names() -> list[str]:
    """Every canonical property name, table order."""
    return [p.name for p in PROPERTIES]


def labels_of(prop: str | int) -> list[str]:
    """The fixed labels of a property (empty for computed ones such as ISO)."""
    return [label for _, label in lookup(prop).labels]


__all__ = [
    "ISO_AUTO",
    "PROPERTIES",
    "UNIFIED_NAMES",
    "FujiProperty",
    "all_names",
    "allowed_text",
    "check_allowed",
    "decode_text_blob",
    "decode_value",
    "encode_text_blob",
    "encode_value",
    "format_exp_bias",
    "format_focus_point",
    "format_iso",
    "format_value",
    "labels_of",
    "lookup",
    "name_of",
    "parse_exp_bias",
    "parse_iso",
    "parse_value",
    "reapplies",
]
