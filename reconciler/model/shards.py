"""Shards: the manifests that share a quota boundary, planned and applied on their own.

A tuning service's quotas are per target: on Vertex AI a project and location,
on Amazon Bedrock an account and region, on the Gemini API the key's project
(one target). reconciler.yaml's backend block names the default target, and
`targets:` the others a manifest may choose with `spec.target`. A shard is one
target with the manifests that live there: two shards never compete for one
quota and share no live model, so they need no lock between them and can run
as jobs of their own (a GitHub Actions matrix; docs/shards.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.model.settings import Settings

# The most jobs one GitHub Actions workflow run's matrix makes.
MAX_SHARDS = 256
# A shard's key names files, artifacts and concurrency groups.
KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Shard:
    key: str  # stable, and safe as a file or concurrency group name
    label: str  # for people: "Vertex AI project my-project, us-central1"
    target: Mapping[str, str]  # its values of the backend's target keys
    settings: Settings = field(compare=False)  # a run's settings on this shard: the block holds the target

    def __post_init__(self) -> None:
        if KEY.fullmatch(self.key) is None:
            raise ValueError(f"a shard key must be letters, digits, '.', '-' and '_': {self.key!r}")


@dataclass(frozen=True)
class Shards:
    keys: tuple[str, ...]  # what `spec.target` may name; none: the backend has one target
    all: tuple[Shard, ...]  # the default target's first

    @property
    def default(self) -> Shard:
        return self.all[0]

    def get(self, key: str) -> Shard | None:
        return next((shard for shard in self.all if shard.key == key), None)

    def of(self, target: Mapping[str, str] | None) -> Shard | None:
        """The shard a manifest's `spec.target` chooses (a key it leaves out is the
        default target's); None when reconciler.yaml allows no such target."""
        wanted = {**self.default.target, **(target or {})}
        return next((shard for shard in self.all if dict(shard.target) == wanted), None)

    def problem(self, target: Mapping[str, str]) -> str | None:
        """Why a manifest's `spec.target` is refused, or None."""
        if not self.keys:
            return "this backend has one target (reconciler.yaml's); spec.target is not used"
        unknown = sorted(set(target) - set(self.keys))
        if unknown:
            return f"{', '.join(unknown)}: not a target key (this backend's are {', '.join(self.keys)})"
        if self.of(target) is None:
            wanted = {**self.default.target, **target}
            named = ", ".join(f"{k} {v}" for k, v in wanted.items())
            return f"{named} is not among reconciler.yaml's targets (allowed: {', '.join(self.listed())})"
        return None

    def listed(self) -> list[str]:
        return [shard.key for shard in self.all]

    def select(self, key: str) -> Shard:
        """The shard `--shard KEY` names; a KeyError whose message lists the keys."""
        shard = self.get(key)
        if shard is None:
            raise KeyError(f"--shard {key}: no such shard (this repository's: {', '.join(self.listed())})")
        return shard


def one_shard(settings: Settings, key: str, label: str) -> Shards:
    """A backend with one target: every manifest is in its one shard."""
    return Shards(keys=(), all=(Shard(key, label, {}, settings),))


def shards_from(
    keys: tuple[str, ...], entries: Iterable[Mapping[str, Any]], build: Callable[[Mapping[str, Any]], Shard]
) -> Shards:
    """The default target's shard (`build()`), then one for each `targets:` entry
    (`build(entry)`); a target listed twice is a ValueError naming it."""
    shards = [build({})]
    for entry in entries:
        shard = build(entry)
        if shard in shards:
            where = "the default target (the backend block's)" if shard == shards[0] else "another entry"
            raise ValueError(f"targets: {shard.key} is listed twice: it is also {where}")
        shards.append(shard)
    return Shards(keys=keys, all=tuple(shards))
