"""The Python client against a real daemon process with the simulated Fuji X-T1:
one test per command method, the error types, events after a snapshot, latest-frame
semantics, and the asyncio client."""

from __future__ import annotations

import asyncio
import time

import pytest
import zmq

import ptpd_client
from ptpd import bus
from ptpd_client import (
    AsyncClient,
    CaptureResult,
    Client,
    CommandFailed,
    DaemonUnavailable,
    Event,
    Frame,
    PropValue,
    RequestTimeout,
    Snapshot,
)
from ptpd_client._core import LatestMailbox, Sequencer
from test_client_daemon import Daemon


@pytest.fixture
def client(daemon: Daemon):
    with daemon.client(timeout=10.0) as c:
        yield c


# -- one test per command ----------------------------------------------------------------


def test_ping(client: Client) -> None:
    p = client.ping()
    assert p.pong is True and p.time > 0


def test_version_advertises_endpoints(client: Client, daemon: Daemon) -> None:
    v = client.version()
    assert v.protocol == bus.PROTOCOL_VERSION
    assert v.endpoints["liveview"] == daemon.endpoints["liveview"]


def test_endpoints_learned_from_the_daemon(daemon: Daemon) -> None:
    with Client(daemon.endpoints["command"]) as c:  # only the command endpoint given
        assert c.endpoints() == (daemon.endpoints["event"], daemon.endpoints["liveview"])


def test_status(client: Client) -> None:
    s = client.status()
    assert s.connection == "connected" and s.model == "X-T1"
    assert s.seq > 0 and s.uptime > 0


def test_snapshot(client: Client) -> None:
    snap = client.snapshot()
    assert isinstance(snap, Snapshot)
    assert snap.seq > 0 and snap.status.connection == "connected"
    assert all(isinstance(v, PropValue) for v in snap.state.values())


def test_help_lists_every_bus_command(client: Client) -> None:
    names = {c.name for c in client.help()}
    assert set(bus.COMMANDS) <= names


def test_info(client: Client) -> None:
    i = client.info()
    assert (i.vendor, i.manufacturer, i.model) == ("fuji", "FUJIFILM", "X-T1")
    # over Wi-Fi the body sends an empty DeviceInfo: its properties come from its 0x902B list
    assert i.properties and i.extra["offers"]["device_info"] == "empty or refused"


def test_properties(client: Client) -> None:
    assert {"iso", "whitebalance", "effect", "exp-bias"} <= set(client.properties())


def test_describe(client: Client) -> None:
    d = client.describe("effect")
    assert d.code == 0xD001 and d.writable and d.form == "enum"
    assert "Velvia" in [a.label for a in d.allowed]


def test_get_and_set(client: Client) -> None:
    pv = client.set("iso", "800")
    assert (pv.name, pv.value, pv.label) == ("iso", 800, "800")
    assert client.get("iso").label == "800"
    assert str(client.get(0xD02A)) == "800 (0x320)"  # by code too
    client.set("iso", "400")
    assert client.get("iso").value == 400


def test_state(client: Client) -> None:
    props = client.state()
    names = {p.name for p in props}
    assert {"iso", "effect", "battery"} <= names


def test_capture_with_preview(client: Client) -> None:
    r = client.capture(1, preview=True)
    assert isinstance(r, CaptureResult) and len(r.shots) == 1
    assert r.shots[0].preview is not None and r.shots[0].preview[:2] == b"\xff\xd8"


def test_liveview_start_stop(client: Client) -> None:
    assert client.liveview_start()["on"] is True
    deadline = time.monotonic() + 5
    while not client.status().liveview.on and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.status().liveview.on
    client.liveview_stop()


def test_objects_download_delete(client: Client) -> None:
    objs = [o for o in client.objects() if not o.is_folder]
    assert objs, "the simulated card has images"
    o = objs[-1]
    seen: list[tuple[int, int]] = []
    d = client.download(o.handle, progress=lambda done, total: seen.append((done, total)))
    assert d.data[:2] == b"\xff\xd8" and len(d.data) == o.size
    assert isinstance(d.data, memoryview) and d.data.readonly  # the received frame itself, not a copy
    assert d.filename == o.filename
    client.delete(o.handle)
    assert o.handle not in {x.handle for x in client.objects()}


def test_opreq_camera_summary(client: Client) -> None:
    r = client.opreq(0x1015, (0xD228,))  # GetDevicePropValue of the X-T1's summary blob
    assert r.code == 0x2001 and r.code_name
    assert isinstance(r.data, memoryview) and r.data.readonly  # a view of the received frame, not a copy
    assert bytes(r.data[40:44]) == b"X-T1"  # the model at offset 40 (fuji-ptpip.md §6.4)


# -- errors ----------------------------------------------------------------------------------


def test_invalid_value_is_command_failed(client: Client) -> None:
    with pytest.raises(CommandFailed) as ei:
        client.set("effect", "Kodachrome")
    assert ei.value.code == bus.ErrorCode.INVALID_VALUE
    assert ei.value.command == "set"


def test_no_daemon_is_daemon_unavailable_at_once(tmp_path) -> None:
    t0 = time.monotonic()
    with Client(f"ipc://{tmp_path}/nothing", timeout=5.0) as c:
        with pytest.raises(DaemonUnavailable):
            c.ping()
    assert time.monotonic() - t0 < 2.0


def test_silent_daemon_is_request_timeout(tmp_path) -> None:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
    router = ctx.socket(zmq.ROUTER)  # accepts, never answers
    router.linger = 0
    endpoint = f"ipc://{tmp_path}/silent"
    router.bind(endpoint)
    try:
        with Client(endpoint, timeout=0.3) as c:
            with pytest.raises(RequestTimeout):
                c.ping()
    finally:
        router.close()


# -- streams ---------------------------------------------------------------------------------


def test_events_after_snapshot_see_a_set(client: Client, daemon: Daemon) -> None:
    with client.events(["state."], timeout=5.0) as stream:
        first = next(stream)
        assert isinstance(first, Snapshot)
        with daemon.client() as other:
            other.set("exp-bias", "+1/3")
        for item in stream:
            if isinstance(item, Event) and item.topic == "state.exp-bias":
                assert item.data["label"] in ("1/3", "+1/3")
                assert item.seq is not None and item.seq > first.seq
                break
        with daemon.client() as other:
            other.set("exp-bias", "0")


def test_sequencer_detects_gaps() -> None:
    s = Sequencer()
    s.reset(10)

    def mk(n: int) -> Event:
        return Event(topic="x", seq=n)

    assert [s.accept(mk(n)) for n in (9, 10, 11, 12)] == ["old", "old", "ok", "ok"]
    assert s.accept(mk(15)) == "gap" and s.missed == 2 and s.gaps == 1


def test_frames_latest_frame_semantics(client: Client) -> None:
    with client.frames(timeout=5.0) as frames:
        f1 = next(frames)
        assert isinstance(f1, Frame) and f1.jpeg[:2] == b"\xff\xd8" and f1.width == 640
        time.sleep(0.6)  # a slow consumer: ~18 frames are published meanwhile
        f2 = next(frames)
        # the consumer gets the newest frame, not the next one in a backlog
        assert f2.seq - f1.seq >= 5
        assert f2.dropped == f2.seq - f1.seq - 1
        assert frames.replaced > 0


def test_latest_mailbox_keeps_only_the_newest() -> None:
    box = LatestMailbox()
    for n in range(1, 6):
        box.put(Frame(seq=n, jpeg=b""))
    got = box.get(0)
    assert got is not None and got.seq == 5 and box.get(0) is None and box.replaced == 4


def test_async_client(daemon: Daemon) -> None:
    async def main() -> None:
        async with AsyncClient(daemon.endpoints["command"], timeout=10.0) as c:
            pong, iso, status = await asyncio.gather(c.ping(), c.get("iso"), c.status())
            assert pong.pong and iso.name == "iso" and status.model == "X-T1"
            with pytest.raises(CommandFailed):
                await c.set("effect", "Kodachrome")
            stream = await c.events(["heartbeat"], timeout=5.0)
            assert isinstance(await stream.get(5.0), Snapshot)
            ev = await stream.get(5.0)
            assert isinstance(ev, Event) and ev.topic == "heartbeat"
            frames = await c.frames(timeout=5.0)
            f = await frames.get(5.0)
            assert f.jpeg[:2] == b"\xff\xd8"
            await frames.aclose()
            # bytes as blob frames, concurrently with other requests, matched by id
            o = next(x for x in await c.objects() if not x.is_folder)
            seen: list[tuple[int, int]] = []
            d, r = await asyncio.gather(
                c.download(o.handle, progress=lambda n, t: seen.append((n, t))), c.opreq(0x1015, (0xD228,))
            )
            assert isinstance(d.data, memoryview) and len(d.data) == o.size and d.data[:2] == b"\xff\xd8"
            assert d.filename == o.filename and r.code == 0x2001 and len(r.data) > 8

    asyncio.run(main())


def test_public_surface() -> None:
    assert sorted(ptpd_client.__all__) == sorted(
        [
            "DEFAULT_TIMEOUT",
            "AsyncClient",
            "AsyncEventStream",
            "AsyncFrameStream",
            "CameraInfo",
            "CaptureResult",
            "Client",
            "ClientError",
            "CommandFailed",
            "CommandHelp",
            "DaemonUnavailable",
            "Download",
            "Event",
            "EventStream",
            "Frame",
            "FrameStream",
            "Job",
            "JobUpdate",
            "LatestMailbox",
            "Lease",
            "LiveViewStatus",
            "ObjectInfo",
            "OpResult",
            "Pong",
            "PropDesc",
            "PropValue",
            "ProtocolMismatch",
            "RequestInterrupted",
            "RequestTimeout",
            "Shot",
            "Snapshot",
            "Status",
            "Timeout",
            "Version",
            # the storage command's results, and many daemons as a rig
            "StorageInfo",
            "StoreInfo",
            "CameraStatus",
            "ClockOffset",
            "Outcome",
            "Release",
            "Rig",
            "RigCamera",
            "RigFile",
            "RigFileError",
            "RigShot",
            "describe_failure",
            "load_rig",
        ]
    )
    for name in ptpd_client.__all__:
        assert getattr(ptpd_client, name) is not None


def test_event_feed_files_events_and_asks_for_a_snapshot_on_a_gap() -> None:
    from ptpd_client._core import EventFeed
    from ptpd_client._status import Snapshot
    from ptpd_client._stream_models import Event

    def ev(seq: int, topic: str = "state.iso") -> Event:
        return Event(topic=topic, seq=seq, data={"seq": seq})

    feed = EventFeed(("state.",), snapshot=True)
    feed.snapshot_taken(Snapshot.from_dict({"seq": 10}), None)
    assert feed.feed(ev(9)) is None and feed.feed(ev(11)) is None and feed.feed(ev(12, "heartbeat")) is None
    assert [x.seq for x in feed.pending] == [10, 11]  # the snapshot, then 11; 9 is old, heartbeat filtered
    feed.pending.clear()
    assert feed.feed(ev(15)) == (13, 15)  # 13 and 14 lost: take a new snapshot
    feed.snapshot_taken(Snapshot.from_dict({"seq": 14}), (13, 15))
    feed.after_gap(ev(15))
    assert [(type(x).__name__, x.seq) for x in feed.pending] == [("Snapshot", 14), ("Event", 15)]
    snap = feed.pending[0]
    assert isinstance(snap, Snapshot) and snap.gap == (13, 15) and feed.sequencer.gaps == 1
    feed.pending.clear()
    feed.feed(ev(20))
    feed.snapshot_taken(Snapshot.from_dict({"seq": 20}), (16, 20))
    feed.after_gap(ev(20))  # already in the snapshot: not filed twice
    assert [x.seq for x in feed.pending] == [20]

    plain = EventFeed((), snapshot=False)
    assert plain.feed(ev(1)) is None and plain.feed(ev(4)) is None
    events = [x for x in plain.pending if isinstance(x, Event)]
    assert events == plain.pending and [(x.seq, x.missed) for x in events] == [(1, 0), (4, 2)]
