"""How long `reconciler --version` takes: the start-up every command pays.

Commands load lazily (reconciler/cli/main.py), so this measures the entry
point alone. Runs the installed `reconciler` N times in fresh processes and
prints the median and the fastest wall-clock time.
Run: python benchmarks/startup_bench.py [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    command = shutil.which("reconciler")
    if command is None:
        raise SystemExit("install the package first: pip install -e .")
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        subprocess.run([command, "--version"], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    print(f"reconciler --version: median {statistics.median(times):.3f} s, "
          f"fastest {min(times):.3f} s over {args.runs} runs")


if __name__ == "__main__":
    main()
