#!/usr/bin/env bash
# Install reconciler into a virtual environment of this job, once, and put it on PATH.
#
# RECONCILER_VERSION set: that release from the package index. Empty: the
# action's own copy ($GITHUB_ACTION_PATH), so `uses: OWNER/reconciler@vX.Y.Z`
# runs exactly the code of that tag (and `uses: ./` the checked-out code).
set -euo pipefail

venv="${RUNNER_TEMP:?}/reconciler-venv"
if [ -n "${RECONCILER_VERSION:-}" ]; then
  spec="gemini-tuning-reconciler==${RECONCILER_VERSION#v}"
else
  spec="${GITHUB_ACTION_PATH:?}"
fi

# A second use of the action in the same job reuses the environment.
if [ "$(cat "$venv/installed-from" 2>/dev/null)" != "$spec" ]; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$spec"
  printf '%s' "$spec" > "$venv/installed-from"
fi
echo "$venv/bin" >> "${GITHUB_PATH:?}"
"$venv/bin/reconciler" --version
