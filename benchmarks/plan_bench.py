"""Benchmark `reconciler plan` on 2,000 managed models against the emulator.

The emulator adds 50 ms to every API request (a nearby region's round trip).
The 2,000 models are seeded straight into it, through its create handler in
this process (the body apply sends, with the ownership trailer; no HTTP, so no
latency), so the account is converged and the plan is all `noop`.

Measured, in one run:

1. `python -m reconciler plan` in a subprocess, as a user runs it: wall time,
   the API requests the emulator counted (target: ceil(2000/1000) = 2 list
   calls and nothing else) and the process's peak resident memory (RSS, from
   getrusage(RUSAGE_CHILDREN); target under 300 MB). The plan runs first, so
   it is the only child whose peak is recorded.
2. In this process, load + observe + plan, with observe done two ways: the
   reconciler's paged list, and a naive observe that GETs each model (using the
   same concurrency the settings give, 4). The ratio of the two is reported.

3. The same for `backend: vertex`: 2,000 models seeded as tuning jobs (the
   body apply sends, with the ownership labels, and the canonical JSONL
   uploaded), run to their end, so that each has a Model and an Endpoint.
   `reconciler plan` must make only the paged list calls: ceil(2000/1000) = 2
   each for tuning jobs, Models and Endpoints.

Run: python benchmarks/plan_bench.py [--models N] [--latency SECONDS]
Prints the figures and writes them to benchmarks/results/plan_bench.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from reconciler.backends.gemini import RULES, GeminiBackend
from reconciler.backends.gemini.client import PAGE_SIZE, GeminiClient
from reconciler.backends.gemini.live import live_model
from reconciler.backends.gemini.requests import create_body
from reconciler.client.auth import Anonymous
from reconciler.client.errors import NotFound
from reconciler.emulator import EmulatorOptions, EmulatorServer
from reconciler.emulator.calls import Call
from reconciler.emulator.wire import Enums
from reconciler.loader import load
from reconciler.model.desired import Desired
from reconciler.model.live import LiveModel, Observed
from reconciler.plan import PlanOptions, plan
from reconciler.plan.types import Plan

RESULTS = Path(__file__).resolve().parent / "results" / "plan_bench.json"
RSS_TARGET_MB = 300
EXAMPLES = 20  # the fewest the API accepts

MANIFEST = """\
apiVersion: reconciler/v1
kind: TunedModel
metadata:
  name: model-{index:04d}
spec:
  displayName: Model {index}
  description: Benchmark model number {index}.
  baseModel: models/gemini-1.5-flash-001-tuning
  trainingData:
    file: ../datasets/model-{index:04d}.jsonl
  hyperparameters: {{epochCount: 5, batchSize: 4, learningRate: 0.001}}
  generation: {{temperature: 0.7, topP: 0.95}}
"""


def write_repository(root: Path, models: int) -> None:
    (root / "manifests").mkdir(parents=True)
    (root / "datasets").mkdir()
    (root / "reconciler.yaml").write_text("prune: true\nconcurrency: 4\n", encoding="utf-8")
    for index in range(models):
        (root / "manifests" / f"model-{index:04d}.yaml").write_text(MANIFEST.format(index=index), encoding="utf-8")
        rows = (json.dumps({"textInput": f"{index} {n}", "output": str(n + 1)}) for n in range(EXAMPLES))
        (root / "datasets" / f"model-{index:04d}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")


def load_desired(root: Path) -> Desired:
    result = load(root)
    if result.desired is None:
        raise SystemExit("\n".join(str(problem) for problem in result.problems))
    return result.desired


def seed(server: EmulatorServer, desired: Desired) -> None:
    """Create every model as apply would, through the emulator's handler (no HTTP)."""
    service = server.app.services["models"]
    for model in desired.models:
        service.create_tuned_model(
            Call(
                version="v1beta",
                body=create_body(model),
                query={"tunedModelId": model.id},
                enums=Enums(),
                now=time.time(),
            )
        )


def request_counts(server: EmulatorServer, reset: bool = False) -> dict[str, int]:
    counts: dict[str, int] = requests.get(f"{server.url}/_internal/requests", timeout=10).json()["counts"]
    if reset:
        requests.delete(f"{server.url}/_internal/requests", timeout=10).raise_for_status()
    return counts


def plan_in_subprocess(server: EmulatorServer, root: Path) -> dict[str, Any]:
    """The CLI as a user runs it; its peak RSS from the kernel's record of waited-for children."""
    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    env["GENERATIVELANGUAGE_EMULATOR_HOST"] = server.host_port
    request_counts(server, reset=True)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", "-C", str(root), "--output", "json", "--detailed-exitcode"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"plan exited {done.returncode} (expected 0, no changes):\n{done.stderr}")
    saved = json.loads(done.stdout)
    counts = request_counts(server)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    return {
        "wall_seconds": round(wall, 2),
        "exit_code": done.returncode,
        "changes": len(saved["changes"]),
        "has_changes": saved["has_changes"],
        "requests": counts,
        "requests_total": sum(counts.values()),
        "peak_rss_mb": round(peak_kib / 1024, 1),
    }


def naive_observe(client: GeminiClient, desired: Desired, concurrency: int) -> Observed:
    """What a planner without a list would do: GET every declared model."""

    def get(model_id: str) -> LiveModel | None:
        try:
            return live_model(client.get_tuned_model(model_id))
        except NotFound:
            return None

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        found = pool.map(get, [model.id for model in desired.models])
        return Observed(models=tuple(model for model in found if model is not None), permissions={})


def timed_plan(
    root: Path, server: EmulatorServer, observe_with: Callable[[GeminiClient, Desired, int], Observed]
) -> dict[str, Any]:
    """Load, observe and plan in this process; seconds of each step and requests made."""
    request_counts(server, reset=True)
    started = time.perf_counter()
    desired = load_desired(root)
    loaded = time.perf_counter()
    with GeminiClient(endpoint=server.url, credentials=Anonymous(), pool_size=10) as client:
        observed = observe_with(client, desired, desired.settings.concurrency)
    observed_at = time.perf_counter()
    result: Plan = plan(desired, observed, RULES, PlanOptions(prune=desired.settings.prune))
    finished = time.perf_counter()
    if result.has_changes or result.has_errors:
        raise SystemExit("the benchmark account is not converged: the plan has changes or errors")
    counts = request_counts(server)
    return {
        "load_seconds": round(loaded - started, 2),
        "observe_seconds": round(observed_at - loaded, 2),
        "plan_seconds": round(finished - observed_at, 2),
        "total_seconds": round(finished - started, 2),
        "requests_total": sum(counts.values()),
    }


def run(models: int, latency: float) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as folder,
        EmulatorServer(EmulatorOptions(latency_seconds=latency, step_seconds=0)) as server,
    ):
        root = Path(folder) / "repo"
        write_repository(root, models)
        started = time.perf_counter()
        seed(server, load_desired(root))
        seeded = time.perf_counter() - started
        cli = plan_in_subprocess(server, root)
        listed = timed_plan(root, server, lambda client, desired, n: GeminiBackend(client, n).observe(desired))
        naive = timed_plan(root, server, naive_observe)
    return {
        "models": models,
        "latency_seconds": latency,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.system()},
        "seed_seconds": round(seeded, 2),
        "cli_plan": cli,
        "targets": {"list_calls": math.ceil(models / PAGE_SIZE), "other_requests": 0, "peak_rss_mb": RSS_TARGET_MB},
        "in_process": {"list": listed, "naive_get_each": naive},
        "naive_over_list": {
            "observe": round(naive["observe_seconds"] / listed["observe_seconds"], 1),
            "load_observe_plan": round(naive["total_seconds"] / listed["total_seconds"], 1),
        },
        "peak_memory_measure": "peak RSS of the `reconciler plan` subprocess (getrusage RUSAGE_CHILDREN)",
    }


VERTEX_SETTINGS = """\
backend: vertex
vertex: {project: bench-project, location: us-central1, datasets: "gs://bench-data/reconciler/datasets"}
prune: true
concurrency: 4
"""
VERTEX_MANIFEST = """\
apiVersion: reconciler/v1
kind: TunedModel
metadata:
  name: model-{index:04d}
spec:
  displayName: Model {index}
  description: Benchmark model number {index}.
  baseModel: gemini-2.5-flash
  trainingData:
    file: ../datasets/model-{index:04d}.jsonl
  hyperparameters: {{epochCount: 5, learningRateMultiplier: 1.0, adapterSize: 4}}
"""


def write_vertex_repository(root: Path, models: int) -> None:
    write_repository(root, models)
    (root / "reconciler.yaml").write_text(VERTEX_SETTINGS, encoding="utf-8")
    for index in range(models):
        (root / "manifests" / f"model-{index:04d}.yaml").write_text(
            VERTEX_MANIFEST.format(index=index), encoding="utf-8")


def seed_vertex(server: EmulatorServer, desired: Desired) -> None:
    """Upload each dataset and create each job as apply would, through the
    emulator's handlers (no HTTP); one list then ends every job (step 0)."""
    from reconciler.backends.vertex import VertexBackend
    from reconciler.backends.vertex.client import VertexClient
    from reconciler.backends.vertex.datasets import CONTENT_TYPE, canonical_jsonl, object_name

    settings = desired.settings.vertex
    assert settings is not None
    client = VertexClient(server.url, server.url, settings.project, settings.location)
    client.ensure_bucket(settings.bucket)
    backend = VertexBackend(client, settings, emulated=True)
    gcs, jobs = server.app.services["gcs"], server.app.services["jobs"]
    for model in desired.models:
        data = canonical_jsonl(model)
        name = object_name(settings.prefix, data)
        gcs.upload(Call(version="", body=data, query={"name": name}, enums=Enums(), now=time.time(),
                        headers={"content-type": CONTENT_TYPE}, system={"uploadType": "media"}), settings.bucket)
        body = backend._job_body(model, f"gs://{settings.bucket}/{name}", "bench", model.manifest.spec.base_model or "")
        jobs.create_tuning_job(Call(version="v1", body=body, query={}, enums=Enums(), now=time.time()),
                               settings.project, settings.location)
    client.list_tuning_jobs()  # the first request after the end makes the Models and Endpoints
    client.close()


def vertex_plan_in_subprocess(server: EmulatorServer, root: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    env["AIPLATFORM_EMULATOR_HOST"] = server.host_port
    env["STORAGE_EMULATOR_HOST"] = server.url
    request_counts(server, reset=True)
    out = Path(tempfile.mkdtemp()) / "peak"
    started = time.perf_counter()
    # Through a wrapper process, so that this plan's peak RSS is measured
    # apart from the Gemini plan's (RUSAGE_CHILDREN keeps the largest child).
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_WRAPPER, str(out), sys.executable, "-m", "reconciler", "plan",
         "-C", str(root), "--output", "json", "--detailed-exitcode"],
        env=env, capture_output=True, text=True, check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"vertex plan exited {done.returncode} (expected 0, no changes):\n{done.stderr}")
    counts = request_counts(server)
    return {
        "wall_seconds": round(wall, 2),
        "changes": len(json.loads(done.stdout)["changes"]),
        "requests": counts,
        "requests_total": sum(counts.values()),
        "peak_rss_mb": round(int(out.read_text()) / 1024, 1),
    }


_PEAK_WRAPPER = """\
import resource, subprocess, sys
code = subprocess.run(sys.argv[2:]).returncode
open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""


def run_vertex(models: int, latency: float) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as folder,
        EmulatorServer(EmulatorOptions(latency_seconds=latency, step_seconds=0)) as server,
    ):
        root = Path(folder) / "repo"
        write_vertex_repository(root, models)
        started = time.perf_counter()
        seed_vertex(server, load_desired(root))
        seeded = time.perf_counter() - started
        cli = vertex_plan_in_subprocess(server, root)
    return {"seed_seconds": round(seeded, 2), "cli_plan": cli,
            "targets": {"list_calls_each": math.ceil(models / PAGE_SIZE), "other_requests": 0}}


def report_vertex(figures: dict[str, Any]) -> None:
    cli = figures["cli_plan"]
    lists = {k: v for k, v in cli["requests"].items()
             if k.startswith("GET ") and k.rsplit("/", 1)[-1] in ("tuningJobs", "models", "endpoints")}
    other = cli["requests_total"] - sum(lists.values())
    print(f"backend: vertex, reconciler plan (subprocess): {cli['wall_seconds']} s wall, "
          f"{cli['changes']} changes listed (seeded in {figures['seed_seconds']} s)")
    print("  requests: " + ", ".join(f"{k.rsplit('/', 1)[-1]} {v}" for k, v in sorted(lists.items()))
          + f" list calls (target {figures['targets']['list_calls_each']} each), {other} other (target 0)")
    print(f"  peak RSS: {cli['peak_rss_mb']} MB (target < {RSS_TARGET_MB} MB)")


def report(figures: dict[str, Any]) -> None:
    cli, targets = figures["cli_plan"], figures["targets"]
    listed, naive = figures["in_process"]["list"], figures["in_process"]["naive_get_each"]
    list_calls = cli["requests"].get("GET /{version}/tunedModels", 0)
    other = cli["requests_total"] - list_calls
    print(
        f"{figures['models']} managed models, {figures['latency_seconds'] * 1000:.0f} ms added latency "
        f"(seeded in {figures['seed_seconds']} s)"
    )
    print(
        f"reconciler plan (subprocess): {cli['wall_seconds']} s wall, {cli['changes']} changes listed, "
        f"exit {cli['exit_code']}"
    )
    print(f"  requests: {list_calls} list calls (target {targets['list_calls']}), {other} other (target 0)")
    print(f"  peak RSS: {cli['peak_rss_mb']} MB (target < {targets['peak_rss_mb']} MB)")
    for label, figures_of in (("list", listed), ("naive GET each", naive)):
        print(
            f"in process, {label:<15} load {figures_of['load_seconds']:6.2f} s  observe "
            f"{figures_of['observe_seconds']:6.2f} s  plan {figures_of['plan_seconds']:5.2f} s  "
            f"total {figures_of['total_seconds']:6.2f} s  ({figures_of['requests_total']} requests)"
        )
    ratios = figures["naive_over_list"]
    print(f"naive / list: observe x{ratios['observe']}, load+observe+plan x{ratios['load_observe_plan']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every API request")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    figures = run(args.models, args.latency)
    figures["vertex"] = run_vertex(args.models, args.latency)
    report(figures)
    report_vertex(figures["vertex"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
