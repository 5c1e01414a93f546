"""Every silenced finding says which one and why: ``# type: ignore[code]  # reason`` and
``# noqa: CODE  # reason``. (ruff's PGH rules insist on the code, mypy's warn_unused_ignores
and ruff's RUF100 on the need; this holds the reason.)"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREES = ("ptpd", "clients", "tests", "bench")

SUPPRESSION = re.compile(r"#\s*(type:\s*ignore|noqa)\b")
WITH_REASON = re.compile(r"#\s*(type:\s*ignore\[[a-z-]+(,[a-z-]+)*\]|noqa:\s*[A-Z]+[0-9]+(,\s*[A-Z]+[0-9]+)*)\s+#\s*\S")


def suppressions(path: Path) -> list[tuple[int, str]]:
    """(line, comment) of each comment token that silences a finding."""
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    return [(t.start[0], t.string) for t in tokens if t.type == tokenize.COMMENT and SUPPRESSION.search(t.string)]


def test_every_suppression_names_its_code_and_a_reason() -> None:
    found = [(p, n, c) for tree in TREES for p in sorted((ROOT / tree).rglob("*.py")) for n, c in suppressions(p)]
    assert len(found) > 10  # the walk reached the code
    bare = [f"{p.relative_to(ROOT)}:{n}: {c}" for p, n, c in found if not WITH_REASON.search(c)]
    assert bare == []


def test_the_pattern_tells_a_reason_from_none() -> None:
    assert WITH_REASON.search("# type: ignore[arg-type]  # pyzmq's stub lacks flags")
    assert WITH_REASON.search("# noqa: E741  # short names keep the tables readable")
    assert not WITH_REASON.search("# type: ignore[arg-type]")
    assert not WITH_REASON.search("# type: ignore  # no code")
    assert not WITH_REASON.search("# noqa: F401")
    assert not WITH_REASON.search("# noqa  # no code")
