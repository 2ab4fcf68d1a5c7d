"""The settings of `backend: gemini`, written at the top level of reconciler.yaml.

They lived there before backends had blocks of their own, and repositories
already hold them, so the Gemini API keeps them inline (`settings_inline`).
"""

from __future__ import annotations

from pydantic import Field, field_validator

from reconciler.model.manifest import Strict
from reconciler.model.settings import Settings, endpoint_problem

DEFAULT_ENDPOINT = "https://generativelanguage.googleapis.com"
DEFAULT_API_VERSION = "v1beta"


class GeminiSettings(Strict):
    endpoint: str = Field(DEFAULT_ENDPOINT, description="Base URL of the API: https, or http to loopback.")
    api_version: str = Field(DEFAULT_API_VERSION, pattern=r"^v1(alpha|beta|beta3)?$")

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        problem = endpoint_problem(value, example=DEFAULT_ENDPOINT, key_variable="GEMINI_API_KEY")
        if problem is not None:
            raise ValueError(problem)
        return value

    @classmethod
    def of(cls, settings: Settings) -> GeminiSettings:
        """The Gemini fields of `settings` (their defaults where it is not composed with them)."""
        return cls.model_validate(
            {name: getattr(settings, name) for name in cls.model_fields if hasattr(settings, name)}
        )
