"""Each dataset is read once, hashed in the pass that checks it; files are found
through symlinked folders as before; and the optional dataset cache (by content hash)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from reconciler.loader import datasets, load
from reconciler.loader.cache import CACHE_DIR, CACHE_FILE
from reconciler.loader.files import FileProblem, Resolver
from reconciler.loader.readers import Keys, read_batches

from .test_load import MANIFEST, examples_jsonl, make_repo

CSV = "text_input,output\n" + "".join(f"{n},{n + 1}\n" for n in range(20))
BAD_CSV = "question,answer\n1,2\n" + "x,y\n" * 5000  # no such columns: read stops at the header
JSON = json.dumps({"examples": [{"text_input": str(n), "output": str(n + 1)} for n in range(20)]}, indent=1)


@pytest.mark.parametrize(
    ("suffix", "text"),
    [(".jsonl", examples_jsonl(3000)), (".csv", CSV), (".csv", BAD_CSV), (".json", JSON)],
    ids=["jsonl", "csv", "csv header problem", "json"],
)
def test_the_digest_fed_while_reading_is_the_files_sha256(tmp_path: Path, suffix: str, text: str) -> None:
    path = tmp_path / f"data{suffix}"
    path.write_text(text)
    digest = hashlib.sha256()
    for _ in read_batches(path, Keys(), "data", digest):
        pass
    assert digest.hexdigest() == hashlib.sha256(path.read_bytes()).hexdigest()


def read_counting(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    opened: list[Path] = []
    real_open = Path.open

    def counting_open(self: Path, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if self.suffix == ".jsonl":
            opened.append(self)
        return real_open(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", counting_open)
    return opened


def test_each_dataset_is_opened_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_repo(
        tmp_path,
        {f"manifests/{n}.yaml": MANIFEST.format(name=n, file=f"../datasets/{n}.jsonl") for n in "abc"},
        {f"datasets/{n}.jsonl": examples_jsonl(start=i * 100) for i, n in enumerate("abc")},
    )
    opened = read_counting(monkeypatch)
    result = load(tmp_path, cwd=tmp_path)
    assert result.ok, result.problems
    assert sorted(p.name for p in opened) == ["a.jsonl", "b.jsonl", "c.jsonl"]


def test_the_resolver_follows_symlinked_folders_and_files(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "data.jsonl").write_text("{}")
    (tmp_path / "linked").symlink_to(tmp_path / "real")
    (tmp_path / "real" / "alias.jsonl").symlink_to(tmp_path / "real" / "data.jsonl")
    resolver = Resolver()
    for path in (
        tmp_path / "linked" / "data.jsonl",
        tmp_path / "linked" / "alias.jsonl",
        tmp_path / "linked" / ".." / "real" / "data.jsonl",
        tmp_path / "real" / "missing.jsonl",
    ):
        assert resolver.resolve(path) == path.resolve()
    with pytest.raises(FileProblem, match="cannot be resolved"):
        resolver.resolve(tmp_path / "real" / "nul\x00.jsonl")


def cached_repo(root: Path, enabled: bool = True) -> Path:
    return make_repo(
        root,
        {"manifests/a.yaml": MANIFEST.format(name="a", file="../datasets/a.jsonl")},
        {"datasets/a.jsonl": examples_jsonl()},
        settings=f"datasetCache: {str(enabled).lower()}\n",
    )


def test_the_cache_reuses_a_clean_result_for_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = cached_repo(tmp_path)
    first = load(root, cwd=root)
    assert (root / CACHE_DIR / CACHE_FILE).is_file()
    assert (root / CACHE_DIR / ".gitignore").is_file()
    scans: list[str] = []
    real_scan = datasets.scan
    monkeypatch.setattr(datasets, "scan", lambda *args: scans.append(args[2]) or real_scan(*args))
    second = load(root, cwd=root)
    assert scans == []  # nothing parsed or checked again
    assert first.desired is not None and second.desired is not None
    assert second.desired.models[0].dataset == first.desired.models[0].dataset
    assert second.desired.digest == first.desired.digest  # the saved-plan digest is unchanged


def test_a_changed_byte_is_checked_again(tmp_path: Path) -> None:
    root = cached_repo(tmp_path)
    load(root, cwd=root)
    (root / "datasets" / "a.jsonl").write_text(examples_jsonl(start=1))
    result = load(root, cwd=root)
    uncached = cached_repo(tmp_path / "uncached", enabled=False)
    (uncached / "datasets" / "a.jsonl").write_text(examples_jsonl(start=1))
    fresh = load(uncached, cwd=uncached)
    assert result.desired is not None and fresh.desired is not None
    assert result.desired.models[0].dataset == fresh.desired.models[0].dataset
    assert result.desired.models[0].dataset.examples == 20


def test_a_dataset_with_problems_is_never_cached(tmp_path: Path) -> None:
    root = cached_repo(tmp_path)
    (root / "datasets" / "a.jsonl").write_text(examples_jsonl() + examples_jsonl(1))  # a duplicate: a warning
    first, second = load(root, cwd=root), load(root, cwd=root)
    assert [str(p) for p in first.warnings] == [str(p) for p in second.warnings] != []


def test_the_cache_is_off_by_default_and_a_corrupt_one_is_empty(tmp_path: Path) -> None:
    off = cached_repo(tmp_path / "off", enabled=False)
    load(off, cwd=off)
    assert not (off / CACHE_DIR).exists()
    on = cached_repo(tmp_path / "on")
    (on / CACHE_DIR).mkdir()
    (on / CACHE_DIR / CACHE_FILE).write_text("{not json")
    result = load(on, cwd=on)
    assert result.ok
    assert json.loads((on / CACHE_DIR / CACHE_FILE).read_text())["datasets"]
