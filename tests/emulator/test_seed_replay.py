"""Replay the real server's recorded calls (tests/emulator/seeds) against the
emulator and compare the status and the shape of each answer with the
recording. Ids, free text and numbers that vary are normalised; enums, @type,
totalSteps, list lengths and order, and the fractional digits of timestamps
are compared as they are.

- An answer about one object must have exactly the recorded shape, apart from
  fields the API added after the recording (LATER_FIELDS).
- A list of the account is replayed after the seed's other calls, and must
  show nothing the recorded list did not (which also held older models).
- The clock is moved past every run before a call whose recording shows a
  finished run (ACTIVE, or an inference call); otherwise runs are in progress.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from reconciler.emulator import EmulatorServer
from tests.emulator.seed_calls import RecordedCall, recorded_calls, seed_files

DAY = 86_400.0
HEADERS = {"Authorization": "Bearer recorded-token", "x-goog-user-project": "my-project-id"}
# Fields the API added after the 2023–2024 recordings (usageMetadata: mid-2024).
LATER_FIELDS = frozenset({"usageMetadata"})
EXACT_STRINGS = frozenset({"@type", "state", "finishReason", "category", "role"})
EXACT_NUMBERS = frozenset({"totalSteps", "index"})
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.(\d+))?Z")
VARIABLES = re.compile(r"\$\{?\w+\}?|\{[^}]*\}")


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


# --- what the seeds hold ---------------------------------------------------------------------

# seed → (calls kept, calls skipped as damaged): pins the parser to the seeds.
EXPECTED_PARSE = {
    "000_3a6869ce3ae98612.txt": (9, 0),
    "001_e8ec38b47a05d971.txt": (0, 0),  # a Python SDK walk-through: no HTTP call
    "002_da2019ebf9f2b748.txt": (9, 0),
    "003_2d4708e63f6b2179.txt": (0, 0),  # a concept page
    "004_28206861bddb4575.txt": (2, 5),  # a copy whose bodies lost their brackets
}


def test_the_seeds_hold_the_recorded_calls() -> None:
    found = {}
    for seed in seed_files():
        calls, skipped = recorded_calls(seed)
        found[seed.name] = (len(calls), len(skipped))
    assert found == EXPECTED_PARSE


def test_the_tutorial_bodies_are_the_uploaded_bytes_with_trailing_commas() -> None:
    creates = [
        call
        for seed in seed_files()
        for call in recorded_calls(seed)[0]
        if call.client == "curl" and call.method == "POST" and call.raw_body and call.path.endswith("/tunedModels")
    ]
    assert len(creates) == 2
    for create in creates:
        assert re.search(r",\s*}", create.raw_body or ""), create.where


# --- replay ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", seed_files(), ids=lambda seed: seed.name)
def test_replay_the_recorded_calls(seed: Path, make_emulator) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    server: EmulatorServer = make_emulator(clock=clock, step_seconds=1.0, require_auth=True)
    calls, _ = recorded_calls(seed)
    variables: dict[str, str] = {}
    for recorded in [c for c in calls if not c.lists] + [c for c in calls if c.lists]:
        path = _resolve(recorded.path, variables)
        if path is None:  # made by a call the seed damaged
            continue
        if _shows_a_finished_run(recorded):
            clock.now += DAY
        response = _send(server.url, recorded, path)
        assert response.status_code == 200, f"{recorded.where}: {response.text}"
        answer = response.json()
        _remember(recorded, answer, variables)
        _compare(recorded, answer)


def _resolve(path: str, variables: dict[str, str]) -> str | None:
    resolved = VARIABLES.sub(lambda match: variables.get(match.group(0), match.group(0)), path)
    return None if VARIABLES.search(resolved) else resolved


def _remember(recorded: RecordedCall, answer: Any, variables: dict[str, str]) -> None:
    """The tutorials' variables: curl keeps the created model in $modelname (via
    tunemodel.json), Python in `name` and the operation in `op_json`."""
    if recorded.method != "POST" or not recorded.path.endswith("/tunedModels"):
        return
    model = answer["metadata"]["tunedModel"]
    if recorded.client == "curl":
        variables.update({"${modelname}": model, "$modelname": model})
    else:
        variables.update({"{name}": model, '{op_json["name"]}': answer["name"]})


def _shows_a_finished_run(recorded: RecordedCall) -> bool:
    shown = json.dumps(recorded.answer) + "\n".join(recorded.grep_lines)
    return "ACTIVE" in shown or ":generate" in recorded.path


def _send(url: str, recorded: RecordedCall, path: str) -> requests.Response:
    if recorded.raw_body is not None:  # curl: the very bytes the real server accepted
        data = recorded.raw_body.encode()
        headers = {**HEADERS, "Content-Type": "application/json"}
        return requests.request(recorded.method, url + path, data=data, headers=headers, timeout=10)
    return requests.request(recorded.method, url + path, json=recorded.body, headers=HEADERS, timeout=10)


# --- comparison ------------------------------------------------------------------------------


def _compare(recorded: RecordedCall, answer: Any) -> None:
    if recorded.grep:
        printed = [_line_shape(line) for line in _grep(answer, recorded.grep)]
        expected = [_line_shape(line) for line in recorded.grep_lines]
        if recorded.lists:
            assert set(printed) <= set(expected), recorded.where
        else:
            assert printed == expected, recorded.where
    elif recorded.answer is not None:
        if recorded.lists:
            assert _conforms(_shape(answer), _schema([_shape(recorded.answer)])), recorded.where
        else:
            current = {key: value for key, value in answer.items() if key not in LATER_FIELDS}
            assert _shape(current) == _shape(recorded.answer), recorded.where


def _grep(answer: Any, word: str) -> list[str]:
    # The real API pretty-prints; `grep` saw one field a line.
    return [line.strip() for line in json.dumps(answer, indent=2).splitlines() if word in line]


def _line_shape(line: str) -> tuple[str, Any]:
    key, _, value = line.partition(":")
    text = value.strip().rstrip(",")
    parsed = json.loads(text) if text not in ("{", "[") else text
    return key.strip().strip('"'), json.dumps(_shape(parsed, key.strip().strip('"')))


def _shape(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {name: _shape(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_shape(item, key) for item in value]
    if isinstance(value, bool) or key in EXACT_NUMBERS or key in EXACT_STRINGS:
        return value
    if isinstance(value, (int, float)):
        return "<number>"
    timestamp = TIMESTAMP.fullmatch(value)
    if timestamp:
        return f"<timestamp, {len(timestamp.group(1) or '')} fractional digits>"
    if value.startswith("tunedModels/"):
        return re.sub(r"(tunedModels|operations)/[a-z0-9-]+", r"\1/<id>", value)
    return "<text>"


def _schema(shapes: list[Any]) -> Any:
    """What a set of recorded shapes allows: for objects, the union of their fields."""
    if shapes and all(isinstance(shape, dict) for shape in shapes):
        names = {name for shape in shapes for name in shape}
        return {name: _schema([shape[name] for shape in shapes if name in shape]) for name in names}
    if shapes and all(isinstance(shape, list) for shape in shapes):
        return [_schema([item for shape in shapes for item in shape])]
    return {json.dumps(shape) for shape in shapes}


def _conforms(shape: Any, schema: Any) -> bool:
    if isinstance(shape, dict):
        return isinstance(schema, dict) and all(
            name in schema and _conforms(item, schema[name]) for name, item in shape.items()
        )
    if isinstance(shape, list):
        return isinstance(schema, list) and all(_conforms(item, schema[0]) for item in shape)
    return isinstance(schema, set) and json.dumps(shape) in schema
