"""reconciler.yaml's `bedrock:` block: a Region, an IAM role ARN and two S3
locations, each refused in words when malformed, and catalogue overrides."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from reconciler.backends.bedrock import settings as bedrock_settings
from reconciler.backends.bedrock.settings import BedrockSettings
from tests.backends.bedrock.helpers import BLOCK, settings


def refusal(**changes: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        settings(**changes)
    return str(caught.value)


def test_the_issue_s_block_is_valid_and_names_its_bucket_and_prefixes() -> None:
    block = settings()
    assert (block.region, block.bucket, block.prefix) == ("us-east-1", "my-bucket", "reconciler/datasets/")
    assert (block.outputs, block.outputs_bucket, block.outputs_prefix) == (
        "s3://my-bucket/reconciler/outputs",
        "my-bucket",
        "reconciler/outputs/",
    )


@pytest.mark.parametrize(
    "uri, prefix", [("s3://my-bucket", ""), ("s3://my-bucket/", ""), ("s3://my-bucket/a/b/", "a/b/")]
)
def test_a_prefix_is_empty_or_ends_in_one_slash(uri: str, prefix: str) -> None:
    assert settings(datasets=uri).prefix == prefix


@pytest.mark.parametrize("region", ["US-EAST-1", "us-east", "useast1", "us_east_1", "us-east-1 "])
def test_a_malformed_region_is_refused_in_words(region: str) -> None:
    assert "must be an AWS Region code such as us-east-1" in refusal(region=region)


@pytest.mark.parametrize("region", ["us-west-2", "eu-central-1", "ap-southeast-2", "us-gov-west-1"])
def test_region_codes_are_accepted(region: str) -> None:
    assert settings(region=region).region == region


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::12345678901:role/short-account",
        "arn:aws:iam:::role/no-account",
        "arn:aws:iam::123456789012:user/a-user",
        "arn:aws:iam::123456789012:role/",
        "arn:aws:iam::123456789012:role/with space",
        "arn:aws:s3:::my-bucket",
        "reconciler-customization",
        "arn:aws:iam::123456789012:role/" + "x" * 2048,
    ],
)
def test_a_malformed_role_arn_is_refused_in_words(arn: str) -> None:
    assert "must be the ARN of an IAM role Amazon Bedrock can assume" in refusal(roleArn=arn)


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::123456789012:role/service-role/reconciler",
        "arn:aws-cn:iam::123456789012:role/reconciler",
        "arn:aws-us-gov:iam::123456789012:role/a+b=c,d.e@f_g-h",
    ],
)
def test_role_arns_with_paths_and_partitions_are_accepted(arn: str) -> None:
    assert settings(roleArn=arn).role_arn == arn


@pytest.mark.parametrize(
    "uri",
    [
        "gs://my-bucket/datasets",
        "s3://My-Bucket/datasets",
        "s3://ab/datasets",
        "s3://my-bucket/a=b",
        "s3://my-bucket//double",
        "s3://my-bucket/space here",
        "my-bucket/datasets",
    ],
)
def test_a_malformed_s3_uri_is_refused_in_words(uri: str) -> None:
    assert "must be an S3 location to upload the datasets under" in refusal(datasets=uri)
    assert "must be an S3 location for the jobs' outputs" in refusal(outputs=uri)


def test_the_datasets_location_leaves_room_for_each_object_name() -> None:
    # s3://my-bucket/ and one folder: the longest an object name still fits under (botocore's 1,024).
    longest = "s3://my-bucket/" + "d" * (bedrock_settings.DATASETS_MAX - len("s3://my-bucket/"))
    assert settings(datasets=longest).datasets == longest
    assert "at most 953 characters" in refusal(datasets=longest + "d")
    outputs = "s3://my-bucket/" + "o" * (1024 - len("s3://my-bucket/"))
    assert settings(outputs=outputs).outputs == outputs
    assert "at most 1,024 characters" in refusal(outputs=outputs + "o")


def test_every_key_is_required_and_unknown_ones_are_refused() -> None:
    for key in BLOCK:
        with pytest.raises(ValidationError, match=key):
            BedrockSettings.model_validate({k: v for k, v in BLOCK.items() if k != key})
    with pytest.raises(ValidationError, match="extra"):
        settings(bucket="my-bucket")


def test_a_base_model_override_of_a_model_the_catalogue_lacks_needs_like() -> None:
    message = refusal(baseModels={"amazon.nova-9-v1:0": {"customizations": ["fineTuning"]}})
    assert "amazon.nova-9-v1:0 is not in the catalogue: say which model it is like" in message
    assert "like 'amazon.nova-9' is not in the catalogue" in refusal(
        baseModels={"amazon.nova-2-lite-v1:0:256k": {"like": "amazon.nova-9"}}
    )
    block = settings(baseModels={"amazon.nova-9-v1:0": {"like": "amazon.nova-lite-v1:0"}})
    assert block.base_models["amazon.nova-9-v1:0"].like == "amazon.nova-lite-v1:0"


def test_a_base_model_override_takes_known_customizations_and_region_codes() -> None:
    assert "fineTuning" in refusal(baseModels={"amazon.nova-micro-v1:0": {"customizations": ["sft"]}})
    assert "must be an AWS Region code" in refusal(baseModels={"amazon.nova-micro-v1:0": {"regions": ["Oregon"]}})


def botocore_pattern(shape: str) -> str:
    """The shape's pattern in botocore's service model for Amazon Bedrock (the `bedrock` extra installs it)."""
    session = pytest.importorskip("botocore.session")
    model = session.get_session().get_service_model("bedrock")
    return str(model.shape_for(shape).metadata["pattern"])


ACCEPTED = [
    ("RoleArn", "roleArn", "arn:aws:iam::123456789012:role/service-role/reconciler"),
    ("S3Uri", "datasets", "s3://my-bucket/reconciler/datasets/"),
    ("S3Uri", "outputs", "s3://my.bucket-1/a/b_c/d(e)!*'"),
]


@pytest.mark.parametrize("shape, key, value", ACCEPTED, ids=[key for _, key, _ in ACCEPTED])
def test_what_the_block_accepts_botocore_s_service_model_accepts_too(shape: str, key: str, value: str) -> None:
    assert settings(**{key: value}).model_dump(by_alias=True)[key] == value
    assert re.fullmatch(botocore_pattern(shape), value) is not None
