#!/usr/bin/env bash
# Mutation testing of what decides: the planner, the executor, the Vertex join,
# labels and lock, the ownership fingerprint, the Gemini trailer codec and the
# retry policy. Not part of the test suite. docs/mutation.md says what is mutated,
# which tests run, the last score and why each survivor may survive.
#
# Two passes:
#   1. mutmut, with the tests that exercise these modules ([tool.mutmut] in
#      pyproject.toml); each mutant runs only the tests that called its function;
#   2. benchmarks/mutation_second_pass.py: the survivors against the tests that
#      start the CLI as a child process, which mutmut's first (stats) run cannot
#      run; then the score per module and the mutants left.
#
# mutmut is in the [test] extra (pip install -e '.[test]'). Everything runs under
# nice, with at most MUTMUT_CHILDREN workers (default 2: the machine is shared),
# each test bounded at 60 s and the mutmut run at MUTMUT_BUDGET seconds.
#
# Usage: benchmarks/mutation.sh [--fresh] [MODULE ...]
#   --fresh   drop mutmut's copy and cached results (mutants/): needed after changing
#             only data files such as tests/plan_cases/*.yaml, or the mutated list
#   MODULE    only these, as paths (reconciler/apply/executor.py); default: all
#   MUTMUT_PYTHON=path  the interpreter that has mutmut and the project (default: python)
set -euo pipefail
cd "$(dirname "$0")/.."

python=${MUTMUT_PYTHON:-python}
if ! "$python" -c "import mutmut" 2>/dev/null; then
    echo "mutmut is not installed for $python: pip install -e '.[test]'" >&2
    exit 2
fi
if [[ "${1:-}" == "--fresh" ]]; then
    rm -rf mutants
    shift
fi
# mutmut's names for a module's mutants: reconciler.apply.executor.*
names=()
for module in "$@"; do
    module=${module%.py}
    names+=("${module//\//.}.*")
done

export NO_GCE_CHECK=True
mkdir -p mutants
status=0
nice -n 10 timeout "${MUTMUT_BUDGET:-7200}" \
    "$python" -m mutmut run --max-children "${MUTMUT_CHILDREN:-2}" "${names[@]}" >mutants/run.log 2>&1 || status=$?
# A finished run ends with its rate; anything else (the stats or clean run failed, the budget ran out) is shown.
if ! grep -q "mutations/second" mutants/run.log; then
    tr '\r' '\n' <mutants/run.log | grep -v "^[⠇⠏⠋⠙⠹⠸⠼⠴⠦⠧]" | tail -40 >&2
    echo "mutmut did not finish (exit $status); its log: mutants/run.log" >&2
    exit 1
fi
nice -n 10 "$python" benchmarks/mutation_second_pass.py "$@"
