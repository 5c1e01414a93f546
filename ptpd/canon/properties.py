"""The EOS property table: one entry per property ptpd names, shared by the camera layer
(``ptpd.camera.canon``), the simulated body and whoever labels an EOS value.

Each :class:`CanonProperty` knows its code, its ptpd name (the names the other vendors use
where the meaning is the same: ``iso``, ``f-number``, ``shutter-speed``, ``exp-bias``,
``whitebalance``; the unified names as aliases: ``exposure``, ``effect``), its width, and
how its values read and are written:

* **from a record** (:meth:`CanonProperty.decode`): a PropValueChanged record carries a
  scalar in 4 bytes on real bodies whatever its type (a real dump; research notes §2.4),
  libgphoto2 reads it as u8/u16/u32 by its own per-property table (ptp-pack.c:2287-2476).
  We read the integer the record holds and keep the property's width of it, so a body
  that sign-extends a u8 (exposure compensation) or sends 2 bytes reads the same;
* **to SetDevicePropValueEx** (:meth:`CanonProperty.encode`): scalars as a zero-extended
  u32 (``0c000000 03d10000 58000000`` is ISO 400 as libgphoto2 sends it, our traces),
  strings as ASCII with a NUL, ImageFormat as its struct (ptp.c:4071-4180);
* **allowed lists** (:meth:`CanonProperty.decode_list`): an AvailListChanged of kind 3
  has 4-byte elements, or ImageFormat structs back to back.

A code ptpd has no entry for still works (:func:`lookup` makes a bare one): its value is
the integer in its record, or its text when the record holds ASCII.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from ptpd.canon import values as V
from ptpd.canon.codes import CanonPropCode as C
from ptpd.protocol.buffer import Reader
from ptpd.protocol.codes import DataType
from ptpd.protocol.errors import ProtocolError
from ptpd.protocol.properties import reapplies as _standard_reapplies

Value = int | str

#: how a property's value is carried: width of an integer, or its shape
KINDS = ("u8", "u16", "u32", "i32", "str", "imageformat", "bytes", "auto")
_DATATYPES = {
    "u8": DataType.UINT8, "u16": DataType.UINT16, "u32": DataType.UINT32, "i32": DataType.INT32,
    "str": DataType.STR, "imageformat": DataType.UINT16, "bytes": DataType.STR, "auto": DataType.UINT32,
}  # fmt: skip
_MASK = {"u8": 0xFF, "u16": 0xFFFF, "u32": 0xFFFFFFFF, "i32": 0xFFFFFFFF, "auto": 0xFFFFFFFF}


def _key(text: str) -> str:
    """Names match ignoring case, spaces, ``-`` and ``_``."""
    return re.sub(r"[\s_\-]+", "", text.strip().lower())


def _label_key(text: str) -> str:
    """Labels match as names do, but a leading minus stays (``-1/3`` is not ``1/3``, which
    is ``+1/3``)."""
    t = text.strip().lower().replace("\u2212", "-")
    sign = "-" if t.startswith("-") else ""
    return sign + _key(t.lstrip("+-"))


def _ascii(data: bytes) -> str | None:
    """The text of a NUL-terminated ASCII value, or None when it is not text."""
    raw = data.split(b"\x00", 1)[0]
    if len(raw) == len(data) and data:  # no NUL: not one of the body's strings
        return None
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() else None


def _ptp_string(data: bytes) -> str | None:
    """The text of a PTP string that fills ``data`` exactly, or None."""
    r = Reader(data)
    try:
        text = r.string()
    except ProtocolError:
        return None
    return text if r.at_end else None


@dataclass(frozen=True, slots=True)
class CanonProperty:
    """One EOS property: code, ptpd name, width, and how its values read."""

    code: int
    name: str
    title: str
    kind: str = "u32"
    aliases: tuple[str, ...] = ()
    labels: Mapping[int, str] | None = None
    formatter: Callable[[int], str] | None = None
    parser: Callable[[str], int | None] | None = None
    writable: bool = True
    summary: bool = False  #: part of the camera's ``state`` summary
    #: a value a client set is a setting to set again after a reconnect (not: what only
    #: steers the link, such as the live-view output, or a clock)
    reapply: bool = True
    extra_labels: Mapping[str, int] = field(default_factory=dict)  #: more spellings people type
    #: the value as the standard PTP property of the same meaning carries it (None: it
    #: has none there), so a client can place it without knowing EOS codes
    standard: Callable[[int], int | None] | None = None

    @property
    def datatype(self) -> int:
        """The PTP datatype its values are shown as (the condensed u16 for ImageFormat)."""
        return int(_DATATYPES[self.kind])

    # -- the wire ---------------------------------------------------------------------

    def decode(self, data: bytes) -> Value:
        """The value a PropValueChanged record carries."""
        kind = self.kind
        if kind == "str":
            return (data.split(b"\x00", 1)[0]).decode("ascii", "replace")
        if kind == "imageformat":
            try:
                return V.image_format_code(data)[0]
            except ValueError:
                return data.hex()
        if kind == "bytes":
            return data.hex()
        if kind == "auto" and len(data) not in (1, 2, 4):
            text = _ascii(data)
            if text is None:
                text = _ptp_string(data)  # a standard property's value as DevicePropValue encodes it
            return text if text is not None else data.hex()
        if not data:
            return 0
        raw = int.from_bytes(data[:4], "little") & _MASK[kind]
        if kind == "i32" and raw & 0x80000000:
            raw -= 0x100000000
        return raw

    def decode_list(self, count: int, data: bytes) -> tuple[Value, ...]:
        """The allowed values of an AvailListChanged of kind 3 (``()`` when they cannot be
        read: elements of another size, as D17D's 12-byte ones)."""
        if self.kind == "imageformat":
            out: list[Value] = []
            pos = 0
            for _ in range(count):
                try:
                    code, used = V.image_format_code(data[pos:])
                except ValueError:
                    return tuple(out)
                out.append(code)
                pos += used
            return tuple(out)
        if self.kind in ("str", "bytes") or count * 4 != len(data):
            return ()
        return tuple(self.decode(data[i : i + 4]) for i in range(0, 4 * count, 4))

    def encode(self, value: Value) -> bytes:
        """The value part of SetDevicePropValueEx (and of the body's own records)."""
        if self.kind == "str" or isinstance(value, str):
            return str(value).encode("ascii", "replace") + b"\x00"
        if self.kind == "imageformat":
            return V.image_format_struct(value)
        return struct.pack("<I", int(value) & 0xFFFFFFFF)

    # -- labels -----------------------------------------------------------------------

    def label(self, value: Value) -> str:
        """The human label of a raw value."""
        if isinstance(value, str):
            return value
        if self.labels is not None:
            return self.labels.get(value, f"0x{value:02X}")
        if self.formatter is not None:
            return self.formatter(value)
        return str(value)

    def parse(self, text: str | int, allowed: Iterable[Value] = ()) -> Value:
        """A raw value from a label, a spelling this property reads, or a raw integer
        (decimal or ``0x`` hex); the camera's allowed values are matched first, by label.
        ValueError when nothing fits."""
        if isinstance(text, bool):
            raise ValueError("a property value is a label or an integer, not a bool")
        if isinstance(text, int):
            return text
        t = str(text).strip()
        if self.kind == "str":
            return t
        k = _label_key(t)
        allowed = tuple(allowed)
        for v in allowed:
            if _label_key(self.label(v)) == k:
                return v
        if self.labels is not None:
            for raw, label in self.labels.items():
                if _label_key(label) == k:
                    return raw
        for spelling, raw in self.extra_labels.items():
            if _label_key(spelling) == k:
                return raw
        if self.parser is not None:
            parsed = self.parser(t)
            if parsed is not None:
                # a spelling of a value the camera lists under another code (a half stop
                # for a third): the allowed value with the same label wins
                if allowed and parsed not in allowed:
                    for v in allowed:
                        if self.label(v) == self.label(parsed):
                            return v
                return parsed
        if re.fullmatch(r"0x[0-9a-f]+", t.lower()):
            return int(t, 16)
        if re.fullmatch(r"\d+", t):
            return int(t)
        raise ValueError(f"cannot read {t!r} as a value of {self.name}")


def _hex(v: int) -> str:
    return f"0x{v:08X}"


P = CanonProperty
PROPERTIES: tuple[CanonProperty, ...] = (
    P(
        C.Aperture,
        "f-number",
        "aperture",
        "u16",
        ("aperture", "fnumber"),
        formatter=V.format_aperture,
        parser=V.parse_aperture,
        summary=True,
    ),
    P(
        C.ShutterSpeed,
        "shutter-speed",
        "shutter speed",
        "u16",
        ("shutter", "shutterspeed", "exposure", "exposure-time"),
        formatter=V.format_shutter,
        parser=V.parse_shutter,
        summary=True,
    ),
    P(
        C.ISOSpeed,
        "iso",
        "ISO",
        "u16",
        ("iso-speed", "sensitivity"),
        formatter=V.format_iso,
        parser=V.parse_iso,
        summary=True,
    ),
    P(
        C.ExpCompensation,
        "exp-bias",
        "exposure compensation",
        "u8",
        ("exposure-bias", "ev", "expbias", "exposure-compensation"),
        formatter=V.format_exp_bias,
        parser=V.parse_exp_bias,
        summary=True,
        standard=V.standard_exp_bias,
    ),
    P(
        C.AutoExposureMode,
        "exposure-program",
        "auto exposure mode",
        "u16",
        ("program", "mode", "ae-mode"),
        labels=V.AE_MODE,
        writable=False,
        summary=True,
        extra_labels={"manual": 3, "program": 0, "aperture priority": 2, "shutter priority": 1},
        standard=V.STANDARD_PROGRAM.get,
    ),
    P(C.DriveMode, "drive", "drive mode", "u16", ("drive-mode", "stillmode"), labels=V.DRIVE_MODE, summary=True),
    P(C.MeteringMode, "metering", "metering mode", "u8", ("metering-mode",), labels=V.METERING, summary=True),
    P(
        C.FocusMode,
        "focus-mode",
        "focus mode",
        "u16",
        ("focusmode", "af-mode"),
        labels=V.FOCUS_MODE,
        summary=True,
        extra_labels={"mf": 3, "af": 0, "one-shot": 0, "servo": 1},
    ),
    P(
        C.WhiteBalance,
        "whitebalance",
        "white balance",
        "u8",
        ("white-balance", "wb"),
        labels=V.WHITE_BALANCE,
        summary=True,
        extra_labels={"awb": 0, "automatic": 0, "shadow": 8, "incandescent": 3, "sunny": 1},
    ),
    P(
        C.ColorTemperature,
        "color-temperature",
        "colour temperature",
        "u32",
        ("colour-temperature", "kelvin"),
        formatter=lambda v: f"{v}K",
        parser=lambda t: int(m.group(1)) if (m := re.fullmatch(r"(\d+)\s*k?", t.lower())) else None,
    ),
    P(C.ColorSpace, "color-space", "colour space", "u16", ("colour-space",), labels={1: "sRGB", 2: "AdobeRGB"}),
    P(
        C.PictureStyle,
        "picture-style",
        "picture style",
        "u8",
        ("picturestyle", "effect", "style"),
        labels=V.PICTURE_STYLE,
        summary=True,
        extra_labels={"mono": 0x86, "b&w": 0x86},
    ),
    P(
        C.BatteryPower,
        "battery",
        "battery level",
        "u16",
        ("battery-level",),
        labels=V.BATTERY,
        writable=False,
        summary=True,
    ),
    P(
        C.AvailableShots,
        "captures-remaining",
        "available shots",
        "u32",
        ("remaining", "available-shots", "shots"),
        writable=False,
        summary=True,
    ),
    P(
        C.CaptureDestination,
        "capture-target",
        "capture destination",
        "u32",
        ("capturetarget", "capture-destination"),
        labels=V.CAPTURE_TARGET,
        summary=True,
        extra_labels={"host": 4, "sdram": 4, "memory card": 2, "sd": 2},
    ),
    P(
        C.ImageFormat,
        "image-format",
        "image format",
        "imageformat",
        ("imageformat", "quality", "image-quality"),
        formatter=V.format_image_format,
        summary=True,
    ),
    P(C.ImageFormatCF, "image-format-cf", "image format (CF)", "imageformat", formatter=V.format_image_format),
    P(C.ImageFormatSD, "image-format-sd", "image format (SD)", "imageformat", formatter=V.format_image_format),
    P(
        C.EVFOutputDevice,
        "evf-output",
        "live-view output",
        "u16",
        ("liveview-output", "output", "evfoutput"),
        formatter=V.format_evf_output,
        parser=V.parse_evf_output,
        reapply=False,
    ),
    P(C.EVFMode, "evf-mode", "live-view mode", "u16", ("evfmode",), labels=V.EVF_MODE),
    P(C.ShutterCounter, "shutter-counter", "shutter counter", "u32", ("shuttercounter",), writable=False),
    P(C.ModelID, "model-id", "model ID", "u32", ("modelid",), formatter=_hex, writable=False),
    P(
        C.PTPExtensionVersion,
        "ptp-extension-version",
        "PTP extension version",
        "u16",
        formatter=lambda v: f"0x{v:04X}",
        writable=False,
    ),
    P(C.CurrentStorage, "current-storage", "current storage", "u32", formatter=_hex, writable=False),
    P(C.CurrentFolder, "current-folder", "current folder", "u32", formatter=_hex, writable=False),
    P(C.CameraTime, "camera-time", "camera time", "u32", writable=False, reapply=False),
    P(C.SerialNumber, "serial-number", "serial number", "str", ("serial",), writable=False),
    P(C.LensName, "lens", "lens name", "str", ("lens-name", "lensname"), writable=False),
    P(C.Owner, "owner", "owner", "str"),
    P(C.Artist, "artist", "artist", "str"),
    P(C.Copyright, "copyright", "copyright", "str"),
    P(C.FocusInfoEx, "focus-info", "focus information", "bytes", writable=False),
)

_BY_CODE: dict[int, CanonProperty] = {p.code: p for p in PROPERTIES}
_BY_NAME: dict[str, CanonProperty] = {}
for _p in PROPERTIES:
    for _n in (_p.name, *_p.aliases, _p.title):
        _BY_NAME.setdefault(_key(_n), _p)
#: the properties of the camera's ``state`` summary, in table order
SUMMARY: tuple[int, ...] = tuple(p.code for p in PROPERTIES if p.summary)


def by_code(code: int) -> CanonProperty:
    """The entry of ``code``; a bare one (named ``0xD1xx``, its values as they come) when
    ptpd has none."""
    hit = _BY_CODE.get(code)
    if hit is not None:
        return hit
    return CanonProperty(code, f"0x{code:04X}", f"property 0x{code:04X}", "auto")


def by_name(name: str) -> CanonProperty | None:
    """The entry a name or alias calls for, or None."""
    return _BY_NAME.get(_key(name))


def reapplies(code: int) -> bool:
    """True when a value set for ``code`` is a setting to restore after a reconnect (codes
    not in this table answer as in the standard one: DateTime, no)."""
    hit = _BY_CODE.get(code)
    return hit.reapply if hit is not None else _standard_reapplies(code)


def lookup(prop: str | int) -> CanonProperty:
    """The property for a name, an alias, a code int, or ``"0xD103"`` / ``"d103"``;
    ValueError for a name nobody uses."""
    if isinstance(prop, int) and not isinstance(prop, bool):
        if not 0 <= prop <= 0xFFFF:
            raise ValueError(f"property code {prop} is not a u16")
        return by_code(prop)
    text = str(prop).strip()
    hit = by_name(text)
    if hit is not None:
        return hit
    if re.fullmatch(r"0x[0-9a-fA-F]{1,4}|[dD][0-9a-fA-F]{3}", text):
        return by_code(int(text.lower().removeprefix("0x"), 16))
    raise ValueError(f"unknown property {text!r}; known: {', '.join(p.name for p in PROPERTIES)}")


__all__ = ["KINDS", "PROPERTIES", "SUMMARY", "CanonProperty", "by_code", "by_name", "lookup", "reapplies"]
