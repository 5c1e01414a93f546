"""Text from a camera, made safe for a terminal.

A camera names its files, model, owner and property values itself, and a hostile one
can put ESC, BEL or a right-to-left override in them: printed raw they move the cursor,
retitle the window or hide the rest of the line. Every console client prints camera
strings through :func:`printable`, which shows such characters as escapes (``\\x1b``,
``\\u202e``) and leaves all other text, non-Latin scripts included, as it is.
"""

from __future__ import annotations

#: C0 controls, DEL, C1 controls, and the Unicode marks that reorder or hide text
#: (bidirectional embeddings, overrides and isolates, line and paragraph separators)
_MARKS = [0x061C, 0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_CONTROLS = [*range(0x00, 0x20), *range(0x7F, 0xA0)]


def _escape(c: int) -> str:
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


# translation tables rather than regular expressions: compiling those cost every ptpctl
# run half a millisecond of its start-up
_UNSAFE = {c: _escape(c) for c in _CONTROLS + _MARKS}


def printable(text: object) -> str:
    """``text`` as a string with every control or text-direction character escaped."""
    return str(text).translate(_UNSAFE)


#: what ``json.dumps`` leaves raw inside strings (it escapes C0 controls itself; the C0
#: characters left in its text are the layout's own newlines and spaces)
_UNSAFE_IN_JSON = {c: f"\\u{c:04x}" for c in [*range(0x7F, 0xA0), *_MARKS]}


def json_safe(dumped: str) -> str:
    """JSON text (``json.dumps(..., ensure_ascii=False)``) with the characters JSON leaves
    raw but a terminal obeys (DEL, C1 controls, direction marks) written as ``\\uXXXX``:
    they only ever stand inside strings, so the JSON means the same."""
    return dumped.translate(_UNSAFE_IN_JSON)


__all__ = ["json_safe", "printable"]
