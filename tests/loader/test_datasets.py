"""Reading and checking dataset files: formats, line numbers, limits and warnings."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from reconciler.backends.gemini.rules import DATASET_LIMITS as GEMINI_LIMITS
from reconciler.loader import readers
from reconciler.loader.datasets import (
    Keys,
    Row,
    file_field_namer,
    read_batches,
    read_rows,
)
from reconciler.loader.datasets import scan as scan_with
from reconciler.loader.problems import Problem


def scan(*args, **kwargs):  # type: ignore[no-untyped-def]
    """The scan under the Gemini API's limits, which these cases were written for."""
    return scan_with(*args, limits=GEMINI_LIMITS, **kwargs)


@pytest.fixture(autouse=True, params=["orjson", "json module"])
def chunk_parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test here runs with orjson and with the fallback used when it is not installed."""
    if request.param == "orjson":
        monkeypatch.setattr(readers, "_parse_chunk", pytest.importorskip("orjson").loads)
    else:
        monkeypatch.setattr(readers, "_parse_chunk", json.loads)


def test_without_orjson_the_json_module_parses_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "orjson", None)  # what `import orjson` sees when it is missing
    assert readers._chunk_parser() is json.loads
    monkeypatch.delitem(sys.modules, "orjson")
    orjson = pytest.importorskip("orjson")  # the `fast` extra, in the test extra too
    assert readers._chunk_parser() is orjson.loads


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


DEFAULT_KEYS = Keys()


def read(path: Path, keys: Keys = DEFAULT_KEYS) -> list[Row | Problem]:
    return list(read_rows(path, keys, path.name))


def problems_of(path: Path, keys: Keys = DEFAULT_KEYS) -> list[str]:
    result = scan(read_batches(path, keys, path.name), path.stat().st_size, path.name, file_field_namer(keys))
    return [str(p) for p in result.problems]


def test_jsonl_rows_carry_their_line_and_skip_blank_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "d.jsonl",
        '\ufeff{"text_input": "1", "output": "2"}\n\n  \n{"textInput": "3", "output": "4"}',
    )
    assert read(path) == [Row(1, 0, "1", "2"), Row(4, 1, "3", "4")]


def test_json_list_rows_carry_the_line_each_element_starts_on(tmp_path: Path) -> None:
    content = '[\n  {"text_input": "1",\n   "output": "2"},\n\n  {"text_input": "3", "output": "4"}\n]\n'
    path = write(tmp_path, "d.json", content)
    assert read(path) == [Row(2, 0, "1", "2"), Row(5, 1, "3", "4")]


def test_json_examples_object_is_read_whatever_the_key_order(tmp_path: Path) -> None:
    content = json.dumps({"name": "x", "examples": [{"output": "2", "text_input": "1"}], "more": [1]})
    assert read(write(tmp_path, "d.json", content)) == [Row(1, 0, "1", "2")]


def test_an_empty_json_list_has_no_rows(tmp_path: Path) -> None:
    assert read(write(tmp_path, "d.json", " [ ] ")) == []


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ('[{"text_input": "1", "output": "2"}', 1, "unexpected end of file"),
        ('[\n{"text_input": "1", "output": "2"}\n]\n]', 4, "unexpected text after the end"),
        ('"examples"', 1, 'expected a list of examples or {"examples": [...]}'),
        ('{"examples": {"examples": []}}', 1, "examples must be a list"),
        ('{\n"data": []\n}', 3, 'no "examples" key'),
        ('[\n{"text_input": "1" "output": "2"}]', 2, "malformed JSON: Expecting ','"),
    ],
)
def test_malformed_json_is_reported_at_its_line(tmp_path: Path, content: str, line: int, message: str) -> None:
    problems = [p for p in read(write(tmp_path, "d.json", content)) if isinstance(p, Problem)]
    assert len(problems) == 1
    assert problems[0].line == line
    assert message in problems[0].message


def test_invalid_utf8_in_json_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "d.json", b'[\n{"text_input": "1",\n "output": "\xc3("}]')
    (problem,) = read(path)
    assert isinstance(problem, Problem)
    assert (problem.line, problem.message) == (3, "invalid UTF-8 (byte 0xc3)")


def test_csv_rows_start_where_their_record_starts(tmp_path: Path) -> None:
    content = 'text_input,output,notes\r\n"multi\nline",2,x\r\n\r\n3,"4, and more",y\r\n'
    path = write(tmp_path, "d.csv", content)
    assert read(path) == [Row(2, 0, "multi\nline", "2"), Row(5, 1, "3", "4, and more")]


def test_csv_keeps_spaces_inside_fields(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", "\ufefftextInput,output\n 1 ,2 \n")
    assert read(path) == [Row(2, 0, " 1 ", "2 ")]


def test_csv_invalid_utf8_is_reported_and_the_rest_still_read(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", b"text_input,output\n1,\xff\n3,4\n")
    rows = read(path)
    assert [str(r) for r in rows if isinstance(r, Problem)] == ["d.csv:2: invalid UTF-8 (byte 0xff)"]
    assert Row(3, 1, "3", "4") in rows


def test_an_empty_csv_has_no_rows_and_no_problem(tmp_path: Path) -> None:
    assert read(write(tmp_path, "d.csv", "")) == []


def test_configured_keys_replace_the_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "d.jsonl", '{"q": "1", "a": "2", "text_input": "ignored"}\n')
    assert read(path, Keys.of("q", "a")) == [Row(1, 0, "1", "2")]


def test_text_input_wins_over_textinput_when_both_are_present(tmp_path: Path) -> None:
    path = write(tmp_path, "d.jsonl", '{"textInput": "b", "text_input": "a", "output": "2"}\n')
    assert read(path) == [Row(1, 0, "a", "2")]


def test_limits_are_checked_per_row(tmp_path: Path) -> None:
    rows = [
        {"text_input": "x" * 40_000, "output": "y" * 5_000},  # exactly at the limits: fine
        {"text_input": "x" * 40_001, "output": "   "},
    ]
    path = write(tmp_path, "d.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    assert problems_of(path) == [
        "d.jsonl:2: output: must not be empty",
        "d.jsonl:2: text_input: is 40,001 characters, the API takes at most 40,000",
    ]


def test_duplicate_examples_are_warnings_naming_the_first(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", "text_input,output\n1,2\n3,4\n1,2\n")
    result = scan(read_batches(path, Keys(), "d.csv"), 0, "d.csv", file_field_namer(Keys()))
    assert [(p.severity, str(p)) for p in result.problems] == [
        ("warning", "d.csv:4: duplicate of the example at line 2")
    ]


def test_a_broken_file_reports_a_bounded_number_of_problems(tmp_path: Path) -> None:
    lines = [f'{{"text_input": "{i}", "output": ""}}' for i in range(200)]
    lines += [f'{{"text_input": "{i}", "output": "{i}", "oops"}}' for i in range(200)]
    problems = problems_of(write(tmp_path, "d.jsonl", "\n".join(lines)))
    assert problems[:3] == [f"d.jsonl:{n}: output: must not be empty" for n in (1, 2, 3)]
    assert "d.jsonl: output: must not be empty on 197 more rows" in problems
    assert len(problems) <= 60


def test_the_summary_counts_characters_and_bytes(tmp_path: Path) -> None:
    path = write(tmp_path, "d.jsonl", '{"text_input": "héllo", "output": "wörld!"}\n')
    summary = scan(read_batches(path, Keys(), "d"), path.stat().st_size, "d", file_field_namer(Keys())).summary
    assert (summary.examples, summary.input_characters, summary.output_characters) == (1, 5, 6)
    assert summary.size_bytes == path.stat().st_size


def test_a_lone_surrogate_escape_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    rows = [json.dumps({"text_input": str(i), "output": str(i)}) for i in range(3)]
    rows[1] = '{"text_input": "\\ud800", "output": "x"}'
    path = write(tmp_path, "d.jsonl", "\n".join(rows) + "\n")
    assert problems_of(path) == ["d.jsonl:2: text is not valid Unicode (a lone surrogate)"]


def test_jsonl_chunks_keep_line_numbers_across_chunk_boundaries(tmp_path: Path) -> None:
    # Well past one parsing chunk (1 MB), with a bad row in the second chunk.
    rows = [json.dumps({"text_input": f"{i} " + "x" * 500, "output": str(i)}) for i in range(4000)]
    rows[3000] = '{"text_input": "3000"}'
    path = write(tmp_path, "d.jsonl", "\n".join(rows) + "\n")
    assert problems_of(path) == ["d.jsonl:3001: output: missing"]
    read_back = [row for row in read(path) if isinstance(row, Row)]
    assert [(row.line, row.position) for row in read_back[2999:3001]] == [(3000, 2999), (3002, 3000)]
    assert len(read_back) == 3999


def test_jsonl_without_a_final_newline_keeps_its_last_row(tmp_path: Path) -> None:
    path = write(tmp_path, "d.jsonl", '{"text_input": "1", "output": "2"}\n{"text_input": "3", "output": "4"}')
    assert read(path)[-1] == Row(2, 1, "3", "4")


def _jsonl(pairs: list[tuple[str, str]], pad: int = 0) -> str:
    return "".join(json.dumps({"text_input": i + " " * pad, "output": o}) + "\n" for i, o in pairs)


_CLEAN = [(str(n), str(n + 1)) for n in range(50)]
# Past one 1 MB parsing chunk, so the second half arrives as a second batch.
_TWO_CHUNKS = [(f"{n}", str(n)) for n in range(2400)]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (_jsonl(_CLEAN), []),
        (
            _jsonl([*_CLEAN, _CLEAN[3], _CLEAN[3]]),
            ["d.jsonl:51: duplicate of the example at line 4", "d.jsonl:52: duplicate of the example at line 4"],
        ),
        (_jsonl([*_TWO_CHUNKS, _TWO_CHUNKS[0]], pad=500), ["d.jsonl:2401: duplicate of the example at line 1"]),
        (
            _jsonl([*_CLEAN[:10], ("x", "y" * 5_001), *_CLEAN[10:]]),
            ["d.jsonl:11: output: is 5,001 characters, the API takes at most 5,000"],
        ),
        (
            _jsonl([*_CLEAN[:10], ("x" * 40_001, "y"), *_CLEAN[10:]]),
            ["d.jsonl:11: text_input: is 40,001 characters, the API takes at most 40,000"],
        ),
        (
            _jsonl([*_CLEAN[:10], ("x", ""), ("z", " \t"), *_CLEAN[10:]]),
            ["d.jsonl:11: output: must not be empty", "d.jsonl:12: output: must not be empty"],
        ),
        (
            _jsonl(_CLEAN) + '{"text_input": "\\ud800", "output": "x"}\n',
            ["d.jsonl:51: text is not valid Unicode (a lone surrogate)"],
        ),
    ],
    ids=["clean", "duplicates", "duplicate-across-chunks", "long-output", "long-input", "empty-outputs", "surrogate"],
)
def test_whole_batch_checks_agree_with_row_by_row_checks(tmp_path: Path, content: str, expected: list[str]) -> None:
    """A clean JSONL chunk is checked and hashed as whole lists; any problem in it
    sends it row by row. Either way the summary and the problems are the same."""
    path = write(tmp_path, "d.jsonl", content)
    size = path.stat().st_size
    batched = scan(read_batches(path, DEFAULT_KEYS, "d.jsonl"), size, "d.jsonl", file_field_namer(DEFAULT_KEYS))
    rows = list(read_rows(path, DEFAULT_KEYS, "d.jsonl"))
    one_by_one = scan([rows], size, "d.jsonl", file_field_namer(DEFAULT_KEYS))
    assert [str(p) for p in batched.problems] == expected
    assert batched == one_by_one
    assert batched.summary.examples == sum(1 for row in rows if isinstance(row, Row))
