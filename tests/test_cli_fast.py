"""ptpctl's start-up: a command's module is imported only when that command runs."""

from __future__ import annotations

import subprocess
import sys


def test_command_table_names_each_command_and_loads_only_what_is_asked() -> None:
    """ptpctl imports a command's module when the command is asked for: the table names
    each command under its own name, and ``get`` loads neither capture, jobs nor the lease."""
    code = (
        "import sys, click; from ptpctl.cli import COMMANDS, cli\n"
        "ctx = click.Context(cli)\n"
        "cli.get_command(ctx, 'get')\n"
        "print(sorted(m for m in sys.modules if m.startswith('ptpctl.commands.')))\n"
        "for name in COMMANDS:\n"
        "    assert cli.get_command(ctx, name).name == name, name\n"
        "assert cli.get_command(ctx, 'snap').name == 'capture' and cli.get_command(ctx, 'nope') is None\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    loaded, ok = r.stdout.splitlines()
    assert loaded == "['ptpctl.commands.props']" and ok == "ok", r.stdout
