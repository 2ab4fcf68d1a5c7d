"""Load a repository: reconciler.yaml, every manifest and every dataset, in one pass.

Nothing stops at the first problem: each file is read, each document and
dataset checked, and every problem collected, so one run lists them all.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from pydantic import ValidationError

from reconciler.loader import datasets
from reconciler.loader.cache import DatasetCache
from reconciler.loader.checks import BackendChecks, Declared, ManifestCheck, cross_problems
from reconciler.loader.contents import Turns
from reconciler.loader.datasets import FieldNamer, Keys, Row, Scan
from reconciler.loader.evaluation import TrainingIndex, Where, row_problems, size_problems
from reconciler.loader.files import MAX_YAML_BYTES, FileProblem, Resolver, confined, inside, read_bounded, resolve
from reconciler.loader.layout import DEFAULT_MANIFESTS, MANIFEST_SUFFIXES, Layout, display_path, locate, manifest_files
from reconciler.loader.limits import NO_LIMITS, DatasetLimits
from reconciler.loader.problems import Problem, error, warning
from reconciler.loader.readers import RowOrProblem, read_rows
from reconciler.loader.validation import validate
from reconciler.loader.yamldoc import Document, parse_documents
from reconciler.model.desired import DatasetSource, DatasetSummary, Desired, DesiredModel, EvaluationSet
from reconciler.model.manifest import Evaluation, Example, TrainingData, TunedModelManifest
from reconciler.model.registry import DEFAULT_BACKEND, UnknownBackend
from reconciler.model.settings import DEFAULT_EVALUATION_MAX_EXAMPLES, Settings, settings_type
from reconciler.model.shards import Shards

_TRAINING_DATA = ("spec", "trainingData")
_DATA_FILE = ("spec", "trainingData", "file")
_VALIDATION_DATA = ("spec", "validationData")
_EVALUATION = ("spec", "evaluation")
_EVALUATION_DATA = ("spec", "evaluation", "data")
_MANIFESTS_SETTING = ("manifests",)
_NAME = ("metadata", "name")
_SOURCE = ("spec", "sourceModel")

# For the repository's settings: the chosen backend's checks (a bare
# ManifestCheck: its manifest rules only, no dataset limits).
ChecksFor = Callable[[Settings], "ManifestCheck | BackendChecks"]


@dataclass(frozen=True)
class LoadResult:
    """What loading found. `desired` is None whenever there is any error."""

    desired: Desired | None
    problems: tuple[Problem, ...]
    # Every model whose manifest validated and whose data could be read,
    # even when something else is wrong (validate still summarizes them).
    models: tuple[DesiredModel, ...] = ()
    settings: Settings = field(default_factory=Settings)  # reconciler.yaml's, or the defaults
    # The problems between manifests (duplicate ids, missing sources, cycles),
    # also in `problems`: a change to one file can break another's reference.
    between_files: tuple[Problem, ...] = ()
    # False when reconciler.yaml did not validate: `settings` are then the defaults,
    # and nothing that depends on the backend (such as step estimates) holds.
    settings_valid: bool = True

    @property
    def ok(self) -> bool:
        return not any(p.is_error for p in self.problems)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.is_error)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if not p.is_error)


def load(
    path: str | Path,
    *,
    cwd: Path | None = None,
    checks_for: ChecksFor | None = None,
    on_manifests: Callable[[], None] | None = None,
) -> LoadResult:
    """Load a repository root, a manifests folder or one manifest file.

    `checks_for` gives, for the repository's settings, the checks of the
    backend they choose (what its API accepts), run on every valid manifest,
    and the dataset limits of that backend (`BackendChecks`). Without it only
    what every backend shares is checked.
    `on_manifests` is called once the settings and every manifest have loaded
    without an error, before the datasets are read (a plan starts its list of
    live models there: never for a repository whose manifests are bad).
    """
    loading = _Load(Path(path), cwd, checks_for)
    loading.on_manifests = on_manifests
    return loading.run()


def load_files(
    paths: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    checks_for: ChecksFor | None = None,
) -> LoadResult:
    """Check some files of a repository, as a pre-commit hook passes them.

    The whole repository is loaded, since a manifest may name a `sourceModel`
    declared in another file, and only what concerns the given files is kept:
    their problems, those of the datasets their manifests read, and their models;
    and every problem between manifests, wherever it is reported (a file given
    may take an id another declares, or drop one another is tuned from).
    A given file the repository does not read is a problem of its own.
    """
    cwd = (cwd or Path.cwd()).resolve()
    given = [Path(p).resolve() for p in paths]
    missing = [error(str(p), 0, "", "no such file or folder") for p in paths if not Path(p).exists()]
    if missing or not given:
        return LoadResult(None, tuple(missing))
    layout = locate(given[0], cwd)
    if layout.settings_file is None and not (layout.root / DEFAULT_MANIFESTS).is_dir():
        # Not in a repository: each file stands alone, as `load(file)` reads it.
        results = [load(p, cwd=cwd, checks_for=checks_for) for p in given]
        return _merged(results)
    whole = load(layout.root, cwd=cwd, checks_for=checks_for)
    models = tuple(m for m in whole.models if (layout.root / m.file).resolve() in given)
    read = {*(Path(path) for m in models for path in _data_paths(m)), *given}
    shown = {display_path(path, cwd) for path in read}
    between_files = set(whole.between_files)
    problems = [p for p in whole.problems if p.file in shown or p in between_files]
    problems += [_not_read(display_path(p, cwd), p) for p in given if not _read_by(whole, layout, p)]
    ok = not any(p.is_error for p in problems)
    return LoadResult(
        whole.desired if ok else None, tuple(problems), models, whole.settings, settings_valid=whole.settings_valid
    )


# The formats a dataset may have (readers.read_rows).
_DATASET_SUFFIXES = (".jsonl", ".json", ".csv")


def _not_read(shown: str, path: Path) -> Problem:
    """A file given that the repository does not read. A dataset no manifest uses
    any more is a warning: deleting the manifest that used it, or committing
    the dataset before the manifest, is a valid commit. Anything else is an
    error: a manifest outside the manifests folder would silently be ignored."""
    if path.suffix.lower() in _DATASET_SUFFIXES:
        return warning(
            shown, 0, "", "a dataset no manifest uses: nothing reads it (name it in a manifest, or delete it)"
        )
    return error(
        shown,
        0,
        "",
        "not read by the repository: not a manifest under its manifests folder, "
        "its reconciler.yaml or a dataset of its manifests",
    )


def _read_by(result: LoadResult, layout: Layout, path: Path) -> bool:
    """Whether loading the repository read `path`: its settings, a manifest or a dataset."""
    if layout.settings_file is not None and path == layout.settings_file.resolve():
        return True
    if any(Path(data) == path for m in result.models for data in _data_paths(m)):
        return True
    settings, _, _ = load_settings(layout.root)
    folder = (layout.root / settings.manifests).resolve()
    return path.suffix.lower() in MANIFEST_SUFFIXES and inside(path, folder)


def _data_paths(model: DesiredModel) -> list[str]:
    """The data files a model reads: training, and validation and evaluation if any."""
    evaluation = model.evaluation.source if model.evaluation is not None else None
    sources = (model.dataset_source, model.validation_source, evaluation)
    return [source.path for source in sources if source is not None and source.path]


def _merged(results: Sequence[LoadResult]) -> LoadResult:
    problems = tuple(p for r in results for p in r.problems)
    models = tuple(m for r in results for m in r.models)
    ok = all(r.ok for r in results)
    return LoadResult(
        results[0].desired if ok and len(results) == 1 else None,
        problems,
        models,
        results[0].settings,
        settings_valid=all(r.settings_valid for r in results),
    )


def _declared_id(document: Document) -> str:
    """The metadata.name a document gives, even when the manifest is invalid."""
    data = document.data
    metadata = data.get("metadata") if isinstance(data, dict) else None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else ""


def load_settings(path: str | Path) -> tuple[Settings, Path, tuple[Problem, ...]]:
    """reconciler.yaml alone, with the repository root (for commands such as export)."""
    loader = _Load(Path(path), None)
    layout = locate(Path(path))
    loader.root = layout.root.resolve()
    settings = loader._settings(layout.settings_file)
    return settings, layout.root, tuple(loader.problems)


@dataclass(frozen=True)
class _Declared(Declared):
    path: Path  # the manifest file itself


@dataclass(frozen=True)
class _Origin:
    """The manifest document a dataset is declared in, for locating its problems."""

    document: Document
    file: str  # as displayed
    path: Path


class _Load:
    def __init__(self, path: Path, cwd: Path | None, checks_for: ChecksFor | None = None) -> None:
        self.path = path
        self.checks_for = checks_for
        self.check: ManifestCheck | None = None
        self.shards: Shards | None = None
        self.limits: DatasetLimits = NO_LIMITS
        self.canonical: Callable[[TunedModelManifest], TunedModelManifest] | None = None
        self.limits_for: Callable[[TunedModelManifest], DatasetLimits] | None = None
        self.on_manifests: Callable[[], None] | None = None
        self.cwd = (cwd or Path.cwd()).resolve()
        self.problems: list[Problem] = []
        # Every file read, by path: its SHA-256, taken in the pass that parses
        # it (a dataset is read once). A hashing thread cost more than it saved
        # on many small files: each hand-off waited for the GIL. Keyed by the
        # path's text (the string a Path keeps anyway), so a dataset's Path
        # object is not held for the whole load.
        self.file_hashes: dict[str, str] = {}
        self.resolver = Resolver()
        self.cache: DatasetCache | None = None
        self.invalid_ids: set[str] = set()  # metadata.name of manifests that failed validation
        # by path text (as file_hashes), keys, system instruction and the limits checked
        self.scans: dict[tuple[str, Keys, str | None, DatasetLimits], Scan | None] = {}
        self.root = Path()
        self.settings_document: Document | None = None
        self.settings_invalid = False  # reconciler.yaml did not validate: no backend's checks run
        self.max_evaluation_examples = DEFAULT_EVALUATION_MAX_EXAMPLES  # reconciler.yaml's, once read
        self.paths: dict[tuple[str | int, ...], tuple[str | int, ...]] = {}  # one tuple per line-table path

    def show(self, path: Path) -> str:
        return display_path(path, self.cwd)

    def run(self) -> LoadResult:
        result = self._run()
        if self.cache is not None:
            self.cache.save()
        return result

    def _run(self) -> LoadResult:
        if not self.path.exists():
            return LoadResult(None, (error(str(self.path), 0, "", "no such file or folder"),))
        layout = locate(self.path, self.cwd)
        self.root = layout.root.resolve()
        settings = self._settings(layout.settings_file)
        if not self.settings_invalid:
            # Invalid settings fall back to the defaults: checking the manifests
            # against the default backend's rules would bury the one mistake
            # under errors that are not (backend: vertx and a Vertex repository).
            self._choose_checks(settings)
        self.max_evaluation_examples = settings.evaluation.max_examples
        self.cache = DatasetCache(self.root) if settings.dataset_cache else None
        target = self._manifests_target(layout, settings)
        declared = list(self._all_manifests(target)) if target is not None else []
        if self.on_manifests is not None and not any(p.is_error for p in self.problems):
            self.on_manifests()
        models = [m for d in declared if (m := self._desired_model(d, layout)) is not None]
        between_files = tuple(cross_problems(declared, self.invalid_ids, self.shards))
        self.problems.extend(between_files)
        problems = tuple(self.problems)
        if any(p.is_error for p in problems):
            return LoadResult(
                None, problems, tuple(models), settings, between_files, settings_valid=not self.settings_invalid
            )
        desired = Desired(
            models=tuple(models),
            settings=settings,
            root=str(layout.root),
            digest=self._digest(layout.root),
        )
        return LoadResult(desired, problems, tuple(models), settings, between_files)

    def _choose_checks(self, settings: Settings) -> None:
        chosen = self.checks_for(settings) if self.checks_for else None
        if isinstance(chosen, BackendChecks):
            self.check, self.limits, self.canonical = chosen.manifest_check(), chosen.limits, chosen.canonical
            self.limits_for, self.shards = chosen.limits_for, chosen.shards
        else:
            self.check = chosen

    # ----------------------------------------------------------------- files

    def _manifests_target(self, layout: Layout, settings: Settings) -> Path | None:
        """The manifests folder or file to load; None (and a problem) if it lies outside the repository."""
        if not layout.target_is_root:
            return layout.target
        file = self.show(layout.settings_file) if layout.settings_file else str(layout.root)
        line = self.settings_document.line_of(_MANIFESTS_SETTING) if self.settings_document else 0
        try:
            target = resolve(layout.target / settings.manifests)
        except FileProblem as exc:
            self.problems.append(error(file, line, "manifests", str(exc)))
            return None
        if inside(target, self.root):
            return target
        message = f"{settings.manifests} leads outside the repository; manifests must live inside it"
        self.problems.append(error(file, line, "manifests", message))
        return None

    def _read_yaml(self, path: Path, what: str = "manifests") -> list[Document]:
        # Manifests and settings are confined like datasets: a regular file inside
        # the repository, never read past MAX_YAML_BYTES, never a FIFO or a device.
        try:
            data = read_bounded(confined(path, self.root, what, resolver=self.resolver), MAX_YAML_BYTES)
        except FileProblem as exc:
            self.problems.append(error(self.show(path), 0, "", str(exc)))
            return []
        self.file_hashes[str(path)] = hashlib.sha256(data).hexdigest()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            self.problems.append(error(self.show(path), line, "", "invalid UTF-8"))
            return []
        documents, problems = parse_documents(text, self.show(path))
        self.problems.extend(problems)
        return documents

    def _settings(self, path: Path | None) -> Settings:
        if path is None:
            return Settings()
        documents = self._read_yaml(path, "settings")
        if len(documents) > 1:
            self.problems.append(error(self.show(path), documents[1].line, "", "must hold one YAML document"))
        if not documents:
            return Settings()
        self.settings_document = documents[0]
        try:
            chosen = settings_type(_backend_named(documents[0]))
        except UnknownBackend as exc:
            line = documents[0].line_of(("backend",))
            self.problems.append(error(self.show(path), line, "backend", str(exc)))
            self.settings_invalid = True
            return Settings()
        settings, problems = validate(chosen, documents[0], self.show(path))
        self.problems.extend(problems)
        self.settings_invalid = settings is None
        return settings or Settings()

    def _all_manifests(self, target: Path) -> Iterator[_Declared]:
        if not target.exists():
            # git keeps no empty folder: removing the last manifest removes the
            # folder. An empty desired set it is (prune still needs --allow-empty).
            self.problems.append(warning(self.show(target), 0, "", "no manifests folder (treated as empty)"))
            return
        files = manifest_files(target)
        for path, reason in files.skipped:
            self.problems.append(warning(self.show(path), 0, "", reason))
        for path in files.found:
            yield from self._manifests(path)
        if not files.found:
            # Only a warning: an empty desired set is legitimate, and what keeps
            # prune from deleting every managed model is the planning commands'
            # refusal to prune an empty set without --allow-empty.
            self.problems.append(warning(self.show(target), 0, "", "no manifests (.yaml or .yml files) found"))

    def _manifests(self, path: Path) -> Iterator[_Declared]:
        shown = self.show(path)
        for document in self._read_yaml(path):
            manifest, problems = validate(TunedModelManifest, document, shown)
            if manifest is not None and self.check is not None:
                problems = [
                    error(shown, document.line_of(path), ".".join(path), message)
                    for path, message in self.check(manifest)
                ]
                manifest = None if problems else manifest
            if manifest is not None and self.canonical is not None:
                manifest = self.canonical(manifest)
            self.problems.extend(problems)
            origin = _Origin(document, shown, path)
            if manifest is not None:
                # Later steps ask only for the lines of the datasets, the id and the
                # source, never for the data.
                slim = document.kept_for((_NAME, _SOURCE), (_TRAINING_DATA, _VALIDATION_DATA, _EVALUATION), self.paths)
                yield _Declared(manifest=manifest, document=slim, file=shown, path=path)
            else:
                self.invalid_ids.add(_declared_id(document))
                self._dataset_of_invalid_manifest(origin)

    def _dataset_of_invalid_manifest(self, origin: _Origin) -> None:
        """Check the data of a manifest that failed elsewhere, so one run reports both."""
        spec = origin.document.data.get("spec") if isinstance(origin.document.data, dict) else None
        raw = spec.get("trainingData") if isinstance(spec, dict) else None
        try:
            data = TrainingData.model_validate(raw)
        except ValidationError:
            return  # already reported with the rest of the manifest
        found = self._dataset(data, origin)
        if found is not None:
            self._check_totals(origin, found[0].summary, found[1], self.limits)

    # -------------------------------------------------------------- datasets

    def _desired_model(self, declared: _Declared, layout: Layout) -> DesiredModel | None:
        origin = _Origin(declared.document, declared.file, declared.path)
        spec = declared.manifest.spec
        limits = self.limits if self.limits_for is None else self.limits_for(declared.manifest)
        training: TrainingIndex | None = None
        if spec.training_data.unknown:
            summary, source = DatasetSummary.unknown(), DatasetSource()
        else:
            # With an evaluation set, the scan keeps the examples' hashes for its leakage check.
            found = self._dataset(
                spec.training_data,
                origin,
                keep_lines=spec.evaluation is not None,
                system_instruction=spec.system_instruction,
                limits=limits,
            )
            if found is None:
                return None
            summary, source = found[0].summary, found[1]
            self._check_totals(origin, summary, source, limits)
            if found[0].lines is not None:
                shown = self.show(Path(source.path)) if source.path else origin.file
                training = TrainingIndex(found[0].lines, shown)
        validation: tuple[DatasetSummary, DatasetSource] | None = None
        validation_data = declared.manifest.spec.validation_data
        if validation_data is not None:
            scanned = self._dataset(
                validation_data, origin, _VALIDATION_DATA, system_instruction=spec.system_instruction, limits=limits
            )
            if scanned is None:
                return None
            validation = (scanned[0].summary, scanned[1])
            self._check_validation_totals(origin, validation[0], validation[1], limits)
        evaluation: EvaluationSet | None = None
        if spec.evaluation is not None:
            evaluation = self._evaluation(spec.evaluation, origin, training)
            if evaluation is None:
                return None
        return DesiredModel(
            manifest=declared.manifest,
            file=_relative(declared.path, layout.root),
            line=declared.document.line,
            dataset=summary,
            dataset_source=source,
            validation=validation[0] if validation else None,
            validation_source=validation[1] if validation else None,
            evaluation=evaluation,
        )

    def _evaluation(
        self, evaluation: Evaluation, origin: _Origin, training: TrainingIndex | None
    ) -> EvaluationSet | None:
        """Scan `spec.evaluation.data` as any dataset, then check it as an evaluation set."""
        found = self._dataset(evaluation.data, origin, _EVALUATION_DATA)
        if found is None:
            return None
        scanned, source = found
        data = evaluation.data
        where_field = (*_EVALUATION_DATA, "file" if data.file is not None else "examples")
        where = Where(origin.file, origin.document.line_of(where_field), ".".join(_EVALUATION_DATA))
        too_big = size_problems(scanned.summary, self.max_evaluation_examples, where)
        self.problems.extend(too_big)
        if not too_big:  # at most the cap: the rows are read again, one at a time
            rows, display, namer, inline = self._evaluation_rows(data, source, origin)
            self.problems.extend(row_problems(rows, display, namer, evaluation.metrics, training, inline))
        return EvaluationSet(summary=scanned.summary, source=source)

    def _evaluation_rows(
        self, data: TrainingData, source: DatasetSource, origin: _Origin
    ) -> tuple[Iterator[RowOrProblem] | list[Row], str, FieldNamer, str | None]:
        """The evaluation rows again, where they are, how their fields are named
        and, for inline examples, their manifest field."""
        if source.path is None:
            prefix = ".".join((*_EVALUATION_DATA, "examples"))
            rows = self._inline_rows(data.examples or (), origin, _EVALUATION_DATA)
            return rows, origin.file, datasets.inline_field_namer(prefix), prefix
        keys = Keys.of(data.input_key, data.output_key)
        shown = self.show(Path(source.path))
        return read_rows(Path(source.path), keys, shown), shown, datasets.file_field_namer(keys), None

    def _dataset(
        self,
        data: TrainingData,
        origin: _Origin,
        where: tuple[str, ...] = _TRAINING_DATA,
        *,
        keep_lines: bool = False,
        system_instruction: str | None = None,
        limits: DatasetLimits | None = None,
    ) -> tuple[Scan, DatasetSource] | None:
        """A dataset's scan; `where` is its manifest path (trainingData, validationData
        or evaluation.data); `keep_lines` keeps its examples' hashes (`Scan.lines`);
        `system_instruction` goes into each text_input/output example (Vertex AI);
        `limits`: the manifest's (the backend's if None)."""
        if data.unknown:
            return None
        system = system_instruction or None
        limits = limits or self.limits
        if data.file is None:
            return self._inline(data.examples or (), origin, where, keep_lines, system, limits), DatasetSource()
        return self._file_dataset(data, data.file, origin, where, keep_lines, system, limits)

    def _inline_rows(self, examples: Sequence[Example], origin: _Origin, where: tuple[str, ...]) -> list[Row]:
        line_of = origin.document.line_of
        return [Row(line_of((*where, "examples", i)), i, e.text_input, e.output) for i, e in enumerate(examples)]

    def _inline(
        self,
        examples: Sequence[Example],
        origin: _Origin,
        where: tuple[str, ...],
        keep_lines: bool = False,
        system: str | None = None,
        limits: DatasetLimits = NO_LIMITS,
    ) -> Scan:
        rows: list[Row | Turns | Problem] = list(self._inline_rows(examples, origin, where))
        size = datasets.utf8_size((e.text_input, e.output) for e in examples)
        namer = datasets.inline_field_namer(".".join((*where, "examples")))
        result = datasets.scan(
            [rows], size, origin.file, namer, keep_lines=keep_lines, limits=limits, system_instruction=system
        )
        self.problems.extend(result.problems)
        return result

    def _file_dataset(
        self,
        data: TrainingData,
        file: str,
        origin: _Origin,
        where: tuple[str, ...],
        keep_lines: bool = False,
        system: str | None = None,
        limits: DatasetLimits = NO_LIMITS,
    ) -> tuple[Scan, DatasetSource] | None:
        message: str | None
        try:
            path = confined(origin.path.parent / file, self.root, "datasets", file, self.resolver)
        except FileProblem as exc:
            message = str(exc)
        else:
            message = _dataset_file_problem(path, limits)
        if message is not None:
            line = origin.document.line_of((*where, "file"))
            self.problems.append(error(origin.file, line, ".".join((*where, "file")), message))
            return None
        keys = Keys.of(data.input_key, data.output_key)
        source = DatasetSource(path=str(path), input_key=data.input_key, output_key=data.output_key)
        result = self._scan_file(path, keys, keep_lines, system, limits)
        return None if result is None else (result, source)

    def _scan_file(
        self,
        path: Path,
        keys: Keys,
        keep_lines: bool = False,
        system: str | None = None,
        limits: DatasetLimits = NO_LIMITS,
    ) -> Scan | None:
        # Several manifests may share a file: read and report it once per key choice.
        key = (str(path), keys, system, limits)
        if key in self.scans and (self.scans[key] is None or not keep_lines):
            return self.scans[key]
        # Read the first time, or again for its examples' hashes: those are not
        # kept for the whole load (32 bytes and more an example, for every file).
        first = key not in self.scans
        shown = self.show(path)
        try:
            # The dataset cache keeps no hashes: a leakage check reads the file.
            cached = None if keep_lines else self._cached_scan(path, keys, system, limits)
            result = cached or self._checked_scan(path, keys, shown, keep_lines, system, limits)
        except OSError as exc:
            if first:
                self.problems.append(error(shown, 0, "", f"cannot be read: {exc.strerror or exc}"))
            result = None
        self.scans[key] = result if result is None or result.lines is None else replace(result, lines=None)
        if result is not None and first:
            self.problems.extend(result.problems)
        return result

    def _checked_scan(
        self,
        path: Path,
        keys: Keys,
        shown: str,
        keep_lines: bool = False,
        system: str | None = None,
        limits: DatasetLimits = NO_LIMITS,
    ) -> Scan:
        """Read, check and fingerprint the file, hashing its bytes in the same pass."""
        digest = hashlib.sha256()
        batches = datasets.read_batches(path, keys, shown, digest)
        namer = datasets.file_field_namer(keys)
        result = datasets.scan(
            batches,
            path.stat().st_size,
            shown,
            namer,
            keep_lines=keep_lines,
            limits=limits,
            system_instruction=system,
        )
        self.file_hashes[str(path)] = file_hash = digest.hexdigest()
        if self.cache is not None and not result.problems:
            self.cache.put(file_hash, keys, result.summary, _cache_variant(system, limits))
        return result

    def _cached_scan(
        self, path: Path, keys: Keys, system: str | None = None, limits: DatasetLimits = NO_LIMITS
    ) -> Scan | None:
        """The result kept for these exact bytes, if the cache is on and has it."""
        if self.cache is None:
            return None
        file_hash = _sha256_of_file(path)
        summary = self.cache.get(file_hash, keys, _cache_variant(system, limits))
        if summary is None:
            return None
        self.file_hashes[str(path)] = file_hash
        return datasets.Scan(summary, ())

    def _check_totals(
        self, origin: _Origin, summary: DatasetSummary, source: DatasetSource, limits: DatasetLimits
    ) -> None:
        """The training set against the limits on a whole dataset (its manifest's)."""
        line = origin.document.line_of(_TRAINING_DATA)
        named = f"{self.show(Path(source.path))} " if source.path else ""
        if summary.examples < limits.min_examples:
            message = f"{named}has {summary.examples} examples, {limits.service} needs at least {limits.min_examples}"
            self.problems.append(error(origin.file, line, "spec.trainingData", message))
        if limits.max_examples is not None and summary.examples > limits.max_examples:
            message = (
                f"{named}has {summary.examples:,} examples, {limits.service} takes at most {limits.max_examples:,}"
            )
            self.problems.append(error(origin.file, line, "spec.trainingData", message))
        request = datasets.request_bytes_at_least(summary)
        if limits.max_request_bytes is not None and request > limits.max_request_bytes:
            line = origin.document.line_of(_DATA_FILE)
            message = (
                f"is {_megabytes(summary.size_bytes)}: the create request would carry at least "
                f"{_megabytes(request)} of examples, above the {_megabytes(limits.max_request_bytes)} "
                f"{limits.service} takes in one request"
            )
            self.problems.append(error(origin.file, line, "spec.trainingData", message))
        elif limits.warn_file_bytes is not None and summary.size_bytes > limits.warn_file_bytes:
            line = origin.document.line_of(_DATA_FILE)
            size = summary.size_bytes / 2**20
            message = f"is {size:.1f} MB, above {limits.warn_file_reason}"
            self.problems.append(warning(origin.file, line, "spec.trainingData.file", message))

    def _check_validation_totals(
        self, origin: _Origin, summary: DatasetSummary, source: DatasetSource, limits: DatasetLimits
    ) -> None:
        """The validation set against its own limit (Vertex AI: at most 5,000 examples)."""
        limit = limits.max_validation_examples
        if limit is not None and summary.examples > limit:
            named = f"{self.show(Path(source.path))} " if source.path else ""
            message = (
                f"{named}has {summary.examples:,} examples, {limits.service} takes at most "
                f"{limit:,} in a validation set"
            )
            line = origin.document.line_of(_VALIDATION_DATA)
            self.problems.append(error(origin.file, line, "spec.validationData", message))

    def _digest(self, root: Path) -> str:
        """One hash over every file read: a saved plan compares it to see if git moved."""
        total = hashlib.sha256(b"reconciler/desired/v1\n")
        entries = sorted((_relative(path, root), file_hash) for path, file_hash in self.file_hashes.items())
        for name, file_hash in entries:
            total.update(f"{name}\0{file_hash}\n".encode())
        return "sha256:" + total.hexdigest()


def _cache_variant(system: str | None, limits: DatasetLimits) -> str:
    """What a cached check also depends on: the limits checked and the system instruction."""
    return hashlib.sha256(repr((limits, system)).encode("utf-8")).hexdigest()[:16]


def _relative(path: str | Path, root: Path) -> str:
    """`path` relative to `root`, with forward slashes (a string prefix when it
    lies inside, which it nearly always does: os.path.relpath is slow)."""
    text, prefix = str(path), str(root).rstrip(os.sep) + os.sep
    if text.startswith(prefix):
        return text[len(prefix) :].replace(os.sep, "/")
    return Path(os.path.relpath(path, root)).as_posix()


def _sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _dataset_file_problem(path: Path, limits: DatasetLimits) -> str | None:
    if path.suffix.lower() not in datasets.SUFFIXES:
        return f"must end in {', '.join(datasets.SUFFIXES)}"
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        # Refused before it is read, so a huge file costs neither the time
        # nor the memory of a scan.
        if limits.max_request_bytes is not None:  # far past what one request carries
            return (
                f"is {_megabytes(size)}, far above the {_megabytes(limits.max_request_bytes)} {limits.service} "
                "takes in one request; not read"
            )
        limit = _megabytes(limits.max_file_bytes)
        return f"is {_megabytes(size)}, above the {limit} {limits.service} takes in a file; not read"
    return None


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def _backend_named(document: Document) -> str:
    """The backend reconciler.yaml chooses (the default where `backend:` is not a string:
    validating it then says what is wrong)."""
    named = document.data.get("backend") if isinstance(document.data, dict) else None
    return named if isinstance(named, str) else DEFAULT_BACKEND
