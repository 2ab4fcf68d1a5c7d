"""What the Bedrock tests share: a job's arguments and its training data."""

from __future__ import annotations

import json
from typing import Any

from tests.emulator.aws_helpers import ACCOUNT

STEP = 10.0
NOVA = "amazon.nova-micro-v1:0:128k"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/reconciler-customization"
TRAIN = "s3://data/datasets/train.jsonl"


def conversation(prompt: str, answer: str) -> dict[str, Any]:
    return {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [{"text": "Answer with a number."}],
        "messages": [
            {"role": "user", "content": [{"text": prompt}]},
            {"role": "assistant", "content": [{"text": answer}]},
        ],
    }


DATASET = "\n".join(json.dumps(conversation(f"{n} plus {n}?", str(2 * n))) for n in range(12)).encode()


def job_args(name: str = "job-1", model: str = "model-1", **more: Any) -> dict[str, Any]:
    args = {
        "jobName": name,
        "customModelName": model,
        "roleArn": ROLE,
        "baseModelIdentifier": NOVA,
        "trainingDataConfig": {"s3Uri": TRAIN},
        "outputDataConfig": {"s3Uri": "s3://data/outputs/"},
        "hyperParameters": {"epochCount": "2"},
    }
    return {**args, **more}
