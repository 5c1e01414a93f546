"""The layers' import rules and module sizes, read from the source (ast, so an import
inside a function counts as much as one at the top)."""

from __future__ import annotations

import ast
from pathlib import Path

PTPD = Path(__file__).resolve().parent.parent / "ptpd"


def imports(path: Path) -> list[str]:
    """Every module ``path`` imports, at any depth (``from ptpd.camera import X`` -> ``ptpd.camera``)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append(node.module)
    return out


def test_the_daemon_reaches_the_camera_only_through_the_camera_layer() -> None:
    # ptpd.camera (the package, not its modules), the bus, the simulator's seam, the note
    # of which extra a feature needs (ptpd.extras: --simulate), itself; and ptpd.ptpip_ini,
    # the ptp-ip tool's config file (stdlib only), which ptpctl reads too
    allowed = {"ptpd", "ptpd.bus", "ptpd.camera", "ptpd.extras", "ptpd.simulator", "ptpd.ptpip_ini"}
    found = [
        f"{path.name}: {name}"
        for path in sorted((PTPD / "daemon").rglob("*.py"))
        for name in imports(path)
        if name.split(".")[0] == "ptpd" and name not in allowed and not name.startswith("ptpd.daemon")
    ]
    assert found == []


def test_no_daemon_module_imports_the_server() -> None:
    # handlers see the daemon through ptpd.daemon.context; only the entry point starts it
    found = [
        p.name
        for p in sorted((PTPD / "daemon").rglob("*.py"))
        if p.name != "cli.py" and "ptpd.daemon.server" in imports(p)
    ]
    assert found == []


def test_the_camera_layer_imports_no_layer_above_it() -> None:
    above = ("ptpd.daemon", "ptpd.simulator", "ptpd.bus")
    found = [
        f"{p.name}: {n}" for p in sorted((PTPD / "camera").glob("*.py")) for n in imports(p) if n.startswith(above)
    ]
    assert found == []


#: the vendors: each has a dialect folder (``ptpd/fuji``) and a simulated body's folder
#: (``ptpd/simulator/fuji``); the generic (standard PTP) camera and simulator are the base
#: every vendor stands on, not a vendor
VENDORS = sorted(p.name for p in PTPD.iterdir() if p.is_dir() and (PTPD / "simulator" / p.name).is_dir())


def vendor_of(module: str) -> str | None:
    """The vendor a module (dotted name) belongs to: its dialect (``ptpd.fuji.*``), its
    camera class (``ptpd.camera.fuji``, ``ptpd.camera.fuji_capture``) or its simulated
    body (``ptpd.simulator.fuji.*``); None for the vendor-neutral modules."""
    parts = module.split(".")
    for v in VENDORS:
        if parts[:2] == ["ptpd", v] or parts[:3] == ["ptpd", "simulator", v]:
            return v
        if parts[:2] == ["ptpd", "camera"] and len(parts) > 2 and (parts[2] == v or parts[2].startswith(f"{v}_")):
            return v
    return None


def named_imports(path: Path) -> list[str]:
    """Every module ``path`` imports and every name it takes from one
    (``from ptpd.camera import fuji`` -> ``ptpd.camera``, ``ptpd.camera.fuji``)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out += [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
    return out


def test_no_vendor_module_imports_another_vendors() -> None:
    # what two vendors share (a live-view frame cache, reading a JPEG's size) lives in a
    # vendor-neutral module that both import
    assert len(VENDORS) >= 2, VENDORS
    found = []
    for path in sorted(PTPD.rglob("*.py")):
        module = ".".join(path.relative_to(PTPD.parent).with_suffix("").parts).removesuffix(".__init__")
        mine = vendor_of(module)
        if mine is None:
            continue
        found += [f"{module}: {name}" for name in named_imports(path) if vendor_of(name) not in (None, mine)]
    assert found == []


def test_daemon_and_camera_modules_stay_under_700_lines() -> None:
    sizes = {
        p.relative_to(PTPD).as_posix(): len(p.read_text().splitlines())
        for folder in ("daemon", "camera")
        for p in (PTPD / folder).glob("*.py")
    }
    assert sizes and {name: n for name, n in sizes.items() if n > 700} == {}


def test_protocol_and_dialect_modules_stay_under_700_lines() -> None:
    sizes = {
        p.relative_to(PTPD).as_posix(): len(p.read_text().splitlines())
        for folder in ("protocol", "fuji", "canon")
        for p in (PTPD / folder).glob("*.py")
    }
    assert sizes and {name: n for name, n in sizes.items() if n > 700} == {}


#: The modules of the two dialects that do I/O: the asyncio side both share, the
#: standard initiator, Fuji's link and its live-view stream. Everything else in these
#: folders is sans-I/O.
ASYNCIO_MODULES = {
    "protocol/adapter.py",
    "protocol/queues.py",
    "protocol/initiator.py",
    "fuji/link.py",
    "fuji/liveview.py",
}


def test_the_sans_io_modules_do_no_io() -> None:
    # no sockets, asyncio, logging, threads or clocks (time is passed in)
    io = {"asyncio", "socket", "selectors", "logging", "threading", "time"}
    found = [
        f"{name}: {mod}"
        for folder in ("protocol", "fuji", "canon")
        for p in sorted((PTPD / folder).glob("*.py"))
        if (name := p.relative_to(PTPD).as_posix()) not in ASYNCIO_MODULES
        for mod in imports(p)
        if mod.split(".")[0] in io
    ]
    assert found == []


def test_both_dialects_stand_on_one_sans_io_base() -> None:
    from ptpd.fuji import connection as fuji
    from ptpd.fuji import events as fuji_events
    from ptpd.protocol import connection as standard
    from ptpd.protocol import events as standard_events
    from ptpd.protocol import sansio

    for cls in (
        standard.InitiatorConnection,
        standard.ResponderConnection,
        fuji.FujiInitiatorConnection,
        fuji.FujiResponderConnection,
        fuji.FujiEventChannel,
    ):
        assert issubclass(cls, sansio.SansIOConnection), cls
    for events in (standard_events, fuji_events):
        assert events.NEED_DATA is sansio.NEED_DATA and events.ConnectionEvent is sansio.ConnectionEvent
