"""Storage and object operations of a simulated camera, shared by every vendor's session.

No sockets here. The generic camera (:mod:`.generic`) and the Fuji camera (:mod:`.fuji`)
answer the standard storage and object operations (ISO 15740 §10.5: GetStorageIDs,
GetStorageInfo, GetNumObjects, GetObjectHandles, GetObjectInfo, GetObject,
GetPartialObject, GetThumb, DeleteObject) in exactly the same way over their
:class:`~.store.ObjectStore`; this module is that one way. Each session's dispatch table hands these operations to
:data:`OPERATIONS` and turns the :class:`Answer` into its own ``Reply``.

Store errors (:class:`~.store.InvalidStorage`, :class:`~.store.InvalidHandle`,
:class:`~.store.InvalidParent`) pass through: each session maps them to response codes.
Datasets are encoded by the camera's own ``object_info`` / ``storage_info`` methods, looked
up at call time, so a camera (or a test) can change how it describes its objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from ptpd.protocol import datasets
from ptpd.protocol.codes import OperationCode as OP
from ptpd.protocol.codes import ResponseCode as RC
from ptpd.simulator import store as st

#: "every store" / "every format" in GetObjectHandles parameters (ptp.md §9)
ALL = 0xFFFFFFFF
#: A format filter naming anything else than these is SpecificationByFormatUnsupported.
HANDLE_FORMATS = frozenset({st.FORMAT_ASSOCIATION, st.FORMAT_EXIF_JPEG})
#: StorageInfo's FreeSpaceInImages when the camera has no better count: one image per 2 MiB.
BYTES_PER_IMAGE = 2 * 1024 * 1024


class ObjectCamera(Protocol):
    """What the operations need of a camera: its store, the lock guarding it, its datasets."""

    store: st.ObjectStore
    lock: Any  #: a ``threading.RLock``: capture threads add objects meanwhile

    def object_info(self, o: st.StoredObject) -> bytes: ...

    def storage_info(self, storage_id: int) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Answer:
    """The outcome of one operation: response code and parameters, data-in payload or ``None``."""

    code: int
    params: tuple[int, ...] = ()
    data: bytes | memoryview | None = None


def object_info(o: st.StoredObject) -> bytes:
    """The ObjectInfo dataset of a stored object."""
    return datasets.ObjectInfo(
        storage_id=o.storage_id,
        object_format=o.object_format,
        protection_status=o.protection,
        object_compressed_size=min(o.size, 0xFFFFFFFF),
        thumb_format=o.thumb_format,
        thumb_compressed_size=len(o.thumb),
        thumb_pix_width=o.thumb_size[0],
        thumb_pix_height=o.thumb_size[1],
        image_pix_width=o.image_size[0],
        image_pix_height=o.image_size[1],
        image_bit_depth=o.bit_depth,
        parent_object=o.parent,
        association_type=o.association_type,
        association_desc=o.association_desc,
        sequence_number=o.sequence_number,
        filename=o.filename,
        capture_date=o.capture_date,
        modification_date=o.modification_date,
        keywords=o.keywords,
    ).encode()


def storage_info(store: st.ObjectStore, storage_id: int, *, free_images: int | None = None) -> bytes:
    """The StorageInfo dataset; ``free_images`` defaults to the free bytes over :data:`BYTES_PER_IMAGE`."""
    s = store.storage(storage_id)
    free = store.free_bytes(storage_id)
    return datasets.StorageInfo(
        storage_type=s.storage_type,
        filesystem_type=s.filesystem_type,
        access_capability=s.access_capability,
        max_capacity=s.max_capacity,
        free_space_in_bytes=free,
        free_space_in_images=free // BYTES_PER_IMAGE if free_images is None else free_images,
        storage_description=s.description,
        volume_label=s.volume_label,
    ).encode()


# -- the operations (``p`` is always padded to five parameters) --------------------------------


def get_storage_ids(cam: ObjectCamera, p: tuple[int, ...]) -> Answer:
    return Answer(RC.OK, data=datasets.encode_uint32_array(cam.store.storage_ids))


def get_storage_info(cam: ObjectCamera, p: tuple[int, ...]) -> Answer:
    return Answer(RC.OK, data=cam.storage_info(p[0]))


def _handles(cam: ObjectCamera, p: tuple[int, ...]) -> list[int] | Answer:
    storage_id, fmt, parent = p[0], p[1], p[2]
    if storage_id == 0:
        return Answer(RC.InvalidStorageID)
    if fmt not in (0, ALL) and fmt not in HANDLE_FORMATS:
        return Answer(RC.SpecificationByFormatUnsupported)
    with cam.lock:
        return cam.store.handles(storage_id, fmt, parent)


def get_num_objects(cam: ObjectCamera, p: tuple[int, ...]) -> Answer:
    handles = _handles(cam, p)
    return handles if isinstance(handles, Answer) else Answer(RC.OK, (len(handles),))


def get_object_handles(cam: ObjectCamera, p: tuple[int, ...]) -> Answer:
    handles = _handles(cam, p)
    return handles if isinstance(handles, Answer) else Answer(RC.OK, data=datasets.encode_uint32_array(handles))


def _object(cam: ObjectCamera, handle: int) -> st.StoredObject:
    with cam.lock:
        return cam.store.get(handle)


def get_object_info(cam: ObjectCamera, p: tuple[int, ...]) -> Answer:
    return Answer(RC.OK, data=cam.object_info(_object(cam, p[0])))


def get_object(cam: ObjectCamera, p: tuple[int, ...]) -> Answer:
    o = _object(cam, p[0])
    if o.is_folder:
        return Answer(RC.InvalidObjectHandle)
    return Answer(RC.OK, data=memoryview(o.data))  # a view: the server sends it without copying


def get_partial_object(cam: ObjectCamera, p: tuple[int, ...]) -> Answer:
    o = _object(cam, p[0])
    if o.is_folder:
        return Answer(RC.InvalidObjectHandle)
    offset, max_bytes = p[1], p[2]
    if offset > o.size:
        return Answer(RC.InvalidParameter)
    chunk = memoryview(o.data)[offset : offset + max_bytes]
    return Answer(RC.OK, (len(chunk),), data=chunk)


def get_thumb(cam: ObjectCamera, p: tuple[int, ...]) -> Answer:
    o = _object(cam, p[0])
    if not o.thumb:
        return Answer(RC.NoThumbnailPresent)
    return Answer(RC.OK, data=o.thumb)


def delete_object(cam: ObjectCamera, p: tuple[int, ...]) -> Answer:
    """One object (a folder with what is in it), or with 0xFFFFFFFF every file of the
    format P2 names (0 = any); a single object is never chosen by format (§10.5.11)."""
    handle, fmt = p[0], p[1]
    store = cam.store
    with cam.lock:
        if handle == ALL:
            for o in [o for o in store if not o.is_folder and fmt in (0, o.object_format)]:
                if o.handle in store:  # a folder deleted before took it with it
                    store.delete(o.handle)
            return Answer(RC.OK)
        if fmt != 0:
            return Answer(RC.SpecificationByFormatUnsupported)
        if store.get(handle).protection:
            return Answer(RC.ObjectWriteProtected)
        store.delete(handle)
    return Answer(RC.OK)


#: The shared operations by code.
OPERATIONS: dict[int, Callable[[ObjectCamera, tuple[int, ...]], Answer]] = {
    OP.GetStorageIDs: get_storage_ids,
    OP.GetStorageInfo: get_storage_info,
    OP.GetNumObjects: get_num_objects,
    OP.GetObjectHandles: get_object_handles,
    OP.GetObjectInfo: get_object_info,
    OP.GetObject: get_object,
    OP.GetPartialObject: get_partial_object,
    OP.GetThumb: get_thumb,
    OP.DeleteObject: delete_object,
}

Session = TypeVar("Session")
Reply = TypeVar("Reply")


def session_handlers(
    camera_of: Callable[[Session], ObjectCamera], reply: Callable[[Answer], Reply]
) -> dict[int, Callable[[Session, int, tuple[int, ...], bytes | None], Reply]]:
    """:data:`OPERATIONS` as entries of a session's dispatch table.

    A handler there is called ``(session, transaction_id, params, data_out)``;
    ``camera_of`` finds the session's camera and ``reply`` makes the session's own reply.
    """

    def handler(run: Callable[[ObjectCamera, tuple[int, ...]], Answer]) -> Callable[..., Reply]:
        def handle(session: Session, tid: int, p: tuple[int, ...], data: bytes | None) -> Reply:
            return reply(run(camera_of(session), p))

        return handle

    return {code: handler(run) for code, run in OPERATIONS.items()}


__all__ = ["OPERATIONS", "Answer", "ObjectCamera", "object_info", "session_handlers", "storage_info"]
