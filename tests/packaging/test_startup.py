"""`reconciler --version` starts without the commands, HTTP, auth or the emulator,
and `reconciler plan` without what only other paths need.

Checked in a fresh interpreter, since this one has imported everything already.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from reconciler import __version__
from reconciler.cli.main import COMMANDS, SUMMARIES, cli
from reconciler.emulator import EmulatorServer

# What a command needs only once it runs.
NOT_AT_START = (
    "requests",
    "google.auth",
    "werkzeug",
    "pydantic",
    "yaml",
    "reconciler.emulator",
    "reconciler.client",
    "reconciler.apply",
    "reconciler.plan",
    "reconciler.loader",
    *sorted(spec.split(":")[0] for spec in COMMANDS.values()),
)

_LIST_MODULES_AFTER_VERSION = """
import json, sys
from reconciler.cli.main import main
try:
    main(["--version"])
except SystemExit as exc:
    assert exc.code == 0, exc.code
print(json.dumps(sorted(sys.modules)))
"""


_LIST_MODULES_AFTER_PLAN = """
import json, sys
from reconciler.cli.main import main
try:
    main(["plan", "-C", sys.argv[1]])
except SystemExit as exc:
    assert exc.code == 0, exc.code
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after(script: str, *args: str, env: dict[str, str] | None = None) -> tuple[set[str], str]:
    result = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, check=True, timeout=60
    )
    *printed, modules = result.stdout.strip().splitlines()
    return set(json.loads(modules)), "\n".join(printed)


def test_version_imports_no_command_module_and_no_network_library() -> None:
    modules, printed = _modules_after(_LIST_MODULES_AFTER_VERSION)
    assert printed == f"reconciler, version {__version__}"
    loaded = sorted(
        name for name in modules if any(name == banned or name.startswith(banned + ".") for banned in NOT_AT_START)
    )
    assert loaded == []


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_lists_the_commands_without_loading_one(flag: str) -> None:
    modules, printed = _modules_after(_LIST_MODULES_AFTER_VERSION.replace('["--version"]', f'["{flag}"]'))
    assert all(f"  {name} " in printed for name in COMMANDS)
    loaded = sorted(
        name for name in modules if any(name == banned or name.startswith(banned + ".") for banned in NOT_AT_START)
    )
    assert loaded == []


def test_help_says_what_it_would_say_with_every_command_loaded() -> None:
    # The summaries in main.py are the commands' own: the same text as click
    # makes from each loaded command's docstring.
    _, lazy = _modules_after(_LIST_MODULES_AFTER_VERSION.replace('["--version"]', '["--help"]'))
    load_all = (
        "import click\nfrom reconciler.cli.main import COMMANDS, cli\n"
        "for name in COMMANDS:\n    cli.get_command(click.Context(cli), name)\n"
    )
    modules, loaded = _modules_after(load_all + _LIST_MODULES_AFTER_VERSION.replace('["--version"]', '["--help"]'))
    assert "reconciler.cli.apply_cmd" in modules
    assert lazy.startswith("Usage: ")
    assert loaded == lazy


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_summary_is_the_first_paragraph_of_the_commands_docstring(name: str) -> None:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None and command.help is not None
    assert SUMMARIES[name] == inspect.cleandoc(command.help).split("\n\n")[0].replace("\n", " ")


def test_the_check_above_can_fail() -> None:
    # Running a command does load its module and what it needs.
    modules, _ = _modules_after(_LIST_MODULES_AFTER_VERSION.replace('["--version"]', '["schema"]'))
    assert "reconciler.cli.schema" in modules
    assert "reconciler.loader" in modules


# What a Gemini plan with an API key (or the emulator host), text output and no
# regex smoke test never uses: the other backend, ADC, the emulator, the regex
# engine, and the validate command's diagnostics.
NOT_IN_A_GEMINI_PLAN = (
    "reconciler.backends.vertex",
    "google.auth",
    "reconciler.emulator",
    "werkzeug",
    "regex",
    "reconciler.cli.validate",
)

MANIFEST = """\
apiVersion: reconciler/v1
kind: TunedModel
metadata:
  name: startup
spec:
  baseModel: models/gemini-1.5-flash-001-tuning
  trainingData:
    examples: [EXAMPLES]
  smokeTests:
    - input: "1"
      expect: {contains: "2"}
""".replace("EXAMPLES", ", ".join(f'{{textInput: "{n}", output: "{n + 1}"}}' for n in range(20)))


def _modules_after_plan(root: Path, emulator: EmulatorServer) -> set[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    env["GENERATIVELANGUAGE_EMULATOR_HOST"] = emulator.host_port
    modules, printed = _modules_after(_LIST_MODULES_AFTER_PLAN, str(root), env=env)
    assert "Plan: 1 to create" in printed
    return modules


def _write_repository(root: Path, manifest: str) -> Path:
    (root / "manifests").mkdir()
    (root / "manifests" / "startup.yaml").write_text(manifest, encoding="utf-8")
    return root


def test_a_gemini_plan_imports_neither_the_other_backend_nor_auth_emulator_or_regex(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    modules = _modules_after_plan(_write_repository(tmp_path, MANIFEST), emulator)
    loaded = sorted(
        name
        for name in modules
        if any(name == banned or name.startswith(banned + ".") for banned in NOT_IN_A_GEMINI_PLAN)
    )
    assert loaded == []
    assert "reconciler.backends.gemini" in modules


def test_a_regex_smoke_test_does_load_regex(tmp_path: Path, emulator: EmulatorServer) -> None:
    # The check above can fail: a manifest that needs the regex engine loads it.
    manifest = MANIFEST.replace('{contains: "2"}', '{regex: "^2$"}')
    assert "regex" in _modules_after_plan(_write_repository(tmp_path, manifest), emulator)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_listed_command_loads_under_its_name(name: str) -> None:
    command = cli.get_command(click.Context(cli), name)
    assert isinstance(command, click.Command)
    assert command.name == name


def test_shell_completion_offers_the_lazily_loaded_commands() -> None:
    env = {**os.environ, "_RECONCILER_COMPLETE": "bash_complete", "COMP_WORDS": "reconciler pl", "COMP_CWORD": "1"}
    command = Path(sys.executable).parent / "reconciler"
    result = subprocess.run([str(command)], env=env, capture_output=True, text=True, timeout=60)
    assert "plain,plan" in result.stdout.splitlines()
