"""Loader problems as GitHub Actions workflow commands, so they show on the diff.

When `GITHUB_ACTIONS=true`, a problem is printed as
`::error file=manifests/a.yaml,line=16,title=spec.hyperparameters.epochCount::...`
instead of a plain `Error: ...` line. The runner turns that into an annotation
on the pull request's "Files changed" tab and still shows the message in the
log. Workflow commands are read from stderr as well as stdout, so they go to
stderr and `--output json` on stdout stays one clean document.

Escaping follows the runner's own rules (actions/toolkit `command.ts`): the
message escapes `%`, CR and LF; properties also escape `:` and `,`, which
would otherwise end the property.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from reconciler.cli.console import Console, in_github_actions
from reconciler.loader.problems import Problem

_DATA_ESCAPES = (("%", "%25"), ("\r", "%0D"), ("\n", "%0A"))
_PROPERTY_ESCAPES = (*_DATA_ESCAPES, (":", "%3A"), (",", "%2C"))


def escape_data(text: str) -> str:
    for raw, escaped in _DATA_ESCAPES:
        text = text.replace(raw, escaped)
    return text


def escape_property(text: str) -> str:
    for raw, escaped in _PROPERTY_ESCAPES:
        text = text.replace(raw, escaped)
    return text


def workspace_path(file: str, env: Mapping[str, str] | None = None) -> str:
    """`file` relative to the checkout ($GITHUB_WORKSPACE), as annotations need.

    Problems name files relative to the current folder; a job that runs the
    CLI from a subfolder would otherwise annotate a path that does not exist.
    Files outside the workspace keep their path unchanged.
    """
    workspace = (os.environ if env is None else env).get("GITHUB_WORKSPACE")
    if not workspace or not file:
        return file
    relative = os.path.relpath(os.path.abspath(file), os.path.abspath(workspace))
    return file if relative.startswith("..") else relative.replace(os.sep, "/")


def annotation(problem: Problem, env: Mapping[str, str] | None = None) -> str:
    """The workflow command for one problem: `::error ...::` or `::warning ...::`."""
    properties = [f"file={escape_property(workspace_path(problem.file, env))}"]
    if problem.line:
        properties.append(f"line={problem.line}")
    if problem.field:
        properties.append(f"title={escape_property(problem.field)}")
    # The whole readable line is the message: the log shows only the message,
    # so it keeps the file and line for someone reading the raw log.
    return f"::{problem.severity} {','.join(properties)}::{escape_data(str(problem))}"


def print_problem(console: Console, problem: Problem) -> None:
    """One problem on stderr: an annotation in GitHub Actions, a plain line elsewhere."""
    if in_github_actions():
        console.command(annotation(problem))
    elif problem.is_error:
        console.error(str(problem))
    else:
        console.warn(str(problem))
