"""The Vertex join (reconciler/backends/vertex/live.py) on hand-made lists of
jobs, Models and Endpoints, each live model compared whole: what an id's live
model is made of (state, source, fields, times, serving, the handle), which
Model is the id's (its own labels, or the untouched output of its verified
job), the blocked and unmanaged cases, and what a finished run reports.

Mutation testing (docs/mutation.md) found these behaviours unpinned: the
emulator tests reach them, but check only a field or two of the result."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from reconciler.backends.vertex.labels import FORGOTTEN, LabelMarker, job_scope, model_scope
from reconciler.backends.vertex.live import (
    BASE_MODEL_LABEL,
    JOB_ID_LABEL,
    Handle,
    Join,
    hyperparameters,
    job_endpoints,
    job_state,
    key_of_labels,
    reported_of,
)
from reconciler.model.live import LiveModel, LiveState, Reported
from reconciler.model.ownership import Ownership

PARENT = "projects/p/locations/us-central1"
MARKER = LabelMarker()
OWN = Ownership(source="0a1b2c3d", hyperparameters="4e5f6a7b", data="0123456789ab", examples=20)
OTHER_INPUTS = Ownership(source="0a1b2c3d", hyperparameters="4e5f6a7b", data="ba9876543210", examples=20)
UNTESTED = Ownership(source="0a1b2c3d", hyperparameters="4e5f6a7b", data="ba9876543210", examples=20, untested=True)
SUCCEEDED, RUNNING, FAILED = "JOB_STATE_SUCCEEDED", "JOB_STATE_RUNNING", "JOB_STATE_FAILED"


def model_name(n: int) -> str:
    return f"{PARENT}/models/{n}"


def endpoint_name(n: int) -> str:
    return f"{PARENT}/endpoints/{n}"


def job(
    n: int,
    *,
    key: str = "numbers",
    state: str | int = SUCCEEDED,
    made: int | None = None,
    endpoint: int | None = None,
    ownership: Ownership = OWN,
    labelled: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    """A tuning job of `key`, its labels verifying for it; `made`: the Model it made."""
    body: dict[str, Any] = {
        "name": f"{PARENT}/tuningJobs/{n}",
        "state": state,
        "baseModel": "gemini-2.5-flash",
        "tunedModelDisplayName": f"Numbers {n}",
        "description": f"job {n}",
        "createTime": f"2026-01-01T00:00:0{n}Z",
        "updateTime": f"2026-01-01T00:10:0{n}Z",
        "supervisedTuningSpec": {
            "trainingDatasetUri": "gs://b/train.jsonl",
            "hyperParameters": {"epochCount": "3", "adapterSize": "ADAPTER_SIZE_FOUR"},
        },
        **extra,
    }
    if made is not None:
        tuned: dict[str, Any] = {"model": f"{model_name(made)}@1"}
        if endpoint is not None:
            tuned["endpoint"] = endpoint_name(endpoint)
        body["tunedModel"] = tuned
    if labelled:
        body["labels"] = MARKER.labels(key, ownership, job_scope(body))
    return body


def model(
    n: int,
    *,
    key: str | None = "numbers",
    ownership: Ownership = OWN,
    version: str = "1",
    created: str = "2026-01-02T00:00:00Z",
    updated: str = "2026-01-02T00:00:01Z",
    deployed: tuple[int, ...] = (),
    labels: dict[str, str] | None = None,
    evaluation: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Model; with a `key`, labelled as the reconciler labels a Model it manages."""
    body: dict[str, Any] = {
        "name": model_name(n),
        "versionId": version,
        "displayName": f"Model {n}",
        "description": f"model {n}",
        "createTime": created,
        "updateTime": updated,
        "deployedModels": [{"endpoint": endpoint_name(e)} for e in deployed],
    }
    if labels is not None:
        body["labels"] = labels
    elif key is not None:
        body["labels"] = MARKER.labels(key, ownership, model_scope(body), evaluation=evaluation)
    return body


def endpoint(n: int, *, key: str = "numbers", serves: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": endpoint_name(n)}
    body["labels"] = MARKER.labels(key, OWN, endpoint_name(n))
    if serves is not None:
        body["deployedModels"] = [{"model": f"{model_name(serves)}@1"}]
    return body


def lives(
    jobs: list[dict[str, Any]],
    models: list[dict[str, Any]],
    endpoints: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> dict[str, LiveModel]:
    return {live.key: live for live in Join(MARKER, jobs, models, endpoints).live_models()}


def test_a_finished_run_and_its_labelled_model_make_the_whole_live_model() -> None:
    run = job(
        1,
        made=7,
        endpoint=3,
        tuningJobMetadata={"completedStepCount": "12"},
        tuningDataStats={"supervisedTuningDataStats": {"totalBillableTokenCount": "900", "tuningStepCount": "12"}},
    )
    made = model(7, deployed=(3,))
    [live] = lives([run], [made], [endpoint(3, serves=7)]).values()
    assert (
        live.model_dump()
        == LiveModel(
            key="numbers",
            address="vertex/numbers",
            ownership=OWN,
            state=LiveState.ACTIVE,
            source="gemini-2.5-flash",
            base_model="gemini-2.5-flash",
            fields={"spec.displayName": "Model 7", "spec.description": "model 7"},
            hyperparameters={"epochCount": 3, "adapterSize": 4},
            create_time="2026-01-01T00:00:01Z",
            update_time="2026-01-02T00:00:01Z",
            step=12,
            state_words="SUCCEEDED",
            serving={"job": run["name"], "model": model_name(7), "endpoint": endpoint_name(3)},
            reported=Reported(data=OWN.data, tokens=900, steps=12, epochs=3),
        ).model_dump()
    )
    assert live.handle == Handle(
        job=run, model=made, endpoints=(endpoint_name(3),), others=(), jobs=(run,), endpoint=endpoint_name(3)
    )


def test_a_run_in_flight_is_creating_with_the_jobs_fields_and_no_report() -> None:
    run = job(1, state=RUNNING, tuningJobMetadata={"completedStepCount": 4})
    [live] = lives([run], []).values()
    assert (
        live.model_dump()
        == LiveModel(
            key="numbers",
            address="vertex/numbers",
            ownership=OWN,
            state=LiveState.CREATING,
            source="gemini-2.5-flash",
            base_model="gemini-2.5-flash",
            fields={"spec.displayName": "Numbers 1", "spec.description": "job 1"},
            hyperparameters={"epochCount": 3, "adapterSize": 4},
            create_time="2026-01-01T00:00:01Z",
            update_time="2026-01-01T00:10:01Z",
            step=4,
            state_words="RUNNING",
            serving={"job": run["name"]},
        ).model_dump()
    )
    assert live.handle == Handle(job=run, model=None, jobs=(run,))


def test_a_failed_run_without_a_model_is_failed_and_a_succeeded_one_whose_model_is_gone_is_no_model() -> None:
    failed = lives([job(1, state=FAILED)], [])["numbers"]
    assert (failed.state, failed.state_words, failed.reported) == (LiveState.FAILED, "FAILED", None)
    assert lives([job(1, made=7)], []) == {}  # a tombstone: jobs stay forever


def test_a_failed_runs_labelled_model_is_the_ids_current_model_so_a_replace_removes_it() -> None:
    run = job(1, state=FAILED, made=7)
    live = lives([run], [model(7)])["numbers"]
    assert (live.state, live.handle.model) == (LiveState.FAILED, model(7))
    assert live.serving == {"job": run["name"], "model": model_name(7)}


def test_a_run_that_names_no_display_name_or_description_reads_as_empty() -> None:
    run = job(1, state=RUNNING)
    del run["tunedModelDisplayName"], run["description"]
    run["labels"] = MARKER.labels("numbers", OWN, job_scope(run))
    assert lives([run], [])["numbers"].fields == {"spec.displayName": "", "spec.description": ""}


def test_a_model_adopted_without_a_job_is_read_from_the_model_alone() -> None:
    adopted = model(7, labels={BASE_MODEL_LABEL: "gemini-2_5-flash"})
    adopted["labels"] = {**adopted["labels"], **MARKER.labels("numbers", OWN, model_scope(adopted))}
    live = lives([], [adopted])["numbers"]
    assert (
        live.model_dump()
        == LiveModel(
            key="numbers",
            address="vertex/numbers",
            ownership=OWN,
            source="gemini-2.5-flash",
            base_model="gemini-2.5-flash",
            fields={"spec.displayName": "Model 7", "spec.description": "model 7"},
            create_time="2026-01-02T00:00:00Z",
            update_time="2026-01-02T00:00:01Z",
            state_words="SUCCEEDED",
            serving={"model": model_name(7)},
        ).model_dump()
    )
    bare: dict[str, Any] = {"name": model_name(8)}
    bare["labels"] = MARKER.labels("numbers", OWN, model_scope(bare))
    live = lives([], [bare])["numbers"]
    assert live.fields == {"spec.displayName": "", "spec.description": ""}
    assert (live.create_time, live.update_time) == ("", "")


def test_a_run_that_names_no_times_reads_as_empty() -> None:
    run = job(1, state=RUNNING)
    del run["createTime"], run["updateTime"]
    run["labels"] = MARKER.labels("numbers", OWN, job_scope(run))
    live = lives([run], [])["numbers"]
    assert (live.create_time, live.update_time) == ("", "")


def test_a_newer_run_in_flight_beside_the_serving_model_is_creating_and_names_what_serves() -> None:
    first = job(1, made=7, endpoint=3)
    second = job(2, state=RUNNING, ownership=OTHER_INPUTS)
    live = lives([first, second], [model(7)], [endpoint(3)])["numbers"]
    assert live.state is LiveState.CREATING
    assert live.ownership == OTHER_INPUTS  # the run's inputs, not the serving Model's
    assert live.serving == {"job": first["name"], "model": model_name(7), "endpoint": endpoint_name(3)}
    assert live.handle.job is second and live.handle.model is None
    assert live.handle.others == (model(7),)
    assert live.superseded == () and not live.candidate  # it serves until the run ends


def test_an_untested_newer_model_is_a_candidate_beside_the_one_serving() -> None:
    old, new = job(1, made=7, endpoint=3), job(2, made=8, endpoint=4, ownership=UNTESTED)
    serving = model(7, updated="2026-01-02T00:00:01Z", evaluation={"digest": "d" * 12, "score": "0800"})
    candidate = model(8, ownership=UNTESTED, updated="2026-01-03T00:00:01Z", evaluation={"score": "0700"})
    live = lives([old, new], [serving, candidate], [endpoint(3), endpoint(4)])["numbers"]
    assert live.candidate and live.ownership == UNTESTED
    assert live.serving == {"job": old["name"], "model": model_name(7), "endpoint": endpoint_name(3)}
    assert live.evaluation == {"score": "0700"}
    assert live.serving_evaluation == {"digest": "d" * 12, "score": "0800"}
    assert live.superseded == ()  # the serving Model is not superseded while the candidate waits
    assert live.handle.model is candidate and live.handle.endpoint == endpoint_name(4)
    assert live.handle.others == (serving,)


def test_a_held_candidate_stays_a_candidate_and_the_older_model_keeps_serving() -> None:
    old, new = job(1, made=7), job(2, made=8, ownership=OTHER_INPUTS)
    held = model(8, ownership=OTHER_INPUTS, updated="2026-01-03T00:00:01Z", evaluation={"held": "true", "score": "1"})
    live = lives([old, new], [model(7), held])["numbers"]
    assert live.candidate and live.held
    assert live.serving["model"] == model_name(7)


def test_of_two_passed_models_the_one_labelled_last_serves_and_the_other_is_superseded() -> None:
    runs = [job(1, made=7), job(2, made=8, ownership=OTHER_INPUTS)]
    older = model(7, updated="2026-01-02T00:00:01Z")
    newer = model(8, ownership=OTHER_INPUTS, updated="2026-01-03T00:00:01Z")
    for order in ([older, newer], [newer, older]):
        live = lives(runs, order)["numbers"]
        assert live.serving["model"] == model_name(8) and not live.candidate
        assert live.superseded == (model_name(7),)
        assert live.ownership == OTHER_INPUTS


def test_the_model_serving_alone_has_no_separate_serving_evaluation_and_no_report_unless_it_succeeded() -> None:
    recorded = {"digest": "d" * 12, "score": "0800"}
    live = lives([job(1, made=7)], [model(7, evaluation=recorded)])["numbers"]
    assert live.evaluation == recorded and live.serving_evaluation == {}
    stats = {"supervisedTuningDataStats": {"totalBillableTokenCount": "900"}}
    assert lives([job(1, state=FAILED, tuningDataStats=stats)], [])["numbers"].reported is None


def test_a_model_that_names_no_update_time_is_the_oldest() -> None:
    runs = [job(1, made=7), job(2, made=8, ownership=OTHER_INPUTS)]
    unstamped = model(7)
    del unstamped["updateTime"]
    unstamped["labels"] = MARKER.labels("numbers", OWN, model_scope(unstamped))
    live = lives(runs, [unstamped, model(8, ownership=OTHER_INPUTS)])["numbers"]
    assert live.serving["model"] == model_name(8) and live.superseded == (model_name(7),)


def test_a_failed_runs_model_never_serves() -> None:
    good, bad = job(1, made=7), job(2, state=FAILED, made=8, ownership=OTHER_INPUTS)
    live = lives([good, bad], [model(7), model(8, ownership=OTHER_INPUTS, updated="2026-01-09T00:00:00Z")])["numbers"]
    assert live.serving["model"] == model_name(7)
    assert live.state is LiveState.ACTIVE and live.handle.job is good
    assert live.superseded == (model_name(8),)


def test_the_unlabelled_untouched_output_of_a_verified_job_is_the_ids() -> None:
    run = job(1, made=7)
    untouched = model(7, key=None, updated="2026-01-02T00:00:00Z")
    live = lives([run], [untouched])["numbers"]
    assert live.ownership == OWN and live.handle.model is untouched and live.state_words == "SUCCEEDED"


def test_an_untouched_output_that_names_no_version_is_version_one() -> None:
    untouched = model(7, key=None, updated="2026-01-02T00:00:00Z")
    del untouched["versionId"]
    live = lives([job(1, made=7)], [untouched])["numbers"]
    assert live.ownership == OWN and live.handle.model is untouched


def test_a_model_carrying_the_labels_the_service_copied_from_its_job_is_the_ids() -> None:
    run = job(1, made=7)
    copied = model(7, labels={**run["labels"], JOB_ID_LABEL: "1", "tune-type": "sft"})
    assert lives([run], [copied])["numbers"].handle.model is copied


def test_what_a_job_did_not_make_untouched_is_never_the_ids() -> None:
    run = job(1, made=7)
    cases = {
        "updated since, its labels removed": model(7, key=None),
        "a later version": model(7, key=None, version="2", updated="2026-01-02T00:00:00Z"),
        "another job's output": model(7, labels={**run["labels"], JOB_ID_LABEL: "2"}),
        "other labels of ours": model(7, labels={**run["labels"], "reconciler-orphan": "true"}),
    }
    for why, body in cases.items():
        [found] = lives([run], [body]).values()
        assert found.ownership is None and found.address == model_name(7), why


def test_a_legacy_jobs_output_is_not_the_ids_by_its_jobs_labels() -> None:
    run = job(1, made=7, labelled=False)
    run["labels"] = MARKER.labels("numbers", OWN, "")  # an earlier release's empty job scope: legacy
    [found] = lives([run], [model(7, key=None, updated="2026-01-02T00:00:00Z")]).values()
    assert found.ownership is None


def test_a_job_labelled_as_an_earlier_release_did_still_claims_its_id_as_legacy() -> None:
    run = job(1, state=RUNNING, labelled=False)
    run["labels"] = MARKER.labels("numbers", OWN, "")  # the job scope of releases before the binding
    live = lives([run], [])["numbers"]
    assert (live.state, live.ownership) == (LiveState.CREATING, replace(OWN, legacy=True))


def test_a_model_whose_labels_were_removed_by_hand_blocks_its_id_and_says_why() -> None:
    run = job(1, made=7)
    stripped = model(7, key=None)
    found = lives([run], [stripped])
    assert set(found) == {"numbers"}
    assert (found["numbers"].ownership, found["numbers"].address) == (None, model_name(7))
    assert found["numbers"].ownership_note == (
        "its reconciler labels were removed (by hand?): it is left alone; to manage it again, import it"
    )
    forgotten = model(7, labels={FORGOTTEN: "true"})
    assert lives([run], [forgotten])["model-7"].ownership_note is None


def test_an_id_whose_only_claim_does_not_verify_is_blocked_whole() -> None:
    signed = LabelMarker([b"another key"])
    body = model(7, key=None)
    body["labels"] = signed.labels("numbers", OWN, model_scope(body))
    found = lives([], [body])
    assert set(found) == {"numbers"}
    blocked = found["numbers"]
    assert (
        blocked.model_dump()
        == LiveModel(
            key="numbers",
            address=model_name(7),
            ownership=None,
            ownership_note="its labels are signed, and RECONCILER_OWNERSHIP_KEY is not set: give the plan the key "
            "that signed them",
            fields={"spec.displayName": "Model 7", "spec.description": "model 7"},
            create_time="2026-01-02T00:00:00Z",
            update_time="2026-01-02T00:00:01Z",
        ).model_dump()
    )
    assert blocked.handle == Handle(job=None, model=body)


def test_a_running_job_that_does_not_verify_blocks_its_id_with_no_model() -> None:
    run = job(1, state=RUNNING, labelled=False)
    run["labels"] = LabelMarker([b"another key"]).labels("numbers", OWN, job_scope(run))
    blocked = lives([run], [])["numbers"]
    assert blocked.ownership is None and blocked.address == run["name"]
    assert blocked.fields == {"spec.displayName": "", "spec.description": ""}
    assert (blocked.create_time, blocked.update_time) == ("", "")
    assert blocked.handle == Handle(job=None, model=None)
    finished = {**run, "state": SUCCEEDED}
    assert lives([finished], []) == {}  # a finished one leaves only its Model


def test_a_second_unverified_claim_beside_a_blocked_one_is_shown_unmanaged() -> None:
    signed = LabelMarker([b"another key"])
    first, second = model(7, key=None), model(8, key=None)
    first["labels"] = signed.labels("numbers", OWN, model_scope(first))
    second["labels"] = signed.labels("numbers", OWN, model_scope(second))
    found = lives([], [first, second])
    assert set(found) == {"numbers", "model-8"}
    assert found["model-8"].ownership_note == found["numbers"].ownership_note


def test_an_unverified_model_beside_the_ids_verified_one_is_an_unmanaged_model_with_a_note() -> None:
    run = job(1, made=7)
    edited = model(8, labels={**model(8)["labels"], "reconciler-protect": "true"})
    found = lives([run], [model(7), edited])
    assert set(found) == {"numbers", "model-8"}
    assert found["model-8"].ownership_note == "its label check value does not verify (copied or edited)"
    assert found["numbers"].superseded == ()


def test_a_model_nobody_claims_is_unmanaged_and_named_by_its_server_id() -> None:
    body = model(9, key=None, deployed=(5, 5, 6), labels={BASE_MODEL_LABEL: "gemini-2_5-flash", "team": "x"})
    [live] = lives([], [body]).values()
    assert (
        live.model_dump()
        == LiveModel(
            key="model-9",
            address=model_name(9),
            ownership=None,
            ownership_note=None,
            source="gemini-2.5-flash",
            base_model="gemini-2.5-flash",
            fields={"spec.displayName": "Model 9", "spec.description": "model 9"},
            create_time="2026-01-02T00:00:00Z",
            update_time="2026-01-02T00:00:01Z",
            state_words="SUCCEEDED",
            serving={"model": model_name(9), "endpoint": endpoint_name(5)},
        ).model_dump()
    )
    assert live.handle == Handle(job=None, model=body, endpoints=(endpoint_name(5), endpoint_name(6)))
    unknown = lives([], [model(9, key=None, labels={BASE_MODEL_LABEL: "some-model_1"})])["model-9"]
    assert (unknown.source, unknown.base_model) == ("some-model_1", "some-model_1")


def test_a_model_tuned_from_another_ids_model_names_that_id_as_its_source() -> None:
    parent = job(1, made=7)
    child = job(2, key="child", made=8, preTunedModel={"tunedModelName": f"{model_name(7)}@1", "baseModel": "b-1"})
    found = lives([parent, child], [model(7), model(8, key="child")])
    assert (found["child"].source, found["child"].source_key, found["child"].base_model) == (
        "numbers",
        "numbers",
        "b-1",
    )
    orphan = job(2, key="child", made=8, preTunedModel={"tunedModelName": f"{model_name(99)}@1"})
    alone = lives([orphan], [model(8, key="child")])["child"]
    assert (alone.source, alone.source_key, alone.base_model) == (model_name(99), None, "gemini-2.5-flash")


def test_the_endpoint_that_serves_must_exist_and_be_the_ids() -> None:
    run = job(1, made=7, endpoint=3)
    assert lives([run], [model(7)], [endpoint(3)])["numbers"].serving["endpoint"] == endpoint_name(3)
    gone = lives([run], [model(7)])["numbers"]
    assert "endpoint" not in gone.serving and gone.broken == f"its endpoint {endpoint_name(3)} is gone"
    theirs = lives([run], [model(7)], [endpoint(3, key="other")])["numbers"]
    assert "endpoint" not in theirs.serving and theirs.broken
    copied = {"name": endpoint_name(3), "labels": dict(run["labels"])}
    by_copy = lives([run], [model(7)], [copied])["numbers"]
    assert by_copy.serving["endpoint"] == endpoint_name(3) and by_copy.broken == ""
    deployed = lives([job(1, made=7)], [model(7, deployed=(4,))], [endpoint(4)])["numbers"]
    assert deployed.serving["endpoint"] == endpoint_name(4) and deployed.broken == ""
    moved = lives([run], [model(7, deployed=(4,))], [endpoint(4)])["numbers"]  # the run's endpoint gone
    assert moved.serving["endpoint"] == endpoint_name(4) and moved.broken == ""
    assert moved.handle.endpoint == endpoint_name(4)


def test_a_checkpoints_endpoint_never_serves_in_place_of_the_runs_own() -> None:
    run = job(1, made=7, endpoint=3)
    run["tunedModel"]["checkpoints"] = [{"endpoint": endpoint_name(4)}]
    live = lives([run], [model(7)], [endpoint(4)])["numbers"]
    assert "endpoint" not in live.serving and live.broken == f"its endpoint {endpoint_name(3)} is gone"


def test_the_handle_lists_every_endpoint_of_the_run_and_of_its_model() -> None:
    run = job(1, made=7, endpoint=3)
    run["tunedModel"]["checkpoints"] = [{"endpoint": endpoint_name(3)}, {"endpoint": endpoint_name(4)}, {}]
    made = model(7, deployed=(5,))
    made["deployedModels"].append({})  # a deployment that names no endpoint
    other = {"name": endpoint_name(9), "deployedModels": [{}]}  # nor a model
    live = lives([run], [made], [endpoint(3), endpoint(6, serves=7), endpoint(8, serves=99), other])
    assert live["numbers"].handle.endpoints == tuple(endpoint_name(n) for n in (3, 4, 5, 6))


def test_a_model_whose_inputs_differ_from_its_runs_takes_the_runs_ownership() -> None:
    run = job(1, made=7, ownership=OTHER_INPUTS)
    live = lives([run], [model(7, ownership=OWN)])["numbers"]
    assert live.ownership == OTHER_INPUTS
    flags = replace(OWN, protect=True)  # the lifecycle flags live on the Model's own labels
    assert lives([job(1, made=7)], [model(7, ownership=flags)])["numbers"].ownership == flags


def test_job_states_hyperparameters_and_endpoints_as_the_api_spells_them() -> None:
    assert [job_state({"state": n}) for n in (4, 3, 99)] == ["JOB_STATE_SUCCEEDED", "JOB_STATE_RUNNING", "99"]
    assert job_state({"state": "JOB_STATE_FAILED"}) == "JOB_STATE_FAILED"
    assert job_state({}) == "JOB_STATE_UNSPECIFIED"
    spec = {"hyperParameters": {"epochCount": "4", "learningRateMultiplier": "0.5", "adapterSize": 2}}
    assert hyperparameters({"supervisedTuningSpec": spec}) == {
        "epochCount": 4,
        "learningRateMultiplier": 0.5,
        "adapterSize": 4,
    }
    assert hyperparameters({"supervisedTuningSpec": {"hyperParameters": {"adapterSize": "ADAPTER_SIZE_ONE"}}}) == {
        "adapterSize": 1
    }
    assert hyperparameters({}) == {}
    tuned = {"endpoint": "e1", "checkpoints": [{"endpoint": "e2"}, {"endpoint": "e1"}, {}]}
    assert job_endpoints({"tunedModel": tuned}) == ("e1", "e2")
    assert job_endpoints({}) == ()
    assert key_of_labels({"reconciler-id": "numbers"}) == "numbers" and key_of_labels({}) is None


def test_what_a_finished_run_reports_is_bound_to_its_data_and_cleaned() -> None:
    stats = {
        "totalBillableTokenCount": "1200",
        "tuningStepCount": 30,
        "truncatedExampleIndices": ["3", 0, "-1", "x", 7],
        "droppedExampleReasons": ["r" * 250, 5],
    }
    run = {"tuningDataStats": {"supervisedTuningDataStats": stats}, "supervisedTuningSpec": {}}
    assert reported_of(run, OWN) == Reported(
        data=OWN.data, tokens=1200, steps=30, epochs=None, truncated=(3, 7), reasons=("r" * 200, "5")
    )
    assert reported_of(run, None) is None
    assert reported_of({"tuningDataStats": {}}, OWN) is None
    assert reported_of(None, OWN) is None
    zeros = {
        "tuningDataStats": {"supervisedTuningDataStats": {"totalBillableTokenCount": "-5", "tuningStepCount": None}}
    }
    assert reported_of(zeros, OWN) == Reported(data=OWN.data)


def test_a_bare_model_reads_as_empty_fields_and_no_endpoint() -> None:
    body = {"name": model_name(9), "deployedModels": [{}], "labels": {"managed-by": "reconciler"}}
    [live] = lives([], [body]).values()
    assert (
        live.model_dump()
        == LiveModel(
            key="model-9",
            address=model_name(9),
            ownership_note="its reconciler labels are malformed",
            fields={"spec.displayName": "", "spec.description": ""},
            state_words="SUCCEEDED",
            serving={"model": model_name(9)},
        ).model_dump()
    )
    assert live.handle == Handle(job=None, model=body, endpoints=())


def test_of_two_models_labelled_at_once_the_one_made_last_serves() -> None:
    runs = [job(1, made=7), job(2, made=8, ownership=OTHER_INPUTS)]
    later = model(7, created="2026-01-02T00:00:05Z", updated="2026-01-03T00:00:00Z")
    earlier = model(8, ownership=OTHER_INPUTS, created="2026-01-02T00:00:01Z", updated="2026-01-03T00:00:00Z")
    live = lives(runs, [earlier, later])["numbers"]
    assert live.serving["model"] == model_name(7) and live.superseded == (model_name(8),)
    undated = model(8, ownership=OTHER_INPUTS, updated="2026-01-02T00:00:01Z")
    del undated["createTime"]
    undated["labels"] = MARKER.labels("numbers", OTHER_INPUTS, model_scope(undated))
    stamped = model(7, updated="2026-01-02T00:00:01Z")
    live = lives(runs, [undated, stamped])["numbers"]  # no createTime is the oldest
    assert live.serving["model"] == model_name(7) and live.superseded == (model_name(8),)


def test_a_truncated_example_at_index_one_is_reported() -> None:
    stats = {"totalBillableTokenCount": "10", "truncatedExampleIndices": ["1", 2]}
    run = {"tuningDataStats": {"supervisedTuningDataStats": stats}}
    assert reported_of(run, OWN) == Reported(data=OWN.data, tokens=10, truncated=(1, 2))


def test_a_run_in_flight_behind_a_newer_failed_one_still_makes_the_id_creating() -> None:
    made, running = job(1, made=7), job(2, state=RUNNING, ownership=OTHER_INPUTS)
    failed = job(3, state=FAILED, ownership=OTHER_INPUTS)
    live = lives([made, running, failed], [model(7)])["numbers"]
    assert live.state is LiveState.CREATING and live.handle.job is running


def test_an_older_untested_model_is_no_candidate_beside_a_newer_one_that_passed() -> None:
    runs = [job(1, made=7, ownership=UNTESTED), job(2, made=8)]
    older = model(7, ownership=UNTESTED, updated="2026-01-02T00:00:01Z")
    newer = model(8, updated="2026-01-03T00:00:01Z")
    live = lives(runs, [older, newer])["numbers"]
    assert not live.candidate and live.handle.model is newer
    assert live.serving["model"] == model_name(8) and live.superseded == (model_name(7),)


def test_the_newest_run_is_the_one_created_last_not_the_one_named_last() -> None:
    made = job(2, made=7, createTime="2026-01-01T00:00:01Z")
    running = job(1, state=RUNNING, ownership=OTHER_INPUTS, createTime="2026-01-01T00:00:05Z")
    live = lives([made, running], [model(7)])["numbers"]
    assert live.state is LiveState.CREATING and live.handle.job is running
    assert live.handle.jobs == (made, running)
    undated = job(9, state=RUNNING, ownership=OTHER_INPUTS)
    del undated["createTime"]
    undated["labels"] = MARKER.labels("numbers", OTHER_INPUTS, job_scope(undated))
    live = lives([undated, job(1, made=7)], [model(7)])["numbers"]  # no createTime: the oldest
    assert live.state is LiveState.ACTIVE and live.handle.jobs[0] is undated


def test_a_model_labelled_as_an_earlier_release_bound_it_is_the_ids_as_legacy() -> None:
    body = model(7, key=None)
    body["labels"] = MARKER.labels("numbers", OWN, model_name(7))  # bound to its name alone
    live = lives([], [body])["numbers"]
    assert live.ownership == replace(OWN, legacy=True) and live.handle.model is body


def test_each_ids_models_are_its_own_and_never_listed_again_as_unmanaged() -> None:
    runs = [job(1, made=7), job(2, key="other", made=8)]
    found = Join(MARKER, runs, [model(7), model(8, key="other")], []).live_models()
    assert [live.key for live in found] == ["numbers", "other"]


def test_an_unverified_model_beside_a_run_in_flight_is_unmanaged_not_a_block() -> None:
    run = job(1, state=RUNNING)
    body = model(8, key=None)
    body["labels"] = LabelMarker([b"another key"]).labels("numbers", OWN, model_scope(body))
    found = Join(MARKER, [run], [body], []).live_models()
    assert [(live.key, live.address) for live in found] == [("numbers", "vertex/numbers"), ("model-8", model_name(8))]


def test_a_model_stripped_of_its_labels_beside_the_ids_model_says_so() -> None:
    runs = [job(1, made=7), job(2, made=8, ownership=OTHER_INPUTS)]
    stripped = model(7, key=None)
    found = lives(runs, [stripped, model(8, ownership=OTHER_INPUTS)])
    assert set(found) == {"numbers", "model-7"}
    assert found["model-7"].ownership_note == (
        "its reconciler labels were removed (by hand?): it is left alone; to manage it again, import it"
    )


def test_a_model_updated_since_it_was_made_with_its_jobs_copied_labels_is_the_ids_and_managed() -> None:
    run = job(1, made=7)
    copied = model(7, labels={**run["labels"], JOB_ID_LABEL: "1"}, updated="2026-01-05T00:00:00Z")
    live = lives([run], [copied])["numbers"]
    assert (live.ownership, live.ownership_note, live.state) == (OWN, None, LiveState.ACTIVE)
    assert live.handle.model is copied and live.serving == {"job": run["name"], "model": model_name(7)}


def test_a_failed_run_with_no_model_names_no_endpoint_to_ask_even_if_its_endpoint_is_there() -> None:
    run = job(1, state=FAILED, made=7, endpoint=3)
    live = lives([run], [], [endpoint(3)])["numbers"]
    assert live.state is LiveState.FAILED and live.handle.model is None
    assert live.handle.endpoint == "" and live.handle.endpoints == (endpoint_name(3),)


def test_a_legacy_model_beside_one_that_verifies_fully_is_left_alone_saying_why() -> None:
    weak = model(7, key=None)
    weak["labels"] = MARKER.labels("numbers", OWN, model_name(7))  # bound as an earlier release bound it
    found = lives([], [weak, model(8)])
    assert set(found) == {"numbers", "model-7"}
    assert found["numbers"].handle.model == model(8) and found["model-7"].ownership is None
    assert found["model-7"].ownership_note == (
        "its labels are trusted only where that destroys nothing (unsigned although a key is set, or bound as an "
        "earlier release bound them), and its id has a Model whose labels verify fully: it is left alone, never "
        "served from or deleted; to manage it, import it"
    )
