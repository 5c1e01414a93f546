"""Values and handles the camera layer refuses instead of guessing (issue 20, item 6),
through ``ptpd run --simulate`` as a real process: a value the camera's description does
not allow is refused with the allowed values listed, never rounded to one it allows; the
refusal names the value as it was given; a folder's handle is not downloaded as a file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from test_daemon_sim import Daemon, wait_status

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module", params=["generic", "fuji"])
def daemon(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Daemon]]:
    vendor = request.param
    d = Daemon(tmp_path_factory.mktemp(vendor), "--simulate", vendor)
    try:
        wait_status(d.c, "connected", 20)
        yield vendor, d
    finally:
        assert d.close() == 0


@pytest.mark.parametrize("given", ["0.1", "1.5", "+0.5", "-1.2"])
def test_an_exposure_bias_between_allowed_steps_is_refused_not_rounded(daemon: tuple[str, Daemon], given: str) -> None:
    vendor, d = daemon
    c = d.c
    before = c.ok("get", {"prop": "exp-bias"})
    e = c.call("set", {"prop": "exp-bias", "value": given})["error"]
    assert e["code"] == "invalid_value", e
    assert given.lstrip("+") in e["message"] and "allowed" in e["message"], e["message"]
    assert "1/3" in e["message"] and "2/3" in e["message"]  # the allowed steps are listed
    assert c.ok("get", {"prop": "exp-bias"}) == before  # nothing was set


@pytest.mark.parametrize(("given", "label"), [("0.3", "1/3"), ("-1.7", "-1 2/3"), ("+2/3", "2/3"), ("-1", "-1")])
def test_an_exposure_bias_a_camera_shows_as_a_third_is_that_third(
    daemon: tuple[str, Daemon], given: str, label: str
) -> None:
    vendor, d = daemon
    got = d.c.ok("set", {"prop": "exp-bias", "value": given})["label"]
    assert got.lstrip("+") == label, got


def test_a_refused_iso_names_the_value_given(daemon: tuple[str, Daemon]) -> None:
    vendor, d = daemon
    before = d.c.ok("get", {"prop": "iso"})
    for given in ("-5", "5"):
        e = d.c.call("set", {"prop": "iso", "value": given})["error"]
        assert e["code"] == "invalid_value", e
        assert f"{given} " in e["message"] or f"'{given}'" in e["message"], e["message"]
    assert "-5" in d.c.call("set", {"prop": "iso", "value": "-5"})["error"]["message"]
    assert d.c.ok("get", {"prop": "iso"}) == before


def test_a_folder_handle_is_refused_by_download(daemon: tuple[str, Daemon], tmp_path: Path) -> None:
    vendor, d = daemon
    objects = d.c.ok("objects")["objects"]
    folder = next(o for o in objects if o["is_folder"])
    for args in ({"handle": folder["handle"]}, {"handle": folder["handle"], "dir": str(tmp_path / "out")}):
        e = d.c.call("download", args)["error"]
        assert e["code"] == "invalid_value", e
        assert f"handle 0x{folder['handle']:08X} is a folder ({folder['filename']})" in e["message"], e["message"]
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
    file = next(o for o in objects if not o["is_folder"])
    assert len(d.c.ok("download", {"handle": file["handle"]}, timeout=15)["data"]) == file["size"]
