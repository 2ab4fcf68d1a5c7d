"""Resource names: the parent `projects/{number}/locations/{location}`, the
12-digit project number every answer uses, and 19-digit resource ids."""

from __future__ import annotations

import re
from dataclasses import dataclass

from reconciler.emulator.errors import ApiError, invalid_argument
from reconciler.emulator.ids import IdMaker, project_number

LOCATION = re.compile(r"[a-z][a-z0-9-]{0,62}")
PROJECT = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]|\d{1,20}")
RESOURCE_ID = re.compile(r"\d{1,20}")
# An Endpoint id its creator chose (CreateEndpoint's `endpointId`): a letter, then up to
# 62 of [a-z0-9-] ending in a letter or digit; or up to 9 digits, no leading zero.
CHOSEN_ENDPOINT_ID = re.compile(r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?|[1-9]\d{0,8}")
# A DeployedModel id its deployer chose: "1-10 characters, and valid characters are /[0-9]/".
CHOSEN_DEPLOYED_ID = re.compile(r"\d{1,10}")
# The regions where Vertex AI runs supervised tuning (Google Cloud's "Supervised
# tuning region settings" page for Gemini); reconciler.yaml validation keeps the same list.
TUNING_REGIONS = frozenset(
    {
        "asia-east1",
        "asia-east2",
        "asia-northeast1",
        "asia-northeast3",
        "asia-south1",
        "asia-southeast1",
        "australia-southeast1",
        "europe-central2",
        "europe-north1",
        "europe-southwest1",
        "europe-west1",
        "europe-west2",
        "europe-west3",
        "europe-west4",
        "europe-west6",
        "europe-west8",
        "europe-west9",
        "me-central1",
        "me-central2",
        "me-west1",
        "northamerica-northeast1",
        "southamerica-east1",
        "us-central1",
        "us-east1",
        "us-east4",
        "us-east5",
        "us-south1",
        "us-west1",
        "us-west4",
    }
)


@dataclass(frozen=True)
class Parent:
    number: str
    location: str

    @property
    def name(self) -> str:
        return f"projects/{self.number}/locations/{self.location}"

    def child(self, collection: str, resource_id: str) -> str:
        return f"{self.name}/{collection}/{resource_id}"

    def key(self, resource_id: str) -> str:
        """The store key of a resource of this parent."""
        return f"{self.number}/{self.location}/{resource_id}"


def parent_of(project: str, location: str) -> Parent:
    if not PROJECT.fullmatch(project):
        raise invalid_argument(f"Invalid project: {project[:100]}", "parent")
    if not LOCATION.fullmatch(location):
        raise invalid_argument(f"Invalid location: {location[:100]}", "parent")
    if location not in TUNING_REGIONS:
        # The service's shape for a location it does not serve, as recorded in
        # python-aiplatform#1684 (a list of field errors on `parent`) [infer: the words].
        raise invalid_argument(
            f"List of found errors:\t1.Field: parent; Message: The provided location ID {location!r} is not valid.\t",
            "parent",
        )
    return Parent(project_number(project), location)


NAME = re.compile(r"projects/([^/]+)/locations/([^/]+)/(\w+)/([^/@:]+)(?:@([^/:]+))?")


@dataclass(frozen=True)
class ResourceName:
    parent: Parent
    collection: str
    resource_id: str
    version: str  # after "@", or ""


def parse_name(name: str, collection: str, field: str) -> ResourceName:
    """`projects/p/locations/l/{collection}/{id}[@version]`, or a 400 naming `field`."""
    match = NAME.fullmatch(name)
    if not match or match.group(3) != collection:
        raise invalid_argument(
            f'Invalid resource name for {field}: "{name[:200]}". It must '
            f"look like projects/*/locations/*/{collection}/*.",
            field,
        )
    project, location, _, resource_id, version = match.groups()
    return ResourceName(parent_of(project, location), collection, resource_id, version or "")


def new_id(ids: IdMaker) -> str:
    """A server-made id: 19 decimal digits, as the service's."""
    return ids.chars(19, "0123456789")


def check_id(resource_id: str, kind: str) -> None:
    if not RESOURCE_ID.fullmatch(resource_id):
        raise ApiError("INVALID_ARGUMENT", f"Invalid {kind} id: {resource_id[:100]}")


def check_endpoint_id(endpoint_id: str) -> None:
    """A server-made id, or one chosen at CreateEndpoint."""
    if not (RESOURCE_ID.fullmatch(endpoint_id) or CHOSEN_ENDPOINT_ID.fullmatch(endpoint_id)):
        raise ApiError("INVALID_ARGUMENT", f"Invalid endpoint id: {endpoint_id[:100]}")
