"""The simulated camera's object store: storages, folders, files and their handles.

Pure data, no I/O. Each refusal carries the PTP response code it stands for, which the
camera logic (generic and Fuji) answers with; the store sends nothing itself.

Semantics follow ISO 15740 §9 (see ``shared/reference/ptp.md`` §9):

* A StorageID's high half is the physical slot, the low half the logical store;
  ``0xFFFFFFFF`` means "all stores" in GetNumObjects / GetObjectHandles.
* Handles are unique, never reused while the process lives (so a stale handle from an
  earlier session is simply invalid), and stable for the life of the object.
* ``ParentObject`` 0 means "at the root of the store". In GetObjectHandles the *parent
  filter* is different: ``0xFFFFFFFF`` = only root objects, ``0`` = every object of the
  store whatever its folder, anything else = the children of that folder.
* Folders are Associations (format 0x3001, AssociationType 1 GenericFolder).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from ptpd.protocol.codes import ResponseCode

#: "every store" / "root only" / "all objects", depending on the parameter (ptp.md §9)
ALL = 0xFFFFFFFF
#: ParentObject of an object at the root of its store
ROOT = 0

FORMAT_UNDEFINED = 0x3000
FORMAT_ASSOCIATION = 0x3001
FORMAT_EXIF_JPEG = 0x3801
FORMAT_JFIF = 0x3808
ASSOCIATION_GENERIC_FOLDER = 0x0001


#: Formats counted as images when a GetObjectHandles format filter of 0xFFFFFFFF asks
#: for "images only": the 0x38xx block of the standard plus vendor image formats.
def is_image_format(fmt: int) -> bool:
    """True for the standard image block 0x3800-0x38FF and vendor formats 0xB000-0xBFFF."""
    return 0x3800 <= fmt <= 0x38FF or 0xB000 <= fmt <= 0xBFFF


class StoreError(Exception):
    """Base of the store's refusals; each maps to one PTP response code, its ``code``."""

    code: int = ResponseCode.GeneralError


class InvalidStorage(StoreError):
    """No storage with that ID (InvalidStorageID 0x2008)."""

    code = ResponseCode.InvalidStorageID


class InvalidHandle(StoreError):
    """No object with that handle (InvalidObjectHandle 0x2009)."""

    code = ResponseCode.InvalidObjectHandle


class InvalidParent(StoreError):
    """The parent filter names no folder (InvalidParentObject 0x201A)."""

    code = ResponseCode.InvalidParentObject


class StoreFull(StoreError):
    """Not enough free space for a new object (StoreFull 0x200C)."""

    code = ResponseCode.StoreFull


@dataclass(frozen=True, slots=True)
class Storage:
    """One store (a memory card) as StorageInfo describes it."""

    storage_id: int
    description: str = "SD card"
    volume_label: str = "PTPD_SIM"
    max_capacity: int = 32 * 1024**3
    storage_type: int = 4  #: removable RAM (memory card)
    filesystem_type: int = 3  #: DCF
    access_capability: int = 0  #: read-write


@dataclass(frozen=True, slots=True)
class StoredObject:
    """One object (file or folder) with everything ObjectInfo needs.

    ``data`` is the exact byte content GetObject returns, so ObjectCompressedSize
    always equals what a download delivers (gphoto2 checks both ways).
    """

    handle: int
    storage_id: int
    parent: int  #: handle of the folder, 0 = root of the store
    filename: str
    object_format: int = FORMAT_EXIF_JPEG
    data: bytes = b""
    thumb: bytes = b""
    thumb_format: int = 0  #: 0 = no thumbnail, else e.g. 0x3808 JFIF
    thumb_size: tuple[int, int] = (0, 0)
    image_size: tuple[int, int] = (0, 0)
    bit_depth: int = 0
    capture_date: str = ""  #: PTP DateTime string "YYYYMMDDThhmmss"
    modification_date: str = ""
    keywords: str = ""
    protection: int = 0
    association_type: int = 0
    association_desc: int = 0
    sequence_number: int = 0

    @property
    def is_folder(self) -> bool:
        return self.object_format == FORMAT_ASSOCIATION

    @property
    def size(self) -> int:
        """ObjectCompressedSize: the bytes GetObject delivers."""
        return len(self.data)


@dataclass
class ObjectStore:
    """Storages and the tree of objects on them.

    >>> s = ObjectStore([Storage(0x00010001)])
    >>> dcim = s.add_folder(0x00010001, ROOT, "DCIM")
    >>> f = s.add_file(0x00010001, dcim.handle, "IMG_0001.JPG", b"\\xff\\xd8\\xff\\xd9")
    >>> s.handles(ALL, 0, ALL) == [dcim.handle], s.handles(ALL, 0, 0) == [dcim.handle, f.handle]
    (True, True)
    """

    storages: list[Storage]
    first_handle: int = 1
    _objects: dict[int, StoredObject] = field(default_factory=dict, init=False)
    _next: Iterator[int] = field(init=False)

    def __post_init__(self) -> None:
        ids = [s.storage_id for s in self.storages]
        if len(set(ids)) != len(ids) or any(i in (0, ALL) for i in ids):
            raise ValueError(f"storage IDs must be unique and not 0 or 0xFFFFFFFF: {ids}")
        self._next = itertools.count(self.first_handle)

    # -- storages ------------------------------------------------------------------

    @property
    def storage_ids(self) -> list[int]:
        return [s.storage_id for s in self.storages]

    def storage(self, storage_id: int) -> Storage:
        for s in self.storages:
            if s.storage_id == storage_id:
                return s
        raise InvalidStorage(f"no storage 0x{storage_id:08X}")

    def used_bytes(self, storage_id: int) -> int:
        return sum(o.size for o in self._objects.values() if o.storage_id == storage_id)

    def free_bytes(self, storage_id: int) -> int:
        return max(0, self.storage(storage_id).max_capacity - self.used_bytes(storage_id))

    # -- objects -------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._objects)

    def __contains__(self, handle: object) -> bool:
        return handle in self._objects

    def __iter__(self) -> Iterator[StoredObject]:
        return iter(list(self._objects.values()))

    def get(self, handle: int) -> StoredObject:
        try:
            return self._objects[handle]
        except KeyError:
            raise InvalidHandle(f"no object 0x{handle:08X}") from None

    def _check_parent(self, storage_id: int, parent: int) -> None:
        self.storage(storage_id)
        if parent == ROOT:
            return
        p = self._objects.get(parent)
        if p is None or not p.is_folder or p.storage_id != storage_id:
            raise InvalidParent(f"0x{parent:08X} is not a folder on storage 0x{storage_id:08X}")

    def _add(self, obj: StoredObject) -> StoredObject:
        self._check_parent(obj.storage_id, obj.parent)
        if obj.size > self.free_bytes(obj.storage_id):
            raise StoreFull(f"{obj.filename}: {obj.size} bytes do not fit")
        handle = next(self._next)
        obj = replace(obj, handle=handle)
        self._objects[handle] = obj
        return obj

    def add_folder(self, storage_id: int, parent: int, name: str, *, date: str = "") -> StoredObject:
        """A new folder (Association, GenericFolder) under ``parent`` (0 = root)."""
        return self._add(
            StoredObject(
                handle=0,
                storage_id=storage_id,
                parent=parent,
                filename=name,
                object_format=FORMAT_ASSOCIATION,
                association_type=ASSOCIATION_GENERIC_FOLDER,
                capture_date=date,
                modification_date=date,
            )
        )

    def add_file(self, storage_id: int, parent: int, filename: str, data: bytes, **fields: Any) -> StoredObject:
        """A new file; ``fields`` are further :class:`StoredObject` fields (thumb, sizes, dates)."""
        fields.setdefault("object_format", FORMAT_EXIF_JPEG)
        return self._add(
            StoredObject(handle=0, storage_id=storage_id, parent=parent, filename=filename, data=data, **fields)
        )

    def add_image(
        self,
        storage_id: int,
        parent: int,
        filename: str,
        data: bytes,
        *,
        image_size: tuple[int, int],
        date: str,
        thumb: bytes = b"",
        thumb_size: tuple[int, int] = (0, 0),
    ) -> StoredObject:
        """A new EXIF/JPEG picture (24-bit) taken at ``date``, with its JFIF thumbnail if any."""
        return self.add_file(
            storage_id,
            parent,
            filename,
            data,
            object_format=FORMAT_EXIF_JPEG,
            thumb=thumb,
            thumb_format=FORMAT_JFIF if thumb else 0,
            thumb_size=thumb_size,
            image_size=image_size,
            bit_depth=24,
            capture_date=date,
            modification_date=date,
        )

    def delete(self, handle: int) -> list[int]:
        """Remove an object (a folder with everything in it); the removed handles, children first."""
        obj = self.get(handle)
        removed: list[int] = []
        if obj.is_folder:
            for child in [o for o in self._objects.values() if o.parent == handle]:
                removed += self.delete(child.handle)
        del self._objects[handle]
        removed.append(handle)
        return removed

    def children(self, folder: int) -> list[StoredObject]:
        return [o for o in self._objects.values() if o.parent == folder]

    def find(self, storage_id: int, path: str) -> StoredObject | None:
        """The object at ``"DCIM/100PTPD"``-style ``path`` on a store, or None."""
        parent = ROOT
        obj: StoredObject | None = None
        for part in [p for p in path.split("/") if p]:
            obj = next(
                (
                    o
                    for o in self._objects.values()
                    if o.storage_id == storage_id and o.parent == parent and o.filename == part
                ),
                None,
            )
            if obj is None:
                return None
            parent = obj.handle
        return obj

    def handles(self, storage_id: int = ALL, object_format: int = 0, parent: int = 0) -> list[int]:
        """GetObjectHandles semantics (ptp.md §9), handles in creation order.

        ``storage_id`` 0xFFFFFFFF = all stores; ``object_format`` 0 = any, 0xFFFFFFFF =
        images only, else that format; ``parent`` 0xFFFFFFFF = root objects only,
        0 = all objects, else the children of that folder.
        """
        if storage_id != ALL:
            self.storage(storage_id)
        if parent not in (0, ALL):
            p = self._objects.get(parent)
            if p is None or not p.is_folder or (storage_id != ALL and p.storage_id != storage_id):
                raise InvalidParent(f"0x{parent:08X} is not a folder")
        out = []
        for o in self._objects.values():
            if storage_id != ALL and o.storage_id != storage_id:
                continue
            if object_format == ALL and not is_image_format(o.object_format):
                continue
            if object_format not in (0, ALL) and o.object_format != object_format:
                continue
            if parent == ALL and o.parent != ROOT:
                continue
            if parent not in (0, ALL) and o.parent != parent:
                continue
            out.append(o.handle)
        return out

    def next_filename(self, folder: int, prefix: str = "IMG_", ext: str = "JPG") -> str:
        """The next free DCF-style name in a folder, ``IMG_0007.JPG`` (8.3, 4 digits)."""
        pattern = re.compile(rf"^{re.escape(prefix)}(\d{{4}})\.", re.IGNORECASE)
        numbers = [int(m.group(1)) for o in self.children(folder) if (m := pattern.match(o.filename))]
        return f"{prefix}{(max(numbers, default=0) + 1) % 10000:04d}.{ext}"


def folder_path(store: ObjectStore, handle: int) -> str:
    """``/DCIM/100PTPD/IMG_0001.JPG`` for an object, walking up its parents."""
    parts: list[str] = []
    h = handle
    seen: set[int] = set()
    while h != ROOT and h not in seen:
        seen.add(h)
        o = store.get(h)
        parts.append(o.filename)
        h = o.parent
    return "/" + "/".join(reversed(parts))


def walk(store: ObjectStore, storage_id: int) -> Iterable[StoredObject]:
    """Every object of a store, breadth-first from the root (gphoto2's walk order)."""
    queue = [o for o in store if o.storage_id == storage_id and o.parent == ROOT]
    while queue:
        o = queue.pop(0)
        yield o
        if o.is_folder:
            queue.extend(store.children(o.handle))
