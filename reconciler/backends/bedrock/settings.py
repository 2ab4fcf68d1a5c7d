"""reconciler.yaml's `bedrock:` block, the settings of `backend: bedrock`.

Every value is checked here, in words, before anything is sent: the shapes
are botocore's own service model for Amazon Bedrock (2023-04-20), which
validates the same fields on the client (`RoleArn`, `S3Uri`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from reconciler.backends.bedrock.catalogue import CATALOGUE, canonical_id
from reconciler.model.manifest import Customization, Strict
from reconciler.model.settings import Settings
from reconciler.model.shards import Shard, Shards, shards_from

# An AWS Region code: us-east-1, eu-west-3, ap-southeast-2, us-gov-west-1, cn-north-1.
AWS_REGION = r"^[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}$"
# botocore's RoleArn is `arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+`, up to 2,048
# characters. Stricter where IAM itself is [infer: IAM's documented names]: the
# account is required (a role always has one), and a role path and name hold
# letters, digits and `+=,.@_-/`, not spaces or other marks.
ROLE_ARN = r"^arn:aws(?:-[a-z]+)*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$"
ROLE_ARN_MAX = 2048
# botocore's S3Uri, up to 1,024 characters: a bucket of 3-63 lowercase letters,
# digits, `.` and `-`, then key segments of letters, digits and `-!_*'().`.
S3_URI = r"^s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](?:/[-!_*'().a-zA-Z0-9]+)*/?$"
S3_URI_MAX = 1024
# What a dataset's object name adds under `datasets`: `/`, 64 hex digits and `.jsonl`.
OBJECT_NAME_LENGTH = 1 + 64 + len(".jsonl")
DATASETS_MAX = S3_URI_MAX - OBJECT_NAME_LENGTH
# Our choice: no rate of CreateModelCustomizationJob is documented in the sources
# at hand (the AWS quotas pages list inference quotas per model, and the
# customization quotas we found are counts of jobs, not a rate; botocore's
# service model has none). 60 a minute, Vertex AI's documented figure, is far
# above what a repository of models submits, and a ThrottlingException from a
# lower real limit is waited out (reconciler/client/pacing.py) either way.
DEFAULT_MAX_CREATES_PER_MINUTE = 60
MAX_CREATES_PER_MINUTE = 100_000

_REGION_WORDS = (
    "must be an AWS Region code such as us-east-1 or us-west-2: lowercase words joined by '-', then a number"
)
_ROLE_WORDS = (
    "must be the ARN of an IAM role Amazon Bedrock can assume, arn:aws:iam::<12-digit account>:role/<name> "
    "(e.g. arn:aws:iam::123456789012:role/reconciler-customization); the name holds letters, digits and +=,.@_-/"
)


def _s3_words(what: str, example: str, longest: int) -> str:
    return (
        f"must be an S3 location {what}, s3://bucket/prefix (e.g. s3://my-bucket/reconciler/{example}): "
        "a bucket of 3-63 lowercase letters, digits, '.' and '-', then folders of letters, digits and -!_*'(). "
        f"only, at most {longest:,} characters"
    )


class BaseModelOverride(Strict):
    """One entry of `bedrock.baseModels`: a base model the catalogue lacks, described as one
    it has (`like`), or facts about an entry it has that are newer than the catalogue."""

    like: str | None = Field(
        None,
        description="A catalogue entry whose facts (format, hyperparameters, limits) this model shares; "
        "required for a model the catalogue lacks.",
    )
    customizations: tuple[Customization, ...] | None = Field(
        None,
        min_length=1,
        description="How the model may be customized: fineTuning, continuedPreTraining, distillation.",
    )
    teachers: tuple[str, ...] | None = Field(
        None, description="The teacher models a distillation of this model may learn from."
    )
    regions: tuple[str, ...] | None = Field(
        None, min_length=1, description="The AWS Regions Amazon Bedrock customizes the model in."
    )

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for region in value or ():
            if re.fullmatch(AWS_REGION, region) is None:
                raise ValueError(f"{region!r} {_REGION_WORDS}")
        return value


class BedrockSettings(Strict):
    """reconciler.yaml's `bedrock:` block: where Amazon Bedrock customizes, as whom, and its S3 locations."""

    # Checked by the validators below, in words; the JSON schema keeps the rules for editors.
    region: str = Field(
        description="The AWS Region the jobs run in (e.g. us-east-1); each base model's are checked.",
        json_schema_extra={"pattern": AWS_REGION},
    )
    role_arn: str = Field(
        description="The IAM role Amazon Bedrock assumes to read the datasets and write the outputs.",
        json_schema_extra={"pattern": ROLE_ARN, "maxLength": ROLE_ARN_MAX},
    )
    datasets: str = Field(
        description="s3://bucket/prefix the datasets are uploaded under, one object a dataset.",
        json_schema_extra={"pattern": S3_URI, "maxLength": DATASETS_MAX},
    )
    outputs: str = Field(
        description="s3://bucket/prefix Amazon Bedrock writes each job's metrics and outputs under.",
        json_schema_extra={"pattern": S3_URI, "maxLength": S3_URI_MAX},
    )
    base_models: dict[str, BaseModelOverride] = Field(
        default_factory=dict,
        description="Base models to add to the shipped catalogue (like an entry it has), "
        "or new facts about its entries, by model id.",
    )

    max_creates_per_minute: int = Field(
        DEFAULT_MAX_CREATES_PER_MINUTE,
        ge=0,
        le=MAX_CREATES_PER_MINUTE,
        strict=True,
        description="At most this many customization jobs are submitted in any minute, shared by the "
        "workers (60 by default: Amazon Bedrock documents no rate for CreateModelCustomizationJob); "
        "0 turns the pacing off. A create refused with ThrottlingException waits and tries again either way.",
    )

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if re.fullmatch(AWS_REGION, value) is None:
            raise ValueError(_REGION_WORDS)
        return value

    @field_validator("role_arn")
    @classmethod
    def _role_arn(cls, value: str) -> str:
        if len(value) > ROLE_ARN_MAX or re.fullmatch(ROLE_ARN, value) is None:
            raise ValueError(_ROLE_WORDS)
        return value

    @field_validator("datasets")
    @classmethod
    def _datasets(cls, value: str) -> str:
        # Each dataset's object name goes under it, and the whole URI must stay an S3Uri.
        if len(value) > DATASETS_MAX or re.fullmatch(S3_URI, value) is None:
            raise ValueError(_s3_words("to upload the datasets under", "datasets", DATASETS_MAX))
        return value

    @field_validator("outputs")
    @classmethod
    def _outputs(cls, value: str) -> str:
        if len(value) > S3_URI_MAX or re.fullmatch(S3_URI, value) is None:
            raise ValueError(_s3_words("for the jobs' outputs", "outputs", S3_URI_MAX))
        return value

    @field_validator("base_models")
    @classmethod
    def _base_models(cls, value: dict[str, BaseModelOverride]) -> dict[str, BaseModelOverride]:
        for name, override in value.items():
            if override.like is not None and canonical_id(override.like) not in CATALOGUE:
                raise ValueError(f"{name}: like {override.like!r} is not in the catalogue; {_nearest(override.like)}")
            if override.like is None and canonical_id(name) not in CATALOGUE:
                raise ValueError(
                    f"{name} is not in the catalogue: say which model it is like (like: <a catalogue id>) "
                    f"for its format, hyperparameters and limits; {_nearest(name)}"
                )
        return value

    @property
    def bucket(self) -> str:
        """The bucket the datasets are uploaded to."""
        return _bucket(self.datasets)

    @property
    def prefix(self) -> str:
        """The object-name prefix of the datasets under their bucket ("" or "a/b/")."""
        return _prefix(self.datasets)

    @property
    def outputs_bucket(self) -> str:
        return _bucket(self.outputs)

    @property
    def outputs_prefix(self) -> str:
        """The object-name prefix of the outputs under their bucket ("" or "a/b/")."""
        return _prefix(self.outputs)


def _nearest(name: str) -> str:
    nearest = difflib.get_close_matches(name, list(CATALOGUE), n=3, cutoff=0.4) or list(CATALOGUE)[:3]
    return f"the nearest are {', '.join(nearest)}"


def _bucket(uri: str) -> str:
    return uri.removeprefix("s3://").split("/", 1)[0]


def _prefix(uri: str) -> str:
    rest = uri.removeprefix("s3://").partition("/")[2].strip("/")
    return f"{rest}/" if rest else ""


class BedrockTarget(Strict):
    """One entry of `targets:` (backend: bedrock): another region, or a role of another
    account, a quota boundary and a shard of its own (docs/shards.md). Leaving a key
    out keeps the bedrock block's."""

    region: str = Field(description="The AWS Region the jobs run in.", json_schema_extra={"pattern": AWS_REGION})
    role_arn: str | None = Field(
        None,
        description="The role Amazon Bedrock assumes there (its account is the target's).",
        json_schema_extra={"pattern": ROLE_ARN, "maxLength": ROLE_ARN_MAX},
    )
    datasets: str | None = Field(None, description="s3://bucket/prefix for this target's datasets.")
    outputs: str | None = Field(None, description="s3://bucket/prefix for this target's job outputs.")

    # The bedrock block's checks, in its words.
    _region = field_validator("region")(classmethod(lambda cls, value: BedrockSettings._region(value)))
    _role_arn = field_validator("role_arn")(classmethod(lambda cls, value: BedrockSettings._role_arn(value)))
    _datasets = field_validator("datasets")(classmethod(lambda cls, value: BedrockSettings._datasets(value)))
    _outputs = field_validator("outputs")(classmethod(lambda cls, value: BedrockSettings._outputs(value)))


def account_of(role_arn: str) -> str:
    """The 12-digit account of a checked role ARN (arn:aws:iam::<account>:role/<name>)."""
    return role_arn.split(":")[4]


def bedrock_shards(settings: Settings, block: BedrockSettings) -> Shards:
    """The bedrock block's account and region, then each of `targets:`: Amazon
    Bedrock's quotas are per account and region."""

    def shard(entry: Mapping[str, Any]) -> Shard:
        here = block.model_copy(update=entry)
        account = account_of(here.role_arn)
        return Shard(
            key=f"{account}.{here.region}",
            label=f"Amazon Bedrock account {account}, {here.region}",
            target={"account": account, "region": here.region},
            settings=settings.model_copy(update={"bedrock": here}),
        )

    entries = [target.model_dump(exclude_none=True) for target in settings.targets]
    return shards_from(("account", "region"), entries, shard)
