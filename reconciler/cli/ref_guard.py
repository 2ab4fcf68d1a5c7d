"""In GitHub Actions, `apply` and `reconcile` run only on the ref allowed to write.

The `reconciler-apply` environment's deployment-branch rule keeps the writing
identity's secrets away from other branches (docs/github.md); this is the
second lock, in the tool itself, for a workflow that names the secrets some
other way. With GITHUB_ACTIONS=true, the ref GitHub runs on (GITHUB_REF) must
be the configured one: `--apply-ref`, else reconciler.yaml's `applyRef`, else
the repository's default branch, read from the event payload GitHub writes at
GITHUB_EVENT_PATH. `*` allows any ref. The check runs before anything is sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

ANY_REF = "*"
# An event payload is a few kilobytes; more is not one GitHub wrote.
MAX_EVENT_BYTES = 16 * 1024 * 1024


def ref_refusal(env: Mapping[str, str], allowed: str | None, command: str) -> str | None:
    """Why `command` must not run on this ref, or None when it may."""
    if env.get("GITHUB_ACTIONS") != "true" or allowed == ANY_REF:
        return None
    wanted = allowed or default_branch(env.get("GITHUB_EVENT_PATH", ""))
    how = "name the ref that may apply with `applyRef` in reconciler.yaml or `--apply-ref REF` ('*': any ref)"
    if not wanted:
        return (
            f"refusing to {command} in GitHub Actions: the repository's default branch is not in the "
            f"event payload (GITHUB_EVENT_PATH); {how}; nothing was sent"
        )
    expected = full_ref(wanted)
    ref = env.get("GITHUB_REF", "")
    if ref == expected:
        return None
    return (
        f"refusing to {command} in GitHub Actions on {ref or 'an unknown ref (GITHUB_REF is not set)'}: "
        f"only {expected} may {command}{'' if allowed else ' (the default branch)'}; nothing was sent. "
        f"To {command} from another ref, {how}"
    )


def full_ref(name: str) -> str:
    """`main` is the branch refs/heads/main; a name starting with refs/ is taken as it is."""
    return name if name.startswith("refs/") else f"refs/heads/{name}"


def default_branch(event_path: str) -> str | None:
    """`repository.default_branch` of the event payload, or None when it has none."""
    if not event_path:
        return None
    try:
        path = Path(event_path)
        if path.stat().st_size > MAX_EVENT_BYTES:
            return None
        event = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    repository = event.get("repository") if isinstance(event, dict) else None
    branch = repository.get("default_branch") if isinstance(repository, dict) else None
    return branch if isinstance(branch, str) and branch else None
