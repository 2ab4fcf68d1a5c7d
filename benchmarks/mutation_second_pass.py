"""The second pass of benchmarks/mutation.sh: the survivors of mutmut's run against
the tests that start the CLI as a child process, then the score per module.

Why a second pass: mutmut first runs the selected tests once with
MUTANT_UNDER_TEST=stats to learn which tests call which function. A child
process inherits that variable, so each mutated function it calls asks mutmut
for its configuration, from the child's working directory (the test's
repository, with no pyproject.toml): the child dies with "Could not figure out
where the code to mutate is", and what it ran would be lost with it anyway.
So `[tool.mutmut]` deselects those tests, and this pass runs them on each
mutant that survived (or that no test reached): with MUTANT_UNDER_TEST set to
the mutant, the child imports the mutated copy (its PYTHONPATH is the copy's
root, `mutants/`) and runs the mutant too.

Results are kept in mutants/mutmut-second-pass.json, by mutant and the digest
of its mutated file, so a second run only runs what changed.

Usage: python benchmarks/mutation_second_pass.py [module ...]
       (module: a path such as reconciler/apply/executor.py; default: all mutated)
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "mutants"
CACHE = MUTANTS / "mutmut-second-pass.json"
PER_RUN_SECONDS = 300  # one mutant against its child-process tests; they take under 40 s
WORKERS = int(os.environ.get("MUTMUT_CHILDREN", "2"))  # runs at once: the machine is shared

# The tests deselected in [tool.mutmut] (they start the CLI as a child process).
VERTEX_CHILD_TESTS = [
    "tests/backends/vertex/test_faults.py::test_sigkill_during_the_upload_or_the_create_then_apply_again_makes_one_job",
    "tests/backends/vertex/test_faults.py::test_sigkill_during_the_wait_then_apply_again_waits_for_the_same_job",
    "tests/backends/vertex/test_faults.py::test_two_applies_at_once_make_one_job",
    "tests/backends/vertex/test_faults.py::test_ctrl_c_during_the_wait_leaves_the_job_running",
    "tests/backends/vertex/test_faults.py::test_pruning_a_model_still_tuning_cancels_its_job_first",
    "tests/backends/vertex/test_ownership_safety.py::test_two_applies_replacing_one_model_at_once_leave_exactly_one_model",
    "tests/backends/vertex/test_gate_faults.py::test_a_kill_while_the_candidate_is_scored_leaves_the_old_model_serving",
]
# The Gemini side's child-process tests of apply (kills, signals, concurrent applies).
GEMINI_CHILD_TESTS = [
    "tests/integration/test_apply_crashes.py::test_killed_between_the_delete_and_the_create_of_a_replace",
    "tests/integration/test_apply_crashes.py::test_killed_right_after_the_first_create_request",
    "tests/integration/test_apply_crashes.py::test_killed_while_waiting_for_a_tuning_run",
    "tests/integration/test_apply_crashes.py::test_two_applies_at_once_make_each_model_once",
    "tests/integration/test_apply_interrupt.py::test_a_signal_during_a_wait_stops_and_the_next_apply_resumes",
    "tests/integration/test_apply_interrupt.py::test_reconcile_watch_converges_then_stops_cleanly_on_sigterm",
    "tests/integration/test_plan_truth.py::test_concurrent_applies_count_each_model_created_once",
    "tests/integration/test_apply_outcomes.py::test_without_a_terminal_apply_refuses_unless_yes",
]
# The Bedrock side's (a kill during the upload, the create, the wait), deselected in [tool.mutmut] too.
BEDROCK_CHILD_TESTS = [
    "tests/backends/bedrock/test_sigkill.py::test_killed_during_the_upload_then_applied_again",
    "tests/backends/bedrock/test_sigkill.py::test_killed_during_the_create_then_applied_again",
    "tests/backends/bedrock/test_sigkill.py::test_killed_during_the_wait_then_applied_again",
]
SUBPROCESS_TESTS = {
    "reconciler/backends/vertex/": VERTEX_CHILD_TESTS,
    "reconciler/backends/gemini/": GEMINI_CHILD_TESTS,
    # the neutral core: every backend
    "reconciler/": VERTEX_CHILD_TESTS + GEMINI_CHILD_TESTS + BEDROCK_CHILD_TESTS,
}
KILLED = {1, 3}  # mutmut's: a test failed, or pytest's internal error
TIMEOUTS = {36, -24, 24, 152, 255}
# What a test run's exit code means here (2: interrupted, 5: nothing collected).
STATUS = {0: "survived", 33: "no tests", 34: "skipped", 37: "caught by type check"}


def child_tests(module: str) -> list[str]:
    return next(tests for prefix, tests in SUBPROCESS_TESTS.items() if module.startswith(prefix))


def mutated_modules() -> dict[str, dict[str, int | None]]:
    """Each mutated module's results from mutmut's run, by mutant name."""
    modules = {}
    for meta in sorted(MUTANTS.glob("reconciler/**/*.py.meta")):
        module = str(meta.relative_to(MUTANTS)).removesuffix(".meta")
        modules[module] = json.loads(meta.read_text())["exit_code_by_key"]
    return modules


def digest(module: str) -> str:
    return hashlib.sha256((MUTANTS / module).read_bytes()).hexdigest()[:16]


def run_child_tests(mutant: str, tests: list[str]) -> int:
    """The child-process tests with this mutant active; pytest's exit code. A
    failure counts only when a second run fails too: these tests kill and race
    processes, and a machine under load can fail one once (logged as flaky)."""
    code = _run_once(mutant, tests)
    if code in KILLED and _run_once(mutant, tests) not in KILLED:
        print(f"  {mutant}: failed once, passed again (flaky under load): not counted", flush=True)
        return 0
    return code


def check_baseline(tests: list[str]) -> None:
    """The tests pass with no mutant, or nothing they say about a mutant means anything."""
    code = _run_once("", tests)
    if code != 0:
        sys.exit(f"the child-process tests fail with no mutant (exit {code}): {' '.join(tests)}")


def _run_once(mutant: str, tests: list[str]) -> int:
    env = {**os.environ, "MUTANT_UNDER_TEST": mutant, "NO_GCE_CHECK": "True"}
    env.pop("PYTHONPATH", None)  # the tests give their children mutants/ as PYTHONPATH
    command = [sys.executable, "-m", "pytest", "--rootdir=.", "-p", "no:cacheprovider", "-p", "no:randomly"]
    command += ["-x", "-q", "--timeout", "60", *tests]
    try:
        done = subprocess.run(command, cwd=MUTANTS, env=env, capture_output=True, timeout=PER_RUN_SECONDS)
    except subprocess.TimeoutExpired:
        return 36
    return done.returncode


def second_pass(modules: dict[str, dict[str, int | None]], wanted: list[str]) -> dict[str, dict[str, int]]:
    cache = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    todo = [
        (f"{mutant} {digest(module)}", mutant, child_tests(module))
        for module, results in modules.items()
        if not wanted or module in wanted
        for mutant, code in results.items()
        if code in (0, 33) and f"{mutant} {digest(module)}" not in cache
    ]
    print(f"second pass: {len(todo)} mutants against the child-process tests", flush=True)
    for tests in {tuple(tests) for _, _, tests in todo}:
        check_baseline(list(tests))
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        runs = {pool.submit(run_child_tests, mutant, tests): (key, mutant) for key, mutant, tests in todo}
        for run in as_completed(runs):
            key, mutant = runs[run]
            cache[key] = run.result()
            CACHE.write_text(json.dumps(cache, indent=1, sort_keys=True))
            print(f"  {mutant}: {'killed' if cache[key] in KILLED else 'exit ' + str(cache[key])}", flush=True)
    return {
        module: {m: cache[f"{m} {digest(module)}"] for m, c in results.items() if f"{m} {digest(module)}" in cache}
        for module, results in modules.items()
    }


def final_status(first: int | None, second: int | None) -> str:
    if first in KILLED or second in KILLED:
        return "killed"
    if first in TIMEOUTS or second in TIMEOUTS:
        return "timeout"
    if first is None:
        return "not checked"
    return STATUS.get(first, "suspicious")


def report(modules: dict[str, dict[str, int | None]], second: dict[str, dict[str, int]], wanted: list[str]) -> None:
    left: list[str] = []
    totals: Counter[str] = Counter()
    print(f"\n{'module':44} {'killed':>13} {'score':>7}  by child-process tests  other")
    for module, results in modules.items():
        if wanted and module not in wanted:
            continue
        statuses = {m: final_status(code, second.get(module, {}).get(m)) for m, code in results.items()}
        counts = Counter(statuses.values())
        by_children = sum(1 for m, s in statuses.items() if s == "killed" and results[m] not in KILLED)
        killed = counts["killed"] + counts["timeout"]
        other = ", ".join(f"{n} {s}" for s, n in counts.items() if s not in ("killed", "timeout"))
        print(
            f"{module:44} {killed:5} / {len(results):5} {100 * killed / len(results):6.1f}%  {by_children:22}  {other}"
        )
        totals.update(killed=killed, total=len(results))
        left += [f"{m}: {s}" for m, s in statuses.items() if s not in ("killed", "timeout")]
    if totals["total"]:
        print(f"{'all':44} {totals['killed']:5} / {totals['total']:5} {100 * totals['killed'] / totals['total']:6.1f}%")
    print("\nLeft (mutmut show NAME prints the change):")
    print("\n".join(f"  {line}" for line in left) or "  none")


def main(argv: list[str]) -> None:
    modules = mutated_modules()
    if not modules:
        sys.exit("no mutmut results in mutants/: run benchmarks/mutation.sh first")
    second = second_pass(modules, argv)
    report(modules, second, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
