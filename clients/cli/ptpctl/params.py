"""What ptpctl's commands share on the click side: the session decorator, ``--json``, and
the parameter types for handles, hex numbers and property names."""

from __future__ import annotations

from typing import Any

import click

from .session import UNIFIED_NAMES, Session

__all__ = ["PROP", "HexParam", "IntParam", "PropParam", "json_option", "pass_session", "want_json"]

pass_session = click.make_pass_decorator(Session)

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON (indented on a terminal).")


def want_json(session: Session, flag: bool) -> bool:
    """JSON output: asked for on the command or on the group."""
    return flag or session.json


class IntParam(click.ParamType):
    """An integer in decimal or hex (``0x``), e.g. an object handle."""

    name = "INT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return int(str(value), 0)
        except ValueError:
            self.fail(f"{value!r} is not an integer (decimal or 0x hex)", param, ctx)


class HexParam(click.ParamType):
    """A hex number, ``0x`` optional (as the ptp-ip tool reads opcodes and params)."""

    name = "HEX"

    def __init__(self, bits: int) -> None:
        self.bits = bits

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().lower()
        try:
            n = int(text[2:] if text.startswith("0x") else text, 16)
        except ValueError:
            self.fail(f"{value!r} is not a hex number", param, ctx)
        if not 0 <= n < (1 << self.bits):
            self.fail(f"{value!r} does not fit in {self.bits} bits", param, ctx)
        return n


class PropParam(click.ParamType):
    """A property name or hex code; completes from the daemon's property names."""

    name = "PROP"

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        session = ctx.find_object(Session)
        names = session.property_names() if session else UNIFIED_NAMES
        return [CompletionItem(n) for n in names if n.startswith(incomplete)]


PROP = PropParam()
