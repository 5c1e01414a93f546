"""The asyncio client's command methods are typed as awaited (``_AwaitedCommands`` in
``ptpd_client/_async.py``, read only by type checkers); their parameters must stay those of
the shared :class:`~ptpd_client._commands.CommandMethods` that run at run time."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import ptpd_client._async
from ptpd_client._commands import CommandMethods


def _awaited_commands() -> dict[str, ast.AsyncFunctionDef]:
    tree = ast.parse(Path(ptpd_client._async.__file__).read_text())
    (cls,) = (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "_AwaitedCommands")
    return {f.name: f for f in cls.body if isinstance(f, ast.AsyncFunctionDef)}


def _parameters(f: ast.AsyncFunctionDef) -> list[tuple[str, str, str]]:
    """(name, kind, annotation) of each parameter."""

    def note(p: ast.arg) -> str:
        return ast.unparse(p.annotation) if p.annotation is not None else ""

    a = f.args
    return [(p.arg, "positional", note(p)) for p in a.args] + [(p.arg, "keyword", note(p)) for p in a.kwonlyargs]


def test_the_awaited_commands_are_the_command_methods() -> None:
    declared = _awaited_commands()
    shared = {
        name: fn
        for name, fn in vars(CommandMethods).items()
        if inspect.isfunction(fn) and not name.startswith("_") and name != "request"
    }
    assert sorted(declared) == sorted(shared)
    kinds: dict[object, str] = {
        inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional",
        inspect.Parameter.KEYWORD_ONLY: "keyword",
    }
    for name, fn in shared.items():
        sig = inspect.signature(fn)  # annotations are strings (postponed evaluation)
        expected = [
            (p.name, kinds[p.kind], "" if p.annotation is p.empty else p.annotation) for p in sig.parameters.values()
        ]
        assert _parameters(declared[name]) == expected, name
        returns = declared[name].returns
        assert returns is not None and ast.unparse(returns) == sig.return_annotation, name
