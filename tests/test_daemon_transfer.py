"""Data safety (issue 8): a capture whose download breaks names its handle and leaves the
image on the camera; daemon-side files are whole or absent; a transfer cut by a dropped
link resumes with GetPartialObject after the reconnect, from the byte it reached.

Real daemon process (``ptpd run --simulate generic``), faults through ``sim.fault``. A
generic capture runs InitiateCapture, GetObjectInfo, then one GetObject: two harmless
one-shot faults (1 ms late) go first so the drop lands on the data transfer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from test_daemon_sim import Daemon, largest_and_bytes, largest_object, needs_generic, wait_status

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    needs_generic()
    d = Daemon(tmp_path_factory.mktemp("xfer"), "--simulate", "generic", "--keepalive", "0", "--timeout", "1")
    try:
        wait_status(d.c, "connected")
        yield d
    finally:
        d.close()


def fault(d: Daemon, action: str, **options: object) -> None:
    d.c.ok("sim.fault", {"action": action, "options": options})


def drop_during_transfer(d: Daemon) -> None:
    fault(d, "clear")
    fault(d, "slow_next", ms=1)  # InitiateCapture
    fault(d, "slow_next", ms=1)  # GetObjectInfo
    fault(d, "drop_next", point="mid-data", fraction=0.5)  # the GetObject


def test_describe_names_the_datatype(gen: Daemon) -> None:
    r = gen.c.ok("describe", {"prop": "iso"})
    from ptpd.protocol.codes import DataType

    assert r["datatype_name"] == DataType(r["datatype"]).name


def test_capture_whose_download_fails_names_the_handle_and_keeps_the_image(gen: Daemon, tmp_path: Path) -> None:
    drop_during_transfer(gen)
    fault(gen, "refuse_next_inits", count=1000)  # no reconnect: the resume cannot happen
    out = tmp_path / "out"
    rep = gen.c.call("capture", {"download": True, "dir": str(out), "keep": False}, timeout=40)
    fault(gen, "clear")
    assert not rep["ok"], rep
    err = rep["error"]
    assert err["code"] == "not_connected", err
    assert len(err["handles"]) == 1
    handle = err["handles"][0]
    assert f"0x{handle:08X}" in err["message"] and "handle" in err["message"]
    assert err["shots"][0]["handle"] == handle and "received" in err["shots"][0]
    # nothing under a final name, no temp file left behind
    assert not out.exists() or list(out.iterdir()) == []
    wait_status(gen.c, "connected", 20)
    objs = gen.c.ok("objects", timeout=10)["objects"]
    assert handle in [o["handle"] for o in objs], "the image must stay on the camera"


def test_transfer_cut_by_a_drop_resumes_after_reconnect(gen: Daemon, tmp_path: Path) -> None:
    wait_status(gen.c, "connected", 20)
    drop_during_transfer(gen)
    out = tmp_path / "out"
    rep = gen.c.call("capture", {"download": True, "dir": str(out)}, timeout=40)
    assert rep["ok"], rep
    shot = rep["result"]["shots"][0]
    assert shot["resumed"] >= 1 and shot["source"] == "camera"
    path = Path(shot["path"])
    assert path.parent == out and path.exists()
    assert [p.name for p in out.iterdir()] == [path.name]
    wait_status(gen.c, "connected", 20)
    whole = gen.c.ok("download", {"handle": shot["handle"]}, timeout=20)
    assert path.read_bytes() == bytes(whole["data"])
    assert path.stat().st_size == shot["size"] == whole["size"]


def test_resumed_capture_with_bytes_in_the_reply(gen: Daemon) -> None:
    wait_status(gen.c, "connected", 20)
    drop_during_transfer(gen)
    rep = gen.c.call("capture", {"download": True}, timeout=40)
    assert rep["ok"], rep
    shot = rep["result"]["shots"][0]
    wait_status(gen.c, "connected", 20)
    whole = gen.c.ok("download", {"handle": shot["handle"]}, timeout=20)
    assert bytes(shot["data"]) == bytes(whole["data"]) and shot["resumed"] >= 1


def drop_during_download(d: Daemon) -> None:
    fault(d, "clear")
    fault(d, "slow_next", ms=1)  # GetObjectInfo
    fault(d, "drop_next", point="mid-data", fraction=0.5)  # the GetObject


def test_download_cut_by_a_drop_resumes_after_reconnect(gen: Daemon) -> None:
    obj = largest_object(gen.c)
    whole = gen.c.ok("download", {"handle": obj["handle"]}, timeout=20)
    assert "resumed" not in whole
    drop_during_download(gen)
    rep = gen.c.call("download", {"handle": obj["handle"]}, timeout=40)
    assert rep["ok"], rep
    got = rep["result"]
    assert got["resumed"] >= 1
    assert bytes(got["data"]) == bytes(whole["data"]) and got["size"] == obj["size"] == len(whole["data"])
    assert got["filename"] == whole["filename"] != ""


def test_a_drop_mid_getobject_resumes_from_the_byte_reached(tmp_path: Path) -> None:
    """The GetObject of a download and of a capture cut after half its bytes: after the
    reconnect the camera layer asks only for the rest (the daemon's log names the byte it
    resumed at: the half that arrived, not 0), and the bytes are an undisturbed read's."""
    d = Daemon(tmp_path, "--simulate", "generic", "--keepalive", "0", "--timeout", "1")
    try:
        obj, whole = largest_and_bytes(d.c)
        drop_during_download(d)
        got = d.c.ok("download", {"handle": obj["handle"]}, timeout=40)
        assert bytes(got["data"]) == whole and got["resumed"] == 1
        wait_status(d.c, "connected", 20)
        drop_during_transfer(d)
        shot = d.c.ok("capture", {"download": True}, timeout=40)["shots"][0]
        assert shot["resumed"] == 1
        wait_status(d.c, "connected", 20)
        assert bytes(shot["data"]) == bytes(d.c.ok("download", {"handle": shot["handle"]}, timeout=20)["data"])
    finally:
        d.close()
    log = d.proc.output()[1]
    for handle, size in ((obj["handle"], len(whole)), (shot["handle"], shot["size"])):
        assert f"resuming handle 0x{handle:08X} at byte {size // 2} " in log, log[-3000:]


def test_download_that_cannot_resume_says_how_far_it_got(gen: Daemon) -> None:
    obj = largest_object(gen.c)
    drop_during_download(gen)
    fault(gen, "refuse_next_inits", count=1000)  # no reconnect: the resume cannot happen
    rep = gen.c.call("download", {"handle": obj["handle"], "offset": 5}, timeout=40)
    fault(gen, "clear")
    assert not rep["ok"], rep
    err = rep["error"]
    assert err["code"] == "not_connected", err
    assert f"0x{obj['handle']:08X}" in err["message"] and "offset" in err["message"], err
    assert f"of {obj['size']} bytes" in err["message"], err
    wait_status(gen.c, "connected", 20)
    tail = gen.c.ok("download", {"handle": obj["handle"], "offset": 5}, timeout=20)
    assert tail["size"] == obj["size"] and len(tail["data"]) == obj["size"] - 5


def test_the_python_client_gets_a_resumed_download_whole(gen: Daemon) -> None:
    """A drop in the middle of the read: the Python client gets the resumed object whole,
    as the blob frame it received (a view, not a copy)."""
    from ptpd_client import Client

    obj, whole = largest_and_bytes(gen.c)
    with Client(gen.eps["command"], timeout=40) as c:
        drop_during_download(gen)
        got = c.download(obj["handle"])
        assert got.raw["resumed"] >= 1
        assert isinstance(got.data, memoryview) and got.data.readonly and bytes(got.data) == whole


# -- download into a directory on the daemon's side ----------------------------------------------


def test_download_into_a_directory_writes_the_whole_object_there(gen: Daemon, tmp_path: Path) -> None:
    obj, whole = largest_and_bytes(gen.c)
    out = tmp_path / "out"
    rep = gen.c.ok("download", {"handle": obj["handle"], "dir": str(out)}, timeout=20)
    assert "data" not in rep and rep["size"] == len(whole) == obj["size"]
    path = Path(rep["path"])
    assert path.parent == out and path.name == obj["filename"]
    assert path.read_bytes() == whole
    # a second time: never replaced, a name of its own beside it
    again = Path(gen.c.ok("download", {"handle": obj["handle"], "dir": str(out)}, timeout=20)["path"])
    assert again != path and again.parent == out and again.read_bytes() == whole
    assert sorted(p.name for p in out.iterdir()) == sorted([path.name, again.name])  # no temp file left


def test_download_into_a_directory_resumes_after_a_drop(gen: Daemon, tmp_path: Path) -> None:
    obj, whole = largest_and_bytes(gen.c)
    drop_during_download(gen)
    rep = gen.c.ok("download", {"handle": obj["handle"], "dir": str(tmp_path)}, timeout=40)
    assert rep["resumed"] >= 1
    assert Path(rep["path"]).read_bytes() == whole


def test_download_into_a_directory_takes_the_whole_object_only(gen: Daemon, tmp_path: Path) -> None:
    obj = largest_object(gen.c)
    rep = gen.c.call("download", {"handle": obj["handle"], "dir": str(tmp_path), "offset": 5}, timeout=20)
    assert not rep["ok"] and rep["error"]["code"] == "bad_request", rep
    assert "dir" in rep["error"]["message"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("relative", ["out", ""])
def test_a_relative_directory_is_refused(gen: Daemon, relative: str) -> None:
    for cmd, args in (("download", {"handle": largest_object(gen.c)["handle"]}), ("capture", {"download": True})):
        rep = gen.c.call(cmd, {**args, "dir": relative}, timeout=20)
        assert not rep["ok"] and rep["error"]["code"] == "bad_request", rep
        assert "absolute" in rep["error"]["message"]


def test_a_directory_the_daemon_cannot_write_is_a_bad_request(gen: Daemon, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"not a directory")
    obj = largest_object(gen.c)
    rep = gen.c.call("download", {"handle": obj["handle"], "dir": str(blocker / "sub")}, timeout=20)
    assert not rep["ok"] and rep["error"]["code"] == "bad_request", rep
    assert "cannot write" in rep["error"]["message"] and str(blocker) in rep["error"]["message"]
    # capture too, refused before the shutter: no picture is taken that could not be written
    before = len(gen.c.ok("objects", timeout=10)["objects"])
    rep = gen.c.call("capture", {"download": True, "dir": str(blocker / "sub")}, timeout=40)
    assert not rep["ok"] and rep["error"]["code"] == "bad_request", rep
    assert "cannot write" in rep["error"]["message"] and not rep["error"].get("handles"), rep
    assert len(gen.c.ok("objects", timeout=10)["objects"]) == before
    assert gen.c.ok("status")["connection"] == "connected"


def test_a_file_that_cannot_be_written_is_a_bad_request(tmp_path: Path) -> None:
    """The write itself failing (here: the directory turned into a file after the check)
    is the request's error with the reason, not a daemon bug; nothing is left behind."""
    import asyncio

    from ptpd.bus import BusError, ErrorCode
    from ptpd.daemon.files import write_into

    gone = tmp_path / "gone"
    gone.write_bytes(b"a file where the directory was")
    with pytest.raises(BusError) as exc:
        asyncio.run(write_into(str(gone), "IMG_0001.JPG", b"\xff\xd8 jpeg \xff\xd9", None, 0))
    assert exc.value.code == ErrorCode.BAD_REQUEST
    assert "cannot write IMG_0001.JPG" in str(exc.value) and str(gone) in str(exc.value)
    assert [p.name for p in tmp_path.iterdir()] == ["gone"]


def test_a_full_disk_is_not_the_requests_fault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import errno
    import os

    from ptpd.bus import BusError, ErrorCode
    from ptpd.daemon.files import write_into

    def full(fd: int) -> None:  # a disk that fills up reports it at the latest in fsync
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(BusError) as exc:
        asyncio.run(write_into(str(tmp_path), "IMG_0002.JPG", b"\xff\xd8 jpeg \xff\xd9", None, 0))
    assert exc.value.code == ErrorCode.INTERNAL and "No space left" in str(exc.value)
    assert list(tmp_path.iterdir()) == []  # the temp file went too


def test_the_client_asks_the_daemon_to_write_the_file(gen: Daemon, tmp_path: Path) -> None:
    from ptpd_client import Client

    obj, whole = largest_and_bytes(gen.c)
    with Client(gen.eps["command"], timeout=40) as c:
        got = c.download(obj["handle"], dir=str(tmp_path))
    assert got.path is not None and Path(got.path).parent == tmp_path
    assert Path(got.path).read_bytes() == whole and got.size == len(whole) and len(got.data) == 0
