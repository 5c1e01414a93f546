"""JPEG encoding for the simulated cameras: stills with real EXIF, thumbnails, fast frames.

* :func:`encode_jpeg` writes a baseline JPEG with an EXIF block built through Pillow's
  :class:`PIL.Image.Exif` API (IFD0 + Exif sub-IFD), so any EXIF reader (Pillow,
  exiftool, a photo app) finds the settings the picture was "taken" with.
* :func:`thumbnail` makes the small JFIF a camera keeps for ObjectInfo's thumbnail.
* :func:`encode_frame` is the cheap path for live-view frames: no EXIF, no Huffman
  optimisation, 4:2:0 chroma - what a camera's viewfinder stream looks like.

EXIF input is a plain dict with these keys (all optional; unknown keys are an error so a
typo does not silently drop a tag):

==================  ====================================================  ===========
key                 value                                                 EXIF tag
==================  ====================================================  ===========
``make``            str                                                   0x010F
``model``           str                                                   0x0110
``software``        str (firmware)                                        0x0131
``datetime``        :class:`datetime.datetime` or ``"YYYY:MM:DD HH:MM:SS"``  0x0132, 0x9003, 0x9004
``iso``             int                                                   0x8827
``exposure_time``   seconds: float, Fraction, ``"1/250"``                 0x829A (rational)
``f_number``        float, e.g. 5.6                                       0x829D (rational)
``exposure_bias``   EV: float, Fraction, ``"-1/3"``                       0x9204 (signed rational)
``exposure_program`` int per EXIF (1 manual, 2 normal, 3 A, 4 S)          0x8822
``white_balance``   0 auto / 1 manual (EXIF), or a label: "auto" -> 0     0xA403
``focal_length``    mm, float                                             0x920A
``description``     str                                                   0x010E
``user_comment``    str (ASCII), e.g. the film simulation                  0x9286
==================  ====================================================  ===========
"""

from __future__ import annotations

import datetime as _dt
import io
import struct
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from PIL import Image, TiffImagePlugin

__all__ = ["EXIF_IFD", "Tag", "encode_frame", "encode_jpeg", "pad_jpeg", "read_exif", "thumbnail"]

#: pointer tag of the Exif sub-IFD in IFD0
EXIF_IFD = 0x8769


class Tag:
    """EXIF tag numbers used here (EXIF 2.32, CIPA DC-008)."""

    IMAGE_DESCRIPTION = 0x010E
    MAKE = 0x010F
    MODEL = 0x0110
    SOFTWARE = 0x0131
    DATETIME = 0x0132
    EXPOSURE_TIME = 0x829A
    F_NUMBER = 0x829D
    EXPOSURE_PROGRAM = 0x8822
    ISO_SPEED = 0x8827
    EXIF_VERSION = 0x9000
    DATETIME_ORIGINAL = 0x9003
    DATETIME_DIGITIZED = 0x9004
    EXPOSURE_BIAS = 0x9204
    FOCAL_LENGTH = 0x920A
    USER_COMMENT = 0x9286
    PIXEL_X = 0xA002
    PIXEL_Y = 0xA003
    WHITE_BALANCE = 0xA403


_KEYS = {
    "make",
    "model",
    "software",
    "datetime",
    "iso",
    "exposure_time",
    "f_number",
    "exposure_bias",
    "exposure_program",
    "white_balance",
    "focal_length",
    "description",
    "user_comment",
}


def _fraction(value: Any, *, limit: int = 100000) -> Fraction:
    if isinstance(value, Fraction):
        return value
    if isinstance(value, str):
        text = value.strip().rstrip("s").strip()
        parts = text.split()
        if len(parts) == 2:  # "-1 1/3"
            whole, frac = Fraction(parts[0]), Fraction(parts[1])
            return whole - frac if whole < 0 or parts[0].startswith("-") else whole + frac
        return Fraction(text)
    return Fraction(value).limit_denominator(limit)


def _rational(value: Any) -> TiffImagePlugin.IFDRational:
    f = _fraction(value)
    return TiffImagePlugin.IFDRational(f.numerator, f.denominator)


def _exif_datetime(value: Any) -> str:
    if isinstance(value, _dt.datetime):
        return value.strftime("%Y:%m:%d %H:%M:%S")
    return str(value)


def _build_exif(image: Image.Image, fields: Mapping[str, Any]) -> Image.Exif:
    unknown = set(fields) - _KEYS
    if unknown:
        raise ValueError(f"unknown EXIF keys {sorted(unknown)}; known: {sorted(_KEYS)}")
    exif = Image.Exif()
    ifd = exif.get_ifd(EXIF_IFD)
    ifd[Tag.EXIF_VERSION] = b"0232"
    ifd[Tag.PIXEL_X] = image.width
    ifd[Tag.PIXEL_Y] = image.height
    for key, value in fields.items():
        if value is None:
            continue
        if key == "make":
            exif[Tag.MAKE] = str(value)
        elif key == "model":
            exif[Tag.MODEL] = str(value)
        elif key == "software":
            exif[Tag.SOFTWARE] = str(value)
        elif key == "description":
            exif[Tag.IMAGE_DESCRIPTION] = str(value)
        elif key == "datetime":
            text = _exif_datetime(value)
            exif[Tag.DATETIME] = text
            ifd[Tag.DATETIME_ORIGINAL] = text
            ifd[Tag.DATETIME_DIGITIZED] = text
        elif key == "iso":
            ifd[Tag.ISO_SPEED] = int(value)
        elif key == "exposure_time":
            ifd[Tag.EXPOSURE_TIME] = _rational(value)
        elif key == "f_number":
            ifd[Tag.F_NUMBER] = _rational(Fraction(str(value)) if isinstance(value, float) else value)
        elif key == "exposure_bias":
            ifd[Tag.EXPOSURE_BIAS] = _rational(value)
        elif key == "exposure_program":
            ifd[Tag.EXPOSURE_PROGRAM] = int(value)
        elif key == "white_balance":
            if isinstance(value, str):
                value = 0 if value.strip().lower() in ("auto", "0", "") else 1
            ifd[Tag.WHITE_BALANCE] = int(value)
        elif key == "focal_length":
            ifd[Tag.FOCAL_LENGTH] = _rational(value)
        elif key == "user_comment":
            # EXIF UserComment: 8-byte character code then the text
            ifd[Tag.USER_COMMENT] = b"ASCII\x00\x00\x00" + str(value).encode("ascii", "replace")
    return exif


def encode_jpeg(image: Image.Image, quality: int = 85, exif: Mapping[str, Any] | None = None) -> bytes:
    """Encode ``image`` as a baseline JPEG, with an EXIF block when ``exif`` is given."""
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    out = io.BytesIO()
    kwargs: dict[str, Any] = {"quality": quality, "optimize": True}
    if exif:
        kwargs["exif"] = _build_exif(image, exif).tobytes()
    image.save(out, "JPEG", **kwargs)
    return out.getvalue()


def encode_frame(image: Image.Image, quality: int = 70) -> bytes:
    """Cheap JPEG for a live-view frame: no EXIF, no Huffman optimisation, 4:2:0."""
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, subsampling=2)
    return out.getvalue()


def thumbnail(jpeg_bytes: bytes, size: tuple[int, int] = (160, 120), quality: int = 75) -> bytes:
    """A JFIF thumbnail (no EXIF) that fits in ``size``, keeping the aspect ratio."""
    with Image.open(io.BytesIO(jpeg_bytes)) as im:
        im.draft("RGB", (size[0] * 2, size[1] * 2))  # let libjpeg decode at a reduced scale
        small = im.convert("RGB")
    small.thumbnail(size, Image.Resampling.BILINEAR)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=quality)
    return out.getvalue()


def pad_jpeg(jpeg_bytes: bytes, size: int) -> bytes:
    """``jpeg_bytes`` grown to about ``size`` bytes with APP15 segments.

    The padding goes after the APP0/APP1 segments that follow SOI, so an EXIF block
    stays where readers look for it (right after SOI) and the result is still a valid
    JPEG (decoders skip unknown APPn segments): a big object for benchmarks is a real
    image with its real headers and passes SOI/EOI checks.
    """
    need = size - len(jpeg_bytes)
    if need <= 4:
        return jpeg_bytes
    segments = []
    chunk = 65533  # largest APPn payload: the u16 length counts itself
    filler = bytes(range(256)) * (chunk // 256 + 1)
    while need > 4:
        n = min(chunk, need - 4)
        segments.append(b"\xff\xef" + struct.pack(">H", n + 2) + filler[:n])
        need -= n + 4
    at = _after_leading_app(jpeg_bytes)
    return jpeg_bytes[:at] + b"".join(segments) + jpeg_bytes[at:]


def _after_leading_app(data: bytes) -> int:
    """Offset just past SOI and the APP0/APP1 segments (JFIF, EXIF) that follow it."""
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF and data[pos + 1] in (0xE0, 0xE1):
        pos += 2 + struct.unpack_from(">H", data, pos + 2)[0]
    return min(pos, len(data))


def read_exif(jpeg_bytes: bytes) -> dict[str, Any]:
    """Read back the fields :func:`encode_jpeg` writes (for tests and the store's ObjectInfo).

    Returns the same keys as the input table, with rationals as :class:`fractions.Fraction`.
    """
    with Image.open(io.BytesIO(jpeg_bytes)) as im:
        exif = im.getexif()
    ifd = exif.get_ifd(EXIF_IFD)
    out: dict[str, Any] = {}

    def frac(v: Any) -> Fraction:
        return Fraction(int(v.numerator), int(v.denominator))

    for key, tag, src in (
        ("make", Tag.MAKE, exif),
        ("model", Tag.MODEL, exif),
        ("software", Tag.SOFTWARE, exif),
        ("description", Tag.IMAGE_DESCRIPTION, exif),
        ("datetime", Tag.DATETIME_ORIGINAL, ifd),
    ):
        if tag in src:
            out[key] = str(src[tag]).rstrip("\x00")
    if Tag.ISO_SPEED in ifd:
        out["iso"] = int(ifd[Tag.ISO_SPEED])
    for key, tag in (
        ("exposure_time", Tag.EXPOSURE_TIME),
        ("f_number", Tag.F_NUMBER),
        ("exposure_bias", Tag.EXPOSURE_BIAS),
        ("focal_length", Tag.FOCAL_LENGTH),
    ):
        if tag in ifd:
            out[key] = frac(ifd[tag])
    if Tag.EXPOSURE_PROGRAM in ifd:
        out["exposure_program"] = int(ifd[Tag.EXPOSURE_PROGRAM])
    if Tag.WHITE_BALANCE in ifd:
        out["white_balance"] = int(ifd[Tag.WHITE_BALANCE])
    if Tag.USER_COMMENT in ifd:
        raw = ifd[Tag.USER_COMMENT]
        out["user_comment"] = (
            (raw[8:] if isinstance(raw, bytes) else str(raw)).decode("ascii", "replace")
            if isinstance(raw, bytes)
            else str(raw)
        )
    return out
