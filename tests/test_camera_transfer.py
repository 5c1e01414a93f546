"""A transfer cut by a dropped link resumes from the byte it reached, not from zero: the
camera layer's :class:`~ptpd.camera.Transfer` outlives the camera object it began on."""

from __future__ import annotations

import asyncio
import os

import pytest

from ptpd.camera import CameraDisconnected, IncompleteTransfer, Transfer, TransferInterrupted, verify
from ptpd.camera.transfer import fetch

#: the step of a camera that caps its partial reads
CHUNK = 256 * 1024
OBJECT = b"\xff\xd8" + os.urandom(3 * CHUNK + 1234) + b"\xff\xd9"


class FlakyCamera:
    """Caps its partial reads at CHUNK and serves them from OBJECT; the link drops on the
    read numbered ``drop_at``."""

    read_step = CHUNK

    def __init__(self, drop_at: int | None) -> None:
        self.drop_at = drop_at
        self.asked: list[tuple[int, int]] = []  #: (offset, max bytes) of each partial read

    async def partial_reads(self) -> bool:
        return True

    async def read_partial(self, handle: int, offset: int, size: int) -> bytes:
        self.asked.append((offset, size))
        if self.drop_at is not None and len(self.asked) == self.drop_at:
            raise CameraDisconnected("link dropped mid-transfer")
        return OBJECT[offset : offset + size]


def test_resume_continues_from_the_bytes_received() -> None:
    t = Transfer(handle=7, size=len(OBJECT), format=0x3801, filename="DSCF0001.JPG")
    cam = FlakyCamera(drop_at=3)  # two steps arrive, the third is cut
    with pytest.raises(TransferInterrupted) as info:
        asyncio.run(fetch(cam, t))  # type: ignore[arg-type]  # a stand-in: what fetch() calls
    assert info.value.transfer is t and t.received == 2 * CHUNK
    assert isinstance(info.value.cause, CameraDisconnected)
    # after the reconnect: a new camera object, the same Transfer
    cam2 = FlakyCamera(drop_at=None)
    got = asyncio.run(fetch(cam2, t))  # type: ignore[arg-type]  # a stand-in: what fetch() calls
    assert cam2.asked[0][0] == 2 * CHUNK, "resumed from zero instead of the byte reached"
    assert [off for off, _ in cam2.asked] == [2 * CHUNK, 3 * CHUNK]
    assert bytes(got.data) == OBJECT and got.handle == 7 and got.offset == 0
    assert (got.filename, got.format, got.size) == ("DSCF0001.JPG", 0x3801, len(OBJECT))
    verify(got.data, got.size, got.format, got.filename)


def test_progress_reaches_the_end_in_steps_and_within_one_step() -> None:
    """Each step reports the bytes so far; an object within one step reports its end too."""
    for step, expect in ((CHUNK, [CHUNK, 2 * CHUNK, 3 * CHUNK, len(OBJECT)]), (4 * CHUNK, [len(OBJECT)])):
        seen: list[tuple[int, int]] = []
        cam = FlakyCamera(drop_at=None)
        cam.read_step = step
        got = asyncio.run(fetch(cam, Transfer(handle=7, size=len(OBJECT)), lambda n, total: seen.append((n, total))))  # type: ignore[arg-type]  # noqa: B023  # a stand-in; run in this iteration
        assert bytes(got.data) == OBJECT
        assert seen == [(n, len(OBJECT)) for n in expect], step


class WholeObjectCamera:
    """A camera without partial reads: one download, sliced from ``offset``."""

    read_step = None

    def __init__(self) -> None:
        self.offsets: list[int] = []
        self.sizes: list[object] = []

    async def partial_reads(self) -> bool:
        return False

    async def download(self, handle: int, progress: object = None, offset: int = 0, size: object = None) -> bytes:
        self.offsets.append(offset)
        self.sizes.append(size)
        return OBJECT[offset:]


def test_a_download_from_an_offset_restarts_there_without_partial_reads() -> None:
    # nothing received yet: a camera without partial reads can still serve it whole
    t = Transfer(handle=7, size=len(OBJECT), start=5)
    cam = WholeObjectCamera()
    got = asyncio.run(fetch(cam, t))  # type: ignore[arg-type]  # a stand-in: what fetch() calls
    assert bytes(got.data) == OBJECT[5:] and got.offset == 5 and cam.offsets == [5]
    assert cam.sizes == [len(OBJECT)]  # the size the transfer knows: the camera need not ask
    # bytes already received cannot be continued that way: refused, not duplicated
    t.data += b"\x00" * 10
    with pytest.raises(IncompleteTransfer, match="cannot resume"):
        asyncio.run(fetch(cam, t))  # type: ignore[arg-type]  # a stand-in: what fetch() calls


def test_one_download_and_the_size_is_learnt() -> None:
    """A transfer that did not know the size is one read, and learns the size from what
    arrived."""
    t = Transfer(handle=9)
    cam = WholeObjectCamera()
    got = asyncio.run(fetch(cam, t))  # type: ignore[arg-type]  # as above
    assert bytes(got.data) == OBJECT and t.size == len(OBJECT) and cam.offsets == [0]


def test_verify_wants_the_whole_object() -> None:
    verify(OBJECT, len(OBJECT), 0x3801)
    with pytest.raises(IncompleteTransfer, match="got 10 of"):
        verify(OBJECT[:10], len(OBJECT), 0x3801)
    with pytest.raises(IncompleteTransfer, match="end marker"):
        verify(OBJECT[:-2], None, 0, "DSCF0001.JPG")  # a JPEG by its name
    verify(OBJECT[:-2], None, 0, "DSCF0001.RAF")  # other formats: the size only
