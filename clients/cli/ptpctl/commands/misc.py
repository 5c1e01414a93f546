"""ptpctl: liveview, help, shell."""

from __future__ import annotations

import os
import sys

import click

from ..params import pass_session
from ..session import Session


@click.command(short_help="Open the live view window (ptpview).")
@click.option("--no-overlay", is_flag=True, help="Show bare frames without the viewfinder overlay ('novf' works too).")
@click.option("--snapshot", "snapshot_path", metavar="FILE", help="No window: save one frame (PNG or JPEG) and exit.")
@click.option("--http", "http_addr", metavar="[HOST:]PORT", help="No window: serve the live view to browsers (MJPEG).")
@pass_session
@click.pass_context
def liveview(
    ctx: click.Context, session: Session, no_overlay: bool, snapshot_path: str | None, http_addr: str | None
) -> None:
    """Open the live view in a window with the viewfinder overlay (space captures, q
    quits): ptpview, run as a process of its own on the same daemon. Without a display,
    --snapshot FILE saves one frame and --http [HOST:]PORT serves it to a browser."""
    import subprocess

    session.client.ping()  # no daemon: ptpctl's exit 105, before a window program starts
    args = [sys.executable, "-m", "ptpview", "--timeout", f"{max(session.timeout, 0.1):g}"]
    if no_overlay:
        args.append("--no-overlay")
    if snapshot_path:
        args += ["--snapshot", snapshot_path]
    if http_addr:
        args += ["--http", http_addr]
    if session.verbose:
        args.append("-" + "v" * session.verbose)
    import signal

    # Ctrl-C reaches ptpview too (one process group): it stops and says so in its line;
    # this process waits for it rather than add a second line
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        code = subprocess.call(args, env=os.environ | session.environment())
    finally:
        signal.signal(signal.SIGINT, previous)
    if code:
        ctx.exit(code)  # ptpview has said why, in its one line on stderr


@click.command("help", short_help="Help on a command.")
@click.argument("command", required=False)
@click.pass_context
def help_(ctx: click.Context, command: str | None) -> None:
    """Show the help of COMMAND (aliases work), or of ptpctl."""
    parent = ctx.parent
    assert parent is not None
    group = parent.command
    if not command:
        click.echo(group.get_help(parent))
        return
    assert isinstance(group, click.Group)
    cmd = group.get_command(parent, command)
    if cmd is None:
        raise click.UsageError(f"no such command {command!r}; commands: {', '.join(group.list_commands(parent))}")
    sub = click.Context(cmd, info_name=cmd.name, parent=parent)
    click.echo(cmd.get_help(sub))


@click.command(short_help="An interactive shell with history and completion.")
@pass_session
@click.pass_context
def shell(ctx: click.Context, session: Session) -> None:
    """Type commands without the 'ptpctl' prefix (Tab completes commands and property
    names; history is kept). 'exit', 'quit' or Ctrl-D leaves."""
    from ..shell import run_shell

    root = ctx.find_root().command
    assert isinstance(root, click.Group)
    code = run_shell(root, session)
    if code:
        ctx.exit(code)  # each failure has had its own line
