#!/usr/bin/env bash
# Write action/requirements.lock: the exact, hashed versions the action
# installs (the dependencies in pyproject.toml, with its `bedrock` extra so
# that a repository with `backend: bedrock` runs in the action too, and the
# build backend), for every platform and every Python from 3.11 on, so that a
# run today and a run in a month install the same thing.
#
# The versions already in the lock are kept (uv prefers them): a run changes
# the lock only when pyproject.toml or action/build.in asks for something it
# does not hold. CI runs this and fails if the lock it writes differs from the
# one committed. To upgrade: delete the lock, run this, review the diff.
#
#   UV=uv action/lock.sh   (uv 0.13.8, as CI pins it)
set -euo pipefail
cd "$(dirname "$0")/.."
"${UV:-uv}" pip compile pyproject.toml action/build.in --extra bedrock \
  --universal --python-version 3.11 --generate-hashes --no-header --quiet \
  --output-file action/requirements.lock
