"""Nothing outside a backend's own folder names it: a backend is its folder plus
its entry point (docs/adding-a-backend.md). The emulator, a fake of the
services themselves, is the one other place that knows them."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from reconciler.model.registry import DEFAULT_BACKEND, installed

ROOT = Path(__file__).resolve().parent.parent / "reconciler"
# The backend of a reconciler.yaml that names none: the one name the core may hold.
ALLOWED = {Path("model/registry.py"): {DEFAULT_BACKEND}}


def _core_modules() -> Iterator[Path]:
    for path in sorted(ROOT.rglob("*.py")):
        inside = path.relative_to(ROOT).parts
        if inside[0] == "emulator" or (inside[0] == "backends" and len(inside) > 2):
            continue
        yield path


def _names_of_backends(path: Path, backends: set[str]) -> Iterator[str]:
    allowed = ALLOWED.get(path.relative_to(ROOT), set())
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                if module.split(".")[:3] in (["reconciler", "backends", name] for name in backends):
                    yield f"line {node.lineno}: imports {module}"
        elif (
            isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower() in backends - allowed
        ):
            yield f"line {node.lineno}: the string {node.value!r}"


def test_no_core_module_names_a_backend() -> None:
    backends = set(installed())
    assert {"bedrock", "gemini", "vertex"} <= backends
    found = [
        f"{path.relative_to(ROOT)} {what}" for path in _core_modules() for what in _names_of_backends(path, backends)
    ]
    assert found == [], "\n".join(found)
