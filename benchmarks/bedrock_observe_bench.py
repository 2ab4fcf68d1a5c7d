"""Benchmark the Bedrock backend's observe against a GET-per-model refresh (issue 24).

An account of N converged models (default 2,000): each a completed
customization job, its custom model carrying the signed marker, and an Active
deployment, seeded straight into the test service (moto's server with the
deployments added in front: tests/backends/bedrock/service.py), which adds
`--latency` seconds to every request (a nearby region's round trip).

1. `observe`: the backend's plan read: three paged lists (jobs, custom
   models, deployments; 1,000 a page) and ListTagsForResource for each custom
   model (no Bedrock list returns tags), max(10, concurrency) at a time;
2. a Terraform-style refresh: for every declared model, GetCustomModel,
   ListTagsForResource and GetModelCustomizationJob, 10 in parallel.

Reported: requests the service received, and wall time (the median of the
rounds). Bedrock forces one tag read a custom model; the target is that the
backend reads nothing more a model, and that no request is a GET per model.

Run: PYTHONPATH=. python benchmarks/bedrock_observe_bench.py [--models N] [--latency S] [--rounds R]
Prints the figures and writes benchmarks/results/bedrock_observe_bench.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# No AWS setting of this machine reaches the benchmark: dummy keys, no metadata.
os.environ.update(
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench",
    AWS_EC2_METADATA_DISABLED="true",
    AWS_DEFAULT_REGION="us-east-1",
)


from reconciler.backends.bedrock import names  # noqa: E402
from reconciler.backends.bedrock.backend import BedrockBackend  # noqa: E402
from reconciler.backends.bedrock.client import BedrockClient  # noqa: E402
from reconciler.backends.bedrock.settings import BedrockSettings  # noqa: E402
from reconciler.backends.bedrock.tags import TagMarker, model_scope  # noqa: E402
from reconciler.model.desired import Desired  # noqa: E402
from reconciler.model.ownership import Ownership  # noqa: E402
from reconciler.model.settings import Settings  # noqa: E402
from tests.backends.bedrock.service import BUCKET, MotoService  # noqa: E402

OWNERSHIP = Ownership(source="2309deab", hyperparameters="8d8b2aca", data="ea4223545002", examples=20)
BLOCK = {
    "region": "us-east-1",
    "roleArn": "arn:aws:iam::123456789012:role/reconciler-customization",
    "datasets": f"s3://{BUCKET}/reconciler/datasets",
    "outputs": f"s3://{BUCKET}/reconciler/outputs",
}


def seed(service: MotoService, count: int) -> list[str]:
    """`count` converged models straight into moto's objects (no HTTP); their ids."""
    bedrock = service._bedrock
    marker = TagMarker()
    ids = [f"model-{n:05d}" for n in range(count)]
    for key in ids:
        name = names.resource_name(key, "inputs", 1)
        bedrock.create_model_customization_job(
            job_name=name,
            custom_model_name=name,
            role_arn=BLOCK["roleArn"],
            base_model_identifier="amazon.nova-micro-v1",
            training_data_config={"s3Uri": f"s3://{BUCKET}/data.jsonl"},
            output_data_config={"s3Uri": f"s3://{BUCKET}/out"},
            hyper_parameters={"epochCount": "2"},
            client_request_token=None,
            customization_type="FINE_TUNING",
            custom_model_kms_key_id=None,
            job_tags=None,
            custom_model_tags=[
                {"key": k, "value": v} for k, v in marker.tags(key, OWNERSHIP, model_scope(name)).items()
            ],
            validation_data_config=None,
            vpc_config=None,
        )
        service.create_deployment(
            {
                "modelDeploymentName": names.deployment_name(key, service.model_arn(name)),
                "modelArn": service.model_arn(name),
            }
        )
    service.tick()
    return ids


def observe(service: MotoService, concurrency: int) -> int:
    client = BedrockClient.connect("us-east-1", emulator=service.url, pool_size=max(10, concurrency))
    backend = BedrockBackend(client, BedrockSettings.model_validate(BLOCK), concurrency=concurrency)
    observed = backend.observe(Desired(models=(), settings=Settings(), root=".", digest=""))
    return sum(1 for m in observed.models if m.managed)


def get_each(service: MotoService, ids: list[str]) -> int:
    client = BedrockClient.connect("us-east-1", emulator=service.url, pool_size=10)

    def refresh(key: str) -> bool:
        name = names.resource_name(key, "inputs", 1)
        model = client.get_model(name)
        client.tags(str(model["modelArn"]))
        client.get_job(name)
        return True

    with ThreadPoolExecutor(max_workers=10) as pool:
        return sum(pool.map(refresh, ids))


def timed(service: MotoService, run: Any) -> tuple[float, int, int]:
    service.reset_counts()
    started = time.perf_counter()
    found = run()
    return time.perf_counter() - started, sum(service.requests().values()), found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    import moto.bedrock.models

    from tests.backends.bedrock.service import _FrozenClock

    moto.bedrock.models.datetime = _FrozenClock()  # type: ignore[attr-defined]
    service = MotoService().start()
    service.reset()
    service.make_bucket()
    ids = seed(service, args.models)
    service.latency = args.latency
    results: dict[str, list[tuple[float, int, int]]] = {"observe": [], "get_each": []}
    for _ in range(args.rounds):
        results["observe"].append(timed(service, lambda: observe(service, args.concurrency)))
        results["get_each"].append(timed(service, lambda: get_each(service, ids)))
    service.stop()
    summary: dict[str, Any] = {"models": args.models, "latency": args.latency, "concurrency": args.concurrency}
    for name, runs in results.items():
        summary[name] = {
            "seconds": round(statistics.median(r[0] for r in runs), 2),
            "requests": runs[-1][1],
            "models_seen": runs[-1][2],
        }
    summary["lead"] = round(summary["get_each"]["seconds"] / summary["observe"]["seconds"], 2)
    print(json.dumps(summary, indent=2))
    (ROOT / "benchmarks" / "results" / "bedrock_observe_bench.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
