"""The official google-generativeai SDK (0.8.x, REST transport), unmodified,
following the tuning tutorial against the emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google.api_core import exceptions

from reconciler.emulator import EmulatorServer

genai = pytest.importorskip("google.generativeai")

EXAMPLES = [{"text_input": str(n), "output": str(n + 1)} for n in range(1, 25)]
BASE = "models/gemini-1.5-flash-001-tuning"


@pytest.fixture
def sdk(make_emulator) -> Iterator[EmulatorServer]:  # type: ignore[no-untyped-def]
    server = make_emulator(seed=1, step_seconds=0.01)
    genai.configure(api_key="test-key", transport="rest", client_options={"api_endpoint": server.url})
    yield server
    genai.configure(api_key="unused", transport="rest")  # forget the emulator's address


def test_tutorial_flow(sdk: EmulatorServer) -> None:
    operation = genai.create_tuned_model(
        source_model=BASE,
        training_data=EXAMPLES,
        id="number-generator",
        display_name="Number generator",
        epoch_count=2,
        batch_size=4,
        learning_rate=0.001,
    )
    assert operation.metadata.total_steps == 12  # ceil(24 * 2 / 4)
    seen = [meta.completed_percent for meta in operation.wait_bar(disable=True)]
    model = operation.result()
    assert model.name == "tunedModels/number-generator"
    assert model.state.name == "ACTIVE"
    assert operation.metadata.completed_percent == 100
    assert all(0 <= percent <= 100 for percent in seen)
    assert len(model.tuning_task.snapshots) == 12

    listed = [m.name for m in genai.list_tuned_models()]
    assert listed == ["tunedModels/number-generator"]
    assert genai.get_tuned_model("tunedModels/number-generator").display_name == "Number generator"

    updated = genai.update_tuned_model("tunedModels/number-generator", {"description": "Counts up."})
    assert updated.description == "Counts up."
    assert genai.get_tuned_model("tunedModels/number-generator").description == "Counts up."

    answer = genai.GenerativeModel("tunedModels/number-generator").generate_content("7")
    assert answer.text == "8"


def test_duplicate_id_is_409_already_exists(sdk: EmulatorServer) -> None:
    genai.create_tuned_model(source_model=BASE, training_data=EXAMPLES, id="taken").result()
    # Over REST, google-api-core picks the exception class from the HTTP code alone:
    # 409 is `Conflict` (AlreadyExists is its gRPC-only subclass), whatever the server says.
    with pytest.raises(exceptions.Conflict, match="already exists") as raised:
        genai.create_tuned_model(source_model=BASE, training_data=EXAMPLES, id="taken")
    assert raised.value.response.json()["error"]["status"] == "ALREADY_EXISTS"


def test_delete_then_not_found(sdk: EmulatorServer) -> None:
    genai.create_tuned_model(source_model=BASE, training_data=EXAMPLES, id="short-lived").result()
    genai.delete_tuned_model("tunedModels/short-lived")
    with pytest.raises(exceptions.NotFound, match="does not exist"):
        genai.get_tuned_model("tunedModels/short-lived")


def test_base_model_lists_tuning_methods(sdk: EmulatorServer) -> None:
    model = genai.get_model(BASE)
    assert "createTunedModel" in model.supported_generation_methods
    assert model.input_token_limit == 16384
    assert model.output_token_limit == 8192
