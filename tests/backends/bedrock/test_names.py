"""Names and idempotency tokens: pinned (live resources carry them), within
botocore's service-model patterns and lengths, and derived so that a retried
or concurrent create chooses the same job and a replace another one."""

from __future__ import annotations

import re

import botocore.session
import pytest

from reconciler.backends.bedrock import names

_MODEL = botocore.session.get_session().get_service_model("bedrock")
LONGEST = "a" + "-b" * 19 + "c"  # 40 characters, the longest manifest id, with many dashes
DOUBLE = "a--b"  # a manifest id may hold `--`; a custom model name may not


def _pattern(shape: str) -> re.Pattern[str]:
    return re.compile(_MODEL.shape_for(shape).metadata["pattern"])


def _max(shape: str) -> int:
    return int(_MODEL.shape_for(shape).metadata["max"])


def test_names_and_tokens_are_pinned() -> None:
    assert names.resource_name("numbers", "inputs", 1) == "numbers-6d09105e290e-1"
    assert names.client_token("numbers", "inputs", 1) == "reconciler-af71c4f0a6241ca2cc688209ff2e614b"
    assert names.deployment_name("numbers", "arn:x") == "numbers-6d0929bb9b96-d"
    assert names.deployment_token("numbers", "arn:x") == "reconciler-d99ed81fad29378805e7cb69f33b521f"


@pytest.mark.parametrize("key", ["numbers", LONGEST, DOUBLE, "x"])
def test_every_name_is_one_bedrock_accepts(key: str) -> None:
    name = names.resource_name(key, "v1:aaaa.bbbb.cccc\n20\nsource\nFINE_TUNING", 123_456_789)
    deployment = names.deployment_name(key, "arn:aws:bedrock:us-east-1:123456789012:custom-model/x/abcdefabcdef")
    for shape, value in (("JobName", name), ("CustomModelName", name), ("ModelDeploymentName", deployment)):
        assert _pattern(shape).fullmatch(value), (shape, value)
        assert len(value) <= _max(shape), (shape, value)
    for token in (names.client_token(key, "i", 1), names.deployment_token(key, "arn")):
        assert _pattern("IdempotencyToken").fullmatch(token)
        assert len(token) <= _max("IdempotencyToken")


def test_slug_collisions_are_told_apart() -> None:
    """`a--b` and `a-b` share a slug; their names and find prefixes differ."""
    assert names.slug(DOUBLE) == names.slug("a-b") == "a-b"
    assert names.key_prefix(DOUBLE) != names.key_prefix("a-b")
    mine = names.resource_name(DOUBLE, "i", 1)
    assert names.made_for(mine, DOUBLE)
    assert not names.made_for(mine, "a-b")


def test_a_name_is_made_for_its_own_id_only() -> None:
    """`numbers` must not claim the names of an id that merely starts like it."""
    other = names.resource_name("numbers-two", "i", 1)
    assert not names.made_for(other, "numbers")
    assert names.made_for(names.resource_name("numbers", "i", 7), "numbers")
    assert not names.made_for("my-own-model", "numbers")
    assert not names.named_by_reconciler("my-own-model")


def test_attempts_are_read_back_under_their_own_prefix_only() -> None:
    prefix = names.prefix("numbers", "inputs")
    assert names.attempt_of(names.resource_name("numbers", "inputs", 12), prefix) == 12
    assert names.attempt_of(names.resource_name("numbers", "other inputs", 12), prefix) is None
    assert names.attempt_of(prefix + "0", prefix) is None


def test_the_token_is_the_same_for_the_same_attempt_and_differs_otherwise() -> None:
    token = names.client_token("numbers", "inputs", 1)
    assert names.client_token("numbers", "inputs", 1) == token  # a retry, or a second apply at once
    others = {
        names.client_token("numbers", "inputs", 2),  # the next attempt after a failure
        names.client_token("numbers", "other inputs", 1),  # a replace
        names.client_token("letters", "inputs", 1),
    }
    assert token not in others and len(others) == 3


def test_a_replace_gets_new_names() -> None:
    assert names.resource_name("numbers", "inputs", 1) != names.resource_name("numbers", "other", 1)
    assert names.deployment_name("numbers", "arn:a") != names.deployment_name("numbers", "arn:b")


def test_a_foundation_model_arn_reads_as_its_id() -> None:
    arn = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k"
    assert names.foundation_model(arn) == "amazon.nova-micro-v1:0:128k"
    custom = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0/abcdefabcdef"
    assert names.foundation_model(custom) == custom
