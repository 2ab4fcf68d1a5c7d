"""YAML documents that remember where each value came from.

PyYAML's `load` throws the marks away, so documents are composed into nodes
first: the nodes give every key and list item its line, then the same nodes
are constructed into plain Python values for pydantic.

Most manifests have no alias, so their nodes form a plain tree. One walk
over that tree checks its depth, records its lines, flags duplicate keys and
builds its value; it builds plain strings, mappings and lists itself and
hands other scalars to SafeLoader's constructor for their tag. Anything less
ordinary (an alias, a merge key, a custom or collection tag, a scalar its
constructor refuses, an unhashable key) takes the general path: measure,
construct with PyYAML, then index. Both give the same result.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import yaml

from reconciler.loader.problems import Problem, error

# libyaml when it is there: composing thousands of manifests in pure Python
# is the slowest part of a validate run.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_DEFAULT_TAGS = {yaml.ScalarNode: _STR_TAG, yaml.SequenceNode: _SEQ_TAG, yaml.MappingNode: _MAP_TAG}

# YAML 1.1 reads a few plain scalars as numbers nobody writing a manifest
# means: `1:30` is 90 and `1:30.5` is 90.5 (base 60), `017` is 15 (octal).
# YAML 1.2 dropped both forms. Here they stay the text written, which a number
# field refuses ("must be an integer, not the text '1:30'") and a text field
# keeps. Every other YAML 1.1 form means what it reads as: 1_000, 0x1F, 0b101,
# 1.5, .inf, and yes/no/on/off as booleans (which only a true/false field takes).
_INT = re.compile(
    r"""^(?:[-+]?0b[0-1_]+
                    |[-+]?(?:0|[1-9][0-9_]*)
                    |[-+]?0x[0-9a-fA-F_]+)$""",
    re.X,
)
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
                    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_NUMBERS = {"tag:yaml.org,2002:int": _INT, "tag:yaml.org,2002:float": _FLOAT}

# SafeLoader's implicit resolvers by a plain scalar's first character, with
# the two number patterns above in place of its own.
IMPLICIT_RESOLVERS: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {
    first: [(tag, _NUMBERS.get(tag, regexp)) for tag, regexp in resolvers]
    for first, resolvers in _SafeLoader.yaml_implicit_resolvers.items()
}
# The same, with the resolvers for any character appended, as `Resolver.resolve` tries them.
_ANY_FIRST = list(IMPLICIT_RESOLVERS.get(None, []))
_IMPLICIT_BY_FIRST = {
    first: [*resolvers, *_ANY_FIRST] for first, resolvers in IMPLICIT_RESOLVERS.items() if first is not None
}


class _Loader(_SafeLoader):  # type: ignore[valid-type,misc]  # a base chosen at import
    """SafeLoader, with the tag resolution it calls for every node made cheaper.

    The composer asks the resolver for each node's tag and tells it each step
    down and up the tree. SafeLoader has no path resolvers, so the steps need
    no tracking and a tag depends on the scalar alone: the same answer as
    `Resolver.resolve` with IMPLICIT_RESOLVERS, without rebuilding its lists
    for every scalar. Both paths construct from these nodes, so both read
    `1:30` as text.
    """

    def descend_resolver(self, current_node: yaml.Node | None, current_index: object) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass

    def resolve(self, kind: type[yaml.Node], value: str, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode and implicit[0]:  # a plain scalar: `12`, `yes`, `~` are not strings
            for tag, regexp in _IMPLICIT_BY_FIRST.get(value[:1], _ANY_FIRST):
                if regexp.match(value):
                    return tag
        return _DEFAULT_TAGS[kind]


# SafeLoader's constructors for the scalar tags the walk meets in manifests:
# plain functions of one node, each returning a hashable value.
_SCALAR_CONSTRUCTORS = {
    f"tag:yaml.org,2002:{name}": _Loader.yaml_constructors[f"tag:yaml.org,2002:{name}"]
    for name in ("null", "bool", "int", "float", "binary", "timestamp")
}

Path = tuple[str | int, ...]

# Bounds on what one document may grow into. Aliases are shared when
# constructed, but validation and line indexing walk the expanded tree, so a
# few hundred bytes of nested aliases (a "billion laughs") would cost
# gigabytes. A manifest needs a handful of aliases and a few levels of nesting.
MAX_ALIAS_EXPANSION = 100_000  # values reached through aliases, counted expanded
MAX_DEPTH = 64


def field_path(path: Path) -> str:
    """`("spec", "permissions", 0, "role")` -> `spec.permissions[0].role`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@dataclass(slots=True)
class Document:
    """One YAML document: its value, and the line of every key and list item in it."""

    data: object
    line: int  # 1-based line where the document starts
    lines: dict[Path, int] = field(default_factory=dict)

    def kept_for(self, paths: Iterable[Path], prefixes: Iterable[Path], shared: dict[Path, Path]) -> Document:
        """This document without its data, with the lines of `paths`, of what lies
        under `prefixes`, and of the mappings on the way to either (where a
        missing one is reported): what is still asked once it validated.

        Thousands of manifests' line tables were a large share of a load's
        peak: each path tuple is taken from `shared` (one per distinct path for
        a whole load), so the documents keep neither their own tuples nor
        their own copies of the key strings.
        """
        under = set(prefixes)
        depths = {len(prefix) for prefix in under}
        on_the_way = {target[:end] for target in (*paths, *under) for end in range(1, len(target) + 1)}

        def kept(path: Path) -> bool:
            return path in on_the_way or any(path[:depth] in under for depth in depths)

        lines = {shared.setdefault(path, path): line for path, line in self.lines.items() if kept(path)}
        return Document(data=None, line=self.line, lines=lines)

    def line_of(self, path: Path) -> int:
        """The line of `path`, or of its nearest ancestor present in the file.

        A missing field has no line of its own; its parent mapping's line is
        where a person would add it.
        """
        for end in range(len(path), 0, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return self.line


def parse_documents(text: str, file: str) -> tuple[list[Document], list[Problem]]:
    """Every non-empty document of a YAML stream, and the problems met on the way."""
    documents: list[Document] = []
    problems: list[Problem] = []
    loader = _Loader(text)
    # Without an anchor there is no alias: nothing is shared, nothing can expand.
    has_anchors = "&" in text
    try:
        for node in _nodes(loader):
            document = _document(loader, node, file, problems, has_anchors)
            if document is not None:
                documents.append(document)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        problems.append(error(file, line, "", f"invalid YAML: {exc.problem or exc.context}"))
    except yaml.reader.ReaderError as exc:  # a character YAML forbids, e.g. a NUL byte
        line = text.count("\n", 0, exc.position) + 1
        character = exc.character if isinstance(exc.character, int) else ord(exc.character)
        problems.append(error(file, line, "", f"invalid YAML: {exc.reason} (#x{character:04x})"))
    except yaml.YAMLError as exc:
        problems.append(error(file, 0, "", "invalid YAML: " + " ".join(str(exc).split())))
    finally:
        loader.dispose()
    return documents, problems


def _nodes(loader: yaml.SafeLoader) -> Iterator[yaml.Node]:
    while loader.check_node():
        node = loader.get_node()
        if node is not None:
            yield node


def _document(
    loader: yaml.SafeLoader, node: yaml.Node, file: str, problems: list[Problem], has_anchors: bool = True
) -> Document | None:
    try:
        return _TreeWalk(loader, file, has_anchors).document(node, problems)
    except _Unusual:
        pass  # the general path below words every refusal
    return _general_document(loader, node, file, problems, has_anchors)


class _Unusual(Exception):
    """A node the tree walk leaves to the general path (nothing was reported yet)."""


class _TooDeep(Exception):
    """A node deeper than MAX_DEPTH."""


class _TreeWalk:
    """Depth check, lines, duplicate keys and value of an alias-free document, in one walk.

    Without aliases every node has one parent, so nothing is shared and
    nothing expands: each node is visited once, at most MAX_DEPTH calls deep.
    What it finds matches the general path's: the depth problem first, then
    the value as SafeLoader constructs it, then lines and duplicate keys as
    `_index` records them (under a duplicate key nothing is recorded).

    Only a text with an anchor can hold an alias. There the walk notes each
    node it meets and stops at the first met twice, before anything is
    expanded; the general path then measures what the aliases expand to.
    """

    def __init__(self, loader: yaml.SafeLoader, file: str, may_share: bool) -> None:
        self.loader = loader
        self.file = file
        self.lines: dict[Path, int] = {}
        self.duplicates: list[Problem] = []
        self.met: set[int] | None = set() if may_share else None

    def document(self, root: yaml.Node, problems: list[Problem]) -> Document | None:
        start = root.start_mark.line + 1
        try:
            data = self.value(root, (), 1)
        except _TooDeep:
            if self.met is not None:  # an alias further on may be a bomb, which is reported first
                raise _Unusual from None
            problems.append(error(self.file, start, "", f"nested more than {MAX_DEPTH} levels deep"))
            return None
        if data is None:  # an empty document, e.g. a trailing `---`
            return None
        problems.extend(self.duplicates)
        return Document(data=data, line=start, lines=self.lines)

    def value(self, node: yaml.Node, path: Path | None, depth: int) -> object:
        """The value of `node`, at `depth` (the root is 1); `path` None: record no lines."""
        if depth > MAX_DEPTH:
            raise _TooDeep
        if self.met is not None:
            _meet_once(self.met, node)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG:
            return self.mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ_TAG:
            return self.sequence(node, path, depth)
        raise _Unusual  # !!set, !!omap, a custom tag...

    def scalar(self, node: yaml.Node) -> object:
        if node.tag == _STR_TAG:
            return node.value
        construct = _SCALAR_CONSTRUCTORS.get(node.tag)
        if construct is None:  # a merge key, a custom tag...
            raise _Unusual
        try:
            return construct(self.loader, node)
        except Exception as exc:  # `!!int x` is a ValueError, `!!bool x` a KeyError: the general path says where
            raise _Unusual from exc

    def mapping(self, node: yaml.MappingNode, path: Path | None, depth: int) -> dict[object, object]:
        data: dict[object, object] = {}
        lines = self.lines
        for key_node, value_node in node.value:
            # A key lies as deep as its value, whose depth is checked.
            if not isinstance(key_node, yaml.ScalarNode):  # an unhashable key
                raise _Unusual
            if self.met is not None:
                _meet_once(self.met, key_node)
            key = self.scalar(key_node)
            value_path = None
            if path is not None:
                key_path = (*path, str(key_node.value))
                key_line = key_node.start_mark.line + 1
                first = lines.get(key_path)
                if first is None:
                    lines[key_path] = key_line
                    value_path = key_path
                else:
                    message = f"duplicate key (first at line {first})"
                    self.duplicates.append(error(self.file, key_line, field_path(key_path), message))
            data[key] = self.value(value_node, value_path, depth + 1)
        return data

    def sequence(self, node: yaml.SequenceNode, path: Path | None, depth: int) -> list[object]:
        items: list[object] = []
        for index, item in enumerate(node.value):
            item_path = None
            if path is not None:
                item_path = (*path, index)
                self.lines[item_path] = item.start_mark.line + 1
            items.append(self.value(item, item_path, depth + 1))
        return items


def _bad_scalar(loader: yaml.SafeLoader, root: yaml.Node, file: str) -> Problem | None:
    """The first scalar under `root` its tag's constructor refuses (`!!int abc`, the
    date `2001-13-45`), as a problem at its line; each node once, aliases too."""
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(reversed(_children(node)))
        construct = _SCALAR_CONSTRUCTORS.get(node.tag) if isinstance(node, yaml.ScalarNode) else None
        if construct is None:
            continue
        try:
            construct(loader, node)
        except Exception:
            kind = node.tag.rsplit(":", 1)[-1]
            return error(file, node.start_mark.line + 1, "", f"invalid YAML: {node.value!r} is not a valid {kind}")
    return None


def _meet_once(met: set[int], node: yaml.Node) -> None:
    if id(node) in met:  # met before: this is an alias
        raise _Unusual
    met.add(id(node))


def _general_document(
    loader: yaml.SafeLoader, node: yaml.Node, file: str, problems: list[Problem], has_anchors: bool
) -> Document | None:
    """Any document: measured on its nodes, constructed by PyYAML, then indexed."""
    start = node.start_mark.line + 1
    too_big = _shape_problem(node) if has_anchors else _depth_problem(node)
    if too_big is not None:
        problems.append(error(file, start, "", too_big))
        return None
    try:
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or node.start_mark
        problems.append(error(file, mark.line + 1, "", f"invalid YAML: {exc.problem}"))
        return None
    except Exception as exc:  # a scalar its constructor refuses: a ValueError, KeyError, AttributeError...
        problems.append(_bad_scalar(loader, node, file) or error(file, start, "", f"invalid YAML: {exc}"))
        return None
    if data is None:  # an empty document, e.g. a trailing `---`
        return None
    document = Document(data=data, line=start)
    _index(node, (), document.lines, file, problems, set())
    return document


def _index(
    node: yaml.Node,
    path: Path,
    lines: dict[Path, int],
    file: str,
    problems: list[Problem],
    ancestors: set[int],
) -> None:
    """Record the line of every key and item under `node`, and flag duplicate keys."""
    if id(node) in ancestors:  # a recursive alias: its lines are already recorded
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
            _index(value_node, key_path, lines, file, problems, ancestors)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            item_path = (*path, index)
            lines[item_path] = item.start_mark.line + 1
            _index(item, item_path, lines, file, problems, ancestors)


def _shape_problem(root: yaml.Node) -> str | None:
    """Why the document under `root` is too large or too deep to construct, or None.

    Measured on the composed nodes, where an alias is one shared node: each
    node is visited once, so a bomb is measured without being expanded.
    """
    expanded, depth, distinct = _measure(root)
    if expanded - distinct > MAX_ALIAS_EXPANSION:
        return f"aliases expand to more than {MAX_ALIAS_EXPANSION:,} values (a YAML alias bomb?)"
    if depth > MAX_DEPTH:
        return f"nested more than {MAX_DEPTH} levels deep"
    return None


def _depth_problem(root: yaml.Node) -> str | None:
    """`_shape_problem` for a tree without aliases (each node has one parent):
    one cheap walk, since nothing can expand."""
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


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _measure(root: yaml.Node) -> tuple[int, int, int]:
    """(values counted with aliases expanded, depth, distinct nodes) under `root`.

    Iterative and memoized by node identity. A recursive alias (a node inside
    itself) counts once: it is a cycle, not an expansion.
    """
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            children = _children(node)
            size[key] = 1 + sum(size.get(id(child), 1) for child in children)
            height[key] = 1 + max((height.get(id(child), 1) for child in children), default=0)
            continue
        if key in size or key in open_nodes:
            continue
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))
    return size[id(root)], height[id(root)], len(size)
