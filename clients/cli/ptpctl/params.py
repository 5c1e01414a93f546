"""What ptpctl's commands share on the click side: the session decorator, ``--json``, and
the parameter types for handles, hex numbers and property names."""

from __future__ import annotations

from typing import Any

import click

from .session import UNIFIED_NAMES, Session

__all__ = ["PRETTY_META", "PROP", "HexParam", "IntParam", "PropParam", "json_option", "pass_session", "want_json"]

pass_session = click.make_pass_decorator(Session)

#: where ``--pretty`` leaves its mark for :func:`ptpctl.output.emit_json` (shared by the
#: contexts of one command line, new for each line of the shell)
PRETTY_META = "ptpctl.pretty"


def _mark_pretty(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[PRETTY_META] = True


def json_option(f: Any) -> Any:
    """``--json`` (indented on a terminal, one line in a pipe) and the hidden ``--pretty``
    that indents it always (the ptp-ip tool's ``json pretty``, see :mod:`ptpctl.compat`)."""
    f = click.option(
        "--pretty",
        is_flag=True,
        hidden=True,
        expose_value=False,
        callback=_mark_pretty,
        help="Indent the JSON even in a pipe.",
    )(f)
    return click.option("--json", "as_json", is_flag=True, help="Print JSON (indented on a terminal).")(f)


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
