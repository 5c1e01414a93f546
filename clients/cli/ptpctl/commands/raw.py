"""ptpctl: opreq: raw PTP operations with a hexdump -C of the answer."""

from __future__ import annotations

import click

from .. import output
from ..params import HexParam, json_option, pass_session, want_json
from ..session import Session


@click.command(short_help="Run a raw PTP operation and hex-dump the answer.")
@click.argument("op", type=HexParam(16))
@click.argument("params", type=HexParam(32), nargs=-1)
@click.option("--data", "data_hex", metavar="HEX", help="Bytes to send in a data-out phase (hex).")
@json_option
@pass_session
def opreq(session: Session, op: int, params: tuple[int, ...], data_hex: str | None, as_json: bool) -> None:
    """Run operation OP with up to 5 PARAMs (all hex, 0x optional) and print the response
    code, its parameters and a hexdump -C of the data that came back. A non-OK response
    is printed, not an error: this is for reverse engineering."""
    if len(params) > 5:
        raise click.BadParameter("at most 5 parameters", param_hint="PARAM")
    data = None
    if data_hex is not None:
        try:
            data = bytes.fromhex(data_hex.replace("0x", "").replace(" ", ""))
        except ValueError:
            raise click.BadParameter(f"{data_hex!r} is not hex", param_hint="--data") from None
    r = session.client.opreq(op, params, data)
    if want_json(session, as_json):
        output.emit_json(r.to_dict())
        return
    click.echo(f"Response 0x{r.code:04X} {r.code_name}".rstrip())
    if r.params:
        click.echo("Params   " + " ".join(f"0x{p:08X}" for p in r.params))
    click.echo(f"Received {len(r.data)} bytes of data{':' if r.data else '.'}")
    if r.data:
        click.echo(output.hexdump(bytes(r.data)))
