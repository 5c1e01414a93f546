"""Fujifilm X cameras over Wi-Fi, behind the vendor-neutral :class:`~ptpd.camera.base.Camera` API.

Built on :class:`ptpd.fuji.link.FujiLink` (the three channels and the bring-up, which
learns what the body offers: :attr:`FujiLink.offer`) and the Fuji tables
(:mod:`ptpd.fuji.properties`, :mod:`ptpd.fuji.state`). Bodies differ by generation, so
nothing is assumed that a body did not say (docs/cameras.md):

* what it offers comes from its DeviceInfo where it sends one (the X-T4 sends an empty
  one over Wi-Fi, libgphoto2), its 0x902B property list where it answers one, the 0xD212
  list and the bring-up; an operation it refused with OperationNotSupported is not asked
  again, and what it lacks is :class:`Unsupported` at once;
* ``state`` is what 0xD212 reported — a whole state on the X-T1 (and on later bodies
  during open capture), a list of changes otherwise, so the entries are kept, a whole
  state replaces them and a list of changes updates them — together with the current
  values of the 0x902B list; 0xD212 entries that are event codes (ObjectAdded,
  CaptureComplete) go to the event subscribers;
* ``get`` is one GetDevicePropValue; "OK with no data" is the body saying "no value here"
  (real X-T2/X-T20 do it), so the value then comes from 0xD212 or 0x902B, else
  :class:`Unsupported`. ``set`` is one SetDevicePropValue checked against the cached
  description (:class:`~ptpd.camera.properties.DescCache`), with no read-back;
  ``describe`` asks the camera (0x1014, else 0x902B);
* what a body answers that cannot be read (a value, a description, an ObjectInfo) is an
  error on that command, :class:`Unsupported` with what was wrong: the byte stream around
  it was whole, so the session stays up;
* ``capture`` follows what the body reports (:mod:`ptpd.camera.fuji_capture`);
* objects are listed and downloaded with the standard operations where the body offers
  them (GetObjectHandles, GetObjectInfo, GetPartialObject, else GetObject).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING, Any

from ptpd.camera import base
from ptpd.camera.base import (
    Camera,
    CameraEvent,
    CameraInfo,
    LiveViewFrame,
    PropertyDesc,
    PropertyValue,
    RawResult,
    ReleaseGate,
    Shot,
)
from ptpd.camera.errors import ProtocolError, ResponseError, Unsupported
from ptpd.camera.fuji_capture import DELAY_SECONDS
from ptpd.camera.fuji_capture import capture as capture_shot
from ptpd.camera.fuji_objects import DOWNLOAD_CHUNK, FujiObjects
from ptpd.camera.jpeg import jpeg_size
from ptpd.camera.properties import CACHE_EVENT_QUEUE, REFUSED_VALUE, DescCache
from ptpd.fuji.bringup import CONTROL_STATE_CODES, WHOLE_STATE_MIN
from ptpd.fuji.codes import COMMAND_PORT, FujiEventCode, FujiOperationCode, FujiPropCode
from ptpd.fuji.events import Event
from ptpd.fuji.link import FujiLink, LiveFrame
from ptpd.fuji.properties import (
    PROPERTIES,
    FujiProperty,
    decode_value,
    encode_value,
    format_value,
    lookup,
    name_of,
    parse_value,
    reapplies,
)
from ptpd.fuji.state import StateEntry, decode_property_desc, decode_property_list
from ptpd.protocol.codes import DataType, EventCode, OperationCode, ResponseCode
from ptpd.protocol.datasets import DeviceInfo, DevicePropDesc, Enumeration, Range

if TYPE_CHECKING:
    from ptpd.camera.vendors import Target

log = logging.getLogger(__name__)

#: Fixed GUID of Fuji's own app (fuji-ptpip.md §3.1); a stable GUID keeps the pairing.
DEFAULT_GUID = bytes.fromhex("ada5485d87b27f0bd3d5ded00278a8c0")

#: Event names, stable snake_case: the standard ones and Fuji's own.
EVENT_NAMES: dict[int, str] = {
    **base.EVENT_NAMES,
    FujiEventCode.ObjectAdded: "object_added",
    FujiEventCode.PreviewAvailable: "preview_available",
}

#: Responses to GetDevicePropDesc after which the 0x902B list is asked instead.
_NO_DESC_CODES = (
    ResponseCode.DevicePropNotSupported,
    ResponseCode.OperationNotSupported,
    ResponseCode.ParameterNotSupported,
)
#: Properties whose new value is built from the current one (0xD17C keeps its upper 16
#: bits, meaning unknown): their set reads a fresh description first, as before.
_CURRENT_DEPENDENT = frozenset({FujiPropCode.FocusPoint})


def event_name(code: int) -> str:
    """The snake_case name of an event code (``event_0xC00F`` when unknown)."""
    return base.event_name(code, EVENT_NAMES)


class FujiCamera(FujiObjects, Camera):
    """A Fujifilm X body over Wi-Fi, of any generation (see the module docstring).

    ``event_port``/``liveview_port`` default to ``port + 1``/``port + 2``. ``guid`` (16
    bytes or UUID text; Fuji's app GUID when empty) and ``name`` identify this client to the
    camera (keep them stable: the camera remembers the name it accepted). ``on_pairing`` is
    called with a message while the camera asks its user to accept this client; the wait
    is bounded by ``pairing_timeout``.
    """

    vendor = "fuji"
    #: captures remaining (0xD229): the body's own count, in its state list
    shots_left_property = FujiPropCode.CapturesRemaining
    #: captures are read in the steps this dialect's downloads ask for (what a body
    #: takes in one GetPartialObject is not known)
    read_step = DOWNLOAD_CHUNK

    def __init__(
        self,
        host: str,
        port: int = COMMAND_PORT,
        event_port: int | None = None,
        liveview_port: int | None = None,
        *,
        guid: bytes | str | None = DEFAULT_GUID,
        name: str = "ptpd",
        pairing_timeout: float = 30.0,
        timeout: float = 30.0,
        on_pairing: Callable[[str], None] | None = None,
        **link_options: Any,
    ) -> None:
        self.link = FujiLink(
            host,
            port,
            event_port,
            liveview_port,
            guid=guid or DEFAULT_GUID,
            name=name,
            timeout=timeout,
            pairing_timeout=pairing_timeout,
            on_pairing=on_pairing,
            **link_options,
        )
        self.timeout = timeout
        self._descs: dict[int, DevicePropDesc] = {}  #: from 0x902B, refreshed by 0x1014
        #: the descriptions trusted to skip a 0x1014 (this session, no event against them)
        self._cache = DescCache()
        self._watch: Any = None
        self._watch_dropped = 0
        self._list_codes: tuple[int, ...] = ()
        self._list_offered: bool | None = None  #: 0x902B answered (None: not asked yet)
        self._state: dict[int, int] = {}  #: every value 0xD212 reported this session
        self._device_info: DeviceInfo | None = None
        self._device_info_tried = False
        self._refused: set[int] = set()  #: operations the body answered OperationNotSupported
        self._capture_lock = asyncio.Lock()

    @classmethod
    def from_target(cls, target: Target) -> FujiCamera:
        command, event, liveview = target.ports
        return cls(
            target.host,
            command,
            event_port=event,
            liveview_port=liveview,
            guid=target.guid,
            name=target.name,
            timeout=target.timeout,
            on_pairing=target.on_pairing,
        )

    # ------------------------------------------------------------------ session

    async def connect(self) -> None:
        await self.link.connect()
        self._start_watch()
        self._absorb(self.link.first_state)
        await self._device_info_offered()
        try:
            await self._load_property_list()
        except (ResponseError, Unsupported) as exc:
            # Not every body answers 0x902B; descriptions then come from 0x1014 alone.
            log.info("camera has no property list (0x902B): %s", exc)

    async def close(self) -> None:
        self._stop_watch()
        await self.link.close()

    def _start_watch(self) -> None:
        """A new session: empty cache, and our own view of the camera's events for it."""
        self._stop_watch()
        self._watch = self.link.subscribe(CACHE_EVENT_QUEUE)
        self._watch_dropped = 0

    def _stop_watch(self) -> None:
        if self._watch is not None:
            self.link.unsubscribe(self._watch)
            self._watch = None
        self._cache.clear()

    def _sync(self) -> None:
        """Apply the events that arrived since the last look to the description cache."""
        watch = self._watch
        if watch is None:
            return
        for ev in watch.drain():
            self._cache.event(ev.code, ev.params)
        if watch.ended:  # the event channel closed: nothing can be trusted now
            self._stop_watch()
            return
        if watch.dropped != self._watch_dropped:
            self._watch_dropped = watch.dropped
            self._cache.clear()  # events were lost: any description may be stale

    def _settle(self) -> None:
        self._sync()
        self._cache.settle()

    @property
    def connected(self) -> bool:
        return self.link.connected

    # ------------------------------------------------------------------ what the body offers

    async def _device_info_offered(self) -> DeviceInfo | None:
        if not self._device_info_tried:
            self._device_info_tried = True
            try:
                _, data = await self.link.transact(OperationCode.GetDeviceInfo)
                if data:  # the X-T4 sends an empty one over Wi-Fi (libgphoto2 fujiptpip.c)
                    self._device_info = DeviceInfo.decode(data, partial=True)
            except (ResponseError, ProtocolError) as exc:  # a refusal, or a dataset we cannot read
                log.info("no usable DeviceInfo from the camera: %s", exc)
        return self._device_info

    async def _load_property_list(self) -> tuple[DevicePropDesc, ...]:
        """0x902B (fresh current values); :class:`Unsupported` when the body has none."""
        if self._list_offered is False:
            raise Unsupported("camera has no property list (0x902B)")
        try:
            data = await self._op(FujiOperationCode.GetPropertyList)
        except (Unsupported, ResponseError):
            self._list_offered = False
            raise
        descs = _readable("property list (0x902B)", decode_property_list, data or b"\x00\x00\x00\x00")
        self._list_offered = True
        self._list_codes = tuple(int(d.code) for d in descs)
        self._sync()
        for d in descs:
            self._descs[int(d.code)] = d
            self._cache.put(d)
        return descs

    async def poll_state(self) -> tuple[StateEntry, ...] | None:
        """One 0xD212 poll, taken into the kept state; its event entries go to the event
        subscribers. None when the body offers no such list."""
        if not self.link.offer.state_list:
            return None
        entries = await self.link.read_state()
        if entries is None:
            log.warning("camera's 0xD212 answer cannot be read: state not updated")
            return None
        self._absorb(entries)
        return entries

    def _absorb(self, entries: tuple[StateEntry, ...]) -> None:
        props = {e.code for e in entries if not _is_event(e.code)}
        if len(props) >= WHOLE_STATE_MIN:
            for code in [c for c in self._state if c not in props and c not in CONTROL_STATE_CODES]:
                del self._state[code]  # a whole state: what it leaves out is not in force now
        for e in entries:
            if _is_event(e.code):
                # bodies that report captures in 0xD212 (an emulator of later bodies does)
                self.link.inject(Event(e.code, 0xFFFFFFFF, (e.value,)))
                continue
            if self._state.get(e.code) != e.value:
                self._cache.event(EventCode.DevicePropChanged, (e.code,))
            self._state[e.code] = e.value
            self._remember(e.code, e.value)

    def current_value(self, code: int, default: int = 0) -> int:
        """The last value of ``code`` seen in 0xD212 or 0x902B (no transaction)."""
        if code in self._state:
            return self._state[code]
        d = self._descs.get(code)
        return d.current if d is not None and isinstance(d.current, int) else default

    # ------------------------------------------------------------------ info

    async def _summary(self) -> tuple[str, str]:
        """Model and firmware from the 0xD228 blob (model at 40, firmware at 61) [X-T1 dump]."""
        try:
            _, data = await self.link.transact(OperationCode.GetDevicePropValue, (FujiPropCode.CameraSummary,))
        except ResponseError:
            return "", ""
        if not data:
            return "", ""

        def ascii_at(offset: int) -> str:
            if len(data) <= offset:
                return ""
            raw = data[offset:].split(b"\x00", 1)[0]
            return re.sub(r"[^\x20-\x7e]", "", raw.decode("ascii", "replace")).strip()

        return ascii_at(40), ascii_at(61)

    async def info(self) -> CameraInfo:
        descs: tuple[DevicePropDesc, ...] = ()
        with contextlib.suppress(ResponseError, Unsupported):
            descs = await self._load_property_list()  # fresh current values
        di = await self._device_info_offered()
        ack = self.link.camera
        model = di.model if di and di.model else ""
        version = di.device_version if di and di.device_version else ""
        if not model or not version:
            m, v = await self._summary()
            model = model or m or (ack.name if ack else "")
            version = version or v
        extra: dict[str, Any] = {
            "app_version": f"0x{self.link.app_version:08X}" if self.link.app_version is not None else "",
            "camera_name": ack.name if ack else "",
            "camera_guid": ack.guid.hex() if ack else "",
            "camera_protocol_version": f"0x{ack.version:08X}" if ack else "",
            "paired_with_prompt": self.link.paired_with_prompt,
            "offers": {
                **self.link.offer.as_dict(),
                "device_info": "full" if di is not None else "empty or refused",
                "property_list": bool(self._list_offered),
            },
            "property_list": [
                {
                    "code": f"0x{int(d.code):04X}",
                    "name": lookup(int(d.code)).name,
                    "value": d.current,
                    "label": lookup(int(d.code)).format(d.current),  # type: ignore[arg-type]  # Fuji's values are ints
                }
                for d in descs
            ],
        }
        props = tuple(dict.fromkeys(list(self._list_codes) + list(di.device_properties_supported if di else ())))
        return CameraInfo(
            vendor="fuji",
            # as the bodies spell it in a DeviceInfo (the X-H1's USB one) and in EXIF
            manufacturer=(di.manufacturer if di and di.manufacturer else "FUJIFILM"),
            model=model,
            version=version,
            serial=di.serial_number if di else "",
            extension=di.vendor_extension_desc if di else "",
            operations=tuple(di.operations_supported) if di else (),
            events=tuple(di.events_supported) if di else (),
            properties=props,
            capture_formats=tuple(di.capture_formats) if di else (),
            image_formats=tuple(di.image_formats) if di else (),
            extra=extra,
        )

    async def property_names(self) -> list[str]:
        names = [p.name for p in PROPERTIES]
        for code in self._list_codes:
            n = lookup(code).name
            if n not in names:
                names.append(n)
        return names

    # ------------------------------------------------------------------ properties

    async def _fetch_desc(self, code: int) -> DevicePropDesc | None:
        """A fresh description: 0x1014, else this property's entry of a fresh 0x902B;
        ``None`` when the camera has none (X-T1 quirk 13: OK with no data)."""
        try:
            _, data = await self.link.transact(OperationCode.GetDevicePropDesc, (code,))
        except ResponseError as exc:
            if exc.code not in _NO_DESC_CODES:
                raise
            data = None
        if data:
            desc = _readable(f"description of 0x{code:04X}", decode_property_desc, data)
            self._descs[code] = desc
        else:
            if self._list_offered:
                with contextlib.suppress(ResponseError, Unsupported):
                    await self._load_property_list()
            desc = self._descs.get(code)
        if desc is not None:
            self._cache.put(desc)
        return desc

    def _value(self, prop: FujiProperty, raw: int | str, datatype: int | None = None) -> PropertyValue:
        dt = int(datatype if datatype is not None else prop.datatype)
        return PropertyValue(code=prop.code, name=prop.name, value=raw, label=prop.format(raw), datatype=dt)

    async def describe(self, prop: str | int) -> PropertyDesc:
        """A fresh description from the camera (one 0x1014, or 0x902B where 0x1014 has none)."""
        p = lookup(prop)
        self._sync()
        try:
            desc = await self._fetch_desc(p.code)
        finally:
            self._settle()
        if desc is None:
            raise Unsupported(f"camera cannot describe property {p.name} (0x{p.code:04X})")
        return self._to_desc(p, desc)

    def _to_desc(self, p: FujiProperty, d: DevicePropDesc) -> PropertyDesc:
        dt = int(d.datatype)
        form = "none"
        allowed: tuple[tuple[int | str, str], ...] = ()
        rng: tuple[int, int, int] | None = None
        if isinstance(d.form, Enumeration):
            form = "enum"
            allowed = tuple((v, p.format(v)) for v in d.form.values)  # type: ignore[misc,arg-type]  # single values (generic.py)
        elif isinstance(d.form, Range):
            form = "range"
            rng = (int(d.form.minimum), int(d.form.maximum), int(d.form.step))  # type: ignore[arg-type]  # integers: a range form is numeric
        return PropertyDesc(
            code=p.code,
            name=p.name,
            datatype=dt,
            writable=d.writable,
            current=self._value(p, d.current, dt),  # type: ignore[arg-type]  # Fuji's values are ints
            default=self._value(p, d.factory_default, dt),  # type: ignore[arg-type]  # as above
            form=form,
            allowed=allowed,
            range=rng,
        )

    def _datatype(self, p: FujiProperty) -> int | None:
        d = self._descs.get(p.code)
        if d is not None:
            return int(d.datatype)
        return None if p.datatype == DataType.UNDEF else int(p.datatype)

    async def get(self, prop: str | int) -> PropertyValue:
        """One GetDevicePropValue; when the body answers it with no data ("no value here"),
        the value 0xD212 or 0x902B reports, else :class:`Unsupported`."""
        p = lookup(prop)
        if p.code == FujiPropCode.CurrentState:
            raise ValueError("0xD212 is the state list: use state()")
        self._sync()
        try:
            _, data = await self.link.transact(OperationCode.GetDevicePropValue, (p.code,))
        finally:
            self._settle()
        dt = self._datatype(p)
        if not data:
            raw, dt = await self._value_elsewhere(p)
        else:
            raw = decode_value(p, data, dt)
            self._remember(p.code, raw)
        return self._value(p, raw, dt if dt is not None else _size_datatype(len(data or b"")))

    async def _value_elsewhere(self, p: FujiProperty) -> tuple[int | str, int | None]:
        """A value the body would not give by GetDevicePropValue: from 0xD212, then 0x902B."""
        await self.poll_state()
        if p.code in self._state:
            return self._state[p.code], self._datatype(p) or DataType.UINT32
        if self._list_offered:
            with contextlib.suppress(ResponseError, Unsupported):
                await self._load_property_list()
            d = self._descs.get(p.code)
            if d is not None and p.code in self._list_codes:
                return d.current, int(d.datatype)  # type: ignore[return-value]  # Fuji's values are ints
        raise Unsupported(
            f"camera has no value for {p.name} (0x{p.code:04X}): it answers GetDevicePropValue with "
            "no data and lists the property neither in 0xD212 nor in 0x902B"
        )

    def _remember(self, code: int, raw: int | str) -> None:
        """Keep the last value seen in ``_descs`` (the self-timer delay of ``capture``)."""
        d = self._descs.get(code)
        if d is not None and d.current != raw:
            self._descs[code] = d.with_current(raw)

    async def set(self, prop: str | int, value: str | int) -> PropertyValue:
        """Check ``value`` against the (cached) description, then one SetDevicePropValue.

        Returns the value just set: the camera answered OK to exactly it (no read-back).
        """
        p = lookup(prop)
        self._sync()
        desc = None if p.code in _CURRENT_DEPENDENT else self._cache.get(p.code)
        asked = desc is None  # a round trip happens (the cache's echo rule counts them)
        try:
            if desc is None:
                desc = await self._fetch_desc(p.code)
            if desc is None and p.datatype == DataType.UNDEF:
                # Unknown property and no description: learn its size from its value.
                current = await self.get(p.code)
                dt = current.datatype
                raw = p.parse(value, current.value)
            else:
                if desc is not None and not desc.writable:
                    raise ValueError(f"{p.name} is read-only")
                raw = _parse_for(p, value, desc)
                dt = int(desc.datatype) if desc is not None else int(p.datatype)
            payload = encode_value(p, raw, dt)
            self._cache.wrote(p.code)
            asked = True
            try:
                await self.link.transact(OperationCode.SetDevicePropValue, (p.code,), payload)
            except BaseException as exc:
                self._cache.unwrote(p.code)
                if isinstance(exc, ResponseError) and exc.code in REFUSED_VALUE:
                    self._cache.drop(p.code)  # the camera knows better than our copy
                raise
            self._remember(p.code, raw)
            if p.code in self._state and isinstance(raw, int):
                self._state[p.code] = raw & 0xFFFFFFFF
            return self._value(p, raw, dt)
        finally:
            if asked:
                self._settle()
            else:
                self._sync()  # refused here: no round trip, an armed echo keeps its chance

    def reapplies(self, code: int) -> bool:
        """From the Fuji table: a focus lock, a geotag and the bring-up values are not
        set again after a reconnect; codes it does not know answer as standard ones."""
        return reapplies(code)

    async def state(self) -> list[PropertyValue]:
        """The settings the body reported: every 0xD212 value seen this session (one poll
        now), then the current values of the 0x902B list for what 0xD212 did not name."""
        await self.poll_state()
        if any(code not in self._state for code in self._list_codes):
            with contextlib.suppress(ResponseError, Unsupported):
                await self._load_property_list()
        values: dict[int, tuple[int | str, int]] = {c: (v, DataType.UINT32) for c, v in self._state.items()}
        for code in self._list_codes:
            d = self._descs.get(code)
            if d is not None and code not in values:
                values[code] = (d.current, int(d.datatype))  # type: ignore[assignment]  # Fuji's values are ints
        if not values and not self.link.offer.state_list and not self._list_offered:
            raise Unsupported("camera offers neither a state list (0xD212) nor a property list (0x902B)")
        return [
            PropertyValue(code=code, name=name_of(code), value=v, label=format_value(code, v), datatype=dt)
            for code, (v, dt) in values.items()
        ]

    async def keepalive(self) -> None:
        """One 0xD212 poll where the body has the list (it also brings the changes and the
        events it reports there), else a battery read."""
        if self.link.offer.state_list:
            await self.poll_state()
        else:
            await self.get("battery")

    async def set_liveview_size(self, size: str) -> PropertyValue:
        """Live-view image size (0xD174), e.g. ``"640x480"`` or ``"vga"``."""
        return await self.set("liveview-size", size)

    # ------------------------------------------------------------------ focus / stepping

    async def set_focus_point(self, x: int, y: int) -> PropertyValue:
        """Move the focus point to column ``x``, row ``y`` (0xD17C, keeping its upper bits)."""
        return await self.set("focusmtr", f"{x}x{y}")

    async def reset_focus_point(self) -> RawResult:
        """Fuji ResetFocusPoint (0x9027; defined by malc0mn, untested on a body)."""
        return await self.raw(FujiOperationCode.ResetFocusPoint)

    async def step_aperture(self, close: bool) -> RawResult:
        """One 1/3-stop aperture step (0x902D; param 0 opens, 1 closes, per hkr)."""
        return await self.raw(FujiOperationCode.SetAperture, (1 if close else 0,))

    async def step_shutter_speed(self, faster: bool) -> RawResult:
        """One shutter-speed step (0x902C; param meaning assumed like 0x902D) [?]."""
        return await self.raw(FujiOperationCode.SetShutterSpeed, (1 if faster else 0,))

    async def step_exposure_compensation(self, up: bool) -> RawResult:
        """One exposure-compensation step (0x902E; param meaning assumed like 0x902D) [?]."""
        return await self.raw(FujiOperationCode.SetExposureCompensation, (1 if up else 0,))

    # ------------------------------------------------------------------ capture

    def capture_wait(self) -> float:
        return self.timeout + DELAY_SECONDS.get(self.current_value(0x5012, 0), 0)

    async def capture(self, gate: ReleaseGate | None = None) -> Shot:
        """One shot, followed the way the body reports it (:mod:`ptpd.camera.fuji_capture`):
        the preview where it offers one and, where it names or lists its objects, the new
        object's handle and entry. ``gate``: see :meth:`Camera.capture` (after the
        listing, right before InitiateCapture)."""
        async with self._capture_lock:
            return await capture_shot(self, gate)

    # ------------------------------------------------------------------ raw, events, live view

    async def raw(self, code: int, params: tuple[int, ...] = (), data: bytes | None = None) -> RawResult:
        resp, data_in = await self.link.transact(code, tuple(params), data, check=False)
        return RawResult(code=resp.code, params=resp.params, data=data_in or b"")

    async def events(self) -> AsyncGenerator[CameraEvent, None]:
        async for ev in self.link.events():
            self._sync()  # keeps the cache's queue short while someone listens
            yield CameraEvent(
                name=event_name(ev.code),
                code=ev.code,
                params=ev.params,
                transaction_id=ev.transaction_id,
                time=time.monotonic(),
            )

    def _check_liveview(self) -> None:
        if not self.link.offer.remote:
            raise Unsupported(
                "this camera offers no live view over Wi-Fi: it has no remote mode (0xDF24 empty)"
                if self.link.offer.remote_version is None
                else "this camera offers no live view: it refused InitiateOpenCapture"
            )

    async def liveview(self) -> AsyncGenerator[LiveViewFrame, None]:
        self._check_liveview()
        gen = self.link.liveview()
        try:
            async for f in gen:
                yield _liveview_frame(f)
        finally:
            await gen.aclose()

    async def liveview_to(self, sink: Callable[[LiveViewFrame], None]) -> None:
        # straight from the socket's read callback: no queue or task between camera and sink
        self._check_liveview()
        await self.link.liveview_to(lambda f: sink(_liveview_frame(f)))


def _is_event(code: int) -> bool:
    """0xD212 entries whose code is an event's (0x4xxx standard, 0xCxxx Fuji), not a property's."""
    return 0x4000 <= code <= 0x4FFF or 0xC000 <= code <= 0xCFFF


def _readable(what: str, decode: Callable[[Any], Any], data: Any) -> Any:
    """``decode(data)``; what cannot be read is :class:`Unsupported` for this command (the
    stream around it was whole: the session stays up)."""
    try:
        return decode(data)
    except ProtocolError as exc:
        raise Unsupported(f"camera's {what} cannot be read: {exc}") from exc


def _liveview_frame(f: LiveFrame) -> LiveViewFrame:
    jpeg = f.jpeg
    w, h = jpeg_size(jpeg)
    return LiveViewFrame(counter=f.counter, time=f.time, jpeg=jpeg, width=w, height=h)


def _size_datatype(n: int) -> int:
    return {1: DataType.UINT8, 2: DataType.UINT16, 4: DataType.UINT32}.get(n, DataType.STR)


def _parse_for(p: FujiProperty, value: str | int, desc: DevicePropDesc | None) -> int | str:
    """Parse with the description; for text properties, accept size aliases by rank."""
    if desc is not None and int(desc.datatype) == DataType.STR and isinstance(desc.form, Enumeration):
        allowed = [str(v) for v in desc.form.values]
        text = str(value).strip().lower()
        for v in allowed:
            if v.lower() == text:
                return v
        rank = {"qvga": 0, "small": 0, "vga": 1, "medium": 1, "xga": 2, "large": 2}.get(text)
        if rank is not None and allowed:
            by_area = sorted(allowed, key=_area)
            return by_area[min(rank, len(by_area) - 1)]
        raise ValueError(f"{p.name}: {value!r} is not allowed; allowed: {', '.join(allowed)}")
    return parse_value(p, value, desc)


def _area(label: str) -> int:
    m = re.match(r"(\d+)x(\d+)", label)
    return int(m.group(1)) * int(m.group(2)) if m else 0


__all__ = ["DEFAULT_GUID", "EVENT_NAMES", "FujiCamera", "event_name"]
