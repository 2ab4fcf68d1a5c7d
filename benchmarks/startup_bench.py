"""Start-up: `reconciler --version` and `--help`, and `reconciler plan` up to its first API request.

Every command pays the interpreter and its imports before it does any work:
`--version` and `--help` measure the entry point alone (commands load lazily,
reconciler/cli/main.py), against `python -c pass`, the interpreter alone
(the budget: `--help` at most 3x that). `plan` is measured on a copy of this repository's own
manifests and datasets, against an emulator in this process (no latency, so
the figures are start-up, not the network): the time from starting the child
to the emulator's first request, and to the child's exit.

The children run as an installed package runs, with bytecode caches (a wheel's
install writes them): PYTHONDONTWRITEBYTECODE is dropped from their
environment, and one warm-up run writes the caches first.

Five more `plan` runs with `-X importtime` say where the imports' time goes:
each module's self time, counted for the package that caused it, the median
of the five by package (importtime's own overhead inflates these a little).
The example's manifests have a regex smoke test, so `regex` is among them.

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
IMPORTTIME_RUNS = 5  # one importtime log is noisy on a shared machine: the median of these, by package


class FirstRequest:
    """The emulator's WSGI app, noting when the first request of a run arrives."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.at: float | None = None

    def __getattr__(self, name: str) -> Any:
        # The server reaches into its app (its holds, when it stops): the wrapped one answers.
        return getattr(self.app, name)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.at is None:
            self.at = time.perf_counter()
        return self.app(environ, start_response)


def child_env(emulator_host: str | None = None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "GEMINI_API_KEY", "GOOGLE_API_KEY")
    }
    if emulator_host:
        env["GENERATIVELANGUAGE_EMULATOR_HOST"] = emulator_host
    return env


def copy_repository(root: Path) -> None:
    """This repository's own example: two manifests, their datasets, reconciler.yaml."""
    for name in ("manifests", "datasets"):
        shutil.copytree(REPOSITORY / name, root / name)
    shutil.copy(REPOSITORY / "reconciler.yaml", root / "reconciler.yaml")


def version_times(runs: int, *arguments: str) -> list[float]:
    """A command of the entry point alone (`--version`, `--help`), or `python -c pass` with "-c", "pass"."""
    command = [sys.executable, *(arguments or ("-m", "reconciler", "--version"))]
    subprocess.run(command, check=True, capture_output=True, env=child_env())  # writes the bytecode caches
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=child_env())
        times.append(time.perf_counter() - started)
    return times


def plan_times(runs: int, root: Path) -> tuple[list[float], list[float], list[str]]:
    """(to the first request, to exit) of each run, and the -X importtime logs of IMPORTTIME_RUNS more."""
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
        logs = [
            subprocess.run(
                [sys.executable, "-X", "importtime", *command[1:]], check=True, capture_output=True, text=True, env=env
            ).stderr
            for _ in range(IMPORTTIME_RUNS)
        ]
    return to_request, to_exit, logs


def imports_by_package(importtime_log: str) -> dict[str, float]:
    """Milliseconds of import (self time) by the package that caused them, largest first.

    A standard-library module counts for the nearest package above it that is
    not (email, pulled in by pydantic's plugin discovery, counts for pydantic);
    what only the standard library or site's start-up hooks import is "stdlib"."""
    rows = []  # (depth, self µs, name), children before their parent as importtime prints them
    for line in importtime_log.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            self_us, _, name = line.removeprefix("import time:").split("|")
            rows.append(((len(name) - len(name.lstrip()) - 1) // 2, int(self_us), name.strip().split(".")[0]))
    spent: Counter[str] = Counter()
    for index, (depth, self_us, package) in enumerate(rows):
        owner = package
        for later_depth, _, later_package in rows[index + 1 :]:  # the ancestors, nearest first
            if not _is_stdlib(owner):
                break
            if later_depth < depth:
                depth, owner = later_depth, later_package
        spent["stdlib" if _is_stdlib(owner) else owner] += self_us
    return {package: round(us / 1000, 1) for package, us in spent.most_common()}


def median_by_package(runs: list[dict[str, float]]) -> dict[str, float]:
    packages = {package for run in runs for package in run}
    medians = {package: round(statistics.median(run.get(package, 0.0) for run in runs), 1) for package in packages}
    return dict(sorted(medians.items(), key=lambda item: -item[1]))


def _is_stdlib(package: str) -> bool:
    # A leading underscore: C modules, and site's hooks (an editable install's finder).
    return package in sys.stdlib_module_names or package.startswith("_")


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
        help_ = version_times(args.runs, "-m", "reconciler", "--help")
        bare = version_times(args.runs, "-c", "pass")
        to_request, to_exit, importtime_logs = plan_times(args.runs, root)
    by_package = median_by_package([imports_by_package(log) for log in importtime_logs])
    figures = {
        "runs": args.runs,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.system()},
        "python_c_pass": summary(bare),
        "version": summary(version),
        "help": summary(help_),
        "help_over_python": round(statistics.median(help_) / statistics.median(bare), 1),
        "plan_to_first_request": summary(to_request),
        "plan_to_exit": summary(to_exit),
        "plan_imports_ms_by_package": by_package,
    }
    for name, label in (
        ("python_c_pass", "python -c pass"),
        ("version", "reconciler --version"),
        ("help", "reconciler --help"),
        ("plan_to_first_request", "plan, to first request"),
        ("plan_to_exit", "plan, to exit"),
    ):
        result = figures[name]
        print(
            f"{label:<24} median {result['median_seconds']:.3f} s, fastest {result['fastest_seconds']:.3f} s "
            f"over {args.runs} runs"
        )
    print(f"reconciler --help is {figures['help_over_python']}x python -c pass (budget: 3x)")
    top = ", ".join(f"{package} {ms}" for package, ms in list(by_package.items())[:10])
    print(
        f"plan's imports (ms, -X importtime, by the package that caused them): "
        f"total {sum(by_package.values()):.0f}; {top}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
