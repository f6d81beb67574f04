"""``grove-jobs --help`` stays light: its command table is static and imports nothing heavy."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

import grove_jobs.cli as cli


@pytest.mark.parametrize("name", cli.command_names())
def test_static_short_help_matches_the_command(name: str) -> None:
    command = cli.load_command(name)
    assert cli.SHORT_HELP[name] == command.get_short_help_str(limit=10_000)


def test_every_listed_help_belongs_to_a_command() -> None:
    assert set(cli.SHORT_HELP) == set(cli.command_names())


def test_root_help_lists_every_command_with_its_help() -> None:
    text = cli.main.get_help(click.Context(cli.main, info_name="grove-jobs"))
    for name in cli.command_names():
        assert f"  {name} " in text
    assert "Serve the HTTP API without a scheduler" in text


def test_help_imports_neither_sqlalchemy_nor_pydantic() -> None:
    probe = (
        "import sys, json\n"
        "from grove_jobs.cli import main\n"
        "try:\n"
        "    main(['--help'], standalone_mode=False)\n"
        "finally:\n"
        "    heavy = [m for m in ('sqlalchemy', 'pydantic', 'pydantic_settings', 'psycopg')\n"
        "             if m in sys.modules]\n"
        "    print(json.dumps(heavy), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert "Commands:" in done.stdout
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []
