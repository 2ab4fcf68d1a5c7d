"""Repository-wide settings from `reconciler.yaml` (everything that is not per model)."""

from __future__ import annotations

import ipaddress
import re
from datetime import date
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from reconciler.model.manifest import Flag, Number, Strict

DEFAULT_ENDPOINT = "https://generativelanguage.googleapis.com"
LOOPBACK_NAMES = ("localhost",)

# Upper bounds keep every duration within what sockets and thread waits
# accept (a larger float overflows a C timeval) and within reason.
MAX_REQUEST_TIMEOUT_SECONDS = 3600.0
MAX_OPERATION_TIMEOUT_SECONDS = 7 * 24 * 3600.0
MAX_POLL_INTERVAL_SECONDS = 3600.0


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


class BaseModelEntry(Strict):
    """One entry of `vertex.baseModels`: a base model the catalogue lacks, or new facts about one it has."""

    adapter_sizes: tuple[Literal[1, 2, 4, 8, 16, 32], ...] | None = Field(
        None,
        min_length=1,
        description="The adapter sizes the model allows (the catalogue's, if left out).",
    )
    retires: date | None = Field(None, description="The day the model retires (YYYY-MM-DD), if announced.")


DEFAULT_RETIREMENT_NOTICE_DAYS = 30


class VertexSettings(Strict):
    """Where Vertex AI tunes (`backend: vertex`): the host follows the location."""

    # Checked by the validators below, in words; the JSON schema keeps the rules for editors.
    project: str = Field(
        description="The Google Cloud project id (or number).", json_schema_extra={"pattern": VERTEX_PROJECT}
    )
    location: str = Field(
        "us-central1",
        description="A region where Vertex AI runs tuning jobs.",
        json_schema_extra={"enum": list(TUNING_REGIONS)},
    )
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

    @field_validator("project")
    @classmethod
    def _project(cls, value: str) -> str:
        if re.fullmatch(VERTEX_PROJECT, value) is None:
            raise ValueError(
                "must be a Google Cloud project id: 6 to 30 characters, lowercase letters, digits "
                "and hyphens, starting with a letter and not ending with a hyphen (e.g. my-project-42); "
                "or a project number (digits only)"
            )
        return value

    @field_validator("location")
    @classmethod
    def _location(cls, value: str) -> str:
        if value not in TUNING_REGIONS:
            raise ValueError(
                "must be a region where Vertex AI runs tuning jobs, a location such as us-central1: "
                + ", ".join(TUNING_REGIONS)
            )
        return value

    @property
    def bucket(self) -> str:
        return self.datasets.removeprefix("gs://").split("/", 1)[0]

    @property
    def prefix(self) -> str:
        """The object-name prefix under the bucket ("" or "a/b/")."""
        rest = self.datasets.removeprefix("gs://").partition("/")[2].strip("/")
        return f"{rest}/" if rest else ""


# Every evaluation example is one inference call on the candidate and one on
# the model serving now, at each replace: the cap keeps that cost in sight.
DEFAULT_EVALUATION_MAX_EXAMPLES = 1_000
MAX_EVALUATION_MAX_EXAMPLES = 100_000


class EvaluationSettings(Strict):
    """Limits of `spec.evaluation` (docs/promotion-gates.md)."""

    max_examples: int = Field(
        DEFAULT_EVALUATION_MAX_EXAMPLES,
        ge=1,
        le=MAX_EVALUATION_MAX_EXAMPLES,
        strict=True,
        description="The most examples an evaluation set may hold (validate refuses more).",
    )
    concurrency: int = Field(
        4,
        ge=1,
        le=16,
        strict=True,
        description="Inference calls in flight at once while one model is scored.",
    )


class BudgetSettings(Strict):
    """Training tokens a plan may spend (docs/plan-json.md, "Budget"); unset: no limit."""

    max_training_tokens: int | None = Field(
        None,
        ge=1,
        strict=True,
        description="The most training tokens one plan may spend: the sum over every create and replace.",
    )
    max_training_tokens_per_model: int | None = Field(
        None,
        ge=1,
        strict=True,
        description="The most training tokens one tuning run of a plan may spend.",
    )


class Settings(Strict):
    backend: Literal["gemini", "vertex"] = Field("gemini", description="The tuning service the manifests drive.")
    vertex: VertexSettings | None = Field(
        None, description="Project, location and datasets bucket of `backend: vertex`."
    )
    endpoint: str = Field(DEFAULT_ENDPOINT, description="Base URL of the API: https, or http to loopback.")
    api_version: str = Field("v1beta", pattern=r"^v1(alpha|beta|beta3)?$")
    quota_project: str | None = Field(None, description="Sent as x-goog-user-project with ADC.")
    manifests: str = Field("manifests", description="Folder of manifests, inside the repository.")
    prune: Flag = Field(False, description="Delete managed models that no manifest describes.")
    max_deletions: int = Field(5, ge=0, strict=True, description="An apply stops before deleting more than this.")
    concurrency: int = Field(4, ge=1, le=64, strict=True)
    request_timeout_seconds: Number = Field(30.0, gt=0, le=MAX_REQUEST_TIMEOUT_SECONDS)
    operation_timeout_seconds: Number = Field(4 * 3600.0, gt=0, le=MAX_OPERATION_TIMEOUT_SECONDS)
    poll_interval_seconds: Number = Field(5.0, gt=0, le=MAX_POLL_INTERVAL_SECONDS)
    evaluation: EvaluationSettings = Field(
        default_factory=EvaluationSettings,
        description="Limits of the models' evaluation sets (spec.evaluation).",
    )
    budget: BudgetSettings = Field(
        default_factory=BudgetSettings,
        description="Training tokens a plan may spend; a plan over budget is an error and applies nothing.",
    )
    dataset_cache: Flag = Field(
        False,
        description="Keep the checks of clean datasets in .reconciler/, by file content hash: "
        "an unchanged dataset is hashed but not parsed again.",
    )
    apply_ref: str | None = Field(
        None,
        min_length=1,
        description="In GitHub Actions, the only ref apply and reconcile run on (a branch name, a full "
        "refs/... ref, or * for any); default: the repository's default branch.",
    )

    @model_validator(mode="after")
    def _vertex_block(self) -> Settings:
        if self.backend == "vertex" and self.vertex is None:
            raise ValueError("backend: vertex needs a `vertex:` block with project, location and datasets")
        return self

    @field_validator("quota_project", "manifests", "apply_ref")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        # A NUL byte breaks every file system call; a newline would split a header.
        if value is not None and not value.isprintable():
            raise ValueError("must not contain control characters (a NUL byte, a newline, ...)")
        return value

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        problem = endpoint_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value


def endpoint_problem(url: str) -> str | None:
    """Why `url` is not a usable API endpoint, or None.

    The message never repeats the URL: a mistyped one may still hold a password.
    """
    if not url.isprintable() or any(c.isspace() for c in url):
        return "must be a URL without spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a port that is not a number in range
    except ValueError:
        return "must be a URL such as https://generativelanguage.googleapis.com"
    del port
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "must not hold credentials (user:password@); give the API key in GEMINI_API_KEY"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be an https:// URL such as https://generativelanguage.googleapis.com"
    if parts.path not in ("", "/") or parts.query or parts.fragment or url.endswith(("?", "#")):
        return "must be a scheme and host only (no path, query or fragment); the API version is apiVersion"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return "must use https: plain http would send the credentials in clear (http is allowed to loopback only)"
    return None


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
