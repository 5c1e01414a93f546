"""How ptpctl prints: aligned tables with units, JSON (pretty on a terminal), hex dumps."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any

#: property name -> unit shown after a numeric label
UNITS = {
    "exposure": "s",
    "shutter-speed": "s",
    "shutterspeed": "s",
    "exp-bias": "EV",
    "exposure-bias": "EV",
    "focal-length": "mm",
    "focallength": "mm",
}

_NUMERIC = re.compile(r"^[+-]?\d+(?:[./]\d+)?(?: \d+/\d+)?$")


def with_unit(name: str, label: str) -> str:
    """``1/250`` -> ``1/250 s`` for exposure, ``+2/3`` -> ``+2/3 EV`` for bias; else as is."""
    unit = UNITS.get(name.lower())
    if unit and _NUMERIC.match(label.strip()):
        return f"{label} {unit}"
    return label


def hexv(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        return "" if value is None else str(value)
    return f"0x{value:X}" if value >= 0 else f"-0x{-value:X}"


def value_line(p: Any) -> str:
    """A property value as ``get`` prints it: ``800 (0x320)``, ``1/250 s (0x...)``."""
    return f"{with_unit(p.name, str(p.label))} ({hexv(p.value)})" if p.label != "" else hexv(p.value)


def set_line(p: Any, prop: str) -> str:
    """What ``set`` prints once the camera took the value."""
    return f"{p.name or prop} set to {with_unit(p.name, str(p.label))} ({hexv(p.value)})"


def human_size(n: int | None) -> str:
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
    cells = [[("" if c is None else str(c)) for c in r] for r in rows]
    all_rows = ([list(headers)] if headers else []) + cells
    if not all_rows:
        return
    ncol = max(len(r) for r in all_rows)
    for r in all_rows:
        r.extend([""] * (ncol - len(r)))
    widths = [max(len(r[i]) for r in all_rows) for i in range(ncol)]
    right = [bool(cells) and all(_is_number(r[i]) or r[i] == "" for r in cells) and any(r[i] for r in cells) for i in range(ncol)]
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


def pairs(items: Iterable[tuple[str, Any]]) -> None:
    """A two-column "key  value" table without header."""
    table([(k, v) for k, v in items])


def emit_json(data: Any, *, pretty: bool | None = None) -> None:
    """JSON on stdout: indented on a terminal or when ``--pretty`` was given, one line
    otherwise (for pipes and jq)."""
    if pretty is None:
        import click

        from .params import PRETTY_META

        ctx = click.get_current_context(silent=True)
        pretty = bool(ctx is not None and ctx.meta.get(PRETTY_META)) or sys.stdout.isatty()
    print(json.dumps(data, indent=2 if pretty else None, ensure_ascii=False, default=_default))


def _default(o: Any) -> Any:
    if isinstance(o, (bytes, bytearray, memoryview)):
        return bytes(o).hex()
    if hasattr(o, "to_dict"):
        return o.to_dict()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return str(o)


def hexdump(data: bytes) -> str:
    """The canonical ``hexdump -C`` layout: offset, 16 bytes in two groups of 8, |ascii|,
    a ``*`` for repeated lines, and the final offset."""
    lines: list[str] = []
    prev: bytes | None = None
    starred = False
    for off in range(0, len(data), 16):
        chunk = data[off : off + 16]
        if chunk == prev and len(chunk) == 16:
            if not starred:
                lines.append("*")
                starred = True
            continue
        starred = False
        prev = chunk
        hex_left = " ".join(f"{b:02x}" for b in chunk[:8])
        hex_right = " ".join(f"{b:02x}" for b in chunk[8:])
        hexpart = f"{hex_left:<23}  {hex_right:<23}"
        text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        lines.append(f"{off:08x}  {hexpart}  |{text}|")
    if data:
        lines.append(f"{len(data):08x}")
    return "\n".join(lines)
