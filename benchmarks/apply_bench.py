"""Apply 50 models against the emulator: wall time, and API requests per model.

Each model has 20 examples, 2 epochs, batch size 4: a 10-step tuning run of
`--step-seconds` a step. The engine runs as `reconciler apply` runs it (load,
observe, plan, execute with smoke tests), with the production poll backoff
(x1.5 a poll, from `--poll` seconds). The emulator counts every request, so
the figures show what polling costs.

Run: python benchmarks/apply_bench.py [--models 50] [--step-seconds 0.05] [--poll 0.1] [--concurrency 8]
Writes benchmarks/results/apply_bench.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
import yaml

from reconciler.apply.executor import ApplyOptions, Executor
from reconciler.apply.progress import NullReporter
from reconciler.apply.waiting import Waiter
from reconciler.backends.gemini import RULES, GeminiBackend
from reconciler.backends.gemini.client import GeminiClient
from reconciler.emulator import EmulatorOptions, EmulatorServer
from reconciler.loader import load
from reconciler.plan import PlanOptions, plan

RESULTS = Path(__file__).parent / "results" / "apply_bench.json"
POLL_KEY = "GET /{version}/tunedModels/{model_id}/operations/{operation_id}"


def write_repo(root: Path, models: int) -> None:
    (root / "manifests").mkdir()
    (root / "reconciler.yaml").write_text("manifests: manifests\n", encoding="utf-8")
    examples = [{"textInput": str(n), "output": str(n + 1)} for n in range(20)]
    for n in range(models):
        document = {
            "apiVersion": "reconciler/v1",
            "kind": "TunedModel",
            "metadata": {"name": f"model-{n:03d}"},
            "spec": {
                "displayName": f"Model {n}",
                "baseModel": "models/gemini-1.5-flash-001-tuning",
                "trainingData": {"examples": examples},
                "hyperparameters": {"epochCount": 2, "batchSize": 4, "learningRate": 0.001},
                "smokeTests": [{"input": "3", "expect": {"equals": "4"}}],
            },
        }
        (root / "manifests" / f"model-{n:03d}.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")


def run(models: int, step_seconds: float, poll: float, concurrency: int) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as folder,
        EmulatorServer(EmulatorOptions(step_seconds=step_seconds, seed=1)) as server,
    ):
        root = Path(folder)
        write_repo(root, models)
        started = time.perf_counter()
        desired = load(root).desired
        assert desired is not None
        with GeminiClient(endpoint=server.url, pool_size=concurrency) as client:
            backend = GeminiBackend(client, concurrency)
            planned = plan(desired, backend.observe(desired), RULES, PlanOptions())
            waiter = Waiter(interval=poll, timeout=600, reporter=NullReporter())
            options = ApplyOptions(concurrency=concurrency, max_deletions=0)
            result = Executor(backend, desired, NullReporter(), waiter, options).run(planned)
        wall = time.perf_counter() - started
        counts = requests.get(f"{server.url}/_internal/requests", timeout=10).json()["counts"]
    assert result.ok, [o for o in result.outcomes if not o.ok]
    total = sum(counts.values())
    return {
        "models": models,
        "tuning_steps_per_model": 10,
        "step_seconds": step_seconds,
        "tuning_seconds_per_model": 10 * step_seconds,
        "first_poll_interval_seconds": poll,
        "concurrency": concurrency,
        "wall_seconds": round(wall, 2),
        "requests": total,
        "requests_per_model": round(total / models, 2),
        "polls_per_model": round(counts.get(POLL_KEY, 0) / models, 2),
        "requests_by_kind": dict(sorted(counts.items())),
        "smoke_tests_passed": len(result.smoke) - len(result.smoke_failures),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--step-seconds", type=float, default=0.05)
    parser.add_argument("--poll", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    figures = run(args.models, args.step_seconds, args.poll, args.concurrency)
    print(
        f"{figures['models']} models applied in {figures['wall_seconds']}s "
        f"(concurrency {figures['concurrency']}, {figures['tuning_seconds_per_model']}s of tuning each)"
    )
    print(
        f"{figures['requests']} API requests: {figures['requests_per_model']} per model, "
        f"of which {figures['polls_per_model']} operation polls"
    )
    for kind, number in figures["requests_by_kind"].items():
        print(f"  {number:6d}  {kind}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"Wrote {RESULTS}")


if __name__ == "__main__":
    main()
