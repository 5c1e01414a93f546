"""ptpctl: settings and facts: info, state, get, set, describe, status."""

from __future__ import annotations

from typing import Any

import click

from .. import output
from ..params import PROP, json_option, pass_session, want_json
from ..session import Session


def _lease_line(lease: dict[str, Any] | None) -> str:
    """Who holds the control lease: ``locked by alice, 540 s left if unused``."""
    if not lease:
        return "free"
    left = lease.get("expires_in")
    return f"locked by {lease.get('holder')}" + (f", {left:.0f} s left if unused" if left is not None else "")


def _prop_row(p: Any) -> list[str]:
    return [
        p.name,
        output.with_unit(p.name, str(p.label)),
        output.hexv(p.value),
        f"0x{p.code:04X}" if isinstance(p.code, int) else str(p.code),
    ]


@click.command(short_help="Camera model, firmware, operations and properties.")
@json_option
@pass_session
def info(session: Session, as_json: bool) -> None:
    """Show who the camera is: vendor, model, firmware, and what it offers."""
    i = session.client.info()
    if want_json(session, as_json):
        output.emit_json(i.to_dict())
        return
    rows = [("Vendor", i.vendor), ("Manufacturer", i.manufacturer), ("Model", i.model), ("Firmware", i.version)]
    if i.serial:
        rows.append(("Serial", i.serial))
    rows.append(("Operations", f"{len(i.operations)} supported"))
    rows.append(("Properties", f"{len(i.properties)} supported"))
    for k, v in sorted((i.extra or {}).items()):
        title = str(k).replace("_", " ").capitalize()
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            rows.append((title, f"{len(v)} entries (see --json)"))
        elif isinstance(v, (list, tuple)):
            rows.append((title, ", ".join(map(str, v))))
        elif isinstance(v, dict):
            rows.append((title, ", ".join(f"{a}={b}" for a, b in v.items())))
        else:
            rows.append((title, v))
    output.pairs(rows)
    if i.properties:
        codes = [output.hexv(c) if isinstance(c, int) else str(c) for c in i.properties]
        click.echo()
        click.echo("Property codes: " + " ".join(codes))


@click.command(short_help="The camera's current settings.")
@json_option
@pass_session
def state(session: Session, as_json: bool) -> None:
    """Show the camera's settings summary as a table (Fuji: the 0xD212 list)."""
    props = session.client.state()
    if want_json(session, as_json):
        output.emit_json([p.to_dict() for p in props])
        return
    output.table([_prop_row(p) for p in props], ["Property", "Value", "Raw", "Code"])


@click.command(short_help="A property's current value.")
@click.argument("prop", type=PROP)
@json_option
@pass_session
def get(session: Session, prop: str, as_json: bool) -> None:
    """Print PROP's value as "label (raw hex)", e.g. "800 (0x320)"."""
    p = session.client.get(prop)
    if want_json(session, as_json):
        output.emit_json(p.to_dict())
        return
    click.echo(output.value_line(p))


# A value such as "-1/3" or "-2" looks like an option to click: take it as the value.
@click.command("set", short_help="Set a property.", context_settings={"ignore_unknown_options": True})
@click.argument("prop", type=PROP)
@click.argument("value")
@json_option
@pass_session
def set_(session: Session, prop: str, value: str, as_json: bool) -> None:
    """Set PROP to VALUE: a human label ("800", "1/250", "+2/3", "Velvia") or raw hex
    ("0x320"). Which properties are writable depends on the camera's exposure mode."""
    p = session.client.set(prop, value)
    if want_json(session, as_json):
        output.emit_json(p.to_dict())
        return
    click.echo(output.set_line(p, prop))


@click.command(short_help="A property's type, access and allowed values.")
@click.argument("prop", type=PROP)
@json_option
@pass_session
def describe(session: Session, prop: str, as_json: bool) -> None:
    """Describe PROP: datatype, access, current and default value, allowed values."""
    d = session.client.describe(prop)
    if want_json(session, as_json):
        output.emit_json(d.to_dict())
        return
    rows: list[tuple[str, Any]] = [
        ("Property", f"{d.name} (0x{d.code:04X})" if isinstance(d.code, int) else d.name),
        ("Datatype", f"{d.datatype_name} ({d.datatype})" if d.datatype_name else d.datatype),
        ("Access", "read/write" if d.writable else "read only"),
        ("Current", f"{output.with_unit(d.name, str(d.current.label))} ({output.hexv(d.current.value)})"),
    ]
    if d.default is not None:
        rows.append(("Default", f"{output.with_unit(d.name, str(d.default.label))} ({output.hexv(d.default.value)})"))
    rows.append(("Form", d.form))
    if d.range:
        lo, hi, step = (list(d.range) + [None, None, None])[:3]
        rows.append(("Range", f"{output.hexv(lo)} .. {output.hexv(hi)}, step {output.hexv(step)}"))
    output.pairs(rows)
    if d.allowed:
        click.echo()
        output.table(
            [
                (
                    "*" if a.value == d.current.value else "",
                    output.with_unit(d.name, str(a.label)),
                    output.hexv(a.value),
                )
                for a in d.allowed
            ],
            ["", "Allowed", "Raw"],
        )


@click.command(short_help="Daemon and camera connection status.")
@json_option
@pass_session
def status(session: Session, as_json: bool) -> None:
    """Show the daemon's view: connection state, camera, queue, subscribers, live view."""
    s = session.client.status()
    if want_json(session, as_json):
        output.emit_json(s.to_dict() | {k: v for k, v in s.raw.items() if k not in s.to_dict()})
        return
    lv = s.liveview
    rows = [
        ("Connection", s.connection + (f" ({s.raw['detail']})" if s.raw.get("detail") else "")),
        ("Vendor", s.vendor),
        ("Model", s.model or "-"),
        ("Queue", f"{s.queue} request(s)"),
        ("Subscribers", f"{s.subscribers}"),
        ("Live view", f"{'on' if lv.on else 'off'}, {lv.fps:.1f} fps, {lv.subscribers} watching"),
        ("Lock", _lease_line(s.lease)),
        ("Jobs", f"{s.jobs} running"),
        ("Uptime", f"{s.uptime:.1f} s"),
        ("Event seq", s.seq),
        ("Endpoint", session.client.command_endpoint),
    ]
    output.pairs(rows)
