"""Reading the GitHub workflows of this repository, for the tests beside this file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
WORKFLOW_NAMES = ("plan", "apply", "drift", "ci", "release")
ACTION = ROOT / "action.yml"
ACTION_SCRIPTS = ROOT / "action"


def workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))


def load_workflow(name: str) -> dict[str, Any]:
    with open(WORKFLOWS / f"{name}.yml", encoding="utf-8") as handle:
        document: dict[Any, Any] = yaml.safe_load(handle)
    # YAML 1.1 reads the key `on` as the boolean True.
    if True in document:
        document["on"] = document.pop(True)
    return document


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def step_named(workflow: dict[str, Any], prefix: str) -> dict[str, Any]:
    for step in steps(workflow):
        if str(step.get("name", "")).startswith(prefix):
            return step
    raise AssertionError(f"no step named {prefix!r}")


def steps_using(workflow: dict[str, Any], action: str) -> list[dict[str, Any]]:
    """Steps whose `uses:` is `action` at any version."""
    return [s for s in steps(workflow) if str(s.get("uses", "")).split("@")[0] == action]


def load_action() -> dict[str, Any]:
    with open(ACTION, encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.safe_load(handle)
    return document


@dataclass(frozen=True)
class ActionUse:
    """One step of a workflow that runs this repository's action (`uses: ./`)."""

    workflow: str
    step: str
    command: str
    args: tuple[str, ...]
    comment: str
    emulator: str


def action_uses(name: str) -> list[ActionUse]:
    return [
        ActionUse(
            name,
            str(step.get("name", "")),
            str(step["with"]["command"]),
            tuple(str(step["with"].get("args", "")).split()),
            str(step["with"].get("comment", "false")),
            str(step["with"].get("emulator", "false")),
        )
        for step in steps(load_workflow(name))
        if step.get("uses") == "./"
    ]


def readme_test_command() -> str:
    """The README's test command line (the one that installs the test extra)."""
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if "pip install -e '.[test]'" in line:
            return line.strip()
    raise AssertionError("README.md has no test command")


# The embedded emulator (`reconciler --emulator`) tunes in real time, a tenth of a
# second a step, so that the README's first command shows live progress: a test
# of the whole loop would wait ten seconds for nothing. This `reconciler` is the
# real command of an environment with the embedded emulator's clock sped up, as
# tests pass `pollIntervalSeconds` to a served emulator; nothing else changes.
_FAST_EMULATOR_COMMAND = """\
import sys

import reconciler.cli.session as session

# Fail loudly if the clock moves: a silently unpatched clock would only be slow.
assert session.EMULATOR_STEP_SECONDS > 0.001 and session.EMULATOR_POLL_SECONDS > 0.01
session.EMULATOR_STEP_SECONDS, session.EMULATOR_POLL_SECONDS = 0.001, 0.01

from reconciler.cli.main import main

sys.argv[0] = "reconciler"
main()
"""


def fast_emulator_reconciler(python: Path, folder: Path) -> Path:
    """`folder`, holding a `reconciler` run by `python` whose embedded emulator's clock is fast."""
    folder.mkdir(parents=True, exist_ok=True)
    command = folder / "reconciler"
    command.write_text(f"#!{python}\n{_FAST_EMULATOR_COMMAND}", encoding="utf-8")
    command.chmod(0o755)
    return folder
