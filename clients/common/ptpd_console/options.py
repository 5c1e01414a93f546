"""The options that say where the daemon is and how to reach it, and the client they name:
the same options, with the same ``PTPD_*`` environment variables, in every console client."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from ptpd import bus
from ptpd_client import Client, ClientError

from .errors import from_client_error

F = TypeVar("F", bound=Callable[..., object])


def open_client(
    command_endpoint: str | None,
    event_endpoint: str | None,
    liveview_endpoint: str | None,
    timeout: float,
    curve_server_key: str | None,
    curve_client_key: str | None,
) -> Client:
    """The client the options of :func:`daemon_options` name. Bad CURVE keys are refused
    here, before any socket, as one CLI error line."""
    try:
        return Client(
            command_endpoint,
            event_endpoint,
            liveview_endpoint,
            timeout=timeout,
            curve_server_key=curve_server_key,
            curve_client_key=curve_client_key,
        )
    except ClientError as exc:
        raise from_client_error(exc) from None


def daemon_options(f: F) -> F:
    """``--command/--event/--liveview-endpoint`` and ``--curve-server/client-key``, each
    with its ``PTPD_*`` environment variable."""
    for decorator in reversed(
        (
            click.option(
                "--command-endpoint",
                metavar="ENDPOINT",
                envvar=bus.ENV_COMMAND,
                help="The daemon's command socket (default: ipc:// in the runtime dir; env PTPD_COMMAND_ENDPOINT).",
            ),
            click.option(
                "--event-endpoint",
                metavar="ENDPOINT",
                envvar=bus.ENV_EVENT,
                help="The daemon's event socket (default: asked from the daemon; env PTPD_EVENT_ENDPOINT).",
            ),
            click.option(
                "--liveview-endpoint",
                metavar="ENDPOINT",
                envvar=bus.ENV_LIVEVIEW,
                help="The daemon's live-view socket (default: asked from the daemon; env PTPD_LIVEVIEW_ENDPOINT).",
            ),
            click.option(
                "--curve-server-key",
                metavar="FILE",
                envvar=bus.ENV_CURVE_SERVER_KEY,
                help="CURVE: the daemon's public key (server.key from 'ptpd keys', or z85); env PTPD_CURVE_SERVER_KEY.",
            ),
            click.option(
                "--curve-client-key",
                metavar="FILE",
                envvar=bus.ENV_CURVE_CLIENT_KEY,
                help="CURVE: this client's NAME.key_secret (or z85 secret key); env PTPD_CURVE_CLIENT_KEY.",
            ),
        )
    ):
        f = decorator(f)
    return f
