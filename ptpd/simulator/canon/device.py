"""The simulated EOS body: what survives between sessions, and what it sends.

:class:`CanonDevice` holds the property values and allowed lists, the card, the pictures
waiting in RAM for the host, the GUIDs its user accepted, and each session's queue of
GetEvent records. Changes (a set, a shot, a delete) are queued on every session that
asked for events, as a body reports them to whoever polls. Pictures are real JPEGs of
the scene with the settings in force in their pixels and EXIF. No sockets here; the
capture's rendering runs in a worker thread (the server's), hence the lock.
"""

from __future__ import annotations

import datetime as _dt
import io
import math
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from PIL import Image

from ptpd.canon import events as ev
from ptpd.canon import values as V
from ptpd.canon.codes import CAPTURE_TO_HOST
from ptpd.canon.codes import CanonEventCode as E
from ptpd.canon.codes import CanonPropCode as C
from ptpd.canon.packets import encode_device_info_ex
from ptpd.canon.properties import by_code
from ptpd.protocol import datasets
from ptpd.protocol.codes import ObjectFormat
from ptpd.simulator import jpeg, objects, scene
from ptpd.simulator import store as st
from ptpd.simulator.canon.profiles import EVENTS, STORAGE_ID, CanonProfile
from ptpd.simulator.properties import ptp_datetime

if TYPE_CHECKING:
    from ptpd.simulator.canon.session import CanonSession

Value = int | str
PHOTO_FOLDER = "100CANON"
THUMB_SIZE = (160, 120)
#: AvailListChanged kind of a list of allowed values (ptp-pack.c), and of "no list" as a
#: real body sends it for a read-only number (a real dump: D11B kind 1, count 0)
LIST, NO_LIST = 3, 1
#: where the real dump puts CTGInfoCheckComplete: before and after the value records
CTG_INFO = ev.Unknown(E.CTGInfoCheckComplete, STORAGE_ID.to_bytes(4, "little"))
#: the FocusInfoEx value a half press reports: the real dump's size, no points in it
#: (libgphoto2 reads that as "no focus points returned", which ends its focus wait)
FOCUS_INFO = (100).to_bytes(4, "little") + bytes(96)
#: the lens drive (DriveLens): positions evenly spread in dioptres from the nearest focus
#: (0.3 m) to infinity, how many a step of size 1, 2, 3 moves, and where the first drive
#: finds the lens (2 m) [inferred: a real lens's step sizes depend on the lens]
LENS_POSITIONS = 61
NEAREST_DIOPTRES = 1 / 0.3
DRIVE_STEPS = {1: 1, 2: 3, 3: 10}
LENS_START = round((LENS_POSITIONS - 1) * (1 - 0.5 / NEAREST_DIOPTRES))


@dataclass(frozen=True, slots=True)
class CaptureJob:
    """A release that was accepted: what the server completes after its answer."""

    delay_s: float
    settings: dict[int, Value]
    to_host: bool
    focus: float | None = None  #: metres the lens stands at; None: never driven


class CanonDevice:
    """One simulated EOS body (see the module docstring)."""

    def __init__(
        self,
        profile: CanonProfile,
        *,
        initial_images: int = 3,
        jpeg_quality: int = 85,
        clock: Callable[[], _dt.datetime] = _dt.datetime.now,
    ) -> None:
        self.profile = profile
        self.clock = clock
        self.jpeg_quality = jpeg_quality
        self.values: dict[int, Value] = {c: v for c, (v, _) in profile.properties.items()}
        self.allowed: dict[int, tuple[Value, ...]] = {c: a for c, (_, a) in profile.properties.items()}
        self.values[C.ModelID] = profile.model_id
        self.values[C.SerialNumber] = profile.serial
        self.store = st.ObjectStore([st.Storage(STORAGE_ID, "SD", "EOS_DIGITAL")])
        self.ram: dict[int, st.StoredObject] = {}  #: pictures for the host, until TransferComplete
        self._ram_handles = iter(range(0x90000001, 0xFFFFFFFF))
        self.paired: set[bytes] = set()  #: GUIDs the user accepted
        self.prompts: dict[bytes, float] = {}  #: GUID -> when its pairing prompt came up
        #: sessions that report events; a session of a closed connection drops out by itself
        self.sessions: weakref.WeakSet[CanonSession] = weakref.WeakSet()
        self.lock = threading.RLock()  # capture threads touch the card, the queues, the counters
        self.capturing = False
        self.captures = 0
        self.evf_since: float | None = None  #: when the live-view output was turned on
        self.lens: int | None = None  #: the drive's lens position (0 nearest); None: never driven
        date = ptp_datetime(clock())
        dcim = self.store.add_folder(STORAGE_ID, st.ROOT, "DCIM", date=date)
        self.folder = self.store.add_folder(STORAGE_ID, dcim.handle, PHOTO_FOLDER, date=date).handle
        for _ in range(initial_images):
            self._store(self.render(dict(self.values)))

    # -- what a session sees ------------------------------------------------------------------

    def broadcast(self, records: Iterable[ev.Record]) -> None:
        """Queue records on every session that reports events."""
        records = tuple(records)
        with self.lock:
            for s in self.sessions:
                s.queue_records(records)

    def dump(self) -> list[ev.Record]:
        """Everything a body reports after SetEventMode: CTGInfoCheckComplete, every value,
        CTGInfoCheckComplete, every allowed list (the order of a real dump)."""
        with self.lock:
            out: list[ev.Record] = [CTG_INFO]
            out += [self.value_record(c) for c in self.values]
            out.append(CTG_INFO)
            for c, allowed in self.allowed.items():
                p = by_code(c)
                if allowed:
                    out.append(ev.AvailList(c, LIST, len(allowed), b"".join(p.encode(v) for v in allowed)))
                elif p.kind not in ("str", "bytes"):
                    out.append(ev.AvailList(c, NO_LIST, 0, b""))
            return out

    def value_record(self, code: int) -> ev.PropValue:
        """A PropValueChanged record: scalars in 4 bytes as real bodies send them."""
        if code == C.FocusInfoEx:
            return ev.PropValue(code, FOCUS_INFO)
        return ev.PropValue(code, by_code(code).encode(self.values[code]))

    def set_value(self, code: int, value: Value) -> None:
        """A new value, reported to every session."""
        with self.lock:
            self.values[code] = value
            self.broadcast([self.value_record(code)])

    def device_info(self) -> bytes:
        p = self.profile
        return datasets.DeviceInfo(
            standard_version=100,
            vendor_extension_id=p.vendor_extension_id,
            vendor_extension_version=100,
            vendor_extension_desc="",
            functional_mode=0,
            operations_supported=p.operations,
            events_supported=EVENTS,
            device_properties_supported=(),  # EOS properties arrive through GetEvent only (research notes §10.3)
            capture_formats=(ObjectFormat.EXIF_JPEG,),
            image_formats=(ObjectFormat.Association, ObjectFormat.EXIF_JPEG),
            manufacturer=p.manufacturer,
            model=p.model,
            device_version=p.version,
            serial_number=p.serial,
        ).encode()

    def device_info_ex(self) -> bytes:
        # the third list must not be empty (libgphoto2's prepare fails on an empty one, our run)
        return encode_device_info_ex(EVENTS, tuple(self.values), (1,))

    def storage_info(self, storage_id: int) -> bytes:
        free_images = int(self.values.get(C.AvailableShots, 0))
        return objects.storage_info(self.store, storage_id, free_images=free_images)

    object_info = staticmethod(objects.object_info)

    # -- live view ---------------------------------------------------------------------------

    def liveview_on(self) -> bool:
        """EVF mode 1 and the live-view output bit set."""
        out = self.values.get(C.EVFOutputDevice, 0)
        return self.values.get(C.EVFMode) == 1 and isinstance(out, int) and bool(out & self.profile.live_bit)

    def drive_lens(self, param: int) -> bool:
        """DriveLens: the lens moved a step of size ``param & 0x7FFF`` (1 to 3), farther
        with bit 15; it stops at either end. False for a step size the body has not."""
        size = DRIVE_STEPS.get(param & 0x7FFF)
        if size is None:
            return False
        here = LENS_START if self.lens is None else self.lens
        self.lens = max(0, min(LENS_POSITIONS - 1, here + (size if param & 0x8000 else -size)))
        return True

    def focus_m(self) -> float | None:
        """Where the driven lens is focused (metres, infinity at the far end); None before
        any drive: the body's autofocus finds the subject and the scene renders sharp. The
        simulated body keeps the driven position through a release [inferred: a real one
        may focus again on the half press, as its AF settings say]."""
        if self.lens is None:
            return None
        dioptres = NEAREST_DIOPTRES * (1 - self.lens / (LENS_POSITIONS - 1))
        return math.inf if dioptres <= 0 else 1 / dioptres

    def labels(self, settings: dict[int, Value] | None = None) -> dict[str, str]:
        """The settings as the labels the scene prints and reacts to."""
        s = self.values if settings is None else settings
        out = {}
        for code, key in (
            (C.ISOSpeed, "iso"),
            (C.ShutterSpeed, "shutter-speed"),
            (C.Aperture, "f-number"),
            (C.ExpCompensation, "exp-bias"),
            (C.WhiteBalance, "whitebalance"),
            (C.PictureStyle, "effect"),
        ):
            if code in s:
                out[key] = by_code(code).label(s[code])
        return out

    # -- captures -----------------------------------------------------------------------------

    def render(
        self,
        settings: dict[int, Value],
        focus: float | None = None,
    ) -> tuple[bytes, bytes, tuple[int, int], tuple[int, int], _dt.datetime]:
        """A real JPEG of the scene with these settings in its pixels and EXIF, focused at
        ``focus`` metres (None: all sharp): (JPEG, thumbnail, thumbnail size, image size, when)."""
        with self.lock:
            sequence = self.captures + 1
        when = self.clock().replace(microsecond=0)
        size = self.profile.sizes.get(V.image_size_class(int(settings.get(C.ImageFormat, 0x0300))), (1536, 1024))
        labels = self.labels(settings)
        img = scene.render(
            size[0],
            size[1],
            float(sequence),
            labels,
            seed=0,
            timestamp=f"#{sequence:04d}  {when:%Y-%m-%d %H:%M:%S}",
            focus=focus,
        )
        data = jpeg.encode_jpeg(img, quality=self.jpeg_quality, exif=self._exif(settings, labels, when))
        thumb = jpeg.thumbnail(data, THUMB_SIZE)
        with Image.open(io.BytesIO(thumb)) as t:
            thumb_size = t.size
        return data, thumb, thumb_size, size, when

    def _exif(self, s: dict[int, Value], labels: dict[str, str], when: _dt.datetime) -> dict[str, object]:
        iso = V.iso_number(int(s.get(C.ISOSpeed, 0)))
        seconds = V.exposure_seconds(int(s.get(C.ShutterSpeed, 0)))
        f_number = V.f_number(int(s.get(C.Aperture, 0)))
        return {
            "make": "Canon",
            "model": self.profile.model,
            "software": f"Firmware Version {self.profile.version} (ptpd simulator)",
            "datetime": when,
            "iso": iso if iso is not None else 100,  # auto ISO: what the meter chose
            "exposure_time": seconds if seconds is not None else Fraction(1, 60),
            "f_number": f_number if f_number is not None else Fraction(56, 10),
            "exposure_bias": V.exp_bias(int(s.get(C.ExpCompensation, 0))),
            "exposure_program": V.STANDARD_PROGRAM.get(int(s.get(C.AutoExposureMode, 0)), 0),
            "white_balance": 0 if s.get(C.WhiteBalance, 0) == 0 else 1,
            "description": f"whitebalance={labels.get('whitebalance', '')}; picture-style={labels.get('effect', '')}",
        }

    def start_capture(self) -> CaptureJob:
        """Accept a release (the caller checked that the body is free); the job to complete."""
        with self.lock:
            self.capturing = True
            settings, focus = dict(self.values), self.focus_m()
        delay = V.DRIVE_DELAY.get(int(settings.get(C.DriveMode, 0)), 0.0)
        return CaptureJob(delay, settings, settings.get(C.CaptureDestination) == CAPTURE_TO_HOST, focus)

    def complete_capture(self, job: CaptureJob) -> tuple[()]:
        """Take the picture (thread-safe) and queue its records: RequestObjectTransfer for
        a picture kept in RAM for the host, ObjectAddedEx for one on the card, then the
        counters. Nothing goes out on the event channel: an EOS body reports through
        GetEvent alone."""
        try:
            rendered = self.render(job.settings, job.focus)
            with self.lock:
                self.captures += 1
                if job.to_host:
                    obj = self._keep_in_ram(rendered)
                    record: ev.Record = ev.ObjectTransfer(obj.handle, obj.object_format, obj.size, obj.filename)
                else:
                    obj = self._store(rendered)
                    record = ev.ObjectAdded(
                        obj.handle, obj.storage_id, obj.object_format, obj.size, obj.parent, obj.filename
                    )
                    shots = int(self.values.get(C.AvailableShots, 1))
                    self.values[C.AvailableShots] = max(0, shots - 1)
                self.values[C.ShutterCounter] = int(self.values.get(C.ShutterCounter, 0)) + 1
                self.broadcast([record, self.value_record(C.AvailableShots), self.value_record(C.ShutterCounter)])
        finally:
            with self.lock:
                self.capturing = False
        return ()

    def _next_name(self) -> str:
        names = [o.filename for o in self.store.children(self.folder)] + [o.filename for o in self.ram.values()]
        numbers = [int(n[4:8]) for n in names if n.startswith("IMG_") and n[4:8].isdigit()]
        return f"IMG_{(max(numbers, default=0) + 1) % 10000:04d}.JPG"

    def _store(self, rendered: tuple[bytes, bytes, tuple[int, int], tuple[int, int], _dt.datetime]) -> st.StoredObject:
        data, thumb, thumb_size, size, when = rendered
        with self.lock:
            return self.store.add_image(
                STORAGE_ID,
                self.folder,
                self._next_name(),
                data,
                image_size=size,
                date=ptp_datetime(when),
                thumb=thumb,
                thumb_size=thumb_size,
            )

    def _keep_in_ram(
        self, rendered: tuple[bytes, bytes, tuple[int, int], tuple[int, int], _dt.datetime]
    ) -> st.StoredObject:
        data, thumb, thumb_size, size, when = rendered
        handle = next(self._ram_handles)
        obj = st.StoredObject(
            handle,
            0,
            0,
            self._next_name(),
            data=data,
            thumb=thumb,
            thumb_size=thumb_size,
            thumb_format=st.FORMAT_JFIF,
            image_size=size,
            bit_depth=24,
            capture_date=ptp_datetime(when),
            modification_date=ptp_datetime(when),
        )
        self.ram[handle] = obj
        return obj


__all__ = ["FOCUS_INFO", "PHOTO_FOLDER", "CanonDevice", "CaptureJob"]
