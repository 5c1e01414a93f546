"""``ptpctl shell``: commands without the prefix, with readline history and completion."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from .cli import Session

#: commands whose next word is a property name
_PROP_COMMANDS = {"get", "set", "describe"}


def history_path() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "ptpctl" / "history"


class Completer:
    """Completes the first word from the command names (and aliases), the second from
    property names after get/set/describe, and the third from the allowed values after
    ``set PROP``."""

    def __init__(self, group: click.Group, session: Session) -> None:
        self.group = group
        self.session = session
        self._allowed: dict[str, list[str]] = {}
        self._matches: list[str] = []

    def commands(self) -> list[str]:
        from .cli import ALIASES

        return sorted(set(self.group.list_commands(click.Context(self.group))) | set(ALIASES) | {"exit", "quit"})

    def candidates(self, line: str) -> list[str]:
        """Every completion of the last (possibly empty) word of ``line``."""
        words = line.split()
        if line.endswith(" ") or not words:
            words.append("")
        word = words[-1]
        if len(words) == 1:
            return [c for c in self.commands() if c.startswith(word)]
        if words[0] in _PROP_COMMANDS and len(words) == 2:
            return [n for n in self.session.property_names() if n.startswith(word)]
        if words[0] == "set" and len(words) == 3:
            return [v for v in self.allowed(words[1]) if v.startswith(word)]
        if words[0] == "help" and len(words) == 2:
            return [c for c in self.commands() if c.startswith(word)]
        return []

    def allowed(self, prop: str) -> list[str]:
        if prop not in self._allowed:
            try:
                d = self.session.client.describe(prop, timeout=min(self.session.timeout, 2.0))
                self._allowed[prop] = [str(a.label).replace(" ", "\\ ") if a.label != "" else str(a.value) for a in d.allowed]
            except Exception:
                self._allowed[prop] = []
        return self._allowed[prop]

    def complete(self, text: str, state: int) -> str | None:
        import readline

        if state == 0:
            self._matches = self.candidates(readline.get_line_buffer()[: readline.get_endidx()])
        return self._matches[state] if state < len(self._matches) else None


def run_shell(group: click.Group, session: Session, *, stdin: Any = None) -> None:
    """Read lines until EOF or exit; run each as a ptpctl command on the same session."""
    interactive = stdin is None and sys.stdin.isatty()
    hist = history_path()
    readline: Any = None
    if interactive:
        try:
            import readline as _readline

            readline = _readline
        except ImportError:  # pragma: no cover - no readline on this platform
            readline = None
    if readline is not None:
        completer = Completer(group, session)
        readline.set_completer(completer.complete)
        readline.set_completer_delims(" \t")
        readline.parse_and_bind("tab: complete")
        try:
            readline.read_history_file(hist)
        except OSError:
            pass
        readline.set_history_length(1000)
        click.echo("ptpctl shell: Tab completes, 'help' lists commands, Ctrl-D leaves.", err=True)
    src = stdin or sys.stdin
    try:
        while True:
            try:
                line = input("ptpctl> ") if interactive else src.readline()
            except EOFError:
                break
            except KeyboardInterrupt:
                click.echo("", err=True)
                continue
            if not interactive and line == "":
                break
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line in ("exit", "quit"):
                break
            try:
                args = shlex.split(line)
            except ValueError as exc:
                click.echo(f"ptpctl: error: {exc}", err=True)
                continue
            if args and args[0] == "shell":
                click.echo("ptpctl: error: already in the shell", err=True)
                continue
            # each line runs like 'ptpctl LINE', on this session; errors print one line
            group.main(args=args, prog_name="ptpctl", obj=session, standalone_mode=False)
    finally:
        if readline is not None:
            try:
                hist.parent.mkdir(parents=True, exist_ok=True)
                readline.write_history_file(hist)
            except OSError:
                pass
