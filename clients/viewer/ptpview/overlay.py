"""The viewfinder overlay: camera settings drawn on live-view frames, X-T1 style.

Modelled on the ptp-ip tool's viewfinder (ptp-ip-tool.md §11): a top row with self-timer,
white balance, film simulation, focus mode / metering, flash, shots remaining and image
quality/size; a bottom row with exposure program badge, shutter speed, aperture, the
exposure-bias scale, ISO and battery; and a focus-point marker. Its bugs are not copied:
the A/S badges are the right way round, the battery is drawn red only when low (and
reset every frame), and an unknown value draws its label instead of crashing.

Text widgets show the daemon's labels. Whatever is drawn to a scale or placed (the bias
pointer, the battery bars, the focus point, the program badge, the auto-ISO badge) comes
from a number of the state entry, never from its label: the entry is found by its
vendor-neutral name (``exp-bias``, ``exposure-program``, ...), and its number is the
``standard`` the camera layer gives a vendor's property (Canon's exposure compensation as
0x5010's 1/1000 EV), or its raw ``value`` when the property is the standard one (or the
vendor's that the widget knows, such as Fuji's ISO flag). The battery's scale comes from
its description (:meth:`ViewState.set_range`).

:class:`ViewState` holds the camera state (fed from the ``snapshot`` and ``state.*``
events, never polled) and the jobs running in the daemon (``job.<id>`` events: a line
under the top row, e.g. ``● TL 3  12/360  next 10:42:07``); :func:`draw` renders it on a
BGR frame; :func:`widget_boxes` says where each widget goes, so tests can compare overlay
pixels with the bare frame.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np

WHITE = (255, 255, 255)
GREY = (100, 100, 100)
BLACK = (0, 0, 0)
YELLOW = (10, 185, 255)  #: BGR of the tool's (255, 185, 10) bias pointer
RED = (40, 40, 230)
GREEN = (80, 200, 80)

FONT = cv2.FONT_HERSHEY_SIMPLEX

#: widget -> (property names, property codes) it is drawn from, first match wins
SOURCES: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "delay": (("delay", "self-timer"), (0x5012,)),
    "whitebalance": (("whitebalance", "white-balance"), (0x5005,)),
    "film": (("effect", "film-simulation"), (0xD001, 0x5017)),
    "focus": (("focus-mode", "focusmode"), (0x500A,)),
    "metering": (("exposure-metering-mode", "metering", "metering-mode"), (0x500B,)),
    "flash": (("flashmode", "flash-mode"), (0x500C,)),
    "remaining": (("captures-remaining", "remaining"), (0xD229,)),
    "quality": (("image-quality", "quality"), (0xD018,)),
    "size": (("image-size", "size"), (0xD241,)),
    "program": (("exposure-program", "program"), (0x500E,)),
    "shutter": (("shutter-speed", "exposure"), (0xD240, 0x500D)),
    "aperture": (("f-number", "aperture"), (0x5007,)),
    "bias": (("exp-bias", "exposure-bias"), (0x5010,)),
    "iso": (("iso",), (0xD02A, 0x500F)),
    "battery": (("battery", "battery-fuji"), (0x5001, 0xD242)),
    "focuspoint": (("focusmtr", "focus-point"), (0xD17C, 0x501C)),
}

#: the codes whose raw values the overlay reads (ISO 15740 §13.5 unless noted)
EXPOSURE_PROGRAM = 0x500E  #: ExposureProgramMode, UINT16 enumeration
EXPOSURE_BIAS = 0x5010  #: ExposureBiasCompensation, INT16 in 1/1000 EV
FUJI_ISO = 0xD02A  #: Fuji ExposureIndex: flag 0x80000000 = auto up to the low 16 bits (fuji-ptpip.md §6)
FUJI_FOCUS_POINT = 0xD17C  #: Fuji FocusPoint: X in bits 8-15, Y in bits 0-7 (fuji-ptpip.md §6)

#: ExposureProgramMode value -> badge (1 manual, 2 automatic, 3 aperture priority, 4 shutter priority)
PROGRAM_BADGES = {1: "M", 2: "P", 3: "A", 4: "S"}

#: film simulation label -> the short badge the camera shows
FILM_BADGES = {
    "provia": "STD",
    "standard": "STD",
    "velvia": "V",
    "vivid": "V",
    "astia": "S",
    "soft": "S",
    "monochrome": "B",
    "sepia": "SEPIA",
    "pro neg. hi": "Nh",
    "pro neg. std": "Ns",
    "monochrome + ye filter": "Ye",
    "monochrome + r filter": "R",
    "monochrome + g filter": "G",
    "classic chrome": "CC",
    "acros": "ACR",
    "acros ye": "ACR Ye",
    "acros r": "ACR R",
    "acros g": "ACR G",
    "eterna": "ET",
    "classic neg.": "NC",
}

#: job kind -> the short name the overlay shows
JOB_BADGES = {"timelapse": "TL", "bracket": "BKT", "focus-stack": "STACK", "tether": "TETHER"}

#: white balance label -> badge ("auto" shows nothing, as on the camera)
WB_BADGES = {
    "daylight": "SUN",
    "fine": "SUN",
    "shade": "SHADE",
    "fluorescent 1": "FL1",
    "fluorescent 2": "FL2",
    "fluorescent 3": "FL3",
    "incandescent": "BULB",
    "tungsten": "BULB",
    "underwater": "UW",
    "custom": "CUST",
    "temperature": "K",
    "manual": "MAN",
    "flash": "FLASH",
}


class ViewState:
    """The camera state the overlay draws, keyed by property name; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._props: dict[str, dict[str, Any]] = {}
        self._ranges: dict[int, tuple[int, int]] = {}
        self._jobs: dict[int, dict[str, Any]] = {}
        self.version = 0  #: bumped on every change

    def set_range(self, code: int, lowest: int, highest: int) -> None:
        """The values property ``code`` goes from and to (from its description): what a
        level such as the battery's is drawn against."""
        with self._lock:
            self._ranges[code] = (lowest, highest)
            self.version += 1

    def range_of(self, code: Any) -> tuple[int, int] | None:
        with self._lock:
            return self._ranges.get(code)

    def update(self, name: str, prop: Mapping[str, Any] | Any) -> None:
        """Set one property from a ``{code, name, value, label}`` map or a PropValue."""
        if not isinstance(prop, Mapping):
            prop = {
                "code": getattr(prop, "code", None),
                "name": getattr(prop, "name", name),
                "value": getattr(prop, "value", None),
                "label": getattr(prop, "label", ""),
                "standard": (getattr(prop, "raw", None) or {}).get("standard"),
            }
        with self._lock:
            self._props[name or str(prop.get("name"))] = dict(prop)
            self.version += 1

    def replace(self, props: Mapping[str, Any]) -> None:
        """Start over from a snapshot's ``state`` (name -> property)."""
        with self._lock:
            self._props.clear()
        for name, p in props.items():
            self.update(name, p)

    def apply_event(self, topic: str, data: Mapping[str, Any]) -> bool:
        """Apply a ``state.<name>`` or ``job.<id>`` event; True if it was one."""
        if topic.startswith("job."):
            self.update_job(data)
            return True
        if not topic.startswith("state."):
            return False
        self.update(str(data.get("name") or topic[len("state.") :]), data)
        return True

    def update_job(self, job: Mapping[str, Any] | Any) -> None:
        """A job's summary (a ``job.<id>`` event's data, or a client ``Job``): shown while
        it runs, gone when it ended."""
        if not isinstance(job, Mapping):
            job = job.to_dict()
        job_id = job.get("id")
        if not isinstance(job_id, int):
            return
        with self._lock:
            if job.get("state") == "running":
                self._jobs[job_id] = dict(job)
            else:
                self._jobs.pop(job_id, None)
            self.version += 1

    def jobs(self) -> list[dict[str, Any]]:
        """The running jobs, oldest first."""
        with self._lock:
            return [self._jobs[k] for k in sorted(self._jobs)]

    def find(self, widget: str) -> dict[str, Any] | None:
        """The property a widget is drawn from, by name first, then by code."""
        names, codes = SOURCES[widget]
        with self._lock:
            for n in names:
                if n in self._props:
                    return self._props[n]
            for p in self._props.values():
                if p.get("code") in codes:
                    return p
        return None

    def number(self, widget: str, code: int) -> int | None:
        """The number a widget is drawn from, as property ``code`` carries it: the entry's
        ``standard`` (a vendor's property with the meaning of standard ``code``), else its
        raw value when the entry is ``code`` itself (a raw value's meaning belongs to its
        code, not to the name)."""
        p = self.find(widget)
        if p is None:
            return None
        value = p.get("standard")
        if value is None:
            if p.get("code") != code:
                return None
            value = p.get("value")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def level(self, widget: str) -> float | None:
        """A widget's value as a fraction of its property's range (0 empty, 1 full), or
        None without a numeric value or a known range."""
        p = self.find(widget)
        if p is None:
            return None
        value, span = p.get("value"), self.range_of(p.get("code"))
        if span is None or not isinstance(value, int) or span[1] <= span[0]:
            return None
        return min(1.0, max(0.0, (value - span[0]) / (span[1] - span[0])))

    def label(self, widget: str) -> str | None:
        p = self.find(widget)
        if p is None:
            return None
        label = p.get("label")
        return str(label) if label not in (None, "") else str(p.get("value"))

    def __len__(self) -> int:
        with self._lock:
            return len(self._props)


# -- layout ---------------------------------------------------------------------------------


def _scale(w: int) -> float:
    return max(0.5, w / 640.0)


def widget_boxes(w: int, h: int) -> dict[str, tuple[int, int, int, int]]:
    """Where each widget is drawn on a ``w`` x ``h`` frame: ``(x0, y0, x1, y1)``.

    Text rows sit 6-26 px (scaled) from the top and bottom edges; the focus point is
    handled separately (it moves).
    """
    s = _scale(w)
    top0, top1 = int(4 * s), int(28 * s)
    bot0, bot1 = h - int(30 * s), h - int(4 * s)

    def col(a: float, b: float, row: str) -> tuple[int, int, int, int]:
        y0, y1 = (top0, top1) if row == "top" else (bot0, bot1)
        return int(a * w), y0, int(b * w), y1

    return {
        "delay": col(0.02, 0.12, "top"),
        "whitebalance": col(0.13, 0.25, "top"),
        "film": col(0.26, 0.38, "top"),
        "focus": col(0.39, 0.50, "top"),
        "metering": col(0.51, 0.60, "top"),
        "flash": col(0.61, 0.72, "top"),
        "remaining": col(0.73, 0.83, "top"),
        "quality": col(0.84, 0.91, "top"),
        "size": col(0.92, 0.99, "top"),
        "program": col(0.02, 0.08, "bottom"),
        "shutter": col(0.09, 0.22, "bottom"),
        "aperture": col(0.23, 0.32, "bottom"),
        "bias": col(0.33, 0.67, "bottom"),
        "iso": col(0.68, 0.86, "bottom"),
        "battery": col(0.88, 0.98, "bottom"),
        # the running jobs: a line under the top row
        "job": (int(0.02 * w), top1 + int(2 * s), int(0.70 * w), top1 + int(26 * s)),
    }


# -- drawing --------------------------------------------------------------------------------


def _text(
    img: np.ndarray,
    text: str,
    x: int,
    y: int,
    s: float,
    color: tuple[int, int, int] = WHITE,
    scale: float = 0.45,
    max_w: int | None = None,
) -> int:
    """Outlined text with its baseline at y; returns its width. Shrinks to fit ``max_w``."""
    fs = scale * s
    th = max(1, int(round(s)))
    (tw, _), _ = cv2.getTextSize(text, FONT, fs, th)
    if max_w and tw > max_w:
        fs *= max_w / tw
        (tw, _), _ = cv2.getTextSize(text, FONT, fs, th)
    cv2.putText(img, text, (x, y), FONT, fs, BLACK, th + 2, cv2.LINE_AA)
    cv2.putText(img, text, (x, y), FONT, fs, color, th, cv2.LINE_AA)
    return tw


def _badge(
    img: np.ndarray,
    text: str,
    box: tuple[int, int, int, int],
    s: float,
    inverted: bool = False,
    color: tuple[int, int, int] = WHITE,
) -> None:
    x0, y0, x1, y1 = box
    fs = 0.45 * s
    th = max(1, int(round(s)))
    (tw, tht), _ = cv2.getTextSize(text, FONT, fs, th)
    bw = min(x1 - x0, tw + int(8 * s))
    bx1 = x0 + bw
    if inverted:
        cv2.rectangle(img, (x0, y0 + int(3 * s)), (bx1, y1 - int(3 * s)), color, -1)
        cv2.putText(img, text, (x0 + int(4 * s), (y0 + y1 + tht) // 2), FONT, fs, BLACK, th, cv2.LINE_AA)
    else:
        cv2.rectangle(img, (x0, y0 + int(3 * s)), (bx1, y1 - int(3 * s)), BLACK, th + 2)
        cv2.rectangle(img, (x0, y0 + int(3 * s)), (bx1, y1 - int(3 * s)), color, th)
        _text(img, text, x0 + int(4 * s), (y0 + y1 + tht) // 2, s, color, max_w=bw - int(6 * s))


def program_letter(value: int | None, label: str) -> str:
    """M / P / A / S from the ExposureProgramMode value (A = aperture priority, S =
    shutter); other programs show the start of their label."""
    if value in PROGRAM_BADGES:
        return PROGRAM_BADGES[value]
    return label[:3].upper() or "?"


def bias_ev(value: int | None) -> float | None:
    """An ExposureBiasCompensation value in EV: -333 -> -0.333, 1667 -> 1.667; an INT16
    carried in a wider unsigned slot (0xFEB3, 0xFFFFFEB3) reads as its signed self."""
    if value is None:
        return None
    if value > 0x7FFF:
        value &= 0xFFFF
        if value > 0x7FFF:
            value -= 0x10000
    return value / 1000


def _bias_scale(img: np.ndarray, box: tuple[int, int, int, int], s: float, bias: float | None) -> None:
    x0, y0, x1, y1 = box
    mid_y = (y0 + y1) // 2
    left, right = x0 + int(30 * s), x1 - int(10 * s)
    span = right - left
    active = bias is not None and abs(bias) > 1e-6
    base = WHITE if active else GREY
    _text(img, "+/-", x0, mid_y + int(2 * s), s, base, 0.35)
    for i in range(19):  # -3 .. +3 EV in thirds
        x = left + span * i // 18
        stop = (i - 9) / 3
        if i % 3 == 0:
            cv2.line(img, (x, mid_y - int(5 * s)), (x, mid_y + int(2 * s)), base, max(1, int(s)))
            if stop in (-3, 0, 3):
                _text(img, f"{int(stop):+d}" if stop else "0", x - int(5 * s), y1, s, base, 0.3)
        else:
            cv2.circle(img, (x, mid_y - int(1 * s)), max(1, int(s)), base, -1)
    if bias is None:
        return
    b = max(-3.0, min(3.0, bias))
    px = left + int(round(span * (b + 3) / 6))
    color = YELLOW if active else WHITE
    pts = np.array(
        [[px, mid_y - int(6 * s)], [px - int(5 * s), mid_y - int(13 * s)], [px + int(5 * s), mid_y - int(13 * s)]],
        np.int32,
    )
    cv2.fillPoly(img, [pts], color)


def _battery(img: np.ndarray, box: tuple[int, int, int, int], s: float, level: float | None, label: str) -> None:
    x0, y0, x1, y1 = box
    if level is None:  # no scale to draw it against: say what the camera said
        _text(img, label, x0, y1 - int(8 * s), s, WHITE, 0.35, max_w=x1 - x0)
        return
    bars = round(3 * level)
    color = RED if bars <= 1 else WHITE  # red for low only, recomputed every frame
    bx0, by0, bx1, by1 = x0, y0 + int(6 * s), x0 + int(36 * s), y1 - int(6 * s)
    cv2.rectangle(img, (bx0, by0), (bx1, by1), BLACK, max(1, int(s)) + 2)
    cv2.rectangle(img, (bx0, by0), (bx1, by1), color, max(1, int(s)))
    cv2.rectangle(
        img, (bx1, (by0 + by1) // 2 - int(3 * s)), (bx1 + int(3 * s), (by0 + by1) // 2 + int(3 * s)), color, -1
    )
    cell = (bx1 - bx0 - int(4 * s)) // 3
    for i in range(bars):
        cx = bx0 + int(2 * s) + i * cell
        cv2.rectangle(img, (cx + 1, by0 + int(2 * s)), (cx + cell - 1, by1 - int(2 * s)), color, -1)


def focus_point_xy(value: int | None) -> tuple[int, int] | None:
    """A Fuji FocusPoint value as (X, Y) on the camera's grid: 0x03020404 -> (4, 4)."""
    if value is None:
        return None
    return (value >> 8) & 0xFF, value & 0xFF


def _focus_marker(img: np.ndarray, s: float, xy: tuple[int, int] | None) -> tuple[int, int, int, int]:
    h, w = img.shape[:2]
    cx, cy = w // 2, h // 2
    if xy is not None and xy[0] > 0 and xy[1] > 0:
        cols = 7 if xy[0] <= 7 else 13  # X-T1: 7x7 points; later bodies: 13 wide
        rows = 7 if xy[1] <= 7 else 13
        cx = int(w * (xy[0] - 0.5) / cols)
        cy = int(h * (xy[1] - 0.5) / rows)
    half = int(22 * s)
    x0, y0, x1, y1 = cx - half, cy - int(16 * s), cx + half, cy + int(16 * s)
    corner = int(8 * s)
    th = max(1, int(round(s)))
    for color, t in ((BLACK, th + 2), (GREEN, th)):
        for px, py, dx, dy in ((x0, y0, 1, 1), (x1, y0, -1, 1), (x0, y1, 1, -1), (x1, y1, -1, -1)):
            cv2.line(img, (px, py), (px + dx * corner, py), color, t)
            cv2.line(img, (px, py), (px, py + dy * corner), color, t)
    return x0, y0, x1, y1


def draw(img: np.ndarray, state: ViewState) -> np.ndarray:
    """Draw the overlay for ``state`` on ``img`` (BGR, modified in place and returned)."""
    h, w = img.shape[:2]
    s = _scale(w)
    boxes = widget_boxes(w, h)

    def text_in(widget: str, text: str, color: tuple[int, int, int] = WHITE) -> None:
        x0, y0, x1, y1 = boxes[widget]
        _text(img, text, x0, y1 - int(8 * s), s, color, max_w=x1 - x0)

    # top row
    delay = state.label("delay")
    if delay and delay.lower() not in ("off", "0", "0s"):
        text_in("delay", f"T {delay}")
    wb = state.label("whitebalance")
    if wb and wb.lower() not in ("auto", "automatic"):
        _badge(img, WB_BADGES.get(wb.lower(), wb[:5]), boxes["whitebalance"], s)
    elif wb:
        text_in("whitebalance", "AWB")
    film = state.label("film")
    if film:
        _badge(img, FILM_BADGES.get(film.lower(), film[:5]), boxes["film"], s)
    focus = state.label("focus")
    if focus:
        short = {"single af": "AF-S", "continuous af": "AF-C", "manual": "MF", "automatic": "AF"}.get(
            focus.lower(), focus[:5]
        )
        text_in("focus", short)
    metering = state.label("metering")
    if metering:
        text_in("metering", metering[:8])
    flash = state.label("flash")
    if flash:
        text_in("flash", "FL " + ("off" if flash.lower() in ("off", "disabled") else flash[:6]))
    remaining = state.label("remaining")
    if remaining is not None:
        text_in("remaining", remaining)
    quality = state.label("quality")
    if quality:
        q = quality.lower()
        text_in(
            "quality",
            ("RAW+" if "raw" in q else "")
            + ("F" if q.startswith("fine") else "N" if q.startswith("normal") else quality[:4]),
        )
    size = state.label("size")
    if size:
        _badge(img, size.split()[0][:1].upper() if size.strip() else "?", boxes["size"], s)

    # bottom row
    program = state.label("program")
    if program:
        _badge(
            img, program_letter(state.number("program", EXPOSURE_PROGRAM), program), boxes["program"], s, inverted=True
        )
    shutter = state.label("shutter")
    if shutter:
        text_in("shutter", shutter)
    aperture = state.label("aperture")
    if aperture:
        a = aperture
        if a.lower().startswith("f/"):
            a = "F" + a[2:]
        text_in("aperture", a)
    _bias_scale(img, boxes["bias"], s, bias_ev(state.number("bias", EXPOSURE_BIAS)))
    iso = state.label("iso")
    if iso:
        x0, y0, x1, y1 = boxes["iso"]
        raw_iso = state.number("iso", FUJI_ISO)
        if raw_iso is not None and raw_iso & 0xFFFF0000 == 0x80000000:  # auto, up to the low 16 bits
            _badge(img, "AUTO", (x0, y0, x0 + int(40 * s), y1), s, inverted=True)
            _text(img, f"ISO {raw_iso & 0xFFFF}", x0 + int(44 * s), y1 - int(8 * s), s, max_w=x1 - x0 - int(44 * s))
        else:
            _text(img, f"ISO {iso}", x0, y1 - int(8 * s), s, max_w=x1 - x0)
    battery = state.label("battery")
    if battery:
        _battery(img, boxes["battery"], s, state.level("battery"), battery)

    _jobs_line(img, boxes["job"], s, state.jobs())
    _focus_marker(img, s, focus_point_xy(state.number("focuspoint", FUJI_FOCUS_POINT)))
    return img


def job_text(job: Mapping[str, Any]) -> str:
    """One running job as the overlay shows it: ``TL 3  12/360  next 10:42:07``."""
    kind = str(job.get("kind", ""))
    parts = [f"{JOB_BADGES.get(kind, kind[:6].upper())} {job.get('id')}"]
    done, total = job.get("done", 0), job.get("total")
    parts.append(f"{done}/{total}" if total is not None else f"{done}")
    if job.get("missed"):
        parts.append(f"{job['missed']} missed")
    next_at = job.get("next_at")
    if isinstance(next_at, (int, float)):
        parts.append("next " + time.strftime("%H:%M:%S", time.localtime(next_at)))
    return "  ".join(parts)


def _jobs_line(img: np.ndarray, box: tuple[int, int, int, int], s: float, jobs: list[dict[str, Any]]) -> None:
    if not jobs:
        return
    x0, y0, x1, y1 = box
    r = max(2, int(5 * s))
    cy = (y0 + y1) // 2
    cv2.circle(img, (x0 + r, cy), r + 1, BLACK, -1)
    cv2.circle(img, (x0 + r, cy), r, RED, -1)  # a job is shooting (or listening): as a camera's REC dot
    _text(
        img, "   ".join(job_text(j) for j in jobs), x0 + 3 * r, y1 - int(8 * s), s, WHITE, 0.42, max_w=x1 - x0 - 3 * r
    )
