"""Bedrock's names and ARNs, with the patterns botocore's service model gives them.

    arn:aws:bedrock:{region}:{account}:model-customization-job/{base model id}/{12 of [a-z0-9]}
    arn:aws:bedrock:{region}:{account}:custom-model/{base model id}/{12 of [a-z0-9]}
    arn:aws:bedrock:{region}:{account}:custom-model-deployment/{12 of [a-z0-9]}
    arn:aws:bedrock:{region}::foundation-model/{base model id}

A job, custom model or deployment is named by its ARN or by its name (the
service model's identifier patterns take both)."""

from __future__ import annotations

import re

from reconciler.emulator.aws import ACCOUNT
from reconciler.emulator.ids import ALPHABET, IdMaker

JOB_NAME = r"[a-zA-Z0-9](-*[a-zA-Z0-9\+\-\.])*"
MODEL_NAME = r"([0-9a-zA-Z][_-]?){1,63}"
TOKEN = r"[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?"
ROLE_ARN = r"arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+"
S3_URI = r"s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](?:/[-!_*'().a-z0-9A-Z]+(?:/[-!_*'().a-z0-9A-Z]+)*)?/?"
TAG_TEXT = r"[a-zA-Z0-9\s._:/=+@-]*"
KMS_KEY = (
    r"(arn:aws(-[^:]+)?:kms:[a-zA-Z0-9-]*:[0-9]{12}:((key/[a-zA-Z0-9-]{36})|(alias/[a-zA-Z0-9-_/]+)))"
    r"|([a-zA-Z0-9-]{36})|(alias/[a-zA-Z0-9-_/]+)"
)
BEDROCK_ARN = re.compile(
    r"arn:aws(?:-[^:]+)?:bedrock:(?P<region>[a-z0-9-]{1,20}):(?P<account>[0-9]{12})?:"
    r"(?P<kind>[a-z-]+)/(?P<rest>.+)"
)
ID_LENGTH = 12


def new_id(ids: IdMaker) -> str:
    return ids.chars(ID_LENGTH, ALPHABET)


def job_arn(region: str, base_model: str, job_id: str) -> str:
    return f"arn:aws:bedrock:{region}:{ACCOUNT}:model-customization-job/{base_model}/{job_id}"


def model_arn(region: str, base_model: str, model_id: str) -> str:
    return f"arn:aws:bedrock:{region}:{ACCOUNT}:custom-model/{base_model}/{model_id}"


def deployment_arn(region: str, deployment_id: str) -> str:
    return f"arn:aws:bedrock:{region}:{ACCOUNT}:custom-model-deployment/{deployment_id}"


def foundation_model_arn(region: str, base_model: str) -> str:
    return f"arn:aws:bedrock:{region}::foundation-model/{base_model}"


def arn_kind(text: str) -> str:
    """The resource type an ARN of Bedrock names (`custom-model`, …); "" for anything else."""
    found = BEDROCK_ARN.fullmatch(text)
    return found["kind"] if found else ""


def key(region: str, name: str) -> str:
    """A resource's key in the store: names are unique per account and region."""
    return f"{region}/{name}"
