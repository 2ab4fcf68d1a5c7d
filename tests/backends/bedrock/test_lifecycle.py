"""A Bedrock repository's whole life through the planner and the executor, in
process, against the test service: create, a second plan clean, a description
changed in place (a tag), the data changed (a gated replace, create-first, the
deployment handed over), prune. The rules are the Bedrock rules (create-first,
`bedrock/{key}`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.executor import ApplyOptions, ApplyResult, Executor
from reconciler.apply.progress import RecordingReporter
from reconciler.backends.bedrock import BedrockBackend
from reconciler.plan import PlanOptions, plan
from reconciler.plan.types import Action, Plan
from tests.backends.bedrock.flows import SMOKE, connect, load, manifest, waiter, write_manifest, write_repo

pytestmark = pytest.mark.usefixtures("bedrock_installed")
RULES = BedrockBackend.rules


def _plan(service: Any, repo: Path) -> Plan:
    desired = load(repo)
    planned = plan(desired, connect(service, desired).observe(desired), RULES, PlanOptions(prune=True))
    assert not planned.has_errors, planned.errors
    return planned


def _actions(planned: Plan) -> list[tuple[str, str]]:
    return [(c.model_id, c.action.value) for c in planned.changes if c.action is not Action.NOOP]


def _apply(service: Any, repo: Path) -> ApplyResult:
    desired = load(repo)
    backend = connect(service, desired)
    planned = plan(desired, backend.observe(desired), RULES, PlanOptions(prune=True))
    options = ApplyOptions(concurrency=2, max_deletions=5)
    result = Executor(backend, desired, RecordingReporter(), waiter(service), options).run(planned)
    failed = [(o.model_id, o.message) for o in result.outcomes if not o.ok]
    assert failed == []
    return result


def test_create_update_replace_and_prune(any_service: Any, tmp_path: Path) -> None:
    service = any_service
    repo = write_repo(tmp_path, [manifest("numbers", smoke=SMOKE), manifest("letters")])
    assert _actions(_plan(service, repo)) == [("letters", "create"), ("numbers", "create")]
    created = _apply(service, repo)
    assert [(s.model_id, s.passed) for s in created.smoke] == [("numbers", True)]
    assert _actions(_plan(service, repo)) == []  # the second plan is clean

    write_manifest(repo, manifest("numbers", smoke=SMOKE, description="Counts, one by one."))
    assert _actions(_plan(service, repo)) == [("numbers", "update")]
    _apply(service, repo)
    assert _actions(_plan(service, repo)) == []
    assert len(service.jobs()) == 2  # a description never re-tunes

    write_manifest(repo, manifest("numbers", smoke=SMOKE, description="Counts, one by one."), shift=1)
    before = {n: d["customModelDeploymentArn"] for n, d in service.deployments().items()}
    assert _actions(_plan(service, repo)) == [("numbers", "replace")]
    replaced = _apply(service, repo)
    assert [(s.model_id, s.passed) for s in replaced.smoke] == [("numbers", True)]  # on the candidate, through Converse
    assert _actions(_plan(service, repo)) == []
    after = {n: d["customModelDeploymentArn"] for n, d in service.deployments().items()}
    assert len(after) == 2 and len(set(after.values()) - set(before.values())) == 1  # handed over
    assert len(service.models()) == 2 and len(service.jobs()) == 3

    (repo / "manifests" / "letters.yaml").unlink()
    assert _actions(_plan(service, repo)) == [("letters", "delete")]
    _apply(service, repo)
    assert _actions(_plan(service, repo)) == []
    assert len(service.models()) == 1 and len(service.deployments()) == 1
    assert len(service.jobs()) == 3  # jobs stay, as tombstones
