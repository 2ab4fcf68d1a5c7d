"""Checks across manifests: duplicate ids, sourceModel references and cycles, and the
chosen backend's checks of each (its rules, dataset limits and targets)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from reconciler.loader.limits import DatasetLimits
from reconciler.loader.problems import Problem, error
from reconciler.loader.yamldoc import Document
from reconciler.model.manifest import TunedModelManifest
from reconciler.model.shards import Shards

# A backend's own rules for one valid manifest: (field path, message) per problem.
ManifestCheck = Callable[[TunedModelManifest], Iterable[tuple[tuple[str, ...], str]]]


@dataclass(frozen=True)
class BackendChecks:
    """What the chosen backend checks: its rules for each manifest, and its dataset limits and formats."""

    manifest: ManifestCheck
    limits: DatasetLimits
    # The manifest as the backend reads it, where two spellings mean one thing
    # (Vertex AI: `publishers/google/models/X` is `X`): one fingerprint for both.
    canonical: Callable[[TunedModelManifest], TunedModelManifest] | None = None
    # The limits and format of one valid manifest's training and validation data,
    # where they depend on it (its base model's); `limits` otherwise.
    limits_for: Callable[[TunedModelManifest], DatasetLimits] | None = None
    # Its targets (reconciler.yaml's backend block and `targets:`): the one a
    # manifest's spec.target chooses must be among them.
    shards: Shards | None = None

    @classmethod
    def by_shard(cls, checks: Mapping[str, BackendChecks], shards: Shards) -> BackendChecks:
        """The checks of each shard (its region's base models and limits), each
        run on the manifests of that shard."""
        default = checks[shards.default.key]
        if len(checks) == 1:
            return replace(default, shards=shards)

        def of(manifest: TunedModelManifest) -> BackendChecks:
            return checks[(shards.of(manifest.spec.target) or shards.default).key]

        def canonical(manifest: TunedModelManifest) -> TunedModelManifest:
            own = of(manifest).canonical
            return own(manifest) if own is not None else manifest

        def limits_for(manifest: TunedModelManifest) -> DatasetLimits:
            own = of(manifest)
            return own.limits_for(manifest) if own.limits_for is not None else own.limits

        return cls(lambda m: of(m).manifest(m), default.limits, canonical, limits_for, shards)

    def manifest_check(self) -> ManifestCheck:
        """Its manifest rules, and where the manifest's `spec.target` points."""
        if self.shards is None:
            return self.manifest
        shards = self.shards

        def check(manifest: TunedModelManifest) -> Iterator[tuple[tuple[str, ...], str]]:
            yield from self.manifest(manifest)
            target = manifest.spec.target
            problem = shards.problem(target) if target is not None else None
            if problem is not None:
                yield _TARGET, problem

        return check


_NAME = ("metadata", "name")
_SOURCE = ("spec", "sourceModel")
_TARGET = ("spec", "target")


@dataclass(frozen=True)
class Declared:
    """A manifest that validated, with where it came from."""

    manifest: TunedModelManifest
    document: Document
    file: str  # as displayed

    @property
    def id(self) -> str:
        return self.manifest.id

    def at(self, path: tuple[str, ...]) -> str:
        return f"{self.file}:{self.document.line_of(path)}"

    @property
    def source_id(self) -> str | None:
        return self.manifest.spec.source_id


def cross_problems(
    declared: Sequence[Declared], invalid_ids: Collection[str] = (), shards: Shards | None = None
) -> Iterator[Problem]:
    """`invalid_ids`: ids of manifests that failed validation; they are declared,
    so a model tuned from one is not reported again for a missing source."""
    yield from _duplicates(declared)
    by_id = {d.id: d for d in reversed(declared)}  # the first declaration wins
    yield from _missing_sources(declared, by_id, invalid_ids)
    yield from _cycles(declared, by_id)
    if shards is not None:
        yield from _sources_elsewhere(declared, by_id, shards)


def _sources_elsewhere(declared: Sequence[Declared], by_id: dict[str, Declared], shards: Shards) -> Iterator[Problem]:
    # A model is tuned where its source lives: a service reads a source model
    # of its own project and region only, and a shard plans on its own.
    for item in declared:
        source = by_id.get(item.source_id or "")
        if source is None:
            continue
        here, there = shards.of(item.manifest.spec.target), shards.of(source.manifest.spec.target)
        if here is not None and there is not None and here != there:
            yield error(
                item.file,
                item.document.line_of(_SOURCE),
                "spec.sourceModel",
                f"{source.id} lives at another target ({there.label}) than this model ({here.label}): "
                "a model is tuned where its source model lives",
            )


def _duplicates(declared: Sequence[Declared]) -> Iterator[Problem]:
    first: dict[str, Declared] = {}
    for item in declared:
        if item.id in first:
            line = item.document.line_of(_NAME)
            yield error(
                item.file,
                line,
                "metadata.name",
                f"duplicate id {item.id}: also declared at {first[item.id].at(_NAME)}",
            )
        else:
            first[item.id] = item


def _missing_sources(
    declared: Sequence[Declared], by_id: dict[str, Declared], invalid_ids: Collection[str]
) -> Iterator[Problem]:
    # The plan must order a source before its dependents and fingerprint what
    # the dependent is tuned from, so the source has to be declared here too.
    for item in declared:
        source = item.source_id
        if source is not None and source not in by_id and source not in invalid_ids:
            yield error(
                item.file,
                item.document.line_of(_SOURCE),
                "spec.sourceModel",
                f"no manifest declares {item.manifest.spec.source_model}",
            )


def _cycles(declared: Sequence[Declared], by_id: dict[str, Declared]) -> Iterator[Problem]:
    reported: set[str] = set()
    for item in declared:
        cycle = _cycle_from(item.id, by_id)
        if cycle is None or reported.intersection(cycle):
            continue
        reported.update(cycle)
        chain = " -> ".join([*cycle, cycle[0]])
        yield error(
            item.file,
            item.document.line_of(_SOURCE),
            "spec.sourceModel",
            f"sourceModel cycle: {chain}",
        )


def _cycle_from(start: str, by_id: dict[str, Declared]) -> list[str] | None:
    """The cycle `start` belongs to, beginning at `start`; None when it is on no cycle."""
    path: list[str] = []
    current: str | None = start
    while current is not None and current in by_id and current not in path:
        path.append(current)
        current = by_id[current].source_id
    return path if current == start else None
