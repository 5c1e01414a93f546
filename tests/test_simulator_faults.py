"""Fault injection of the generic simulator, seen from a host over real sockets."""

from __future__ import annotations

import asyncio
import re
import struct
import time
from typing import Any

import pytest

from ptpd.protocol import datasets
from ptpd.protocol import packets as pk
from ptpd.protocol.codes import OperationCode as OP
from ptpd.protocol.codes import ResponseCode as RC
from ptpd.protocol.errors import CameraDisconnected, ProtocolError
from ptpd.protocol.framing import PacketBuffer
from ptpd.simulator.faults import DropPoint, Faults, Malformed, corrupt_payload
from test_simulator import ALL, run, u32_array
from test_simulator_helpers import SimClient

LOST = (CameraDisconnected, ProtocolError, ConnectionError, asyncio.TimeoutError)


async def first_jpeg(c: SimClient) -> int:
    return u32_array((await c.transact(OP.GetObjectHandles, (ALL, 0x3801, 0)))[1])[0]


async def raw_exchange(c: SimClient, request: pk.OperationRequest) -> tuple[list[pk.Packet], bytes]:
    """Send one request on the command socket and read until EOF: whole packets + leftover bytes."""
    c.cmd.writer.write(request.encode())
    buf = PacketBuffer()
    while True:
        data = await asyncio.wait_for(c.cmd.reader.read(1 << 20), 10)
        if not data:
            break
        buf.feed(data)
    packets = []
    while (raw := buf.next_packet()) is not None:
        packets.append(pk.decode_packet(raw))
    return packets, buf.take_rest()


def test_drop_mid_data_phase_closes_every_socket_then_reconnect_works() -> None:
    async def t(sim: Any) -> None:
        c = await SimClient.connect(sim.port)
        h = await first_jpeg(c)
        sim.faults.drop_next(DropPoint.MID_DATA, fraction=0.5)
        tid = c.cmd.conn.next_transaction_id
        packets, rest = await raw_exchange(c, pk.OperationRequest(1, OP.GetObject, tid, (h,)))
        start = packets[0]
        assert isinstance(start, pk.StartData) and start.total_length > 0
        got = sum(len(p.payload) for p in packets[1:] if isinstance(p, pk.Data)) + max(0, len(rest) - 12)
        assert 0 < got < start.total_length
        assert not any(isinstance(p, (pk.EndData, pk.OperationResponse)) for p in packets)
        # the event socket went down too (Wi-Fi loss closes everything)
        assert c.evt is not None
        assert await asyncio.wait_for(c.evt.reader.read(100), 5) == b""
        await c.close()
        c = await SimClient.connect(sim.port)
        assert (await c.transact(OP.GetObject, (h,)))[0].code == RC.OK
        await c.close()
        assert sim.faults.injected["drop"] == 1

    run(t)


@pytest.mark.parametrize("point", [DropPoint.BEFORE_DATA, DropPoint.BEFORE_RESPONSE])
def test_drop_before_data_or_response(point: DropPoint) -> None:
    async def t(sim: Any) -> None:
        c = await SimClient.connect(sim.port)
        sim.faults.drop_next(point)
        with pytest.raises(LOST):
            await c.transact(OP.GetDeviceInfo)
        await c.close()
        c = await SimClient.connect(sim.port)
        await c.close()

    run(t)


def test_stall_then_answer_and_slow_answers() -> None:
    async def t(sim: Any) -> None:
        c = await SimClient.connect(sim.port)
        sim.faults.stall_next(30)
        with pytest.raises(asyncio.TimeoutError):
            await c.transact(OP.GetStorageIDs, timeout=0.5)
        await c.close()
        sim.drop_all()  # the test's host gives up and the camera forgets the session
        c = await SimClient.connect(sim.port)
        sim.faults.slow_next(300)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        assert (await c.transact(OP.GetStorageIDs))[0].code == RC.OK
        assert loop.time() - t0 >= 0.3  # lower bound: the delay is a sleep
        await c.close()
        assert sim.faults.injected["stall"] == 1 and sim.faults.injected["slow"] == 1

    run(t)


def test_device_busy_for_a_while_and_once() -> None:
    async def t(sim: Any) -> None:
        c = await SimClient.connect(sim.port)
        sim.faults.busy_for(30)
        assert (await c.transact(OP.GetStorageIDs))[0].code == RC.DeviceBusy
        assert (await c.transact(OP.InitiateCapture, (0, 0)))[0].code == RC.DeviceBusy
        assert (await c.transact(OP.GetDeviceInfo))[0].code == RC.OK  # a host can still look
        sim.faults.clear()
        assert (await c.transact(OP.GetStorageIDs))[0].code == RC.OK
        sim.faults.busy_next()
        assert (await c.transact(OP.GetStorageIDs))[0].code == RC.DeviceBusy
        assert (await c.transact(OP.GetStorageIDs))[0].code == RC.OK
        await c.close()

    run(t)


def test_malformed_packets_are_caught_by_the_host_decoders() -> None:
    async def t(sim: Any) -> None:
        c = await SimClient.connect(sim.port)
        h = await first_jpeg(c)
        # datasets broken inside consistent framing: only the dataset decoder notices
        sim.faults.malformed_next(Malformed.TRUNCATED_DATASET)
        resp, data = await c.transact(OP.GetDeviceInfo)
        assert data is not None
        with pytest.raises(ProtocolError):
            datasets.DeviceInfo.decode(data)
        sim.faults.malformed_next(Malformed.UNTERMINATED_STRING)
        resp, data = await c.transact(OP.GetObjectInfo, (h,))
        assert data is not None
        with pytest.raises(ProtocolError, match="NUL"):
            datasets.ObjectInfo.decode(data)
        sim.faults.malformed_next(Malformed.ABSURD_ARRAY_COUNT)
        resp, data = await c.transact(OP.GetObjectHandles, (ALL, 0, 0))
        assert data is not None
        assert struct.unpack_from("<I", data)[0] == 1_000_000_000
        with pytest.raises(ProtocolError):
            datasets.decode_uint32_array(data)
        sim.faults.malformed_next(Malformed.ABSURD_ARRAY_COUNT)
        resp, data = await c.transact(OP.GetDeviceInfo)
        assert data is not None
        with pytest.raises(ProtocolError):
            datasets.DeviceInfo.decode(data)
        # and the session goes on
        assert (await c.transact(OP.GetStorageIDs))[0].code == RC.OK
        # an unknown packet type, then a length below the header: the framing layer refuses
        for kind in (Malformed.UNKNOWN_TYPE, Malformed.BAD_LENGTH):
            sim.faults.malformed_next(kind)
            with pytest.raises(ProtocolError):
                await c.transact(OP.GetStorageIDs)
            await c.close()
            c = await SimClient.connect(sim.port)
        await c.close()
        assert sim.faults.injected["malformed"] == 6

    run(t)


def test_refused_init_then_accepted() -> None:
    async def t(sim: Any) -> None:
        sim.faults.refuse_next_inits(1, reason=1)
        with pytest.raises(ConnectionRefusedError, match="reason=1"):
            await SimClient.connect(sim.port)
        c = await SimClient.connect(sim.port)
        await c.close()
        assert sim.faults.injected["refuse_init"] == 1

    run(t)


def test_sleep_after_idle_and_wake_later() -> None:
    async def t(sim: Any) -> None:
        sim.faults.configure(sleep_after_s=0.3, wake_after_s=1.5)
        c = await SimClient.connect(sim.port)
        # idle: the camera falls asleep and closes the session
        assert await asyncio.wait_for(c.cmd.reader.read(100), 5) == b""
        await c.close()
        assert sim.faults.asleep()
        with pytest.raises(LOST):
            await SimClient.connect(sim.port)
        sim.faults.configure(sleep_after_s=None)
        await asyncio.sleep(1.6)
        c = await SimClient.connect(sim.port)
        assert (await c.transact(OP.GetStorageIDs))[0].code == RC.OK
        await c.close()
        assert sim.faults.injected["sleep"] == 1

    run(t)


def test_random_faults_never_kill_the_server() -> None:
    faults = Faults(
        drop_rate=0.05,
        malformed_rate=0.05,
        busy_rate=0.03,
        busy_s=0.05,
        slow_rate=0.05,
        slow_ms=10,
        refuse_init_rate=0.1,
        seed=1234,
    )

    async def t(sim: Any) -> None:
        ok = busy = errors = 0
        c: SimClient | None = None
        for i in range(150):
            try:
                if c is None:
                    c = await SimClient.connect(sim.port)
                op = (OP.GetDeviceInfo, OP.GetStorageIDs, OP.GetObjectHandles, OP.GetStorageInfo)[i % 4]
                params = {OP.GetObjectHandles: (ALL, 0, 0), OP.GetStorageInfo: (0x00010001,)}.get(op, ())
                resp, _ = await c.transact(op, params, timeout=2)
                assert resp.code in (RC.OK, RC.DeviceBusy)
                ok += resp.code == RC.OK
                busy += resp.code == RC.DeviceBusy
            except LOST:
                errors += 1
                if c is not None:
                    await c.close()
                c = None
        if c is not None:
            await c.close()
        assert ok + busy + errors == 150 and ok > 20 and busy > 0 and errors > 0
        assert sim.faults.total >= errors
        sim.faults.clear()
        c = await SimClient.connect(sim.port)
        assert (await c.transact(OP.GetStorageIDs))[0].code == RC.OK
        await c.close()

    run(t, timeout=60, faults=faults)


# -- the fault model itself -------------------------------------------------------------------


def test_fault_model_is_reproducible_and_controllable() -> None:
    a = Faults(drop_rate=0.2, stall_rate=0.1, malformed_rate=0.1, seed=7)
    b = Faults(drop_rate=0.2, stall_rate=0.1, malformed_rate=0.1, seed=7)
    plans_a = [a.on_transaction(0x1001, True, now=float(i)) for i in range(200)]
    plans_b = [b.on_transaction(0x1001, True, now=float(i)) for i in range(200)]
    assert plans_a == plans_b and a.injected == b.injected and a.total > 20
    f = Faults()
    assert all(f.on_transaction(0x1009, True, now=0.0).quiet for _ in range(50)) and f.total == 0
    f.configure(malformed_kinds="bad-length", malformed_rate=1.0)
    assert f.on_transaction(0x1009, True, now=1.0).malformed is Malformed.BAD_LENGTH
    f.configure(malformed_kinds=["truncated-dataset"])
    # no data phase to truncate: it becomes a bad packet instead
    assert f.on_transaction(0x1003, False, now=1.0).malformed in (Malformed.BAD_LENGTH, Malformed.UNKNOWN_TYPE)
    with pytest.raises(ValueError):
        f.configure(nonsense=1)
    f.clear()
    f.drop_next("mid-data")
    assert f.on_transaction(0x1003, False, now=2.0).drop is DropPoint.BEFORE_RESPONSE  # no data to cut
    snap = f.snapshot()
    assert snap["injected"]["drop"] == 1 and snap["malformed_kinds"] == ["truncated-dataset"]


def test_corrupted_payloads_break_only_what_they_say() -> None:
    info = datasets.ObjectInfo(storage_id=1, object_format=0x3801, filename="IMG_0001.JPG").encode()
    bad = corrupt_payload(Malformed.UNTERMINATED_STRING, OP.GetObjectInfo, info)
    assert len(bad) == len(info) and bad[:52] == info[:52]
    with pytest.raises(ProtocolError):
        datasets.ObjectInfo.decode(bad)
    handles = datasets.encode_uint32_array([1, 2, 3])
    assert corrupt_payload(Malformed.ABSURD_ARRAY_COUNT, OP.GetObjectHandles, handles)[4:] == handles[4:]
    assert len(corrupt_payload(Malformed.TRUNCATED_DATASET, OP.GetObjectInfo, info)) < len(info)
    # the framing-level faults are refused by the shared framer
    buf = PacketBuffer()
    from ptpd.simulator.faults import bad_length_packet, unknown_type_packet

    buf.feed(bad_length_packet())
    with pytest.raises(ProtocolError):
        buf.next_packet()
    with pytest.raises(ProtocolError):
        pk.decode_packet(unknown_type_packet(5))


# -- the control surface (what ``sim.fault`` reaches) ----------------------------------------


@pytest.mark.parametrize(
    ("action", "options", "says"),
    [
        ("configure", {"drop_rate": "x"}, "drop_rate must be a number from 0 to 1"),
        ("configure", {"drop_rate": 1.5}, "drop_rate"),
        ("configure", {"stall_s": -1}, "stall_s"),
        ("configure", {"slow_ms": float("nan")}, "slow_ms"),
        ("configure", {"malformed_kinds": ["bad-length", "nope"]}, "malformed_kinds"),
        ("configure", {"seed": "7"}, "seed"),
        ("configure", {"busy_rate": True}, "busy_rate"),
        ("configure", {"nonsense": 1}, "nonsense"),
        ("configure", {"drop_rate": 0.5, "stall_rate": "high"}, "stall_rate"),  # nothing applied
        ("drop_next", {"point": "sideways"}, "point must be one of before-data"),
        ("drop_next", {"fraction": 2}, "fraction"),
        ("stall_next", {"seconds": "ten"}, "seconds"),
        ("slow_next", {"seconds": 1}, "unknown option 'seconds' (takes ms)"),
        ("malformed_next", {"kind": "evil"}, "kind"),
        ("refuse_next_inits", {"count": -1}, "count"),
        ("clear", {"all": True}, "takes no options"),
        ("explode", {}, "action must be one of configure"),
        ("snapshot", [1, 2], "options must be a map"),
    ],
)
def test_control_refuses_what_it_cannot_take_and_changes_nothing(action: str, options: Any, says: str) -> None:
    from ptpd.simulator.control import ControlError, control

    f = Faults(seed=1)
    before = f.snapshot()
    with pytest.raises(ControlError, match=re.escape(says)):
        control(f, action, options)
    assert f.snapshot() == before and not f._pending
    # the model still plans transactions as before (a bad value never reaches it)
    assert f.on_transaction(OP.GetObject, True, now=0.0).quiet


def test_control_runs_actions_and_answers_plain_data() -> None:
    import msgpack

    from ptpd.simulator.control import control

    f = Faults(seed=1)
    got = control(f, "configure", {"drop_rate": 1, "malformed_kinds": "bad-length", "sleep_after_s": None})
    assert got["action"] == "configure" and got["faults"]["drop_rate"] == 1.0
    assert got["faults"]["malformed_kinds"] == ["bad-length"]
    assert msgpack.unpackb(msgpack.packb(got)) == got  # plain data, as the bus sends it
    control(f, "clear")
    control(f, "drop_next", {"point": "mid-data", "fraction": 0.25})
    plan = f.on_transaction(OP.GetObject, True, now=0.0)
    assert plan.drop is DropPoint.MID_DATA and plan.drop_fraction == 0.25
    control(f, "busy_for", {"seconds": 30})
    assert f.on_transaction(OP.GetObject, True, now=time.monotonic()).busy
    assert control(f, "snapshot", None)["faults"]["injected"] == {"drop": 1, "busy": 1}
