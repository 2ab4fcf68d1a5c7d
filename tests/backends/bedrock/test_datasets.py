"""The JSONL uploaded for Amazon Bedrock: each example in its base model's
format, in one canonical order (reordering the examples changes no byte, so
the object's content address and the fingerprint stay), named by its SHA-256."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.backends.bedrock.catalogue import CATALOGUE
from reconciler.backends.bedrock.datasets import canonical_jsonl, object_name
from reconciler.backends.bedrock.formats import BedrockFormat, example_format
from reconciler.loader.contents import pair_line
from reconciler.model.errors import UserError
from reconciler.model.manifest import Customization
from tests.backends.bedrock.helpers import NOVA, loaded, manifest, pairs, settings, turns, write_repo

TITAN = "amazon.titan-text-express-v1:0:8k"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0:200k"
LLAMA = "meta.llama3-1-8b-instruct-v1:0:128k"
WEST = settings(region="us-west-2", baseModels={NOVA: {"regions": ["us-west-2"]}})


def written(tmp_path: Path, rows: list[dict[str, Any]], base: str = NOVA, **spec: Any) -> list[dict[str, Any]]:
    root = write_repo(tmp_path, [manifest("numbers", baseModel=base, **spec)], {"numbers": rows})
    model = loaded(root, WEST)["numbers"]
    data = canonical_jsonl(model, CATALOGUE[base])
    assert data.endswith(b"\n") and b"\n\n" not in data
    return [json.loads(line) for line in data.splitlines()]


def test_amazon_nova_reads_the_conversation_schema_with_the_system_instruction(tmp_path: Path) -> None:
    rows = written(tmp_path, pairs(8), systemInstruction="Answer in one line.")
    assert rows[0] == {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [{"text": "Answer in one line."}],
        "messages": [
            {"role": "user", "content": [{"text": rows[0]["messages"][0]["content"][0]["text"]}]},
            {"role": "assistant", "content": [{"text": rows[0]["messages"][1]["content"][0]["text"]}]},
        ],
    }
    assert sorted(row["messages"][0]["content"][0]["text"] for row in rows) == [f"question {i}" for i in range(8)]
    assert all(
        row["messages"][1]["content"][0]["text"]
        == row["messages"][0]["content"][0]["text"].replace("question", "answer")
        for row in rows
    )


def test_amazon_nova_keeps_a_conversation_and_its_own_system_instruction(tmp_path: Path) -> None:
    conversation = turns("hello", "hi", "how are you?", "well")
    conversation["systemInstruction"] = {"parts": [{"text": "Be kind."}]}
    rows = written(tmp_path, [conversation, *[turns(f"q{i}", f"a{i}") for i in range(7)]])
    multi = next(row for row in rows if len(row["messages"]) == 4)
    assert multi["system"] == [{"text": "Be kind."}]
    assert [m["role"] for m in multi["messages"]] == ["user", "assistant", "user", "assistant"]
    assert [m["content"] for m in multi["messages"]][2] == [{"text": "how are you?"}]
    assert all("system" not in row for row in rows if row is not multi)


def test_titan_and_llama_read_prompt_completion_pairs(tmp_path: Path) -> None:
    rows = written(tmp_path, pairs(3), base=TITAN)
    assert sorted(rows, key=lambda row: row["prompt"]) == [
        {"prompt": f"question {i}", "completion": f"answer {i}"} for i in range(3)
    ]
    assert list(rows[0]) == ["prompt", "completion"]


def test_claude_3_haiku_reads_messages_with_string_content(tmp_path: Path) -> None:
    assert written(tmp_path / "pair", pairs(1), base=HAIKU, systemInstruction="Be brief.") == [
        {
            "system": "Be brief.",
            "messages": [{"role": "user", "content": "question 0"}, {"role": "assistant", "content": "answer 0"}],
        }
    ]
    conversation = written(tmp_path / "conversation", [turns("a", "b", "c", "d")], base=HAIKU)
    assert conversation == [
        {
            "messages": [
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": "b"},
                {"role": "user", "content": "c"},
                {"role": "assistant", "content": "d"},
            ]
        }
    ]


def test_continued_pre_training_uploads_the_texts(tmp_path: Path) -> None:
    texts = [{"text_input": "", "output": f"passage {i}"} for i in range(3)]
    rows = written(tmp_path, texts, base=TITAN, customization="continuedPreTraining")
    assert sorted(rows, key=str) == [{"input": f"passage {i}"} for i in range(3)]


def test_a_distillation_uploads_prompts_in_the_conversation_schema_for_any_student(tmp_path: Path) -> None:
    rows = written(
        tmp_path, pairs(2), base=LLAMA, customization="distillation", teacherModel="meta.llama3-1-70b-instruct-v1:0"
    )
    assert {row["schemaVersion"] for row in rows} == {"bedrock-conversation-2024"}


def test_reordering_the_examples_changes_no_byte(tmp_path: Path) -> None:
    rows = pairs(20)
    first = write_repo(tmp_path / "a", [manifest("numbers")], {"numbers": rows})
    second = write_repo(tmp_path / "b", [manifest("numbers")], {"numbers": list(reversed(rows))})
    models = [loaded(root, WEST)["numbers"] for root in (first, second)]
    data = [canonical_jsonl(model, CATALOGUE[NOVA]) for model in models]
    assert data[0] == data[1]
    assert models[0].dataset.digest == models[1].dataset.digest
    # ... and the order is the fingerprint's, not the file's: the first file's order is not kept.
    assert [json.loads(line)["messages"][0]["content"][0]["text"] for line in data[0].splitlines()] != [
        row["text_input"] for row in rows
    ]


def test_validation_data_is_written_too(tmp_path: Path) -> None:
    root = write_repo(
        tmp_path,
        [manifest("numbers", validationData={"file": "../datasets/held.jsonl"})],
        {"numbers": pairs(8), "held": pairs(2, 100)},
    )
    model = loaded(root, WEST)["numbers"]
    held = canonical_jsonl(model, CATALOGUE[NOVA], validation=True)
    assert b"question 100" in held and b'question 1"' not in held


def test_the_object_is_named_by_its_sha256() -> None:
    data = b'{"prompt":"a","completion":"b"}\n'
    assert object_name("reconciler/datasets/", data) == f"reconciler/datasets/{hashlib.sha256(data).hexdigest()}.jsonl"
    assert object_name("", data) == f"{hashlib.sha256(data).hexdigest()}.jsonl"


def test_an_example_the_format_cannot_hold_is_refused_not_written(tmp_path: Path) -> None:
    # A model tuned from another manifest's is checked against the root's format only at apply.
    root = write_repo(
        tmp_path,
        [manifest("root", baseModel=LLAMA), manifest("numbers", baseModel=None, sourceModel="root")],
        {"root": pairs(1), "numbers": [turns("a", "b", "c", "d")]},
    )
    model = loaded(root, settings(region="us-west-2"))["numbers"]
    with pytest.raises(UserError, match="takes one exchange an example here"):
        canonical_jsonl(model, CATALOGUE[LLAMA])


# ------------------------------------------------------------------ the formats' checks, one by one

NOVA_FT = example_format(CATALOGUE[NOVA], Customization.FINE_TUNING)
TITAN_FT = example_format(CATALOGUE[TITAN], Customization.FINE_TUNING)
TITAN_CPT = example_format(CATALOGUE[TITAN], Customization.CONTINUED_PRE_TRAINING)
HAIKU_FT = example_format(CATALOGUE[HAIKU], Customization.FINE_TUNING)


def contents(*texts: str, system: str | None = None) -> bytes:
    row = turns(*texts)
    if system is not None:
        row = {"systemInstruction": {"parts": [{"text": system}]}, **row}
    return json.dumps(row).encode() + b"\n"


@pytest.mark.parametrize("keyword", ["User:", "Bot:", "Assistant:", "System:", "<image>", "<video>", "[EOS]"])
def test_amazon_nova_s_reserved_keywords_are_refused_in_user_and_system_prompts(keyword: str) -> None:
    assert NOVA_FT.pair_problem(f"say {keyword} now", "ok") is not None
    assert NOVA_FT.pair_problem("a question", f"an answer with {keyword}") is None  # the answer may hold them
    assert NOVA_FT.contents_problem(contents("a", "b", f"{keyword} c", "d")) == (
        "contents[2].parts[0].text",
        NOVA_FT.contents_problem(contents("a", "b", f"{keyword} c", "d"))[1],  # type: ignore[index]
    )
    assert NOVA_FT.contents_problem(contents("a", "b", system=keyword))[0] == "systemInstruction.parts[0].text"  # type: ignore[index]
    assert TITAN_FT.pair_problem(f"say {keyword}", "ok") is None  # a Nova rule only


def test_prompt_completion_holds_one_exchange_and_no_system_instruction() -> None:
    assert TITAN_FT.contents_problem(contents("a", "b")) is None
    assert TITAN_FT.contents_problem(contents("a", "b", "c", "d"))[0] == "contents"  # type: ignore[index]
    assert TITAN_FT.contents_problem(contents("a", "b", system="s"))[0] == "systemInstruction"  # type: ignore[index]
    assert HAIKU_FT.contents_problem(contents("a", "b", "c", "d", system="s")) is None


def test_continued_pre_training_holds_texts_only() -> None:
    assert TITAN_CPT.pair_problem("", "text") is None
    assert TITAN_CPT.pair_problem("a prompt", "text")[0] == "input"  # type: ignore[index]
    assert TITAN_CPT.contents_problem(contents("a", "b"))[0] == "contents"  # type: ignore[index]
    assert TITAN_CPT.line(pair_line("", "text")) == b'{"input":"text"}\n'
    with pytest.raises(UserError):
        TITAN_CPT.line(pair_line("a prompt", "text"))


def test_a_format_is_frozen_hashable_and_has_a_stable_repr() -> None:
    # The loader caches a dataset's check under its limits: the format is part of the key.
    again = example_format(CATALOGUE[NOVA], Customization.FINE_TUNING)
    assert again == NOVA_FT and hash(again) == hash(NOVA_FT) and repr(again) == repr(NOVA_FT)
    assert "0x" not in repr(NOVA_FT)
    assert isinstance(NOVA_FT, BedrockFormat) and NOVA_FT != TITAN_FT
