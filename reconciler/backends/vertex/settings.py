"""reconciler.yaml's `vertex:` block, the settings of `backend: vertex`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from reconciler.model.manifest import Flag, Strict
from reconciler.model.settings import Settings
from reconciler.model.shards import Shard, Shards, shards_from

# Where Vertex AI runs supervised tuning jobs (Google Cloud's "Supervised
# tuning region settings" page for Gemini): a job runs, and its Model lives,
# in the region of the request.
TUNING_REGIONS = (
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
)
# The service's labels allow a-z, 0-9, `_` and `-`: the project id's own alphabet.
VERTEX_PROJECT = r"^([a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]{1,20})$"
GCS_PREFIX = r"^gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](/[^\x00-\x1f\x7f]+)?/?$"


def _project(value: str) -> str:
    if re.fullmatch(VERTEX_PROJECT, value) is None:
        raise ValueError(
            "must be a Google Cloud project id: 6 to 30 characters, lowercase letters, digits "
            "and hyphens, starting with a letter and not ending with a hyphen (e.g. my-project-42); "
            "or a project number (digits only)"
        )
    return value


def _location(value: str) -> str:
    if value not in TUNING_REGIONS:
        raise ValueError(
            "must be a region where Vertex AI runs tuning jobs, a location such as us-central1: "
            + ", ".join(TUNING_REGIONS)
        )
    return value


# Checked by the validators, in words; the JSON schema keeps the rules for editors.
Project = Annotated[str, AfterValidator(_project), Field(json_schema_extra={"pattern": VERTEX_PROJECT})]
Location = Annotated[str, AfterValidator(_location), Field(json_schema_extra={"enum": list(TUNING_REGIONS)})]


class BaseModelEntry(Strict):
    """One entry of `vertex.baseModels`: a base model the catalogue lacks, or new facts about one it has."""

    adapter_sizes: tuple[Literal[1, 2, 4, 8, 16, 32], ...] | None = Field(
        None,
        min_length=1,
        description="The adapter sizes the model allows (the catalogue's, if left out).",
    )
    retires: date | None = Field(None, description="The day the model retires (YYYY-MM-DD), if announced.")


DEFAULT_RETIREMENT_NOTICE_DAYS = 30
DEFAULT_MAX_CREATES_PER_MINUTE = 60
MAX_CREATES_PER_MINUTE = 100_000


class VertexSettings(Strict):
    """reconciler.yaml's `vertex:` block: where Vertex AI tunes (the host follows the location)."""

    project: Project = Field(description="The Google Cloud project id (or number).")
    location: Location = Field("us-central1", description="A region where Vertex AI runs tuning jobs.")
    datasets: str = Field(pattern=GCS_PREFIX, description="gs://bucket/prefix the datasets are uploaded under.")
    api_version: Literal["v1", "v1beta1"] = Field("v1", description="The Vertex AI API version: v1 or v1beta1.")
    # A job's intermediate checkpoints each get an endpoint of their own; one
    # endpoint a model is simpler to label, serve and delete.
    export_last_checkpoint_only: Flag = Field(True, description="Keep only the last checkpoint: one endpoint a model.")
    base_models: dict[str, BaseModelEntry] = Field(
        default_factory=dict,
        description="Base models to add to the shipped catalogue, or entries of it to override, by id.",
    )
    retirement_notice_days: int = Field(
        DEFAULT_RETIREMENT_NOTICE_DAYS,
        ge=0,
        le=3650,
        strict=True,
        description="plan notes a live model whose base model retires within this many days.",
    )

    # The documented default quota: 60 job submissions a minute per project and
    # region (Vertex AI's quotas page, "resource CRUD 600/min, job/LRO submissions
    # 60/min"; ../shared/reference/vertex-ai-tuning.md §6 and
    # gates-billing-bedrock.md §2). A project granted more may raise it.
    max_creates_per_minute: int = Field(
        DEFAULT_MAX_CREATES_PER_MINUTE,
        ge=0,
        le=MAX_CREATES_PER_MINUTE,
        strict=True,
        description="At most this many tuning jobs are submitted in any minute, shared by the workers "
        "(Vertex AI's quota: 60 a minute per project and region); 0 turns the pacing off. "
        "A create refused for quota (429) waits and tries again either way.",
    )

    @property
    def bucket(self) -> str:
        return self.datasets.removeprefix("gs://").split("/", 1)[0]

    @property
    def prefix(self) -> str:
        """The object-name prefix under the bucket ("" or "a/b/")."""
        rest = self.datasets.removeprefix("gs://").partition("/")[2].strip("/")
        return f"{rest}/" if rest else ""


class VertexTarget(Strict):
    """One entry of `targets:` (backend: vertex): another project and location, a
    quota boundary and a shard of its own (docs/shards.md)."""

    project: Project = Field(description="The Google Cloud project id (or number).")
    location: Location = Field(description="A region where Vertex AI runs tuning jobs.")
    datasets: str | None = Field(
        None,
        pattern=GCS_PREFIX,
        description="gs://bucket/prefix this target's datasets are uploaded under (default: the vertex block's).",
    )


def vertex_shards(settings: Settings, block: VertexSettings) -> Shards:
    """The vertex block's project and location, then each of `targets:`: Vertex AI's
    quotas (tuning-job submissions, resource operations) are per project and region."""

    def shard(entry: Mapping[str, Any]) -> Shard:
        here = block.model_copy(update=entry)
        return Shard(
            key=f"{here.project}.{here.location}",
            label=f"Vertex AI project {here.project}, {here.location}",
            target={"project": here.project, "location": here.location},
            settings=settings.model_copy(update={"vertex": here}),
        )

    entries = [target.model_dump(exclude_none=True) for target in settings.targets]
    return shards_from(("project", "location"), entries, shard)
