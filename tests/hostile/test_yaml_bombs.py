"""YAML that is valid but hostile: alias bombs and deep nesting.

Each is refused at its file and line, quickly and in bounded memory, before
it is constructed or validated.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.loader.yamldoc import MAX_ALIAS_EXPANSION, MAX_DEPTH, parse_documents

from .helpers import assert_clear_error, run, write_repo


def billion_laughs(levels: int = 9) -> str:
    """The classic: each level lists the previous one 9 times (9**9 values from ~700 bytes)."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        previous = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [{', '.join([previous] * 9)}]")
    return "\n".join(lines) + "\n"


BOMB = billion_laughs()

# name, manifest text, the problem expected (file:line: message)
CASES = [
    ("billion laughs", BOMB, "manifests/bomb.yaml:1: aliases expand to more than"),
    (
        "billion laughs inside a manifest",
        "apiVersion: reconciler/v1\nkind: TunedModel\nmetadata: {name: bomb}\nspec:\n  description:\n"
        + "".join("    " + line + "\n" for line in BOMB.splitlines()),
        "manifests/bomb.yaml:1: aliases expand to more than",
    ),
    (
        "block nesting past the limit",
        "a:\n" + "- " * (MAX_DEPTH + 5) + "x\n",
        f"manifests/bomb.yaml:1: nested more than {MAX_DEPTH} levels deep",
    ),
    ("flow nesting 100,000 deep", "a: " + "[" * 100_000 + "]" * 100_000 + "\n", "manifests/bomb.yaml:1: invalid YAML"),
    ("block nesting 100,000 deep", "a:\n" + "- " * 100_000 + "x\n", "manifests/bomb.yaml:2: invalid YAML"),
]


def test_the_bomb_is_the_size_of_the_report() -> None:
    assert len(BOMB.encode()) < 800


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_validate_refuses_it_at_its_line(tmp_path: Path, text: str, expected: str) -> None:
    repo = write_repo(tmp_path)
    (repo / "manifests" / "bomb.yaml").write_text(text)
    # plan, not only validate: refused before credentials are looked for or a request is made
    assert_clear_error(run(repo, "plan"), expected)


def test_aliases_that_expand_a_little_still_load() -> None:
    shared = "base: &base {temperature: 0.5, topP: 0.9}\n" + "".join(f"m{n}: *base\n" for n in range(100))
    documents, problems = parse_documents(shared, "ok.yaml")
    assert problems == []
    assert documents[0].data["m99"] == {"temperature": 0.5, "topP": 0.9}  # type: ignore[index]


def test_the_limit_is_on_expansion_not_on_size() -> None:
    # One big flat list (a manifest with many inline examples) is not an alias bomb.
    flat = "items:\n" + "".join(f"- {n}\n" for n in range(MAX_ALIAS_EXPANSION + 10))
    _, problems = parse_documents(flat, "flat.yaml")
    assert problems == []


def test_a_recursive_alias_is_a_cycle_not_an_expansion() -> None:
    _, problems = parse_documents("a: &a [1, *a]\n", "cycle.yaml")
    assert not any("expand" in p.message for p in problems)
