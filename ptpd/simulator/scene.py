"""Rendered scenes for the simulated cameras: stills, previews and live-view frames.

A scene is a plausible outdoor photograph drawn with Pillow: a sky gradient with a sun
and clouds, hills, a house, trees, a path, and a fixed film-grain noise so JPEG sizes
are those of real pictures (640x480 ~ 10-40 KB, 1024x768 ~ 30-70 KB at quality 80).
The static part is rendered once per size and cached; what changes is drawn on a copy.

Subjects (what a vision trigger looks for):

* ``"none"`` - the still scene. Nothing moves; frames at any two times are identical
  apart from the optional caption, so a motion detector must stay quiet.
* ``"object"`` - a red ball crossing the frame left to right, once per ``period``
  seconds (:func:`object_position` says where it is at time ``t``).
* ``"face"`` - a face-like test image (head, brows, eyes, nose, mouth, softened) that
  OpenCV's bundled ``haarcascade_frontalface_default.xml`` detects.

:class:`SceneSchedule` decides which subject is shown at scene time ``t`` (on demand or
from a spec such as ``"none,object@3"`` = still scene, the object from t = 3 s).

A lens focused at a distance (:func:`defocus`) blurs what is nearer or farther: the
ground comes closer towards the bottom edge, the horizon and sky are far, so a focus
stack goes from a sharp foreground to a sharp horizon.

The exposure settings in force change the look a little (exposure bias brightens or
darkens, film simulations change colour), so a capture visibly reflects them; and the
settings plus a timestamp can be printed on the image.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

__all__ = [
    "SUBJECTS",
    "Look",
    "SceneSchedule",
    "Segment",
    "Subject",
    "defocus",
    "face_box",
    "look_from_settings",
    "object_position",
    "render",
    "row_distance",
]

Subject = Literal["none", "object", "face"]
#: every subject name :func:`render` accepts
SUBJECTS: tuple[str, ...] = ("none", "object", "face")

#: seconds the ball takes to cross the frame
DEFAULT_PERIOD = 4.0


# --------------------------------------------------------------------------- looks


@dataclass(frozen=True, slots=True)
class Look:
    """How the settings in force change the picture (hashable, so renders cache by it)."""

    brightness: float = 1.0  #: multiplier, from exposure bias
    saturation: float = 1.0  #: colour saturation multiplier, from the film simulation
    mono: bool = False  #: monochrome film simulations
    sepia: bool = False
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)  #: per-channel gain (white balance)


_FRACTION = re.compile(r"^\s*([+-])?\s*(\d+)?(?:\s*(\d+)/(\d+))?\s*(?:ev)?\s*$", re.I)


def _parse_ev(text: str) -> float | None:
    """``"-1 1/3"`` / ``"2/3"`` / ``"+1"`` / ``"-333"`` (1/1000 EV) -> EV as a float."""
    text = str(text).strip()
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        # raw property values are thousandths of an EV (PTP 0x5010)
        return value / 1000.0 if abs(value) > 10 else value
    m = _FRACTION.match(text)
    if not m or (m.group(2) is None and m.group(3) is None):
        return None
    ev = float(m.group(2) or 0)
    if m.group(3):
        ev += int(m.group(3)) / int(m.group(4))
    return -ev if m.group(1) == "-" else ev


def _first(settings: Mapping[str, str], *keys: str) -> str | None:
    lowered = {k.lower(): v for k, v in settings.items()}
    for key in keys:
        if key in lowered:
            return str(lowered[key])
    return None


def look_from_settings(settings: Mapping[str, str] | None) -> Look:
    """Derive a :class:`Look` from human-readable settings (unknown keys are ignored)."""
    if not settings:
        return Look()
    brightness = 1.0
    bias = _first(settings, "exp-bias", "exposure_bias", "expbias", "exposurecompensation")
    if bias is not None:
        ev = _parse_ev(bias)
        if ev is not None:
            # half-strength so +3 EV is bright, not blown white
            brightness = 2.0 ** (max(-3.0, min(3.0, ev)) * 0.5)
    saturation, mono, sepia = 1.0, False, False
    effect = (_first(settings, "effect", "film-simulation", "film_simulation", "filmsim") or "").lower()
    if effect:
        if "sepia" in effect:
            sepia = True
        elif "mono" in effect or "acros" in effect or "b&w" in effect or "black" in effect:
            mono = True
        elif "velvia" in effect:
            saturation = 1.45
        elif "astia" in effect:
            saturation = 1.1
        elif "classic" in effect or "eterna" in effect:
            saturation = 0.7
        elif "neg" in effect:
            saturation = 0.85
    tint = (1.0, 1.0, 1.0)
    wb = (_first(settings, "whitebalance", "white_balance", "wb") or "").lower()
    if "incandescent" in wb or "tungsten" in wb:
        tint = (0.85, 0.95, 1.2)
    elif "shade" in wb or "cloud" in wb:
        tint = (1.12, 1.02, 0.88)
    elif "fluorescent" in wb:
        tint = (0.95, 1.05, 1.0)
    return Look(brightness, saturation, mono, sepia, tint)


# --------------------------------------------------------------------- the static scene


def _gradient(h: int, w: int, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> np.ndarray:
    f = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    a = np.array(top, np.float32)[None, None, :]
    b = np.array(bottom, np.float32)[None, None, :]
    return np.broadcast_to(a + (b - a) * f, (h, w, 3))


@lru_cache(maxsize=16)
def _base(width: int, height: int, seed: int) -> Image.Image:
    """The still scene without subject or caption (cached; treat as read-only)."""
    rng = np.random.default_rng(seed)
    w, h = width, height
    horizon = int(h * 0.55)
    arr = np.empty((h, w, 3), np.float32)
    arr[:horizon] = _gradient(horizon, w, (70, 120, 200), (185, 210, 235))
    arr[horizon:] = _gradient(h - horizon, w, (95, 140, 60), (60, 90, 35))
    img = Image.fromarray(arr.clip(0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    s = h / 480.0  # scale every shape with the frame

    # sun and soft clouds
    d.ellipse([w * 0.78, h * 0.08, w * 0.78 + 50 * s, h * 0.08 + 50 * s], fill=(255, 244, 200))
    clouds = Image.new("L", (w, h), 0)
    cd = ImageDraw.Draw(clouds)
    for _ in range(5):
        cx, cy = rng.uniform(0, w), rng.uniform(h * 0.05, h * 0.3)
        for _ in range(4):
            rx, ry = rng.uniform(30, 70) * s, rng.uniform(12, 25) * s
            ox, oy = rng.uniform(-40, 40) * s, rng.uniform(-8, 8) * s
            cd.ellipse([cx + ox - rx, cy + oy - ry, cx + ox + rx, cy + oy + ry], fill=200)
    clouds = clouds.filter(ImageFilter.GaussianBlur(6 * s))
    img.paste(Image.new("RGB", (w, h), (248, 248, 252)), (0, 0), clouds)

    # two ranges of hills
    for base, amp, colour, phase in ((0.50, 0.08, (110, 135, 150), 0.3), (0.56, 0.05, (80, 125, 70), 1.7)):
        pts: list[tuple[float, float]] = [(0, h)]
        for px in range(0, w + 8, 8):
            py = h * base - h * amp * (0.6 * math.sin(px / w * 5 + phase) + 0.4 * math.sin(px / w * 13 + 2 * phase))
            pts.append((px, py))
        pts.append((w, h))
        d.polygon(pts, fill=colour)

    # a path towards the horizon
    d.polygon(
        [(w * 0.46, horizon + 6 * s), (w * 0.50, horizon + 6 * s), (w * 0.62, h), (w * 0.36, h)], fill=(170, 150, 115)
    )
    # a house
    hx, hy, hw, hh = w * 0.12, h * 0.52, 110 * s, 70 * s
    d.rectangle([hx, hy, hx + hw, hy + hh], fill=(210, 200, 180), outline=(90, 80, 70))
    d.polygon([(hx - 8 * s, hy), (hx + hw / 2, hy - 45 * s), (hx + hw + 8 * s, hy)], fill=(150, 60, 45))
    d.rectangle([hx + 45 * s, hy + 30 * s, hx + 65 * s, hy + hh], fill=(100, 70, 50))
    for wx in (hx + 12 * s, hx + 78 * s):
        d.rectangle([wx, hy + 15 * s, wx + 20 * s, hy + 32 * s], fill=(120, 160, 200), outline=(60, 60, 60))
    # trees
    for tx, scale in ((0.72, 1.0), (0.83, 0.8), (0.92, 1.15), (0.05, 0.7)):
        x0, y0 = w * tx, h * 0.60
        d.rectangle([x0 - 5 * s * scale, y0, x0 + 5 * s * scale, y0 + 40 * s * scale], fill=(90, 60, 35))
        for k in range(3):
            r = (34 - 7 * k) * s * scale
            cy = y0 - (10 + 22 * k) * s * scale
            d.ellipse([x0 - r, cy - r, x0 + r, cy + r], fill=(40 + 12 * k, 95 + 10 * k, 40))
    # flowers/stones on the ground for texture
    for _ in range(int(60 * s * s)):
        x, y = rng.uniform(0, w), rng.uniform(horizon + 15 * s, h)
        r = rng.uniform(1.5, 3.5) * s
        c = tuple(int(v) for v in rng.choice([(230, 220, 90), (240, 240, 240), (200, 90, 90), (120, 110, 100)]))
        d.ellipse([x - r, y - r, x + r, y + r], fill=c)

    img = img.filter(ImageFilter.GaussianBlur(0.6))
    # film grain: fixed per seed, so the still scene stays still frame to frame
    grain = rng.normal(0.0, 2.5, (h, w, 1)).astype(np.float32)
    arr = np.asarray(img, np.float32) + grain
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8), "RGB")


def _apply_look(img: Image.Image, look: Look) -> Image.Image:
    if look == Look():
        return img
    if look.tint != (1.0, 1.0, 1.0) or look.brightness != 1.0:
        gain = np.array(look.tint, np.float32) * look.brightness
        img = Image.fromarray((np.asarray(img, np.float32) * gain).clip(0, 255).astype(np.uint8), "RGB")
    if look.mono or look.sepia:
        grey = img.convert("L")
        if look.sepia:
            img = Image.merge(
                "RGB",
                (
                    grey.point(lambda v: min(255, int(v * 1.07 + 20))),
                    grey.point(lambda v: int(v * 0.95 + 8)),
                    grey.point(lambda v: int(v * 0.75)),
                ),
            )
        else:
            img = grey.convert("RGB")
    elif look.saturation != 1.0:
        img = ImageEnhance.Color(img).enhance(look.saturation)
    return img


@lru_cache(maxsize=32)
def _background(width: int, height: int, seed: int, look: Look) -> Image.Image:
    return _apply_look(_base(width, height, seed), look)


# ------------------------------------------------------------------------- subjects


def object_position(width: int, height: int, t: float, period: float = DEFAULT_PERIOD) -> tuple[int, int, int]:
    """Centre x, centre y and radius of the ball at scene time ``t``.

    The ball enters at the left edge at ``t = k * period`` and leaves at the right.
    """
    r = max(6, int(height * 0.09))
    phase = (t % period) / period
    x = int(-r + phase * (width + 2 * r))
    y = int(height * 0.62 + height * 0.08 * math.sin(phase * 2 * math.pi))
    return x, y, r


def face_box(width: int, height: int) -> tuple[int, int, int, int]:
    """Where the face is drawn: left, top, width, height (it does not move)."""
    fw = max(40, int(height * 0.38))
    fh = int(fw * 1.3)
    return int(width * 0.5 - fw / 2), int(height * 0.5 - fh / 2), fw, fh


@lru_cache(maxsize=8)
def _face_sprite(fw: int, fh: int) -> tuple[Image.Image, Image.Image]:
    """An RGB face and its alpha mask. Proportions follow the Haar cascade's training
    faces: a light oval, a dark band of brows and eyes, a light nose bridge, a dark mouth."""
    W, H = fw, fh
    lum = Image.new("L", (W, H), 0)
    mask = Image.new("L", (W, H), 0)
    d = ImageDraw.Draw(lum)
    ImageDraw.Draw(mask).ellipse([0.08 * W, 0.03 * H, 0.92 * W, 0.97 * H], fill=255)
    d.ellipse([0.1 * W, 0.05 * H, 0.9 * W, 0.95 * H], fill=200)
    d.rectangle([0.22 * W, 0.33 * H, 0.44 * W, 0.37 * H], fill=60)
    d.rectangle([0.56 * W, 0.33 * H, 0.78 * W, 0.37 * H], fill=60)
    d.ellipse([0.24 * W, 0.40 * H, 0.42 * W, 0.47 * H], fill=40)
    d.ellipse([0.58 * W, 0.40 * H, 0.76 * W, 0.47 * H], fill=40)
    d.polygon([(0.5 * W, 0.45 * H), (0.44 * W, 0.62 * H), (0.56 * W, 0.62 * H)], fill=170)
    d.ellipse([0.35 * W, 0.70 * H, 0.65 * W, 0.77 * H], fill=70)
    lum = lum.filter(ImageFilter.GaussianBlur(max(1.0, W / 40)))
    mask = mask.filter(ImageFilter.GaussianBlur(max(1.0, W / 60)))
    # skin tone from the grey levels (keeps the luminance pattern the cascade needs)
    a = np.asarray(lum, np.float32)[..., None] * np.array([1.08, 0.92, 0.78], np.float32)
    rgb = Image.fromarray(a.clip(0, 255).astype(np.uint8), "RGB")
    return rgb, mask


def _draw_subject(img: Image.Image, subject: str, t: float, period: float) -> None:
    w, h = img.size
    if subject == "object":
        x, y, r = object_position(w, h, t, period)
        d = ImageDraw.Draw(img)
        d.ellipse([x - r + 3, y + r - 4, x + r + 3, y + r + 4], fill=(40, 60, 30))  # shadow
        d.ellipse([x - r, y - r, x + r, y + r], fill=(220, 40, 35), outline=(120, 20, 15))
        d.ellipse([x - r * 0.5, y - r * 0.6, x - r * 0.1, y - r * 0.2], fill=(250, 150, 140))
    elif subject == "face":
        left, top, fw, fh = face_box(w, h)
        rgb, mask = _face_sprite(fw, fh)
        img.paste(rgb, (left, top), mask)
    elif subject != "none":
        raise ValueError(f"unknown subject {subject!r}; expected one of {', '.join(SUBJECTS)}")


# -------------------------------------------------------------------------- captions


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType
        return ImageFont.load_default()


def _caption(img: Image.Image, lines: list[str], corner: str) -> None:
    w, h = img.size
    font = _font(max(9, h // 40))
    d = ImageDraw.Draw(img)
    pad = max(2, h // 120)
    boxes = [d.textbbox((0, 0), line, font=font) for line in lines]
    lh = max(b[3] - b[1] for b in boxes) + pad
    tw = max(b[2] - b[0] for b in boxes)
    x = pad * 2 if corner.endswith("left") else w - tw - pad * 4
    y = pad * 2 if corner.startswith("top") else h - lh * len(lines) - pad * 3
    d.rectangle([x - pad, y - pad, x + tw + pad, y + lh * len(lines)], fill=(0, 0, 0))
    for i, line in enumerate(lines):
        d.text((x, y + i * lh), line, font=font, fill=(255, 255, 255))


# -------------------------------------------------------------------------- focus

#: the ground at the bottom edge of the frame is this close to the camera (metres)
NEAREST_M = 0.3
#: blur (Gaussian sigma, px at 480 rows) per dioptre of focus error beyond the depth of
#: field: wide open, a long lens
BLUR_PER_DIOPTRE = 1.2
#: focus error (dioptres) still rendered sharp: the depth of field
DEPTH_OF_FIELD = 0.15
#: blur levels drawn (sigma, px at 480 rows): each row takes the nearest, so a frame costs
#: a few blurs, not one per row
_BLUR_LEVELS = (0.0, 0.6, 1.2, 2.0, 3.0, 4.5, 6.5)


def row_distance(height: int, y: int) -> float:
    """How far (metres) the scene is at row ``y``: the sky, hills and everything above
    the horizon are far (infinity); below it the ground comes closer row by row, as seen
    from a camera held level (distance inversely proportional to the rows below the
    horizon), to :data:`NEAREST_M` at the bottom edge."""
    horizon = int(height * 0.55)
    below = y - horizon
    if below <= 0:
        return math.inf
    return NEAREST_M * (height - horizon) / below


def defocus(img: Image.Image, focus: float) -> Image.Image:
    """``img`` as a lens focused at ``focus`` metres renders it: each row blurred in
    proportion to how far its distance (:func:`row_distance`) is from the focus, in
    dioptres (1/m), the way depth of field works. Focused near, the ground at the bottom
    is sharp and the horizon soft; focused far, the other way round."""
    w, h = img.size
    f = 0.0 if math.isinf(focus) or focus <= 0 else 1.0 / focus
    scale = h / 480.0
    levels: dict[int, list[int]] = {}
    for y in range(h):
        d = row_distance(h, y)
        error = abs((0.0 if math.isinf(d) else 1.0 / d) - f)
        sigma = BLUR_PER_DIOPTRE * max(0.0, error - DEPTH_OF_FIELD)
        level = min(range(len(_BLUR_LEVELS)), key=lambda i: abs(_BLUR_LEVELS[i] - sigma))
        levels.setdefault(level, []).append(y)
    if set(levels) == {0}:
        return img
    out = np.asarray(img).copy()
    for level, rows in levels.items():
        if level == 0:
            continue
        blurred = np.asarray(img.filter(ImageFilter.GaussianBlur(_BLUR_LEVELS[level] * scale)))
        out[rows] = blurred[rows]
    return Image.fromarray(out, "RGB")


# -------------------------------------------------------------------------- render


def render(
    width: int,
    height: int,
    t: float,
    settings: Mapping[str, str] | None = None,
    *,
    subject: str = "none",
    seed: int = 0,
    timestamp: str | None = None,
    caption: bool = True,
    period: float = DEFAULT_PERIOD,
    focus: float | None = None,
) -> Image.Image:
    """Render the scene at scene time ``t`` (seconds) as a new RGB image.

    ``settings`` are the camera settings in force as human labels (``{"iso": "800",
    "exp-bias": "-1/3", "effect": "Velvia"}``); they change the look (see
    :func:`look_from_settings`) and, with ``caption``, are printed top left. The
    ``timestamp`` text (default ``t=…s``) is printed bottom right; pass ``""`` to omit it.
    ``subject`` is ``"none"``, ``"object"`` or ``"face"`` (module docstring).
    ``focus`` is the distance the lens is focused at, in metres (``math.inf``: infinity);
    ``None`` renders everything sharp, as autofocus with a deep field would (see
    :func:`defocus`).
    """
    if width < 16 or height < 16:
        raise ValueError(f"scene too small: {width}x{height}")
    img = _background(width, height, seed, look_from_settings(settings)).copy()
    _draw_subject(img, subject, t, period)
    if focus is not None:
        img = defocus(img, focus)
    if caption:
        if settings:
            items = [f"{k} {v}" for k, v in settings.items()]
            # a few items per line keeps the caption narrow on QVGA frames
            lines = [", ".join(items[i : i + 3]) for i in range(0, len(items), 3)]
            _caption(img, lines, "top-left")
        stamp = f"t={t:.2f}s" if timestamp is None else timestamp
        if stamp:
            _caption(img, [stamp], "bottom-right")
    return img


# ------------------------------------------------------------------------- schedule


@dataclass(frozen=True, slots=True)
class Segment:
    """``subject`` is shown for ``start <= t < end`` (``end`` None = for ever)."""

    start: float
    end: float | None
    subject: str

    def covers(self, t: float) -> bool:
        return t >= self.start and (self.end is None or t < self.end)


_SEGMENT = re.compile(r"^(none|object|face)(?:@(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?)?)?)?$")


class SceneSchedule:
    """Which subject the scene shows at scene time ``t``.

    Later segments win over earlier ones; outside every segment ``default`` is shown.
    Spec strings (CLI ``--subject``): comma-separated items ``SUBJECT[@START[-[END]]]``:

    * ``"object"`` - always the moving object;
    * ``"none,object@3"`` - still scene, the object from t = 3 s on;
    * ``"face@2-5,object@8-12"`` - a face from 2 to 5 s, the object from 8 to 12 s.

    :meth:`show` changes it at run time (thread-safe), e.g. a test making the object
    appear "now".
    """

    def __init__(self, default: str = "none", segments: tuple[Segment, ...] | list[Segment] = ()) -> None:
        if default not in SUBJECTS:
            raise ValueError(f"unknown subject {default!r}; expected one of {', '.join(SUBJECTS)}")
        self.default = default
        self._segments: list[Segment] = list(segments)
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, spec: str | SceneSchedule | None) -> SceneSchedule:
        """Build a schedule from a spec string (see the class docstring)."""
        if isinstance(spec, SceneSchedule):
            return spec
        if spec is None or not spec.strip():
            return cls()
        default = "none"
        segments: list[Segment] = []
        for item in (part.strip().lower() for part in spec.split(",")):
            m = _SEGMENT.match(item)
            if not m:
                raise ValueError(
                    f"bad subject item {item!r}: expected SUBJECT[@START[-END]] with SUBJECT one of "
                    f"{', '.join(SUBJECTS)}"
                )
            subject, start, end = m.group(1), m.group(2), m.group(3)
            if start is None:
                default = subject
            else:
                segments.append(Segment(float(start), float(end) if end else None, subject))
        return cls(default, segments)

    def subject_at(self, t: float) -> str:
        """The subject shown at scene time ``t``."""
        with self._lock:
            for seg in reversed(self._segments):
                if seg.covers(t):
                    return seg.subject
        return self.default

    def show(self, subject: str, start: float, end: float | None = None) -> None:
        """Show ``subject`` from ``start`` (until ``end``), over anything scheduled before."""
        if subject not in SUBJECTS:
            raise ValueError(f"unknown subject {subject!r}; expected one of {', '.join(SUBJECTS)}")
        with self._lock:
            self._segments.append(Segment(start, end, subject))

    @property
    def segments(self) -> tuple[Segment, ...]:
        with self._lock:
            return tuple(self._segments)

    def is_static(self) -> bool:
        """True when nothing ever moves (only the still scene or a face)."""
        with self._lock:
            return self.default != "object" and all(s.subject != "object" for s in self._segments)

    def __repr__(self) -> str:
        return f"SceneSchedule(default={self.default!r}, segments={self.segments!r})"
