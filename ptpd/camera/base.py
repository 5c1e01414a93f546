"""The vendor-neutral camera API.

The daemon owns one :class:`Camera` and calls only these methods; generic PTP/IP
(:mod:`ptpd.camera.generic`), Fujifilm Wi-Fi (:mod:`ptpd.camera.fuji`) and Canon EOS
(:mod:`ptpd.camera.canon`) implement it, and :mod:`ptpd.camera.auto` picks one of them
from the camera's DeviceInfo.
Everything here speaks in property *names* and human *labels* as well as raw codes and
values, so no caller needs to know the vendor's tables.

Rules every implementation keeps:

* One PTP transaction at a time: methods are called by one task at a time (the daemon
  queues), but ``events()`` and ``liveview()`` run concurrently with them.
* Errors are the types of :mod:`ptpd.camera.errors`: ``ResponseError(code)`` when the
  camera said no, ``CameraDisconnected`` when the link is gone, ``Timeout`` when a wait ran
  out, ``ValueError`` for a property name or value the camera's description does not allow
  (message lists what is allowed), :class:`Unsupported` for what this camera cannot do,
  ``TransferInterrupted`` for a transfer a dropped link cut (it carries the transfer).
* Capture is one shot per :meth:`Camera.capture` call: the vendor's own release and wait
  for the new object, returning a :class:`Shot`. Whoever takes several shots loops over
  it (and may stop between shots). The object then travels as a
  :class:`~ptpd.camera.transfer.Transfer` (:meth:`Camera.fetch`), which keeps what
  arrived when the link drops and a new camera object continues after a reconnect
  (:meth:`Camera.resume`).
* A property is named by its unified name (``iso``, ``whitebalance``, ``exposure``,
  ``exp-bias``, ``effect``, ``delay``, ``flashmode``, ``focusmtr``, ``recmode``), by the
  vendor's name, or as a code (``0x500F``, ``"500f"``, ``20495``).
* A value to set is a human label (``"800"``, ``"1/250"``, ``"+2/3"``, ``"Velvia"``) or a
  raw integer / hex string (``"0x2"``).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, Self

from ptpd.camera.errors import DatasetError, NotAFile, ResponseError, Unsupported
from ptpd.camera.transfer import Download, Transfer
from ptpd.camera.transfer import fetch as fetch_rest
from ptpd.protocol.codes import EventCode, ObjectFormat, OperationCode, ResponseCode
from ptpd.protocol.datasets import ObjectInfo, StorageInfo, decode_uint32_array
from ptpd.protocol.errors import ProtocolError
from ptpd.protocol.properties import reapplies as standard_reapplies

if TYPE_CHECKING:
    from ptpd.camera.vendors import Target

log = logging.getLogger(__name__)

#: Stable snake_case names of the standard events (vendors add their own to a copy).
EVENT_NAMES: dict[int, str] = {
    EventCode.CancelTransaction: "cancel_transaction",
    EventCode.ObjectAdded: "object_added",
    EventCode.ObjectRemoved: "object_removed",
    EventCode.StoreAdded: "store_added",
    EventCode.StoreRemoved: "store_removed",
    EventCode.DevicePropChanged: "property_changed",
    EventCode.ObjectInfoChanged: "object_info_changed",
    EventCode.DeviceInfoChanged: "device_info_changed",
    EventCode.RequestObjectTransfer: "request_object_transfer",
    EventCode.StoreFull: "store_full",
    EventCode.DeviceReset: "device_reset",
    EventCode.StorageInfoChanged: "storage_info_changed",
    EventCode.CaptureComplete: "capture_complete",
    EventCode.UnreportedStatus: "unreported_status",
}


def event_name(code: int, names: dict[int, str] = EVENT_NAMES) -> str:
    """The snake_case name of an event code in ``names`` (``event_0xC00F`` when unknown)."""
    return names.get(code, f"event_0x{code:04X}")


#: Called with (bytes done, bytes total) while an object downloads.
Progress = Callable[[int, int], None]


class ReleaseGate(Protocol):
    """When a capture's release goes out (a rig's shared moment). :meth:`Camera.capture`
    does whatever its vendor does before the release, then awaits :meth:`approach` and
    hands the gate to the link's ``transact`` as its ``hold``
    (:class:`~ptpd.protocol.adapter.WriteHold`): the release's packet is made, :meth:`arrive`
    returns at the moment, the packet is written and :meth:`sent` told. Between the moment
    and the wire there is one write, not the encoding or a trip through the loop."""

    async def approach(self) -> None:
        """Return shortly before the moment (a wait the loop can cancel)."""

    def arrive(self) -> None:
        """Return at the moment (a short, blocking wait: nothing else runs meanwhile)."""

    def sent(self) -> None:
        """The release went on the wire."""


@dataclass(frozen=True, slots=True)
class CameraInfo:
    """What ``info`` shows: who the camera is and what it offers."""

    vendor: str  #: "generic", "fuji" or "canon"
    manufacturer: str
    model: str
    version: str  #: firmware / device version string
    serial: str = ""
    extension: str = ""  #: vendor extension description, if any
    operations: tuple[int, ...] = ()
    events: tuple[int, ...] = ()
    properties: tuple[int, ...] = ()
    capture_formats: tuple[int, ...] = ()
    image_formats: tuple[int, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  #: vendor facts (e.g. Fuji versions)


@dataclass(frozen=True, slots=True)
class PropertyValue:
    """One property's current value, raw and as a human label."""

    code: int
    name: str  #: unified or vendor name; hex string ("0xD0FF") when unknown
    value: int | str  #: raw value as the camera encodes it
    label: str  #: human form ("800", "1/250", "Velvia", "auto")
    datatype: int = 0  #: PTP DataType code
    #: a vendor property's value as the standard PTP property of the same meaning carries
    #: it (exp-bias: 0x5010's 1/1000 EV; exposure-program: 0x500E's 1 M, 2 P, 3 A, 4 S),
    #: so clients place it without the vendor's codes; None where ``value`` is already
    #: that (a standard property) or there is no such property
    standard: int | None = None


@dataclass(frozen=True, slots=True)
class PropertyDesc:
    """A property's description: type, access, and the values it allows."""

    code: int
    name: str
    datatype: int
    writable: bool
    current: PropertyValue
    default: PropertyValue | None = None
    form: str = "none"  #: "none", "range" or "enum"
    #: for "enum": the allowed (raw, label) pairs in camera order
    allowed: tuple[tuple[int | str, str], ...] = ()
    #: for "range": (min, max, step) raw
    range: tuple[int, int, int] | None = None


@dataclass(frozen=True, slots=True)
class ObjectEntry:
    """One object (file or folder) on the camera's storage."""

    handle: int
    storage_id: int
    filename: str
    size: int
    format: int
    parent: int = 0
    is_folder: bool = False
    captured: str = ""  #: capture date as the camera gives it (YYYYMMDDThhmmss)
    width: int = 0
    height: int = 0

    @classmethod
    def from_info(cls, handle: int, oi: ObjectInfo) -> ObjectEntry:
        """The entry for ``handle`` from its ObjectInfo dataset."""
        return cls(
            handle=handle,
            storage_id=oi.storage_id,
            filename=oi.filename,
            size=oi.object_compressed_size,
            format=int(oi.object_format),
            parent=oi.parent_object,
            is_folder=oi.is_folder,
            captured=oi.capture_date,
            width=oi.image_pix_width,
            height=oi.image_pix_height,
        )

    @classmethod
    def decode(cls, handle: int, data: bytes | bytearray | memoryview) -> ObjectEntry:
        """The entry for ``handle`` from a GetObjectInfo data phase. A dataset cut short
        or odd gives what is there (the rest empty): a listing or a download must not cost
        the session for a field nobody reads. :class:`DatasetError` when not even that works."""
        try:
            return cls.from_info(handle, ObjectInfo.decode(data, partial=True))
        except ProtocolError as exc:
            raise DatasetError(f"ObjectInfo of handle 0x{handle:08X}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Shot:
    """What one shutter release produced."""

    handle: int | None  #: the new object's handle, when the camera reported one
    object: ObjectEntry | None = None  #: its ObjectInfo, when the camera gave it
    preview: bytes | None = None  #: preview JPEG the camera offered (Fuji always does)
    #: ``time.monotonic()`` when the release's operation request was handed to the
    #: camera's socket (None when the vendor cannot say)
    released: float | None = None

    def transfer(self) -> Transfer | None:
        """The new object's :class:`Transfer`; None when the camera named no object."""
        if self.handle is None:
            return None
        if self.object is not None:
            return Transfer.of(self.object)
        return Transfer(self.handle)

    def preview_download(self) -> Download | None:
        """The preview as this shot's only image: when the camera named no object but
        offered a preview (None otherwise)."""
        if self.handle is not None or not self.preview:
            return None
        return Download(None, self.preview, format=ObjectFormat.EXIF_JPEG)


@dataclass(frozen=True, slots=True)
class StoreEntry:
    """One store (card slot) on the camera, from its StorageInfo."""

    storage_id: int
    description: str
    capacity: int  #: bytes
    free_bytes: int
    free_images: int | None  #: how many more pictures fit, as the camera counts (None: it does not)


@dataclass(frozen=True, slots=True)
class Storage:
    """The camera's stores, and how many more shots fit in all of them."""

    stores: tuple[StoreEntry, ...] = ()
    #: shots left as the camera counts them (the stores' counts together, or the
    #: vendor's own counter); None when the camera does not say
    shots_left: int | None = None


#: StorageInfo's FreeSpaceInImages when the camera does not count images
_NOT_COUNTED = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class RawResult:
    """The outcome of a raw operation (``opreq``): response code, params and data."""

    code: int
    params: tuple[int, ...]
    data: bytes


@dataclass(frozen=True, slots=True)
class CameraEvent:
    """An event the camera sent, with a stable snake_case name."""

    name: str  #: e.g. "object_added", "capture_complete", "property_changed"
    code: int
    params: tuple[int, ...] = ()
    transaction_id: int = 0xFFFFFFFF
    time: float = 0.0  #: time.monotonic() when it arrived


@dataclass(frozen=True, slots=True)
class LiveViewFrame:
    """One live-view JPEG as the camera sent it (the bytes are never re-encoded)."""

    counter: int  #: the camera's frame counter (Fuji header) or our own count
    time: float  #: time.monotonic() when its last byte arrived
    jpeg: bytes | memoryview
    width: int = 0
    height: int = 0


#: seconds :meth:`Camera.liveview_to` gives a camera to stop its live view
LIVEVIEW_CLOSE_TIMEOUT = 2.0


class Camera(abc.ABC):
    """A connected camera, vendor-neutral. Implementations must not block the loop."""

    vendor: str = "generic"
    #: The most bytes one partial read (:meth:`read_partial`) may ask of this camera, for
    #: a body that caps them; ``None``: an object is read in one transaction (GetObject,
    #: or GetPartialObject for the whole rest), which keeps the link busy for all of it.
    read_step: int | None = None

    @classmethod
    def from_target(cls, target: Target) -> Camera:
        """A new, unconnected camera of this class at ``target`` (how
        :mod:`ptpd.camera.vendors` makes a vendor's camera)."""
        raise NotImplementedError(f"{cls.__name__} has no from_target: it is not a registered vendor's camera")

    @abc.abstractmethod
    async def connect(self) -> None:
        """Open the link and the session (incl. any pairing), ready for commands."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Close the session cleanly if possible and release every socket. Idempotent."""

    async def __aenter__(self) -> Self:
        """``async with cam:`` connects, and closes on the way out."""
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    @abc.abstractmethod
    def connected(self) -> bool:
        """True while the link and session are up."""

    @abc.abstractmethod
    async def info(self) -> CameraInfo: ...

    @abc.abstractmethod
    async def property_names(self) -> list[str]:
        """Every property name this camera answers to (for help and completion)."""

    @abc.abstractmethod
    async def describe(self, prop: str | int) -> PropertyDesc: ...

    @abc.abstractmethod
    async def get(self, prop: str | int) -> PropertyValue: ...

    @abc.abstractmethod
    async def set(self, prop: str | int, value: str | int) -> PropertyValue:
        """Validate against the description, set, and return the value now in force."""

    def reapplies(self, code: int) -> bool:
        """True when a value a client set for property ``code`` is a setting to set again
        after a reconnect (ISO, white balance); False for a clock (DateTime) or a one-shot
        action, whose old value would set the camera back or act again. From the vendor's
        property table (here the standard one)."""
        return standard_reapplies(code)

    @abc.abstractmethod
    async def state(self) -> list[PropertyValue]:
        """The camera's current settings summary (Fuji: the 0xD212 list)."""

    @abc.abstractmethod
    async def capture(self, gate: ReleaseGate | None = None) -> Shot:
        """One shot, the vendor's way: release the shutter, wait for the new object and
        read its ObjectInfo. Several shots are several calls (the caller may stop between
        them); the image is then read with :meth:`fetch`.

        ``gate`` (a :class:`ReleaseGate`) holds the release for its moment, after
        everything the vendor does first; the shot's ``released`` says when the release
        went on the wire."""

    def capture_wait(self) -> float:
        """Seconds one shot may wait past its transactions for the camera to name the new
        picture (its capture timeout and self-timer): a deadline for a capture allows this
        much a shot."""
        return 0.0

    #: a vendor property that counts the shots left (the camera's own counter, which
    #: :meth:`storage` prefers to the stores' counts); None: the vendor has none
    shots_left_property: int | None = None

    async def storage(self) -> Storage:
        """The stores and how many more shots fit: GetStorageIDs, GetStorageInfo of each
        store that is there, and the vendor's counter (:attr:`shots_left_property`).
        :class:`Unsupported` when the camera says neither."""
        try:
            stores = await self._stores()
        except Unsupported:
            if self.shots_left_property is None:
                raise
            stores = []
        counted = [s.free_images for s in stores if s.free_images is not None]
        shots = sum(counted) if counted else None
        if self.shots_left_property is not None:
            try:
                value = (await self.get(self.shots_left_property)).value
                shots = value if isinstance(value, int) else shots
            except (ResponseError, Unsupported, ValueError) as exc:
                log.debug("no shots-left counter: %s", exc)
        return Storage(tuple(stores), shots)

    async def _stores(self) -> list[StoreEntry]:
        res = await self.raw(OperationCode.GetStorageIDs)
        if res.code == ResponseCode.OperationNotSupported:
            raise Unsupported("this camera does not list its stores (GetStorageIDs)")
        if res.code != ResponseCode.OK:
            raise ResponseError(res.code, params=res.params)
        stores = []
        for sid in decode_uint32_array(res.data):
            if sid & 0xFFFF == 0:  # a slot without a usable logical store (ptp.md §9)
                continue
            info = await self.raw(OperationCode.GetStorageInfo, (sid,))
            if info.code != ResponseCode.OK:  # StoreNotAvailable: an empty slot
                continue
            try:
                si = StorageInfo.decode(info.data)
            except ProtocolError as exc:
                raise DatasetError(f"StorageInfo of store 0x{sid:08X}: {exc}") from exc
            images = None if si.free_space_in_images == _NOT_COUNTED else si.free_space_in_images
            stores.append(StoreEntry(sid, si.storage_description, si.max_capacity, si.free_space_in_bytes, images))
        return stores

    @property
    def focus_drive_settings(self) -> tuple[str, ...]:
        """Properties (by name) a focus drive changes, which a focus stack puts back afterwards."""
        return ()

    async def supports_focus_drive(self) -> bool:
        """True when :meth:`focus_step` can move this body's focus (a focus stack needs it).
        A vendor with a lens drive (Canon's DriveLens, the standard FocusDistance) says so."""
        return False

    async def focus_step(self, steps: int) -> bool:
        """Move the focus ``steps`` of the body's drive steps farther away (negative:
        nearer), as a focus stack does between frames; 0 readies the drive (e.g. manual
        focus, so the lens stays where it is put) and moves nothing. False when the focus is
        already at the end of its travel in that direction (nothing moved).
        :class:`Unsupported` on a body without a focus drive."""
        raise Unsupported(f"this {self.vendor} camera offers no focus drive (no FocusDistance or lens drive)")

    @abc.abstractmethod
    async def objects(self) -> list[ObjectEntry]: ...

    async def object_info(self, handle: int) -> ObjectEntry:
        """One object's entry from one GetObjectInfo (not a listing of the whole card)."""
        res = await self.raw(OperationCode.GetObjectInfo, (handle,))
        if res.code != ResponseCode.OK:
            raise ResponseError(res.code, params=res.params)
        return ObjectEntry.decode(handle, res.data)

    async def transfer(self, handle: int, offset: int = 0) -> Transfer:
        """The :class:`Transfer` of ``handle`` from byte ``offset``, named and sized from its
        ObjectInfo. A camera that will not say (a refusal, a dataset we cannot read) costs
        the name and size, not the transfer: :meth:`fetch` then reports any error. A handle
        ObjectInfo says is a folder is :class:`~ptpd.camera.errors.NotAFile`."""
        try:
            entry = await self.object_info(handle)
        except (Unsupported, ResponseError, DatasetError) as exc:
            log.debug("no ObjectInfo for handle 0x%08X: %s", handle, exc)
            return Transfer(handle, start=offset)
        if entry.is_folder:
            # a folder's "data" is nothing (or a refusal): say so rather than save 0 bytes
            raise NotAFile(
                f"handle 0x{handle:08X} is a folder ({entry.filename or 'unnamed'}), not a file: "
                "it has no bytes to download (objects lists the files)"
            )
        return Transfer.of(entry, offset)

    async def partial_reads(self) -> bool:
        """True when :meth:`read_partial` works here (the camera lists GetPartialObject),
        so a transfer can continue from a byte offset (and go in steps where it must)."""
        return False

    async def read_partial(self, handle: int, offset: int, size: int) -> bytes | bytearray:
        """Up to ``size`` bytes of the object from ``offset`` (one GetPartialObject)."""
        res = await self.raw(OperationCode.GetPartialObject, (handle, offset, size))
        if res.code != ResponseCode.OK:
            raise ResponseError(res.code, params=res.params)
        return res.data

    async def fetch(self, t: Transfer, progress: Progress | None = None) -> Download:
        """The rest of ``t`` (see :func:`ptpd.camera.transfer.fetch`): one download, or
        steps of :attr:`read_step`. A dropped link raises
        :class:`~ptpd.camera.errors.TransferInterrupted`; ``t`` keeps every byte that
        arrived, also of the read it cut short."""
        return await fetch_rest(self, t, progress)

    async def resume(self, t: Transfer, progress: Progress | None = None) -> Download:
        """Continue ``t``, begun on this or an earlier camera object (before a reconnect),
        from the byte it reached (GetPartialObject from there)."""
        t.resumes += 1
        log.info("resuming handle 0x%08X at byte %d (attempt %d)", t.handle, t.position, t.resumes)
        return await self.fetch(t, progress)

    @abc.abstractmethod
    async def download(
        self, handle: int, progress: Progress | None = None, offset: int = 0, size: int | None = None
    ) -> bytes | bytearray:
        """The object's bytes from ``offset`` on (partial reads where the camera offers them).

        ``size``: the object's size when the caller knows it (from its ObjectInfo), so
        that a camera that needs it does not ask again. A link error that cuts it short
        carries in ``partial`` the object's bytes from ``offset`` that arrived.
        """

    @abc.abstractmethod
    async def delete(self, handle: int) -> None: ...

    @abc.abstractmethod
    async def raw(self, code: int, params: tuple[int, ...] = (), data: bytes | None = None) -> RawResult:
        """Run any operation; a non-OK response is returned, not raised."""

    @abc.abstractmethod
    def events(self) -> AsyncGenerator[CameraEvent, None]:
        """Camera events as they arrive, for as long as the link is up."""

    async def keepalive(self) -> None:
        """A cheap request that keeps a Wi-Fi body from dropping an idle session."""
        await self.get("battery")

    def liveview(self) -> AsyncGenerator[LiveViewFrame, None]:
        """Start live view and yield frames until the iterator is closed (then stop it)."""
        raise Unsupported(f"{self.vendor} camera has no live view")

    async def liveview_to(self, sink: Callable[[LiveViewFrame], None]) -> None:
        """Run live view, calling ``sink`` (which must not block) with each frame, until it
        ends; it raises as :meth:`liveview` does, and stops when cancelled. A camera that
        can calls ``sink`` from the socket's read callback, in the loop step the frame
        completed: no queue or task switch between the camera and the sink."""
        frames = self.liveview()
        try:
            async for frame in frames:
                sink(frame)
        finally:
            aclose = getattr(frames, "aclose", None)
            if aclose is not None:
                # bounded, and quiet: a camera that cannot stop live view (its link is
                # gone) neither holds the caller up nor hides why live view ended
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(aclose(), LIVEVIEW_CLOSE_TIMEOUT)
