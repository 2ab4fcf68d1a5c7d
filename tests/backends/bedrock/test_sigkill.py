"""A Bedrock apply killed (SIGKILL) during the dataset's upload, the job's create
or the wait, then run again: one job and one custom model, and the next plan
clean. The kill lands where the emulator holds the request, so it is
deterministic; the emulator then handles the request of a client that is gone."""

from __future__ import annotations

import signal
from pathlib import Path

import boto3

from reconciler.emulator import EmulatorServer
from tests.backends.bedrock import flows
from tests.integration.helpers_apply import finish, run_cli, start_cli

BUCKET = "my-bucket"


def _jobs(server: EmulatorServer) -> list[str]:
    bedrock = boto3.client(
        "bedrock", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    return [j["jobName"] for j in bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"]]


def _apply_converges_with_one_job(repo: Path, server: EmulatorServer) -> None:
    result = run_cli(repo, server, "apply", "--yes", **flows.cli_env(server.url))
    assert result.code == 0, result.text
    assert len(_jobs(server)) == 1
    plan = run_cli(repo, server, "plan", "--detailed-exitcode", **flows.cli_env(server.url))
    assert plan.code == 0, plan.text


def test_killed_during_the_upload_then_applied_again(tmp_path: Path, server: EmulatorServer) -> None:
    repo = flows.write_repo(tmp_path, [flows.manifest("numbers")])
    # botocore sends an upload's body after the server's 100 Continue: held here,
    # the object is never written, and the next apply uploads it.
    held = server.hold("PUT", r"/datasets/[0-9a-f]{64}\.jsonl$")
    process = start_cli(repo, server, "apply", "--yes", **flows.cli_env(server.url))
    held.wait_arrived(timeout=120)
    process.send_signal(signal.SIGKILL)
    finish(process)
    held.release()
    _apply_converges_with_one_job(repo, server)


def test_killed_during_the_create_then_applied_again(tmp_path: Path, server: EmulatorServer) -> None:
    repo = flows.write_repo(tmp_path, [flows.manifest("numbers")])
    # The server makes the job, and its answer is held: the client dies without
    # it. (Held before the server handles it instead, the killed client's request
    # may or may not still be read once released: a flaky wait, not a test.)
    handled = server.hold("POST", r"/model-customization-jobs$", after=True)
    process = start_cli(repo, server, "apply", "--yes", **flows.cli_env(server.url))
    handled.wait_arrived(timeout=120)
    assert len(_jobs(server)) == 1
    process.send_signal(signal.SIGKILL)
    finish(process)
    handled.release()
    _apply_converges_with_one_job(repo, server)


def test_killed_during_the_wait_then_applied_again(tmp_path: Path, server: EmulatorServer) -> None:
    repo = flows.write_repo(tmp_path, [flows.manifest("numbers")])
    polled = server.hold("GET", r"/model-customization-jobs/[^/]+$")  # the wait's first look at the job
    process = start_cli(repo, server, "apply", "--yes", **flows.cli_env(server.url))
    polled.wait_arrived(timeout=120)
    assert _jobs(server)
    process.send_signal(signal.SIGKILL)
    finish(process)
    polled.release()
    _apply_converges_with_one_job(repo, server)
