"""`reconciler --version` starts without the commands, HTTP, auth or the emulator.

Checked in a fresh interpreter, since this one has imported everything already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from reconciler import __version__
from reconciler.cli.main import COMMANDS, cli

# What a command needs only once it runs.
NOT_AT_START = ("requests", "google.auth", "werkzeug", "pydantic", "yaml", "reconciler.emulator", "reconciler.client",
                "reconciler.apply", "reconciler.plan", "reconciler.loader", *sorted(
                    spec.split(":")[0] for spec in COMMANDS.values()))

_LIST_MODULES_AFTER_VERSION = """
import json, sys
from reconciler.cli.main import main
try:
    main(["--version"])
except SystemExit as exc:
    assert exc.code == 0, exc.code
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after(script: str) -> tuple[set[str], str]:
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True, timeout=60)
    *printed, modules = result.stdout.strip().splitlines()
    return set(json.loads(modules)), "\n".join(printed)


def test_version_imports_no_command_module_and_no_network_library() -> None:
    modules, printed = _modules_after(_LIST_MODULES_AFTER_VERSION)
    assert printed == f"reconciler, version {__version__}"
    loaded = sorted(name for name in modules
                    if any(name == banned or name.startswith(banned + ".") for banned in NOT_AT_START))
    assert loaded == []


def test_the_check_above_can_fail() -> None:
    # Running a command does load its module and what it needs.
    modules, _ = _modules_after(_LIST_MODULES_AFTER_VERSION.replace('["--version"]', '["schema"]'))
    assert "reconciler.cli.schema" in modules
    assert "reconciler.loader" in modules


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_listed_command_loads_under_its_name(name: str) -> None:
    command = cli.get_command(click.Context(cli), name)
    assert isinstance(command, click.Command)
    assert command.name == name


def test_shell_completion_offers_the_lazily_loaded_commands() -> None:
    env = {**os.environ, "_RECONCILER_COMPLETE": "bash_complete", "COMP_WORDS": "reconciler pl",
           "COMP_CWORD": "1"}
    command = Path(sys.executable).parent / "reconciler"
    result = subprocess.run([str(command)], env=env, capture_output=True,
                            text=True, timeout=60)
    assert "plain,plan" in result.stdout.splitlines()
