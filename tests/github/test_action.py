"""The composite action: its metadata, how it installs reconciler, and its pull-request comments.

How it runs each command is tested against the emulator in test_workflow_commands.py.
Here its scripts run with bash and stand-ins for `python3` and `gh` that record
what they were asked, so no test installs from the network or talks to GitHub.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest

from reconciler import __version__
from tests.github.workflows import ACTION_SCRIPTS, ROOT, FakeGitHub, load_action, load_workflow

BASH = shutil.which("bash")
pytestmark = pytest.mark.skipif(BASH is None, reason="the action's scripts are bash")
RUN_URL = "https://github.example/o/r/actions/runs/3"
SHA = "0123456789abcdef0123456789abcdef01234567"


def run_script(name: str, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **env}
    return subprocess.run(
        [str(BASH), "--noprofile", "--norc", "-eo", "pipefail", str(ACTION_SCRIPTS / name)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


# --- action.yml -------------------------------------------------------------------


def test_the_action_is_composite_and_its_scripts_are_executable() -> None:
    action = load_action()
    assert action["runs"]["using"] == "composite"
    for step in action["runs"]["steps"]:
        for script in re.findall(r"action/([\w-]+\.sh)", step.get("run", "")):
            assert os.access(ACTION_SCRIPTS / script, os.X_OK), script


def test_inputs_and_outputs_are_those_documented() -> None:
    action = load_action()
    assert set(action["inputs"]) == {
        "command",
        "args",
        "shard",
        "working-directory",
        "version",
        "emulator",
        "comment",
        "github-token",
    }
    assert set(action["outputs"]) == {"exit-code", "has-changes", "plan-markdown", "plan-json"}
    run_sh = (ACTION_SCRIPTS / "run.sh").read_text(encoding="utf-8")
    for output in action["outputs"]:
        assert f'echo "{output}=' in run_sh, f"run.sh never sets {output}"
    documented = (ROOT / "docs" / "github.md").read_text(encoding="utf-8")
    for name in [*action["inputs"], *action["outputs"]]:
        assert f"`{name}`" in documented, f"docs/github.md does not describe {name}"


def test_inputs_reach_the_scripts_only_through_the_environment() -> None:
    for step in load_action()["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step["name"]


# --- install.sh -------------------------------------------------------------------


def fake_python(tmp_path: Path) -> tuple[Path, Path]:
    """A `python3` whose `-m venv DIR` makes DIR/bin/{python,reconciler} that log their arguments."""
    folder, log = tmp_path / "py-bin", tmp_path / "python-calls"
    folder.mkdir()
    tool = (
        "#!/usr/bin/env bash\n"
        f'echo "$(basename "$0") $*" >> "{log}"\n'
        'if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin"; '
        'for t in python reconciler; do cp "$0" "$3/bin/$t"; done; fi\n'
    )
    script = folder / "python3"
    script.write_text(tool)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder, log


@pytest.mark.parametrize(
    ("version", "spec"),
    [("", "ACTION_PATH"), ("0.1.0", "gemini-tuning-reconciler==0.1.0"), ("v0.1.0", "gemini-tuning-reconciler==0.1.0")],
)
def test_install_takes_the_actions_own_copy_or_the_release_asked_for(tmp_path: Path, version: str, spec: str) -> None:
    python_bin, log = fake_python(tmp_path)
    github_path = tmp_path / "github_path"
    env = {
        "PATH": os.environ["PATH"],
        "RUNNER_TEMP": str(tmp_path),
        "RECONCILER_PYTHON": str(python_bin / "python3"),  # the Python setup-python gave, not PATH's
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_PATH": str(github_path),
        "RECONCILER_VERSION": version,
    }
    for _ in range(2):  # the second use in a job reuses the environment
        result = run_script("install.sh", tmp_path, env)
        assert result.returncode == 0, result.stderr
    spec = spec.replace("ACTION_PATH", str(ROOT))
    venv = tmp_path / "reconciler-venv"
    pip = "python -m pip install --quiet --disable-pip-version-check"
    assert log.read_text().splitlines() == [
        f"python3 -m venv {venv}",
        f"{pip} --require-hashes -r {ROOT}/action/requirements.lock",
        f"{pip} --no-deps --no-build-isolation {spec}",
        "python -m pip check",
        "reconciler --version",
        "reconciler --version",
    ]
    assert github_path.read_text().splitlines() == [f"{venv}/bin"] * 2


def test_the_action_sets_up_a_supported_python_of_its_own() -> None:
    steps = load_action()["runs"]["steps"]
    (setup,) = [s for s in steps if str(s.get("uses", "")).startswith("actions/setup-python@")]
    classifiers = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["classifiers"]
    assert f"Programming Language :: Python :: {setup['with']['python-version']}" in classifiers
    assert setup["with"]["update-environment"] is False  # the job's own Python stays first on PATH
    (install,) = [s for s in steps if s.get("name") == "Install reconciler"]
    assert install["env"]["RECONCILER_PYTHON"] == f"${{{{ steps.{setup['id']}.outputs.python-path }}}}"
    (cache,) = [s for s in steps if str(s.get("uses", "")).startswith("actions/cache@")]
    assert cache["with"]["path"] == install["env"]["PIP_CACHE_DIR"]
    assert "steps.lock.outputs.hash" in cache["with"]["key"]  # a new lock, a new cache


def locked() -> dict[str, str]:
    """The lock's requirements: name -> the rest of its entry."""
    text = (ACTION_SCRIPTS / "requirements.lock").read_text(encoding="utf-8")
    entries = re.split(r"\n(?=[a-z0-9])", text.strip())
    return {entry.split("==", 1)[0]: entry for entry in entries}


def test_the_lock_pins_every_dependency_exactly_with_hashes() -> None:
    entries = locked()
    for name, entry in entries.items():
        assert re.match(rf"{re.escape(name)}==[\w.]+( ;|\s*\\)", entry), entry
        assert "--hash=sha256:" in entry, name
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [re.split(r"[<>=!~ \[;]", dependency, maxsplit=1)[0].lower() for dependency in project["dependencies"]]
    assert set(wanted) | {"setuptools"} <= set(entries)  # setuptools: the build, without isolation


def test_the_lock_holds_the_bedrock_extra_so_the_action_runs_backend_bedrock() -> None:
    # The action installs the lock alone (then the reconciler with --no-deps):
    # without boto3 in it, `backend: bedrock` would stop at "install the extra".
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    wanted = {re.split(r"[<>=!~ \[;]", dependency, maxsplit=1)[0].lower() for dependency in extras["bedrock"]}
    assert wanted and wanted <= set(locked())
    assert "--extra bedrock" in (ACTION_SCRIPTS / "lock.sh").read_text(encoding="utf-8")


def test_ci_checks_the_lock_and_runs_the_action_on_the_runners_users_have() -> None:
    workflow = load_workflow("ci")
    assert workflow["jobs"]["action"]["strategy"]["matrix"]["os"] == ["ubuntu-22.04", "ubuntu-24.04", "macos-latest"]
    check = workflow["jobs"]["action-lock"]["steps"][-1]["run"]
    assert "action/lock.sh" in check and "git diff --exit-code action/requirements.lock" in check
    assert re.search(r"uv==\d+\.\d+\.\d+", check)  # the lock is written by one known uv


def test_the_documented_pins_name_this_version() -> None:
    # What the docs pin is what this tree installs: the tag of the action, and
    # the release of the distribution, both the version in the changelog.
    docs = (ROOT / "docs" / "github.md").read_text(encoding="utf-8")
    assert f"uses: OWNER/reconciler@v{__version__}" in docs
    assert f"pip install gemini-tuning-reconciler=={__version__}   # from the first release on" in docs
    assert f"## [{__version__}]" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


# --- comment.sh -------------------------------------------------------------------


def comment(
    tmp_path: Path,
    command: str,
    *,
    markdown: str | None,
    exit_code: str = "0",
    github: FakeGitHub | None = None,
    event: dict[str, object] | None = None,
    shard: str = "",
) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    """Run comment.sh against `github` (a fresh stand-in of GitHub's API by default): its result, and its calls."""
    github = github or FakeGitHub(tmp_path / "github")
    before = len(github.calls())
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(event or {}))
    markdown_file = ""
    if markdown is not None:
        markdown_file = str(tmp_path / "plan.md")
        Path(markdown_file).write_text(markdown)
    env = {
        "PATH": f"{github.bin}{os.pathsep}{os.environ['PATH']}",
        "GH_TOKEN": "t",
        "GITHUB_REPOSITORY": "o/r",
        "GITHUB_SHA": SHA,
        "GITHUB_EVENT_PATH": str(event_file),
        "RECONCILER_COMMAND": command,
        "RECONCILER_SHARD": shard,
        "EXIT_CODE": exit_code,
        "MARKDOWN_FILE": markdown_file,
        "RUN_URL": RUN_URL,
    }
    result = run_script("comment.sh", tmp_path, env)
    return result, github.calls()[before:]


def body_of(call: list[str]) -> str:
    field = call[call.index("-F") + 1]
    assert field.startswith("body=@")
    return Path(field.removeprefix("body=@")).read_text()


PR_EVENT: dict[str, object] = {"pull_request": {"number": 5}}
FOOTER = f"<sub>reconciler plan of 0123456 ([run]({RUN_URL})).</sub>\n"


def test_a_first_plan_comment_is_created_with_a_marker_and_a_footer(tmp_path: Path) -> None:
    _, calls = comment(tmp_path, "plan", markdown="### Plan: 1 to create\n", event=PR_EVENT)
    listing, post = calls
    assert listing[:4] == ["api", "--paginate", "repos/o/r/issues/5/comments", "--jq"]
    assert post[:4] == ["api", "--method", "POST", "repos/o/r/issues/5/comments"]
    assert body_of(post) == f"<!-- reconciler-plan -->\n### Plan: 1 to create\n\n{FOOTER}"


def test_a_later_plan_updates_the_same_comment(tmp_path: Path) -> None:
    github = FakeGitHub(tmp_path / "github")
    mine = github.add_comment(5, "<!-- reconciler-plan -->\nold", user_type="Bot")
    theirs = github.add_comment(5, "<!-- reconciler-plan -->\nquoted by a person")
    _, calls = comment(tmp_path, "plan", markdown="### Plan: 2 to create\n", event=PR_EVENT, github=github)
    assert [call[:4] for call in calls[1:]] == [["api", "--method", "PATCH", f"repos/o/r/issues/comments/{mine}"]]
    bodies = {c["id"]: c["body"] for c in github.comments(5)}
    assert bodies == {mine: f"<!-- reconciler-plan -->\n### Plan: 2 to create\n\n{FOOTER}", theirs: bodies[theirs]}


def test_a_plan_at_the_limit_gets_no_footer(tmp_path: Path) -> None:
    _, calls = comment(tmp_path, "plan", markdown="x" * 65_450, event=PR_EVENT)
    assert body_of(calls[-1]) == "<!-- reconciler-plan -->\n" + "x" * 65_450


def test_without_a_plan_the_comment_says_it_failed_and_links_the_run(tmp_path: Path) -> None:
    _, calls = comment(tmp_path, "plan", markdown=None, exit_code="1", event=PR_EVENT)
    body = body_of(calls[-1])
    assert body.startswith("<!-- reconciler-plan -->\n### reconciler plan failed\n")
    assert RUN_URL in body


def test_an_apply_result_goes_to_the_merged_pull_request(tmp_path: Path) -> None:
    github = FakeGitHub(tmp_path / "github")
    github.merged(SHA, 12)
    _, calls = comment(tmp_path, "apply", markdown="### Apply complete: 1 created\n", github=github)
    assert calls[0][:2] == ["api", f"repos/o/r/commits/{SHA}/pulls"]
    assert calls[1][:4] == ["api", "--method", "POST", "repos/o/r/issues/12/comments"]
    assert "### Apply complete: 1 created" in body_of(calls[1])


def test_a_push_that_no_pull_request_merged_gets_no_comment(tmp_path: Path) -> None:
    result, calls = comment(tmp_path, "apply", markdown="### Apply complete\n")
    assert [call[:2] for call in calls] == [["api", f"repos/o/r/commits/{SHA}/pulls"]]
    assert "nothing to comment" in result.stdout


def test_other_commands_never_comment(tmp_path: Path) -> None:
    _, calls = comment(tmp_path, "validate", markdown=None, event=PR_EVENT)
    assert calls == []


# --- comment.sh, a shard at a time (the matrix workflows) ---------------------------


def test_each_shard_keeps_a_comment_of_its_own(tmp_path: Path) -> None:
    github = FakeGitHub(tmp_path / "github")
    for key in ("p1.us-central1", "p2.europe-west4"):
        plan = f"**Shard:** `{key}` (Vertex AI)\n\n### Plan: 1 to create\n"
        comment(tmp_path, "plan", markdown=plan, event=PR_EVENT, github=github, shard=key)
    first = {c["body"].split("\n")[0]: c["id"] for c in github.comments(5)}
    assert set(first) == {
        "<!-- reconciler-plan shard=p1.us-central1 -->",
        "<!-- reconciler-plan shard=p2.europe-west4 -->",
    }

    # The next push: one shard changed; its comment, and only its, is edited.
    plan = "**Shard:** `p1.us-central1` (Vertex AI)\n\n### Plan: 2 to create\n"
    _, calls = comment(tmp_path, "plan", markdown=plan, event=PR_EVENT, github=github, shard="p1.us-central1")
    edit = f"repos/o/r/issues/comments/{first['<!-- reconciler-plan shard=p1.us-central1 -->']}"
    assert [call[:4] for call in calls[1:]] == [["api", "--method", "PATCH", edit]]
    bodies = {c["body"].split("\n")[0]: c["body"] for c in github.comments(5)}
    assert bodies["<!-- reconciler-plan shard=p1.us-central1 -->"] == (
        f"<!-- reconciler-plan shard=p1.us-central1 -->\n{plan}\n{FOOTER}"
    )
    assert "1 to create" in bodies["<!-- reconciler-plan shard=p2.europe-west4 -->"]


def test_a_shard_comment_without_a_plan_still_names_its_shard(tmp_path: Path) -> None:
    _, calls = comment(tmp_path, "plan", markdown=None, exit_code="1", event=PR_EVENT, shard="p1.us-central1")
    assert body_of(calls[-1]).startswith(
        "<!-- reconciler-plan shard=p1.us-central1 -->\n**Shard:** `p1.us-central1`\n\n### reconciler plan failed\n"
    )


def test_an_apply_result_of_a_shard_names_it(tmp_path: Path) -> None:
    github = FakeGitHub(tmp_path / "github")
    github.merged(SHA, 12)
    for key in ("a", "b"):
        comment(tmp_path, "apply", markdown="### Apply complete: 1 created\n", github=github, shard=key)
    assert [c["body"].split("\n")[:2] for c in github.comments(12)] == [
        ["<!-- reconciler-apply shard=a -->", "**Shard:** `a`"],
        ["<!-- reconciler-apply shard=b -->", "**Shard:** `b`"],
    ]


def test_the_whole_and_the_shards_comments_supersede_each_other(tmp_path: Path) -> None:
    github = FakeGitHub(tmp_path / "github")
    # Before the matrix (or a validated-only run): one comment for the whole pull request.
    whole = github.add_comment(5, "<!-- reconciler-plan -->\n### Plan: 2 to create", user_type="Bot")
    for key in ("a", "b"):
        comment(tmp_path, "plan", markdown=f"**Shard:** `{key}`\n", event=PR_EVENT, github=github, shard=key)
    bodies = {c["id"]: c["body"] for c in github.comments(5)}
    assert bodies[whole].startswith("<!-- reconciler-plan -->\n### Out of date\n\n")
    assert "planned each shard in a comment of its own" in bodies[whole]
    assert len(bodies) == 3

    # A run without the shards again: the shards' comments are the stale ones now.
    _, calls = comment(tmp_path, "plan", markdown="### Planned without credentials\n", event=PR_EVENT, github=github)
    assert sum(call[:3] == ["api", "--method", "PATCH"] for call in calls) == 3
    for number, body in ((c["id"], c["body"]) for c in github.comments(5)):
        first, second = body.split("\n")[:2]
        if number == whole:
            assert second == "### Planned without credentials"
        else:
            assert first.startswith("<!-- reconciler-plan shard=") and second == "### Out of date"

    # Marked once: another whole plan edits its own comment only.
    _, calls = comment(tmp_path, "plan", markdown="### Planned without credentials\n", event=PR_EVENT, github=github)
    assert sum(call[:3] == ["api", "--method", "PATCH"] for call in calls) == 1


@pytest.mark.parametrize("shard", ["a b", 'x"y', "../x", "$(id)"])
def test_a_shard_that_is_not_a_key_is_refused(tmp_path: Path, shard: str) -> None:
    result, calls = comment(tmp_path, "plan", markdown="### Plan\n", event=PR_EVENT, shard=shard)
    assert result.returncode == 1 and calls == []
    assert "::error title=reconciler::" in result.stdout


# --- run.sh, with a shard -----------------------------------------------------------


def fake_reconciler(tmp_path: Path) -> tuple[Path, Path]:
    """A `reconciler` that logs its arguments and writes the plan files it is asked for."""
    folder, log = tmp_path / "reconciler-bin", tmp_path / "reconciler-calls"
    folder.mkdir()
    script = folder / "reconciler"
    script.write_text(
        "#!/usr/bin/env bash\n"
        f'printf "%s\\n" "$*" >> "{log}"\n'
        'while [ $# -gt 0 ]; do case $1 in --out|--markdown-out) echo plan > "$2"; shift;; esac; shift; done\n'
        "exit 2\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder, log


def test_run_passes_the_shard_and_names_the_files_after_it(tmp_path: Path) -> None:
    folder, log = fake_reconciler(tmp_path)
    outputs = {}
    for key in ("p1.us-central1", "p2.europe-west4"):
        output = tmp_path / f"output-{key}"
        output.touch()
        env = {
            "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}",
            "RECONCILER_COMMAND": "plan",
            "RECONCILER_ARGS": "--target x",
            "RECONCILER_SHARD": key,
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        }
        assert run_script("run.sh", tmp_path, env).returncode == 0
        outputs[key] = dict(line.split("=", 1) for line in output.read_text().splitlines())
    action = tmp_path / ".reconciler" / "action"
    assert log.read_text().splitlines() == [
        f"plan --target x --shard {key} --detailed-exitcode --markdown-out {action}/plan-{key}.md "
        f"--out {action}/plan-{key}.json"
        for key in ("p1.us-central1", "p2.europe-west4")
    ]
    for key, values in outputs.items():
        assert values == {
            "exit-code": "2",
            "has-changes": "true",
            "plan-markdown": f"{action}/plan-{key}.md",
            "plan-json": f"{action}/plan-{key}.json",
        }


@pytest.mark.parametrize("shard", ["..", ".hidden", "a/b", "a b", "-x", "$(id)"])
def test_run_refuses_a_shard_that_is_not_a_key_and_runs_nothing(tmp_path: Path, shard: str) -> None:
    folder, log = fake_reconciler(tmp_path)
    output = tmp_path / "output"
    output.touch()
    env = {
        "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}",
        "RECONCILER_COMMAND": "apply",
        "RECONCILER_SHARD": shard,
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
    }
    result = run_script("run.sh", tmp_path, env)
    assert result.returncode == 0
    assert "exit-code=1" in output.read_text().splitlines()
    assert not log.exists()
