"""Docs that cannot rot: every command explains itself, the reference is current."""

from __future__ import annotations

from pathlib import Path

import pytest

from ndoo.cli.reference import all_commands, cli_markdown, settings_markdown

DOCS = Path(__file__).resolve().parents[1] / "docs"
COMMANDS = all_commands()


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_has_help_ending_in_an_example(path, command):
    assert command.help, f"{' '.join(path)} has no help"
    assert "Example:" in command.help, f"{' '.join(path)} help has no example"
    example = command.help.split("Example:")[1].strip()
    assert example.startswith("ndoo") or "ndoo " in example
    for param in command.params:
        if param.param_type_name == "option":
            assert getattr(param, "help", None), f"{' '.join(path)} {param.name} has no help"


def test_cli_reference_is_current():
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == cli_markdown(), "run `make docs`"


def test_settings_reference_is_current():
    assert (DOCS / "settings.md").read_text(encoding="utf-8") == settings_markdown(), (
        "run `make docs`"
    )
