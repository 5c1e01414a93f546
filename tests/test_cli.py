"""ptpctl against a real daemon with the simulated Fuji X-T1: click's runner for most
commands, subprocesses for exit codes, stderr lines and start-up imports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ptpctl.cli import Session, cli
from ptpctl.output import hexdump
from ptpctl.shell import Completer
from test_client_daemon import Daemon

PYTHON = sys.executable


def run(daemon: Daemon, *args: str, input: str | None = None):
    runner = CliRunner()
    return runner.invoke(
        cli, ["--command-endpoint", daemon.endpoints["command"], *args], input=input, catch_exceptions=False
    )


def ptpctl(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "ptpctl", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=30)


def is_jpeg(p: Path) -> bool:
    data = p.read_bytes()
    return data[:2] == b"\xff\xd8" and data.rstrip(b"\0")[-2:] == b"\xff\xd9"


# -- no daemon needed ------------------------------------------------------------------------


def test_help_works_without_a_daemon(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["--command-endpoint", f"ipc://{tmp_path}/none", "--help"])
    assert r.exit_code == 0
    assert "Exit codes:" in r.output and "105" in r.output and "106" in r.output
    assert "shell" in r.output and "download" in r.output


def test_no_daemon_exits_105_with_one_line(tmp_path: Path) -> None:
    env = dict(os.environ, PTPD_COMMAND_ENDPOINT=f"ipc://{tmp_path}/none")
    r = ptpctl("get", "iso", env=env)
    assert r.returncode == 105
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ptpctl: error: cannot reach the daemon")
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["get"], 2),  # the ptp-ip tool panicked on a missing argument
        (["set", "iso"], 2),
        (["opreq"], 2),
        (["opreq", "zz"], 2),
        (["capture", "0"], 2),
        (["nosuchcommand"], 2),
        (["--config", "/nonexistent/ptpctl.toml", "status"], 102),
        (["--command-endpoint", "bogus://x", "status"], 104),
    ],
)
def test_exit_codes_and_one_line_errors(args: list[str], code: int, tmp_path: Path) -> None:
    env = dict(os.environ, PTPD_COMMAND_ENDPOINT=f"ipc://{tmp_path}/none")
    r = ptpctl(*args, env=env)
    assert r.returncode == code, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("ptpctl: error: ")


def test_bad_config_file_is_102(tmp_path: Path) -> None:
    conf = tmp_path / "c.toml"
    conf.write_text("command_endpoint = [unclosed\n")
    r = CliRunner().invoke(cli, ["--config", str(conf), "status"])
    assert r.exit_code == 102


def test_hexdump_matches_hexdump_C() -> None:
    data = bytes(range(256)) + b"\0" * 40 + b"PTP/IP"
    ours = hexdump(data)
    if shutil.which("hexdump") is None:
        pytest.skip("hexdump(1) is not installed")
    theirs = subprocess.run(["hexdump", "-C"], input=data, capture_output=True, check=True).stdout.decode()
    assert ours + "\n" == theirs


def test_get_iso_imports_no_heavy_modules(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom ptpctl.cli import cli\n"
        "rc = cli.main(['get', 'iso'], prog_name='ptpctl', standalone_mode=False)\n"
        "heavy = sorted(m for m in ('cv2','numpy','PIL','asyncio','ptpd.protocol','ptpview','ptptrigger','tempfile') if m in sys.modules)\n"
        "print(rc, ','.join(heavy) or '-')\n"
    )
    env = dict(os.environ, PTPD_COMMAND_ENDPOINT=f"ipc://{tmp_path}/none")
    r = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, env=env, timeout=30)
    assert r.stdout.strip() == "105 -", r.stdout + r.stderr


def test_no_client_imports_another() -> None:
    # ptpctl, ptpview, ptptrigger and the demo share ptpd_console and ptpd_client, never
    # each other's modules (liveview runs ptpview as a process of its own)
    import ast

    clients = {"ptpctl": "cli", "ptpview": "viewer", "ptptrigger": "trigger", "ptpdemo": "demo"}
    root = Path(__file__).resolve().parent.parent / "clients"
    found = []
    for package, folder in clients.items():
        files = sorted((root / folder / package).rglob("*.py"))
        assert files, f"no modules under clients/{folder}/{package}"
        for path in files:
            for node in ast.walk(ast.parse(path.read_text())):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom) and node.level == 0
                    else []
                )
                found += [
                    f"{path.relative_to(root)}: {n}"
                    for n in names
                    if n.split(".")[0] in clients and n.split(".")[0] != package
                ]
    assert found == []


# -- against the daemon ----------------------------------------------------------------------


def test_get_set_describe(daemon: Daemon) -> None:
    r = run(daemon, "set", "iso", "800")
    assert r.exit_code == 0 and r.output.strip() == "iso set to 800 (0x320)"
    assert run(daemon, "get", "iso").output.strip() == "800 (0x320)"
    assert run(daemon, "get", "0xD02A").output.strip() == "800 (0x320)"  # hex code
    d = json.loads(run(daemon, "describe", "effect", "--json").output)
    assert d["code"] == 0xD001 and d["writable"] is True
    assert {"value", "label"} <= set(d["allowed"][0])
    human = run(daemon, "describe", "effect").output
    assert "Allowed" in human and "Velvia" in human


def test_invalid_value_exits_2_and_refusal_paths(daemon: Daemon) -> None:
    r = ptpctl("set", "effect", "Kodachrome", env=daemon.full_env())
    assert r.returncode == 2 and r.stderr.startswith("ptpctl: error: set: invalid value")


def test_json_shapes(daemon: Daemon) -> None:
    state = json.loads(run(daemon, "state", "--json").output)
    assert isinstance(state, list) and {"code", "name", "value", "label"} <= set(state[0])
    info = json.loads(run(daemon, "--json", "info").output)  # the group-wide flag works too
    assert info["model"] == "X-T1" and isinstance(info["operations"], list)
    status = json.loads(run(daemon, "status", "--json").output)
    assert status["connection"] == "connected" and "liveview" in status
    get = json.loads(run(daemon, "get", "iso", "--json").output)
    assert set(get) >= {"code", "name", "value", "label"}
    objs = json.loads(run(daemon, "ls", "--json").output)
    assert objs and {"handle", "filename", "size"} <= set(objs[0])


def test_human_tables(daemon: Daemon) -> None:
    out = run(daemon, "state").output.splitlines()
    assert out[0].split() == ["Property", "Value", "Raw", "Code"] and set(out[1]) <= {"-", " "}
    assert any(line.startswith("exp-bias") and " EV " in line for line in out)  # units
    assert "Connection" in run(daemon, "status").output
    assert "file(s)" in run(daemon, "ls").output


def test_capture_counter_names_and_no_overwrite(daemon: Daemon, tmp_path: Path) -> None:
    target = tmp_path / "shot.jpg"
    r = run(daemon, "capture", "2", str(target))
    assert r.exit_code == 0, r.output
    one, two = tmp_path / "shot-1.jpg", tmp_path / "shot-2.jpg"
    assert is_jpeg(one) and is_jpeg(two) and not target.exists()
    before = one.read_bytes()
    # again: refused before the shutter fires, files untouched
    p = ptpctl("capture", "2", str(target), env=daemon.full_env())
    assert p.returncode == 2 and "--overwrite" in p.stderr
    assert one.read_bytes() == before
    # one shot: exactly PATH, no counter (the ptp-ip tool always added -1)
    assert run(daemon, "snap", str(tmp_path / "single.jpg")).exit_code == 0
    assert is_jpeg(tmp_path / "single.jpg") and not (tmp_path / "single-1.jpg").exists()
    assert run(daemon, "capture", "2", str(target), "--overwrite").exit_code == 0
    assert one.read_bytes() != before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_capture_into_dir_json(daemon: Daemon, tmp_path: Path) -> None:
    r = run(daemon, "shoot", "-o", str(tmp_path / "out"), "--json")
    shots = json.loads(r.output)["shots"]
    assert len(shots) == 1 and shots[0]["saved"] and is_jpeg(Path(shots[0]["saved"]))
    assert shots[0]["filename"].endswith(".JPG")
    # the full image the camera named, not the preview
    assert shots[0]["source"] == "camera" and isinstance(shots[0]["handle"], int)
    objs = {o["handle"]: o for o in json.loads(run(daemon, "ls", "--json").output)}
    o = objs[shots[0]["handle"]]
    assert o["filename"] == shots[0]["filename"] == Path(shots[0]["saved"]).name
    assert Path(shots[0]["saved"]).stat().st_size == o["size"]


def test_capture_reports_the_handle_and_delete_removes_it(daemon: Daemon, tmp_path: Path) -> None:
    def handles() -> set[int]:
        return {o["handle"] for o in json.loads(run(daemon, "ls", "--json").output)}

    before = handles()
    shots = json.loads(run(daemon, "capture", "--json").output)["shots"]  # no download asked
    assert len(shots) == 1 and shots[0]["data"] is None and shots[0]["source"] is None
    assert handles() - before == {shots[0]["handle"]}
    out = run(daemon, "capture", "-o", str(tmp_path))
    assert out.exit_code == 0, out.output
    row = out.output.splitlines()[2].split()
    assert row[0] == "1" and row[1].startswith("0x") and row[2].endswith(".JPG")  # handle and name shown
    before = handles()
    r = run(daemon, "capture", str(tmp_path / "gone.jpg"), "--delete", "--json")
    shot = json.loads(r.output)["shots"][0]
    assert shot["source"] == "camera" and is_jpeg(tmp_path / "gone.jpg")
    assert shot["handle"] not in handles() and handles() == before


def test_capture_without_a_handle_falls_back_to_the_preview() -> None:
    # A Fuji body that lists no objects: the daemon's reply names no handle and carries
    # no image, only the preview (the reply shape comes from the real client model).
    from ptpd_client._camera import CaptureResult
    from ptpd_console.shots import capture_shots

    preview = b"\xff\xd8preview\xff\xd9"
    asked: list[dict] = []

    class Client:
        def capture(self, count: int, **kw: object) -> CaptureResult:
            asked.append(dict(kw, count=count))
            return CaptureResult.from_dict({"shots": [{"index": 1, "handle": None, "preview": preview}]})

    ((shot, source),) = capture_shots(Client(), 1, want_data=True, delete_after=True)
    assert source == "preview" and shot.data == preview and shot.filename == "preview-1.jpg"
    assert asked == [{"count": 1, "download": True, "preview": True, "keep": False}]
    ((shot, source),) = capture_shots(Client(), 1, want_data=False)
    assert source is None and shot.data is None and shot.handle is None


def test_download_and_no_overwrite(daemon: Daemon, tmp_path: Path) -> None:
    objs = json.loads(run(daemon, "ls", "--json").output)
    o = [x for x in objs if not x["is_folder"]][0]
    r = run(daemon, "download", hex(o["handle"]), "-o", str(tmp_path), "--json")
    saved = json.loads(r.output)
    path = Path(saved[0]["path"])
    assert path.name == o["filename"] and path.stat().st_size == o["size"] and is_jpeg(path)
    p = ptpctl("download", str(o["handle"]), "-o", str(tmp_path), env=daemon.full_env())
    assert p.returncode == 2 and "exists" in p.stderr
    p = ptpctl("download", "0x7fffffff", "-o", str(tmp_path), env=daemon.full_env())
    assert p.returncode == 2 and "no object" in p.stderr
    # --overwrite replaces the file (atomically: no temp file left behind)
    path.write_bytes(b"stale")
    r = run(daemon, "download", hex(o["handle"]), "-o", str(tmp_path), "--overwrite", "--json")
    assert r.exit_code == 0 and path.stat().st_size == o["size"] and is_jpeg(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_download_written_by_the_daemon(daemon: Daemon, tmp_path: Path) -> None:
    objs = json.loads(run(daemon, "ls", "--json").output)
    o = [x for x in objs if not x["is_folder"]][0]
    out = tmp_path / "on-daemon"
    r = run(daemon, "download", hex(o["handle"]), "--daemon-dir", str(out), "--json")
    assert r.exit_code == 0, r.output
    (saved,) = json.loads(r.output)
    path = Path(saved["path"])
    assert path.parent == out and path.name == o["filename"] and path.stat().st_size == o["size"] == saved["size"]
    assert is_jpeg(path)
    # never replaced: a second download lands beside the first
    r = run(daemon, "download", hex(o["handle"]), "--daemon-dir", str(out), "--json")
    assert r.exit_code == 0 and Path(json.loads(r.output)[0]["path"]) != path
    for bad, why in (
        (["--daemon-dir", "relative"], "absolute"),
        (["--daemon-dir", str(out), "-o", str(tmp_path)], "not with -o"),
        (["--daemon-dir", str(path / "sub")], "cannot write"),
    ):
        p = ptpctl("download", str(o["handle"]), *bad, env=daemon.full_env())
        assert p.returncode == 2 and why in p.stderr and "Traceback" not in p.stderr, p.stderr
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_write_atomic_writes_any_buffer_and_never_overwrites(tmp_path: Path) -> None:
    from ptpd_console.files import FileExists, write_atomic

    data = bytes(range(256)) * 4096  # 1 MiB
    target = tmp_path / "sub" / "a.jpg"
    write_atomic(target, memoryview(data)[1:], overwrite=False)
    assert target.read_bytes() == data[1:] and oct(target.stat().st_mode & 0o777) == "0o644"
    with pytest.raises(FileExists):
        write_atomic(target, b"other")
    assert target.read_bytes() == data[1:]
    write_atomic(target, bytearray(b"new"), overwrite=True)
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.jpg"]


def test_opreq_hexdump(daemon: Daemon) -> None:
    out = run(daemon, "opreq", "902b").output.splitlines()  # hex, 0x optional; Fuji's property list
    assert out[0].startswith("Response 0x2001")
    assert out[2].startswith("00000000  ") and out[2].endswith("|")
    j = json.loads(run(daemon, "opreq", "0x902B", "--json").output)
    assert j["code"] == 0x2001 and bytes.fromhex(j["data"])


def test_events_tail(daemon: Daemon) -> None:
    r = ptpctl("events", "--count", "1", "--json", "heartbeat", env=daemon.full_env())
    assert r.returncode == 0, r.stderr
    ev = json.loads(r.stdout.splitlines()[0])
    assert ev["topic"] == "heartbeat" and ev["seq"] > 0 and ev["data"]["connection"] == "connected"


def test_help_resolves_aliases(daemon: Daemon) -> None:
    r = run(daemon, "help", "shoot")
    assert r.exit_code == 0 and "Usage: ptpctl capture" in r.output


def test_liveview_runs_ptpview_on_the_same_daemon(daemon: Daemon, tmp_path: Path) -> None:
    # The endpoint is given only on ptpctl's command line: ptpview, its own process, finds
    # the daemon through it (its ping succeeds) and then says it has no display to open.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PTPD_") and k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PTPD_RUNTIME_DIR"] = str(tmp_path)  # nothing at the default endpoints
    r = ptpctl("--command-endpoint", daemon.endpoints["command"], "liveview", env=env)
    assert r.returncode == 1, r.stderr
    assert r.stderr.startswith("ptpview: error: no display") and len(r.stderr.strip().splitlines()) == 1
    r = ptpctl("liveview", "--no-overlay", env=env)  # no daemon: ptpctl says so, no window program starts
    assert r.returncode == 105 and r.stderr.startswith("ptpctl: error: cannot reach the daemon")


def test_shell_runs_lines_on_one_session(daemon: Daemon) -> None:
    r = run(daemon, "shell", input="get iso\nbogus\nset iso 400\nget iso\nexit\n")
    assert "(0x190)" in r.output  # 400: the lines after the failing one still ran
    assert r.exit_code == 2  # read from a pipe: the shell fails as its failing line did


def test_piped_shell_exits_with_its_first_failure(daemon: Daemon) -> None:
    cases = [
        ("get iso\nstatus\n", 0),
        ("get iso\nset effect Kodachrome\nget iso\n", 2),  # the camera does not allow it
        ("opreq 0x9999\nget nosuchprop\nset iso 400\n", 2),
        ("get iso\nshell\n", 2),  # already in the shell
        ("get 'iso\n", 2),  # cannot be split into words
    ]
    for script, code in cases:
        r = subprocess.run(
            [PYTHON, "-m", "ptpctl", "shell"],
            input=script,
            capture_output=True,
            text=True,
            env=daemon.full_env(),
            timeout=30,
        )
        assert r.returncode == code, (script, r.stderr)
        assert (r.stderr == "") == (code == 0), r.stderr
    r = subprocess.run(
        [PYTHON, "-m", "ptpctl", "shell"],
        input="get iso\n",
        capture_output=True,
        text=True,
        env={**daemon.full_env(), "PTPD_COMMAND_ENDPOINT": "ipc:///nonexistent/command"},
        timeout=30,
    )
    assert r.returncode == 105  # no daemon: the code of that failure


def test_bare_ptpctl_prints_its_help_laid_out() -> None:
    r = ptpctl()
    assert r.returncode == 2
    assert "error:" not in r.stdout + r.stderr and r.stderr == ""
    lines = r.stdout.splitlines()
    assert lines[0].startswith("Usage: ptpctl") and "Commands:" in lines and len(lines) > 30
    assert any(line.split()[:1] == ["capture"] for line in lines)  # one command a line


def test_liveview_without_a_display_suggests_only_what_it_takes(daemon: Daemon) -> None:
    import re

    from ptpctl.commands.misc import liveview

    env = {k: v for k, v in daemon.full_env().items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    r = ptpctl("liveview", env=env)
    assert r.returncode == 1 and "no display" in r.stderr
    suggested = set(re.findall(r"--[a-z-]+", r.stderr))
    takes = {o for p in liveview.params for o in p.opts}
    assert suggested and suggested <= takes, (suggested, takes)


def test_shell_completion(daemon: Daemon) -> None:
    session = Session(daemon.endpoints["command"])
    try:
        comp = Completer(cli, session)
        assert "get" in comp.candidates("ge")
        assert "shoot" in comp.candidates("sh")
        assert "iso" in comp.candidates("get i")
        assert "Velvia" in comp.candidates("set effect V")
        # after an escaped space the word goes on: PRO\ N is one word, "PRO N"
        assert comp.candidates("set effect PRO\\ N") == ["PRO\\ Neg.\\ Hi", "PRO\\ Neg.\\ Std"]
        assert comp.candidates("set effect PRO\\ Neg.\\ S") == ["PRO\\ Neg.\\ Std"]
        assert "Classic\\ Chrome" in comp.candidates("set effect ")
        # readline replaces only the text after the last space: the rest of the word
        line = "set effect PRO\\ N"
        assert comp.replacements(line, line.rindex(" ") + 1) == ["Neg.\\ Hi", "Neg.\\ Std"]
    finally:
        session.close()


def test_tab_completes_after_an_escaped_space_in_the_shell(daemon: Daemon, tmp_path: Path) -> None:
    # the shell on a terminal, typed at: "set effect PRO\ N" Tab (completes "Neg.\ "),
    # "S" Tab (completes "Std"), Enter; the camera gets PRO Neg. Std
    import pty
    import select
    import time

    primary, secondary = pty.openpty()
    (tmp_path / "inputrc").write_text("")  # readline's defaults, whatever the machine's inputrc says
    env = {**daemon.full_env(), "XDG_STATE_HOME": str(tmp_path), "TERM": "dumb", "INPUTRC": str(tmp_path / "inputrc")}
    p = subprocess.Popen(
        [PYTHON, "-m", "ptpctl", "shell"], stdin=secondary, stdout=secondary, stderr=secondary, env=env
    )
    os.close(secondary)
    seen = b""

    def read_until(what: bytes, timeout: float = 20.0) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while what not in seen and time.monotonic() < deadline:
            if select.select([primary], [], [], 0.2)[0]:
                seen += os.read(primary, 4096)
        assert what in seen, seen

    try:
        read_until(b"ptpctl> ")
        os.write(primary, b"set effect PRO\\ N\t")
        read_until(b"eg.\\ ")  # two candidates (Hi, Std): readline inserts their common part
        os.write(primary, b"S\t")
        read_until(b"Std")
        os.write(primary, b"\n")
        read_until(b"effect set to PRO Neg. Std")
        os.write(primary, b"exit\n")
        assert p.wait(20) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)
        os.close(primary)
    with daemon.client() as c:
        assert c.get("effect").label == "PRO Neg. Std"


# -- jobs and the control lease ------------------------------------------------------------------


def test_job_start_watch_list_show_and_refusals(daemon: Daemon, tmp_path: Path) -> None:
    r = run(daemon, "job", "start", "timelapse", "--interval", "0.5", "--count", "2", "--dir", str(tmp_path), "--watch")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].startswith("started timelapse job ") and f"into {tmp_path}" in lines[0], lines
    assert lines[-1].startswith("[####################] timelapse ") and lines[-1].endswith("(done: 2 shots)"), lines
    job_id = int(lines[0].split()[3].rstrip(":"))
    listed = json.loads(run(daemon, "job", "list", "--json").output)
    assert any(j["id"] == job_id and j["state"] == "done" and j["done"] == 2 for j in listed)
    shown = run(daemon, "--json", "job", "show", str(job_id))
    shots = json.loads(shown.output)["shots"]
    assert [s["state"] for s in shots] == ["saved", "saved"] and all(is_jpeg(Path(s["path"])) for s in shots)
    table = run(daemon, "job", "show", str(job_id)).output
    assert "Planned" in table and "Drift" in table and shots[0]["path"] in table
    # the X-T1 has no focus drive: refused before anything changes (106)
    p = ptpctl("job", "start", "focus-stack", "--steps", "3", env=daemon.full_env())
    assert p.returncode == 106 and p.stderr.startswith("ptpctl: error: job.start: the camera refused: focus-stack:"), (
        p.stderr
    )
    assert "[unsupported]" in p.stderr
    assert ptpctl("job", "show", "99999", env=daemon.full_env()).returncode == 104


def test_a_job_goes_on_after_the_ptpctl_that_started_it_exits(daemon: Daemon, tmp_path: Path) -> None:
    env = daemon.full_env()
    p = ptpctl("job", "start", "timelapse", "--interval", "0.5", "--count", "3", "--dir", str(tmp_path), env=env)
    assert p.returncode == 0 and p.stdout.startswith("started timelapse job "), p.stderr
    job_id = int(p.stdout.split()[3].rstrip(":"))
    # another process follows it, a JSON object a report, to its end
    w = ptpctl("--json", "job", "watch", str(job_id), env=env)
    assert w.returncode == 0, w.stderr
    reports = [json.loads(line) for line in w.stdout.splitlines()]
    events = [r["event"] for r in reports]
    # where it stands when the watch begins, then each shot as it comes, then its end
    assert events[0] == "current" and events[-1] == "ended" and "shot" in events, events
    assert reports[-1]["state"] == "done" and reports[-1]["done"] == 3
    assert len(list(tmp_path.iterdir())) == 3
    # a bracket, as the example, followed to its end
    before = json.loads(ptpctl("--json", "get", "exp-bias", env=env).stdout)["label"]
    b = ptpctl("job", "start", "bracket", "--steps", "5", "--ev", "1", "--watch", env=env)
    assert b.returncode == 0 and b.stdout.splitlines()[-1].endswith("(done: 5 shots)"), (b.stdout, b.stderr)
    assert "settings put back: exp-bias" in b.stdout
    assert json.loads(ptpctl("--json", "get", "exp-bias", env=env).stdout)["label"] == before
    # a tether job stopped from yet another process
    p = ptpctl("job", "start", "tether", "--dir", str(tmp_path / "t"), env=env)
    job_id = int(p.stdout.split()[3].rstrip(":"))
    s = ptpctl("job", "stop", str(job_id), env=env)
    assert s.returncode == 0 and "stopped" in s.stdout, (s.stdout, s.stderr)
    assert json.loads(ptpctl("--json", "job", "show", str(job_id), env=env).stdout)["state"] == "stopped"


def test_lock_unlock_and_lock_for_a_command(daemon: Daemon) -> None:
    env = daemon.full_env()
    env.pop("PTPD_LEASE", None)
    p = ptpctl("lock", "--name", "tester", env=env)
    assert p.returncode == 0 and len(p.stdout.strip()) == 32, p.stderr
    holder = {**env, "PTPD_LEASE": p.stdout.strip()}
    try:
        other = ptpctl("set", "iso", "400", env=env)
        assert other.returncode == 106 and "locked by tester" in other.stderr and other.stderr.endswith("[locked]\n")
        assert ptpctl("get", "iso", env=env).returncode == 0  # others read
        assert ptpctl("set", "iso", "400", env=holder).returncode == 0
        assert "locked by tester" in ptpctl("status", env=env).stdout
        assert ptpctl("unlock", env=env).returncode == 106  # not this shell's
        assert ptpctl("unlock", env=holder).stdout.strip() == "released the control lease"
        # held while a command runs, released after it, its exit code passed on
        inner = f"{PYTHON} -m ptpctl set iso 200 && env -u PTPD_LEASE {PYTHON} -m ptpctl set iso 800; exit 7"
        p = ptpctl("lock", "--", "sh", "-c", inner, env=env)
        assert p.returncode == 7 and "locked by" in p.stderr, p.stderr
        assert ptpctl("set", "iso", "400", env=env).returncode == 0
    finally:
        ptpctl("unlock", "--force", env=env)
