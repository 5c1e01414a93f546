"""Every ```python example in docs/client.md runs against a real daemon."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from test_client_daemon import Daemon

DOC = Path(__file__).resolve().parent.parent / "docs" / "client.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


def test_the_doc_has_examples() -> None:
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("code", EXAMPLES, ids=[f"example{i + 1}" for i in range(len(EXAMPLES))])
def test_example_runs(code: str, daemon: Daemon, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(code)
    r = subprocess.run(
        [sys.executable, str(script)], env=daemon.full_env(), capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert r.returncode == 0, f"{code}\n--- stdout\n{r.stdout}\n--- stderr\n{r.stderr}"
    assert r.stdout.strip(), "an example prints what it did"
