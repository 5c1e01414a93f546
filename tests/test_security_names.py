"""Camera-supplied file names never write outside the output directory.

End to end: a simulated camera (in this process, so its card can hold what no real
option makes) carries images named ``../../x``, with a NUL, absolute, with backslashes,
``..``, empty, hidden, 250 characters long; the daemon lists them, ``ptpctl download
-o OUT`` fetches each, and ``download dir=`` has the daemon write each. Every file must land directly in OUT, and nothing may appear
anywhere else in the surrounding tree (a canary directory that ``../..`` would reach).
Absolute names point *into* the canary tree, never at a system file: the tests run as
root and a broken sanitizer must not be able to damage the machine.

Then the two sanitizers themselves (the daemon's, for ``capture``/``download dir=``, and ptpctl's)
against arbitrary names (hypothesis): one path component, inside the directory.
"""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from bench.harness import Daemon, DaemonOptions, InProcessSimulator, ptpctl_cmd

pytestmark = pytest.mark.timeout(90)


def jpeg(color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), color).save(buf, "JPEG")
    return buf.getvalue()


def hostile_names(canary: Path) -> list[str]:
    return [
        "../../escaped-1.jpg",
        f"../../../../../../../../..{canary}/escaped-2.jpg",
        str(canary / "escaped-3.jpg"),  # absolute
        "..\\..\\escaped-4.jpg",
        "a\x00/../../escaped-5.jpg",  # NUL, then a way out
        "ok\x00.jpg",
        "..",
        ".",
        "",
        ".hidden.jpg",
        "x/../../../escaped-6.jpg",
        "~/escaped-7.jpg",
        "L" * 240 + ".jpg",  # a PTP string holds at most 254 characters
        "new\nline.jpg",
        "DSCF0001.JPG",
    ]


def test_downloads_keep_hostile_names_inside_the_output_dir(tmp_path: Path) -> None:
    """``ptpctl download -o OUT`` (the client writes) and ``download dir=DAEMON_OUT`` (the
    daemon writes): every file directly in its directory, nothing anywhere else."""
    canary = tmp_path / "canary"
    out = canary / "a" / "b" / "out"
    out.mkdir(parents=True)
    daemon_out = canary / "a" / "b" / "daemon-out"  # made by the daemon
    names = hostile_names(canary)
    with InProcessSimulator("fuji", pairing_delay=0.0, initial_images=0) as sim:
        from ptpd.simulator.fuji import STORAGE_ID

        def add() -> dict[str, int]:
            dev = sim.sim.device
            made = {}
            with dev.lock:
                for i, name in enumerate(names):
                    obj = dev.store.add_file(
                        STORAGE_ID, dev.folder, name, jpeg((i * 15 % 255, 80, 160)), object_format=0x3801
                    )
                    made[name] = obj.handle
            return made

        handles = sim.call(add)

        # Our encoder refuses a NUL inside a PTP string, a camera may not: put the NUL
        # units on the wire by hand (a placeholder character swapped after encoding).
        dev = sim.sim.device
        original = dev.object_info
        mark = "\u2400"

        def object_info(o: Any) -> bytes:
            name = getattr(o, "filename", "")
            if "\x00" not in name:
                return original(o)
            import dataclasses

            raw = original(dataclasses.replace(o, filename=name.replace("\x00", mark)))
            return raw.replace(mark.encode("utf-16-le"), b"\x00\x00")

        dev.object_info = object_info
        d = Daemon(tmp_path / "d", DaemonOptions(simulate=None, camera=f"127.0.0.1:{sim.port}", vendor="fuji"))
        with d:
            d.start(timeout=60)
            with d.client() as c:
                listed = {o["handle"]: o for o in c.result("objects", timeout=20)["objects"]}
            for name, h in handles.items():
                assert h in listed, f"{name!r} ({h}) not listed"
                cp = subprocess.run(
                    [*ptpctl_cmd(), "download", str(h), "-o", str(out), "--no-progress"],
                    capture_output=True,
                    text=True,
                    timeout=30,
                    env={**os.environ, **d.client_env},
                )
                assert cp.returncode == 0, (name, cp.stderr)
                assert "Traceback" not in cp.stderr
            with d.client() as c:
                for name, h in handles.items():
                    path = Path(c.result("download", {"handle": h, "dir": str(daemon_out)}, timeout=20)["path"])
                    assert path.parent == daemon_out, (name, path)
    written = sorted(p for p in canary.rglob("*") if p.is_file())
    outside = [p for p in written if p.parent not in (out, daemon_out)]
    assert not outside, f"written outside {out} and {daemon_out}: {outside}"
    assert len([p for p in written if p.parent == out]) == len(names), [p.name for p in written]
    assert len([p for p in written if p.parent == daemon_out]) == len(names), [p.name for p in written]
    for p in written:
        assert "\x00" not in p.name and "/" not in p.name and not p.name.startswith(".")
        assert p.read_bytes()[:2] == b"\xff\xd8"


_names = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(["..", ".", "/", "\\", "\x00", "a", "~", "é", " ", "\n", "C:"]), max_size=20).map("".join),
)


@settings(max_examples=300, deadline=None)
@given(_names)
def test_daemon_sanitizer_gives_one_component_inside_the_dir(name: str) -> None:
    from ptpd.daemon.files import safe_filename

    s = safe_filename(name, "fallback.jpg")
    assert s and "/" not in s and "\\" not in s and "\x00" not in s
    assert s not in (".", "..") and not s.startswith(".")
    assert len(s.encode()) <= 255


@settings(max_examples=300, deadline=None)
@given(_names)
def test_ptpctl_sanitizer_gives_one_component_inside_the_dir(name: str) -> None:
    from ptpd_console.files import safe_name

    s = safe_name(name, "fallback.jpg")
    assert s and "/" not in s and "\\" not in s and "\x00" not in s
    assert s not in (".", "..") and not s.startswith(".")
    assert len(s.encode()) <= 255


def test_daemon_writer_stays_in_its_dir_and_never_overwrites(tmp_path: Path) -> None:
    from ptpd.daemon.files import safe_filename, write_verified

    out = tmp_path / "out"
    (tmp_path / "victim.jpg").write_bytes(b"keep me")
    paths = [
        write_verified(str(out), safe_filename(n, "f.jpg"), b"\xff\xd8data\xff\xd9")
        for n in ["../victim.jpg", "../victim.jpg", "/tmp/../victim.jpg"]
    ]
    assert all(Path(p).parent == out for p in paths)
    assert len(set(paths)) == 3  # a taken name gets a counter, never a replacement
    assert (tmp_path / "victim.jpg").read_bytes() == b"keep me"
    assert not [p for p in out.iterdir() if p.name.endswith(".part")]
