"""How the reconciler names what it makes on Amazon Bedrock.

Bedrock lets the client choose every name, and jobs can never be deleted, so a
name is used once, ever. One create of a manifest id is

    <slug>-<key4><inputs8>-<attempt>          (e.g. numbers-1f0c9a2b7d3e-1)

for its customization job and the custom model it makes alike, and the
deployment serving that model is named after the two (`deployment_name`).

- `slug`: the manifest id with runs of `-` made one (custom model names allow
  no `--`); `key4` tells ids whose slugs collide apart, so `find` lists one id
  with `nameContains=<slug>-<key4>`.
- `inputs8`: what is tuned (the ownership fingerprint and example count, the
  source as sent, the customization type): a replace gets new names, and a
  create of the same inputs finds the job an earlier, interrupted create made.
- `attempt`: one more than the highest attempt listed under the same prefix.
  A job that failed, was stopped, or whose model was deleted keeps its name
  for ever; the next create of the same inputs takes the next number. Two
  applies at once read the same list, so they choose the same attempt.

`clientRequestToken` (Bedrock's idempotency token) is derived from the same
three, so a create sent again, by botocore's retries, by ours, or by a second
apply at once, returns the job the first one made instead of making another.

The names are only a cheap first filter: ownership is the signed tags
(tags.py), which every decision to act verifies.
"""

from __future__ import annotations

import hashlib
import re

ADDRESS_TEMPLATE = "bedrock/{key}"
# botocore's service model: JobName and CustomModelName (and ModelDeploymentName)
# are at most 63 characters; custom model and deployment names allow single
# `-` or `_` between letters and digits only.
NAME_MAX = 63
_NAME_RE = re.compile(
    r"(?P<prefix>(?P<slug>[a-z](?:[a-z0-9-]*[a-z0-9])?)-(?P<key>[0-9a-f]{4})[0-9a-f]{8}-)(?P<n>[1-9][0-9]{0,8})"
)
# The prefix of a custom model that no manifest id names (made or imported by
# hand): people, `export` and `import` use `model-<its name>`.
UNMANAGED_PREFIX = "model-"


def slug(key: str) -> str:
    return re.sub("-+", "-", key)


def _hex(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def _key4(key: str) -> str:
    return _hex("key", key)[:4]


def key_prefix(key: str) -> str:
    """What every name made for `key` starts with (ListModelCustomizationJobs' nameContains)."""
    return f"{slug(key)}-{_key4(key)}"


def prefix(key: str, inputs: str) -> str:
    """What every attempt at tuning these inputs for `key` is named, before its number."""
    return f"{key_prefix(key)}{_hex('inputs', key, inputs)[:8]}-"


def resource_name(key: str, inputs: str, attempt: int) -> str:
    """The job's name, and the custom model's it makes."""
    name = f"{prefix(key, inputs)}{attempt}"
    assert len(name) <= NAME_MAX, name  # a manifest id is at most 40 characters
    return name


def attempt_of(name: str, name_prefix: str) -> int | None:
    """The attempt number of a name made under `name_prefix`, or None."""
    match = _NAME_RE.fullmatch(name)
    return int(match["n"]) if match is not None and match["prefix"] == name_prefix else None


def made_for(name: str, key: str) -> bool:
    """Whether `name` has the shape of a name made for `key` (a filter, not a proof)."""
    match = _NAME_RE.fullmatch(name)
    return match is not None and (match["slug"], match["key"]) == (slug(key), _key4(key))


def named_by_reconciler(name: str) -> bool:
    """Whether `name` has the shape of a name the reconciler makes."""
    return _NAME_RE.fullmatch(name) is not None


def client_token(key: str, inputs: str, attempt: int) -> str:
    """CreateModelCustomizationJob's clientRequestToken for this attempt."""
    return "reconciler-" + _hex("job", key, inputs, str(attempt))[:32]


def deployment_name(key: str, model_arn: str) -> str:
    """The deployment of one custom model for `key` (deployment names are unique
    in an account and region; the model's ARN tells two models of one id apart)."""
    return f"{key_prefix(key)}{_hex('deployment', key, model_arn)[:8]}-d"


def deployment_token(key: str, model_arn: str) -> str:
    """CreateCustomModelDeployment's clientRequestToken."""
    return "reconciler-" + _hex("deployment-token", key, model_arn)[:32]


def unmanaged_key(model_name: str) -> str:
    return UNMANAGED_PREFIX + model_name


def foundation_model(arn: str) -> str:
    """`arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0` ->
    `amazon.nova-micro-v1:0`; anything else as it is."""
    _, found, rest = arn.partition(":foundation-model/")
    return rest if found else arn
