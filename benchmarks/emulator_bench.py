"""Requests per second the emulator serves for get and list.

Seeds 2,000 tuned models (20 examples, 25 steps each, so every listed model
carries 25 snapshots), then times GET of one model and paged lists of 1,000.
Run: python benchmarks/emulator_bench.py [--state FILE] [--seconds N]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests

from reconciler.emulator import EmulatorOptions, EmulatorServer

MODELS = 2000
PAGE_SIZE = 1000


def seed(url: str) -> None:
    examples = [{"textInput": str(n), "output": str(n + 1)} for n in range(20)]
    with requests.Session() as session:
        for n in range(MODELS):
            body = {
                "displayName": f"Model {n}",
                "baseModel": "models/gemini-1.5-flash-001-tuning",
                "tuningTask": {"trainingData": {"examples": {"examples": examples}}},
            }
            response = session.post(
                f"{url}/v1beta/tunedModels", json=body, params={"tunedModelId": f"model-{n:04d}"}, timeout=10
            )
            response.raise_for_status()


def rate(label: str, seconds: float, threads: int, one: Callable[[requests.Session], None]) -> None:
    def worker() -> int:
        count = 0
        deadline = time.perf_counter() + seconds
        with requests.Session() as session:
            while time.perf_counter() < deadline:
                one(session)
                count += 1
        return count

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(lambda _: worker(), range(threads)))
    elapsed = time.perf_counter() - started
    print(f"{label:<46} {total / elapsed:8.1f} req/s  ({total} in {elapsed:.1f}s, {threads} thr)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--state", default=":memory:")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    with EmulatorServer(EmulatorOptions(state=args.state)) as server:
        started = time.perf_counter()
        seed(server.url)
        print(f"seeded {MODELS} models in {time.perf_counter() - started:.1f}s (state: {args.state})")

        def get(session: requests.Session) -> None:
            url = f"{server.url}/v1beta/tunedModels/model-1234"
            session.get(url, timeout=10).raise_for_status()

        def list_page(session: requests.Session) -> None:
            page = session.get(f"{server.url}/v1beta/tunedModels", params={"pageSize": PAGE_SIZE}, timeout=30).json()
            assert len(page["tunedModels"]) == PAGE_SIZE

        for threads in (1, 4):
            rate("GET tunedModels/{id}", args.seconds, threads, get)
        for threads in (1, 4):
            rate(f"GET tunedModels?pageSize={PAGE_SIZE} (one page)", args.seconds, threads, list_page)


if __name__ == "__main__":
    main()
