"""Detectors: is there something in this frame worth a shot?

Each detector takes a BGR frame (already cropped to the region of interest) and returns
a :class:`Detection` or ``None``. They keep their own state (the motion detector learns
the background) and know nothing about the bus.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True, slots=True)
class Detection:
    """What fired: ``kind`` ("motion" or "face"), how big (px of the full frame), where."""

    kind: str
    area: int
    box: tuple[int, int, int, int]  #: x, y, w, h in the analysed region


class MotionDetector:
    """Background subtraction (MOG2) on a downscaled grey frame.

    ``sensitivity`` 0-100 maps to the MOG2 variance threshold (100 = most sensitive);
    ``min_area`` is the smallest moving blob, in pixels of the original frame, that
    counts. The first ``warmup`` frames only train the background model.
    """

    def __init__(self, sensitivity: float = 50.0, min_area: int = 400, warmup: int = 8, work_width: int = 320) -> None:
        var_threshold = 4.0 + (100.0 - max(0.0, min(100.0, sensitivity))) * 1.2
        self._bg = cv2.createBackgroundSubtractorMOG2(history=300, varThreshold=var_threshold, detectShadows=False)
        self.min_area = min_area
        self.warmup = warmup
        self.work_width = work_width
        self.frames = 0
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))

    def __call__(self, img: np.ndarray) -> Detection | None:
        h, w = img.shape[:2]
        scale = min(1.0, self.work_width / float(w))
        small = (
            cv2.resize(img, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
            if scale < 1
            else img
        )
        grey = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (5, 5), 0)
        mask = self._bg.apply(grey)
        self.frames += 1
        if self.frames <= self.warmup:
            return None
        _, mask = cv2.threshold(mask, 127, 255, cv2.THRESH_BINARY)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._kernel)
        mask = cv2.dilate(mask, self._kernel, iterations=2)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        if not contours:
            return None
        biggest = max(contours, key=cv2.contourArea)
        area = int(cv2.contourArea(biggest) / (scale * scale))
        if area < self.min_area:
            return None
        x, y, bw, bh = cv2.boundingRect(biggest)
        return Detection("motion", area, (int(x / scale), int(y / scale), int(bw / scale), int(bh / scale)))


class FaceDetector:
    """OpenCV's bundled frontal-face Haar cascade (nothing is downloaded).

    ``neighbours`` is how many overlapping detections a face needs (the cascade's
    ``minNeighbors``: higher is stricter), ``min_size`` the smallest face in pixels; the
    command line's defaults are ptptrigger's ``FACE_NEIGHBOURS`` and ``FACE_MIN_SIZE``.
    """

    CASCADE = "haarcascade_frontalface_default.xml"

    def __init__(self, min_size: int, neighbours: int) -> None:
        path = cv2.data.haarcascades + self.CASCADE  # type: ignore[attr-defined]  # cv2's stubs leave out cv2.data
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise RuntimeError(f"cannot load the Haar cascade {path}")
        self.min_size = min_size
        self.neighbours = neighbours

    def __call__(self, img: np.ndarray) -> Detection | None:
        grey = cv2.equalizeHist(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
        faces = self._cascade.detectMultiScale(
            grey, scaleFactor=1.1, minNeighbors=self.neighbours, minSize=(self.min_size, self.min_size)
        )
        if len(faces) == 0:
            return None
        x, y, w, h = max(faces, key=lambda f: f[2] * f[3])
        return Detection("face", int(w * h), (int(x), int(y), int(w), int(h)))


def parse_roi(text: str, width: int, height: int) -> tuple[int, int, int, int]:
    """``x,y,w,h`` in pixels, or as fractions of the frame when all are <= 1."""
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        raise ValueError(f"ROI {text!r}: expected x,y,w,h") from None
    if len(parts) != 4 or any(p < 0 for p in parts):
        raise ValueError(f"ROI {text!r}: expected four non-negative numbers x,y,w,h")
    if all(p <= 1.0 for p in parts):
        parts = [parts[0] * width, parts[1] * height, parts[2] * width, parts[3] * height]
    x, y, w, h = (int(round(p)) for p in parts)
    x, y = min(x, width - 1), min(y, height - 1)
    w, h = max(1, min(w, width - x)), max(1, min(h, height - y))
    return x, y, w, h
