"""Loader problems as GitHub workflow commands."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from reconciler.cli.annotations import (
    annotation,
    escape_data,
    escape_property,
    in_github_actions,
    print_problem,
    workspace_path,
)
from reconciler.cli.console import Console
from reconciler.loader.problems import Problem, error, warning

NO_WORKSPACE: dict[str, str] = {}


def test_an_error_names_file_line_and_field() -> None:
    problem = error("manifests/a.yaml", 16, "spec.hyperparameters.epochCount", "must be > 0")
    assert annotation(problem, NO_WORKSPACE) == (
        "::error file=manifests/a.yaml,line=16,title=spec.hyperparameters.epochCount"
        "::manifests/a.yaml:16: spec.hyperparameters.epochCount: must be > 0"
    )


def test_a_warning_is_a_warning() -> None:
    problem = warning("datasets/d.jsonl", 3, "output", "duplicate example")
    assert annotation(problem, NO_WORKSPACE).startswith("::warning file=datasets/d.jsonl,line=3,")


def test_whole_file_problems_have_no_line_and_no_title() -> None:
    problem = error("reconciler.yaml", 0, "", "not a mapping")
    assert annotation(problem, NO_WORKSPACE) == ("::error file=reconciler.yaml::reconciler.yaml: not a mapping")


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [("100%", "100%25"), ("a\nb", "a%0Ab"), ("a\r\nb", "a%0D%0Ab"), ("a:b,c", "a:b,c")],
)
def test_messages_escape_percent_and_newlines_only(raw: str, escaped: str) -> None:
    assert escape_data(raw) == escaped


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [("a:b", "a%3Ab"), ("a,b", "a%2Cb"), ("50%\n", "50%25%0A"), ("plain.path", "plain.path")],
)
def test_properties_also_escape_colon_and_comma(raw: str, escaped: str) -> None:
    assert escape_property(raw) == escaped


def test_a_message_cannot_start_a_second_command() -> None:
    problem = error("m.yaml", 1, "spec,x:y", "bad\n::error::injected")
    line = annotation(problem, NO_WORKSPACE)
    assert "\n" not in line
    assert "title=spec%2Cx%3Ay::" in line
    # The runner reads commands only at the start of a line; the escaped
    # newline keeps the injected text inside this one message.
    assert line.endswith("bad%0A::error::injected")


def test_paths_are_made_relative_to_the_workspace(tmp_path: Path) -> None:
    file = tmp_path / "manifests" / "a.yaml"
    assert workspace_path(str(file), {"GITHUB_WORKSPACE": str(tmp_path)}) == "manifests/a.yaml"


def test_paths_outside_the_workspace_are_kept(tmp_path: Path) -> None:
    workspace = {"GITHUB_WORKSPACE": str(tmp_path / "repo")}
    assert workspace_path("/elsewhere/a.yaml", workspace) == "/elsewhere/a.yaml"
    assert workspace_path("manifests/a.yaml", NO_WORKSPACE) == "manifests/a.yaml"


def test_only_github_actions_true_counts() -> None:
    assert in_github_actions({"GITHUB_ACTIONS": "true"})
    assert not in_github_actions({"GITHUB_ACTIONS": "false"})
    assert not in_github_actions({})


def _printed(problem: Problem) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    print_problem(Console(out=out, err=err), problem)
    return out.getvalue(), err.getvalue()


def test_problems_are_annotations_on_stderr_in_github_actions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    out, err = _printed(error("m.yaml", 2, "spec.displayName", "too long"))
    assert out == ""
    assert err == ("::error file=m.yaml,line=2,title=spec.displayName::m.yaml:2: spec.displayName: too long\n")


def test_problems_are_plain_lines_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    assert _printed(error("m.yaml", 2, "", "bad"))[1] == "Error: m.yaml:2: bad\n"
    assert _printed(warning("m.yaml", 2, "", "odd"))[1] == "Warning: m.yaml:2: odd\n"
