"""How Vertex AI is given credentials, and what to say when it has none."""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.client.auth import EMULATOR_HOST_ENV
from reconciler.client.errors import CredentialsError

AIPLATFORM_EMULATOR_ENV = "AIPLATFORM_EMULATOR_HOST"
STORAGE_EMULATOR_ENV = "STORAGE_EMULATOR_HOST"
CLOUD_PLATFORM = ("https://www.googleapis.com/auth/cloud-platform",)
VERTEX_LOGIN_COMMAND = "gcloud auth application-default login --scopes=https://www.googleapis.com/auth/cloud-platform"


class VertexCredentialsError(CredentialsError):
    """No Application Default Credentials for Vertex AI: API keys play no part there."""

    @property
    def remedy(self) -> str | None:
        return (
            f"Vertex AI takes Application Default Credentials: run `{VERTEX_LOGIN_COMMAND}` "
            "(the cloud-platform scope only); in CI, use Workload Identity Federation "
            "(google-github-actions/auth); to use the emulator instead, set AIPLATFORM_EMULATOR_HOST"
        )


def vertex_credentials_error(error: CredentialsError, env: Mapping[str, str]) -> VertexCredentialsError:
    """`error` told of Application Default Credentials (never of API keys), and of
    the variable Vertex AI's emulator is named by when only the Gemini API
    emulator's is set."""
    if isinstance(error, VertexCredentialsError):
        return error
    message = error.message  # its own words, without the API-key remedy
    if env.get(EMULATOR_HOST_ENV, "").strip() and not env.get(AIPLATFORM_EMULATOR_ENV):
        message += (
            f"; {EMULATOR_HOST_ENV} names the Gemini API's emulator, and "
            f"`backend: vertex` reads {AIPLATFORM_EMULATOR_ENV} (set it to the same host:port)"
        )
    return VertexCredentialsError(message)
