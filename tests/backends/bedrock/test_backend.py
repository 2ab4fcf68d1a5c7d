"""The Bedrock backend's actions against the test service (service.py: moto's
server with deployments and Converse added), through the protocol: create,
wait, update, the gate's records, replace create-first, delete, forget, adopt,
smoke-test answers, export. Every wait moves the service's clock, never a
real one."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.backend import CannotAdopt, ChangeFailed
from reconciler.backends.bedrock import names
from reconciler.backends.bedrock.live import Handle
from reconciler.backends.bedrock.tags import TagMarker, deployment_scope, job_scope, model_scope
from reconciler.client.retry import RetryPolicy
from reconciler.model.live import LiveState
from reconciler.model.ownership import ownership_for
from reconciler.plan.types import PermissionChange
from tests.backends.bedrock.flows import (
    BASE_MODEL,
    PROVISIONED_MODEL,
    ROLE,
    SMOKE,
    catalogued,
    connect,
    load,
    manifest,
    waiter,
    write_manifest,
    write_repo,
)
from tests.backends.bedrock.service import BUCKET, LOSS, Fault, MotoService

pytestmark = pytest.mark.usefixtures("bedrock_installed")


def _repo(tmp_path: Path, *ids: str, **spec: Any) -> Path:
    return write_repo(tmp_path, [manifest(i, **spec) for i in ids or ("numbers",)])


def _one(service: Any, tmp_path: Path, **spec: Any) -> tuple[Any, Any, Path]:
    repo = _repo(tmp_path, **spec)
    desired = load(repo)
    return connect(service, desired), desired.models[0], repo


def _job(service: MotoService) -> dict[str, Any]:
    (job,) = service.jobs()
    return job


def test_create_uploads_tunes_tags_and_deploys(any_service: Any, tmp_path: Path) -> None:
    service = any_service
    backend, model, _ = _one(service, tmp_path)
    tuned = backend.create(model, waiter(service))
    assert not tuned.found and len(tuned.losses) == 1  # the final training loss the job reports
    ((key, data),) = service.objects().items()
    assert key == f"reconciler/datasets/{hashlib.sha256(data).hexdigest()}.jsonl"
    assert len(data.splitlines()) == 20
    job = _job(service)
    inputs = "\n".join((ownership_for(model).fingerprint, "20", BASE_MODEL, "FINE_TUNING"))
    assert job["jobName"] == names.resource_name("numbers", inputs, 1)
    assert job["token"] == names.client_token("numbers", inputs, 1)
    assert job["request"] == {
        "hyperParameters": {"epochCount": "2", "learningRate": "0.00001"},
        "customizationType": "FINE_TUNING",
    }
    marker = TagMarker()
    assert marker.read(job["tags"], job_scope(job["jobName"], job["jobName"])).key == "numbers"
    assert marker.read(service.models()[job["jobName"]], model_scope(job["jobName"])).key == "numbers"
    (deployment,) = service.deployments().values()
    reading = marker.read(
        deployment["tags"], deployment_scope(deployment["customModelDeploymentName"], deployment["modelArn"])
    )
    assert reading.key == "numbers" and deployment["status"] == "Active"
    live = backend.find("numbers")
    assert live is not None and live.state is LiveState.ACTIVE and live.ownership == ownership_for(model)
    assert live.serving["deployment"] == deployment["customModelDeploymentArn"]
    assert live.fields == {"spec.displayName": "numbers", "spec.description": "The numbers model."}
    # Through Converse on the deployment: moto's stand-in echoes; the emulator's model learned n -> n + 1.
    assert backend.generate("numbers", "", "7") == ("7" if isinstance(service, MotoService) else "8")


def test_a_second_create_finds_the_first_run_and_uploads_nothing(any_service: Any, tmp_path: Path) -> None:
    service = any_service
    backend, model, _ = _one(service, tmp_path)
    backend.create(model, waiter(service))
    again = connect(service, load(tmp_path))
    tuned = again.create(model, waiter(service))
    assert tuned.found and again.uploads == 0
    assert len(service.jobs()) == 1 and len(service.deployments()) == 1


def test_reordered_examples_upload_nothing_and_tune_nothing(service: MotoService, tmp_path: Path) -> None:
    backend, model, repo = _one(service, tmp_path)
    backend.create(model, waiter(service))
    write_manifest(repo, manifest("numbers"), reverse=True)
    again = connect(service, load(repo))
    assert again.create(load(repo).models[0], waiter(service)).found
    assert again.uploads == 0 and len(service.objects()) == 1 and len(service.jobs()) == 1


def test_a_create_interrupted_after_the_job_started_is_waited_for(service: MotoService, tmp_path: Path) -> None:
    """A crash after CreateModelCustomizationJob: the next apply finds the run by its name."""
    backend, model, _ = _one(service, tmp_path)
    source, _ = backend._source_of(model)
    inputs = "\n".join((ownership_for(model).fingerprint, "20", source, "FINE_TUNING"))
    backend._start(model, inputs, 1, source, backend.upload(model, catalogued()), "", waiter(service))
    live = backend.find("numbers")
    assert live is not None and live.state is LiveState.CREATING
    tuned = connect(service, load(tmp_path)).create(model, waiter(service))
    assert tuned.found and len(service.jobs()) == 1


def test_a_create_interrupted_before_its_deployment_is_finished_by_wait(service: MotoService, tmp_path: Path) -> None:
    backend, model, _ = _one(service, tmp_path)
    backend.create(model, waiter(service))
    (deployment,) = service.deployments().values()
    service.delete_deployment(deployment["customModelDeploymentArn"])
    live = backend.find("numbers")
    assert live is not None and live.state is LiveState.CREATING
    backend.wait(model, waiter(service))
    live = backend.find("numbers")
    assert live is not None and live.state is LiveState.ACTIVE and len(service.jobs()) == 1


def test_a_throttled_create_waits_for_quota_and_is_sent_again_with_the_same_token(
    service: MotoService, tmp_path: Path
) -> None:
    """Through the apply's waiter (the Pacer), not the retry policy's sleeps: shown
    as waiting for quota, each wait on the waiter's clock."""
    sleeps: list[float] = []
    repo = _repo(tmp_path)
    backend = connect(service, load(repo), retry=RetryPolicy(sleep=sleeps.append, random=lambda: 0.0))
    service.fail_next("CreateModelCustomizationJob", Fault(429, "ThrottlingException", times=2))
    paced = waiter(service)
    backend.create(load(repo).models[0], paced)
    assert service.requests()["CreateModelCustomizationJob"] == 3 and sleeps == []
    stages = [p.stage or "" for p in paced.reporter.progresses]  # type: ignore[attr-defined]
    assert [s for s in stages if s.startswith("waiting for quota")] == [
        "waiting for quota: the service refused the create (429 ThrottlingException); trying again in 2s",
        "waiting for quota: the service refused the create (429 ThrottlingException); trying again in 4s",
    ]
    (job,) = service.jobs()
    assert job["token"].startswith("reconciler-")


def test_a_create_whose_answer_was_lost_makes_one_job(service: MotoService, tmp_path: Path) -> None:
    """Made, then answered 500: the resend carries the same token and name, and
    what it meets is the first job (moto refuses the name; Bedrock answers the job)."""
    backend, model, _ = _one(service, tmp_path)
    service.fail_next("CreateModelCustomizationJob", Fault(500, "InternalServerException", after=True))
    tuned = backend.create(model, waiter(service))
    assert service.requests()["CreateModelCustomizationJob"] == 2
    assert len(service.jobs()) == 1 and tuned.losses == (LOSS,)


def test_two_creates_at_once_make_one_job(service: MotoService, tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    backends = [connect(service, load(repo)) for _ in range(3)]
    model = load(repo).models[0]
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def run(backend: Any) -> None:
        start.wait()
        try:
            backend.create(model, waiter(service))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(b,)) for b in backends]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(service.jobs()) == 1 and len(service.models()) == 1 and len(service.deployments()) == 1


def test_a_failed_run_fails_the_create_and_the_next_attempt_gets_a_new_name(
    service: MotoService, tmp_path: Path
) -> None:
    backend, model, _ = _one(service, tmp_path)
    source, _ = backend._source_of(model)
    inputs = "\n".join((ownership_for(model).fingerprint, "20", source, "FINE_TUNING"))
    service.fail_next_tick(names.resource_name("numbers", inputs, 1), "the data is bad")
    with pytest.raises(ChangeFailed, match="tuning ended Failed: the data is bad"):
        backend.create(model, waiter(service))
    service.delete_model_of(names.resource_name("numbers", inputs, 1))  # moto made it at the create
    live = backend.find("numbers")
    assert live is not None and live.state is LiveState.FAILED
    backend.create(model, waiter(service))
    assert sorted(j["jobName"][-1] for j in service.jobs()) == ["1", "2"]
    live = backend.find("numbers")
    assert live is not None and live.state is LiveState.ACTIVE


def test_a_replace_creates_first_and_the_old_model_serves_until_promotion(any_service: Any, tmp_path: Path) -> None:
    service = any_service
    repo = write_repo(tmp_path, [manifest("numbers", smoke=SMOKE)])
    backend = connect(service, load(repo))
    old = load(repo).models[0]
    backend.create(old, waiter(service))
    backend.mark_tested(old)
    write_manifest(repo, manifest("numbers", smoke=SMOKE), shift=1)
    new = load(repo).models[0]
    backend.create(new, waiter(service))
    live = backend.find("numbers")
    assert live is not None and live.candidate and live.ownership is not None and live.ownership.untested
    assert len(service.deployments()) == 2
    old_deployment = live.serving["deployment"]
    assert isinstance(live.handle, Handle) and live.handle.deployment is not None
    assert live.handle.deployment["customModelDeploymentArn"] != old_deployment
    # The candidate answers (its deployment), not the model serving: on the project's
    # emulator the two learned different data (n -> n + 2, n -> n + 1).
    fresh = connect(service, load(repo))
    if isinstance(service, MotoService):
        assert fresh.generate("numbers", "", "ask the candidate") == "ask the candidate"
    else:
        assert (fresh.generate("numbers", "", "7"), fresh.generate_serving("numbers", "", "7")) == ("9", "8")
    backend.mark_tested(new)
    promoted = backend.find("numbers")
    assert promoted is not None and not promoted.candidate and len(promoted.superseded) == 1
    backend.remove_superseded(promoted, waiter(service))
    assert len(service.models()) == 1 and len(service.deployments()) == 1
    assert old_deployment not in {d["customModelDeploymentArn"] for d in service.deployments().values()}
    assert len(service.jobs()) == 2  # jobs cannot be deleted: tombstones
    final = backend.find("numbers")
    assert final is not None and final.superseded == () and final.state is LiveState.ACTIVE


def test_a_held_candidate_keeps_the_old_model_serving(service: MotoService, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [manifest("numbers", smoke=SMOKE)])
    backend = connect(service, load(repo))
    old = load(repo).models[0]
    backend.create(old, waiter(service))
    backend.mark_tested(old, {"digest": "abc", "score": "0900"})
    write_manifest(repo, manifest("numbers", smoke=SMOKE), shift=1)
    new = load(repo).models[0]
    backend.create(new, waiter(service))
    backend.hold(new, {"digest": "abc", "score": "0100"})
    live = backend.find("numbers")
    assert live is not None and live.held and live.candidate
    assert live.evaluation == {"digest": "abc", "score": "0100", "held": "true"}
    assert live.serving_evaluation == {"digest": "abc", "score": "0900"}
    backend.record_evaluation(old, {"digest": "abd", "score": "0950"})
    again = backend.find("numbers")
    assert again is not None and again.serving_evaluation == {"digest": "abd", "score": "0950"}


def test_a_replace_stops_a_run_of_the_old_inputs_first(service: MotoService, tmp_path: Path) -> None:
    backend, model, repo = _one(service, tmp_path)
    source, _ = backend._source_of(model)
    inputs = "\n".join((ownership_for(model).fingerprint, "20", source, "FINE_TUNING"))
    backend._start(model, inputs, 1, source, backend.upload(model, catalogued()), "", waiter(service))
    write_manifest(repo, manifest("numbers"), shift=1)
    backend.create(load(repo).models[0], waiter(service))
    assert sorted(j["status"] for j in service.jobs()) == ["Completed", "Stopped"]


def test_delete_removes_the_deployment_then_the_model_and_keeps_the_job(any_service: Any, tmp_path: Path) -> None:
    service = any_service
    backend, model, _ = _one(service, tmp_path)
    backend.create(model, waiter(service))
    live = backend.find("numbers")
    assert live is not None
    backend.delete(live, waiter(service))
    assert service.models() == {} and service.deployments() == {}
    assert len(service.jobs()) == 1  # a tombstone
    assert backend.find("numbers") is None
    backend.delete(live, waiter(service))  # gone already is done


def test_pruning_a_running_job_stops_it(service: MotoService, tmp_path: Path) -> None:
    backend, model, _ = _one(service, tmp_path)
    source, _ = backend._source_of(model)
    inputs = "\n".join((ownership_for(model).fingerprint, "20", source, "FINE_TUNING"))
    backend._start(model, inputs, 1, source, backend.upload(model, catalogued()), "", waiter(service))
    live = backend.find("numbers")
    assert live is not None and live.state is LiveState.CREATING
    backend.delete(live, waiter(service))
    assert _job(service)["status"] == "Stopped"
    assert service.models() == {}


def test_a_deployment_of_someone_else_blocks_the_delete_with_its_name(service: MotoService, tmp_path: Path) -> None:
    backend, model, _ = _one(service, tmp_path)
    backend.create(model, waiter(service))
    name = next(iter(service.models()))
    service.create_deployment({"modelDeploymentName": "team-search", "modelArn": service.model_arn(name)})
    live = backend.find("numbers")
    assert live is not None
    with pytest.raises(ChangeFailed, match="deployment team-search, which is not the reconciler's"):
        backend.delete(live, waiter(service))
    assert name in service.models()


def test_update_rewrites_the_description_in_tags(service: MotoService, tmp_path: Path) -> None:
    backend, model, repo = _one(service, tmp_path)
    backend.create(model, waiter(service))
    long = "Counts: one, two, three \u2014 and on. " * 40
    write_manifest(repo, manifest("numbers", description=long))
    backend.update(load(repo).models[0], ("description",))
    live = backend.find("numbers")
    assert live is not None and live.fields["spec.description"] == long
    assert len(service.models()[next(iter(service.models()))]) > 16  # in base64 over several tags
    write_manifest(repo, manifest("numbers", description="Short."))
    backend.update(load(repo).models[0], ("description",))
    tags = next(iter(service.models().values()))
    assert tags["reconciler-description"] == "Short."
    assert not [k for k in tags if k.startswith("reconciler-description-")]  # the long one's tags are gone
    assert backend.find("numbers").ownership == ownership_for(model)  # type: ignore[union-attr]


def test_forget_leaves_the_model_unmanaged_and_adopt_takes_it_back(service: MotoService, tmp_path: Path) -> None:
    backend, model, _ = _one(service, tmp_path)
    backend.create(model, waiter(service))
    live = backend.find("numbers")
    assert live is not None
    backend.forget(live)
    name = next(iter(service.models()))
    assert backend.find("numbers") is None
    assert backend.observe(load(tmp_path)).by_id()[f"model-{name}"].ownership is None
    described = backend.adopt(model, f"model-{name}")
    assert described.hyperparameters == {"epochCount": 2, "learningRate": 1e-05}
    again = backend.find("numbers")
    assert again is not None and again.ownership == ownership_for(model)


def test_adopt_refuses_a_model_tuned_otherwise(service: MotoService, tmp_path: Path) -> None:
    backend, model, repo = _one(service, tmp_path)
    backend.create(model, waiter(service))
    live = backend.find("numbers")
    assert live is not None
    backend.forget(live)
    write_manifest(repo, manifest("numbers", epochs=5))
    with pytest.raises(CannotAdopt, match="epochCount"):
        backend.adopt(load(repo).models[0], f"model-{next(iter(service.models()))}")


def test_a_model_carrying_a_copy_of_the_tags_is_never_touched(service: MotoService, tmp_path: Path) -> None:
    backend, model, _ = _one(service, tmp_path)
    backend.create(model, waiter(service))
    ours = next(iter(service.models()))
    stranger = service.hand_made_model("someone-elses-model")
    service.set_model_tags(stranger, service.models()[ours])
    observed = backend.observe(load(tmp_path)).by_id()
    assert observed["model-someone-elses-model"].ownership is None
    live = backend.find("numbers")
    assert live is not None and live.superseded == ()
    backend.delete(live, waiter(service))
    assert list(service.models()) == [stranger]


def test_observe_reads_tags_once_a_custom_model(service: MotoService, tmp_path: Path) -> None:
    repo = _repo(tmp_path, "numbers", "letters", "words")
    desired = load(repo)
    backend = connect(service, desired)
    for model in desired.models:
        backend.create(model, waiter(service))
    service.reset_counts()
    observed = connect(service, desired).observe(desired)
    assert {m.key for m in observed.models} == {"numbers", "letters", "words"}
    counts = service.requests()
    assert counts["ListTagsForResource"] == 3  # one a custom model; none for jobs or deployments
    assert counts["ListModelCustomizationJobs"] == counts["ListCustomModels"] == 1
    assert counts["ListCustomModelDeployments"] == 1
    assert counts["GetModelCustomizationJob"] == counts["GetCustomModel"] == 0


def test_an_object_of_other_bytes_under_the_datasets_name_stops_the_create(
    service: MotoService, tmp_path: Path
) -> None:
    backend, model, _ = _one(service, tmp_path)
    backend.upload(model, catalogued())
    (key,) = service.objects()
    service.put_object(key, b'{"prompt": "1", "completion": "not what was planned"}\n')
    with pytest.raises(ChangeFailed, match="holds other bytes"):
        connect(service, load(tmp_path)).create(model, waiter(service))
    assert service.jobs() == []


def test_an_existing_object_of_the_same_bytes_is_done(service: MotoService, tmp_path: Path) -> None:
    backend, model, _ = _one(service, tmp_path)
    backend.upload(model, catalogued())
    again = connect(service, load(tmp_path))
    again.upload(model, catalogued())
    assert again.uploads == 0 and service.requests()["S3 PUT"] == 2  # the second answered 412


def test_a_large_dataset_goes_up_in_parts_with_checksums(
    service: MotoService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import moto.s3.models

    from reconciler.backends.bedrock import uploads

    monkeypatch.setattr(uploads, "MULTIPART_ABOVE", 100)
    monkeypatch.setattr(uploads, "PART_SIZE", 256)
    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", 256)
    backend, model, _ = _one(service, tmp_path)
    uri = backend.upload(model, catalogued())
    ((key, data),) = service.objects().items()
    assert uri == f"s3://{BUCKET}/{key}" and len(data) > 256 and backend.uploads == 1
    again = connect(service, load(tmp_path))
    again.upload(model, catalogued())  # the completion answers 412: there already, and checked
    assert again.uploads == 0


def test_grants_are_refused_clearly(service: MotoService, tmp_path: Path) -> None:
    backend, _, _ = _one(service, tmp_path)
    with pytest.raises(ChangeFailed, match="no per-model grants"):
        backend.grant("numbers", PermissionChange(grantee_type="USER", email_address="a@b.c", role_after="READER"))


def test_export_writes_the_manifest_of_what_is_live(service: MotoService, tmp_path: Path) -> None:
    backend, model, _ = _one(service, tmp_path)
    backend.create(model, waiter(service))
    exported = backend.export(["numbers"])["numbers"]
    assert exported["spec"] == {
        "displayName": "numbers",
        "description": "The numbers model.",
        "baseModel": BASE_MODEL,
        "trainingData": {"unknown": True},
        "hyperparameters": {"epochCount": 2, "learningRate": 1e-05},
    }


def test_the_target_is_described_without_secrets(service: MotoService, tmp_path: Path) -> None:
    backend, _, _ = _one(service, tmp_path)
    described = backend.describe_target()
    assert service.url in described and "us-east-1" in described and "dummy credentials" in described
    assert backend.secret_variables == ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def test_the_emulator_needs_the_buckets(tmp_path: Path) -> None:
    from reconciler.backends.bedrock import BedrockBackend

    desired = load(write_repo(tmp_path, [manifest("numbers")]))
    assert BedrockBackend.emulator_fixtures(desired.settings) == {
        "s3_buckets": ("my-bucket",),
        "aws_region": "us-east-1",
    }
    assert BedrockBackend.block_of(desired.settings).role_arn == ROLE


def test_the_job_request_carries_validation_data(service: MotoService, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [manifest("numbers", validationData={"file": "../datasets/valid.jsonl"})])
    rows = [{"text_input": str(n), "output": str(-n)} for n in range(5)]
    (repo / "datasets" / "valid.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    desired = load(repo)
    backend = connect(service, desired)
    backend.create(desired.models[0], waiter(service))
    assert len(service.objects()) == 2
    live = backend.find("numbers")
    assert live is not None and live.ownership is not None and live.ownership.parts is not None


def test_adopt_never_writes_over_tags_that_do_not_verify(service: MotoService, tmp_path: Path) -> None:
    backend, model, _ = _one(service, tmp_path)
    backend.create(model, waiter(service))
    ours = next(iter(service.models()))
    # Named as the manifest id (`import numbers` takes it), tuned as the manifest says.
    stranger = service.hand_made_model("numbers", {"epochCount": "2", "learningRate": "0.00001"}, BASE_MODEL)
    service.set_model_tags(stranger, service.models()[ours])
    live = backend.find("numbers")
    assert live is not None
    backend.forget(live)  # the id is free for an import
    with pytest.raises(ChangeFailed, match="do not verify"):
        backend.adopt(model)
    assert service.models()[stranger]["reconciler-id"] == "numbers"  # left as it was


def test_a_deployment_under_our_name_whose_tags_do_not_verify_is_not_deleted(
    service: MotoService, tmp_path: Path
) -> None:
    backend, model, _ = _one(service, tmp_path)
    backend.create(model, waiter(service))
    (deployment,) = service.deployments().values()
    service.delete_deployment(deployment["customModelDeploymentArn"])
    service.create_deployment(
        {"modelDeploymentName": deployment["customModelDeploymentName"], "modelArn": deployment["modelArn"]}
    )  # the same name and model, made by someone else, untagged
    live = backend.find("numbers")
    assert live is not None
    with pytest.raises(ChangeFailed, match="not the reconciler's"):
        backend.delete(live, waiter(service))
    assert len(service.deployments()) == 1 and len(service.models()) == 1


def test_a_model_deleted_and_declared_again_is_tuned_under_the_next_attempt(
    service: MotoService, tmp_path: Path
) -> None:
    """The first job is a tombstone: its name is never free again, and never waited on."""
    backend, model, _ = _one(service, tmp_path)
    backend.create(model, waiter(service))
    live = backend.find("numbers")
    assert live is not None
    backend.delete(live, waiter(service))
    tuned = backend.create(model, waiter(service))
    assert not tuned.found
    assert sorted(j["jobName"].rpartition("-")[2] for j in service.jobs()) == ["1", "2"]
    again = backend.find("numbers")
    assert again is not None and again.state is LiveState.ACTIVE


def test_a_model_served_through_provisioned_throughput_gets_no_deployment(service: MotoService, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [manifest("numbers", baseModel=PROVISIONED_MODEL)])
    desired = load(repo)
    backend = connect(service, desired)
    backend.create(desired.models[0], waiter(service))
    assert service.deployments() == {}
    live = backend.find("numbers")
    assert live is not None and live.state is LiveState.ACTIVE and "deployment" not in live.serving
    with pytest.raises(ChangeFailed, match="Provisioned Throughput"):
        backend.generate("numbers", "", "seven")
    backend.delete(live, waiter(service))
    assert service.models() == {}


def test_forget_releases_every_model_of_the_id(service: MotoService, tmp_path: Path) -> None:
    """A replace that stopped before its clean-up leaves two models: both are released."""
    repo = write_repo(tmp_path, [manifest("numbers", smoke=SMOKE)])
    backend = connect(service, load(repo))
    first = load(repo).models[0]
    backend.create(first, waiter(service))
    backend.mark_tested(first)
    write_manifest(repo, manifest("numbers", smoke=SMOKE), shift=1)
    backend.create(load(repo).models[0], waiter(service))
    live = backend.find("numbers")
    assert live is not None and live.candidate
    backend.forget(live)
    assert backend.find("numbers") is None
    assert all("reconciler-id" not in tags for tags in service.models().values())
    assert all("reconciler-id" not in d["tags"] for d in service.deployments().values())
