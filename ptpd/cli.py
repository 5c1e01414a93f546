"""``ptpd``: the daemon's command line (``ptpd run``, ``ptpd simulate``).

Subcommands are imported only when run, so ``ptpd --help`` stays fast and one broken
subcommand cannot take the others down.
"""

from __future__ import annotations

import importlib

import click

from ptpd import __version__
from ptpd.extras import MissingExtra

#: subcommand -> "module:attribute" of its click command
SUBCOMMANDS = {
    "run": ("ptpd.daemon.cli:run", "Run the daemon for one camera (or an embedded simulated one)."),
    "simulate": ("ptpd.simulator.cli:simulate", "Serve a simulated camera over real PTP/IP sockets."),
    "keys": ("ptpd.daemon.cli:keys", "Make a CURVE key pair (for TCP beyond loopback)."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(name)
        if target is None:
            return None
        module, _, attr = target[0].partition(":")
        return getattr(importlib.import_module(module), attr)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except MissingExtra as exc:  # one line naming the extra, not a traceback
            raise click.ClickException(str(exc)) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, SUBCOMMANDS[name][1]) for name in sorted(SUBCOMMANDS)])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ptpd")
def main() -> None:
    """ptpd holds a camera's PTP/IP session and serves it to any number of clients."""
