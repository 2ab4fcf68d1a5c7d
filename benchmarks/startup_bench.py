"""Start-up: `reconciler --version`, and `reconciler plan` up to its first API request.

Every command pays the interpreter and its imports before it does any work:
`--version` measures the entry point alone (commands load lazily,
reconciler/cli/main.py). `plan` is measured on a copy of this repository's own
manifests and datasets, against an emulator in this process (no latency, so
the figures are start-up, not the network): the time from starting the child
to the emulator's first request, and to the child's exit.

The children run as an installed package runs, with bytecode caches (a wheel's
install writes them): PYTHONDONTWRITEBYTECODE is dropped from their
environment, and one warm-up run writes the caches first.

One more `plan` run with `-X importtime` says where the imports' time goes,
summed by top-level package (self time of each module; importtime's own
overhead inflates these a little).

Run: python benchmarks/startup_bench.py [--runs N]
Prints the figures and writes them to benchmarks/results/startup_bench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parent.parent
RESULTS = REPOSITORY / "benchmarks" / "results" / "startup_bench.json"


class FirstRequest:
    """The emulator's WSGI app, noting when the first request of a run arrives."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.at: float | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.at is None:
            self.at = time.perf_counter()
        return self.app(environ, start_response)


def child_env(emulator_host: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "GEMINI_API_KEY", "GOOGLE_API_KEY")}
    if emulator_host:
        env["GENERATIVELANGUAGE_EMULATOR_HOST"] = emulator_host
    return env


def copy_repository(root: Path) -> None:
    """This repository's own example: two manifests, their datasets, reconciler.yaml."""
    for name in ("manifests", "datasets"):
        shutil.copytree(REPOSITORY / name, root / name)
    shutil.copy(REPOSITORY / "reconciler.yaml", root / "reconciler.yaml")


def version_times(runs: int) -> list[float]:
    command = [sys.executable, "-m", "reconciler", "--version"]
    subprocess.run(command, check=True, capture_output=True, env=child_env())  # writes the bytecode caches
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=child_env())
        times.append(time.perf_counter() - started)
    return times


def plan_times(runs: int, root: Path) -> tuple[list[float], list[float], str]:
    """(to the first request, to exit) of each run, and one run's -X importtime log."""
    from reconciler.emulator import EmulatorOptions, EmulatorServer

    server = EmulatorServer(EmulatorOptions())
    first = FirstRequest(server.app)
    server.app = first  # type: ignore[assignment]  # the server binds whatever `app` is when it starts
    command = [sys.executable, "-m", "reconciler", "plan", "-C", str(root)]
    to_request, to_exit = [], []
    with server:
        env = child_env(server.host_port)
        subprocess.run(command, check=True, capture_output=True, env=env)  # writes the bytecode caches
        for _ in range(runs):
            first.at = None
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env=env)
            to_exit.append(time.perf_counter() - started)
            if first.at is None:
                raise SystemExit("plan made no request")
            to_request.append(first.at - started)
        profiled = subprocess.run([sys.executable, "-X", "importtime", *command[1:]], check=True,
                                  capture_output=True, text=True, env=env)
    return to_request, to_exit, profiled.stderr


def imports_by_package(importtime_log: str) -> dict[str, float]:
    """Milliseconds of import (self time) by top-level package, largest first."""
    spent: Counter[str] = Counter()
    for line in importtime_log.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = line.removeprefix("import time:").split("|")
        spent[name.strip().split(".")[0]] += int(self_us)
    return {package: round(us / 1000, 1) for package, us in spent.most_common()}


def summary(times: list[float]) -> dict[str, float]:
    return {"median_seconds": round(statistics.median(times), 3), "fastest_seconds": round(min(times), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        copy_repository(root)
        version = version_times(args.runs)
        to_request, to_exit, importtime_log = plan_times(args.runs, root)
    by_package = imports_by_package(importtime_log)
    figures = {
        "runs": args.runs,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.system()},
        "version": summary(version),
        "plan_to_first_request": summary(to_request),
        "plan_to_exit": summary(to_exit),
        "plan_imports_ms_by_package": by_package,
    }
    for name, label in (("version", "reconciler --version"), ("plan_to_first_request", "plan, to first request"),
                        ("plan_to_exit", "plan, to exit")):
        result = figures[name]
        print(f"{label:<24} median {result['median_seconds']:.3f} s, fastest {result['fastest_seconds']:.3f} s "
              f"over {args.runs} runs")
    top = ", ".join(f"{package} {ms}" for package, ms in list(by_package.items())[:10])
    print(f"plan's imports (ms, -X importtime, self time by package): total {sum(by_package.values()):.0f}; {top}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
