"""Gathering a rig's images into one directory, with a manifest that says what is there.

Files land as ``DIR/<shot>/<camera>.<ext>`` (or the user's pattern) and ``DIR/manifest.json``
records, per shot and camera: the file, its size and SHA-256, the camera's own file name
and handle, the planned and actual release times, the settings at the time (ISO, shutter,
aperture), and for a camera that failed, why. The manifest is written when the shutters
have fired (so the handles of images still on the cameras are never lost) and again as
the files arrive. :func:`complete` reads it back and fetches what is missing, leaving
every file that is there and matches its SHA-256 alone.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
import json
import string
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ptpd_client import ClientError, Release, Rig, RigShot, describe_failure
from ptpd_console.files import Incomplete, is_jpeg_name, safe_name, write_atomic

MANIFEST = "manifest.json"
#: where a camera's image of a shot goes, under DIR
PATTERN = "{shot}/{camera}.{ext}"
_FIELDS = {"shot", "camera", "ext", "name"}
#: downloads in flight at once (images are held in memory until written)
PARALLEL = 4
#: the manifest's format
VERSION = 1


class PatternError(ValueError):
    """A file pattern that cannot name every camera's file of every shot apart."""


def check_pattern(pattern: str) -> str:
    """``pattern`` if it names files apart (``{shot}`` and ``{camera}``, only known fields,
    a relative path that stays under DIR), else :class:`PatternError`."""
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None}
    except ValueError as exc:
        raise PatternError(f"pattern {pattern!r}: {exc}") from None
    unknown = names - _FIELDS
    if unknown:
        raise PatternError(
            f"pattern {pattern!r}: unknown field(s) {', '.join(sorted(unknown))} (fields: {', '.join(sorted(_FIELDS))})"
        )
    if not {"shot", "camera"} <= names:
        raise PatternError(f"pattern {pattern!r} must hold {{shot}} and {{camera}}: each file needs a name of its own")
    if pattern.startswith("/") or ".." in Path(pattern).parts:
        raise PatternError(f"pattern {pattern!r}: a path under the directory, without '..'")
    return pattern


def file_name(pattern: str, shot: str, camera: str, camera_file: str, source: str | None) -> str:
    """The path under DIR of ``camera``'s image of ``shot`` (the extension from the
    camera's file name, ``jpg`` for a preview or a camera that names none)."""
    stem, dot, ext = safe_name(camera_file or "", "image.jpg").rpartition(".")
    if source == "preview" or not dot or not ext:
        ext = "jpg"
    return pattern.format(shot=shot, camera=camera, ext=ext.lower(), name=stem or "image")


def sha256_of(path: Path) -> str | None:
    """The file's SHA-256, or None when it cannot be read."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


def _iso(wall: float) -> str:
    return _dt.datetime.fromtimestamp(wall, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Manifest:
    """``DIR/manifest.json``: the shots and, per camera, what became of its image."""

    dir: Path
    data: dict[str, Any] = field(default_factory=lambda: {"version": VERSION, "shots": {}})

    @classmethod
    def load(cls, directory: Path) -> Manifest:
        """The manifest of ``directory`` (an empty one when there is none yet);
        ``ValueError`` when it cannot be read."""
        path = directory / MANIFEST
        if not path.exists():
            return cls(directory)
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("shots"), dict):
            raise ValueError(f"{path}: not a ptprig manifest")
        return cls(directory, data)

    @property
    def shots(self) -> dict[str, dict[str, Any]]:
        return self.data["shots"]

    def next_shot(self) -> str:
        """The next shot number: one past the highest so far, four digits (``0001``)."""
        numbers = [int(k) for k in self.shots if k.isdigit()]
        return f"{max(numbers, default=0) + 1:04d}"

    def save(self) -> None:
        write_atomic(
            self.dir / MANIFEST,
            (json.dumps(self.data, indent=1, sort_keys=False) + "\n").encode(),
            overwrite=True,
            jpeg=False,
        )


def record_shot(manifest: Manifest, name: str, shot: RigShot, pattern: str, rig_file: str | None) -> dict[str, Any]:
    """Put a fired shot in the manifest (no files yet: the entries say what to fetch)."""
    now_wall, now_mono = time.time(), time.monotonic()

    def wall(t: float | None) -> str | None:
        return None if t is None else _iso(now_wall + (t - now_mono))

    cameras: dict[str, Any] = {}
    for cam, r in shot.releases.items():
        s = r.shot
        entry: dict[str, Any] = {
            "file": None,
            "size": None,
            "sha256": None,
            "camera_file": getattr(s, "filename", None) or None,
            "handle": getattr(s, "handle", None),
            "planned": wall(r.planned),
            "released": wall(r.released),
            "release_ms": None
            if r.released is None or r.planned is None
            else round((r.released - r.planned) * 1000, 3),
            "late_ms": None if r.late is None else round(r.late * 1000, 3),
            "clock_offset_ms": None if r.offset is None else round(r.offset.offset * 1000, 3),
            "clock_error_ms": None if r.offset is None else round(r.offset.error * 1000, 3),
            "settings": r.settings,
            "expected_size": getattr(s, "size", None) or None,
            "error": r.error,
            "code": r.code,
        }
        if r.handles:
            entry["handle"] = r.handles[0]
        cameras[cam] = entry
    skew = shot.skew
    manifest.data["pattern"] = pattern
    if rig_file:
        manifest.data["rig"] = rig_file
    manifest.shots[name] = {
        "planned": wall(shot.planned),
        "skew_ms": None if skew is None else round(skew * 1000, 3),
        "cameras": cameras,
    }
    return manifest.shots[name]


@dataclass
class Fetched:
    """What :func:`fetch_shot` or :func:`complete` did: files written, files found whole
    already, and cameras that still have none (with why)."""

    written: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)


async def fetch_shot(
    rig: Rig, manifest: Manifest, name: str, releases: dict[str, Release] | None = None, *, timeout: float = 60.0
) -> Fetched:
    """Bring every camera's image of shot ``name`` into the manifest's directory: a preview
    the capture already carried is written at once, the rest are downloaded by handle
    (:data:`PARALLEL` at a time). A camera that fails is noted and never holds up the
    others. Entries whose file is there and matches its SHA-256 are left alone."""
    shot = manifest.shots[name]
    pattern = manifest.data.get("pattern") or PATTERN
    out = Fetched()
    gate = asyncio.Semaphore(PARALLEL)

    async def one(cam: str, entry: dict[str, Any]) -> None:
        label = f"{name}/{cam}"
        if entry.get("file") and entry.get("sha256") and sha256_of(manifest.dir / entry["file"]) == entry["sha256"]:
            out.present.append(label)
            return
        r = releases.get(cam) if releases else None
        preview = getattr(r.shot, "preview", None) if r is not None and r.shot is not None else None
        handle = entry.get("handle")
        if handle is None and not preview:
            out.missing[label] = entry.get("error") or "the camera named no image and offered no preview"
            return
        if cam not in rig.cameras:
            out.missing[label] = "not in this rig (or not chosen)"
            return
        try:
            if handle is not None:
                async with gate:
                    dl = await rig.client(cam).download(handle, timeout=timeout)
                data, source = dl.data, "camera"
                entry["camera_file"] = entry.get("camera_file") or dl.filename or None
            else:
                data, source = preview, "preview"  # type: ignore[assignment]  # no handle: a preview (above)
            rel = file_name(pattern, name, cam, entry.get("camera_file") or "", source)
            expected = entry.get("expected_size") if source == "camera" else None
            path = manifest.dir / rel
            # a .jpg from the camera must be a JPEG, end marker and all; else it is told by its bytes
            jpeg = True if source == "camera" and is_jpeg_name(entry.get("camera_file") or "") else None
            await asyncio.to_thread(write_atomic, path, data, overwrite=True, expected_size=expected, jpeg=jpeg)
            entry.update(
                file=rel, size=len(data), sha256=hashlib.sha256(data).hexdigest(), source=source, error=None, code=None
            )
            out.written.append(label)
        except ClientError as exc:
            entry["code"], why = describe_failure(exc)
            entry["error"] = f"download failed: {why}"
            out.missing[label] = entry["error"]
        except Incomplete as exc:
            entry["code"], entry["error"] = "incomplete", f"the image did not arrive whole: {exc}"
            out.missing[label] = entry["error"]
        except OSError as exc:
            entry["code"], entry["error"] = "io", f"cannot write it: {exc.strerror or exc}"
            out.missing[label] = entry["error"]

    await asyncio.gather(*(one(cam, e) for cam, e in shot["cameras"].items()))
    return out


async def complete(rig: Rig, manifest: Manifest, *, timeout: float = 60.0) -> Fetched:
    """Fetch what the manifest lacks, shot by shot: what is there stays, what is missing
    comes from the camera that still holds it (by the handle the manifest kept)."""
    total = Fetched()
    for name in list(manifest.shots):
        got = await fetch_shot(rig, manifest, name, timeout=timeout)
        total.written += got.written
        total.present += got.present
        total.missing.update(got.missing)
        manifest.save()
    return total
