"""The generic simulated camera: PTP operations in, responses, data and events out.

No sockets here. :class:`GenericCamera` holds what survives between sessions (the card's
objects, the property values, the clock); :class:`CameraSession` is one PTP session on
one PTP/IP connection pair. The server (:mod:`ptpd.simulator.server`) feeds it one
operation at a time with :meth:`CameraSession.handle` and carries out the :class:`Reply`:
the data phase (if any), the response, and then the events.

A capture is two steps so the server stays responsive: ``InitiateCapture`` answers OK at
once with a :class:`CaptureJob`; the server waits the capture delay, calls
:meth:`GenericCamera.complete_capture` (in a worker thread: rendering a JPEG takes CPU)
and sends the events it returns (ObjectAdded, then CaptureComplete, both tagged with the
InitiateCapture's TransactionID; ptp.md §5).

Bad requests get PTP response codes, never an exception out of :meth:`handle`.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

from PIL import Image

from ptpd.protocol import datasets
from ptpd.protocol.codes import DevicePropCode as P
from ptpd.protocol.codes import EventCode, FormFlag, ObjectFormat, OperationCode, ResponseCode
from ptpd.protocol.errors import ProtocolError
from ptpd.protocol.properties import FOCUS_INFINITY, format_value
from ptpd.simulator import jpeg, objects, scene
from ptpd.simulator import properties as props
from ptpd.simulator import store as st

log = logging.getLogger(__name__)

ALL = 0xFFFFFFFF
NO_TRANSACTION = 0xFFFFFFFF
DEFAULT_MODEL = "ptpd Virtual Camera"
MANUFACTURER = "ptpd"
PHOTO_FOLDER = "100PTPD"

OP = OperationCode
RC = ResponseCode

#: What the generic camera implements, in DeviceInfo order. Advertising GetPartialObject
#: makes gphoto2 download in 1 MiB GetPartialObject steps (ptpip.md §7).
SUPPORTED_OPERATIONS: tuple[int, ...] = (
    OP.GetDeviceInfo,
    OP.OpenSession,
    OP.CloseSession,
    OP.GetStorageIDs,
    OP.GetStorageInfo,
    OP.GetNumObjects,
    OP.GetObjectHandles,
    OP.GetObjectInfo,
    OP.GetObject,
    OP.GetThumb,
    OP.DeleteObject,
    OP.InitiateCapture,
    OP.GetDevicePropDesc,
    OP.GetDevicePropValue,
    OP.SetDevicePropValue,
    OP.ResetDevicePropValue,
    OP.GetPartialObject,
)
SUPPORTED_EVENTS: tuple[int, ...] = (
    EventCode.ObjectAdded,
    EventCode.DevicePropChanged,
    EventCode.CaptureComplete,
)
#: Number of parameters each operation defines; non-zero extras are ParameterNotSupported.
_PARAM_COUNT: dict[int, int] = {
    OP.GetDeviceInfo: 0,
    OP.OpenSession: 1,
    OP.CloseSession: 0,
    OP.GetStorageIDs: 0,
    OP.GetStorageInfo: 1,
    OP.GetNumObjects: 3,
    OP.GetObjectHandles: 3,
    OP.GetObjectInfo: 1,
    OP.GetObject: 1,
    OP.GetThumb: 1,
    OP.DeleteObject: 2,
    OP.InitiateCapture: 2,
    OP.GetDevicePropDesc: 1,
    OP.GetDevicePropValue: 1,
    OP.SetDevicePropValue: 1,
    OP.ResetDevicePropValue: 1,
    OP.GetPartialObject: 3,
}
#: Operations that carry a data phase from the initiator.
DATA_OUT_OPERATIONS = frozenset({OP.SetDevicePropValue, OP.SendObjectInfo, OP.SendObject})


# -- still images ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StillSettings:
    """The settings in force when a picture is taken: they go into the pixels and the EXIF."""

    width: int
    height: int
    iso: int
    exposure_time: int  #: 1/10000 s
    f_number: int  #: x100
    white_balance: int  #: PTP WhiteBalance
    exposure_bias: int  #: 1/1000 EV
    exposure_program: int
    flash_mode: int
    effect: int  #: EffectMode: 1 standard, 2 black and white, 3 sepia
    when: _dt.datetime
    sequence: int
    manufacturer: str = MANUFACTURER
    model: str = DEFAULT_MODEL
    quality: int = 85
    #: FocusDistance (mm, 0xFFFF infinity) in manual focus; None: autofocus, all sharp
    focus_mm: int | None = None


THUMB_SIZE = (160, 120)
#: FocusMode value of manual focus (ISO 15740 §13.5.10)
MANUAL_FOCUS = 1
#: PTP ExposureProgramMode -> EXIF ExposureProgram (1 manual, 2 normal, 3 A, 4 S)
_PROGRAM_EXIF = {1: 1, 2: 2, 3: 3, 4: 4}


def still_labels(s: StillSettings) -> dict[str, str]:
    """The settings as the human labels the scene prints and reacts to (the standard table's)."""
    return {
        "iso": str(s.iso),
        "exposure": format_value(P.ExposureTime, s.exposure_time),
        "f-number": format_value(P.FNumber, s.f_number),
        "exp-bias": format_value(P.ExposureBiasCompensation, s.exposure_bias),
        "whitebalance": format_value(P.WhiteBalance, s.white_balance),
        "effect": format_value(P.EffectMode, s.effect),
    }


def still_exif(s: StillSettings) -> dict[str, object]:
    """EXIF fields (:func:`ptpd.simulator.jpeg.encode_jpeg` keys) for the settings in force."""
    labels = still_labels(s)
    return {
        "make": s.manufacturer,
        "model": s.model,
        "software": "ptpd simulator",
        "datetime": s.when,
        "iso": s.iso,
        "exposure_time": Fraction(s.exposure_time, 10000),
        "f_number": Fraction(s.f_number, 100),
        "exposure_bias": Fraction(s.exposure_bias, 1000),
        "exposure_program": _PROGRAM_EXIF.get(s.exposure_program, 0),
        # EXIF WhiteBalance only knows auto (0) / manual (1); the preset goes in the description.
        "white_balance": 0 if s.white_balance == 2 else 1,
        "description": f"whitebalance={labels['whitebalance']}; effect={labels['effect']}",
    }


def render_still(s: StillSettings) -> tuple[bytes, bytes, tuple[int, int]]:
    """A real JPEG of the scene with the settings in its EXIF, its JPEG thumbnail and the thumbnail's size."""
    focus = None if s.focus_mm is None else (math.inf if s.focus_mm == FOCUS_INFINITY else s.focus_mm / 1000)
    img = scene.render(
        s.width,
        s.height,
        float(s.sequence),
        still_labels(s),
        seed=0,
        timestamp=f"#{s.sequence:04d}  {s.when:%Y-%m-%d %H:%M:%S}",
        focus=focus,
    )
    data = jpeg.encode_jpeg(img, quality=s.quality, exif=still_exif(s))
    thumb = jpeg.thumbnail(data, THUMB_SIZE)
    with Image.open(io.BytesIO(thumb)) as t:
        size = t.size
    return data, thumb, size


@dataclass(frozen=True, slots=True)
class EventOut:
    """An event to send on the event connection."""

    code: int
    transaction_id: int = NO_TRANSACTION
    params: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class CaptureJob:
    """A capture that was accepted and still has to happen."""

    transaction_id: int
    delay_s: float  #: the CaptureDelay property in force
    settings: StillSettings


@dataclass(frozen=True, slots=True)
class Reply:
    """The outcome of one operation.

    ``data`` is the data-in payload (``None`` = no data phase); ``events`` go out after
    the response; ``capture`` asks the server to run a capture after the response.
    """

    code: int
    params: tuple[int, ...] = ()
    data: bytes | memoryview | None = None
    events: tuple[EventOut, ...] = ()
    capture: CaptureJob | None = None
    close_session: bool = False


@dataclass
class CameraConfig:
    """What makes one simulated camera differ from another."""

    model: str = DEFAULT_MODEL
    manufacturer: str = MANUFACTURER
    version: str = "1.0"
    serial: str = ""
    initial_images: int = 3
    big_object_mb: float = 0.0
    #: every picture the camera takes (and the card's first ones) grown to about this many
    #: MiB with padding segments, a real JPEG still (a camera's 12 MB JPEG or 50 MB RAW
    #: costs its size on the link, not to render); 0: as encoded
    image_mb: float = 0.0
    image_sizes: tuple[str, ...] = ("1600x1200", "1024x768", "640x480")
    jpeg_quality: int = 85
    storage_capacity: int = 32 * 1024**3


class GenericCamera:
    """Device state shared by all sessions: store, properties, clock, capture counter."""

    def __init__(
        self,
        config: CameraConfig | None = None,
        *,
        clock: Callable[[], _dt.datetime] = _dt.datetime.now,
    ) -> None:
        self.config = config or CameraConfig()
        if not self.config.serial:
            self.config.serial = hashlib.sha1(self.config.model.encode()).hexdigest()[:12].upper()
        self.properties = props.PropertyTable(props.standard_specs(self.config.image_sizes), clock=clock)
        self.store = st.ObjectStore(
            [st.Storage(0x00010001, "SD card", "PTPD_SIM", max_capacity=self.config.storage_capacity)]
        )
        self.storage_id = 0x00010001
        # The card and the capture counter are touched by capture threads too.
        self.lock = threading.RLock()
        self.captures = 0
        self.capturing = False
        self._populate()

    # -- the card at start ----------------------------------------------------------

    def _populate(self) -> None:
        date = props.ptp_datetime(self.properties.now())
        dcim = self.store.add_folder(self.storage_id, st.ROOT, "DCIM", date=date)
        self.photo_folder = self.store.add_folder(self.storage_id, dcim.handle, PHOTO_FOLDER, date=date).handle
        for _ in range(self.config.initial_images):
            self._shoot(self.current_settings())
        if self.config.big_object_mb > 0:
            base = self._render(self.current_settings())
            data = jpeg.pad_jpeg(base[0], int(self.config.big_object_mb * 1024 * 1024))
            self._store_image(self.current_settings(), (data, base[1], base[2]), name="BIG_0001.JPG")

    def current_settings(self) -> StillSettings:
        p = self.properties
        w, _, h = str(p.get(P.ImageSize)).partition("x")
        return StillSettings(
            width=int(w),
            height=int(h),
            iso=int(p.get(P.ExposureIndex)),
            exposure_time=int(p.get(P.ExposureTime)),
            f_number=int(p.get(P.FNumber)),
            white_balance=int(p.get(P.WhiteBalance)),
            exposure_bias=int(p.get(P.ExposureBiasCompensation)),
            exposure_program=int(p.get(P.ExposureProgramMode)),
            flash_mode=int(p.get(P.FlashMode)),
            effect=int(p.get(P.EffectMode)),
            when=p.now().replace(microsecond=0),
            sequence=self.captures + 1,
            manufacturer=self.config.manufacturer,
            model=self.config.model,
            quality=self.config.jpeg_quality,
            # the lens stays where it was put only in manual focus; autofocus finds the subject
            focus_mm=int(p.get(P.FocusDistance)) if int(p.get(P.FocusMode)) == MANUAL_FOCUS else None,
        )

    def _render(self, settings: StillSettings) -> tuple[bytes, bytes, tuple[int, int]]:
        return render_still(settings)

    def _store_image(
        self, settings: StillSettings, rendered: tuple[bytes, bytes, tuple[int, int]], name: str | None = None
    ) -> st.StoredObject:
        data, thumb, thumb_size = rendered
        with self.lock:
            filename = name or self.store.next_filename(self.photo_folder)
            return self.store.add_image(
                self.storage_id,
                self.photo_folder,
                filename,
                data,
                image_size=(settings.width, settings.height),
                date=props.ptp_datetime(settings.when),
                thumb=thumb,
                thumb_size=thumb_size,
            )

    def _shoot(self, settings: StillSettings) -> st.StoredObject:
        data, thumb, thumb_size = self._render(settings)
        if self.config.image_mb > 0:
            data = jpeg.pad_jpeg(data, int(self.config.image_mb * 1024 * 1024))
        obj = self._store_image(settings, (data, thumb, thumb_size))
        with self.lock:
            self.captures += 1
            # The battery drains a little with every shot (never below 5 %).
            level = int(self.properties.get(P.BatteryLevel))
            if self.captures % 5 == 0 and level > 5:
                self.properties.set(P.BatteryLevel, level - 1, force=True)
        return obj

    def press_shutter(self) -> tuple[EventOut, ...]:
        """The photographer presses the shutter button on the body: a picture no host asked
        for, with the settings in force. The events to send every connected host:
        ObjectAdded outside any transaction (StoreFull when the card has no room).
        Thread-safe."""
        with self.lock:
            settings = self.current_settings()
        try:
            obj = self._shoot(settings)
        except st.StoreFull:
            return (EventOut(EventCode.StoreFull, NO_TRANSACTION, (self.storage_id,)),)
        log.info("shutter pressed on the body: %s (handle 0x%08X)", obj.filename, obj.handle)
        return (EventOut(EventCode.ObjectAdded, NO_TRANSACTION, (obj.handle,)),)

    def complete_capture(self, job: CaptureJob) -> tuple[EventOut, ...]:
        """Take the picture of an accepted capture; the events to send. Thread-safe."""
        try:
            obj = self._shoot(job.settings)
        except st.StoreFull:
            return (EventOut(EventCode.StoreFull, job.transaction_id, (self.storage_id,)),)
        finally:
            with self.lock:
                self.capturing = False
        return (
            EventOut(EventCode.ObjectAdded, job.transaction_id, (obj.handle,)),
            EventOut(EventCode.CaptureComplete, job.transaction_id),
        )

    # -- datasets ---------------------------------------------------------------------

    def device_info(self) -> bytes:
        return datasets.DeviceInfo(
            standard_version=100,
            vendor_extension_id=0,
            vendor_extension_version=0,
            vendor_extension_desc="",
            functional_mode=0,
            operations_supported=SUPPORTED_OPERATIONS,
            events_supported=SUPPORTED_EVENTS,
            device_properties_supported=tuple(self.properties.codes),
            capture_formats=(ObjectFormat.EXIF_JPEG,),
            image_formats=(ObjectFormat.Association, ObjectFormat.EXIF_JPEG),
            manufacturer=self.config.manufacturer,
            model=self.config.model,
            device_version=self.config.version,
            serial_number=self.config.serial,
        ).encode()

    def storage_info(self, storage_id: int) -> bytes:
        return objects.storage_info(self.store, storage_id)

    object_info = staticmethod(objects.object_info)

    def prop_desc(self, code: int) -> bytes:
        spec = self.properties.spec(code)
        form: datasets.Range | datasets.Enumeration | None = None
        if spec.form == FormFlag.Range:
            assert spec.range is not None
            form = datasets.Range(*spec.range)
        elif spec.form == FormFlag.Enumeration:
            form = datasets.Enumeration(spec.values)
        return datasets.DevicePropDesc(
            code=spec.code,
            datatype=spec.datatype,
            get_set=1 if spec.writable else 0,
            factory_default=spec.default,
            current=self.properties.get(code),
            form=form,
        ).encode()


@dataclass
class CameraSession:
    """One PTP session on one PTP/IP connection pair."""

    camera: GenericCamera
    session_id: int | None = None
    transactions: int = field(default=0)

    @property
    def is_open(self) -> bool:
        return self.session_id is not None

    def handle(self, code: int, transaction_id: int, params: tuple[int, ...], data: bytes | None = None) -> Reply:
        """Run one operation. ``data`` is the data-out payload when the initiator sent one."""
        self.transactions += 1
        try:
            # Capture threads add objects and drain the battery: one operation sees one state.
            with self.camera.lock:
                return self._dispatch(code, transaction_id, params, data)
        except st.StoreError as exc:
            return Reply(exc.code)
        except props.UnknownProperty:
            return Reply(RC.DevicePropNotSupported)
        except props.ReadOnly:
            return Reply(RC.AccessDenied)
        except props.InvalidValue:
            return Reply(RC.InvalidDevicePropValue)
        except Exception:  # a bug must cost one transaction, not the connection
            log.exception("operation 0x%04X failed", code)
            return Reply(RC.GeneralError)

    def _dispatch(self, code: int, tid: int, params: tuple[int, ...], data: bytes | None) -> Reply:
        handler = _HANDLERS.get(code)
        if handler is None:
            return Reply(RC.OperationNotSupported)
        if any(p != 0 for p in params[_PARAM_COUNT[code] :]):
            return Reply(RC.ParameterNotSupported)
        if code not in (OP.GetDeviceInfo, OP.OpenSession) and not self.is_open:
            return Reply(RC.SessionNotOpen)
        p = tuple(params) + (0,) * (5 - len(params))
        return handler(self, tid, p, data)

    # -- handlers -------------------------------------------------------------------------

    def _get_device_info(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        return Reply(RC.OK, data=self.camera.device_info())

    def _open_session(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        if p[0] == 0:
            return Reply(RC.InvalidParameter)
        if self.session_id is not None:
            return Reply(RC.SessionAlreadyOpen, (self.session_id,))
        self.session_id = p[0]
        return Reply(RC.OK)

    def _close_session(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        self.session_id = None
        return Reply(RC.OK, close_session=True)

    def _initiate_capture(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        storage_id, fmt = p[0], p[1]
        cam = self.camera
        if storage_id not in (0, cam.storage_id):
            return Reply(RC.InvalidStorageID)
        if fmt not in (0, ObjectFormat.EXIF_JPEG):
            return Reply(RC.InvalidObjectFormatCode)
        with cam.lock:
            if cam.capturing:
                return Reply(RC.DeviceBusy)
            if cam.store.free_bytes(cam.storage_id) < 1024 * 1024:
                return Reply(RC.StoreFull)
            cam.capturing = True
            settings = cam.current_settings()
        delay = int(cam.properties.get(P.CaptureDelay)) / 1000
        return Reply(RC.OK, capture=CaptureJob(tid, delay, settings))

    def _get_prop_desc(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        return Reply(RC.OK, data=self.camera.prop_desc(p[0]))

    def _get_prop_value(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        return Reply(RC.OK, data=self.camera.properties.get_encoded(p[0]))

    def _set_prop_value(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        code = p[0]
        table = self.camera.properties
        table.spec(code)  # unknown code first: DevicePropNotSupported
        if data is None:
            return Reply(RC.InvalidDevicePropFormat)
        try:
            changed = table.set_encoded(code, data)
        except ProtocolError:
            return Reply(RC.InvalidDevicePropFormat)
        events = (EventOut(EventCode.DevicePropChanged, NO_TRANSACTION, (code,)),) if changed else ()
        return Reply(RC.OK, events=events)

    def _reset_prop_value(self, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
        table = self.camera.properties
        codes = table.codes if p[0] == ALL else [table.spec(p[0]).code]
        changed = [c for c in codes if table.reset(c)]
        return Reply(RC.OK, events=tuple(EventOut(EventCode.DevicePropChanged, NO_TRANSACTION, (c,)) for c in changed))


_HANDLERS: dict[int, Callable[[CameraSession, int, tuple[int, ...], bytes | None], Reply]] = {
    # storage and object operations: the same on every camera
    **objects.session_handlers(lambda s: s.camera, lambda a: Reply(a.code, a.params, a.data)),
    OP.GetDeviceInfo: CameraSession._get_device_info,
    OP.OpenSession: CameraSession._open_session,
    OP.CloseSession: CameraSession._close_session,
    OP.InitiateCapture: CameraSession._initiate_capture,
    OP.GetDevicePropDesc: CameraSession._get_prop_desc,
    OP.GetDevicePropValue: CameraSession._get_prop_value,
    OP.SetDevicePropValue: CameraSession._set_prop_value,
    OP.ResetDevicePropValue: CameraSession._reset_prop_value,
}
assert set(_HANDLERS) == set(SUPPORTED_OPERATIONS) == set(_PARAM_COUNT)
