"""The shape of an AWS Signature Version 4 request, which every AWS surface
checks (the emulator needs no real keys, so the signature itself is never
computed): an `Authorization` header

    AWS4-HMAC-SHA256 Credential=<key>/<yyyymmdd>/<region>/<service>/aws4_request,
    SignedHeaders=host;x-amz-date;..., Signature=<64 hex digits>

and an `x-amz-date` (`yyyymmddThhmmssZ`) whose day is the credential's. Or the
same in a presigned URL's query (`X-Amz-Algorithm`, `X-Amz-Credential`,
`X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Signature`).

The credential scope's service also routes a request (`service_of`): S3's
path-style paths (`/{bucket}/{key}`) would otherwise shadow every other
surface's. What each service answers for a problem is its own (`Problem.kind`
names the problem; the surfaces render it)."""

from __future__ import annotations

import email.utils
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC

ALGORITHM = "AWS4-HMAC-SHA256"
SCOPE = re.compile(r"(?P<key>[^/\s]+)/(?P<day>\d{8})/(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9-]+)/aws4_request")
SIGNATURE = re.compile(r"[0-9a-f]{64}")
AMZ_DATE = re.compile(r"(?P<day>\d{8})T\d{6}Z")
HEADER_NAME = re.compile(r"[a-z0-9-]+")
# Loose, for routing only: the service of whatever credential a request carries.
ANY_SCOPE = re.compile(r"Credential=[^/,\s]*/[^/,\s]*/[^/,\s]*/([^/,\s]*)/")


@dataclass(frozen=True)
class Credential:
    access_key: str
    day: str
    region: str
    service: str
    signed_headers: tuple[str, ...]


class Problem(Exception):
    """What is wrong with a request's signature, by kind:

    - `missing`: no Authorization header and no presigned query;
    - `unsupported`: another scheme (`AWS key:sig`, SigV2, a bearer token);
    - `incomplete`: a part missing or malformed (Credential, SignedHeaders, Signature);
    - `signature`: a signature that is not 64 hex digits, or a signed header absent;
    - `date`: no x-amz-date / X-Amz-Date, or one not in the basic ISO 8601 form;
    - `date_scope`: the credential's day is not the date's;
    - `service`: the credential is scoped to another service;
    - `content_sha256`: (S3) no `x-amz-content-sha256` header."""

    def __init__(self, kind: str, message: str, scope_service: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.scope_service = scope_service


def service_of(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The service a signed request names in its credential scope; "" when it is
    signed but the scope cannot be read; None when it carries no AWS signature."""
    authorization = headers.get("authorization", "")
    if authorization.startswith(("AWS4-", "AWS ")):
        found = ANY_SCOPE.search(authorization)
        return found.group(1) if found else ""
    if "X-Amz-Credential" in query or "X-Amz-Algorithm" in query:
        parts = query.get("X-Amz-Credential", "").split("/")
        return parts[3] if len(parts) == 5 else ""
    if "AWSAccessKeyId" in query and "Signature" in query:  # a SigV2 presigned URL
        return ""
    return None


def check(headers: Mapping[str, str], query: Mapping[str, str], service: str) -> Credential:
    """The request's credential, when its signature has the right shape for
    `service`; else `Problem`. `headers` are keyed in lower case."""
    if "authorization" in headers:
        credential = _from_header(headers["authorization"])
        _check_date(headers.get("x-amz-date") or _basic_date(headers.get("date", "")), credential)
    elif "X-Amz-Algorithm" in query or "X-Amz-Credential" in query:
        credential = _from_query(query)
        _check_date(query.get("X-Amz-Date", ""), credential)
    elif "AWSAccessKeyId" in query:
        raise Problem("unsupported", f"Query-string authentication version 2 is not supported; use {ALGORITHM}.")
    else:
        raise Problem("missing", "Missing Authentication Token")
    if credential.service != service:
        raise Problem(
            "service",
            f"Credential should be scoped to correct service: '{service}'.",
            scope_service=credential.service,
        )
    absent = [name for name in credential.signed_headers if name not in headers]
    if "host" not in credential.signed_headers or absent:
        raise Problem(
            "signature",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
        )
    return credential


def _from_header(authorization: str) -> Credential:
    if not authorization.startswith(ALGORITHM + " "):
        raise Problem("unsupported", f"Unsupported authorization type; use {ALGORITHM}.")
    parts = {}
    for item in authorization[len(ALGORITHM) :].split(","):
        name, _, value = item.strip().partition("=")
        parts[name] = value
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not parts.get(name)]
    if missing:
        required = " ".join(f"Authorization header requires '{name}' parameter." for name in missing)
        raise Problem("incomplete", f"{required} Authorization={authorization[:300]}")
    return _credential(parts["Credential"], parts["SignedHeaders"], parts["Signature"])


def _from_query(query: Mapping[str, str]) -> Credential:
    if query.get("X-Amz-Algorithm") != ALGORITHM:
        raise Problem("unsupported", f"X-Amz-Algorithm only supports '{ALGORITHM}'.")
    names = ("X-Amz-Credential", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Expires")
    missing = [name for name in names if not query.get(name)]
    if missing:
        raise Problem("incomplete", f"Query-string authentication requires {', '.join(missing)}.")
    if not query["X-Amz-Expires"].isdigit():
        raise Problem("incomplete", "X-Amz-Expires should be a number.")
    return _credential(query["X-Amz-Credential"], query["X-Amz-SignedHeaders"], query["X-Amz-Signature"])


def _credential(scope: str, signed_headers: str, signature: str) -> Credential:
    found = SCOPE.fullmatch(scope)
    if found is None:
        raise Problem(
            "incomplete",
            f"Credential should be of the form <access key>/<yyyymmdd>/<region>/<service>/aws4_request; "
            f"got '{scope[:200]}'.",
            scope_service=_loose_service(scope),
        )
    names = tuple(signed_headers.split(";"))
    if not all(HEADER_NAME.fullmatch(name) for name in names):
        raise Problem("incomplete", f"SignedHeaders should be lower-case header names joined by ';': {signed_headers}")
    if not SIGNATURE.fullmatch(signature):
        raise Problem(
            "signature",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
        )
    return Credential(found["key"], found["day"], found["region"], found["service"], names)


def _loose_service(scope: str) -> str:
    parts = scope.split("/")
    return parts[3] if len(parts) == 5 else ""


def _basic_date(http_date: str) -> str:
    """An RFC 1123 `Date` header (which AWS accepts instead of x-amz-date) as
    `yyyymmddThhmmssZ`; "" when there is none or it does not parse."""
    try:
        moment = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return ""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _check_date(amz_date: str, credential: Credential) -> None:
    found = AMZ_DATE.fullmatch(amz_date)
    if found is None:
        raise Problem("date", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    if found["day"] != credential.day:
        raise Problem(
            "date_scope",
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{credential.day}' != '{found['day']}', from '{amz_date}'.",
        )
