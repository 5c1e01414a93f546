"""Dangerous operations need words, and a camera's words never reach a terminal raw.

Before: ``delete`` with handle 0xFFFFFFFF replied ok and wiped the card (PTP's
DeleteObject reads that handle as "every object"), and ``ptpctl ls``/``info`` printed
camera strings as they came, ESC and BEL included (a hostile camera could clear the
screen, retitle the terminal or hide a file name). Now wiping the card takes ``all``
(bus and ptpctl), and the console clients escape control and text-direction
characters. A real daemon with a simulated camera in this process, so that the test
can give the camera hostile names.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from bench.harness import Daemon, DaemonOptions, InProcessSimulator, ptpctl_cmd
from ptpd_console.text import json_safe, printable
from test_security_names import jpeg

STORAGE = 0x00010001
#: an xterm title change, a screen clear, a bell and a right-to-left override
HOSTILE = "IMG\x1b]0;owned\x07\x1b[2J\u202egpj.exe"
MODEL = "Evil\x1b[31mCam\x9b1m"


def ptpctl(d: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ptpctl_cmd(), *args], capture_output=True, text=True, timeout=60, env={**os.environ, **d.client_env}
    )


def test_printable_escapes_only_what_a_terminal_obeys() -> None:
    assert printable("IMG_0001.JPG ÄÖÜ 日本語 🙂") == "IMG_0001.JPG ÄÖÜ 日本語 🙂"
    assert printable(HOSTILE) == "IMG\\x1b]0;owned\\x07\\x1b[2J\\u202egpj.exe"
    assert printable("a\nb\tc\x7f\x9b") == "a\\x0ab\\x09c\\x7f\\x9b"
    raw = json.dumps({"model": MODEL}, ensure_ascii=False)
    assert "\x9b" in raw  # json leaves C1 controls raw
    safe = json_safe(raw)
    assert json.loads(safe) == {"model": MODEL} and "\x9b" not in safe and "\x1b" not in safe
    # indented JSON (ptpctl --pretty) keeps its own newlines: they are layout, not text
    pretty = json_safe(json.dumps({"model": MODEL, "n": [1, 2]}, indent=2, ensure_ascii=False))
    assert json.loads(pretty) == {"model": MODEL, "n": [1, 2]} and "\n" in pretty and "\x9b" not in pretty


@pytest.fixture
def daemon_on_a_hostile_card(tmp_path: Path):
    with InProcessSimulator("generic", initial_images=0, model=MODEL) as sim:
        dev = sim.sim.camera

        def add() -> list[int]:
            with dev.lock:
                return [
                    dev.store.add_file(STORAGE, dev.photo_folder, name, jpeg((20 * i, 80, 160))).handle
                    for i, name in enumerate((HOSTILE, "IMG_0002.JPG", "IMG_0003.JPG"))
                ]

        handles = sim.call(add)
        d = Daemon(tmp_path / "d", DaemonOptions(simulate=None, camera=f"127.0.0.1:{sim.port}"))
        with d:
            d.start(timeout=60)
            yield d, handles


def test_ls_and_info_show_camera_strings_escaped(daemon_on_a_hostile_card) -> None:
    d, handles = daemon_on_a_hostile_card
    for args in (["ls"], ["info"], ["ls", "--json"], ["info", "--json"]):
        cp = ptpctl(d, *args)
        assert cp.returncode == 0, (args, cp.stderr)
        for c in ("\x1b", "\x07", "\u202e", "\x9b"):
            assert c not in cp.stdout, (args, c, cp.stdout)
    assert "IMG\\x1b]0;owned\\x07\\x1b[2J\\u202egpj.exe" in ptpctl(d, "ls").stdout
    assert "Evil\\x1b[31mCam\\x9b1m" in ptpctl(d, "info").stdout
    listed = json.loads(ptpctl(d, "ls", "--json").stdout)
    assert HOSTILE in [o["filename"] for o in listed]  # JSON keeps the name, escaped


def test_wiping_the_card_takes_the_word_all(daemon_on_a_hostile_card) -> None:
    d, handles = daemon_on_a_hostile_card
    with d.client() as c:

        def files() -> list[int]:
            return [o["handle"] for o in c.result("objects", timeout=20)["objects"] if not o["is_folder"]]

        assert sorted(files()) == sorted(handles)
        for args in ({"handle": 0xFFFFFFFF}, {}, {"handle": handles[0], "all": True}):
            rep = c.call("delete", args, timeout=20)
            assert rep["error"]["code"] == "bad_request", (args, rep)
        assert "all: true" in c.call("delete", {"handle": 0xFFFFFFFF})["error"]["message"]
        assert sorted(files()) == sorted(handles)  # nothing was deleted
        cp = ptpctl(d, "delete", "0xFFFFFFFF")
        assert cp.returncode == 2 and "ptpctl delete all" in cp.stderr and len(cp.stderr.splitlines()) == 1
        cp = ptpctl(d, "delete", "all", str(handles[0]))
        assert cp.returncode == 2
        assert sorted(files()) == sorted(handles)
        cp = ptpctl(d, "delete", str(handles[1]))
        assert cp.returncode == 0, cp.stderr
        assert sorted(files()) == sorted([handles[0], handles[2]])
        cp = ptpctl(d, "delete", "all")
        assert cp.returncode == 0 and "every object" in cp.stdout, cp.stderr
        assert files() == []
