"""The examples fingerprint: the same whatever the file format, order or syntax whitespace;
different as soon as any example's text changes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from tempfile import TemporaryDirectory

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.loader import example_digest
from reconciler.loader.datasets import Keys, Row, file_field_namer, read_batches, read_rows, scan
from reconciler.loader.yamldoc import parse_documents
from reconciler.model.manifest import Example

# Any text a dataset can hold: UTF-8 cannot encode lone surrogates.
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
PAIRS = st.lists(st.tuples(TEXT, TEXT), min_size=1, max_size=12)


def digest_of(pairs: list[tuple[str, str]]) -> str:
    return example_digest(Example(text_input=i, output=o) for i, o in pairs)


def file_digest(directory: Path, name: str, content: str) -> str:
    path = directory / name
    path.write_text(content, encoding="utf-8", newline="")
    rows = list(read_rows(path, Keys(), name))
    assert all(isinstance(row, Row) for row in rows), rows
    return scan([rows], path.stat().st_size, name, file_field_namer(Keys())).summary.digest


def as_jsonl(pairs: list[tuple[str, str]], flip: bool, ascii_only: bool) -> str:
    lines = []
    for text_input, output in pairs:
        record = {"output": output, "textInput": text_input} if flip else {"text_input": text_input, "output": output}
        lines.append(json.dumps(record, ensure_ascii=ascii_only, separators=(", ", ":  ")))
    return "\n\n".join(lines) + "\n"


def as_json_list(pairs: list[tuple[str, str]], indent: int | None) -> str:
    return json.dumps([{"text_input": i, "output": o} for i, o in pairs], indent=indent)


def as_json_object(pairs: list[tuple[str, str]], indent: int | None) -> str:
    examples = [{"output": o, "textInput": i} for i, o in pairs]
    return json.dumps({"examples": examples, "note": "other keys are ignored"}, indent=indent)


def as_csv(pairs: list[tuple[str, str]], flip: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL if flip else csv.QUOTE_MINIMAL)
    writer.writerow(["output", "text_input"] if flip else ["text_input", "output"])
    writer.writerows([(o, i) if flip else (i, o) for i, o in pairs])
    return buffer.getvalue()


def inline_digest(pairs: list[tuple[str, str]]) -> str:
    # Double-quoted scalars: PyYAML's dumper writes U+0085 raw inside single
    # quotes, where its own reader folds it to a space (a dumper bug, not ours).
    examples = [{"textInput": i, "output": o} for i, o in pairs]
    text = yaml.safe_dump({"examples": examples}, allow_unicode=True, default_style='"')
    documents, problems = parse_documents(text, "inline.yaml")
    assert not problems
    data = documents[0].data
    assert isinstance(data, dict)
    return example_digest(Example.model_validate(example) for example in data["examples"])


@settings(max_examples=60, deadline=None)
@given(pairs=PAIRS, flip=st.booleans(), indent=st.sampled_from([None, 0, 2]))
def test_every_format_gives_the_same_fingerprint(pairs: list[tuple[str, str]], flip: bool, indent: int | None) -> None:
    expected = digest_of(pairs)
    with TemporaryDirectory() as folder:
        directory = Path(folder)
        assert file_digest(directory, "d.jsonl", as_jsonl(pairs, flip, ascii_only=flip)) == expected
        assert file_digest(directory, "d.json", as_json_list(pairs, indent)) == expected
        assert file_digest(directory, "e.json", as_json_object(pairs, indent)) == expected
        assert file_digest(directory, "d.csv", as_csv(pairs, flip)) == expected
    assert inline_digest(pairs) == expected


@given(pairs=PAIRS, data=st.data())
def test_any_changed_example_changes_the_fingerprint(pairs: list[tuple[str, str]], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(pairs) - 1))
    side = data.draw(st.sampled_from([0, 1]))
    old = pairs[index][side]
    new = data.draw(TEXT.filter(lambda text: text != old))
    changed = list(pairs)
    changed[index] = (new, pairs[index][1]) if side == 0 else (pairs[index][0], new)
    # Unless the edit only swapped in text another example already had.
    if sorted(changed) != sorted(pairs):
        assert digest_of(changed) != digest_of(pairs)


@given(pairs=PAIRS, data=st.data())
def test_the_order_of_examples_does_not_matter(pairs: list[tuple[str, str]], data: st.DataObject) -> None:
    assert digest_of(data.draw(st.permutations(pairs))) == digest_of(pairs)


def test_spaces_inside_an_example_matter() -> None:
    assert digest_of([("1", "2")]) != digest_of([("1", " 2")])
    assert digest_of([("1", "2")]) != digest_of([("1 ", "2")])


def test_the_input_and_output_boundary_matters() -> None:
    assert digest_of([("ab", "c")]) != digest_of([("a", "bc")])


def test_a_repeated_example_counts() -> None:
    assert digest_of([("1", "2"), ("1", "2")]) != digest_of([("1", "2")])


def test_the_format_is_sha256_hex() -> None:
    digest = digest_of([("1", "2")])
    assert digest.startswith("sha256:")
    assert len(digest) == len("sha256:") + 64


def test_the_fingerprint_of_known_examples_never_changes(tmp_path: Path) -> None:
    """Live models carry this value: a change would re-tune every model everywhere.
    The literal was computed by the first release; JSONL's whole-batch path and
    the row-by-row path must both give it."""
    pairs = [("I", "1"), ("héllo ", "wörld"), ("", "x")]
    pinned = "sha256:17e045dd467444631480610a12cc20040f0673a29b89b24613eef9a1a57e1e65"
    assert digest_of(pairs) == pinned
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps({"text_input": i, "output": o}) + "\n" for i, o in pairs), encoding="utf-8")
    batched = scan(read_batches(path, Keys(), "d.jsonl"), 0, "d.jsonl", file_field_namer(Keys()))
    assert batched.summary.digest == pinned
