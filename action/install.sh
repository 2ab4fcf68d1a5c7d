#!/usr/bin/env bash
# Install reconciler into a virtual environment of this job, once, and put it on PATH.
#
# The Python is the one the action set up (RECONCILER_PYTHON; the runner's own
# python3 may be too old, or absent). The dependencies come from
# action/requirements.lock, exact versions with their hashes (--require-hashes),
# so a run today and a run in a month install the same thing; then reconciler
# itself, without dependencies:
#   RECONCILER_VERSION set: that release from the package index;
#   empty: the action's own copy ($GITHUB_ACTION_PATH), so a `uses:` of this
#   repository at vX.Y.Z runs exactly the code of that tag (and `uses: ./` the
#   checked-out code).
set -euo pipefail

python="${RECONCILER_PYTHON:-python3}"
action="${GITHUB_ACTION_PATH:?}"
venv="${RUNNER_TEMP:?}/reconciler-venv"
if [ -n "${RECONCILER_VERSION:-}" ]; then
  spec="gemini-tuning-reconciler==${RECONCILER_VERSION#v}"
else
  spec="$action"
fi

# A second use of the action in the same job reuses the environment.
if [ "$(cat "$venv/installed-from" 2>/dev/null)" != "$spec" ]; then
  "$python" -m venv "$venv"
  pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
  "${pip[@]}" --require-hashes -r "$action/action/requirements.lock"
  # The build backend is in the lock: no unhashed download for the build either.
  "${pip[@]}" --no-deps --no-build-isolation "$spec"
  # A release asked for by version must agree with the lock of this action.
  "$venv/bin/python" -m pip check
  printf '%s' "$spec" > "$venv/installed-from"
fi
echo "$venv/bin" >> "${GITHUB_PATH:?}"
"$venv/bin/reconciler" --version
