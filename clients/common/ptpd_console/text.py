"""Text from a camera, made safe for a terminal.

A camera names its files, model, owner and property values itself, and a hostile one
can put ESC, BEL or a right-to-left override in them: printed raw they move the cursor,
retitle the window or hide the rest of the line. Every console client prints camera
strings through :func:`printable`, which shows such characters as escapes (``\\x1b``,
``\\u202e``) and leaves all other text, non-Latin scripts included, as it is.
"""

from __future__ import annotations

import re

#: C0 controls, DEL, C1 controls, and the Unicode marks that reorder or hide text
#: (bidirectional embeddings, overrides and isolates, line and paragraph separators)
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def printable(text: object) -> str:
    """``text`` as a string with every control or text-direction character escaped."""
    return _UNSAFE.sub(_escape, str(text))


#: what ``json.dumps`` leaves raw inside strings (it escapes C0 controls itself; the C0
#: characters left in its text are the layout's own newlines and spaces)
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def json_safe(dumped: str) -> str:
    """JSON text (``json.dumps(..., ensure_ascii=False)``) with the characters JSON leaves
    raw but a terminal obeys (DEL, C1 controls, direction marks) written as ``\\uXXXX``:
    they only ever stand inside strings, so the JSON means the same."""
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)


__all__ = ["json_safe", "printable"]
