"""The simulated Fuji body: what survives between sessions, and how it reads on the wire.

No sockets and no sessions here. :class:`FujiDevice` holds the property values of its
:class:`~.profiles.FujiProfile`, the card, the paired client names and the
captures-remaining counter, and knows the bytes the X-T1 uses for them
(``fuji-ptpip.md``): values in their natural size (§5.1), the ASCII blobs (§6.4), the
descriptors, the 0x902B list and the 0xD212 state (quirk 12), a full DeviceInfo. It also
takes the pictures: the full-size JPEG with the settings in its EXIF, and the preview.

Labels of values (printed on the pictures, shaping the scene) come from the dialect's one
table, :mod:`ptpd.fuji.properties`. Refusals are :class:`Refused` carrying the response
code the session answers with. Capture threads touch the device: :attr:`FujiDevice.lock`
guards the values, the card and the counters.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import struct
import threading
import time
from collections.abc import Callable, Iterable
from fractions import Fraction
from typing import Any

from ptpd.fuji import properties as labels
from ptpd.fuji.codes import FujiEventCode
from ptpd.fuji.codes import FujiPropCode as F
from ptpd.protocol import datasets
from ptpd.protocol.codes import DataType, EventCode, ObjectFormat
from ptpd.protocol.codes import DevicePropCode as P
from ptpd.protocol.codes import ResponseCode as RC
from ptpd.protocol.datatypes import format_datetime
from ptpd.simulator import jpeg, objects, scene
from ptpd.simulator import store as st
from ptpd.simulator.fuji.profiles import LIVEVIEW_ALIASES, STRUCT, FujiProfile, PropSpec, liveview_sizes

__all__ = ["PHOTO_FOLDER", "STORAGE_ID", "FujiDevice", "Refused"]

STORAGE_ID = 0x00010001
PHOTO_FOLDER = "100_FUJI"
#: [sim] plain ISO values of the standard ExposureIndex 0x500F, an alias of 0xD02A for
#: generic initiators (0xFFFF = auto, as PTP cameras use it)
ISO_ALIAS_VALUES = (
    0xFFFF,
    100,
    200,
    250,
    320,
    400,
    500,
    640,
    800,
    1000,
    1250,
    1600,
    2000,
    2500,
    3200,
    4000,
    5000,
    6400,
    12800,
    25600,
    51200,
)
ISO_AUTO = 0xFFFFFFFF  #: 0xD02A auto (fuji-ptpip.md §6.2)
ISO_AUTO_MAX = 0x80000000  #: 0xD02A flag: auto up to this value ("S6400")
ISO_EXTENDED = 0x40000000  #: 0xD02A flag: extended ISO ("L100", "H12800")


class Refused(Exception):
    """The camera says no: ``code`` is the response code to answer with."""

    def __init__(self, code: RC) -> None:
        super().__init__(code.name)
        self.code = code


def ptp_date(when: _dt.datetime) -> str:
    """A PTP DateTime string for an object's dates, to the second."""
    return format_datetime(when, tenths=False)


class FujiDevice:
    """Device state shared by all sessions (thread-safe where capture threads touch it)."""

    def __init__(
        self,
        profile: FujiProfile,
        *,
        initial_images: int = 2,
        schedule: scene.SceneSchedule | None = None,
        clock: Callable[[], _dt.datetime] = _dt.datetime.now,
        scene_clock: Callable[[], float] | None = None,
        jpeg_quality: int = 85,
    ) -> None:
        self.profile = profile
        self.clock = clock
        self.schedule = schedule or scene.SceneSchedule("object")
        t0 = time.monotonic()
        self.scene_clock = scene_clock or (lambda: time.monotonic() - t0)
        self.jpeg_quality = jpeg_quality
        self.specs: dict[int, PropSpec] = {p.code: p for p in profile.props}
        self.values: dict[int, int | str] = {p.code: p.current for p in profile.props}
        self.lock = threading.RLock()
        self.store = st.ObjectStore([st.Storage(STORAGE_ID, "SD card", "FUJIFILM")])
        date = ptp_date(self.clock())
        dcim = self.store.add_folder(STORAGE_ID, st.ROOT, "DCIM", date=date)
        self.folder = self.store.add_folder(STORAGE_ID, dcim.handle, PHOTO_FOLDER, date=date).handle
        self.paired: set[str] = set()
        self.captures = 0
        self.last_preview: bytes | None = None
        #: what DeviceInfo reports as VendorExtensionID (see :meth:`device_info`)
        self.vendor_extension_id = 0
        for _ in range(initial_images):
            self.shoot(count=False)

    # -- values --------------------------------------------------------------------

    def get(self, code: int) -> int | str:
        with self.lock:
            if code == P.ExposureIndex:
                return self._iso_alias()
            if code not in self.values:
                raise Refused(RC.DevicePropNotSupported)
            return self.values[code]

    def _iso_alias(self) -> int:
        iso = int(self.values[F.ExposureIndex])
        if iso == ISO_AUTO or iso & ISO_AUTO_MAX:
            return 0xFFFF
        return iso & 0xFFFF

    def allowed(self, spec: PropSpec, value: int | str) -> bool:
        if spec.form == "enum":
            return value in spec.values
        if spec.form == "range":
            lo, hi, step = (int(v) for v in spec.values)
            if not isinstance(value, int) or not lo <= value <= hi:
                return False
            return step == 0 or (value - lo) % step == 0
        return True

    def set(self, code: int, value: int | str, *, force: bool = False) -> None:
        """Set a property (validated against its descriptor unless ``force``)."""
        with self.lock:
            if code == P.ExposureIndex:
                if value not in ISO_ALIAS_VALUES:
                    raise Refused(RC.InvalidDevicePropValue)
                iso = int(value)
                self.values[F.ExposureIndex] = (
                    ISO_AUTO if iso == 0xFFFF else ISO_EXTENDED | iso if iso < 200 or iso > 6400 else iso
                )
                return
            spec = self.specs.get(code)
            if spec is None:
                raise Refused(RC.DevicePropNotSupported)
            if not force:
                if not spec.writable:
                    raise Refused(RC.AccessDenied)
                if not self.allowed(spec, value):
                    raise Refused(RC.InvalidDevicePropValue)
            self.values[code] = value

    def decode_value(self, code: int, payload: bytes) -> int | str:
        """A data-out payload -> value (padding after the value's size is ignored, quirk 7)."""
        if code == P.ExposureIndex:
            if len(payload) < 2:
                raise Refused(RC.InvalidDevicePropFormat)
            return struct.unpack_from("<H", payload)[0]
        spec = self.specs.get(code)
        if spec is None:
            raise Refused(RC.DevicePropNotSupported)
        if spec.datatype == DataType.STR:
            raw = bytes(payload)
            text = raw.split(b"\x00", 1)[0].decode("ascii", "replace").strip()
            if code == F.LiveViewImageSize:
                if (
                    not text.isprintable()
                    or not text
                    or (len(text) == 1 and len(raw) >= 2 and raw[1] == 0 and not text.isdigit())
                ):
                    # [sim] a binary integer: the 0-based index of the label
                    text = str(int.from_bytes(raw[:4].ljust(4, b"\x00"), "little"))
                return LIVEVIEW_ALIASES.get(text.lower(), text)
            return text
        fmt = STRUCT[spec.datatype]
        if len(payload) < struct.calcsize(fmt):
            raise Refused(RC.InvalidDevicePropFormat)
        return struct.unpack_from(fmt, payload)[0]

    def encode_value(self, code: int, value: int | str | None = None) -> bytes:
        """A value with its natural size (§5.1); blobs as the camera lays them out."""
        value = self.get(code) if value is None else value
        if code == P.ExposureIndex:
            return struct.pack("<H", int(value))
        spec = self.specs[code]
        if spec.datatype == DataType.STR:
            return self._blob(code, str(value))
        return struct.pack(STRUCT[spec.datatype], int(value))

    def _blob(self, code: int, value: str) -> bytes:
        # Contents as the X-T1 dumps show them (§6.1, §6.4); field widths are [sim].
        if code == F.CameraSummary:
            b = bytearray(65)
            b[0:4] = b" 0/0"
            b[4:8] = struct.pack("<I", int(self.values.get(F.MovieRemainingTime, 0)))
            b[8:12] = struct.pack("<I", int(self.values.get(F.FocusPoint, 0)))[::-1]
            b[12:14] = b"\x0a\x00"
            b[14:18] = b"\xff\xff\xff\xff"
            model = self.profile.model.encode("ascii")[:20]
            b[40 : 40 + len(model)] = model
            fw = self.profile.firmware.encode("ascii")[:4]
            b[61 : 61 + len(fw)] = fw
            return bytes(b)
        if code == F.GeoTag:
            text = b"0000.000000,N00000.000000,E00000.00,M 000.0,K0000:00:0000:00:00.000"
            return text.ljust(97, b"\x00")
        if code == P.ImageSize:
            out = value.encode("ascii").ljust(28, b"\x00") + b"320x280\x00"
            return out.ljust(153, b"\xff")
        # 0xD174 and any other: the label, NUL terminated, in a 16-byte field
        return value.encode("ascii")[:15].ljust(16, b"\x00")

    def liveview_size(self) -> tuple[int, int]:
        with self.lock:
            label = str(self.values.get(F.LiveViewImageSize, "640x480"))
        return liveview_sizes((label,))[0]

    # -- datasets ------------------------------------------------------------------

    def describe(self, code: int, *, complete: bool = True) -> bytes | None:
        """GetDevicePropDesc payload, or None when the camera "cannot describe" it (quirk 13).

        ``complete=False`` reports current value 0 (quirk 9)."""
        if code == P.ExposureIndex:
            spec = PropSpec(code, DataType.UINT16, True, 0xFFFF, self._iso_alias(), "enum", ISO_ALIAS_VALUES)
        else:
            found = self.specs.get(code)
            if found is None or not found.describable:
                return None
            spec = found
        current: int | str = self.get(code)
        if not complete:
            current = "" if spec.datatype == DataType.STR else 0
        out = bytearray(struct.pack("<HHB", code, spec.datatype, 1 if spec.writable else 0))
        out += self.encode_value(code, spec.default) + self.encode_value(code, current)
        if spec.form == "range":
            out += b"\x01" + b"".join(self.encode_value(code, v) for v in spec.values)
        elif spec.form == "enum":
            out += b"\x02" + struct.pack("<H", len(spec.values))
            out += b"".join(self.encode_value(code, v) for v in spec.values)
        else:
            out += b"\x00"
        return bytes(out)

    def property_list(self) -> bytes:
        """The 0x902B payload: u32 count, then (u32 length incl. itself, descriptor) each."""
        entries = [self.describe(code) for code in self.profile.property_list]
        out = bytearray(struct.pack("<I", len(entries)))
        for e in entries:
            assert e is not None
            out += struct.pack("<I", len(e) + 4) + e
        return bytes(out)

    def state_codes(self) -> list[int]:
        """Which properties the 0xD212 state lists now: the X-T1's by exposure program
        (quirk 12); a later body's remote list as the real X-T4 gave it.

        [dump] the P-mode, auto-ISO list. [sim] (the reference records no other list):
        A and M add the F-number 0x5007 after white balance; S and M add the shutter speed
        0xD240 at the end; M with a manual ISO drops the exposure bias (it has no effect).
        """
        if self.profile.generation != "x-t1":
            return list(self.profile.state_base)
        with self.lock:
            program = int(self.values.get(P.ExposureProgramMode, 2))
            iso = int(self.values.get(F.ExposureIndex, ISO_AUTO))
        codes = list(self.profile.state_base)
        if program in (1, 3):
            codes.insert(codes.index(P.WhiteBalance) + 1, P.FNumber)
        if program in (1, 4):
            codes.append(F.ShutterSpeed)
        manual_iso = iso != ISO_AUTO and not iso & ISO_AUTO_MAX
        if program == 1 and manual_iso:
            codes.remove(P.ExposureBiasCompensation)
        return codes

    def state(self, codes: Iterable[int] | None = None) -> bytes:
        """The 0xD212 payload for ``codes`` (default :meth:`state_codes`): u16 count, then
        (u16 code, u32 value) each."""
        codes = self.state_codes() if codes is None else list(codes)
        out = bytearray(struct.pack("<H", len(codes)))
        with self.lock:
            for code in codes:
                out += struct.pack("<HI", code, int(self.values.get(code, 0)) & 0xFFFFFFFF)
        return bytes(out)

    def object_count(self) -> int:
        """Images on the card (0xD222, 0xD401): files, not folders."""
        with self.lock:
            return sum(1 for o in self.store if not o.is_folder)

    def device_info(self, operations: Iterable[int]) -> bytes:
        """A full DeviceInfo listing ``operations``, answered when the simulator is asked to
        (``full_device_info``, or a ``vendor_extension_id``): over Wi-Fi the bodies answer an
        empty one ([sim] profiles.py). VendorExtensionID 0 keeps libgphoto2 on its generic
        paths (ptpip.md §9); 0x0E (Fuji, as Fuji bodies report over USB) takes its Fuji
        paths, among them ``--capture-preview`` reading one frame of the live-view socket."""
        props = [P.ExposureIndex] + [
            p.code
            for p in self.profile.props
            if p.describable
            and p.datatype != DataType.STR
            and p.code not in (F.InitSequence, F.AppVersion)
            # a range with step 0 or an empty enumeration trips generic initiators
            and not (p.form == "range" and p.values[2] == 0)
            and not (p.form == "enum" and not p.values)
        ]
        return datasets.DeviceInfo(
            standard_version=100,
            vendor_extension_id=self.vendor_extension_id,
            vendor_extension_version=0,
            vendor_extension_desc="",
            functional_mode=0,
            operations_supported=tuple(sorted(operations)),
            events_supported=(
                EventCode.ObjectAdded,
                EventCode.CaptureComplete,
                FujiEventCode.PreviewAvailable,
                FujiEventCode.ObjectAdded,
            ),
            device_properties_supported=tuple(sorted(props)),
            capture_formats=(ObjectFormat.EXIF_JPEG,),
            image_formats=(ObjectFormat.Association, ObjectFormat.EXIF_JPEG),
            manufacturer="FUJIFILM",
            model=self.profile.model,
            device_version=self.profile.firmware,
            serial_number=hashlib.sha1(self.profile.model.encode()).hexdigest()[:16].upper(),
        ).encode()

    def storage_info(self, storage_id: int) -> bytes:
        free_images = int(self.values.get(F.CapturesRemaining, 0))
        return objects.storage_info(self.store, storage_id, free_images=free_images)

    object_info = staticmethod(objects.object_info)

    # -- pictures ------------------------------------------------------------------

    def settings_labels(self) -> dict[str, str]:
        """The settings in force as the dialect labels them (printed on pictures, shape the scene)."""
        with self.lock:
            v = dict(self.values)

        def label(code: int, default: int) -> str:
            return labels.format_value(code, v.get(code, default))

        return {
            "mode": label(P.ExposureProgramMode, 2),
            "iso": label(F.ExposureIndex, ISO_AUTO),
            "f-number": label(P.FNumber, 0xFFFF),
            "exp-bias": label(P.ExposureBiasCompensation, 0),
            "effect": label(F.FilmSimulation, 1),
            "whitebalance": label(P.WhiteBalance, 2),
        }

    def exif_fields(self, when: _dt.datetime) -> dict[str, Any]:
        """EXIF carrying the settings in force; automatic values get plausible numbers."""
        with self.lock:
            v = dict(self.values)
        iso_raw = int(v.get(F.ExposureIndex, ISO_AUTO))
        iso = 400 if iso_raw == ISO_AUTO or iso_raw & ISO_AUTO_MAX else iso_raw & 0xFFFF
        f = int(v.get(P.FNumber, 0xFFFF))
        shutter = int(v.get(F.ShutterSpeed, 0xFFFFFFFF))
        # hkr: MSB set = 1/N seconds; anything else is left to "auto" (1/250 s)
        exposure = (
            Fraction(1, shutter & 0x7FFFFFFF)
            if shutter != 0xFFFFFFFF and shutter & 0x80000000 and shutter & 0x7FFFFFFF
            else Fraction(1, 250)
        )
        program = int(v.get(P.ExposureProgramMode, 2))
        return {
            "make": "FUJIFILM",
            "model": self.profile.model,
            "software": f"Digital Camera {self.profile.model} Ver{self.profile.firmware}",
            "datetime": when,
            "iso": iso,
            "exposure_time": exposure,
            "f_number": Fraction(f, 100) if f != 0xFFFF else Fraction(56, 10),
            "exposure_bias": Fraction(int(v.get(P.ExposureBiasCompensation, 0)), 1000).limit_denominator(3),
            "exposure_program": program if program in (1, 2, 3, 4) else 2,
            "white_balance": 0 if int(v.get(P.WhiteBalance, 2)) == 2 else 1,
            "user_comment": labels.format_value(F.FilmSimulation, v.get(F.FilmSimulation, 1)),
        }

    def shoot(self, *, count: bool = True) -> tuple[bytes, st.StoredObject]:
        """Take a picture now: the 0x9022 preview and the full-size JPEG in the store.

        ``count=False`` (the pictures already on the card at start) leaves captures
        remaining at the profile's value, so a fresh camera reports the dumped state."""
        when = self.clock().replace(microsecond=0)
        t = self.scene_clock()
        subject = self.schedule.subject_at(t)
        stamp = when.strftime("%Y-%m-%d %H:%M:%S")
        w, h = self.profile.capture_size
        full = scene.render(w, h, t, self.settings_labels(), subject=subject, timestamp=stamp)
        data = jpeg.encode_jpeg(full, self.jpeg_quality, self.exif_fields(when))
        pw, ph = self.profile.preview_size
        preview = jpeg.encode_jpeg(full.resize((pw, ph)), 85)
        thumb = jpeg.thumbnail(data)
        with self.lock:
            name = self.store.next_filename(self.folder, prefix="DSCF")
            obj = self.store.add_image(
                STORAGE_ID,
                self.folder,
                name,
                data,
                image_size=(w, h),
                date=ptp_date(when),
                thumb=thumb,
                thumb_size=(160, 120),
            )
            if count:
                self.captures += 1
                left = int(self.values.get(F.CapturesRemaining, 0))
                self.values[F.CapturesRemaining] = max(0, left - 1)
            self.last_preview = preview
        return preview, obj

    def add_big_object(self, size: int) -> st.StoredObject:
        """A real JPEG grown to about ``size`` bytes (benchmarks of big downloads)."""
        _, obj = self.shoot(count=False)
        with self.lock:
            return self.store.add_image(
                STORAGE_ID,
                self.folder,
                "BIG_0001.JPG",
                jpeg.pad_jpeg(obj.data, size),
                image_size=obj.image_size,
                date=obj.capture_date,
            )
