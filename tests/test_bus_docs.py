"""docs/bus.md documents every command, argument, error code and topic of ptpd.bus."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT
from ptpd import bus

DOC = (ROOT / "docs" / "bus.md").read_text()


def section(cmd: str) -> str:
    """The text under ``### `cmd` `` up to the next heading."""
    m = re.search(rf"^### `{re.escape(cmd)}`.*?$(.*?)(?=^#)", DOC + "\n#", re.S | re.M)
    assert m, f"docs/bus.md has no '### `{cmd}`' section"
    return m.group(1)


@pytest.mark.parametrize("name", sorted(bus.COMMANDS))
def test_every_command_is_documented_with_its_arguments(name: str) -> None:
    cmd = bus.COMMANDS[name]
    text = section(name)
    assert "Result" in text, f"{name}: no result described"
    for arg in cmd.args:
        assert f"`{arg.name}`" in text, f"{name}: argument {arg.name} not documented"
        assert arg.type in text, f"{name}: type of {arg.name} ({arg.type}) not documented"
    if not cmd.args:
        assert "No arguments" in text, f"{name}: say it takes no arguments"
    heading = re.search(rf"^### `{re.escape(name)}`(.*)$", DOC, re.M)
    assert heading is not None
    assert ("(local)" in heading.group(1)) == cmd.local, f"{name}: heading must say (local) iff it is local"
    assert ("side effects" in heading.group(1)) == cmd.side_effects, f"{name}: mark side effects in the heading"
    only_sim = "only with `ptpd run --simulate`" in heading.group(1)
    assert only_sim == cmd.simulate_only, f"{name}: the heading says 'only with `ptpd run --simulate`' iff it is"


def test_no_documented_command_is_missing_from_the_code() -> None:
    documented = set(re.findall(r"^### `([a-z.]+)`", DOC, re.M))
    assert documented == set(bus.COMMANDS)


@pytest.mark.parametrize("code", list(bus.ErrorCode))
def test_every_error_code_is_documented(code: bus.ErrorCode) -> None:
    assert re.search(rf"^\| `{code.value}` \|", DOC, re.M), f"error code {code.value} missing from the table"


def test_topics_and_connection_states_are_documented() -> None:
    for topic in (
        bus.Topic.EVENT,
        bus.Topic.STATE,
        bus.Topic.CONNECTION,
        bus.Topic.HEARTBEAT,
        bus.Topic.PROGRESS,
        bus.Topic.FRAME,
    ):
        assert f"`{topic}" in DOC, topic
    for state in bus.ConnectionState:
        assert f"`{state.value}`" in DOC, state


def test_the_daemon_answers_every_documented_command() -> None:
    from ptpd.daemon.commands import HANDLERS

    assert set(HANDLERS) == set(bus.COMMANDS)


def test_sim_fault_documents_the_simulators_own_actions_and_options() -> None:
    """The action table of ``sim.fault`` is the simulator's control surface, option by option."""
    from ptpd.simulator.control import ACTIONS

    text = section("sim.fault")
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| (.*?) \|", text, re.M))
    assert set(rows) == set(ACTIONS)
    for name, action in ACTIONS.items():
        for option in action.options:
            assert f"`{option}`" in rows[name], f"sim.fault {name}: option {option} not documented"
        if not action.options:
            assert rows[name] == "—", f"sim.fault {name}: takes no options"
    action_arg = next(a for a in bus.COMMANDS["sim.fault"].args if a.name == "action")
    assert action_arg.help == ", ".join(ACTIONS)
