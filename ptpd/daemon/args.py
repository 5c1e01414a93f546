"""Request arguments, checked against the command's :class:`ptpd.bus.Arg` list before
anything runs: ``bad_request`` names the argument that is off."""

from __future__ import annotations

from typing import Any

from ptpd import bus
from ptpd.bus import BusError, ErrorCode

U32_MAX = 0xFFFFFFFF


def _check_type(arg: bus.Arg, value: Any) -> Any:
    t = arg.type
    ok: bool
    if t == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        if not ok and isinstance(value, str):
            try:
                return int(value, 0)
            except ValueError:
                ok = False
    elif t == "float":  # an int is a float too (msgpack keeps 2.0 apart from 2)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
        if ok:
            return float(value)
    elif t == "bool":
        ok = isinstance(value, bool)
    elif t == "str":
        ok = isinstance(value, str)
    elif t == "bytes":
        ok = isinstance(value, (bytes, bytearray))
    elif t in ("prop", "value"):
        ok = (isinstance(value, (str, int)) and not isinstance(value, bool)) or (
            t == "value" and isinstance(value, float)
        )
        if ok and isinstance(value, str) and not value.strip():
            ok = False
    elif t == "list[int]":
        ok = isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    elif t == "map":
        ok = isinstance(value, dict)
    elif t == "id":  # a request id, as the envelope takes it
        ok = isinstance(value, (int, str)) and not isinstance(value, bool)
    else:
        ok = True
    if not ok:
        raise BusError(ErrorCode.BAD_REQUEST, f"argument {arg.name!r} must be {t}, not {type(value).__name__}")
    return value


def check_args(cmd: bus.Command, args: dict[str, Any]) -> dict[str, Any]:
    """Validated arguments with defaults filled in; ``bad_request`` on anything off."""
    known = {a.name: a for a in cmd.args}
    extra = set(args) - set(known)
    if extra:
        names = sorted(str(x)[:32] for x in list(extra)[:5])  # never echo a huge request back
        more = f" and {len(extra) - 5} more" if len(extra) > 5 else ""
        raise BusError(ErrorCode.BAD_REQUEST, f"{cmd.name}: unknown argument(s) {', '.join(names)}{more}")
    out: dict[str, Any] = {}
    for a in cmd.args:
        if a.name in args and args[a.name] is not None:
            out[a.name] = _check_type(a, args[a.name])
        elif a.required:
            raise BusError(ErrorCode.BAD_REQUEST, f"{cmd.name}: argument {a.name!r} is required")
        else:
            out[a.name] = a.default
    return out


def parse_prop(value: str | int) -> str | int:
    """Names stay names; ``"0x500F"``/``"500f"`` stay strings the camera resolves; ints stay ints."""
    return value.strip() if isinstance(value, str) else value


def handle_arg(a: dict[str, Any]) -> int:
    """The ``handle`` argument, refused here when it cannot be a PTP object handle (u32):
    encoding it would fail inside the camera layer, which takes that for a broken link."""
    handle = a["handle"]
    if not 0 <= handle <= U32_MAX:
        raise BusError(ErrorCode.BAD_REQUEST, "handle must be 0..0xFFFFFFFF")
    return int(handle)
