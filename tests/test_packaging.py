"""The package as users install it: the sdist and the wheel built as a release is, the
wheel installed (not editable) into fresh virtualenvs, every console script run from there
against the simulator.

The development install (``make setup``, editable) imports from the checkout, so it hides
a subpackage the wheel left out, a file the sdist forgot or a dependency an extra lacks;
these tests see what a user gets. Two installs: the core (``pip install ptpd``: the daemon,
``ptpctl`` and the Python client, without numpy, Pillow or OpenCV) and ``[all]``. Both come
from pip's cache (a few seconds each here); ``-m "not packaging"`` leaves them out.
"""

from __future__ import annotations

import ast
import contextlib
import email.parser
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import textwrap
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import ptpd
from conftest import ROOT, free_port, wait_for_port

pytestmark = pytest.mark.packaging

VERSION = ptpd.__version__
#: the console scripts, and what each is
TOOLS = ("ptpd", "ptpctl", "ptpview", "ptptrigger", "ptprig")
#: what the core install must not pull in (distribution names, as pip lists them)
HEAVY = {"numpy", "pillow", "opencv-python", "opencv-python-headless"}
#: the modules a core install runs: everything but the simulator, the viewer, the trigger,
#: ptprig's mosaic and the demo, which need their extras
CORE_ROOTS = (
    "ptpd.protocol",
    "ptpd.fuji",
    "ptpd.camera",
    "ptpd.daemon",
    "ptpd_client",
    "ptpd_console",
    "ptpctl",
    "ptprig.cli",
    "ptprig.gather",
)
#: files of the checkout a source distribution has no use for
DEV_ONLY = {".ci", ".gitignore"}
#: what a checkout holds beside its sources, not copied to build from
BUILD_LEFTOVERS = (
    ".git",
    ".venv",
    "*.egg-info",
    "build",
    "dist",
    "__pycache__",
    ".hypothesis",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    "captures",
    "demo-out",
)


def package_roots() -> dict[str, Path]:
    """Import name -> folder of every top-level package in the tree (clients/*/NAME too)."""
    roots = {"ptpd": ROOT / "ptpd"}
    for init in sorted(ROOT.glob("clients/*/*/__init__.py")):
        roots[init.parent.name] = init.parent
    return roots


def tree_files(folder: Path) -> Iterator[Path]:
    """Every file under ``folder`` but byte code."""
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            yield path


@dataclass
class Dists:
    sdist: Path
    wheel: Path


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    """The sdist, and the wheel built from it (as ``python -m build`` does for a release)."""
    out = tmp_path_factory.mktemp("dist")
    # From a copy without the checkout's build leftovers: setuptools adds every file named
    # in a stale ptpd.egg-info/SOURCES.txt to the sdist, which would hide a package the
    # configuration no longer finds.
    src = tmp_path_factory.mktemp("src") / "ptpd"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*BUILD_LEFTOVERS))
    # --no-isolation: the build tools come from the test venv ([test] has them), not a download
    r = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=out,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (sdist,) = out.glob("ptpd-*.tar.gz")
    (wheel,) = out.glob("ptpd-*.whl")
    return Dists(sdist, wheel)


class Venv:
    """A fresh virtualenv with one install from the wheel; its tools run outside the checkout."""

    def __init__(self, path: Path, work: Path) -> None:
        self.path = path
        self.work = work  # the cwd of everything run here: never the checkout
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
        self.python = path / "bin" / "python"

    def install(self, spec: str) -> float:
        """``pip install SPEC`` into this venv (with the test venv's pip); returns seconds."""
        t0 = time.monotonic()
        r = self.pip("install", "--disable-pip-version-check", "--no-input", spec, timeout=600)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        return time.monotonic() - t0

    def pip(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(self.python), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.work,
            env=self.env(),
        )

    def installed(self) -> dict[str, str]:
        """Distribution name (lower case) -> version."""
        r = self.pip("list", "--format", "json", "--disable-pip-version-check")
        assert r.returncode == 0, r.stderr
        return {d["name"].lower(): d["version"] for d in json.loads(r.stdout)}

    def env(self, **extra: str) -> dict[str, str]:
        # nothing of the checkout's environment may reach the install: no PYTHONPATH, no PTPD_*
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PTPD_", "VIRTUAL_ENV"))}
        env["PATH"] = f"{self.path / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env.update(extra)
        return env

    def bin(self, tool: str) -> str:
        return str(self.path / "bin" / tool)

    def run(
        self, tool: str, *args: str, timeout: float = 60, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a console script (or ``python``) of this install, ``env`` added to its environment."""
        return subprocess.run(
            [self.bin(tool), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.work,
            env=self.env(**(env or {})),
        )

    @contextlib.contextmanager
    def started(self, tool: str, *args: str, **env: str) -> Iterator[subprocess.Popen[bytes]]:
        """A long-running tool of this install, stopped (SIGTERM, then SIGKILL) on the way out."""
        log = open(self.work / f"{tool}-{time.monotonic_ns()}.log", "w+b")
        p = subprocess.Popen(
            [self.bin(tool), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.work,
            env=self.env(**env),
            start_new_session=True,
        )
        try:
            yield p
        finally:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait(10)
            log.close()

    def modules_from(self, roots: tuple[str, ...]) -> dict[str, Any]:
        """Import every module under ``roots`` in this install: where each came from, and
        which of numpy, Pillow and OpenCV got imported on the way."""
        script = textwrap.dedent(f"""
            import importlib, json, pkgutil, sys
            files = {{}}
            for root in {list(roots)!r}:
                top = importlib.import_module(root)
                files[root] = top.__file__
                for info in pkgutil.walk_packages(getattr(top, "__path__", []), root + "."):
                    if not info.name.endswith(".__main__"):  # that one runs the tool
                        files[info.name] = importlib.import_module(info.name).__file__
            heavy = sorted({{m.split(".")[0] for m in sys.modules}} & {{"numpy", "PIL", "cv2"}})
            print(json.dumps({{"files": files, "heavy": heavy}}))
        """)
        r = self.run("python", "-c", script)
        assert r.returncode == 0, r.stderr[-3000:]
        return json.loads(r.stdout)


@pytest.fixture(scope="module")
def core(dists: Dists, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """``pip install ptpd``."""
    venv = Venv(tmp_path_factory.mktemp("core") / "venv", tmp_path_factory.mktemp("core-work"))
    venv.install(str(dists.wheel))
    return venv


@pytest.fixture(scope="module")
def full(dists: Dists, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """``pip install 'ptpd[all]'``."""
    venv = Venv(tmp_path_factory.mktemp("all") / "venv", tmp_path_factory.mktemp("all-work"))
    venv.install(f"{dists.wheel}[all]")
    return venv


def endpoints(run: Path) -> dict[str, str]:
    run.mkdir(mode=0o700, parents=True, exist_ok=True)
    return {name: f"ipc://{run}/{name}" for name in ("command", "event", "liveview")}


def daemon_args(eps: dict[str, str], state: Path) -> list[str]:
    return [
        "--command-endpoint",
        eps["command"],
        "--event-endpoint",
        eps["event"],
        "--liveview-endpoint",
        eps["liveview"],
        "--state-dir",
        str(state),
    ]


def client_env(eps: dict[str, str]) -> dict[str, str]:
    return {
        "PTPD_COMMAND_ENDPOINT": eps["command"],
        "PTPD_EVENT_ENDPOINT": eps["event"],
        "PTPD_LIVEVIEW_ENDPOINT": eps["liveview"],
    }


def wait_connected(venv: Venv, daemon: subprocess.Popen[bytes], eps: dict[str, str], timeout: float = 30) -> str:
    """Wait (with this install's Python client) until the daemon holds the camera; its model."""
    script = textwrap.dedent(f"""
        import time
        from ptpd_client import Client, ClientError
        deadline = time.monotonic() + {timeout}
        with Client({eps["command"]!r}, {eps["event"]!r}, {eps["liveview"]!r}, timeout=1.0) as c:
            while time.monotonic() < deadline:
                try:
                    s = c.status()
                    if s.connection == "connected":
                        print(s.model)
                        raise SystemExit(0)
                except ClientError:
                    pass
                time.sleep(0.2)
        raise SystemExit("not connected within {timeout} s")
    """)
    r = venv.run("python", "-c", script, timeout=timeout + 15)
    assert r.returncode == 0 and daemon.poll() is None, (r.stdout, r.stderr, daemon.poll())
    return r.stdout.strip()


def ok(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 0, f"{r.args}: exit {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    return r.stdout


# -- what the distributions hold ----------------------------------------------------------


def test_wheel_holds_every_module_of_the_tree(dists: Dists) -> None:
    names = set(zipfile.ZipFile(dists.wheel).namelist())
    shipped = {n for n in names if not n.startswith(f"ptpd-{VERSION}.")}
    expected = {
        f"{name}/{p.relative_to(folder).as_posix()}"
        for name, folder in package_roots().items()
        for p in tree_files(folder)
    }
    # a folder without __init__.py is not found as a package: its files show up missing here
    assert sorted(expected - shipped) == [], "left out of the wheel"
    assert sorted(shipped - expected) == [], "in the wheel but not in the tree (tests? bench?)"
    assert "ptpctl/commands/capture.py" in shipped and "ptpd/simulator/fuji/server.py" in shipped
    data = f"ptpd-{VERSION}.data/data/share/ptpd/systemd"
    assert {f"{data}/ptpd.service", f"{data}/ptpd@.service"} <= names


def test_wheel_metadata(dists: Dists) -> None:
    z = zipfile.ZipFile(dists.wheel)
    info = f"ptpd-{VERSION}.dist-info"
    meta = email.parser.Parser().parsestr(z.read(f"{info}/METADATA").decode())
    assert meta["Name"] == "ptpd" and meta["Version"] == VERSION
    assert meta["License-Expression"] == "MIT"
    assert z.read(f"{info}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
    assert any(c.startswith("Programming Language :: Python :: 3.11") for c in meta.get_all("Classifier") or [])
    requires = meta.get_all("Requires-Dist") or []
    core = {re.split(r"[<>=!~ ;\[]", r, maxsplit=1)[0].lower() for r in requires if "extra ==" not in r}
    assert core == {"pyzmq", "msgpack", "click"}
    assert {"sim", "viewer", "trigger", "vision-headless", "all"} <= set(meta.get_all("Provides-Extra") or [])
    scripts = z.read(f"{info}/entry_points.txt").decode()
    assert all(re.search(rf"^{tool} = ", scripts, re.M) for tool in TOOLS), scripts


def test_sdist_carries_the_tests_and_what_they_import(dists: Dists) -> None:
    with tarfile.open(dists.sdist) as tar:
        members = {m.name.partition("/")[2] for m in tar.getmembers() if m.isfile()}
    wanted = {
        p.relative_to(ROOT).as_posix() for d in ("tests", "bench", "docs", "systemd") for p in tree_files(ROOT / d)
    }
    wanted |= {"LICENSE", "README.md", "pyproject.toml", "MANIFEST.in", "Makefile"}
    assert sorted(wanted - members) == []
    # every module the tests import from the tree (bench.*, and the modules beside them in
    # tests/: conftest, helpers, other test files) is in it
    local = set()
    for test in (ROOT / "tests").glob("*.py"):
        for node in ast.walk(ast.parse(test.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                top = node.module.split(".")[0]
                if top == "bench" or (ROOT / "tests" / f"{top}.py").is_file():
                    local.add(node.module)
    assert {"conftest", "bench.common", "test_daemon_sim"} <= local
    for module in local:
        path = module.replace(".", "/")
        path = path if module.startswith("bench") else f"tests/{path}"
        assert f"{path}.py" in members or f"{path}/__init__.py" in members, module
    assert not any(m.startswith(tuple(DEV_ONLY)) or "__pycache__" in m for m in members)


# -- the core install ---------------------------------------------------------------------


def test_core_install_has_no_vision_stack(core: Venv) -> None:
    installed = core.installed()
    assert installed.get("ptpd") == VERSION
    assert {"pyzmq", "msgpack", "click"} <= set(installed)
    assert not HEAVY & set(installed), installed
    found = core.modules_from(CORE_ROOTS)
    assert found["heavy"] == []
    files = found["files"]
    assert "ptpctl.commands.capture" in files and "ptpd.daemon.server" in files
    outside = {m: f for m, f in files.items() if not str(f).startswith(str(core.path))}
    assert outside == {}, "imported from outside the install"
    for tool in ("ptpd", "ptpctl", "ptptrigger", "ptprig"):  # ptpview, all OpenCV, says it needs [viewer]
        assert ok(core.run(tool, "--version")).strip() == f"{tool}, version {VERSION}"


def test_core_names_the_extra_a_feature_needs(core: Venv, tmp_path: Path) -> None:
    eps = endpoints(tmp_path / "run")
    cases = [
        (["ptpd", "run", "--simulate", "fuji", *daemon_args(eps, tmp_path / "state")], "[sim]", 1),
        (["ptpd", "simulate", "--vendor", "fuji", "--port", "0"], "[sim]", 1),
        (["ptpview", "--snapshot", str(tmp_path / "f.png")], "[viewer]", 104),
        (["ptpview", "--version"], "[viewer]", 104),
        (["ptptrigger", "--motion", "--duration", "1"], "[trigger]", 104),
        (
            ["ptprig", "-r", str(tmp_path / "rig.toml"), "liveview", "--snapshot", str(tmp_path / "m.png")],
            "[viewer]",
            104,
        ),
    ]
    for (tool, *args), extra, code in cases:
        r = core.run(tool, *args, timeout=30, env=client_env(eps))
        lines = r.stderr.strip().splitlines()
        assert r.returncode == code and len(lines) == 1, (tool, args, r.returncode, r.stderr)
        assert f"needs the {extra} extra" in lines[0] and f"pip install 'ptpd{extra}'" in lines[0], lines[0]
    assert not (tmp_path / "run" / "command").exists()  # the daemon stopped before binding
    # the Python client: a MissingExtra (a ModuleNotFoundError) that names the extra
    r = core.run(
        "python",
        "-c",
        "from ptpd_client import Frame\n"
        "try:\n    Frame(1, b'').decode()\nexcept ModuleNotFoundError as e:\n    print(type(e).__name__, e)",
    )
    assert ok(r).startswith("MissingExtra Frame.decode() needs the [viewer] extra"), r.stdout


def test_core_daemon_and_ptpctl_drive_a_camera(core: Venv, full: Venv, tmp_path: Path) -> None:
    """The server install: the core's daemon holds a camera (the simulator, served from the
    [all] install as a camera on the network would be) and the core's ptpctl drives it."""
    port = free_port(3)
    eps = endpoints(tmp_path / "run")
    with full.started("ptpd", "simulate", "--vendor", "fuji", "--port", str(port)):
        wait_for_port(port, timeout=30)
        with core.started(
            "ptpd", "run", "--vendor", "fuji", "--camera", f"127.0.0.1:{port}", *daemon_args(eps, tmp_path / "state")
        ) as daemon:
            assert wait_connected(core, daemon, eps) == "X-T1"
            env = client_env(eps)
            assert "X-T1" in ok(core.run("ptpctl", "info", env=env))
            assert re.search(r"(?im)^\s*iso\b", ok(core.run("ptpctl", "state", env=env)))
            listing = ok(core.run("ptpctl", "--json", "ls", env=env))
            assert json.loads(listing), listing
            shots = tmp_path / "shots"
            ok(core.run("ptpctl", "capture", "1", "-o", str(shots), env=env))
            (jpeg,) = shots.iterdir()
            assert jpeg.read_bytes()[:2] == b"\xff\xd8"


# -- the [all] install ----------------------------------------------------------------------


def test_all_install_runs_every_tool(full: Venv, tmp_path: Path) -> None:
    installed = full.installed()
    assert {"ptpd", "numpy", "pillow", "opencv-python"} <= set(installed)
    assert "opencv-python-headless" not in installed
    files = full.modules_from(
        ("ptpd", "ptpd_client", "ptpd_console", "ptpctl", "ptpview", "ptptrigger", "ptprig", "ptpdemo")
    )["files"]
    assert {m: f for m, f in files.items() if not str(f).startswith(str(full.path))} == {}
    for tool in TOOLS:
        assert ok(full.run(tool, "--version")).strip() == f"{tool}, version {VERSION}"

    eps = endpoints(tmp_path / "run")
    with full.started("ptpd", "run", "--simulate", "fuji", *daemon_args(eps, tmp_path / "state")) as daemon:
        assert wait_connected(full, daemon, eps) == "X-T1"
        env = client_env(eps)
        assert "X-T1" in ok(full.run("ptpctl", "info", env=env))
        assert re.search(r"(?im)^\s*iso\b", ok(full.run("ptpctl", "state", env=env)))
        assert json.loads(ok(full.run("ptpctl", "--json", "ls", env=env)))
        shots = tmp_path / "shots"
        ok(full.run("ptpctl", "capture", "1", "-o", str(shots), env=env))
        (jpeg,) = shots.iterdir()
        assert jpeg.read_bytes()[:2] == b"\xff\xd8"
        png = tmp_path / "frame.png"
        ok(full.run("ptpview", "--snapshot", str(png), env=env))
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        r = full.run(
            "ptptrigger", "--motion", "--dry-run", "--json", "--max-shots", "1", "--duration", "20", timeout=60, env=env
        )
        (record,) = [json.loads(line) for line in ok(r).splitlines()]
        assert record["trigger"] == 1 and record["kind"] == "motion" and record["dry_run"] is True
        rig = tmp_path / "rig.toml"
        rig.write_text(f'[cameras.one]\ncommand = "{eps["command"]}"\n')
        ok(full.run("ptprig", "-r", str(rig), "capture", "-o", str(tmp_path / "rig")))
        assert (tmp_path / "rig" / "0001" / "one.jpg").read_bytes()[:2] == b"\xff\xd8"
        ok(full.run("ptprig", "-r", str(rig), "liveview", "--snapshot", str(tmp_path / "mosaic.png")))
        assert (tmp_path / "mosaic.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_all_install_runs_the_demo(full: Venv) -> None:
    out = full.work / "captures"
    r = full.run("python", "-m", "ptpdemo", "-o", str(out), timeout=120)
    assert "stopped the daemon" in ok(r)
    assert len(list(out.glob("*.JPG"))) == 3 and len(list(out.glob("viewfinder-*.png"))) == 1
