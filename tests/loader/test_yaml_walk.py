"""The one-walk parse of anchor-free documents gives what the general path gave.

`parse_documents` builds ordinary documents in one walk over the composed
nodes, and composes them with a cheaper tag resolver. Its result (values,
lines, problems, and the exceptions it lets through) is compared with a
frozen copy of the implementation it replaced, on every YAML file of the
test corpora and examples, the hostile texts, and snippets chosen for the
corners of YAML 1.1 and of the walk.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest.mock import patch

import pytest
import yaml

from reconciler.loader import yamldoc
from reconciler.loader.problems import Problem, error
from reconciler.loader.yamldoc import MAX_ALIAS_EXPANSION, MAX_DEPTH, Document, parse_documents
from tests.hostile.test_yaml_bombs import BOMB, CASES

REPO = Path(__file__).resolve().parent.parent.parent

# ---------------------------------------------------------------------------
# The oracle: the general path for every document (measure, construct with
# PyYAML, index), composed by PyYAML's own SafeLoader with the loader's
# implicit resolvers (so the cheaper resolver is checked as well).
# ---------------------------------------------------------------------------


class _OldLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]  # a base chosen at import
    yaml_implicit_resolvers = yamldoc.IMPLICIT_RESOLVERS


class _OldPureLoader(yaml.SafeLoader):
    yaml_implicit_resolvers = yamldoc.IMPLICIT_RESOLVERS


def old_parse_documents(text: str, file: str) -> tuple[list[Document], list[Problem]]:
    with patch.object(yamldoc, "_Loader", _OldLoader), patch.object(yamldoc, "_document", yamldoc._general_document):
        return parse_documents(text, file)


# ---------------------------------------------------------------------------
# Comparing outcomes: NaN equals NaN here, and 1, 1.0 and True are told apart.
# ---------------------------------------------------------------------------


def same(a: object, b: object, comparing: frozenset[tuple[int, int]] = frozenset()) -> bool:
    """Equal values of equal types, in the same order; `comparing` holds the
    containers already being compared, which a recursive alias meets again."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if not isinstance(a, dict | list):
        return a == b
    if (id(a), id(b)) in comparing:
        return True
    comparing = comparing | {(id(a), id(b))}
    if isinstance(a, dict) and isinstance(b, dict):
        return len(a) == len(b) and all(
            same(key_a, key_b, comparing) and same(value_a, value_b, comparing)
            for (key_a, value_a), (key_b, value_b) in zip(a.items(), b.items(), strict=True)
        )
    assert isinstance(a, list) and isinstance(b, list)
    return len(a) == len(b) and all(same(x, y, comparing) for x, y in zip(a, b, strict=True))


Outcome = tuple[object, list[Problem]]


def outcome(parse: Callable[[str, str], tuple[list[Document], list[Problem]]], text: str) -> Outcome:
    """What `parse` makes of `text`: its documents (value, line, lines) and problems.
    Nothing may be raised: every refusal is a problem with a line."""
    documents, problems = parse(text, "manifests/m.yaml")
    return [(d.data, d.line, list(d.lines.items())) for d in documents], problems


def assert_same_outcome(text: str) -> None:
    new, old = outcome(parse_documents, text), outcome(old_parse_documents, text)
    new_documents, old_documents = new[0], old[0]
    assert isinstance(new_documents, list) and isinstance(old_documents, list)
    assert len(new_documents) == len(old_documents), (new, old)
    for (data, line, lines), (old_data, old_line, old_lines) in zip(new_documents, old_documents, strict=True):
        assert same(data, old_data), (data, old_data)
        assert (line, lines) == (old_line, old_lines)
    assert new[1] == old[1]


# ---------------------------------------------------------------------------
# The texts compared
# ---------------------------------------------------------------------------


def corpus_files() -> Iterator[Path]:
    for folder in ("tests", "examples"):
        for pattern in ("*.yaml", "*.yml"):
            yield from sorted((REPO / folder).rglob(pattern))


def corpus_texts() -> list[tuple[str, str]]:
    texts = []
    for path in corpus_files():
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:  # never reaches the parser: the loader reports it first
            continue
        texts.append((str(path.relative_to(REPO)), text))
    return texts


def nested(opening: str, leaf: str, closing: str, levels: int) -> str:
    return opening * levels + leaf + closing * levels


def block_mappings(levels: int, leaf: str = "x") -> str:
    return "".join("  " * level + "a:\n" for level in range(levels - 1)) + "  " * (levels - 1) + f"a: {leaf}\n"


MANIFEST = """apiVersion: reconciler/v1
kind: TunedModel
metadata:
  name: alpha
spec:
  displayName: Alpha
  baseModel: models/gemini-1.5-flash-001-tuning
  trainingData:
    examples:
      - {textInput: "1", output: "2"}
      - textInput: |
          multi
          line
        output: >
          folded
          text
  hyperparameters: {epochCount: 5, batchSize: 4, learningRate: 0.001}
  smokeTests:
    - input: "0"
      expect: {equals: "1"}
"""

SNIPPETS: dict[str, str] = {
    "a manifest": MANIFEST,
    "a manifest twice in one stream": MANIFEST + "---\n" + MANIFEST,
    # YAML 1.1 integers, as SafeLoader reads them
    "ints": "a: 12\nb: -12\nc: +12\nd: 0\ne: -0\nf: 1_000\ng: 0b1010\nh: -0b1_0\ni: 017\nj: 0o17\nk: 0x1F\n"
    "l: 0x_1f\nm: 190:20:30\nn: 08\no: 09_1\np: 0x\nq: 12abc\n",
    "floats": "a: 1.5\nb: 1e3\nc: 1.0e+3\nd: .5\ne: -.inf\nf: .Inf\ng: +.INF\nh: .nan\ni: .NaN\nj: 190:20:30.15\n"
    "k: 1_000.5\nl: 6.8523015e+5\nm: 1.\nn: -1.5e-3\no: 1.5e3\n",
    "nan everywhere": "a: .nan\nb: [.nan, .NAN]\n.nan: 1\n",
    "bools": "a: yes\nb: no\nc: on\nd: off\ne: Yes\nf: NO\ng: true\nh: False\ni: y\nj: n\nk: TRUE\nl: oN\n",
    "nulls": "a: ~\nb: null\nc: Null\nd: NULL\ne:\nf: ''\ng: nul\n",
    "timestamps": "a: 2001-12-14t21:59:43.10-05:00\nb: 2002-12-14\nc: 2001-12-14 21:59:43.10 -5\n"
    "d: 2001-12-15T02:59:43.1Z\ne: 2001-12-15 2:59:43.10\n",
    "a timestamp that is no date": "a: 2001-13-45\n",
    "binary": "a: !!binary aGVsbG8gd29ybGQ=\nb: !!binary |\n  aGVs\n  bG8=\n",
    "binary, bad padding": "a: !!binary R0lGODlhDAAMAIQAAP\n",
    "binary, not base64": "a: !!binary 'not base64!'\n",
    "binary, not ascii": "a: !!binary \u00e4\n",
    "quoted look-alikes": "a: '12'\nb: \"yes\"\nc: '~'\nd: \"2002-12-14\"\ne: '.nan'\n'1': x\n",
    "block scalars": "a: |\n  one\n  two\nb: >-\n  folded\n  text\nc: |+\n  kept\n\nd: x\n",
    "unicode": "na\u00efve: caf\u00e9\n\u540d\u524d: \u5024\nemoji: \U0001f600\n",
    "merge key, no anchor": "a: {x: 1}\nb: {<<: {y: 2}, z: 3}\n",
    "merge key overridden, no anchor": "b:\n  <<: {y: 2, z: 0}\n  z: 3\n",
    "merge list, no anchor": "b: {<<: [{y: 2}, {z: 3}], w: 4}\n",
    "merge of a scalar": "b: {<<: 1}\n",
    "merge in a list of scalars": "b: {<<: [1]}\n",
    "merge key as a value": "a: <<\n",
    "merge with anchors": "base: &b {x: 1, y: 2}\nc: {<<: *b, x: 3}\n",
    "merge list with anchors": "p: &p {x: 1}\nq: &q {y: 2}\nc:\n  <<: [*p, *q]\n  z: 3\n",
    "value key": "a: {=: 1}\n",
    "value key as a value": "a: =\n",
    "duplicate key": "a: 1\nb: 2\na: 3\n",
    "duplicate keys nested": "spec:\n  x: 1\n  y: {z: 1, z: 2}\n  x: {w: 1, w: 2}\n",
    "duplicate key with a list under it": "a: [1, 2]\na: [3, {b: 1, b: 2}]\n",
    "duplicate key by its text": "1: a\n'1': b\n",
    "duplicate key by its value": "yes: a\ntrue: b\n1: c\n1.0: d\n",
    "duplicate keys in two documents": "a: 1\na: 2\n---\nb: 1\nb: 2\n",
    "duplicate null keys": "~: a\nnull: b\n",
    "nested flow": "a: {b: [1, {c: d}], e: [[]], f: {}}\ng: [[1, [2, [3]]], {h: [i, j]}]\n",
    "a list at the root": "- [1, 2]\n- {x: y}\n- z\n-\n",
    "a flow list at the root": "[a, b, {c: d}]\n",
    "a scalar at the root": "just text\n",
    "an int at the root": "42\n",
    "empty mappings and lists": "a: {}\nb: []\n{}: 1\n",
    "multi-document": "a: 1\n---\nb: 2\n...\n---\n- c\n",
    "empty stream": "",
    "only a comment": "# nothing here\n",
    "only a marker": "---\n",
    "empty documents between": "---\n...\n---\na: 1\n---\n---\n~\n--- null\n",
    "a trailing marker": "a: 1\n---\n",
    "falsy documents": "--- {}\n--- []\n--- 0\n--- ''\n--- false\n",
    "explicit str": "a: !!str 12\nb: !!str yes\nc: !<tag:yaml.org,2002:str> x\n!!str 1: k\n",
    "explicit int": "a: !!int '12'\nb: !!int 0x1f\n",
    "explicit int, not a number": "a: !!int abc\n",
    "explicit float": "a: !!float 1\nb: !!float '.inf'\n",
    "explicit float, not a number": "a: !!float x\n",
    "explicit bool": "a: !!bool yes\nb: !!bool 'off'\n",
    "explicit bool, not a bool": "a: !!bool maybe\n",
    "explicit null": "a: !!null x\n",
    "explicit timestamp, not one": "a: !!timestamp x\n",
    "explicit map and seq": "a: !!map {b: 1}\nc: !!seq [1]\n",
    "str tag on a list": "a: !!str [1]\n",
    "int tag on a mapping": "a: !!int {b: 1}\n",
    "set": "a: !!set {x, y}\n",
    "omap": "a: !!omap [{x: 1}, {y: 2}]\n",
    "pairs": "a: !!pairs [{x: 1}, {x: 2}]\n",
    "unknown tag on a scalar": "a: !custom x\n",
    "unknown tag on a mapping": "a: !custom {b: 1}\n",
    "unknown tag on a list": "a: !Ref [1]\n",
    "unknown tag in a stream of good documents": "a: 1\n---\nb: !x y\n---\nc: 3\n",
    "a %TAG directive": "%TAG ! tag:example.com,2000:\n--- !foo x\n",
    "a python tag": "a: !!python/object:os.system x\n",
    "non-string keys": "1: a\n1.5: b\n~: c\ntrue: d\n2001-12-14: e\n0x10: f\n",
    "a list as a key": "? [1, 2]\n: x\n",
    "a mapping as a key": "? {a: 1}\n: x\n",
    "a block list as a key": "? - a\n: b\n",
    "an empty key": "? \n: x\n",
    "nan keys twice": ".nan: 1\n.nan: 2\n",
    "a bad key after a duplicate": "a: 1\na: 2\n? [1]\n: x\n",
    "a refused scalar after a duplicate": "a: 1\na: 2\nb: !!int x\n",
    "an anchor": "a: &x 1\nb: *x\n",
    "an unused anchor": "a: &x {b: 1}\nc: [&y 2]\nd: 3\nd: 4\n",
    "an alias as a key": "a: &k x\n*k : 1\n",
    "an anchored key used as a value": "&k x : 1\nb: *k\n",
    "an alias to a list, then a duplicate": "a: &l [1]\nb: *l\nb: 2\n",
    "an anchored document aliased in the next": "a: &x 1\n---\nb: *x\n",
    "a hundred thousand scalar aliases": "a: &x 1\nb: [" + "*x, " * (MAX_ALIAS_EXPANSION + 1) + "]\n",
    "a bomb nested too deep": BOMB + "deep: " + nested("[", "1", "]", MAX_DEPTH + 1) + "\n",
    "too deep, then a bomb": "deep: " + nested("[", "1", "]", MAX_DEPTH + 1) + "\n" + BOMB,
    "an ampersand in a string only": "a: R&D\nb: 12\nb: 13\n",
    "an anchored list used twice": "a: &l [1, 2]\nb: *l\nc: *l\n",
    "a recursive alias": "a: &a [1, *a]\n",
    "an undefined alias": "a: *x\n",
    "invalid: unclosed flow": "a: [1, 2\n",
    "invalid: a mapping in a scalar": "a: b: c\n",
    "invalid: a tab": "a:\n\tb: 1\n",
    "invalid: second document": "a: 1\n---\nb: [\n",
    "invalid: a NUL byte": "a: b\x00\n",
    "invalid: a control character": "a: b\x07c\n",
    "invalid: after a duplicate": "a: 1\na: 2\n---\n{\n",
    "the hostile bomb": BOMB,
}

DEPTHS = range(MAX_DEPTH - 2, MAX_DEPTH + 3)
for levels in DEPTHS:
    SNIPPETS[f"flow mappings {levels} deep"] = nested("{a: ", "1", "}", levels)
    SNIPPETS[f"flow lists {levels} deep"] = nested("[", "1", "]", levels)
    SNIPPETS[f"empty flow lists {levels} deep"] = nested("[", "", "]", levels)
    SNIPPETS[f"empty flow mappings {levels} deep"] = nested("{a: ", "{}", "}", levels)
    SNIPPETS[f"block mappings {levels} deep"] = block_mappings(levels)
    SNIPPETS[f"block lists {levels} deep"] = "- " * levels + "x\n"
    SNIPPETS[f"{levels} deep after a refused scalar"] = "a: !!int x\nb: " + nested("[", "1", "]", levels) + "\n"
    SNIPPETS[f"{levels} deep after a custom tag"] = "a: !x y\nb: " + nested("[", "1", "]", levels) + "\n"
    SNIPPETS[f"{levels} deep after a list key"] = "? [1]\n: x\nb: " + nested("[", "1", "]", levels) + "\n"
    SNIPPETS[f"{levels} deep under a duplicate key"] = "a: 1\na: " + nested("{b: ", "1", "}", levels) + "\n"
    SNIPPETS[f"{levels} deep, a key that deep"] = nested("[", "{k: v}", "]", levels)
    SNIPPETS[f"{levels} deep, with a duplicate before"] = "a: 1\na: 2\nb: " + nested("[", "1", "]", levels) + "\n"
    SNIPPETS[f"{levels} deep, with anchors"] = "a: &x 1\nb: " + nested("[", "*x", "]", levels) + "\n"
    SNIPPETS[f"{levels} deep, an anchor unused"] = "a: &x 1\nb: " + nested("[", "1", "]", levels) + "\n"
    SNIPPETS[f"{levels} deep, an alias after"] = "a: &x 1\nb: " + nested("[", "1", "]", levels) + "\nc: *x\n"

HOSTILE = {f"hostile: {name}": text for name, text, _ in CASES}


@pytest.mark.parametrize(("name", "text"), corpus_texts(), ids=lambda value: value if "/" in value else "")
def test_every_corpus_file_parses_as_before(name: str, text: str) -> None:
    assert_same_outcome(text)


@pytest.mark.parametrize("text", [*SNIPPETS.values(), *HOSTILE.values()], ids=[*SNIPPETS, *HOSTILE])
def test_every_snippet_parses_as_before(text: str) -> None:
    assert_same_outcome(text)


def test_the_corpus_is_there() -> None:
    # A comparison over an empty corpus would prove nothing.
    assert len(corpus_texts()) > 100
    assert any("plan_cases" in name for name, _ in corpus_texts())
    assert any(name.startswith("examples") for name, _ in corpus_texts())


def test_the_comparison_tells_values_apart() -> None:
    assert same(float("nan"), float("nan"))
    assert same({float("nan"): [1]}, {float("nan"): [1]})
    assert not same(1, True)
    assert not same(1, 1.0)
    assert not same({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert not same([float("nan")], [1.0])


# ---------------------------------------------------------------------------
# Which path a document takes: the comparison above covers both only if
# ordinary documents really take the walk and unusual ones the general path.
# ---------------------------------------------------------------------------


def general_path_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    general = yamldoc._general_document

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return general(*args, **kwargs)

    monkeypatch.setattr(yamldoc, "_general_document", counting)
    return calls


@pytest.mark.parametrize(
    "name",
    [
        "a manifest",
        "ints",
        "floats",
        "nan everywhere",
        "bools",
        "nulls",
        "timestamps",
        "binary",
        "non-string keys",
        "duplicate keys nested",
        "explicit str",
        "explicit map and seq",
        f"flow lists {MAX_DEPTH + 1} deep",
        "an ampersand in a string only",
        "an unused anchor",
    ],
)
def test_ordinary_documents_take_the_walk(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    calls = general_path_calls(monkeypatch)
    parse_documents(SNIPPETS[name], "m.yaml")
    assert calls == []


@pytest.mark.parametrize(
    "name",
    [
        "merge key, no anchor",
        "value key",
        "set",
        "unknown tag on a mapping",
        "a list as a key",
        "explicit int, not a number",
        "binary, not base64",
        "an anchor",
        "an alias as a key",
        "the hostile bomb",
    ],
)
def test_unusual_documents_take_the_general_path(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    calls = general_path_calls(monkeypatch)
    parse_documents(SNIPPETS[name], "m.yaml")
    assert calls == [1]


def test_the_walk_reports_duplicates_and_depth_like_the_general_path() -> None:
    documents, problems = parse_documents("spec:\n  x: 1\n  x: 2\n", "m.yaml")
    assert documents[0].data == {"spec": {"x": 2}}
    assert problems == [error("m.yaml", 3, "spec.x", "duplicate key (first at line 2)")]
    _, problems = parse_documents("a: " + nested("[", "1", "]", MAX_DEPTH) + "\n", "m.yaml")
    assert problems == [error("m.yaml", 1, "", f"nested more than {MAX_DEPTH} levels deep")]


class _PureLoader(yaml.SafeLoader):
    """PyYAML's pure-Python SafeLoader, which `_Loader` is based on where libyaml is missing,
    with `_Loader`'s resolver."""

    descend_resolver = yamldoc._Loader.descend_resolver
    ascend_resolver = yamldoc._Loader.ascend_resolver
    resolve = yamldoc._Loader.resolve


@pytest.mark.parametrize(
    ("ours", "theirs"), [(yamldoc._Loader, _OldLoader), (_PureLoader, _OldPureLoader)], ids=["libyaml", "pure Python"]
)
def test_composition_resolves_every_tag_as_safe_loader_does(
    ours: type[yaml.SafeLoader], theirs: type[yaml.SafeLoader]
) -> None:
    def tags(loader_class: type[yaml.SafeLoader], text: str) -> list[tuple[str, int]]:
        found: list[tuple[str, int]] = []
        try:
            loader = loader_class(text)  # the pure-Python reader refuses a NUL byte here
        except yaml.YAMLError as exc:
            return [(str(exc), -1)]
        try:
            while loader.check_node():
                stack = [loader.get_node()]
                visited: set[int] = set()  # an alias is one node: the bomb is not expanded
                while stack:
                    node = stack.pop()
                    if id(node) in visited:
                        continue
                    visited.add(id(node))
                    found.append((node.tag, node.start_mark.index))
                    if isinstance(node, yaml.MappingNode):
                        stack.extend(part for pair in node.value for part in pair)
                    elif isinstance(node, yaml.SequenceNode):
                        stack.extend(node.value)
        except yaml.YAMLError as exc:
            found.append((str(exc), -1))
        finally:
            loader.dispose()
        return found

    assert not yaml.SafeLoader.yaml_path_resolvers  # what lets the resolver skip tracking paths
    for text in [*SNIPPETS.values(), *(text for _, text in corpus_texts())]:
        if len(text) < 100_000:  # the pure-Python composer is slow on the largest snippet
            assert tags(ours, text) == tags(theirs, text)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a: 1\nb: 2001-13-45\n", 2, "'2001-13-45' is not a valid timestamp"),
        ("a: !!int abc\n", 1, "'abc' is not a valid int"),
        ("a: !!float x\n", 1, "'x' is not a valid float"),
        ("a: !!bool maybe\n", 1, "'maybe' is not a valid bool"),
        ("a: !!timestamp x\n", 1, "'x' is not a valid timestamp"),
        ("a: &x 1\nb: [*x]\nc: !!int no\n", 3, "'no' is not a valid int"),  # the general path, for the anchor
    ],
)
def test_a_value_its_type_refuses_is_a_problem_at_its_line(text: str, line: int, message: str) -> None:
    """Once an internal error that stopped the run; now a problem like any other."""
    documents, problems = parse_documents(text, "m.yaml")
    assert (documents, problems) == ([], [error("m.yaml", line, "", f"invalid YAML: {message}")])
