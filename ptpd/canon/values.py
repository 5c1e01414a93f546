"""EOS value tables: the codes a body uses for ISO, aperture, shutter speed, exposure
compensation, white balance, picture style, image format, drive mode and the rest, with
the labels ptpd shows and reads.

The codes are libgphoto2's (2.5.30 ``camlibs/ptp2/config.c``; each table names its array).
Labels follow the rest of ptpd rather than libgphoto2's where they differ: shutter speeds
as ``"1/250"`` / ``"2s"``, apertures as ``"f/5.6"``, exposure compensation as ``"+1/3"``,
ISO as ``"400"``. Where libgphoto2's label is odd (0x14 "20.3", 0x1D "10.3", 0x23 "6.3")
the marked speed is used instead.

Two formulas stand behind the tables and fill codes a table lacks (research notes §3):
ISO code = 8·log2(ISO/100) + 0x48, aperture code = 8·log2(N²) + 8, shutter code =
0x38 − 8·log2(t). Full stops are 8 apart, third stops +3 and +5, half stops +4.
"""

from __future__ import annotations

import math
import re
import struct
from fractions import Fraction

# -- ISO (D103, ``canon_isospeed[]`` config.c:2627) ---------------------------------------------

ISO_AUTO = 0x00
ISO: dict[int, str] = {
    0x00: "auto", 0x28: "6", 0x30: "12", 0x38: "25", 0x40: "50", 0x43: "64", 0x45: "80", 0x48: "100",
    0x4B: "125", 0x4D: "160", 0x50: "200", 0x53: "250", 0x55: "320", 0x58: "400", 0x5B: "500", 0x5D: "640",
    0x60: "800", 0x63: "1000", 0x65: "1250", 0x68: "1600", 0x6B: "2000", 0x6D: "2500", 0x70: "3200",
    0x73: "4000", 0x75: "5000", 0x78: "6400", 0x7B: "8000", 0x7D: "10000", 0x80: "12800", 0x83: "16000",
    0x85: "20000", 0x88: "25600", 0x8B: "32000", 0x8D: "40000", 0x90: "51200", 0x93: "64000",
    0x95: "80000", 0x98: "102400", 0xA0: "204800", 0xA8: "409600", 0xB0: "819200",
}  # fmt: skip


def iso_number(code: int) -> int | None:
    """The ISO speed a code stands for (``None`` for auto): the table, else the formula."""
    if code == ISO_AUTO or code == 0xFFFF:
        return None
    if code in ISO:
        return int(ISO[code])
    return round(100 * 2 ** ((code - 0x48) / 8))


def format_iso(code: int) -> str:
    if code == 0xFFFF:
        return "factory default"
    n = iso_number(code)
    return "auto" if n is None else str(n)


def parse_iso(text: str) -> int | None:
    t = re.sub(r"[\s_]+", "", text.strip().lower()).removeprefix("iso")  # a sign stays: "-5" is no ISO
    if t in ("auto", "a"):
        return ISO_AUTO
    if not t.isdigit() or int(t) <= 0:
        return None
    for code, label in ISO.items():
        if label == t:
            return code
    return round(8 * math.log2(int(t) / 100)) + 0x48


# -- aperture (D101, ``canon_aperture[]`` config.c:6019) ------------------------------------------

APERTURE: dict[int, str] = {
    0x08: "1", 0x0B: "1.1", 0x0C: "1.2", 0x0D: "1.2", 0x10: "1.4", 0x13: "1.6", 0x14: "1.8", 0x15: "1.8",
    0x18: "2", 0x1B: "2.2", 0x1C: "2.5", 0x1D: "2.5", 0x20: "2.8", 0x23: "3.2", 0x24: "3.5", 0x25: "3.5",
    0x28: "4", 0x2B: "4.5", 0x2C: "4.5", 0x2D: "5", 0x30: "5.6", 0x33: "6.3", 0x34: "6.7", 0x35: "7.1",
    0x38: "8", 0x3B: "9", 0x3C: "9.5", 0x3D: "10", 0x40: "11", 0x43: "13", 0x44: "13", 0x45: "14",
    0x48: "16", 0x4B: "18", 0x4C: "19", 0x4D: "20", 0x50: "22", 0x53: "25", 0x54: "27", 0x55: "29",
    0x58: "32", 0x5B: "36", 0x5C: "38", 0x5D: "40", 0x60: "45", 0x63: "51", 0x64: "54", 0x65: "57",
    0x68: "64", 0x6B: "72", 0x6C: "76", 0x6D: "81", 0x70: "91",
}  # fmt: skip
APERTURE_AUTO = (0x00, 0xFFFF)  #: "implicit auto" and "auto" in libgphoto2's table


def f_number(code: int) -> Fraction | None:
    """The f-number a code stands for (``None`` for auto)."""
    if code in APERTURE_AUTO:
        return None
    if code in APERTURE:
        return Fraction(APERTURE[code])
    return Fraction(2 ** ((code - 8) / 16)).limit_denominator(10)


def format_aperture(code: int) -> str:
    n = f_number(code)
    return "auto" if n is None else f"f/{float(n):g}"


def parse_aperture(text: str) -> int | None:
    t = text.strip().lower()
    if t in ("auto", "automatic"):
        return 0x00
    m = re.fullmatch(r"f\s*/?\s*(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?)", t)
    if not m:
        return None
    number = m.group(1) or m.group(2)
    for code, label in APERTURE.items():
        if Fraction(label) == Fraction(number):
            return code
    return round(16 * math.log2(float(number))) + 8 if float(number) > 0 else None


# -- shutter speed (D102, ``canon_shutterspeed[]`` config.c:2374) ---------------------------------

SHUTTER_AUTO = 0x00
SHUTTER_BULB = (0x04, 0x0C)
SHUTTER: dict[int, str] = {
    0x00: "auto", 0x04: "bulb", 0x0C: "bulb",
    0x10: "30s", 0x13: "25s", 0x14: "20s", 0x15: "20s", 0x18: "15s", 0x1B: "13s", 0x1C: "10s", 0x1D: "10s",
    0x20: "8s", 0x23: "6s", 0x24: "6s", 0x25: "5s", 0x28: "4s", 0x2B: "3.2s", 0x2C: "3s", 0x2D: "2.5s",
    0x30: "2s", 0x33: "1.6s", 0x34: "1.5s", 0x35: "1.3s", 0x38: "1s", 0x3B: "0.8s", 0x3C: "0.7s",
    0x3D: "0.6s", 0x40: "0.5s", 0x43: "0.4s", 0x44: "0.3s", 0x45: "0.3s", 0x48: "1/4", 0x4B: "1/5",
    0x4C: "1/6", 0x4D: "1/6", 0x50: "1/8", 0x53: "1/10", 0x54: "1/10", 0x55: "1/13", 0x58: "1/15",
    0x5B: "1/20", 0x5C: "1/20", 0x5D: "1/25", 0x60: "1/30", 0x63: "1/40", 0x64: "1/45", 0x65: "1/50",
    0x68: "1/60", 0x6B: "1/80", 0x6C: "1/90", 0x6D: "1/100", 0x70: "1/125", 0x73: "1/160", 0x74: "1/180",
    0x75: "1/200", 0x78: "1/250", 0x7B: "1/320", 0x7C: "1/350", 0x7D: "1/400", 0x80: "1/500",
    0x83: "1/640", 0x84: "1/750", 0x85: "1/800", 0x88: "1/1000", 0x8B: "1/1250", 0x8C: "1/1500",
    0x8D: "1/1600", 0x90: "1/2000", 0x93: "1/2500", 0x94: "1/3000", 0x95: "1/3200", 0x98: "1/4000",
    0x9B: "1/5000", 0x9C: "1/6000", 0x9D: "1/6400", 0xA0: "1/8000",
}  # fmt: skip


def _seconds_of_label(label: str) -> Fraction:
    if label.startswith("1/"):
        return Fraction(1, int(label[2:]))
    return Fraction(label.removesuffix("s"))


def exposure_seconds(code: int) -> Fraction | None:
    """The exposure time a code stands for, in seconds (``None`` for auto and bulb)."""
    if code == SHUTTER_AUTO or code in SHUTTER_BULB:
        return None
    label = SHUTTER.get(code)
    if label is not None:
        return _seconds_of_label(label)
    return Fraction(2 ** ((0x38 - code) / 8)).limit_denominator(10000)


def format_shutter(code: int) -> str:
    if code in SHUTTER:
        return SHUTTER[code]
    t = exposure_seconds(code)
    if t is None:
        return f"0x{code:02X}"
    return f"1/{round(1 / t)}" if t < Fraction(3, 10) else f"{float(t):.1f}s".replace(".0s", "s")


def parse_shutter(text: str) -> int | None:
    t = text.strip().lower().replace('"', "s").replace(" ", "")
    if t in ("auto", "bulb"):
        return SHUTTER_AUTO if t == "auto" else SHUTTER_BULB[1]
    m = re.fullmatch(r"1/(\d+)s?|(\d+(?:\.\d+)?)(?:s|sec)?", t)
    if not m:
        return None
    seconds = Fraction(1, int(m.group(1))) if m.group(1) else Fraction(m.group(2))
    if seconds <= 0:
        return None
    best = min(
        (c for c in SHUTTER if c not in (SHUTTER_AUTO, *SHUTTER_BULB)),
        key=lambda c: abs(math.log2(float(_seconds_of_label(SHUTTER[c]) / seconds))),
    )
    # the marked speed a person types: within a sixth of a stop of a table entry
    return best if abs(math.log2(float(_seconds_of_label(SHUTTER[best]) / seconds))) < 1 / 6 else None


# -- exposure compensation (D104, u8 in 1/8 EV, ``canon_expcompensation2[]`` config.c:5950) -------

_THIRDS = {0: "", 3: "1/3", 4: "1/2", 5: "2/3"}
#: a fraction of an EV -> eighths on the wire (3 and 5 stand for thirds)
_EIGHTHS = {Fraction(0): 0, Fraction(1, 3): 3, Fraction(1, 2): 4, Fraction(2, 3): 5}


def exp_eighths(code: int) -> int:
    """The code as signed eighths of an EV (two's complement in the low byte; a body may
    sign-extend it, so only the low byte counts)."""
    v = code & 0xFF
    return v - 0x100 if v & 0x80 else v


def exp_bias(code: int) -> Fraction:
    """The compensation in EV: the eighths, with 3 and 5 read as thirds."""
    e = exp_eighths(code)
    whole, rem = divmod(abs(e), 8)
    frac = {0: Fraction(0), 3: Fraction(1, 3), 4: Fraction(1, 2), 5: Fraction(2, 3)}.get(rem, Fraction(rem, 8))
    ev = whole + frac
    return -ev if e < 0 else ev


def standard_exp_bias(code: int) -> int:
    """The compensation as ISO 15740's ExposureBiasCompensation (0x5010) carries it:
    signed 1/1000 EV (+1/3 is 333, -2/3 is -667)."""
    return round(exp_bias(code) * 1000)


def format_exp_bias(code: int) -> str:
    e = exp_eighths(code)
    if e == 0:
        return "0"
    whole, rem = divmod(abs(e), 8)
    frac = _THIRDS.get(rem, f"{rem}/8")
    sign = "+" if e > 0 else "-"
    if whole == 0:
        return f"{sign}{frac}"
    return f"{sign}{whole}" + (f" {frac}" if frac else "")


def parse_exp_bias(text: str) -> int | None:
    t = text.strip().lower().replace("\u2212", "-").removesuffix("ev").strip()
    m = re.fullmatch(r"([+-]?)\s*(?:(\d+)\s+)?(\d+)\s*/\s*(\d+)", t)
    if m:
        if int(m.group(4)) == 0:
            return None
        ev = int(m.group(2) or 0) + Fraction(int(m.group(3)), int(m.group(4)))
    else:
        m = re.fullmatch(r"([+-]?)\s*(\d+(?:\.\d+)?)", t)
        if not m:
            return None
        ev = Fraction(m.group(2))
        thirds = round(ev * 3)
        if "." in m.group(2) and abs(ev - Fraction(thirds, 3)) <= Fraction(1, 30):
            ev = Fraction(thirds, 3)  # "0.3", "1.7": how cameras (and libgphoto2) show thirds
    whole, frac = divmod(ev, 1)
    eighths = _EIGHTHS.get(frac)
    if eighths is None:  # no step of the body's (0.1 EV): refused, not rounded
        return None
    value = int(whole) * 8 + eighths
    if m.group(1) == "-":
        value = -value
    return value & 0xFF


# -- enumerations -------------------------------------------------------------------------------

#: D109, ``canon_eos_whitebalance[]`` config.c:5895
WHITE_BALANCE = {
    0: "auto", 1: "daylight", 2: "cloudy", 3: "tungsten", 4: "fluorescent", 5: "flash", 6: "manual",
    8: "shade", 9: "color temperature", 10: "custom pc-1", 11: "custom pc-2", 12: "custom pc-3",
    15: "manual 2", 16: "manual 3", 18: "manual 4", 19: "manual 5", 20: "custom pc-4", 21: "custom pc-5",
    23: "auto white",
}  # fmt: skip
#: D110, ``canon_eos_picturestyle[]`` config.c:2359
PICTURE_STYLE = {
    0x81: "standard", 0x82: "portrait", 0x83: "landscape", 0x84: "neutral", 0x85: "faithful",
    0x86: "monochrome", 0x87: "auto", 0x88: "fine detail", 0x21: "user defined 1", 0x22: "user defined 2",
    0x23: "user defined 3",
}  # fmt: skip
#: D106, ``canon_eos_drive_mode[]`` config.c:2748
DRIVE_MODE = {
    0x00: "single", 0x01: "continuous", 0x02: "video", 0x04: "continuous high", 0x05: "continuous low",
    0x06: "single silent", 0x07: "continuous timer", 0x10: "timer 10s", 0x11: "timer 2s",
    0x12: "super high speed continuous", 0x13: "single silent", 0x14: "continuous silent",
    0x15: "silent hs", 0x16: "silent ls",
}  # fmt: skip
#: seconds a drive mode's self-timer waits before the shutter opens
DRIVE_DELAY = {0x07: 10.0, 0x10: 10.0, 0x11: 2.0}
#: D105 / D138, ``canon_eos_autoexposuremode[]`` config.c:2056 (the first ten, and the
#: ones the research notes name)
#: D105 -> ISO 15740's ExposureProgramMode (0x500E), which EXIF's ExposureProgram numbers
#: the same way (1 manual, 2 program, 3 aperture priority, 4 shutter priority); the
#: scene and auto modes have no counterpart there
STANDARD_PROGRAM = {0: 2, 1: 4, 2: 3, 3: 1}
AE_MODE = {
    0: "P", 1: "Tv", 2: "Av", 3: "M", 4: "bulb", 5: "A-DEP", 6: "DEP", 7: "custom", 8: "lock",
    9: "green", 0x13: "creative auto", 0x14: "movie", 0x16: "auto", 0x37: "Fv",
}  # fmt: skip
#: D108, ``eos_focusmodes[]`` config.c:5859
FOCUS_MODE = {0: "one shot", 1: "ai servo", 2: "ai focus", 3: "manual"}
FOCUS_MANUAL = 3
#: D107, ``canon_meteringmode[]`` config.c:2347
METERING = {
    0: "center-weighted", 1: "spot", 2: "average", 3: "evaluative", 4: "partial",
    5: "center-weighted average", 6: "spot on af frame", 7: "multi spot",
}  # fmt: skip
#: D111, ``_get_Canon_EOS_BatteryLevel`` config.c:7127
BATTERY = {0: "low", 1: "50%", 2: "100%", 4: "75%", 5: "25%"}
#: D1B1, ``canon_eos_evfmode[]`` config.c:2540
EVF_MODE = {0: "off", 1: "on"}
#: D11C: 4 is the host's RAM (ptp.h:2039); the card's values are model-specific (a real
#: 1300D-class body allows {2, 4, 6} with 2 current)
CAPTURE_TARGET = {2: "card", 4: "pc"}


def format_evf_output(code: int) -> str:
    """D1B0's bits as ``"tft+pc"`` (``canon_eos_cameraoutput[]`` config.c:2516); 0 ``"off"``."""
    if code == 0:
        return "off"
    names = [n for bit, n in ((1, "tft"), (2, "pc"), (4, "mobile"), (8, "mobile2")) if code & bit]
    rest = code & ~0xF
    return "+".join(names + ([f"0x{rest:X}"] if rest else []))


def parse_evf_output(text: str) -> int | None:
    t = text.strip().lower().replace(" ", "")
    if t == "off":
        return 0
    bits = {"tft": 1, "pc": 2, "mobile": 4, "mobile2": 8}
    value = 0
    for part in t.split("+"):
        if part not in bits:
            return None
        value |= bits[part]
    return value


# -- image format (D120-D123, a struct; ptp-pack.c:1675-1796) ---------------------------------------

IMAGE_FORMAT = {
    0x0300: "large fine jpeg", 0x0200: "large normal jpeg", 0x1300: "medium fine jpeg",
    0x1200: "medium normal jpeg", 0x2300: "small fine jpeg", 0x2200: "small normal jpeg",
    0xD300: "small fine jpeg (s1)", 0xD200: "small normal jpeg (s1)", 0xE300: "smaller jpeg (s2)",
    0xF300: "tiny jpeg (s3)", 0x0C00: "raw", 0x1C00: "mraw", 0x2C00: "sraw", 0x0B00: "craw",
    0x0C03: "raw + large fine jpeg", 0x1C03: "mraw + large fine jpeg", 0x2C03: "sraw + large fine jpeg",
    0x0B03: "craw + large fine jpeg", 0x0C13: "raw + medium fine jpeg", 0x0C23: "raw + small fine jpeg",
}  # fmt: skip
_IMAGE_STRUCT = struct.Struct("<IIII")  # 0x10, kind (1 JPEG, 6 RAW), size, quality
KIND_JPEG, KIND_RAW = 1, 6


def image_format_code(data: bytes) -> tuple[int, int]:
    """(the condensed u16, bytes read) from an ImageFormat struct ``u32 n, n × {0x10,
    kind, size, quality}``: four nibbles size1 | quality1 (+8 for RAW) | size2 | quality2,
    sizes of 0xE and up (S1-S3) less one (libgphoto2's ``ptp_unpack_EOS_ImageFormat``).
    ValueError when the struct is not one of those."""
    if len(data) < 4:
        raise ValueError("ImageFormat struct is cut short")
    n = struct.unpack_from("<I", data)[0]
    if n not in (1, 2) or len(data) < 4 + 16 * n:
        raise ValueError(f"ImageFormat struct with {n} entries in {len(data)} bytes")
    nibbles: list[int] = []
    for i in range(n):
        length, kind, size, quality = _IMAGE_STRUCT.unpack_from(data, 4 + 16 * i)
        if length != 0x10:
            raise ValueError(f"ImageFormat entry of {length} bytes")
        size = size - 1 if size >= 0xE else size
        nibbles += [size & 0xF, (quality | (8 if kind == KIND_RAW else 0)) & 0xF]
    if n == 1:
        nibbles += [0, 0]
    code = (nibbles[0] << 12) | (nibbles[1] << 8) | (nibbles[2] << 4) | nibbles[3]
    return code, 4 + 16 * n


def image_format_struct(code: int) -> bytes:
    """The ImageFormat struct of a condensed code (two files when the low byte is set)."""
    entries = [(code >> 8) & 0xFF] + ([code & 0xFF] if code & 0xFF else [])
    out = struct.pack("<I", len(entries))
    for e in entries:
        size, quality = e >> 4, e & 0xF
        size = size + 1 if size >= 0xD else size
        out += _IMAGE_STRUCT.pack(0x10, KIND_RAW if quality & 8 else KIND_JPEG, size, quality & 7)
    return out


def format_image_format(code: int) -> str:
    return IMAGE_FORMAT.get(code, f"0x{code:04X}")


def image_size_class(code: int) -> str:
    """``"L"``, ``"M"``, ``"S"``... of the first JPEG file the format makes (what the
    simulated body renders), ``"L"`` for RAW only."""
    for nib in ((code >> 8) & 0xFF, code & 0xFF):
        if nib and not (nib & 8) and nib & 7:
            return {0: "L", 1: "M", 2: "S", 0xD: "S1", 0xE: "S2", 0xF: "S3"}.get(nib >> 4, "L")
    return "L"


__all__ = [
    "AE_MODE",
    "STANDARD_PROGRAM",
    "APERTURE",
    "BATTERY",
    "CAPTURE_TARGET",
    "DRIVE_DELAY",
    "DRIVE_MODE",
    "EVF_MODE",
    "FOCUS_MANUAL",
    "FOCUS_MODE",
    "IMAGE_FORMAT",
    "ISO",
    "METERING",
    "PICTURE_STYLE",
    "SHUTTER",
    "WHITE_BALANCE",
    "exp_bias",
    "exp_eighths",
    "exposure_seconds",
    "f_number",
    "format_aperture",
    "format_evf_output",
    "format_exp_bias",
    "format_image_format",
    "format_iso",
    "format_shutter",
    "image_format_code",
    "image_format_struct",
    "image_size_class",
    "iso_number",
    "parse_aperture",
    "parse_evf_output",
    "parse_exp_bias",
    "parse_iso",
    "parse_shutter",
    "standard_exp_bias",
]
