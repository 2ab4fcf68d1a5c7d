"""Messages that fit `backend: vertex`: credentials are Application Default
Credentials, never an API key, and the Gemini API emulator's variable alone
is named as the wrong one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.backends.vertex.helpers import manifest, write_repo
from tests.integration.helpers_apply import run_cli


def test_missing_credentials_on_vertex_speak_of_adc_and_the_vertex_emulator(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path / "repo", [manifest("numbers")])
    # Only the Gemini API emulator is named (run_cli sets it); ADC points nowhere.
    result = run_cli(
        repo,
        emulator,
        "plan",
        GOOGLE_APPLICATION_CREDENTIALS=str(tmp_path / "missing.json"),
        CLOUDSDK_CONFIG=str(tmp_path / "gcloud"),
    )
    assert result.code == 1, result.text
    assert "gcloud auth application-default login --scopes=https://www.googleapis.com/auth/cloud-platform" in result.err
    assert "Workload Identity Federation" in result.err
    assert "AIPLATFORM_EMULATOR_HOST" in result.err
    assert "GEMINI_API_KEY" not in result.text and "GOOGLE_API_KEY" not in result.text
