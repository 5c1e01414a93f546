"""Aligned tables, sizes and JSON values, as every console client prints them."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import Any

from ptpd_console.text import printable

__all__ = ["human_size", "json_default", "table"]


def human_size(n: int | None) -> str:
    """``12345`` -> ``12.1 KB``; ``None`` -> ``""``."""
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


def _is_number(cell: str) -> bool:
    return bool(re.match(r"^[+-]?[\d.,]+( [A-Za-z/%]+)?$", cell))


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str] | None = None, *, file: Any = None) -> None:
    """Print rows as aligned columns (numbers right-aligned), with an underlined header."""
    # camera strings (file names, model, labels) may hold ESC or BEL: never raw
    cells = [[("" if c is None else printable(c)) for c in r] for r in rows]
    all_rows = ([list(headers)] if headers else []) + cells
    if not all_rows:
        return
    ncol = max(len(r) for r in all_rows)
    for r in all_rows:
        r.extend([""] * (ncol - len(r)))
    widths = [max(len(r[i]) for r in all_rows) for i in range(ncol)]
    right = [
        bool(cells) and all(_is_number(r[i]) or r[i] == "" for r in cells) and any(r[i] for r in cells)
        for i in range(ncol)
    ]
    out = file or sys.stdout

    def line(r: list[str]) -> str:
        parts = [(c.rjust(w) if rj else c.ljust(w)) for c, w, rj in zip(r, widths, right)]
        return "  ".join(parts).rstrip()

    if headers:
        print(line(all_rows[0]), file=out)
        print("  ".join("-" * w for w in widths).rstrip(), file=out)
        body = all_rows[1:]
    else:
        body = all_rows
    for r in body:
        print(line(r), file=out)


def json_default(o: Any) -> Any:
    """What ``json.dumps`` cannot write itself: bytes as hex, results as dicts, sets as lists."""
    if isinstance(o, (bytes, bytearray, memoryview)):
        return bytes(o).hex()
    if hasattr(o, "to_dict"):
        return o.to_dict()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return str(o)
