"""Which model is tuned from which: targets, cycles and the order of changes."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping

from reconciler.model.desired import DesiredModel
from reconciler.model.live import LiveModel
from reconciler.plan.types import Action, Change

# Deletes (and forgets) first, then the models themselves, then their grants.
_DELETE_GROUP, _MODEL_GROUP, _PERMISSION_GROUP = 0, 1, 2


def with_sources(ids: Iterable[str], sources: Mapping[str, str]) -> set[str]:
    """`ids` plus, transitively, every model they are tuned from."""
    selected: set[str] = set()
    pending = list(ids)
    while pending:
        model_id = pending.pop()
        if model_id not in selected:
            selected.add(model_id)
            if model_id in sources:
                pending.append(sources[model_id])
    return selected


def root_base_model(model_id: str, desired: Mapping[str, DesiredModel], live: Mapping[str, LiveModel]) -> str | None:
    """The base model at the root of a model's chain: its own, or its source's
    (a manifest's, else the live model's); None where the chain is not known
    (or is a cycle, an error of its own)."""
    seen: set[str] = set()
    while model_id not in seen:
        seen.add(model_id)
        declared = desired.get(model_id)
        if declared is None:
            known = live.get(model_id)
            return (known.base_model or None) if known is not None else None
        spec = declared.manifest.spec
        if spec.base_model is not None:
            return spec.base_model
        model_id = spec.source_id or ""
    return None


def find_cycles(sources: Mapping[str, str]) -> list[list[str]]:
    """Every chain of sourceModel references that loops back on itself."""
    cycles: list[list[str]] = []
    settled: set[str] = set()
    for start in sorted(sources):
        path: list[str] = []
        node: str | None = start
        while node is not None and node not in settled and node not in path:
            path.append(node)
            node = sources.get(node)
        if node is not None and node in path:
            cycles.append(path[path.index(node) :])
        settled.update(path)
    return cycles


def depth(model_id: str, sources: Mapping[str, str]) -> int:
    """How many tuned models lie under this one (0 for one tuned from a base model)."""
    seen: set[str] = set()
    levels = 0
    while model_id in sources and model_id not in seen:
        seen.add(model_id)
        model_id = sources[model_id]
        levels += 1
    return levels


def _group(change: Change) -> int:
    if change.action.is_permission:
        return _PERMISSION_GROUP
    if change.action in (Action.DELETE, Action.FORGET):
        return _DELETE_GROUP
    return _MODEL_GROUP


def order_changes(changes: Iterable[Change]) -> tuple[Change, ...]:
    """A stable topological order over `depends_on`: a change comes after the model
    changes of every id it depends on; among free changes, deletes go first and
    grants last, otherwise the given order is kept."""
    items = list(changes)
    model_changes: dict[str, list[int]] = {}
    for index, change in enumerate(items):
        if not change.action.is_permission:
            model_changes.setdefault(change.model_id, []).append(index)
    waiting_on = [
        {i for dep in change.depends_on for i in model_changes.get(dep, ()) if i != index}
        for index, change in enumerate(items)
    ]
    unblocks: dict[int, list[int]] = {}
    for index, blockers in enumerate(waiting_on):
        for blocker in blockers:
            unblocks.setdefault(blocker, []).append(index)
    ready = [(_group(items[i]), i) for i, blockers in enumerate(waiting_on) if not blockers]
    heapq.heapify(ready)
    ordered: list[int] = []
    while ready:
        _, index = heapq.heappop(ready)
        ordered.append(index)
        for follower in unblocks.get(index, ()):
            waiting_on[follower].discard(index)
            if not waiting_on[follower]:
                heapq.heappush(ready, (_group(items[follower]), follower))
    # A cycle would leave changes behind; the planner reports cycles as errors,
    # so keep whatever is left in its given order rather than drop it.
    done = set(ordered)
    ordered.extend(i for i in range(len(items)) if i not in done)
    return tuple(items[i] for i in ordered)
