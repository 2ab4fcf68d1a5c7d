"""The one-walk parse of anchor-free documents gives what the general path gave.

`parse_documents` builds ordinary documents in one walk over the composed
nodes, and composes them with a cheaper tag resolver. Its result (values,
lines, problems, and the exceptions it lets through) is compared with a
frozen copy of the implementation it replaced, on every YAML file of the
test corpora and examples, the hostile texts, and snippets chosen for the
corners of YAML 1.1 and of the walk.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from reconciler.loader import yamldoc
from reconciler.loader.problems import Problem, error
from reconciler.loader.yamldoc import MAX_ALIAS_EXPANSION, MAX_DEPTH, Document, field_path, parse_documents
from tests.hostile.test_yaml_bombs import BOMB, CASES

REPO = Path(__file__).resolve().parent.parent.parent

# ---------------------------------------------------------------------------
# The implementation replaced, frozen as it was, on PyYAML's own SafeLoader
# (so the cheaper resolver is checked as well). Only the oracle of this test.
# ---------------------------------------------------------------------------

_OldLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def old_parse_documents(text: str, file: str) -> tuple[list[Document], list[Problem]]:
    documents: list[Document] = []
    problems: list[Problem] = []
    loader = _OldLoader(text)
    has_anchors = "&" in text
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            document = _old_document(loader, node, file, problems, has_anchors)
            if document is not None:
                documents.append(document)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        problems.append(error(file, line, "", f"invalid YAML: {exc.problem or exc.context}"))
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        character = exc.character if isinstance(exc.character, int) else ord(exc.character)
        problems.append(error(file, line, "", f"invalid YAML: {exc.reason} (#x{character:04x})"))
    except yaml.YAMLError as exc:
        problems.append(error(file, 0, "", "invalid YAML: " + " ".join(str(exc).split())))
    finally:
        loader.dispose()
    return documents, problems


def _old_document(
    loader: yaml.SafeLoader, node: yaml.Node, file: str, problems: list[Problem], has_anchors: bool
) -> Document | None:
    start = node.start_mark.line + 1
    too_big = _old_shape_problem(node) if has_anchors else _old_depth_problem(node)
    if too_big is not None:
        problems.append(error(file, start, "", too_big))
        return None
    try:
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or node.start_mark
        problems.append(error(file, mark.line + 1, "", f"invalid YAML: {exc.problem}"))
        return None
    if data is None:
        return None
    document = Document(data=data, line=start)
    _old_index(node, (), document.lines, file, problems, set())
    return document


def _old_index(node: yaml.Node, path: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int], file: str,
               problems: list[Problem], ancestors: set[int]) -> None:
    if id(node) in ancestors:
        return
    ancestors = ancestors | {id(node)}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key_path = (*path, str(key_node.value))
            key_line = key_node.start_mark.line + 1
            first = lines.get(key_path)
            if first is not None:
                message = f"duplicate key (first at line {first})"
                problems.append(error(file, key_line, field_path(key_path), message))
                continue
            lines[key_path] = key_line
            _old_index(value_node, key_path, lines, file, problems, ancestors)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            item_path = (*path, index)
            lines[item_path] = item.start_mark.line + 1
            _old_index(item, item_path, lines, file, problems, ancestors)


def _old_shape_problem(root: yaml.Node) -> str | None:
    expanded, depth, distinct = _old_measure(root)
    if expanded - distinct > MAX_ALIAS_EXPANSION:
        return f"aliases expand to more than {MAX_ALIAS_EXPANSION:,} values (a YAML alias bomb?)"
    if depth > MAX_DEPTH:
        return f"nested more than {MAX_DEPTH} levels deep"
    return None


def _old_depth_problem(root: yaml.Node) -> str | None:
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"nested more than {MAX_DEPTH} levels deep"
        if isinstance(node, yaml.MappingNode):
            stack.extend((part, depth + 1) for pair in node.value for part in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, depth + 1) for item in node.value)
    return None


def _old_children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _old_measure(root: yaml.Node) -> tuple[int, int, int]:
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            children = _old_children(node)
            size[key] = 1 + sum(size.get(id(child), 1) for child in children)
            height[key] = 1 + max((height.get(id(child), 1) for child in children), default=0)
            continue
        if key in size or key in open_nodes:
            continue
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _old_children(node))
    return size[id(root)], height[id(root)], len(size)


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
            for (key_a, value_a), (key_b, value_b) in zip(a.items(), b.items(), strict=True))
    assert isinstance(a, list) and isinstance(b, list)
    return len(a) == len(b) and all(same(x, y, comparing) for x, y in zip(a, b, strict=True))


Outcome = tuple[str, object, object]


def outcome(parse: Callable[[str, str], tuple[list[Document], list[Problem]]], text: str) -> Outcome:
    """What `parse` makes of `text`: its documents and problems, or the exception it let through."""
    try:
        documents, problems = parse(text, "manifests/m.yaml")
    except Exception as exc:  # today's parse lets a few refusals through (`!!int x`): they must stay the same
        return ("raised", type(exc), str(exc))
    return ("parsed", [(d.data, d.line, list(d.lines.items())) for d in documents], problems)


def assert_same_outcome(text: str) -> None:
    new, old = outcome(parse_documents, text), outcome(old_parse_documents, text)
    assert new[0] == old[0], (new, old)
    if new[0] == "raised":
        assert new == old
        return
    new_documents, old_documents = new[1], old[1]
    assert isinstance(new_documents, list) and isinstance(old_documents, list)
    assert len(new_documents) == len(old_documents), (new, old)
    for (data, line, lines), (old_data, old_line, old_lines) in zip(new_documents, old_documents, strict=True):
        assert same(data, old_data), (data, old_data)
        assert (line, lines) == (old_line, old_lines)
    assert new[2] == old[2]


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


@pytest.mark.parametrize("name", ["a manifest", "ints", "floats", "nan everywhere", "bools", "nulls", "timestamps",
                                  "binary", "non-string keys", "duplicate keys nested", "explicit str",
                                  "explicit map and seq", f"flow lists {MAX_DEPTH + 1} deep",
                                  "an ampersand in a string only", "an unused anchor"])
def test_ordinary_documents_take_the_walk(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    calls = general_path_calls(monkeypatch)
    parse_documents(SNIPPETS[name], "m.yaml")
    assert calls == []


@pytest.mark.parametrize("name", ["merge key, no anchor", "value key", "set", "unknown tag on a mapping",
                                  "a list as a key", "explicit int, not a number", "binary, not base64",
                                  "an anchor", "an alias as a key", "the hostile bomb"])
def test_unusual_documents_take_the_general_path(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    calls = general_path_calls(monkeypatch)
    with contextlib.suppress(ValueError):  # `!!int abc` is let through, as before
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


@pytest.mark.parametrize(("ours", "theirs"), [(yamldoc._Loader, _OldLoader), (_PureLoader, yaml.SafeLoader)],
                         ids=["libyaml", "pure Python"])
def test_composition_resolves_every_tag_as_safe_loader_does(
        ours: type[yaml.SafeLoader], theirs: type[yaml.SafeLoader]) -> None:
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
