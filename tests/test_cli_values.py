"""ptpctl takes the issue's example values as a user types them, negative ones included."""

from __future__ import annotations

from click.testing import CliRunner

from ptpctl.cli import cli
from test_client_daemon import Daemon


def run(daemon: Daemon, *args: str):
    return CliRunner().invoke(cli, ["--command-endpoint", daemon.endpoints["command"], *args], catch_exceptions=False)


def test_negative_exposure_bias_is_a_value_not_an_option(daemon: Daemon) -> None:
    r = run(daemon, "set", "exp-bias", "-1/3")
    assert r.exit_code == 0, r.output
    assert "-1/3" in r.output
    assert run(daemon, "get", "exp-bias").output.startswith("-1/3")
    # options after the value still work
    r = run(daemon, "set", "exp-bias", "-2/3", "--json")
    assert r.exit_code == 0 and '"label": "-2/3"' in r.output


def test_issue_examples(daemon: Daemon) -> None:
    for prop, value, label in [
        ("iso", "800", "800"),
        ("effect", "Velvia", "Velvia"),
        ("focusmtr", "4x4", "4x4"),
        ("delay", "2s", "2s"),
        ("exp-bias", "+2/3", "2/3"),  # Fuji prints positive biases bare (fuji-ptpip.md 6.3)
    ]:
        r = run(daemon, "set", prop, value)
        assert r.exit_code == 0, r.output
        assert run(daemon, "get", prop).output.startswith(label), prop
