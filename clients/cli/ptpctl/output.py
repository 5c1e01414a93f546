"""How ptpctl prints: aligned tables with units, JSON (pretty on a terminal), hex dumps.

The table itself and sizes are :mod:`ptpd_console.tables` (``ptprig`` prints the same way).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from typing import Any

from ptpd_console.tables import human_size, json_default, table
from ptpd_console.text import json_safe, printable

__all__ = [
    "UNITS",
    "emit_json",
    "hexdump",
    "hexv",
    "human_size",
    "json_default",
    "pairs",
    "set_line",
    "table",
    "value_line",
    "with_unit",
]

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

#: a numeric label (a pattern, not compiled here: only a few properties are ever matched)
_NUMERIC = r"[+-]?\d+(?:[./]\d+)?(?: \d+/\d+)?"


def with_unit(name: str, label: str) -> str:
    """``1/250`` -> ``1/250 s`` for exposure, ``+2/3`` -> ``+2/3 EV`` for bias; else as is."""
    unit = UNITS.get(name.lower())
    if unit and re.fullmatch(_NUMERIC, label.strip()):
        return f"{label} {unit}"
    return label


def hexv(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        return "" if value is None else str(value)
    return f"0x{value:X}" if value >= 0 else f"-0x{-value:X}"


def value_line(p: Any) -> str:
    """A property value as ``get`` prints it: ``800 (0x320)``, ``1/250 s (0x...)``."""
    line = f"{with_unit(p.name, str(p.label))} ({hexv(p.value)})" if p.label != "" else hexv(p.value)
    return printable(line)


def set_line(p: Any, prop: str) -> str:
    """What ``set`` prints once the camera took the value."""
    return printable(f"{p.name or prop} set to {with_unit(p.name, str(p.label))} ({hexv(p.value)})")


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
    print(json_safe(json.dumps(data, indent=2 if pretty else None, ensure_ascii=False, default=json_default)))


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
