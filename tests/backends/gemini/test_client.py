"""The Gemini API client: each call's method, path, query and body, and what it gives back."""

from __future__ import annotations

import platform
from concurrent.futures import ThreadPoolExecutor

import pytest

from reconciler import __version__
from reconciler.backends.gemini.client import GeminiClient, base_model_name, tuned_model_name
from reconciler.client import NotFound, UnexpectedResponse
from reconciler.model.errors import UserError
from tests.client.fakes import API_KEY, FakeApi, Reply, error, pages

OPERATION = "tunedModels/m/operations/abc123"


def models(*ids: str) -> list[dict[str, str]]:
    return [{"name": f"tunedModels/{i}"} for i in ids]


def test_list_reads_every_page_a_thousand_at_a_time(client: GeminiClient, api: FakeApi) -> None:
    api.script("GET", "/v1beta/tunedModels", *pages("tunedModels", models("a", "b"), models("c"), models("d")))
    assert [m["name"] for m in client.list_tuned_models()] == [
        "tunedModels/a",
        "tunedModels/b",
        "tunedModels/c",
        "tunedModels/d",
    ]
    assert client.request_count == 3
    assert [s.query for s in api.seen] == [
        {"pageSize": ["1000"]},
        {"pageSize": ["1000"], "pageToken": ["token-1"]},
        {"pageSize": ["1000"], "pageToken": ["token-2"]},
    ]


def test_list_keeps_the_filter_on_every_page(client: GeminiClient, api: FakeApi) -> None:
    api.script("GET", "/v1beta/tunedModels", *pages("tunedModels", models("a"), models("b")))
    client.list_tuned_models(filter="owner:me")
    assert [s.query["filter"] for s in api.seen] == [["owner:me"], ["owner:me"]]


def test_an_empty_list_omits_its_key(client: GeminiClient, api: FakeApi) -> None:
    api.script("GET", "/v1beta/tunedModels", Reply(200, {}))
    assert client.list_tuned_models() == []


def test_a_page_token_seen_twice_stops_the_list(client: GeminiClient, api: FakeApi) -> None:
    api.script("GET", "/v1beta/tunedModels", Reply(200, {"tunedModels": models("a"), "nextPageToken": "same"}))
    with pytest.raises(UnexpectedResponse, match="repeated page token"):
        client.list_tuned_models()
    assert client.request_count == 2


@pytest.mark.parametrize("given", ["m", "tunedModels/m"])
def test_get_takes_an_id_or_a_name(client: GeminiClient, api: FakeApi, given: str) -> None:
    api.script("GET", "/v1beta/tunedModels/m", Reply(200, {"name": "tunedModels/m"}))
    assert client.get_tuned_model(given) == {"name": "tunedModels/m"}


@pytest.mark.parametrize("bad", ["", "../secrets", "tunedModels/m/extra", "models/m", "tunedModels/", "a b", "m?x=1"])
def test_a_malformed_name_never_reaches_a_url(client: GeminiClient, api: FakeApi, bad: str) -> None:
    with pytest.raises(UserError, match="not a valid tunedModels resource name"):
        client.get_tuned_model(bad)
    assert api.seen == []


def test_names_are_completed_from_ids() -> None:
    assert tuned_model_name("m") == "tunedModels/m"
    assert base_model_name("gemini-1.5-flash-001-tuning") == "models/gemini-1.5-flash-001-tuning"
    assert base_model_name("models/text-bison-001") == "models/text-bison-001"


def test_create_with_an_id_sends_it_and_returns_the_operation(client: GeminiClient, api: FakeApi) -> None:
    operation = {"name": OPERATION, "metadata": {"totalSteps": 38, "tunedModel": "tunedModels/m"}}
    api.script("POST", "/v1beta/tunedModels", Reply(200, operation))
    body = {"displayName": "M", "baseModel": "models/gemini-1.5-flash-001-tuning"}
    assert client.create_tuned_model(body, tuned_model_id="m") == operation
    [seen] = api.seen
    assert seen.query == {"tunedModelId": ["m"]}
    assert seen.body == body
    assert seen.headers["content-type"] == "application/json"


def test_create_without_an_id_sends_none(client: GeminiClient, api: FakeApi) -> None:
    api.script("POST", "/v1beta/tunedModels", Reply(200, {"name": OPERATION}))
    client.create_tuned_model({"displayName": "M"})
    assert api.seen[0].query == {}


def test_an_operation_is_read_on_this_version_first(client: GeminiClient, api: FakeApi) -> None:
    api.script("GET", f"/v1beta/{OPERATION}", Reply(200, {"name": OPERATION, "done": True}))
    assert client.get_operation(OPERATION)["done"] is True
    assert api.paths() == [f"GET /v1beta/{OPERATION}"]


def test_an_operation_falls_back_to_v1_and_stays_there(client: GeminiClient, api: FakeApi) -> None:
    api.script("GET", f"/v1/{OPERATION}", Reply(200, {"name": OPERATION}))
    client.get_operation(OPERATION)
    client.get_operation(OPERATION)
    assert api.paths() == [f"GET /v1beta/{OPERATION}", f"GET /v1/{OPERATION}", f"GET /v1/{OPERATION}"]


def test_an_operation_missing_everywhere_is_not_found(client: GeminiClient, api: FakeApi) -> None:
    with pytest.raises(NotFound, match=f"/v1/{OPERATION}"):
        client.get_operation(OPERATION)
    assert client.request_count == 2


def test_an_operation_error_other_than_404_does_not_fall_back(client: GeminiClient, api: FakeApi) -> None:
    api.script("GET", f"/v1beta/{OPERATION}", error(403, "PERMISSION_DENIED"))
    with pytest.raises(Exception, match="403"):
        client.get_operation(OPERATION)
    assert client.request_count == 1


def test_update_names_exactly_the_masked_fields(client: GeminiClient, api: FakeApi) -> None:
    api.script("PATCH", "/v1beta/tunedModels/m", Reply(200, {"name": "tunedModels/m"}))
    body = {"description": "new", "temperature": 0.5}
    client.update_tuned_model("m", body, ["description", "temperature"])
    [seen] = api.seen
    assert seen.query == {"updateMask": ["description,temperature"]}
    assert seen.body == body


def test_update_without_a_mask_is_refused(client: GeminiClient, api: FakeApi) -> None:
    with pytest.raises(ValueError, match="update_mask"):
        client.update_tuned_model("m", {"description": "x"}, [])
    assert api.seen == []


def test_delete_sends_delete(client: GeminiClient, api: FakeApi) -> None:
    api.script("DELETE", "/v1beta/tunedModels/m", Reply(200, {}))
    client.delete_tuned_model("tunedModels/m")
    assert api.paths() == ["DELETE /v1beta/tunedModels/m"]


def test_permissions_list_create_update_delete(client: GeminiClient, api: FakeApi) -> None:
    base = "/v1beta/tunedModels/m/permissions"
    grant = {"role": "READER", "granteeType": "USER", "emailAddress": "a@example.com"}
    api.script(
        "GET",
        base,
        *pages("permissions", [{"name": "tunedModels/m/permissions/p1"}], [{"name": "tunedModels/m/permissions/p2"}]),
    )
    api.script("POST", base, Reply(200, {"name": "tunedModels/m/permissions/p3", **grant}))
    api.script("PATCH", f"{base}/p3", Reply(200, {"name": "tunedModels/m/permissions/p3"}))
    api.script("DELETE", f"{base}/p3", Reply(200, {}))

    assert len(client.list_permissions("m")) == 2
    assert client.create_permission("m", grant)["role"] == "READER"
    client.update_permission("tunedModels/m/permissions/p3", "WRITER")
    client.delete_permission("tunedModels/m/permissions/p3")

    assert api.paths() == [f"GET {base}", f"GET {base}", f"POST {base}", f"PATCH {base}/p3", f"DELETE {base}/p3"]
    assert api.seen[0].query["pageSize"] == ["1000"]
    assert api.seen[2].body == grant
    assert (api.seen[3].query, api.seen[3].body) == ({"updateMask": ["role"]}, {"role": "WRITER"})


def test_a_permission_needs_its_full_name(client: GeminiClient) -> None:
    with pytest.raises(UserError):
        client.delete_permission("p3")


def test_transfer_ownership_posts_the_new_owner(client: GeminiClient, api: FakeApi) -> None:
    api.script("POST", "/v1beta/tunedModels/m:transferOwnership", Reply(200, {}))
    client.transfer_ownership("m", "new@example.com")
    assert api.seen[0].body == {"emailAddress": "new@example.com"}


def test_generate_content_sends_one_user_turn(client: GeminiClient, api: FakeApi) -> None:
    answer = {"candidates": [{"content": {"parts": [{"text": "LXIV"}], "role": "model"}}]}
    api.script("POST", "/v1beta/tunedModels/m:generateContent", Reply(200, answer))
    assert client.generate_content("m", "LXIII") == answer
    assert api.seen[0].body == {"contents": [{"role": "user", "parts": [{"text": "LXIII"}]}]}


def test_generate_content_reaches_base_models_too(client: GeminiClient, api: FakeApi) -> None:
    api.script("POST", "/v1beta/models/gemini-1.5-flash:generateContent", Reply(200, {}))
    client.generate_content("models/gemini-1.5-flash", "hi")
    assert client.request_count == 1


def test_generate_text_is_on_v1beta3(client: GeminiClient, api: FakeApi) -> None:
    api.script("POST", "/v1beta3/tunedModels/m:generateText", Reply(200, {"candidates": [{"output": "2"}]}))
    assert client.generate_text("m", "1") == {"candidates": [{"output": "2"}]}
    assert api.seen[0].body == {"prompt": {"text": "1"}}


def test_base_models_are_listed_and_read(client: GeminiClient, api: FakeApi) -> None:
    api.script("GET", "/v1beta/models", *pages("models", [{"name": "models/a"}], [{"name": "models/b"}]))
    api.script("GET", "/v1beta/models/a", Reply(200, {"name": "models/a"}))
    assert [m["name"] for m in client.list_base_models()] == ["models/a", "models/b"]
    assert client.get_base_model("a") == {"name": "models/a"}


def test_the_api_version_is_in_every_path(api: FakeApi) -> None:
    client = GeminiClient("https://api.test/", api_version="v1alpha", session=api.session())
    api.script("GET", "/v1alpha/tunedModels/m", Reply(200, {}))
    client.get_tuned_model("m")
    assert api.seen[0].path == "/v1alpha/tunedModels/m"


def test_requests_carry_the_key_header_and_a_user_agent(client: GeminiClient, api: FakeApi) -> None:
    api.script("GET", "/v1beta/tunedModels/m", Reply(200, {}))
    client.get_tuned_model("m")
    headers = api.seen[0].headers
    assert headers["x-goog-api-key"] == API_KEY
    label = f"reconciler/{__version__} gl-python/{platform.python_version()}"
    assert headers["user-agent"] == label
    assert headers["x-goog-api-client"] == label
    assert "authorization" not in headers
    assert api.seen[0].query == {}  # the key never goes in the URL, where logs keep it


def test_a_thread_pool_shares_one_client(client: GeminiClient, api: FakeApi) -> None:
    for i in range(20):
        api.script("GET", f"/v1beta/tunedModels/m{i}", Reply(200, {"name": f"tunedModels/m{i}"}))
    with ThreadPoolExecutor(max_workers=8) as pool:
        names = list(pool.map(lambda i: client.get_tuned_model(f"m{i}")["name"], range(20)))
    assert names == [f"tunedModels/m{i}" for i in range(20)]
    assert client.request_count == 20
