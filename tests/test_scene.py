"""Scene rendering and JPEG encoding for the simulators (ptpd.simulator.scene / .jpeg)."""

from __future__ import annotations

import datetime
import io
from fractions import Fraction

import cv2
import numpy as np
import pytest
from PIL import Image

from ptpd.simulator import jpeg, scene

SETTINGS = {"iso": "800", "exp-bias": "-1/3", "effect": "Velvia", "whitebalance": "auto"}


def _grey(img: Image.Image) -> np.ndarray:
    """Decode the way a vision client does: JPEG bytes -> OpenCV greyscale."""
    data = np.frombuffer(jpeg.encode_frame(img), np.uint8)
    grey = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    assert grey is not None
    return grey


@pytest.fixture(scope="module")
def cascade() -> cv2.CascadeClassifier:
    c = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")  # type: ignore[attr-defined]  # cv2's stubs leave out cv2.data
    assert not c.empty()
    return c


@pytest.mark.parametrize("size", [(320, 240), (640, 480), (1024, 768)])
def test_render_size_and_mode(size):
    img = scene.render(*size, 1.0, SETTINGS)
    assert img.size == size and img.mode == "RGB"


@pytest.mark.parametrize("size", [(320, 240), (640, 480), (1024, 768)])
def test_face_detected_by_bundled_haar_cascade(cascade, size):
    faces = cascade.detectMultiScale(_grey(scene.render(*size, 2.0, SETTINGS, subject="face")), 1.1, 5)
    assert len(faces) == 1
    x, y, w, h = faces[0]
    left, top, fw, fh = scene.face_box(*size)
    # the detection sits on the drawn face, not somewhere in the landscape
    assert left - fw * 0.2 <= x + w / 2 - fw / 2 <= left + fw * 0.2
    assert top <= y + h / 2 <= top + fh


@pytest.mark.parametrize("subject", ["none", "object"])
@pytest.mark.parametrize("size", [(320, 240), (640, 480), (1024, 768)])
def test_no_face_without_face_subject(cascade, subject, size):
    assert len(cascade.detectMultiScale(_grey(scene.render(*size, 2.0, SETTINGS, subject=subject)), 1.1, 5)) == 0


def test_still_scene_does_not_move():
    a = np.asarray(scene.render(640, 480, 0.5, subject="none", caption=False))
    b = np.asarray(scene.render(640, 480, 3.7, subject="none", caption=False))
    assert np.array_equal(a, b)


def test_object_moves_and_is_where_object_position_says():
    a = np.asarray(scene.render(640, 480, 1.0, subject="object", caption=False), np.int16)
    b = np.asarray(scene.render(640, 480, 2.0, subject="object", caption=False), np.int16)
    still = np.asarray(scene.render(640, 480, 1.0, subject="none", caption=False), np.int16)
    diff = np.abs(a - b).sum(axis=2) > 60
    assert diff.sum() > 2000  # a ball of radius ~43 px moved
    x, y, r = scene.object_position(640, 480, 1.0)
    ys, xs = np.nonzero(np.abs(a - still).sum(axis=2) > 60)
    assert abs(xs.mean() - x) < r and abs(ys.mean() - y) < r
    # the ball is red
    assert a[y, x, 0] > 150 and a[y, x, 1] < 100


def test_exposure_bias_changes_brightness():
    mean = {}
    for bias in ("-2", "0", "+2"):
        img = scene.render(320, 240, 0.0, {"exp-bias": bias}, caption=False)
        mean[bias] = np.asarray(img, np.float32).mean()
    assert mean["-2"] < mean["0"] < mean["+2"]


@pytest.mark.parametrize("effect", ["Monochrome", "ACROS+R", "black and white"])
def test_monochrome_film_simulation_is_grey(effect):
    # Fuji's film simulations and the standard EffectMode 2, as their label tables spell them
    a = np.asarray(scene.render(320, 240, 0.0, {"effect": effect}, caption=False), np.int16)
    assert np.abs(a[..., 0] - a[..., 1]).max() <= 1 and np.abs(a[..., 1] - a[..., 2]).max() <= 1


def test_caption_draws_settings_and_timestamp():
    bare = np.asarray(scene.render(640, 480, 1.0, SETTINGS, caption=False), np.int16)
    cap = np.asarray(scene.render(640, 480, 1.0, SETTINGS, timestamp="2024-05-01 12:00:00"), np.int16)
    changed = np.abs(bare - cap).sum(axis=2) > 30
    assert changed[:60, :320].sum() > 300  # settings, top left
    assert changed[-60:, -320:].sum() > 200  # timestamp, bottom right


def test_unknown_subject_refused():
    with pytest.raises(ValueError, match="unknown subject"):
        scene.render(320, 240, 0.0, subject="cat")


def test_schedule_parse_and_override():
    s = scene.SceneSchedule.parse("none,object@3")
    assert [s.subject_at(t) for t in (0, 2.9, 3, 100)] == ["none", "none", "object", "object"]
    s = scene.SceneSchedule.parse("face@2-5,object@8-12")
    assert [s.subject_at(t) for t in (0, 2, 4.9, 5, 8, 11.9, 12)] == [
        "none",
        "face",
        "face",
        "none",
        "object",
        "object",
        "none",
    ]
    assert scene.SceneSchedule.parse("object").subject_at(0) == "object"
    assert not scene.SceneSchedule.parse("object").is_static()
    s = scene.SceneSchedule.parse("")
    assert s.is_static()
    s.show("face", 10.0)
    assert s.subject_at(9) == "none" and s.subject_at(10) == "face"
    with pytest.raises(ValueError):
        scene.SceneSchedule.parse("object@x")
    with pytest.raises(ValueError):
        s.show("dog", 0)


@pytest.mark.parametrize(("size", "low", "high"), [((640, 480), 10_000, 40_000), ((1024, 768), 30_000, 70_000)])
def test_jpeg_sizes_are_realistic(size, low, high):
    data = jpeg.encode_jpeg(scene.render(*size, 1.0, SETTINGS), quality=80)
    assert low <= len(data) <= high


def test_exif_round_trip_read_by_pillow():
    when = datetime.datetime(2024, 5, 1, 12, 34, 56)
    data = jpeg.encode_jpeg(
        scene.render(640, 480, 0.0),
        85,
        {
            "make": "FUJIFILM",
            "model": "X-T1",
            "software": "5.51",
            "datetime": when,
            "iso": 800,
            "exposure_time": "1/250",
            "f_number": 5.6,
            "exposure_bias": "-1/3",
            "white_balance": "auto",
            "exposure_program": 2,
            "user_comment": "Velvia",
        },
    )
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    # read with Pillow's own API, independently of jpeg.read_exif
    with Image.open(io.BytesIO(data)) as im:
        assert im.size == (640, 480)
        exif = im.getexif()
        sub = exif.get_ifd(0x8769)
    assert exif[0x010F] == "FUJIFILM" and exif[0x0110] == "X-T1"
    assert sub[0x8827] == 800
    assert Fraction(sub[0x829A].numerator, sub[0x829A].denominator) == Fraction(1, 250)
    assert float(sub[0x829D]) == pytest.approx(5.6)
    assert Fraction(sub[0x9204].numerator, sub[0x9204].denominator) == Fraction(-1, 3)
    assert sub[0xA403] == 0
    assert sub[0x9003] == "2024:05:01 12:34:56"
    back = jpeg.read_exif(data)
    assert back["iso"] == 800 and back["exposure_time"] == Fraction(1, 250) and back["user_comment"] == "Velvia"


def test_exif_unknown_key_refused():
    with pytest.raises(ValueError, match="unknown EXIF keys"):
        jpeg.encode_jpeg(scene.render(64, 48, 0.0), exif={"isoo": 100})


def test_thumbnail_and_frame():
    data = jpeg.encode_jpeg(scene.render(1024, 768, 0.0), 85)
    thumb = jpeg.thumbnail(data)
    with Image.open(io.BytesIO(thumb)) as im:
        assert im.format == "JPEG" and im.size == (160, 120)
    frame = jpeg.encode_frame(scene.render(320, 240, 0.0))
    with Image.open(io.BytesIO(frame)) as im:
        assert im.size == (320, 240) and not im.getexif()
