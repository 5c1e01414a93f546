"""The options that say where the daemon is and how to reach it, shared by ptpview and
ptptrigger (ptpctl's group keeps its own, which it also reads from its config file)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])


def daemon_options(f: F) -> F:
    """``--command/--event/--liveview-endpoint`` and ``--curve-server/client-key``, each
    with its ``PTPD_*`` environment variable."""
    for decorator in reversed(
        (
            click.option("--command-endpoint", metavar="ENDPOINT", envvar="PTPD_COMMAND_ENDPOINT", help="The daemon's command socket."),
            click.option("--event-endpoint", metavar="ENDPOINT", envvar="PTPD_EVENT_ENDPOINT", help="The daemon's event socket."),
            click.option("--liveview-endpoint", metavar="ENDPOINT", envvar="PTPD_LIVEVIEW_ENDPOINT", help="The daemon's live-view socket."),
            click.option("--curve-server-key", metavar="FILE", envvar="PTPD_CURVE_SERVER_KEY",
                         help="CURVE: the daemon's public key (server.key from 'ptpd keys', or z85)."),
            click.option("--curve-client-key", metavar="FILE", envvar="PTPD_CURVE_CLIENT_KEY",
                         help="CURVE: this client's NAME.key_secret (or z85 secret key)."),
        )
    ):
        f = decorator(f)
    return f
