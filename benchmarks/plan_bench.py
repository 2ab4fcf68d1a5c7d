"""Benchmark `reconciler plan` against the alternatives, side by side, on one emulator.

The emulator adds 50 ms to every API request (a nearby region's round trip).
The accounts are seeded straight into it through its create handler (the body
apply sends, with the ownership trailer; no HTTP), so each is converged and
the plan is all `noop`. Two accounts:

- short runs: 2,000 models of 20 examples (25 loss snapshots each);
- long runs: 1,000 models of 500 examples at 5 epochs and batch 4 (625 each).

On each, three children run in turn, interleaved over several rounds (so the
machine's neighbours weigh on all three alike), each as a user would start it:

1. `python -m reconciler plan` on the repository;
2. a Terraform-style refresh: GET every declared model, 10 in parallel,
   each answer decoded (requests and the json module);
3. the SDK's list of tuned models: google-generativeai's
   `list_tuned_models(page_size=1000)` over REST, every page read (google-genai
   3.x lists tuning jobs only on Vertex AI).

`reconciler plan` runs twice: as is, and on a copy of the repository with
`datasetCache: true` whose cache one earlier plan filled (a repeat plan on an
unchanged repository). The targets are judged on the first.

For each: wall time (start to exit, interpreter start included), the API
requests the emulator counted, and the child's peak resident memory (RSS:
its VmHWM, which it reports as it exits). The median of the rounds is
reported, and plan's lead over the GET baseline. A third account of 10,000 short-run models measures the plan's
memory alone.

Targets (issue 15): the plan makes only list calls; it is at least 5x faster
than the GET baseline at 2,000 short-run models, at least 4x with long runs
and under 200 MB there; at 10,000 models it stays under 200 MB.

Run: python benchmarks/plan_bench.py [--rounds N] [--latency SECONDS] [--skip-10k] [--scale 0.05]
     (children: python benchmarks/plan_bench.py child get-each|sdk-list URL [IDS_FILE])
Prints the figures and writes them to benchmarks/results/plan_bench.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

RESULTS = Path(__file__).resolve().parent / "results" / "plan_bench.json"
LIST_KEYS = {"GET /{version}/tunedModels", "GET /{version}/models"}  # tuned models; base models' defaults
TARGETS = {"short_ratio": 5.0, "long_ratio": 4.0, "long_rss_mb": 200, "10k_rss_mb": 200}
GET_PARALLEL = 10

MANIFEST = """\
apiVersion: reconciler/v1
kind: TunedModel
metadata:
  name: model-{index:05d}
spec:
  displayName: Model {index}
  description: Benchmark model number {index}.
  baseModel: models/gemini-1.5-flash-001-tuning
  trainingData:
    file: ../datasets/model-{index:05d}.jsonl
  hyperparameters: {{epochCount: 5, batchSize: 4, learningRate: 0.001}}
  generation: {{temperature: 0.7, topP: 0.95}}
"""


@dataclass(frozen=True)
class Account:
    name: str
    models: int
    examples: int  # a run has ceil(examples * 5 / 4) snapshots

    @property
    def snapshots(self) -> int:
        return math.ceil(self.examples * 5 / 4)


SHORT = Account("short runs", 2000, 20)
LONG = Account("long runs", 1000, 500)
MEMORY = Account("10,000 models", 10_000, 20)


def write_repository(root: Path, account: Account) -> list[str]:
    (root / "manifests").mkdir(parents=True)
    (root / "datasets").mkdir()
    (root / "reconciler.yaml").write_text("prune: true\nconcurrency: 4\n", encoding="utf-8")
    for index in range(account.models):
        (root / "manifests" / f"model-{index:05d}.yaml").write_text(MANIFEST.format(index=index), encoding="utf-8")
        rows = (json.dumps({"textInput": f"{index} {n}", "output": str(n + 1)}) for n in range(account.examples))
        (root / "datasets" / f"model-{index:05d}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return [f"model-{index:05d}" for index in range(account.models)]


def seed(server: Any, root: Path) -> None:
    """Create every model as apply would, through the emulator's handler (no HTTP)."""
    from reconciler.backends.gemini.requests import create_body, name_of
    from reconciler.backends.gemini.trailer import UNKEYED
    from reconciler.emulator.calls import Call
    from reconciler.emulator.wire import Enums
    from reconciler.loader import load
    from reconciler.model.ownership import gated

    result = load(root)
    if result.desired is None:
        raise SystemExit("\n".join(str(problem) for problem in result.problems))
    service = server.app.gemini.models
    for model in result.desired.models:
        call = Call(
            version="v1beta", body=create_body(model), query={"tunedModelId": model.id}, enums=Enums(), now=time.time()
        )
        service.create_tuned_model(call)
        # As apply does once the create answered: the trailer bound to the createTime.
        _, body = service.get_tuned_model(
            Call(version="v1beta", body={}, query={}, enums=Enums(), now=time.time()), model.id
        )
        bound = UNKEYED.description(model, name_of(model), untested=gated(model), created=body["createTime"])
        service.update_tuned_model(
            Call(
                version="v1beta",
                body={"description": bound},
                enums=Enums(),
                query={"updateMask": "description"},
                now=time.time(),
            ),
            model.id,
        )


# --- children ----------------------------------------------------------------------


def get_each(url: str, ids_file: str) -> None:
    """The Terraform-style refresh: one GET a model, 10 at a time, each answer decoded."""
    ids = Path(ids_file).read_text(encoding="utf-8").split()
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=GET_PARALLEL, pool_maxsize=GET_PARALLEL)
    session.mount("http://", adapter)

    def get(model_id: str) -> str:
        response = session.get(f"{url}/v1beta/tunedModels/{model_id}", timeout=60)
        response.raise_for_status()
        return str(response.json()["state"])

    with ThreadPoolExecutor(max_workers=GET_PARALLEL) as pool:
        states = list(pool.map(get, ids))
    print(json.dumps({"models": len(states)}))


def sdk_list(url: str) -> None:
    """google-generativeai's list_tuned_models (REST transport), every page read.
    (google-genai 3.x lists tuning jobs only on Vertex AI, not on the Gemini API.)"""
    import google.generativeai as genai

    genai.configure(api_key="bench-key", transport="rest", client_options={"api_endpoint": url})
    listed = sum(1 for _ in genai.list_tuned_models(page_size=1000))
    print(json.dumps({"models": listed}))


# --- measuring ---------------------------------------------------------------------


RSS_WRAPPER = """\
import runpy, sys
argv = sys.argv[1:]
sys.argv = argv
try:
    if argv[0] == "-m":
        sys.argv = argv[1:]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        runpy.run_path(argv[0], run_name="__main__")
finally:
    # VmHWM: the peak of this process image. ru_maxrss would carry over the
    # benchmark's own size, copied at fork and kept across exec.
    with open("/proc/self/status") as status:
        peak = [line.split()[1] for line in status if line.startswith("VmHWM:")]
    sys.stderr.write("\\nPEAK_RSS_KIB=%s\\n" % peak[0])
"""


def measured(command: list[str], env: dict[str, str], server: Any) -> dict[str, Any]:
    """`run_child` with the child's own peak RSS, which it reports on exit."""
    requests.delete(f"{server.url}/_internal/requests", timeout=10).raise_for_status()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", RSS_WRAPPER, *command], env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    peak = [line for line in done.stderr.splitlines() if line.startswith("PEAK_RSS_KIB=")]
    if done.returncode != 0 or not peak:
        raise SystemExit(f"{' '.join(command[:4])} exited {done.returncode}:\n{done.stderr[-3000:]}")
    counts: dict[str, int] = requests.get(f"{server.url}/_internal/requests", timeout=10).json()["counts"]
    return {
        "wall_seconds": round(wall, 2),
        "requests": counts,
        "requests_total": sum(counts.values()),
        "peak_rss_mb": round(int(peak[-1].split("=")[1]) / 1024, 1),
    }


def commands(root: Path, cached_root: Path, ids_file: Path, url: str) -> dict[str, list[str]]:
    this = str(Path(__file__).resolve())
    return {
        "reconciler plan": ["-m", "reconciler", "plan", "-C", str(root), "--output", "json", "--detailed-exitcode"],
        "plan, dataset cache warm": [
            "-m",
            "reconciler",
            "plan",
            "-C",
            str(cached_root),
            "--output",
            "json",
            "--detailed-exitcode",
        ],
        f"GET each x{GET_PARALLEL}": [this, "child", "get-each", url, str(ids_file)],
        "SDK list (google-generativeai)": [this, "child", "sdk-list", url],
    }


def bench_account(account: Account, latency: float, rounds: int, only_plan: bool = False) -> dict[str, Any]:
    from reconciler.emulator import EmulatorOptions, EmulatorServer

    with (
        tempfile.TemporaryDirectory() as folder,
        EmulatorServer(EmulatorOptions(latency_seconds=latency, step_seconds=0)) as server,
    ):
        root = Path(folder) / "repo"
        ids = write_repository(root, account)
        ids_file = Path(folder) / "ids.txt"
        ids_file.write_text("\n".join(ids) + "\n", encoding="utf-8")
        started = time.perf_counter()
        seed(server, root)
        seeded = time.perf_counter() - started
        # With bytecode caches, as an installed package and the baselines' libraries have them: under
        # PYTHONDONTWRITEBYTECODE a source checkout recompiles reconciler's modules in every plan (~70 ms).
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "PYTHONDONTWRITEBYTECODE")
        }
        env["GENERATIVELANGUAGE_EMULATOR_HOST"] = server.host_port
        # The same repository with `datasetCache: true`, its cache filled by one plan first.
        cached_root = Path(folder) / "cached"
        shutil.copytree(root, cached_root)
        with (cached_root / "reconciler.yaml").open("a", encoding="utf-8") as settings:
            settings.write("datasetCache: true\n")
        children = commands(root, cached_root, ids_file, server.url)
        measured(children["plan, dataset cache warm"], env, server)
        if only_plan:
            children = {"reconciler plan": children["reconciler plan"]}
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in children}
        for _ in range(rounds):  # interleaved: every round runs each child once
            for name, command in children.items():
                runs[name].append(measured(command, env, server))
    summary = {name: _median(results) for name, results in runs.items()}
    figures: dict[str, Any] = {
        "models": account.models,
        "snapshots_per_model": account.snapshots,
        "examples_per_model": account.examples,
        "seed_seconds": round(seeded, 1),
        "rounds": rounds,
        "median": summary,
        "runs": runs,
    }
    if not only_plan:
        plan_wall = summary["reconciler plan"]["wall_seconds"]
        figures["get_each_over_plan"] = round(summary[f"GET each x{GET_PARALLEL}"]["wall_seconds"] / plan_wall, 2)
        figures["sdk_over_plan"] = round(summary["SDK list (google-generativeai)"]["wall_seconds"] / plan_wall, 2)
    plan_requests = summary["reconciler plan"]["requests"]
    figures["plan_list_only"] = set(plan_requests) <= LIST_KEYS and plan_requests.get(
        "GET /{version}/tunedModels"
    ) == math.ceil(account.models / 1000)
    return figures


def _median(results: list[dict[str, Any]]) -> dict[str, Any]:
    walls = [r["wall_seconds"] for r in results]
    middle = sorted(results, key=lambda r: r["wall_seconds"])[len(results) // 2]
    return {
        "wall_seconds": round(statistics.median(walls), 2),
        "wall_seconds_all": walls,
        "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
        "requests": middle["requests"],
        "requests_total": middle["requests_total"],
    }


def verdicts(figures: dict[str, Any]) -> dict[str, bool]:
    short, long = figures["accounts"]["short"], figures["accounts"]["long"]
    result = {
        "plan is list-only": short["plan_list_only"] and long["plan_list_only"],
        f">= {TARGETS['short_ratio']}x GET each at 2,000 short-run models": short["get_each_over_plan"]
        >= TARGETS["short_ratio"],
        f">= {TARGETS['long_ratio']}x GET each with long runs": long["get_each_over_plan"] >= TARGETS["long_ratio"],
        f"< {TARGETS['long_rss_mb']} MB with long runs": long["median"]["reconciler plan"]["peak_rss_mb"]
        < TARGETS["long_rss_mb"],
    }
    if "10k" in figures["accounts"]:
        big = figures["accounts"]["10k"]
        result[f"< {TARGETS['10k_rss_mb']} MB at 10,000 models"] = (
            big["median"]["reconciler plan"]["peak_rss_mb"] < TARGETS["10k_rss_mb"]
        )
        result["plan is list-only"] = result["plan is list-only"] and big["plan_list_only"]
    return result


def report(figures: dict[str, Any]) -> None:
    print(
        f"{figures['latency_seconds'] * 1000:.0f} ms added to every request; median of "
        f"{figures['rounds']} interleaved rounds; machine: {figures['machine']}"
    )
    for account in figures["accounts"].values():
        print(
            f"\n{account['models']:,} models x {account['snapshots_per_model']} snapshots "
            f"(seeded in {account['seed_seconds']} s)"
        )
        for name, result in account["median"].items():
            print(
                f"  {name:<26} {result['wall_seconds']:7.2f} s  {result['requests_total']:6} requests  "
                f"{result['peak_rss_mb']:7.1f} MB peak RSS   (runs {result['wall_seconds_all']})"
            )
        if "get_each_over_plan" in account:
            print(
                f"  plan's lead: x{account['get_each_over_plan']} over GET each, "
                f"x{account['sdk_over_plan']} over the SDK list; list-only: {account['plan_list_only']}"
            )
    print("\ntargets:")
    for target, met in figures["verdicts"].items():
        print(f"  {'met    ' if met else 'NOT MET'}  {target}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        kind, url = sys.argv[2], sys.argv[3]
        get_each(url, sys.argv[4]) if kind == "get-each" else sdk_list(url)
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every API request")
    parser.add_argument("--skip-10k", action="store_true", help="leave out the 10,000-model memory account")
    parser.add_argument("--scale", type=float, default=1.0, help="a share of the models, for a quick trial")
    parser.add_argument("--skip-vertex", action="store_true", help="leave out the backend: vertex plan")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    def scaled(account: Account) -> Account:
        return Account(account.name, max(1, round(account.models * args.scale)), account.examples)

    accounts = {
        "short": bench_account(scaled(SHORT), args.latency, args.rounds),
        "long": bench_account(scaled(LONG), args.latency, args.rounds),
    }
    if not args.skip_10k:
        accounts["10k"] = bench_account(scaled(MEMORY), args.latency, args.rounds, only_plan=True)
    figures: dict[str, Any] = {
        "latency_seconds": args.latency,
        "rounds": args.rounds,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.system()},
        "peak_memory_measure": "each child's own VmHWM (/proc/self/status), reported as it exits",
        "targets": TARGETS,
        "accounts": accounts,
    }
    figures["verdicts"] = verdicts(figures)
    report(figures)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.out}")
    if not args.skip_vertex:  # the same 2,000 short runs on backend: vertex, in its own script
        vertex = [
            sys.executable,
            str(Path(__file__).with_name("plan_bench_vertex.py")),
            "--latency",
            str(args.latency),
            "--models",
            str(scaled(SHORT).models),
        ]
        subprocess.run(vertex, check=True)


if __name__ == "__main__":
    main()
