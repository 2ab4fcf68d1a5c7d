"""The S3 subset through unmodified boto3 (endpoint_url and AWS_ENDPOINT_URL_S3),
and over botocore-signed raw requests for what boto3 never sends; the calls
moto also covers run against moto too (see docs/emulator.md for where the two
differ)."""

from __future__ import annotations

import base64
import hashlib
import io
import zlib
from typing import Any

import pytest
import requests

from reconciler.emulator import EmulatorServer
from reconciler.emulator.s3.checksums import crc32c_pure, crc64nvme
from tests.emulator.aws_helpers import (  # noqa: F401 (fixtures)
    aws_environment,
    client,
    moto_server,
    moto_url,
    signed,
)

pytest.importorskip("boto3")
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

MIB = 1024 * 1024
PART = 5 * MIB
TWO_PARTS = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART)
DATASET = b'{"prompt": "2+2", "completion": "4"}\n'


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _crc32(data: bytes) -> bytes:
    return zlib.crc32(data).to_bytes(4, "big")


@pytest.fixture
def s3(emulator: EmulatorServer) -> Any:
    s3 = client("s3", emulator.url)
    s3.create_bucket(Bucket="data")
    return s3


@pytest.fixture(params=["emulator", "moto"])
def either(request: pytest.FixtureRequest, emulator: EmulatorServer) -> Any:
    """An S3 client of the emulator, then of moto: for what both should answer alike."""
    url = emulator.url if request.param == "emulator" else request.getfixturevalue("moto_url")
    s3 = client("s3", url)
    s3.create_bucket(Bucket="data")
    return s3


# --- the dataset flow, on both servers ----------------------------------------------------


def test_the_endpoint_variable_reaches_the_emulator(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", emulator.url)
    s3 = client("s3")  # no endpoint_url: botocore reads the variable
    s3.create_bucket(Bucket="data")
    s3.put_object(Bucket="data", Key="datasets/a.jsonl", Body=DATASET)
    assert s3.get_object(Bucket="data", Key="datasets/a.jsonl")["Body"].read() == DATASET
    counts = requests.get(f"{emulator.url}/_internal/requests", timeout=5).json()["counts"]
    assert counts["PUT /{bucket}/{key}"] == 1 and counts["PUT /{bucket}"] == 1


def test_a_second_put_with_if_none_match_star_is_refused_and_changes_nothing(either: Any) -> None:
    first = either.put_object(Bucket="data", Key="d/sha.jsonl", Body=DATASET, IfNoneMatch="*")
    with pytest.raises(ClientError) as refused:
        either.put_object(Bucket="data", Key="d/sha.jsonl", Body=b"other", IfNoneMatch="*")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert _code(refused) == "PreconditionFailed"
    kept = either.get_object(Bucket="data", Key="d/sha.jsonl")
    assert kept["Body"].read() == DATASET and kept["ETag"] == first["ETag"]
    assert first["ETag"] == f'"{hashlib.md5(DATASET).hexdigest()}"'


def test_head_and_get_report_the_object(either: Any) -> None:
    either.put_object(
        Bucket="data", Key="a.jsonl", Body=DATASET, ContentType="application/jsonl", Metadata={"sha": "x1"}
    )
    head = either.head_object(Bucket="data", Key="a.jsonl")
    assert head["ContentLength"] == len(DATASET) and head["ContentType"] == "application/jsonl"
    assert head["Metadata"] == {"sha": "x1"}
    assert either.get_object(Bucket="data", Key="a.jsonl", Range="bytes=2-7")["Body"].read() == DATASET[2:8]
    with pytest.raises(ClientError) as missing:
        either.get_object(Bucket="data", Key="nothing.jsonl")
    assert _code(missing) == "NoSuchKey"
    with pytest.raises(ClientError) as no_head:
        either.head_object(Bucket="data", Key="nothing.jsonl")
    assert no_head.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_list_objects_v2_pages_in_key_order_with_prefix_and_delimiter(either: Any) -> None:
    keys = ["d/b c.jsonl", "d/a+b.jsonl", "d/é.jsonl", "d/sub/1.jsonl", "d/sub/2.jsonl", "e/x.jsonl"]
    for key in keys:
        either.put_object(Bucket="data", Key=key, Body=b"{}\n")
    pages = either.get_paginator("list_objects_v2").paginate(
        Bucket="data", Prefix="d/", PaginationConfig={"PageSize": 2}
    )
    listed = [item["Key"] for page in pages for item in page.get("Contents", [])]
    assert listed == sorted(keys[:5], key=str.encode)  # UTF-8 byte order; botocore decodes the url encoding
    folders = either.list_objects_v2(Bucket="data", Prefix="d/", Delimiter="/")
    assert [p["Prefix"] for p in folders["CommonPrefixes"]] == ["d/sub/"]
    assert folders["KeyCount"] == 4 and not folders["IsTruncated"]


def test_a_multipart_upload_through_the_transfer_manager(either: Any) -> None:
    data = bytes(range(256)) * (6 * MIB // 256)  # two parts: 5 MiB and 1 MiB
    either.upload_fileobj(io.BytesIO(data), "data", "big.jsonl", Config=TWO_PARTS)
    head = either.head_object(Bucket="data", Key="big.jsonl")
    digests = [hashlib.md5(data[:PART]).digest(), hashlib.md5(data[PART:]).digest()]
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == f'"{hashlib.md5(b"".join(digests)).hexdigest()}-2"'
    downloaded = io.BytesIO()
    either.download_fileobj("data", "big.jsonl", downloaded)
    assert downloaded.getvalue() == data


def test_parts_smaller_than_5_mib_are_refused_at_completion(either: Any) -> None:
    upload = either.create_multipart_upload(Bucket="data", Key="t.jsonl")["UploadId"]
    parts = [
        {
            "PartNumber": n,
            "ETag": either.upload_part(Bucket="data", Key="t.jsonl", UploadId=upload, PartNumber=n, Body=b"x")["ETag"],
        }
        for n in (1, 2)
    ]
    with pytest.raises(ClientError) as small:
        either.complete_multipart_upload(
            Bucket="data", Key="t.jsonl", UploadId=upload, MultipartUpload={"Parts": parts}
        )
    assert _code(small) == "EntityTooSmall"
    either.abort_multipart_upload(Bucket="data", Key="t.jsonl", UploadId=upload)
    with pytest.raises(ClientError) as gone:
        either.abort_multipart_upload(Bucket="data", Key="t.jsonl", UploadId=upload)
    assert _code(gone) == "NoSuchUpload"


def test_completing_over_an_existing_key_with_if_none_match_is_refused(either: Any) -> None:
    either.put_object(Bucket="data", Key="k.jsonl", Body=DATASET)
    upload = either.create_multipart_upload(Bucket="data", Key="k.jsonl")["UploadId"]
    etag = either.upload_part(Bucket="data", Key="k.jsonl", UploadId=upload, PartNumber=1, Body=b"new")["ETag"]
    with pytest.raises(ClientError) as refused:
        either.complete_multipart_upload(
            Bucket="data",
            Key="k.jsonl",
            UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
            IfNoneMatch="*",
        )
    assert _code(refused) == "PreconditionFailed"
    assert either.get_object(Bucket="data", Key="k.jsonl")["Body"].read() == DATASET


# --- checksums (the emulator follows S3 here; moto does not check them) --------------------


def test_botocore_sends_crc32_by_default_and_the_emulator_keeps_it(s3: Any) -> None:
    put = s3.put_object(Bucket="data", Key="a.jsonl", Body=DATASET)
    assert put["ChecksumCRC32"] == _b64(_crc32(DATASET)) and put["ChecksumType"] == "FULL_OBJECT"
    listed = s3.list_objects_v2(Bucket="data")["Contents"][0]
    assert listed["ChecksumAlgorithm"] == ["CRC32"] and listed["ChecksumType"] == "FULL_OBJECT"
    got = s3.get_object(Bucket="data", Key="a.jsonl")  # botocore checks the CRC32 it is sent
    assert got["ChecksumCRC32"] == put["ChecksumCRC32"] and got["Body"].read() == DATASET


def test_a_wrong_checksum_is_refused_and_stores_nothing(s3: Any) -> None:
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket="data", Key="a.jsonl", Body=DATASET, ChecksumCRC32=_b64(_crc32(b"other")))
    assert _code(refused) == "BadDigest"
    with pytest.raises(ClientError) as bad_md5:
        s3.put_object(Bucket="data", Key="a.jsonl", Body=DATASET, ContentMD5=_b64(hashlib.md5(b"x").digest()))
    assert _code(bad_md5) == "BadDigest"
    assert "Contents" not in s3.list_objects_v2(Bucket="data")


def test_crc32c_sha256_and_crc64nvme_values_sent_by_the_caller_are_verified(s3: Any) -> None:
    google_crc32c = pytest.importorskip("google_crc32c")
    crc32c = _b64(google_crc32c.Checksum(DATASET).digest())
    assert s3.put_object(Bucket="data", Key="c.jsonl", Body=DATASET, ChecksumCRC32C=crc32c)["ChecksumCRC32C"] == crc32c
    sha = _b64(hashlib.sha256(DATASET).digest())
    assert s3.put_object(Bucket="data", Key="s.jsonl", Body=DATASET, ChecksumSHA256=sha)["ChecksumSHA256"] == sha
    crc64 = _b64(crc64nvme(DATASET).to_bytes(8, "big"))
    assert (
        s3.put_object(Bucket="data", Key="n.jsonl", Body=DATASET, ChecksumCRC64NVME=crc64)["ChecksumCRC64NVME"] == crc64
    )
    with pytest.raises(ClientError) as wrong:
        s3.put_object(Bucket="data", Key="n.jsonl", Body=b"other", ChecksumCRC64NVME=crc64)
    assert _code(wrong) == "BadDigest"


def test_the_crcs_give_their_published_check_values() -> None:
    # The check value of each CRC (its digest of "123456789"), from the CRC catalogue.
    assert crc64nvme(b"123456789") == 0xAE8B14860A799888
    assert crc32c_pure(b"123456789") == 0xE3069283


def test_an_object_sent_without_a_checksum_gets_crc64nvme(emulator: EmulatorServer) -> None:
    s3 = client("s3", emulator.url, request_checksum_calculation="when_required")
    s3.create_bucket(Bucket="data")
    put = s3.put_object(Bucket="data", Key="a.jsonl", Body=DATASET)
    assert put["ChecksumCRC64NVME"] == _b64(crc64nvme(DATASET).to_bytes(8, "big"))
    assert "ChecksumCRC32" not in put


def test_a_transfer_manager_upload_gets_the_composite_crc32(s3: Any) -> None:
    data = b"\x01" * PART + b"\x02" * MIB
    s3.upload_fileobj(io.BytesIO(data), "data", "big.jsonl", Config=TWO_PARTS)  # CRC32 by default
    head = s3.head_object(Bucket="data", Key="big.jsonl", ChecksumMode="ENABLED")
    expected = _b64(_crc32(_crc32(data[:PART]) + _crc32(data[PART:])))
    assert head["ChecksumCRC32"] == f"{expected}-2" and head["ChecksumType"] == "COMPOSITE"


def test_a_full_object_crc32_upload_is_checked_against_the_whole_object(s3: Any) -> None:
    data = b"\x03" * PART + b"\x04" * 100
    upload = s3.create_multipart_upload(
        Bucket="data", Key="f.jsonl", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT"
    )
    parts = []
    for number, chunk in ((1, data[:PART]), (2, data[PART:])):
        sent = s3.upload_part(
            Bucket="data",
            Key="f.jsonl",
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=chunk,
            ChecksumAlgorithm="CRC32",
        )
        parts.append({"PartNumber": number, "ETag": sent["ETag"], "ChecksumCRC32": sent["ChecksumCRC32"]})
    whole = _b64(_crc32(data))
    with pytest.raises(ClientError) as wrong:
        s3.complete_multipart_upload(
            Bucket="data",
            Key="f.jsonl",
            UploadId=upload["UploadId"],
            MultipartUpload={"Parts": parts},
            ChecksumCRC32=_b64(_crc32(b"x")),
            ChecksumType="FULL_OBJECT",
        )
    assert _code(wrong) == "BadDigest"
    done = s3.complete_multipart_upload(
        Bucket="data",
        Key="f.jsonl",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": parts},
        ChecksumCRC32=whole,
        ChecksumType="FULL_OBJECT",
    )
    assert done["ChecksumCRC32"] == whole and done["ChecksumType"] == "FULL_OBJECT"


def test_completion_names_every_part_by_etag_and_checksum_in_order(s3: Any) -> None:
    upload = s3.create_multipart_upload(Bucket="data", Key="p.jsonl", ChecksumAlgorithm="CRC32")["UploadId"]
    part = s3.upload_part(
        Bucket="data", Key="p.jsonl", UploadId=upload, PartNumber=1, Body=b"only", ChecksumAlgorithm="CRC32"
    )
    attempts = {
        "InvalidRequest": [{"PartNumber": 1, "ETag": part["ETag"]}],  # no checksum for a CRC32 upload
        "InvalidPart": [{"PartNumber": 1, "ETag": '"00"', "ChecksumCRC32": part["ChecksumCRC32"]}],
        "InvalidPartOrder": [
            {"PartNumber": 2, "ETag": part["ETag"], "ChecksumCRC32": part["ChecksumCRC32"]},
            {"PartNumber": 1, "ETag": part["ETag"], "ChecksumCRC32": part["ChecksumCRC32"]},
        ],
    }
    for code, parts in attempts.items():
        with pytest.raises(ClientError) as refused:
            s3.complete_multipart_upload(
                Bucket="data", Key="p.jsonl", UploadId=upload, MultipartUpload={"Parts": parts}
            )
        assert _code(refused) == code
    with pytest.raises(ClientError) as mismatch:
        s3.upload_part(
            Bucket="data", Key="p.jsonl", UploadId=upload, PartNumber=2, Body=b"x", ChecksumAlgorithm="SHA256"
        )
    assert _code(mismatch) == "InvalidRequest"
    listed = s3.list_parts(Bucket="data", Key="p.jsonl", UploadId=upload)
    assert [(p["PartNumber"], p["ChecksumCRC32"]) for p in listed["Parts"]] == [(1, part["ChecksumCRC32"])]


# --- conditional reads and ranges ---------------------------------------------------------


def test_conditional_reads_and_ranges(s3: Any) -> None:
    etag = s3.put_object(Bucket="data", Key="a.jsonl", Body=DATASET)["ETag"]
    with pytest.raises(ClientError) as not_modified:
        s3.get_object(Bucket="data", Key="a.jsonl", IfNoneMatch=etag)
    assert not_modified.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    with pytest.raises(ClientError) as changed:
        s3.get_object(Bucket="data", Key="a.jsonl", IfMatch='"0123"')
    assert _code(changed) == "PreconditionFailed"
    tail = s3.get_object(Bucket="data", Key="a.jsonl", Range="bytes=-4")
    assert (
        tail["Body"].read() == DATASET[-4:]
        and tail["ContentRange"] == f"bytes {len(DATASET) - 4}-{len(DATASET) - 1}/{len(DATASET)}"
    )
    with pytest.raises(ClientError) as past:
        s3.get_object(Bucket="data", Key="a.jsonl", Range=f"bytes={len(DATASET)}-")
    assert _code(past) == "InvalidRange"
    with pytest.raises(ClientError) as stale:
        s3.put_object(Bucket="data", Key="a.jsonl", Body=b"new", IfMatch='"0123"')
    assert _code(stale) == "PreconditionFailed"
    assert s3.put_object(Bucket="data", Key="a.jsonl", Body=b"new", IfMatch=etag)["ETag"] != etag


# --- buckets -----------------------------------------------------------------------------


def test_buckets_follow_their_region(emulator: EmulatorServer) -> None:
    east = client("s3", emulator.url)
    east.create_bucket(Bucket="data")
    east.create_bucket(Bucket="data")  # S3 answers 200 in us-east-1 for a bucket one owns
    west = client("s3", emulator.url, region="eu-west-1")
    with pytest.raises(ClientError) as owned:
        west.create_bucket(Bucket="data", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert _code(owned) == "BucketAlreadyOwnedByYou"
    with pytest.raises(ClientError) as elsewhere:
        west.create_bucket(Bucket="other", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    assert _code(elsewhere) == "IllegalLocationConstraintException"
    west.create_bucket(Bucket="west-data", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert west.get_bucket_location(Bucket="west-data")["LocationConstraint"] == "eu-west-1"
    assert east.head_bucket(Bucket="west-data")["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "eu-west-1"
    east.put_object(Bucket="data", Key="a", Body=b"1")
    with pytest.raises(ClientError) as full:
        east.delete_bucket(Bucket="data")
    assert _code(full) == "BucketNotEmpty"
    with pytest.raises(ClientError) as bad_name:
        east.create_bucket(Bucket="Not_Valid")
    assert _code(bad_name) == "InvalidBucketName"


# --- signatures and bodies boto3 would never send -----------------------------------------


def _error_code(response: requests.Response) -> str:
    assert response.headers["Content-Type"] == "application/xml"
    return response.text.split("<Code>")[1].split("</Code>")[0]


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        (lambda h: h.update(Authorization="AWS4-HMAC-SHA256 Credential=only"), 400, "AuthorizationHeaderMalformed"),
        (
            lambda h: h.update(Authorization=h["Authorization"].replace("/s3/", "/sqs/")),
            400,
            "AuthorizationHeaderMalformed",
        ),
        (lambda h: h.update(Authorization=h["Authorization"][:-1]), 403, "SignatureDoesNotMatch"),
        (lambda h: h.update(Authorization="AWS AKIDEXAMPLE:c2lnbmF0dXJl"), 400, "InvalidRequest"),
        (lambda h: h.pop("X-Amz-Date"), 403, "AccessDenied"),
        (lambda h: h.update({"X-Amz-Date": "20000101T000000Z"}), 400, "AuthorizationHeaderMalformed"),
        (
            lambda h: h.update(
                Authorization=h["Authorization"].replace("SignedHeaders=", "SignedHeaders=x-amz-meta-a;")
            ),
            403,
            "SignatureDoesNotMatch",
        ),
        (
            lambda h: h.update(Authorization=h["Authorization"].replace("SignedHeaders=host;", "SignedHeaders=")),
            403,
            "SignatureDoesNotMatch",
        ),
        (lambda h: h.update({"X-Amz-Content-SHA256": "0" * 64}), 400, "XAmzContentSHA256Mismatch"),
    ],
    ids=[
        "incomplete",
        "other-service",
        "short-signature",
        "sigv2",
        "no-date",
        "date-not-the-scopes",
        "signed-header-absent",
        "host-unsigned",
        "wrong-content-sha",
    ],
)
def test_a_badly_signed_request_gets_s3s_answer_and_changes_nothing(
    s3: Any, emulator: EmulatorServer, change: Any, status: int, code: str
) -> None:
    response = signed("PUT", f"{emulator.url}/data/a.jsonl", "s3", DATASET, change=change)
    assert (response.status_code, _error_code(response)) == (status, code)
    assert response.headers["x-amz-request-id"]
    assert "Contents" not in s3.list_objects_v2(Bucket="data")


def test_s3_wants_the_payload_hash_header(s3: Any, emulator: EmulatorServer) -> None:
    response = signed("PUT", f"{emulator.url}/data/a.jsonl", "s3", DATASET, content_sha256=False)
    assert (response.status_code, _error_code(response)) == (400, "InvalidRequest")
    assert "x-amz-content-sha256" in response.text


def test_an_aws_chunked_body_with_a_trailing_checksum(s3: Any, emulator: EmulatorServer) -> None:
    def chunked(trailer: bytes) -> bytes:
        return b"%x\r\n%s\r\n0\r\nx-amz-checksum-crc32:%s\r\n\r\n" % (len(DATASET), DATASET, trailer)

    headers = {
        "Content-Encoding": "aws-chunked",
        "X-Amz-Content-SHA256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "X-Amz-Trailer": "x-amz-checksum-crc32",
        "X-Amz-Decoded-Content-Length": str(len(DATASET)),
    }
    good = _b64(_crc32(DATASET)).encode()
    wrong = signed("PUT", f"{emulator.url}/data/c.jsonl", "s3", chunked(_b64(_crc32(b"x")).encode()), headers)
    assert (wrong.status_code, _error_code(wrong)) == (400, "BadDigest")
    stored = signed("PUT", f"{emulator.url}/data/c.jsonl", "s3", chunked(good), headers)
    assert stored.status_code == 200 and stored.headers["x-amz-checksum-crc32"] == good.decode()
    got = s3.get_object(Bucket="data", Key="c.jsonl")
    assert got["Body"].read() == DATASET and "ContentEncoding" not in got
    cut = signed(
        "PUT", f"{emulator.url}/data/d.jsonl", "s3", chunked(good), {**headers, "X-Amz-Decoded-Content-Length": "3"}
    )
    assert (cut.status_code, _error_code(cut)) == (400, "IncompleteBody")


def test_listing_refuses_a_token_it_did_not_issue(s3: Any, emulator: EmulatorServer) -> None:
    forged = signed("GET", f"{emulator.url}/data?list-type=2&continuation-token=not-ours", "s3")
    assert (forged.status_code, _error_code(forged)) == (400, "InvalidArgument")
    many = signed("GET", f"{emulator.url}/data?list-type=2&max-keys=lots", "s3")
    assert (many.status_code, _error_code(many)) == (400, "InvalidArgument")


def test_the_credential_scope_picks_the_surface(s3: Any, emulator: EmulatorServer) -> None:
    # Signed for S3, a Gemini path is a bucket and a key; unsigned, it is Gemini's.
    as_s3 = signed("GET", f"{emulator.url}/v1beta/tunedModels", "s3")
    assert (as_s3.status_code, _error_code(as_s3)) == (404, "NoSuchBucket")
    assert requests.get(f"{emulator.url}/v1beta/tunedModels", timeout=5).status_code == 200
    routes = emulator.app.aws["s3"][1].routes
    assert {route.endpoint.handler.__self__ for route in routes} == {emulator.app.s3.objects}


# --- what every surface shares, in S3's words --------------------------------------------


def test_shared_faults_answer_as_s3_does(s3: Any, emulator: EmulatorServer) -> None:
    requests.post(f"{emulator.url}/_internal/faults", json={"rate_429": 1.0}, timeout=5)
    with pytest.raises(ClientError) as throttled:
        s3.head_bucket(Bucket="data")
    assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    with pytest.raises(ClientError) as slow_down:
        s3.list_objects_v2(Bucket="data")
    assert _code(slow_down) == "SlowDown"
    requests.post(f"{emulator.url}/_internal/faults", json={"rate_503": 1.0}, timeout=5)
    with pytest.raises(ClientError) as unavailable:
        s3.list_objects_v2(Bucket="data")
    assert _code(unavailable) == "ServiceUnavailable"


def test_a_lost_answer_leaves_the_object_written(s3: Any, emulator: EmulatorServer) -> None:
    emulator.lose_answers("PUT", r"^/data/a\.jsonl$", answer="503")
    with pytest.raises(ClientError):
        s3.put_object(Bucket="data", Key="a.jsonl", Body=DATASET, IfNoneMatch="*")
    # Retried, the conditional write finds the object there: 412, which means done.
    with pytest.raises(ClientError) as there:
        s3.put_object(Bucket="data", Key="a.jsonl", Body=DATASET, IfNoneMatch="*")
    assert _code(there) == "PreconditionFailed"


def test_a_sigv4_presigned_url_is_served_and_a_sigv2_one_refused(s3: Any, emulator: EmulatorServer) -> None:
    s3.put_object(Bucket="data", Key="a.jsonl", Body=DATASET)
    params = {"Bucket": "data", "Key": "a.jsonl"}
    v4 = client("s3", emulator.url, signature_version="s3v4").generate_presigned_url("get_object", Params=params)
    assert "X-Amz-Signature=" in v4
    assert requests.get(v4, timeout=5).content == DATASET
    broken = requests.get(v4.replace("X-Amz-Signature=", "X-Amz-Signature=0"), timeout=5)
    assert (broken.status_code, _error_code(broken)) == (403, "SignatureDoesNotMatch")
    v2 = s3.generate_presigned_url("get_object", Params=params)  # botocore's default for S3 presigning
    refused = requests.get(v2, timeout=5)
    assert (refused.status_code, _error_code(refused)) == (400, "InvalidRequest")


def test_seeded_buckets_and_two_emulators_on_one_state_file(make_emulator: Any, tmp_path: Any) -> None:
    state = str(tmp_path / "state.sqlite")
    first = make_emulator(state=state, seed=1, s3_buckets=("data",), aws_region="eu-west-1")
    second = make_emulator(state=state, seed=2)
    west = client("s3", first.url, region="eu-west-1")
    assert west.get_bucket_location(Bucket="data")["LocationConstraint"] == "eu-west-1"
    west.put_object(Bucket="data", Key="a.jsonl", Body=DATASET, IfNoneMatch="*")
    other = client("s3", second.url, region="eu-west-1")
    assert other.get_object(Bucket="data", Key="a.jsonl")["Body"].read() == DATASET
    with pytest.raises(ClientError) as there:
        other.put_object(Bucket="data", Key="a.jsonl", Body=b"other", IfNoneMatch="*")
    assert _code(there) == "PreconditionFailed"
