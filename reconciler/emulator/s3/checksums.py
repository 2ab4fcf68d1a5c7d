"""S3's checksums: `Content-MD5` and the flexible checksums
(`x-amz-checksum-<algorithm>`, base64 of the big-endian digest).

botocore sends CRC32 by default (`request_checksum_calculation=when_supported`,
in a header over plain HTTP, in an aws-chunked trailer over TLS); CRC32C and
CRC64NVME need its CRT extra; SHA1, SHA256, SHA512 and MD5 are hashlib's. An
object uploaded without one gets CRC64NVME, as S3 gives every new object since
2025. The XXHASH algorithms are not computed here (501 NotImplemented).

A multipart upload's checksum is COMPOSITE (the checksum of the parts'
checksums, `-N` appended) or FULL_OBJECT (the checksum of the whole object,
for the CRC algorithms only; CRC64NVME is always FULL_OBJECT)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from reconciler.emulator.s3 import errors

try:  # the C implementation google-cloud-storage brings, when installed
    import google_crc32c

    def _crc32c(data: bytes) -> bytes:
        return bytes(google_crc32c.Checksum(data).digest())  # type: ignore[no-untyped-call]

except ImportError:  # pragma: no cover - the pure fallback below is tested directly

    def _crc32c(data: bytes) -> bytes:
        return crc32c_pure(data).to_bytes(4, "big")


def _reflected_table(polynomial: int) -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ polynomial if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC32C_TABLE = _reflected_table(0x82F63B78)  # Castagnoli
_CRC64NVME_TABLE = _reflected_table(0x9A6C9329AC4BC9B5)  # the NVM Express CRC64, reflected
_MASK32, _MASK64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF


def crc32c_pure(data: bytes) -> int:
    crc, table = _MASK32, _CRC32C_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ _MASK32


def crc64nvme(data: bytes) -> int:
    crc, table = _MASK64, _CRC64NVME_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ _MASK64


DIGESTS: dict[str, Callable[[bytes], bytes]] = {
    "CRC32": lambda data: zlib.crc32(data).to_bytes(4, "big"),
    "CRC32C": _crc32c,
    "CRC64NVME": lambda data: crc64nvme(data).to_bytes(8, "big"),
    "SHA1": lambda data: hashlib.sha1(data).digest(),
    "SHA256": lambda data: hashlib.sha256(data).digest(),
    "SHA512": lambda data: hashlib.sha512(data).digest(),
    "MD5": lambda data: hashlib.md5(data).digest(),
}
NOT_COMPUTED = ("XXHASH64", "XXHASH3", "XXHASH128")
FULL_OBJECT_ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME")
DEFAULT_ALGORITHM = "CRC64NVME"
COMPOSITE, FULL_OBJECT = "COMPOSITE", "FULL_OBJECT"
CHECKSUM_HEADER = "x-amz-checksum-"
# Headers named x-amz-checksum-… that are not a checksum value.
NOT_A_VALUE = frozenset({"x-amz-checksum-algorithm", "x-amz-checksum-type", "x-amz-checksum-mode"})


@dataclass(frozen=True)
class Checksum:
    algorithm: str  # CRC32, CRC32C, CRC64NVME, SHA1, SHA256, SHA512, MD5
    value: str  # base64 of the digest; `…-N` for a COMPOSITE multipart object
    type: str = FULL_OBJECT

    def header(self) -> dict[str, str]:
        return {f"{CHECKSUM_HEADER}{self.algorithm.lower()}": self.value, "x-amz-checksum-type": self.type}

    def to_json(self) -> dict[str, str]:
        return {"algorithm": self.algorithm, "value": self.value, "type": self.type}

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> Checksum:
        return cls(data["algorithm"], data["value"], data["type"])


def digest(algorithm: str, data: bytes) -> str:
    return base64.b64encode(DIGESTS[algorithm](data)).decode()


def compute(algorithm: str, data: bytes) -> Checksum:
    return Checksum(algorithm, digest(algorithm, data))


def algorithm_name(text: str, header: str) -> str:
    """An algorithm named in a header (any case), one this emulator computes."""
    name = text.upper()
    if name in NOT_COMPUTED:
        raise errors.not_implemented(header)
    if name not in DIGESTS:
        raise errors.invalid_argument(f"Checksum algorithm provided is unsupported: {text[:50]}", header, text)
    return name


def sent(headers: Mapping[str, str], data: bytes) -> Checksum | None:
    """The flexible checksum a request sends (a header, or an aws-chunked trailer
    merged into `headers`), verified against `data`; None when it sends none.
    `x-amz-sdk-checksum-algorithm` without its value is refused, as S3 does."""
    given = {
        name[len(CHECKSUM_HEADER) :].upper(): value
        for name, value in headers.items()
        if name.startswith(CHECKSUM_HEADER) and name not in NOT_A_VALUE
    }
    if len(given) > 1:
        raise errors.invalid_request(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
        )
    announced = headers.get("x-amz-sdk-checksum-algorithm")
    if not given:
        if announced:
            raise errors.invalid_request(
                "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* "
                "or x-amz-trailer headers were found."
            )
        return None
    ((name, value),) = given.items()
    algorithm = algorithm_name(name, f"{CHECKSUM_HEADER}{name.lower()}")
    if announced and announced.upper() != algorithm:
        raise errors.invalid_request(
            f"Value for x-amz-sdk-checksum-algorithm header is invalid: {announced[:50]} does not name "
            f"the checksum sent ({algorithm})."
        )
    expected = _decoded(value, algorithm)
    if DIGESTS[algorithm](data) != expected:
        raise errors.bad_digest(f"The {algorithm} you specified did not match the calculated checksum.")
    return Checksum(algorithm, value)


def _decoded(value: str, algorithm: str) -> bytes:
    length = len(DIGESTS[algorithm](b""))
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != length:
        raise errors.invalid_request(f"Value for x-amz-checksum-{algorithm.lower()} header is invalid.")
    return raw


def check_content_md5(headers: Mapping[str, str], data: bytes) -> None:
    """`Content-MD5`, when sent: base64 of the 16-byte MD5 of the body."""
    given = headers.get("content-md5")
    if given is None:
        return
    try:
        raw = base64.b64decode(given, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise errors.invalid_digest()
    if hashlib.md5(data).digest() != raw:
        raise errors.bad_digest("The Content-MD5 you specified did not match what we received.")


def composite(algorithm: str, part_values: list[str]) -> Checksum:
    """The COMPOSITE checksum of a multipart object: of its parts' digests, `-N`."""
    joined = b"".join(base64.b64decode(value) for value in part_values)
    return Checksum(algorithm, f"{digest(algorithm, joined)}-{len(part_values)}", COMPOSITE)
