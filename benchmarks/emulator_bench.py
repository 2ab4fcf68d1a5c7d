"""Requests per second the emulator serves for get and list.

Gemini surface: seeds 2,000 tuned models (20 examples, 25 steps each, so every
listed model carries 25 snapshots), then times GET of one model and paged lists
of 1,000.
Vertex surface: uploads one 20-example JSONL dataset, seeds 1,000 tuning jobs
(each done: a Model and an Endpoint), then times GET of one job and one Model,
and paged lists of 100 tuning jobs and of 100 models.
Run: python benchmarks/emulator_bench.py [--state FILE] [--seconds N]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests

from reconciler.emulator import EmulatorOptions, EmulatorServer

MODELS = 2000
PAGE_SIZE = 1000
VERTEX_JOBS = 1000
VERTEX_PAGE = 100
VERTEX = "v1/projects/bench-project/locations/us-central1"


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


def seed_vertex(url: str) -> tuple[str, str]:
    """The name of one tuning job and of one Model, after seeding VERTEX_JOBS jobs."""
    lines = [
        {
            "contents": [
                {"role": "user", "parts": [{"text": str(n)}]},
                {"role": "model", "parts": [{"text": str(n + 1)}]},
            ]
        }
        for n in range(20)
    ]
    dataset = "".join(json.dumps(line) + "\n" for line in lines).encode()
    with requests.Session() as session:
        session.post(f"{url}/storage/v1/b", json={"name": "bench-data"}, timeout=10).raise_for_status()
        session.post(
            f"{url}/upload/storage/v1/b/bench-data/o",
            params={"uploadType": "media", "name": "d.jsonl"},
            data=dataset,
            timeout=10,
        ).raise_for_status()
        body = {
            "baseModel": "gemini-2.5-flash",
            "tunedModelDisplayName": "Bench",
            "supervisedTuningSpec": {"trainingDatasetUri": "gs://bench-data/d.jsonl", "exportLastCheckpointOnly": True},
        }
        names = [
            session.post(f"{url}/{VERTEX}/tuningJobs", json=body, timeout=10).json()["name"] for _ in range(VERTEX_JOBS)
        ]
        job = session.get(f"{url}/v1/{names[VERTEX_JOBS // 2]}", timeout=10).json()
    return job["name"], job["tunedModel"]["model"]


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

        started = time.perf_counter()
        job_name, model_name = seed_vertex(server.url)
        print(f"seeded {VERTEX_JOBS} Vertex tuning jobs in {time.perf_counter() - started:.1f}s")

        def get_job(session: requests.Session) -> None:
            session.get(f"{server.url}/v1/{job_name}", timeout=10).raise_for_status()

        def get_model(session: requests.Session) -> None:
            session.get(f"{server.url}/v1/{model_name}", timeout=10).raise_for_status()

        def list_jobs(session: requests.Session) -> None:
            page = session.get(f"{server.url}/{VERTEX}/tuningJobs", params={"pageSize": VERTEX_PAGE}, timeout=30).json()
            assert len(page["tuningJobs"]) == VERTEX_PAGE

        def list_models(session: requests.Session) -> None:
            page = session.get(f"{server.url}/{VERTEX}/models", params={"pageSize": VERTEX_PAGE}, timeout=30).json()
            assert len(page["models"]) == VERTEX_PAGE

        for label, one in (
            ("GET tuningJobs/{id}", get_job),
            ("GET models/{id}@1", get_model),
            (f"GET tuningJobs?pageSize={VERTEX_PAGE} (one page)", list_jobs),
            (f"GET models?pageSize={VERTEX_PAGE} (one page)", list_models),
        ):
            for threads in (1, 4):
                rate(label, args.seconds, threads, one)


if __name__ == "__main__":
    main()
