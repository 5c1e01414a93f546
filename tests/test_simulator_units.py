"""The simulator's pure parts: object store, property table, DevicePropDesc bytes, the CLI."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys

import pytest

from conftest import free_port, wait_for_port
from ptpd.protocol import datasets
from ptpd.protocol.codes import DevicePropCode as P
from ptpd.protocol.errors import ProtocolError
from ptpd.simulator import properties as props
from ptpd.simulator import store as st
from ptpd.simulator.generic import CameraConfig, GenericCamera
from ptpd.simulator.jpeg import pad_jpeg

SID = 0x00010001


def make_store() -> tuple[st.ObjectStore, dict[str, int]]:
    s = st.ObjectStore([st.Storage(SID), st.Storage(0x00020001, max_capacity=100)])
    dcim = s.add_folder(SID, st.ROOT, "DCIM").handle
    sub = s.add_folder(SID, dcim, "100PTPD").handle
    a = s.add_file(SID, sub, "IMG_0001.JPG", b"\xff\xd8a\xff\xd9").handle
    b = s.add_file(SID, sub, "IMG_0002.JPG", b"\xff\xd8b\xff\xd9").handle
    top = s.add_file(SID, st.ROOT, "README.TXT", b"hi", object_format=0x3004).handle
    return s, {"dcim": dcim, "sub": sub, "a": a, "b": b, "top": top}


def test_get_object_handles_semantics() -> None:
    s, h = make_store()
    assert s.handles(st.ALL, 0, st.ALL) == [h["dcim"], h["top"]]  # root only
    assert s.handles(SID, 0, 0) == [h["dcim"], h["sub"], h["a"], h["b"], h["top"]]  # everything
    assert s.handles(SID, 0, h["sub"]) == [h["a"], h["b"]]  # a folder's children
    assert s.handles(0x00020001, 0, 0) == []
    assert s.handles(SID, 0x3801, 0) == [h["a"], h["b"]]
    assert s.handles(SID, st.ALL, 0) == [h["a"], h["b"]]  # "images only"
    with pytest.raises(st.InvalidParent):
        s.handles(SID, 0, h["a"])
    with pytest.raises(st.InvalidParent):
        s.handles(0x00020001, 0, h["sub"])  # folder of another store
    with pytest.raises(st.InvalidStorage):
        s.handles(0x00030001, 0, 0)


def test_add_delete_names_and_space() -> None:
    s, h = make_store()
    assert s.next_filename(h["sub"]) == "IMG_0003.JPG"
    assert st.folder_path(s, h["b"]) == "/DCIM/100PTPD/IMG_0002.JPG"
    assert [o.filename for o in st.walk(s, SID)] == ["DCIM", "README.TXT", "100PTPD", "IMG_0001.JPG", "IMG_0002.JPG"]
    found = s.find(SID, "DCIM/100PTPD")
    assert found is not None and found.handle == h["sub"]
    removed = s.delete(h["dcim"])
    assert set(removed) == {h["dcim"], h["sub"], h["a"], h["b"]} and removed[-1] == h["dcim"]
    assert h["a"] not in s and len(s) == 1
    with pytest.raises(st.InvalidHandle):
        s.get(h["a"])
    new = s.add_file(SID, st.ROOT, "X.JPG", b"x")
    assert new.handle > max(h.values())  # handles are never reused
    with pytest.raises(st.StoreFull):
        s.add_file(0x00020001, st.ROOT, "BIG.JPG", b"x" * 101)
    with pytest.raises(st.InvalidParent):
        s.add_file(SID, h["top"], "IN_A_FILE.JPG", b"x")
    with pytest.raises(ValueError):
        st.ObjectStore([st.Storage(1), st.Storage(1)])


def test_property_table_validation_and_clock() -> None:
    now = dt.datetime(2024, 5, 6, 7, 8, 9)
    t = props.PropertyTable(props.standard_specs(), clock=lambda: now)
    assert t.get(P.ExposureIndex) == 200 and t.get_encoded(P.ExposureIndex) == b"\xc8\x00"
    assert t.set_encoded(P.ExposureIndex, b"\x20\x03") is True and t.get(P.ExposureIndex) == 800
    assert t.set(P.ExposureIndex, 800) is False  # unchanged: no DevicePropChanged
    with pytest.raises(props.InvalidValue):
        t.set(P.ExposureIndex, 801)
    with pytest.raises(props.InvalidValue):
        t.set(P.ExposureIndex, "800")
    with pytest.raises(props.ReadOnly):
        t.set(P.BatteryLevel, 50)
    assert t.set(P.BatteryLevel, 50, force=True) and t.get(P.BatteryLevel) == 50
    with pytest.raises(props.InvalidValue):
        t.set(P.BatteryLevel, 101, force=True)  # outside the Range form
    with pytest.raises(props.UnknownProperty):
        t.get(0x5555)
    with pytest.raises(ProtocolError):
        t.set_encoded(P.ExposureIndex, b"\x20\x03\x00")
    assert t.get(P.DateTime) == "20240506T070809"
    t.set(P.DateTime, "20300101T000000")
    assert t.get(P.DateTime) == "20300101T000000" and t.now().year == 2030
    with pytest.raises(props.InvalidValue):
        t.set(P.DateTime, "yesterday")
    assert t.label(P.ExposureTime) == "1/125"
    assert t.spec(P.ExposureBiasCompensation).label(-1333) == "-1 1/3"
    assert t.by_name("iso").code == 0x500F
    t.reset(P.ExposureIndex)
    assert t.get(P.ExposureIndex) == 200


def test_prop_desc_matches_the_reference_layout() -> None:
    """FNumber enumerated: ptp.md §10 gives the byte layout of exactly this shape."""
    cam = GenericCamera(CameraConfig(initial_images=0))
    raw = cam.prop_desc(P.FNumber)
    # code 0x5007, UINT16, get/set, default 400, current 400, Enumeration of 7 values
    assert raw[:12] == bytes.fromhex("0750 0400 01 9001 9001 02 0700".replace(" ", ""))
    assert raw[12:] == b"".join(v.to_bytes(2, "little") for v in (180, 280, 400, 560, 800, 1100, 1600))
    desc = datasets.DevicePropDesc.decode(cam.prop_desc(P.BatteryLevel))
    assert desc.get_set == 0 and desc.form == datasets.Range(0, 100, 1)
    for spec in cam.properties:  # every description decodes and allows its own current value
        d = datasets.DevicePropDesc.decode(cam.prop_desc(spec.code))
        assert d.code == spec.code and (d.form is None or d.form.allows(d.current))


@pytest.mark.parametrize(("effect", "grey"), [(1, False), (2, True)])
def test_a_black_and_white_picture_is_grey_and_says_so(effect: int, grey: bool) -> None:
    """The picture's look and EXIF follow the standard table's label of EffectMode."""
    from io import BytesIO

    import numpy as np
    from PIL import Image

    from ptpd.simulator.jpeg import read_exif

    cam = GenericCamera(CameraConfig(initial_images=0, image_sizes=("640x480",)))
    cam.properties.set(P.EffectMode, effect)
    data = cam.store.get(cam._shoot(cam.current_settings()).handle).data
    label = {1: "standard", 2: "black and white"}[effect]
    assert f"effect={label}" in read_exif(data)["description"]
    with Image.open(BytesIO(data)) as im:
        a = np.asarray(im.convert("RGB"), np.int16)
    colour = int((np.abs(a[..., 0] - a[..., 1]) + np.abs(a[..., 1] - a[..., 2])).max())
    assert (colour <= 2) is grey, colour


def test_pad_jpeg_keeps_a_valid_jpeg() -> None:
    from io import BytesIO

    from PIL import Image

    src = BytesIO()
    Image.new("RGB", (32, 32), (10, 200, 30)).save(src, "JPEG")
    big = pad_jpeg(src.getvalue(), 300_000)
    assert len(big) == 300_000 and big[:2] == b"\xff\xd8" and big[-2:] == b"\xff\xd9"
    with Image.open(BytesIO(big)) as im:
        im.load()
        pixel = im.getpixel((5, 5))
        assert im.size == (32, 32) and isinstance(pixel, tuple) and pixel[1] > 150


def test_cli_prints_where_it_listens_and_exits_0_on_signals() -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        port = free_port()
        p = subprocess.Popen(
            [sys.executable, "-m", "ptpd", "simulate", "--port", str(port), "--images", "1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            line = p.stdout.readline()  # type: ignore[union-attr]  # stdout=PIPE
            assert line == f'ptpd simulate: generic camera "ptpd Virtual Camera" on 127.0.0.1:{port}\n'
            wait_for_port(port)
            p.send_signal(sig)
            assert p.wait(10) == 0
            assert p.stdout.read() == ""  # type: ignore[union-attr]  # exactly one line
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()


def test_cli_refuses_bad_options_and_busy_ports() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "ptpd", "simulate", "--drop-rate", "2"], capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 2 and "rate" in r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "ptpd", "simulate", "--malformed-kinds", "weird"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 2
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run(
            [sys.executable, "-m", "ptpd", "simulate", "--port", str(port), "--images", "0"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert r.returncode == 1 and "cannot listen" in r.stderr
