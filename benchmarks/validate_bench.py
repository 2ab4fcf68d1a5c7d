"""Benchmark `validate`: 2,000 manifests of 200 examples each, and dataset hashing throughput.

Run: python benchmarks/validate_bench.py [--manifests N] [--examples N] [--hash-mb N]

Targets (2-core machine): the 2,000 manifests validate in under 5 s; datasets
are read, checked and fingerprinted at 200 MB/s or more. Everything is
generated in a temporary folder and removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from reconciler.loader import example_digest, load
from reconciler.loader.datasets import Keys, Row, file_field_namer, read_batches, scan
from reconciler.model.manifest import Example

T = TypeVar("T")

MANIFEST = """# yaml-language-server: $schema=../schema/tunedmodel.schema.json
apiVersion: reconciler/v1
kind: TunedModel
metadata:
  name: model-{index}
spec:
  displayName: Model {index}
  description: Benchmark model number {index}.
  baseModel: models/gemini-1.5-flash-001-tuning
  trainingData:
    file: ../datasets/model-{index}.jsonl
  hyperparameters:
    epochCount: 5
    batchSize: 4
    learningRate: 0.001
  generation:
    temperature: 0.7
    topP: 0.95
  smokeTests:
    - input: "0"
      expect: {{equals: "1"}}
"""


def sentence(rng: random.Random, words: int) -> str:
    vocabulary = ("the", "model", "returns", "next", "number", "sequence", "after", "roman", "one", "two")
    return " ".join(rng.choice(vocabulary) for _ in range(words))


def write_repository(root: Path, manifests: int, examples: int) -> int:
    """Write the repository; return the total dataset size in bytes."""
    rng = random.Random(7)
    (root / "manifests").mkdir()
    (root / "datasets").mkdir()
    (root / "reconciler.yaml").write_text("prune: false\n")
    total = 0
    for index in range(manifests):
        (root / "manifests" / f"model-{index}.yaml").write_text(MANIFEST.format(index=index))
        lines = [
            json.dumps({"text_input": f"{n} {sentence(rng, 12)}", "output": sentence(rng, 8)}) for n in range(examples)
        ]
        data = ("\n".join(lines) + "\n").encode()
        (root / "datasets" / f"model-{index}.jsonl").write_bytes(data)
        total += len(data)
    return total


def write_large_dataset(path: Path, megabytes: int) -> int:
    """A dataset of realistic examples (about 1.5 kB each: a prompt and an answer)."""
    rng = random.Random(11)
    written = 0
    with path.open("w", encoding="utf-8") as stream:
        index = 0
        while written < megabytes * 1_000_000:
            line = json.dumps({"text_input": f"{index} {sentence(rng, 180)}", "output": sentence(rng, 60)})
            stream.write(line + "\n")
            written += len(line) + 1
            index += 1
    return written


def timed(action: Callable[[], T]) -> tuple[T, float, float]:
    """(result, wall seconds, CPU seconds of this process, all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def bench_validate(manifests: int, examples: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        size = write_repository(root, manifests, examples)
        result, wall, cpu = timed(lambda: load(root, cwd=root))
        assert result.ok, [str(p) for p in result.problems[:5]]
        count = len(result.models)
        print(f"validate: {count:,} manifests x {examples} examples ({size / 1e6:.1f} MB of data)")
        print(f"  wall {wall:.2f} s, CPU {cpu:.2f} s  (target < 5 s)  {count / wall:,.0f} manifests/s")


def bench_hashing(megabytes: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "large.jsonl"
        size = write_large_dataset(path, megabytes)
        bench_fingerprint_only(path, size)
        bench_read_and_fingerprint(path, size)
        print("  (target >= 200 MB/s)")


def bench_fingerprint_only(path: Path, size: int) -> None:
    """Hashing alone: the examples are decoded first, outside the timing."""
    batches = read_batches(path, Keys(), "large")
    examples = [Example(text_input=r.text_input, output=r.output) for b in batches for r in b if isinstance(r, Row)]
    _, wall, cpu = best_of(3, lambda: example_digest(examples))
    print(f"hashing: {size / 1e6:.0f} MB JSONL, {len(examples):,} examples of ~{size // len(examples):,} bytes")
    print(f"  fingerprint of decoded examples: {size / 1e6 / wall:,.0f} MB/s (CPU {size / 1e6 / cpu:,.0f})")


def bench_read_and_fingerprint(path: Path, size: int) -> None:
    """What validate does to each file: read, parse, check every row, fingerprint."""
    keys = Keys()
    _, wall, cpu = best_of(3, lambda: scan(read_batches(path, keys, "large"), size, "large", file_field_namer(keys)))
    print(f"  read + parse + check + fingerprint: {size / 1e6 / wall:,.0f} MB/s (CPU {size / 1e6 / cpu:,.0f})")


def best_of(runs: int, action: Callable[[], T]) -> tuple[T, float, float]:
    # The best run: the others measure the page cache warming and the neighbours.
    return min((timed(action) for _ in range(runs)), key=lambda result: result[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifests", type=int, default=2000)
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--hash-mb", type=int, default=200)
    args = parser.parse_args()
    bench_validate(args.manifests, args.examples)
    bench_hashing(args.hash_mb)


if __name__ == "__main__":
    main()
