#!/usr/bin/env bash
# Mutation testing of the planner's decisions, the Gemini trailer codec and the
# retry policy. Not part of the test suite (it runs each of ~1,000 mutants against
# tests/plan, tests/client, tests/apply and the Gemini trailer and client tests;
# about 5 minutes on 2 cores).
#
# mutmut is not in the [test] extra, so CI never installs it; install it in your
# own virtualenv:  pip install 'mutmut>=3.8,<4'
# What is mutated and which tests run is in [tool.mutmut] in pyproject.toml.
# docs/mutation.md records the last score and why each survivor may survive.
#
# Usage: benchmarks/mutation.sh [--fresh]   (--fresh drops mutmut's cached results)
#        MUTMUT_CHILDREN=N sets the parallel workers (default 2: the machine is shared).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v mutmut >/dev/null; then
    echo "mutmut is not installed: pip install 'mutmut>=3.8,<4'" >&2
    exit 2
fi
if [[ "${1:-}" == "--fresh" ]]; then
    rm -rf mutants
fi

mutmut run --max-children "${MUTMUT_CHILDREN:-2}" >/dev/null
# One line per module: killed / total and the survivors, then every survivor.
mutmut results --all true | awk '
    { name = $1; sub(/:$/, "", name); sub(/\.x.*/, "", name); total[name]++ }
    / killed$/ { killed[name]++ }
    / survived$/ { survived[name]++ }
    END {
        for (m in total) {
            printf "%-40s %4d / %4d killed, %d survived\n", m, killed[m], total[m], survived[m]
            all += total[m]; allk += killed[m]
        }
        printf "%-40s %4d / %4d killed (%.1f%%)\n", "all", allk, all, 100 * allk / all
    }' | sort
echo
mutmut results
