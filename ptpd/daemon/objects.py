"""The object commands: ``objects``, ``download`` (resumed across a reconnect) and ``delete``."""

from __future__ import annotations

from typing import Any

from ptpd.bus import BusError, ErrorCode
from ptpd.camera import ALL_OBJECTS, Camera, Download, TransferInterrupted
from ptpd.daemon.args import U32_MAX, handle_arg
from ptpd.daemon.context import Context, Request, on_camera
from ptpd.daemon.errors import to_bus_error
from ptpd.daemon.files import check_dir, safe_filename, write_into
from ptpd.daemon.shapes import object_dict
from ptpd.daemon.transfers import note_loss, resume, resume_window


async def objects(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    objs = await on_camera(ctx, request, "objects", lambda cam: cam.objects(), 4)
    return {"objects": [object_dict(o) for o in objs]}


async def download(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    """An object's bytes from ``offset`` (or written under ``dir``), named from one
    GetObjectInfo; a transfer a dropped link cut is taken up again after the reconnect."""
    handle, offset, out_dir = handle_arg(a), a["offset"], a["dir"]
    if not 0 <= offset <= U32_MAX:
        raise BusError(ErrorCode.BAD_REQUEST, "offset must be 0..0xFFFFFFFF")
    if out_dir is not None:
        if offset:
            raise BusError(ErrorCode.BAD_REQUEST, "dir writes the whole object: not with offset")
        await check_dir(out_dir)
    progress = ctx.progress_reporter(request, handle)

    async def first(cam: Camera) -> Download:
        if out_dir is None:  # its turn on the camera: the bytes go in the reply, is there room?
            ctx.reply_room(request)
        t = await cam.transfer(handle, offset)
        # One download: the camera's own buffer goes into the reply (a blob frame, never
        # copied); a dropped link leaves what arrived in the transfer, for the resume below.
        return await cam.fetch(t, progress)

    link = ctx.link
    connects = link.connects
    try:
        dl = await on_camera(ctx, request, "download", first, 8)
    except TransferInterrupted as exc:
        # after the reconnect the camera layer takes it up again from the byte it reached
        # (GetPartialObject for the rest); a second drop keeps what arrived as well
        note_loss(link, exc)
        t = exc.transfer
        try:
            dl = await resume(link, t, progress, connects, resume_window(ctx.config.timeout), request.control)
        except Exception as exc2:
            note_loss(link, exc2)
            err = to_bus_error(exc2)
            raise BusError(
                err.code,
                f"download of handle 0x{handle:08X} interrupted ({t.so_far}; resume with offset): {err.message}",
                err.ptp_code,
            ) from None
    result: dict[str, Any] = {
        "handle": handle,
        "filename": dl.filename,
        "size": len(dl.data) + offset,
        "offset": offset,
    }
    if dl.resumes:
        result["resumed"] = dl.resumes
    if out_dir is not None:
        name = safe_filename(dl.filename, f"object-{handle:08x}")
        result["path"] = await write_into(out_dir, name, dl.data, dl.size, dl.format)
        return result
    result["data"] = dl.data
    return result


async def delete(ctx: Context, a: dict[str, Any], request: Request) -> Any:
    """One object, or with ``all`` every object: a wipe of the card takes the word, never
    a handle that happens to mean it (PTP's 0xFFFFFFFF)."""
    if a["all"]:
        if a["handle"] is not None:
            raise BusError(ErrorCode.BAD_REQUEST, "delete: give a handle or all, not both")
        await on_camera(ctx, request, "delete", lambda cam: cam.delete(ALL_OBJECTS))
        return {"all": True}
    if a["handle"] is None:
        raise BusError(
            ErrorCode.BAD_REQUEST, "delete: argument 'handle' is required (or all: true to delete every object)"
        )
    handle = handle_arg(a)
    if handle == ALL_OBJECTS:
        raise BusError(
            ErrorCode.BAD_REQUEST,
            "delete: handle 0xFFFFFFFF means every object on the camera; to delete them all say all: true",
        )
    await on_camera(ctx, request, "delete", lambda cam: cam.delete(handle))
    return {"handle": handle}
