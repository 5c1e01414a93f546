"""ptpctl: events: tail the event stream."""

from __future__ import annotations

import sys
from typing import Any

import click

from ptpd_client import ClientError, Event

from .. import output
from ..params import json_option, pass_session, want_json
from ..session import Session


@click.command(short_help="Print events as they happen.")
@click.argument("topics", nargs=-1)
@click.option("-n", "--count", type=click.IntRange(min=1), default=None, help="Stop after N events.")
@click.option(
    "--for", "duration", type=click.FloatRange(min=0), default=None, metavar="SECONDS", help="Stop after SECONDS."
)
@json_option
@pass_session
def events(session: Session, topics: tuple[str, ...], count: int | None, duration: float | None, as_json: bool) -> None:
    """Tail the daemon's event stream, optionally only topics starting with TOPIC
    (event., state., status., heartbeat, progress.). One line per event; --json gives
    one JSON object per line. Lost events (sequence gaps) are reported on stderr."""
    import json as _json
    import time

    session.client.ping()  # fail fast (exit 105) when nobody is there
    deadline = None if duration is None else time.monotonic() + duration
    n = 0
    with session.client.events(list(topics), snapshot=False) as stream:
        while count is None or n < count:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            try:
                ev = stream.get(remaining)
            except ClientError:  # the --for time ran out
                break
            if not isinstance(ev, Event):  # never a snapshot: the stream was opened without one
                continue
            if getattr(ev, "missed", 0):
                click.echo(f"ptpctl: warning: {ev.missed} event(s) lost before seq {ev.seq}", err=True)
            data = {k: v for k, v in ev.data.items() if k not in ("seq", "t")}
            if want_json(session, as_json):
                click.echo(
                    _json.dumps(
                        {"topic": ev.topic, "seq": ev.seq, "t": ev.data.get("t"), "data": data},
                        default=output.json_default,
                    )
                )
            else:
                stamp = time.strftime("%H:%M:%S", time.localtime(ev.data.get("t") or ev.received))
                fields = " ".join(f"{k}={_short(v)}" for k, v in data.items())
                click.echo(output.printable(f"{stamp}  {ev.seq!s:>6}  {ev.topic:<24} {fields}".rstrip()))
            sys.stdout.flush()
            n += 1


def _short(v: Any) -> str:
    if isinstance(v, (bytes, bytearray)):
        return f"<{len(v)} bytes>"
    if isinstance(v, dict):
        return "{" + ",".join(f"{k}:{_short(x)}" for k, x in v.items()) + "}"
    text = str(v)
    return repr(text) if " " in text else text
