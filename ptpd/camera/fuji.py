"""Fujifilm X cameras over Wi-Fi, behind the vendor-neutral :class:`~ptpd.camera.base.Camera` API.

Built on :class:`ptpd.fuji.link.FujiLink` (the three channels and the bring-up) and the
Fuji tables (:mod:`ptpd.fuji.properties`, :mod:`ptpd.fuji.state`). What is Fuji-specific
and why (fuji-ptpip.md):

* the property descriptions are fetched with 0x902B right after bring-up, since some
  0x1014 descriptions are incomplete before it (§5.2 quirk);
* ``state`` is the 0xD212 list (§5.5);
* descriptions are cached per session (:class:`~ptpd.camera.properties.DescCache`, the
  same rules as the generic camera): ``get`` is one GetDevicePropValue, ``set`` one
  SetDevicePropValue checked against the cached description, with no read-back;
  ``describe`` asks the camera. Whether the X-T1 sends DevicePropChanged at all is
  unknown (§9), so a value it refuses also drops the cached description;
* ``capture`` is the exact X-T1 sequence (§7): InitiateCapture, events 0xC004 then 0xC001,
  GetCapturePreview 0x9022 — always, even after an error, because the camera ignores
  further captures until the preview is fetched —, then event 0x400D. 0xC004 names no
  object, so where the body lists objects (GetObjectHandles) the handles are listed before
  the release and after 0x400D, and the new one is the capture's handle;
* objects are listed and downloaded with the standard operations where the body offers
  them (GetObjectHandles, GetObjectInfo, GetPartialObject); the X-T1 in remote mode
  does not, which surfaces as :class:`Unsupported`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from ptpd.camera import base
from ptpd.camera.base import (
    Camera,
    CameraEvent,
    CameraInfo,
    LiveViewFrame,
    ObjectEntry,
    Progress,
    PropertyDesc,
    PropertyValue,
    RawResult,
    Shot,
)
from ptpd.camera.errors import PTPError, ProtocolError, ResponseError, Unsupported
from ptpd.camera.errors import Timeout as PTPTimeout
from ptpd.camera.properties import CACHE_EVENT_QUEUE, REFUSED_VALUE, DescCache
from ptpd.fuji.codes import COMMAND_PORT, FujiEventCode, FujiOperationCode, FujiPropCode
from ptpd.fuji.link import FujiLink, LiveFrame
from ptpd.fuji.properties import (
    PROPERTIES,
    FujiProperty,
    decode_value,
    encode_value,
    lookup,
    parse_value,
    reapplies,
)
from ptpd.fuji.state import decode_property_desc, decode_property_list, decode_state
from ptpd.protocol.codes import DataType, EventCode, OperationCode, ResponseCode
from ptpd.protocol.datasets import DeviceInfo, DevicePropDesc, Enumeration, Range, decode_uint32_array

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

#: Bytes asked per GetPartialObject.
DOWNLOAD_CHUNK = 1 << 20

#: Self-timer values of 0x5012 in seconds (the delay before 0xC004 may arrive).
_DELAY_SECONDS = {0: 0, 1: 1, 2: 2, 3: 5, 4: 10}

_UNSUPPORTED_CODES = (ResponseCode.OperationNotSupported,)
#: Properties whose new value is built from the current one (0xD17C keeps its upper 16
#: bits, meaning unknown): their set reads a fresh description first, as before.
_CURRENT_DEPENDENT = frozenset({FujiPropCode.FocusPoint})


def event_name(code: int) -> str:
    """The snake_case name of an event code (``event_0xC00F`` when unknown)."""
    return base.event_name(code, EVENT_NAMES)


def jpeg_size(jpeg: bytes | memoryview) -> tuple[int, int]:
    """(width, height) from a JPEG's SOFn marker, (0, 0) if none is found early enough."""
    data = jpeg[:65536]
    i = 2
    n = len(data)
    while i + 9 < n:
        if data[i] != 0xFF:
            return 0, 0
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        length = (data[i + 2] << 8) | data[i + 3]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            height = (data[i + 5] << 8) | data[i + 6]
            width = (data[i + 7] << 8) | data[i + 8]
            return width, height
        i += 2 + length
    return 0, 0


class FujiCamera(Camera):
    """A Fujifilm X body over Wi-Fi (the X-T1 dialect of fuji-ptpip.md).

    ``event_port``/``liveview_port`` default to ``port + 1``/``port + 2``. ``guid`` (16
    bytes or UUID text; Fuji's app GUID when empty) and ``name`` identify this client to the camera (keep them stable: the camera remembers
    the name it accepted). ``on_pairing`` is called with a message while the camera asks
    its user to accept this client; the wait is bounded by ``pairing_timeout``.
    """

    vendor = "fuji"

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
        self._device_info: DeviceInfo | None = None
        self._device_info_tried = False
        self._capture_lock = asyncio.Lock()
        #: False once the body refused GetObjectHandles: captures then report no handle.
        self._lists_objects: bool | None = None

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
        try:
            await self._load_property_list()
        except ResponseError as exc:
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

    async def _load_property_list(self) -> tuple[DevicePropDesc, ...]:
        _, data = await self.link.transact(FujiOperationCode.GetPropertyList)
        descs = decode_property_list(data or b"\x00\x00\x00\x00")
        self._list_codes = tuple(int(d.code) for d in descs)
        self._sync()
        for d in descs:
            self._descs[int(d.code)] = d
            self._cache.put(d)
        return descs

    # ------------------------------------------------------------------ info

    async def _device_info_offered(self) -> DeviceInfo | None:
        if not self._device_info_tried:
            self._device_info_tried = True
            try:
                _, data = await self.link.transact(OperationCode.GetDeviceInfo)
                if data:
                    self._device_info = DeviceInfo.decode(data, partial=True)
            except (ResponseError, ProtocolError) as exc:
                log.debug("no DeviceInfo from the camera: %s", exc)
        return self._device_info

    async def _summary(self) -> tuple[str, str]:
        """Model and firmware from the 0xD228 blob (model at 40, firmware at 61) [dump]."""
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
        with contextlib.suppress(ResponseError):
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
            "property_list": [
                {
                    "code": f"0x{int(d.code):04X}",
                    "name": lookup(int(d.code)).name,
                    "value": d.current,
                    "label": lookup(int(d.code)).format(d.current),  # type: ignore[arg-type]
                }
                for d in descs
            ],
        }
        props = tuple(dict.fromkeys(list(self._list_codes) + list(di.device_properties_supported if di else ())))
        return CameraInfo(
            vendor="fuji",
            manufacturer=(di.manufacturer if di and di.manufacturer else "Fujifilm"),
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
        """A fresh 0x1014 description; ``None`` when the camera sends none (quirk 13)."""
        try:
            _, data = await self.link.transact(OperationCode.GetDevicePropDesc, (code,))
        except ResponseError as exc:
            if exc.code in (ResponseCode.DevicePropNotSupported, ResponseCode.OperationNotSupported):
                return self._descs.get(code)
            raise
        if not data:
            desc = self._descs.get(code)
        else:
            desc = decode_property_desc(data)
            self._descs[code] = desc
        if desc is not None:
            self._cache.put(desc)
        return desc

    def _value(self, prop: FujiProperty, raw: int | str, datatype: int | None = None) -> PropertyValue:
        dt = int(datatype if datatype is not None else prop.datatype)
        return PropertyValue(code=prop.code, name=prop.name, value=raw, label=prop.format(raw), datatype=dt)

    async def describe(self, prop: str | int) -> PropertyDesc:
        """A fresh description from the camera (one 0x1014)."""
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
        form, allowed, rng = "none", (), None
        if isinstance(d.form, Enumeration):
            form = "enum"
            allowed = tuple((v, p.format(v)) for v in d.form.values)  # type: ignore[arg-type]
        elif isinstance(d.form, Range):
            form = "range"
            rng = (int(d.form.minimum), int(d.form.maximum), int(d.form.step))  # type: ignore[arg-type]
        return PropertyDesc(
            code=p.code,
            name=p.name,
            datatype=dt,
            writable=d.writable,
            current=self._value(p, d.current, dt),  # type: ignore[arg-type]
            default=self._value(p, d.factory_default, dt),  # type: ignore[arg-type]
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
        p = lookup(prop)
        if p.code == FujiPropCode.CurrentState:
            raise ValueError("0xD212 is the state list: use state()")
        self._sync()
        try:
            _, data = await self.link.transact(OperationCode.GetDevicePropValue, (p.code,))
        finally:
            self._settle()
        if not data:
            raise ProtocolError(f"camera sent no value for {p.name}")
        dt = self._datatype(p)
        raw = decode_value(p, data, dt)
        self._remember(p.code, raw)
        return self._value(p, raw, dt if dt is not None else _size_datatype(len(data)))

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
        _, data = await self.link.transact(OperationCode.GetDevicePropValue, (FujiPropCode.CurrentState,))
        entries = decode_state(data or b"\x00\x00")
        return [
            PropertyValue(code=e.code, name=e.name, value=e.value, label=e.label, datatype=DataType.UINT32)
            for e in entries
        ]

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

    async def capture(self) -> Shot:
        """Shutter release with the X-T1 sequence; returns the preview JPEG and, where the
        camera lists its objects, the new object's handle and entry."""
        async with self._capture_lock:
            delay = 0
            with contextlib.suppress(PTPError, ValueError):
                d = self._descs.get(0x5012)
                if d is not None and isinstance(d.current, int):
                    delay = _DELAY_SECONDS.get(d.current, 0)
            wait = self.timeout + delay
            # Listed before the release, not between InitiateCapture and 0x9022: nothing
            # may come between the shot and the preview fetch (§7).
            before = await self._object_handles()
            sub = self.link.subscribe()
            try:
                resp, _ = await self.link.transact(OperationCode.InitiateCapture, (0, 0))
                tid = resp.transaction_id
                size = 0
                try:
                    await self._wait_for(sub, FujiEventCode.ObjectAdded, tid, wait)
                    ready = await self._wait_for(sub, FujiEventCode.PreviewAvailable, tid, wait)
                    # X-T1 layout: param1 repeats the tid, param2 is the preview size.
                    size = ready.params[1] if len(ready.params) > 1 else 0
                finally:
                    # Always fetch the preview: until it is drained the camera ignores captures.
                    _, preview = await self.link.transact(FujiOperationCode.GetCapturePreview)
                if size and preview is not None and len(preview) != size:
                    log.warning("preview is %d bytes, event announced %d", len(preview), size)
                await self._wait_for(sub, EventCode.CaptureComplete, None, self.timeout)
            finally:
                self.link.unsubscribe(sub)
            entry = await self._new_object(before) if before is not None else None
            return Shot(handle=entry.handle if entry else None, object=entry, preview=preview)

    async def _object_handles(self) -> set[int] | None:
        """Every object handle on the card; ``None`` when the camera offers no listing.

        A refusal is remembered for OperationNotSupported (the X-T1 in remote mode), so
        later captures do not ask again; other refusals only skip this shot's handle.
        """
        if self._lists_objects is False:
            return None
        di = self._device_info
        if self._lists_objects is None and di is not None and di.operations_supported:
            self._lists_objects = OperationCode.GetObjectHandles in di.operations_supported
            if not self._lists_objects:
                return None
        try:
            data = await self._op(OperationCode.GetObjectHandles, (0xFFFFFFFF, 0, 0))
        except Unsupported:
            self._lists_objects = False
            log.info("camera lists no objects: captures report no handle")
            return None
        except ResponseError as exc:
            log.warning("capture cannot list objects, no handle for this shot: %s", exc)
            return None
        self._lists_objects = True
        return set(decode_uint32_array(data))

    async def _new_object(self, before: set[int]) -> ObjectEntry | None:
        """The file that appeared since ``before``: the highest new handle that is not a
        folder (a new folder may come with the first picture of a directory)."""
        after = await self._object_handles()
        if after is None:
            return None
        for handle in sorted(after - before, reverse=True):
            try:
                entry = await self.object_info(handle)
            except (ResponseError, Unsupported) as exc:
                log.warning("capture: no info for new object 0x%08X: %s", handle, exc)
                continue
            if not entry.is_folder:
                return entry
        log.warning("capture: no new object appeared on the card")
        return None

    async def _wait_for(self, sub: Any, code: int, tid: int | None, timeout: float) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise PTPTimeout(f"camera sent no {event_name(code)} event (0x{code:04X}) within {timeout:g}s")
            ev = await self.link.wait_event(sub, remaining)
            if ev.code == code and (tid is None or ev.transaction_id == tid):
                return ev
            log.debug("capture skips event 0x%04X (tid %d)", ev.code, ev.transaction_id)

    # ------------------------------------------------------------------ objects

    async def _op(self, code: int, params: tuple[int, ...] = ()) -> bytes:
        try:
            _, data = await self.link.transact(code, params)
        except ResponseError as exc:
            if exc.code in _UNSUPPORTED_CODES:
                raise Unsupported(f"camera does not offer {OperationCode(code).name}") from exc
            raise
        return data or b""

    async def object_info(self, handle: int) -> ObjectEntry:
        return ObjectEntry.decode(handle, await self._op(OperationCode.GetObjectInfo, (handle,)))

    async def objects(self) -> list[ObjectEntry]:
        handles = decode_uint32_array(await self._op(OperationCode.GetObjectHandles, (0xFFFFFFFF, 0, 0)))
        return [await self.object_info(h) for h in handles]

    async def partial_reads(self) -> bool:
        di = await self._device_info_offered()
        return di is not None and OperationCode.GetPartialObject in di.operations_supported

    async def download(
        self, handle: int, progress: Progress | None = None, offset: int = 0, size: int | None = None
    ) -> bytes:
        """The object's bytes from ``offset``, in GetPartialObject steps, joined once. The
        steps need the size: ``size``, or one GetObjectInfo."""
        if size is None:  # an unknown size (0xFFFFFFFF) came from ObjectInfo: asking again cannot help
            size = (await self.object_info(handle)).size
        total = size
        parts: list[bytes] = []
        pos = offset
        try:
            while pos < total:
                chunk = await self._op(OperationCode.GetPartialObject, (handle, pos, min(DOWNLOAD_CHUNK, total - pos)))
                if not chunk:
                    break
                parts.append(chunk)
                pos += len(chunk)
                if progress is not None:
                    progress(pos - offset, total - offset)
        except Unsupported:
            whole = await self._op(OperationCode.GetObject, (handle,))
            if progress is not None:
                progress(len(whole) - offset, len(whole) - offset)
            return whole[offset:]
        return b"".join(parts)

    async def delete(self, handle: int) -> None:
        await self._op(OperationCode.DeleteObject, (handle, 0))

    # ------------------------------------------------------------------ raw, events, live view

    async def raw(self, code: int, params: tuple[int, ...] = (), data: bytes | None = None) -> RawResult:
        resp, data_in = await self.link.transact(code, tuple(params), data, check=False)
        return RawResult(code=resp.code, params=resp.params, data=data_in or b"")

    async def events(self) -> AsyncIterator[CameraEvent]:  # type: ignore[override]
        async for ev in self.link.events():
            self._sync()  # keeps the cache's queue short while someone listens
            yield CameraEvent(
                name=event_name(ev.code),
                code=ev.code,
                params=ev.params,
                transaction_id=ev.transaction_id,
                time=time.monotonic(),
            )

    async def liveview(self) -> AsyncIterator[LiveViewFrame]:  # type: ignore[override]
        gen = self.link.liveview()
        try:
            async for f in gen:
                yield _liveview_frame(f)
        finally:
            await gen.aclose()

    async def liveview_to(self, sink: Callable[[LiveViewFrame], None]) -> None:
        # straight from the socket's read callback: no queue or task between camera and sink
        await self.link.liveview_to(lambda f: sink(_liveview_frame(f)))


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


__all__ = ["DEFAULT_GUID", "EVENT_NAMES", "FujiCamera", "event_name", "jpeg_size"]
