"""ptpctl: lock, unlock: the camera's control lease."""

from __future__ import annotations

import os

import click

from ptpd import bus
from ptpd_console.errors import CliError, Exit

from .. import output
from ..params import json_option, pass_session, want_json
from ..session import Session

#: seconds a lease taken by hand lasts after its last use (a person thinks between commands)
BY_HAND_TTL = 600.0
#: seconds a lease held for a command lasts without renewal (ptpctl renews it while it waits)
FOR_COMMAND_TTL = 30.0


def _holder() -> str:
    # imported here, as subprocess below: every ptpctl command pays for what is imported at the top
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except Exception:  # no user name to be had (a container without passwd entry)
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()} (ptpctl lock)"


@click.command(
    "lock",
    short_help="Hold the camera's settings and shutter (the control lease).",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option(
    "--ttl",
    type=click.FloatRange(1, 86400),
    default=None,
    metavar="SECONDS",
    help=f"How long the lease lasts after its last use [default: {BY_HAND_TTL:g}; {FOR_COMMAND_TTL:g}, renewed, "
    "with a COMMAND].",
)
@click.option("--name", "holder", metavar="NAME", help="Who holds it, as others are told [default: USER@HOST].")
@click.argument("command", nargs=-1, type=click.UNPROCESSED, metavar="[-- COMMAND [ARGS]...]")
@json_option
@pass_session
@click.pass_context
def lock(
    ctx: click.Context, session: Session, ttl: float | None, holder: str | None, command: tuple[str, ...], as_json: bool
) -> None:
    """Take the camera's control lease: while you hold it, other clients read, watch and
    download, but their set and capture are refused (locked), naming you. Jobs take it
    too: locking fails while a job that changes settings runs.

    \b
    Without COMMAND it prints the lease's token; your commands hold the lease when they
    carry it in PTPD_LEASE, and each of them renews it:
      export PTPD_LEASE=$(ptpctl lock)
      ptpctl set iso 800; ptpctl capture 3 -o shots
      ptpctl unlock
    It runs out --ttl seconds after its last use.

    \b
    With -- COMMAND, it holds the lease while COMMAND runs (PTPD_LEASE set for it),
    renewing it, releases it at the end and exits with COMMAND's exit code:
      ptpctl lock -- sh -c 'ptpctl set exp-bias -1 && ptpctl capture -o hdr'
    """
    name = holder or _holder()
    client = session.client
    if not command:
        lease = client.lock(name, ttl or BY_HAND_TTL, renew=False)
        if want_json(session, as_json):
            output.emit_json(lease.to_dict())
            return
        click.echo(lease.lease)
        click.echo(
            f"locked by {lease.holder} until {lease.ttl:g} s after its last use; commands hold it with "
            f"PTPD_LEASE={lease.lease} ('ptpctl unlock' releases it)",
            err=True,
        )
        return
    lease = client.lock(name, ttl or FOR_COMMAND_TTL, renew=True)
    env = {**os.environ, **session.environment(), bus.ENV_LEASE: lease.lease}
    import subprocess

    try:
        code = subprocess.call(list(command), env=env)
    except OSError as exc:
        raise CliError(f"lock: cannot run {command[0]}: {exc.strerror or exc}", Exit.USAGE) from None
    finally:
        client.unlock()
    if code:
        ctx.exit(code)


@click.command("unlock", short_help="Release the control lease.")
@click.option("--force", is_flag=True, help="Release it whoever holds it (a job's: stop the job).")
@json_option
@pass_session
def unlock(session: Session, force: bool, as_json: bool) -> None:
    """Release the camera's control lease held by this shell (its PTPD_LEASE), or with
    --force whoever holds it."""
    client = session.client
    released = client.unlock(force=force)
    if want_json(session, as_json):
        output.emit_json({"released": released})
        return
    if released:
        click.echo("released the control lease")
        return
    held = client.status().lease
    if held is None:
        click.echo("nothing to release: the camera is not locked")
        return
    raise CliError(
        f"the camera is locked by {held.get('holder')}, not by this shell (PTPD_LEASE); --force releases it",
        Exit.REFUSED,
    )
