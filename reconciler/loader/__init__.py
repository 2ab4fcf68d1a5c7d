"""loader layer: manifests, settings and datasets -> `Desired`, every problem with file:line.

Public surface:

- `load(path) -> LoadResult`: a repository root, a manifests folder or one manifest file.
- `load_files(paths) -> LoadResult`: the repository around some files, reported for those files.
- `read_examples(model) -> Iterator[Example]`: stream a model's examples again (for apply).
- `read_canonical_lines(model)`: each example as (its hash, its canonical `contents` line), for Vertex AI.
- `read_evaluation(model) -> Iterator[Example]`: the same for its evaluation set (scoring).
- `example_digest(examples) -> "sha256:<hex>"`: the canonical, order-insensitive fingerprint.
- `manifest_json_schema()`, `settings_json_schema()`: the JSON Schemas editors check files with.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from reconciler.loader.contents import Turns, contents_hash, pair_line
from reconciler.loader.fingerprint import example_digest, example_hash
from reconciler.loader.load import LoadResult, load, load_files, load_settings
from reconciler.loader.problems import Problem, Severity
from reconciler.loader.readers import Keys, read_rows
from reconciler.loader.schema import manifest_json_schema, settings_json_schema
from reconciler.model.desired import DatasetSource, DesiredModel
from reconciler.model.errors import UserError
from reconciler.model.manifest import Example, TrainingData


def read_examples(model: DesiredModel, *, validation: bool = False) -> Iterator[Example]:
    """The examples of a loaded model (or its validation examples), read again
    from their source, in file order.

    Raises UserError if the data file no longer reads cleanly (it was valid
    when loaded, so it changed since).
    """
    for item in _read_items(model, validation, allow_turns=False):
        assert isinstance(item, Example)  # _read yields Turns only when asked to
        yield item


def read_canonical_lines(model: DesiredModel, *, validation: bool = False) -> Iterator[tuple[bytes, bytes]]:
    """Each example of a loaded model (or of its validation set) as (the hash
    the fingerprint took of it, its canonical `contents` line): pairs with
    `spec.systemInstruction` put in, examples in the `contents` format as
    they were checked. Raises UserError as `read_examples` does."""
    system = model.manifest.spec.system_instruction or None
    for item in _read_items(model, validation, allow_turns=True):
        if isinstance(item, Turns):
            yield contents_hash(item.canonical), item.canonical
        else:
            line = pair_line(item.text_input, item.output, system)
            yield (contents_hash(line) if system else example_hash(item.text_input, item.output)), line


def canonical_origins(model: DesiredModel, root: str = "") -> list[str]:
    """Where each training example comes from (`file:line`; the manifest for
    examples written inline), in the canonical order Vertex AI's upload has
    (`read_canonical_lines` sorted): index i - 1 is the service's one-based
    example i. Raises UserError as `read_examples` does."""
    data, source = model.manifest.spec.training_data, model.dataset_source
    if not model.dataset.known or data is None or source.path is None:
        return [model.file] * model.dataset.examples
    shown = os.path.relpath(source.path, root) if root else source.path
    keyed = sorted((pair, index) for index, pair in enumerate(read_canonical_lines(model)))
    lines = [
        item.line
        for item in read_rows(Path(source.path), Keys.of(source.input_key, source.output_key), source.path)
        if not isinstance(item, Problem)
    ]
    return [f"{shown}:{lines[index]}" if index < len(lines) else shown for _, index in keyed]


def _read_items(model: DesiredModel, validation: bool, *, allow_turns: bool) -> Iterator[Example | Turns]:
    if not model.dataset.known:
        raise UserError(
            f"{model.file}: the training data of {model.id} is unknown "
            "(trainingData.unknown); give spec.trainingData a file or examples to tune it"
        )
    data = model.manifest.spec.validation_data if validation else model.manifest.spec.training_data
    source = model.validation_source if validation else model.dataset_source
    if data is None or source is None:
        return
    yield from _read(data, source, allow_turns=allow_turns)


def read_evaluation(model: DesiredModel) -> Iterator[Example]:
    """The examples of a model's evaluation set (`spec.evaluation.data`), read
    again from their source, in file order; nothing when it has none.

    Raises UserError if the data file no longer reads cleanly.
    """
    evaluation = model.manifest.spec.evaluation
    if evaluation is None or model.evaluation is None:
        return
    for item in _read(evaluation.data, model.evaluation.source):
        assert isinstance(item, Example)
        yield item


def _read(data: TrainingData, source: DatasetSource, *, allow_turns: bool = False) -> Iterator[Example | Turns]:
    if source.path is None:
        yield from data.examples or ()
        return
    keys = Keys.of(source.input_key, source.output_key)
    for item in read_rows(Path(source.path), keys, source.path):
        if isinstance(item, Problem):
            raise UserError(f"{item} (the file changed since it was validated)")
        if isinstance(item, Turns):
            if not allow_turns:  # validated against a backend that refuses them: the file changed
                raise UserError(
                    f"{source.path}:{item.line}: an example in the contents format "
                    "(the file changed since it was validated)"
                )
            yield item
            continue
        yield Example(text_input=item.text_input, output=item.output)


__all__ = [
    "LoadResult",
    "Problem",
    "Severity",
    "canonical_origins",
    "example_digest",
    "load",
    "load_files",
    "load_settings",
    "manifest_json_schema",
    "read_canonical_lines",
    "read_evaluation",
    "read_examples",
    "settings_json_schema",
]
