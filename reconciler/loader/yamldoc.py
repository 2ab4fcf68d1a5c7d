"""YAML documents that remember where each value came from.

PyYAML's `load` throws the marks away, so documents are composed into nodes
first: the nodes give every key and list item its line, then the same nodes
are constructed into plain Python values for pydantic.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import yaml

from reconciler.loader.problems import Problem, error

# libyaml when it is there: composing thousands of manifests in pure Python
# is the slowest part of a validate run.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

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
        paths, prefixes = tuple(paths), tuple(prefixes)
        wanted = (*paths, *prefixes)

        def kept(path: Path) -> bool:
            return (any(path == target[: len(path)] for target in wanted)
                    or any(path[: len(prefix)] == prefix for prefix in prefixes))

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
    # Without an anchor there is no alias, so no expansion to measure: only depth.
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
