"""Reading the GitHub workflows of this repository, for the tests beside this file."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping
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


# --- A local run of a workflow: its steps' scripts, the action's, and GitHub's API ---
#
# What GitHub does between the scripts (expressions, job outputs, the matrix,
# the composite action's steps) is done here from the workflow and action
# files themselves, so a change there changes what runs here. Expressions are
# looked up, never evaluated: each `${{ ... }}` must be a key of the context
# given, as written between the braces (`matrix.shard`, or a whole condition
# such as `github.event_name == 'pull_request'`), or the run stops.

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def substitute(text: str, context: Mapping[str, str]) -> str:
    """`text` with each `${{ EXPR }}` replaced by `context[EXPR]`."""

    def value(match: re.Match[str]) -> str:
        if match[1] not in context:
            raise KeyError(f"this simulation has no value for ${{{{ {match[1]} }}}}")
        return context[match[1]]

    return _EXPRESSION.sub(value, text)


@dataclass
class ScriptRun:
    """What one step's script did: its exit code, output, GITHUB_OUTPUT and summary."""

    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str


def run_script(script: str | Path, cwd: Path, env: Mapping[str, str]) -> ScriptRun:
    """A step's `run:` (text) or a script file, with GitHub's default shell
    (`bash --noprofile --norc -eo pipefail`), fresh GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files."""
    scratch = Path(tempfile.mkdtemp(prefix="step-", dir=cwd.parent))
    output, summary = scratch / "github_output", scratch / "step_summary"
    output.write_text("")
    summary.write_text("")
    command = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]
    command += [str(script)] if isinstance(script, Path) else ["-c", script]
    result = subprocess.run(
        command,
        cwd=cwd,
        env={**env, "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return ScriptRun(result.returncode, result.stdout, result.stderr, outputs, summary.read_text())


def step_env(step: Mapping[str, Any], context: Mapping[str, str]) -> dict[str, str]:
    return {str(name): substitute(str(value), context) for name, value in (step.get("env") or {}).items()}


@dataclass
class ActionRun:
    """One use of this repository's composite action, run locally."""

    outputs: dict[str, str]
    run: ScriptRun
    comment: ScriptRun | None

    @property
    def failed(self) -> bool:
        """As the action's last steps decide: a comment that failed, or an exit code other than 0 or 2."""
        commented = self.comment is None or self.comment.returncode == 0
        return not commented or self.outputs.get("exit-code") not in ("0", "2")


def run_action(
    inputs: Mapping[str, str], workspace: Path, env: Mapping[str, str], github: Mapping[str, str]
) -> ActionRun:
    """The action's steps that run our scripts, from action.yml: `reconciler` must be on env's PATH
    (install.sh's part), `github` holds the `github.*` values its expressions name."""
    action = load_action()
    unknown = set(inputs) - set(action["inputs"])
    assert not unknown, f"the action has no input {unknown}"
    context = {f"github.{name}": value for name, value in github.items()}
    for name, spec in action["inputs"].items():
        context[f"inputs.{name}"] = substitute(str(inputs.get(name, spec.get("default", ""))), context)
    steps_by_name = {str(step.get("name")): step for step in action["runs"]["steps"]}
    run_step = steps_by_name["Run reconciler"]
    folder = workspace / substitute(str(run_step["working-directory"]), context)
    run = run_script(ACTION_SCRIPTS / "run.sh", folder, {**env, **step_env(run_step, context)})
    assert run.returncode == 0, run.stderr  # run.sh never fails itself
    with open(env["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as summary:
        summary.write(run.summary)
    context.update({f"steps.run.outputs.{name}": value for name, value in run.outputs.items()})
    comment = None
    report = steps_by_name["Report on the pull request"]
    assert report["if"] == "inputs.comment == 'true'"
    if context["inputs.comment"] == "true":
        comment = run_script(ACTION_SCRIPTS / "comment.sh", workspace, {**env, **step_env(report, context)})
    return ActionRun(run.outputs, run, comment)


class FakeGitHub:
    """GitHub's REST API as the `gh api` calls of the scripts use it: a pull request's
    comments (listed, created, edited) and the pull request a commit was merged from.

    `bin` holds a `gh` to put first on PATH; state is a JSON file, locked while
    a call runs, so jobs of a matrix may call it at once. `--jq` runs the real jq.
    """

    def __init__(self, folder: Path) -> None:
        self.bin = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.state = folder / "github-state.json"
        self._save({"comments": [], "next_id": 1000, "merged": {}, "calls": []})
        gh = folder / "gh"
        gh.write_text(f"#!{sys.executable}\n{_FAKE_GH.replace('STATE_FILE', repr(str(self.state)))}", "utf-8")
        gh.chmod(0o755)

    def _load(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.state.read_text(encoding="utf-8"))
        return loaded

    def _save(self, state: dict[str, Any]) -> None:
        self.state.write_text(json.dumps(state), encoding="utf-8")

    def comments(self, pr: int) -> list[dict[str, Any]]:
        return [c for c in self._load()["comments"] if c["pr"] == pr]

    def add_comment(self, pr: int, body: str, user_type: str = "User") -> int:
        state = self._load()
        number = int(state["next_id"])
        state["next_id"] = number + 1
        state["comments"].append({"id": number, "pr": pr, "body": body, "user": {"type": user_type}})
        self._save(state)
        return number

    def merged(self, sha: str, pr: int) -> None:
        state = self._load()
        state["merged"][sha] = pr
        self._save(state)

    def calls(self) -> list[list[str]]:
        return [list(call) for call in self._load()["calls"]]


_FAKE_GH = r"""
import fcntl, json, re, subprocess, sys

STATE = STATE_FILE
args = sys.argv[1:]
if args[:1] != ["api"]:
    sys.exit(f"gh stand-in: only `gh api` is served, not {args}")
method, jq, body, path, rest = "GET", None, None, None, args[1:]
while rest:
    option = rest.pop(0)
    if option == "--method":
        method = rest.pop(0)
    elif option == "--jq":
        jq = rest.pop(0)
    elif option == "-F":
        field = rest.pop(0)
        assert field.startswith("body=@"), field
        with open(field.removeprefix("body=@"), encoding="utf-8") as handle:
            body = handle.read()
    elif option == "--paginate":
        pass
    else:
        path = option
with open(STATE + ".lock", "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    with open(STATE, encoding="utf-8") as handle:
        state = json.load(handle)
    state["calls"].append(args)
    listing = re.fullmatch(r"repos/[\w.-]+/[\w.-]+/issues/(\d+)/comments", path or "")
    edit = re.fullmatch(r"repos/[\w.-]+/[\w.-]+/issues/comments/(\d+)", path or "")
    pulls = re.fullmatch(r"repos/[\w.-]+/[\w.-]+/commits/(\w+)/pulls", path or "")
    if listing and method == "GET":
        pr = int(listing[1])
        payload = [{k: v for k, v in c.items() if k != "pr"} for c in state["comments"] if c["pr"] == pr]
    elif listing and method == "POST":
        payload = {"id": state["next_id"], "pr": int(listing[1]), "body": body, "user": {"type": "Bot"}}
        state["next_id"] += 1
        state["comments"].append(payload)
    elif edit and method == "PATCH":
        (payload,) = [c for c in state["comments"] if c["id"] == int(edit[1])]
        payload["body"] = body
    elif pulls and method == "GET":
        payload = [{"number": state["merged"][pulls[1]]}] if pulls[1] in state["merged"] else []
    else:
        sys.exit(f"gh stand-in: no such call: {args}")
    with open(STATE, "w", encoding="utf-8") as handle:
        json.dump(state, handle)
if jq is None:
    print(json.dumps(payload))
else:
    filtered = subprocess.run(["jq", "-r", jq], input=json.dumps(payload), capture_output=True, text=True, check=True)
    print(filtered.stdout, end="")
"""
