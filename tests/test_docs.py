"""The documentation cites only files that exist, and shows commands that work as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([*ROOT.glob("*.md"), *(ROOT / "docs").glob("*.md")])
# A relative link target (a regular expression such as `[a-z]([a-z0-9-])` is not one).
_LINK = re.compile(r"\]\((?!https?://|#|mailto:)([^)#\s\[{}]+)\)")
# A path in backticks: folders and a file name with a suffix, e.g. `tests/github/test_action.py`.
_PATH = re.compile(r"`(\.?[\w-]+(?:/[\w.-]+)+\.(?:py|md|yml|yaml|json|toml|sh|jsonl|csv|txt))`")


def cited(doc: Path) -> list[tuple[str, Path]]:
    text = doc.read_text(encoding="utf-8")
    links = [(target, doc.parent / target) for target in _LINK.findall(text)]
    paths = [(target, ROOT / target) for target in _PATH.findall(text)]
    return links + paths


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_file_a_doc_cites_exists(doc: Path) -> None:
    missing = [target for target, path in cited(doc) if not path.exists()]
    assert missing == []


def test_the_check_above_finds_citations() -> None:
    readme = dict(cited(ROOT / "README.md"))
    assert "docs/architecture.md" in readme


def test_the_readme_says_what_to_install_and_what_it_is_called() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pip install gemini-tuning-reconciler" in readme
    assert "import package" in readme


def test_the_readme_documents_shell_completion() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for shell in ("bash", "zsh", "fish"):
        assert f"_RECONCILER_COMPLETE={shell}_source reconciler" in readme
