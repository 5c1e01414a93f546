"""Check, then fire: a capture whose images cannot be saved is refused before the shutter
is released (the camera's object count does not move); what PATH and -o mean together;
and the per-shot progress lines of a multi-shot capture (on a terminal only)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ptpd_console.targets import TYPICAL_IMAGE_BYTES, TargetError, check_directory
from test_client_daemon import Daemon

PYTHON = sys.executable


def ptpctl(
    d: Daemon, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "ptpctl", *args], capture_output=True, text=True, timeout=60, env=env or d.full_env(), cwd=cwd
    )


def object_count(d: Daemon) -> int:
    with d.client() as c:
        return len(c.objects())


def no_display_env(d: Daemon) -> dict[str, str]:
    return {k: v for k, v in d.full_env().items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}


# -- refused before the shutter --------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["capture", "1", "/proc/x.jpg"], "cannot write into /proc"),  # procfs: even root cannot
        (["capture", "2", "-o", "/proc/ptpd-test"], "cannot make the directory /proc/ptpd-test"),
        (["capture", "2", "/sys/ptpd-test/shot.jpg"], "cannot make the directory"),
        (["capture", "1", "{file}/x.jpg"], "is not a directory"),  # a file where a directory must be
        (["capture", "1", "-o", "{file}/sub"], "part of its path is a file"),
        (["capture", "view"], "no display"),
        (["capture", "2", "--view"], "no display"),
    ],
)
def test_an_unusable_target_is_refused_before_the_shutter(
    daemon: Daemon, tmp_path: Path, args: list[str], why: str
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("not a directory")
    args = [a.replace("{file}", str(afile)) for a in args]
    before = object_count(daemon)
    r = ptpctl(daemon, *args, env=no_display_env(daemon))
    assert r.returncode in (1, 2), r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("ptpctl: error: ") and why in r.stderr, r.stderr
    assert "nothing was captured" in r.stderr and r.stdout == ""
    assert object_count(daemon) == before  # the camera took no picture


def test_the_trigger_checks_its_directory_before_watching(daemon: Daemon, tmp_path: Path) -> None:
    before = object_count(daemon)
    r = subprocess.run(
        [PYTHON, "-m", "ptptrigger", "--motion", "--cooldown", "0", "--max-shots", "1", "-o", "/proc/ptpd-t"],
        capture_output=True,
        text=True,
        timeout=60,
        env=daemon.full_env(),
    )
    assert r.returncode == 2 and r.stderr.startswith("ptptrigger: error: cannot make the directory /proc/ptpd-t")
    assert r.stderr.count("\n") == 1 and object_count(daemon) == before


def test_the_shared_capture_helper_checks_before_asking() -> None:
    # ptpd_console's capture-and-save helper, used by ptpctl and ptptrigger: the check
    # runs before the client is asked to shoot at all
    from ptpd_console.shots import capture_shots

    asked: list[int] = []

    class Client:
        def capture(self, count: int, **kw: object) -> object:
            asked.append(count)
            raise AssertionError("the camera was asked to shoot")

    with pytest.raises(TargetError, match="/proc"):
        capture_shots(Client(), 1, want_data=True, save_into=[Path("/proc/ptpd-x")])
    assert asked == []


def test_check_directory_makes_it_probes_it_and_wants_room(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    check_directory(target)
    assert target.is_dir() and list(target.iterdir()) == []  # the probe file is gone
    st = os.statvfs(tmp_path)
    free = st.f_bavail * st.f_frsize
    assert free >= TYPICAL_IMAGE_BYTES  # this machine can take an image...
    with pytest.raises(TargetError, match="MB free; an image needs about"):
        check_directory(target, need=free + 10**12)  # ...but not a terabyte more than it has


# -- what PATH and -o mean -------------------------------------------------------------------------


def test_path_ending_in_a_slash_is_a_directory(daemon: Daemon, tmp_path: Path) -> None:
    r = ptpctl(daemon, "capture", "1", "newdir/", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    (shot,) = json.loads(r.stdout)["shots"]
    saved = tmp_path / shot["saved"]
    assert saved.parent == tmp_path / "newdir" and saved.name == shot["filename"]  # the camera's name inside it
    assert not (tmp_path / "newdir.jpg").exists()


def test_path_with_output_dir_goes_inside_it(daemon: Daemon, tmp_path: Path) -> None:
    r = ptpctl(daemon, "capture", "x.jpg", "-o", str(tmp_path / "adir"), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["shots"][0]["saved"] == str(tmp_path / "adir" / "x.jpg")
    assert (tmp_path / "adir" / "x.jpg").read_bytes()[:2] == b"\xff\xd8"
    before = object_count(daemon)
    r = ptpctl(daemon, "capture", str(tmp_path / "y.jpg"), "-o", str(tmp_path / "adir"))
    assert r.returncode == 2 and "absolute" in r.stderr and "-o" in r.stderr
    assert object_count(daemon) == before


# -- progress ------------------------------------------------------------------------------------------


def _run_on_a_terminal(d: Daemon, *args: str) -> tuple[int, str, str]:
    """ptpctl with stderr on a pseudo-terminal (stdout a pipe): (code, stdout, terminal text)."""
    primary, secondary = pty.openpty()
    p = subprocess.Popen(
        [PYTHON, "-m", "ptpctl", *args], stdout=subprocess.PIPE, stderr=secondary, env=d.full_env(), text=True
    )
    os.close(secondary)
    seen = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        elif p.poll() is not None:
            break
    os.close(primary)
    out, _ = p.communicate(timeout=30)
    return p.returncode, out, seen.decode(errors="replace")


def test_multi_shot_capture_shows_a_line_per_shot_on_a_terminal(daemon: Daemon, tmp_path: Path) -> None:
    code, out, term = _run_on_a_terminal(daemon, "capture", "3", "-o", str(tmp_path))
    assert code == 0, term
    # each line is rewritten in place ("\r...\x1b[K") as its download fills in; what stays
    # on the screen is the text after the last carriage return of each line
    rows = [row.rstrip("\r") for row in term.split("\n")]
    lines = [row.rsplit("\r", 1)[-1].replace("\x1b[K", "").strip() for row in rows if row.strip()]
    assert all(line.endswith("100%") for line in lines), term  # and each shot's download reached its end
    assert [line.split()[0] for line in lines] == ["1/3", "2/3", "3/3"], term
    names = sorted(p.name for p in tmp_path.iterdir())
    assert [line.split()[1] for line in lines] == names  # each line names the shot it reports
    assert "Saved to" in out  # the table still goes to stdout


def test_progress_is_quiet_in_a_pipe_and_with_json(daemon: Daemon, tmp_path: Path) -> None:
    r = ptpctl(daemon, "capture", "2", "-o", str(tmp_path / "a"))
    assert r.returncode == 0 and r.stderr == ""
    code, out, term = _run_on_a_terminal(daemon, "capture", "2", "-o", str(tmp_path / "b"), "--json")
    assert code == 0 and term.strip() == "" and len(json.loads(out)["shots"]) == 2
    forced = ptpctl(daemon, "capture", "2", "--progress")  # asked for in a pipe: plain lines
    assert forced.returncode == 0 and [line.split()[0] for line in forced.stderr.splitlines()] == ["1/2", "2/2"]
    assert "\r" not in forced.stderr and "\x1b" not in forced.stderr
