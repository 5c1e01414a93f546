"""A transfer cut by a dropped link resumes from the byte it reached, not from zero."""

from __future__ import annotations

import asyncio
import os

import pytest

from ptpd.camera.base import RawResult
from ptpd.daemon.transfer import CHUNK, Transfer, TransferInterrupted, fetch, verify
from ptpd.protocol.errors import CameraDisconnected

OBJECT = b"\xff\xd8" + os.urandom(3 * CHUNK + 1234) + b"\xff\xd9"


class FlakyCamera:
    """Serves GetPartialObject from OBJECT; the link drops on the request numbered ``drop_at``."""

    def __init__(self, drop_at: int | None) -> None:
        self.drop_at = drop_at
        self.asked: list[tuple[int, int]] = []  #: (offset, max bytes) of each GetPartialObject

    async def raw(self, code: int, params: tuple[int, ...] = (), data: bytes | None = None) -> RawResult:
        assert code == 0x101B
        handle, offset, want = params
        self.asked.append((offset, want))
        if self.drop_at is not None and len(self.asked) == self.drop_at:
            raise CameraDisconnected("link dropped mid-transfer")
        chunk = OBJECT[offset : offset + want]
        return RawResult(0x2001, (len(chunk),), chunk)


def test_resume_continues_from_the_bytes_received() -> None:
    t = Transfer(handle=7, size=len(OBJECT), format=0x3801, filename="DSCF0001.JPG")
    cam = FlakyCamera(drop_at=3)  # two steps arrive, the third is cut
    with pytest.raises(TransferInterrupted) as info:
        asyncio.run(fetch(cam, t, partial=True))  # type: ignore[arg-type]
    assert info.value.transfer.received == 2 * CHUNK
    # after the reconnect: a new camera object, the same Transfer
    cam2 = FlakyCamera(drop_at=None)
    data = asyncio.run(fetch(cam2, t, partial=True))  # type: ignore[arg-type]
    assert cam2.asked[0][0] == 2 * CHUNK, "resumed from zero instead of the byte reached"
    assert [off for off, _ in cam2.asked] == [2 * CHUNK, 3 * CHUNK]
    assert bytes(data) == OBJECT
    verify(data, len(OBJECT), 0x3801, t.filename)


class WholeObjectCamera:
    """A camera without GetPartialObject: one GetObject, sliced from ``offset``."""

    def __init__(self) -> None:
        self.offsets: list[int] = []
        self.sizes: list[object] = []

    async def download(self, handle: int, progress: object = None, offset: int = 0, size: object = None) -> bytes:
        self.offsets.append(offset)
        self.sizes.append(size)
        return OBJECT[offset:]


def test_a_download_from_an_offset_restarts_there_without_partial_reads() -> None:
    # nothing received yet: a camera without GetPartialObject can still serve it whole
    t = Transfer(handle=7, size=len(OBJECT), start=5)
    cam = WholeObjectCamera()
    data = asyncio.run(fetch(cam, t, partial=False))  # type: ignore[arg-type]
    assert bytes(data) == OBJECT[5:] and cam.offsets == [5]
    assert cam.sizes == [len(OBJECT)]  # the size the transfer knows: the camera need not ask
    # bytes already received cannot be continued that way: refused, not duplicated
    t.data += b"\x00" * 10
    with pytest.raises(Exception, match="cannot resume"):
        asyncio.run(fetch(cam, t, partial=False))  # type: ignore[arg-type]
