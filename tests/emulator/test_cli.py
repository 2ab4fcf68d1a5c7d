"""`reconciler emulator` as a process: one ready line, a clean stop on signals."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

READY = re.compile(
    r"^Emulator listening on (http://127\.0\.0\.1:(\d+)) \(state: (.+)\); "
    r"export GENERATIVELANGUAGE_EMULATOR_HOST=127\.0\.0\.1:(\d+) "
    r"AIPLATFORM_EMULATOR_HOST=127\.0\.0\.1:(\d+) STORAGE_EMULATOR_HOST=(http://127\.0\.0\.1:\d+)$"
)


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", "emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ready_line_then_clean_stop(tmp_path: Path, signum: int) -> None:
    state = tmp_path / "sub" / "state.sqlite"
    process = _start("--state", str(state), "--step-seconds", "0")
    try:
        assert process.stdout is not None
        line = process.stdout.readline().rstrip("\n")
        match = READY.match(line)
        assert match, line
        url = match.group(1)
        assert match.group(3) == str(state)
        port = match.group(2)
        assert match.group(4) == match.group(5) == port  # one server for every surface
        assert match.group(6) == url
        assert requests.get(f"{url}/_internal/health", timeout=5).json() == {"status": "ok"}
        process.send_signal(signum)
        _, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Emulator stopped" in err
    assert state.exists()


def test_bad_option_is_a_clear_error() -> None:
    process = _start("--fault-paths", "(", "--state", ":memory:")
    _, err = process.communicate(timeout=30)
    assert process.returncode == 1
    assert err.startswith("Error: --fault-paths")
    assert "Traceback" not in err


def test_bucket_options_seed_buckets_and_a_bad_name_is_a_clear_error() -> None:
    process = _start("--state", ":memory:", "--bucket", "tuning-data", "--bucket", "other-data")
    try:
        assert process.stdout is not None
        match = READY.match(process.stdout.readline().rstrip("\n"))
        assert match
        url = match.group(1)
        for bucket in ("tuning-data", "other-data"):
            assert requests.get(f"{url}/storage/v1/b/{bucket}", timeout=5).json()["name"] == bucket
        assert requests.get(f"{url}/storage/v1/b/no-such-bucket", timeout=5).status_code == 404
    finally:
        process.terminate()
        process.communicate(timeout=10)
    bad = _start("--state", ":memory:", "--bucket", "Tuning_Data")
    _, err = bad.communicate(timeout=30)
    assert bad.returncode == 1
    assert err.startswith("Error: --bucket: not a bucket name: 'Tuning_Data'"), err
    assert "Traceback" not in err


def test_auth_options() -> None:
    process = _start("--state", ":memory:", "--require-auth", "--token-without-tuning-scope", "narrow")
    try:
        assert process.stdout is not None
        match = READY.match(process.stdout.readline().rstrip("\n"))
        assert match
        url = match.group(1)
        anonymous = requests.get(f"{url}/v1beta/tunedModels", timeout=5)
        assert anonymous.status_code == 403
        assert "unregistered callers" in anonymous.json()["error"]["message"]
        narrow = requests.get(f"{url}/v1beta/tunedModels", timeout=5, headers={"Authorization": "Bearer narrow"})
        assert narrow.json()["error"]["message"] == "Request had insufficient authentication scopes."
        wide = requests.get(f"{url}/v1beta/tunedModels", timeout=5, headers={"Authorization": "Bearer wide"})
        assert wide.status_code == 200
    finally:
        process.terminate()
        process.communicate(timeout=10)
