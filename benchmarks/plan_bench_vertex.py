"""Plan 2,000 managed models on `backend: vertex` against the emulator, 50 ms
added to every request: the models are seeded as tuning jobs (the body apply
sends, with the ownership labels, and the canonical JSONL uploaded), run to
their end so each has a Model and an Endpoint, then `reconciler plan` runs in a
subprocess. It must make only the paged list calls: ceil(2000/1000) = 2 each
for tuning jobs, Models and Endpoints, and nothing else.

Run: python benchmarks/plan_bench_vertex.py [--models N] [--latency SECONDS]
(`benchmarks/plan_bench.py` runs it too, after the Gemini accounts.)
Prints the figures and writes them to benchmarks/results/plan_bench_vertex.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from reconciler.backends.gemini.client import PAGE_SIZE
from reconciler.emulator import EmulatorOptions, EmulatorServer
from reconciler.emulator.calls import Call
from reconciler.emulator.wire import Enums
from reconciler.loader import load
from reconciler.model.desired import Desired

RESULTS = Path(__file__).resolve().parent / "results" / "plan_bench_vertex.json"
RSS_TARGET_MB = 300
EXAMPLES = 20  # the fewest the API accepts


def load_desired(root: Path) -> Desired:
    result = load(root)
    if result.desired is None:
        raise SystemExit("\n".join(str(problem) for problem in result.problems))
    return result.desired


def request_counts(server: EmulatorServer, reset: bool = False) -> dict[str, int]:
    counts: dict[str, int] = requests.get(f"{server.url}/_internal/requests", timeout=10).json()["counts"]
    if reset:
        requests.delete(f"{server.url}/_internal/requests", timeout=10).raise_for_status()
    return counts


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
    (root / "manifests").mkdir(parents=True)
    (root / "datasets").mkdir()
    (root / "reconciler.yaml").write_text(VERTEX_SETTINGS, encoding="utf-8")
    for index in range(models):
        (root / "manifests" / f"model-{index:04d}.yaml").write_text(
            VERTEX_MANIFEST.format(index=index), encoding="utf-8"
        )
        rows = (json.dumps({"textInput": f"{index} {n}", "output": str(n + 1)}) for n in range(EXAMPLES))
        (root / "datasets" / f"model-{index:04d}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")


def seed_vertex(server: EmulatorServer, desired: Desired) -> None:
    """Upload each dataset and create each job as apply would, through the
    emulator's handlers (no HTTP); one list then ends every job (step 0)."""
    from reconciler.backends.vertex import VertexBackend
    from reconciler.backends.vertex.client import VertexClient
    from reconciler.backends.vertex.datasets import CONTENT_TYPE, canonical_jsonl, object_name

    settings = VertexBackend.block_of(desired.settings)
    assert settings is not None
    client = VertexClient(server.url, server.url, settings.project, settings.location)
    client.ensure_bucket(settings.bucket)
    backend = VertexBackend(client, settings, emulated=True)
    gcs, jobs = server.app.gcs.service, server.app.vertex.jobs
    for model in desired.models:
        data = canonical_jsonl(model)
        name = object_name(settings.prefix, data)
        gcs.upload(
            Call(
                version="",
                body=data,
                query={"name": name},
                enums=Enums(),
                now=time.time(),
                headers={"content-type": CONTENT_TYPE},
                system={"uploadType": "media"},
            ),
            settings.bucket,
        )
        body = backend._job_body(model, f"gs://{settings.bucket}/{name}", "bench", model.manifest.spec.base_model or "")
        jobs.create_tuning_job(
            Call(version="v1", body=body, query={}, enums=Enums(), now=time.time()), settings.project, settings.location
        )
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
        [
            sys.executable,
            "-c",
            _PEAK_WRAPPER,
            str(out),
            sys.executable,
            "-m",
            "reconciler",
            "plan",
            "-C",
            str(root),
            "--output",
            "json",
            "--detailed-exitcode",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
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
    return {
        "seed_seconds": round(seeded, 2),
        "cli_plan": cli,
        "targets": {"list_calls_each": math.ceil(models / PAGE_SIZE), "other_requests": 0},
    }


def report_vertex(figures: dict[str, Any]) -> None:
    cli = figures["cli_plan"]
    lists = {
        k: v
        for k, v in cli["requests"].items()
        if k.startswith("GET ") and k.rsplit("/", 1)[-1] in ("tuningJobs", "models", "endpoints")
    }
    other = cli["requests_total"] - sum(lists.values())
    print(
        f"backend: vertex, reconciler plan (subprocess): {cli['wall_seconds']} s wall, "
        f"{cli['changes']} changes listed (seeded in {figures['seed_seconds']} s)"
    )
    print(
        "  requests: "
        + ", ".join(f"{k.rsplit('/', 1)[-1]} {v}" for k, v in sorted(lists.items()))
        + f" list calls (target {figures['targets']['list_calls_each']} each), {other} other (target 0)"
    )
    print(f"  peak RSS: {cli['peak_rss_mb']} MB (target < {RSS_TARGET_MB} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every API request")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    figures = run_vertex(args.models, args.latency)
    report_vertex(figures)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
