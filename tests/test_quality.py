"""The project's own gates, run with the tests so one command checks everything:
lint and format (ruff), types (mypy) and the layer contracts (import-linter)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"{name} is not installed: run pip install -e '.[test]'")
    return found


def test_ruff_is_clean() -> None:
    result = run(tool("ruff"), "check", "reconciler", "tests", "benchmarks")
    assert result.returncode == 0, result.stdout + result.stderr


def test_code_is_formatted() -> None:
    # One layout for everyone: a diff shows what changed, never how an editor wraps lines.
    result = run(tool("ruff"), "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    result = run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_layers_hold() -> None:
    result = run(tool("lint-imports"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_gates_are_the_strict_ones() -> None:
    """Passing gates mean little if the configuration they read was loosened."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    assert config["mypy"]["strict"] is True
    independent = [c for c in config["importlinter"]["contracts"] if c["type"] == "independence"]
    assert ["reconciler.backends.*"] in [c["modules"] for c in independent]


def test_the_contributor_hooks_are_valid_and_install_nothing() -> None:
    """.pre-commit-config.yaml (not .pre-commit-hooks.yaml, the hook shipped to
    users): local hooks running the tools from .venv, so no network is needed."""
    config = ROOT / ".pre-commit-config.yaml"
    result = run(tool("pre-commit"), "validate-config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    repos = yaml.safe_load(config.read_text(encoding="utf-8"))["repos"]
    hooks = [hook for repo in repos for hook in repo["hooks"]]
    assert [repo["repo"] for repo in repos] == ["local"]
    assert {hook["language"] for hook in hooks} == {"system"}
    assert all(hook["entry"].startswith(".venv/bin/") for hook in hooks)
    assert {hook["id"] for hook in hooks} == {"ruff-check", "ruff-format", "mypy"}
