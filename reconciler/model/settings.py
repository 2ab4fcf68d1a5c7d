"""Repository-wide settings from `reconciler.yaml` (everything that is not per model)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from reconciler.model.manifest import Strict

DEFAULT_ENDPOINT = "https://generativelanguage.googleapis.com"


class Settings(Strict):
    backend: Literal["gemini"] = Field("gemini", description="The tuning service the manifests drive.")
    endpoint: str = Field(DEFAULT_ENDPOINT, description="Base URL of the API.")
    api_version: str = Field("v1beta", pattern=r"^v1(alpha|beta|beta3)?$")
    quota_project: str | None = Field(None, description="Sent as x-goog-user-project with ADC.")
    manifests: str = Field("manifests", description="Folder of manifests, relative to this file.")
    prune: bool = Field(False, description="Delete managed models that no manifest describes.")
    max_deletions: int = Field(5, ge=0, description="An apply stops before deleting more than this.")
    concurrency: int = Field(4, ge=1, le=64)
    request_timeout_seconds: float = Field(30.0, gt=0)
    operation_timeout_seconds: float = Field(4 * 3600.0, gt=0)
    poll_interval_seconds: float = Field(5.0, gt=0)
