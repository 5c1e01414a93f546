"""A download the link cuts midway resumes from the bytes that arrived: the camera layer
against the simulated cameras over real loopback sockets.

A picture is read in one GetObject (the link busy for all of it); the simulator drops
the connection partway through its data phase (``drop_next`` mid-data). The transfer must
keep exactly the bytes the camera sent before the cut, and a new camera object (the one
after the reconnect) must ask with GetPartialObject from that byte on: not from zero, and
losing nothing. The Fuji camera, which reads in steps, keeps the part of the step the
link cut.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from ptpd.camera import Transfer, TransferInterrupted, verify
from ptpd.camera.fuji import FujiCamera
from ptpd.camera.generic import GenericCamera
from ptpd.protocol.codes import OperationCode as OP
from ptpd.simulator import generic as sim_generic
from ptpd.simulator import start_simulator
from ptpd.simulator.faults import DropPoint
from ptpd.simulator.fuji import session as sim_fuji_session

pytestmark = pytest.mark.timeout(60)

MB = 1024 * 1024


def requests_of(table: dict[int, Any], monkeypatch: pytest.MonkeyPatch) -> dict[int, list[tuple[int, ...]]]:
    """The parameters of every GetObject / GetPartialObject the simulated camera answers
    from now on (its session's dispatch ``table``), by operation."""
    seen: dict[int, list[tuple[int, ...]]] = {OP.GetObject: [], OP.GetPartialObject: []}
    for code, calls in seen.items():

        def spy(
            session: Any,
            tid: int,
            params: tuple[int, ...],
            data: Any,
            answer: Any = table[code],
            calls: Any = calls,
            n: int = 1 if code == OP.GetObject else 3,
        ) -> Any:
            calls.append(tuple(params[:n]))  # the parameters the operation has (the rest are 0)
            return answer(session, tid, params, data)

        monkeypatch.setitem(table, code, spy)
    return seen


def run(body: Callable[[Any], Awaitable[None]], vendor: str, **options: Any) -> None:
    async def main() -> None:
        sim = await start_simulator(vendor, "127.0.0.1", 0, **options)
        try:
            await asyncio.wait_for(body(sim), 45)
        finally:
            await sim.close()

    asyncio.run(main())


async def biggest(cam: Any) -> tuple[Transfer, bytes]:
    """The transfer of the camera's biggest file, and its bytes as an undisturbed read gives them."""
    entry = max((o for o in await cam.objects() if not o.is_folder), key=lambda o: o.size)
    whole = bytes((await cam.fetch(await cam.transfer(entry.handle))).data)
    assert len(whole) == entry.size > 2 * MB
    return await cam.transfer(entry.handle), whole


def test_a_drop_mid_getobject_resumes_from_the_bytes_received(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = requests_of(sim_generic._HANDLERS, monkeypatch)

    async def body(sim: Any) -> None:
        cam = GenericCamera(sim.host, sim.port, timeout=5)
        await cam.connect()
        try:
            t, whole = await biggest(cam)
            assert asked[OP.GetObject] and not asked[OP.GetPartialObject]  # one GetObject, no steps
            asked[OP.GetObject].clear()
            await cam.partial_reads()  # asked before the fault, so the cut lands on the read
            sim.faults.drop_next(DropPoint.MID_DATA, fraction=0.37)
            with pytest.raises(TransferInterrupted) as info:
                await cam.fetch(t)
        finally:
            await cam.close()
        sent = int(len(whole) * 0.37)  # what the camera sent before it dropped the link
        assert info.value.transfer is t and asked[OP.GetObject] == [(t.handle,)]
        assert t.received == sent and bytes(t.data) == whole[:sent], "the bytes received were not kept"

        cam = GenericCamera(sim.host, sim.port, timeout=5)  # after the reconnect
        await cam.connect()
        try:
            got = await cam.resume(t)
        finally:
            await cam.close()
        assert asked[OP.GetPartialObject] == [(t.handle, sent, len(whole) - sent)], "not resumed from the byte reached"
        assert asked[OP.GetObject] == [(t.handle,)]  # nothing read again from zero
        assert bytes(got.data) == whole and got.resumes == 1 and got.offset == 0
        verify(got.data, got.size, got.format, got.filename)

    run(body, "generic", image_mb=3, initial_images=1)


def test_a_second_drop_during_the_resume_keeps_what_it_brought(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = requests_of(sim_generic._HANDLERS, monkeypatch)

    async def body(sim: Any) -> None:
        cam = GenericCamera(sim.host, sim.port, timeout=5)
        await cam.connect()
        try:
            t, whole = await biggest(cam)
            await cam.partial_reads()
            sim.faults.drop_next(DropPoint.MID_DATA, fraction=0.25)
            with pytest.raises(TransferInterrupted):
                await cam.fetch(t)
        finally:
            await cam.close()
        first = int(len(whole) * 0.25)
        assert t.received == first
        asked[OP.GetPartialObject].clear()
        # the resume's GetPartialObject for the rest is cut as well: half of the rest arrives
        cam = GenericCamera(sim.host, sim.port, timeout=5)
        await cam.connect()
        try:
            await cam.partial_reads()
            sim.faults.drop_next(DropPoint.MID_DATA, fraction=0.5)
            with pytest.raises(TransferInterrupted):
                await cam.resume(t)
        finally:
            await cam.close()
        second = first + int((len(whole) - first) * 0.5)
        assert asked[OP.GetPartialObject] == [(t.handle, first, len(whole) - first)]
        assert t.received == second and bytes(t.data) == whole[:second]
        cam = GenericCamera(sim.host, sim.port, timeout=5)
        await cam.connect()
        try:
            got = await cam.resume(t)
        finally:
            await cam.close()
        assert asked[OP.GetPartialObject][-1] == (t.handle, second, len(whole) - second)
        assert bytes(got.data) == whole and got.resumes == 2

    run(body, "generic", image_mb=3, initial_images=1)


def test_fuji_keeps_the_part_of_the_step_the_link_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Fuji camera reads in steps (:attr:`FujiCamera.read_step`); a drop inside the
    second step keeps the first and the part of the second that arrived."""
    asked = requests_of(sim_fuji_session.HANDLERS, monkeypatch)
    step = FujiCamera.read_step
    assert step is not None

    def camera(sim: Any) -> FujiCamera:
        return FujiCamera(sim.host, sim.port, event_port=sim.event_port, liveview_port=sim.liveview_port, timeout=10)

    async def body(sim: Any) -> None:
        cam = camera(sim)
        await cam.connect()
        try:
            t, whole = await biggest(cam)
            assert await cam.partial_reads()
            asked[OP.GetPartialObject].clear()
            sim.faults.clear()
            sim.faults.slow_next(1)  # the first step goes through
            sim.faults.drop_next(DropPoint.MID_DATA, fraction=0.5)  # the second is cut
            with pytest.raises(TransferInterrupted):
                await cam.fetch(t)
        finally:
            await cam.close()
        assert [p[1] for p in asked[OP.GetPartialObject]] == [0, step]
        kept = step + step // 2
        assert t.received == kept and bytes(t.data) == whole[:kept]
        asked[OP.GetPartialObject].clear()
        cam = camera(sim)
        await cam.connect()
        try:
            got = await cam.resume(t)
        finally:
            await cam.close()
        assert asked[OP.GetPartialObject][0][1] == kept, "not resumed from the byte reached"
        assert bytes(got.data) == whole

    run(body, "fuji", pairing_delay=0.0, big_object_mb=3)
