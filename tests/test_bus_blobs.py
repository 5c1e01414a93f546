"""Blob frames: bytes after the msgpack header, referred to as ``{"$blob": i}``."""

from __future__ import annotations

import pytest
import zmq

from ptpd import bus


def test_split_takes_every_buffer_out_without_copying_it() -> None:
    big, small, view = bytearray(b"\xff\xd8" * 1000), b"\x01", memoryview(b"abc")
    header, blobs = bus.split_blobs({"shots": [{"data": big, "preview": small, "n": 1}], "x": view, "s": "text"})
    assert header == {
        "shots": [{"data": {"$blob": 0}, "preview": {"$blob": 1}, "n": 1}],
        "x": {"$blob": 2},
        "s": "text",
    }
    assert blobs[0] is big and blobs[1] is small and blobs[2] is view
    assert bus.join_blobs(bus.unpack(bus.pack(header)), blobs) == {
        "shots": [{"data": big, "preview": small, "n": 1}],
        "x": view,
        "s": "text",
    }


@pytest.mark.parametrize(
    ("obj", "blobs", "message"),
    [
        ({"d": {"$blob": 1}}, [b"a"], "out of range"),
        ({"d": {"$blob": -1}}, [b"a"], "out of range"),
        ({"d": {"$blob": True}}, [b"a"], "out of range"),
        ({"d": {"$blob": "0"}}, [b"a"], "out of range"),
        ({"d": {"$blob": 0}}, [b"a", b"b"], "frame 1 is not referred to"),
        ({"d": 1}, [b"a"], "frame 0 is not referred to"),
    ],
)
def test_join_refuses_dangling_and_unreferenced_blobs(obj: object, blobs: list[bytes], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        bus.join_blobs(obj, blobs)


def test_a_map_with_more_than_the_blob_key_is_just_a_map() -> None:
    assert bus.join_blobs({"d": {"$blob": 0, "other": 1}}, []) == {"d": {"$blob": 0, "other": 1}}


def test_request_frames_round_trip_and_ask_for_blob_replies() -> None:
    frames = bus.encode_request_frames("r1", "opreq", {"code": 0x1001, "data": b"\x07\x08"})
    assert len(frames) == 2 and frames[1] == b"\x07\x08"
    req = bus.decode_request(frames[0], frames[1:])
    assert req == bus.Request("r1", "opreq", {"code": 0x1001, "data": b"\x07\x08"}, blobs=True)
    # the one-frame form: bytes inline, replies inline
    one = bus.decode_request(bus.encode_request(2, "opreq", {"code": 1, "data": b"\x07"}))
    assert one.args["data"] == b"\x07" and one.blobs is False
    with pytest.raises(bus.BusError) as e:
        bus.decode_request(frames[0], [])
    assert e.value.code is bus.ErrorCode.BAD_REQUEST


def test_request_size_counts_the_blobs() -> None:
    header = bus.pack({"id": 1, "cmd": "opreq", "args": {"code": 1, "data": {"$blob": 0}}})
    with pytest.raises(bus.BusError, match="exceeds"):
        bus.decode_request(header, [b"\0" * (bus.MAX_REQUEST_BYTES + 1 - len(header))])


def test_reply_frames_only_when_asked() -> None:
    result = {"handle": 1, "data": bytearray(b"JPEG")}
    assert bus.encode_reply_frames(7, result, False) == [bus.encode_reply(7, result)]
    frames = bus.encode_reply_frames(7, result, True)
    assert bus.unpack(frames[0]) == {"id": 7, "ok": True, "result": {"handle": 1, "data": {"$blob": 0}}}
    assert frames[1] is result["data"]


def test_decode_reply_from_zmq_frames_gives_read_only_views() -> None:
    ctx = zmq.Context()
    a, b = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
    try:
        a.bind("inproc://blobs")
        b.connect("inproc://blobs")
        payload = bytes(range(256)) * 1024  # above pyzmq's copy threshold
        a.send_multipart([b"", *bus.encode_reply_frames("x", {"data": payload, "preview": b"small"}, True)], copy=False)
        reply = bus.decode_reply(b.recv_multipart(copy=False))
        data = reply["result"]["data"]
        assert isinstance(data, memoryview) and data.readonly and data == payload
        assert reply["result"]["preview"] == b"small"
    finally:
        a.close(0)
        b.close(0)
        ctx.term()


def test_decode_reply_without_delimiter_and_refusals() -> None:
    assert bus.decode_reply([bus.encode_reply(1, {"a": 1})])["result"] == {"a": 1}
    for frames, message in (
        ([], "empty"),
        ([b""], "empty"),
        ([b"", bus.pack([1, 2])], "not a bus reply"),
        ([b"", bus.encode_error(1, bus.BusError("timeout", "late")), b"blob"], "error reply with 1 blob"),
        ([b"", b"\xc1"], "not a msgpack"),
    ):
        with pytest.raises(ValueError, match=message):
            bus.decode_reply(frames)
