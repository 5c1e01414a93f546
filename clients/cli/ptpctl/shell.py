"""``ptpctl shell``: commands without the prefix, with readline history and completion."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ptpd_console.errors import Exit

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
        """Every completion of the last (possibly empty) word of ``line``, escaped as the
        shell reads it back (``PRO\\ Neg.\\ Hi``); the word may itself hold escapes."""
        words, start = split_words(line)
        if start == len(line):  # after a space (or nothing): a new, empty word
            words.append("")
        word = words[-1]
        if len(words) == 1:
            found = [c for c in self.commands() if c.startswith(word)]
        elif words[0] in _PROP_COMMANDS and len(words) == 2:
            found = [n for n in self.session.property_names() if n.startswith(word)]
        elif words[0] == "set" and len(words) == 3:
            found = [v for v in self.allowed(words[1]) if v.startswith(word)]
        elif words[0] == "help" and len(words) == 2:
            found = [c for c in self.commands() if c.startswith(word)]
        else:
            found = []
        return [escape(f) for f in found]

    def replacements(self, line: str, begidx: int) -> list[str]:
        """What readline puts in place of the text from ``begidx`` to the end of ``line``.

        Readline cuts words at every space, escaped or not, so after ``set effect PRO\\ N``
        it asks about ``N`` alone; the candidates complete the whole word
        ``PRO\\ N``, and readline gets each without the part before ``begidx``.
        """
        _, start = split_words(line)
        cut = max(0, begidx - start)
        return [c[cut:] for c in self.candidates(line)]

    def allowed(self, prop: str) -> list[str]:
        """The labels (or raw values) the camera allows for ``prop``, as they are."""
        if prop not in self._allowed:
            try:
                d = self.session.client.describe(prop, timeout=min(self.session.timeout, 2.0))
                self._allowed[prop] = [str(a.label) if a.label != "" else str(a.value) for a in d.allowed]
            except Exception:
                self._allowed[prop] = []
        return self._allowed[prop]

    def complete(self, text: str, state: int) -> str | None:
        import readline

        if state == 0:
            line = readline.get_line_buffer()[: readline.get_endidx()]
            self._matches = self.replacements(line, readline.get_begidx())
        return self._matches[state] if state < len(self._matches) else None


def escape(word: str) -> str:
    """A word as typed on the shell's line: spaces and backslashes escaped."""
    return word.replace("\\", "\\\\").replace(" ", "\\ ").replace("\t", "\\\t")


def split_words(line: str) -> tuple[list[str], int]:
    """The words of ``line`` with backslash escapes undone (``PRO\\ N`` is one word,
    ``PRO N``), and where the last word starts (``len(line)`` after a space)."""
    words: list[str] = []
    current: list[str] | None = None
    start = len(line)
    i = 0
    while i < len(line):
        ch = line[i]
        if ch in " \t":
            if current is not None:
                words.append("".join(current))
                current = None
            i += 1
            continue
        if current is None:
            current, start = [], i
        if ch == "\\" and i + 1 < len(line):
            current.append(line[i + 1])
            i += 2
            continue
        current.append(ch)
        i += 1
    if current is not None:
        words.append("".join(current))
    else:
        start = len(line)
    return words, start


def run_shell(group: click.Group, session: Session, *, stdin: Any = None) -> int:
    """Read lines until EOF or exit; run each as a ptpctl command on the same session.

    Returns the exit code: read from a pipe or a file, that of the first line that failed
    (a script of commands fails as its first failing command did; the lines after it
    still run), 130 at once on Ctrl-C; typed at a terminal, 0."""
    interactive = stdin is None and sys.stdin.isatty()
    failed = 0
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
                failed = failed or Exit.USAGE
                continue
            if args and args[0] == "shell":
                click.echo("ptpctl: error: already in the shell", err=True)
                failed = failed or Exit.USAGE
                continue
            # each line runs like 'ptpctl LINE', on this session; errors print one line
            code = group.main(args=args, prog_name="ptpctl", obj=session, standalone_mode=False)
            if code == Exit.INTERRUPTED and not interactive:
                return code
            failed = failed or code
    finally:
        if readline is not None:
            try:
                hist.parent.mkdir(parents=True, exist_ok=True)
                readline.write_history_file(hist)
            except OSError:
                pass
    return 0 if interactive else failed
