"""The suite does not depend on where the clone lives.

A clone under a directory other users cannot traverse (mode 0700, as ``mktemp -d`` makes
and as many home directories are) puts the virtualenv, the packages and the tests where
``nobody`` cannot go. The other-uid checks of ``test_security_ipc`` must still run there.
This makes such a clone, with a virtualenv inside it, and runs them from it.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from test_security_ipc import OTHER

pytestmark = pytest.mark.timeout(150)

ROOT = Path(__file__).resolve().parent.parent
GIT = shutil.which("git")


def git(*args: str, cwd: Path = ROOT) -> str:
    assert GIT is not None
    return subprocess.run([GIT, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=True).stdout.strip()


def is_checkout() -> bool:
    if GIT is None:
        return False
    try:
        return git("rev-parse", "--show-toplevel") == str(ROOT)
    except (subprocess.CalledProcessError, OSError):
        return False


@pytest.fixture
def private_dir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="ptpd-private-"))
    os.chmod(d, 0o700)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def clone_as_it_is(dest: Path) -> None:
    """A clone holding the tracked files as they are now, edits not yet committed included:
    ``git stash create`` makes a commit of them without touching the tree, the index or any
    ref, and ``--shared`` lets the clone see that commit in this repository's objects."""
    commit = git("stash", "create") or git("rev-parse", "HEAD")
    git("clone", "-q", "--shared", "--no-checkout", str(ROOT), str(dest))
    git("-c", "advice.detachedHead=false", "checkout", "-q", commit, cwd=dest)


def venv_inside(clone: Path) -> Path:
    """A virtualenv in the clone (as ``make setup`` makes one) that finds this one's packages;
    the clone's own code comes first from the working directory."""
    venv = clone / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    inner = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    outer = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib"), *site.getsitepackages()}
    Path(inner, "outer-packages.pth").write_text("".join(f"{p}\n" for p in sorted(outer) if Path(p).is_dir()))
    return python


@pytest.mark.skipif(OTHER is None, reason="needs root and setpriv to run a probe as another uid")
@pytest.mark.skipif(not is_checkout(), reason="not a git checkout: nothing to clone")
def test_other_uid_checks_pass_from_a_clone_in_a_0700_directory(private_dir: Path) -> None:
    clone = private_dir / "ptpd"
    clone_as_it_is(clone)
    python = venv_inside(clone)
    report = private_dir / "report.xml"
    cp = subprocess.run(
        [
            str(python),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
            "tests/test_security_ipc.py",
        ],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cp.returncode == 0, cp.stdout[-3000:] + cp.stderr[-2000:]
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    counts = {k: int(suite.get(k, "0")) for k in ("tests", "failures", "errors", "skipped")}
    # the probe runs there too: a skip would hide the very failure this looks for
    assert counts["tests"] >= 3 and counts["failures"] == counts["errors"] == counts["skipped"] == 0, (
        counts,
        cp.stdout[-3000:],
    )
    # and it was that clone's code and interpreter that ran
    out = subprocess.run(
        [str(python), "-c", "import sys, bench; print(sys.executable); print(bench.__file__)"],
        cwd=clone,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.split()
    assert out == [str(python), str(clone / "bench" / "__init__.py")], out
