#!/usr/bin/env bash
# Run `reconciler [--emulator] $RECONCILER_COMMAND $RECONCILER_ARGS [--shard KEY]` and set the action's outputs.
#
# RECONCILER_SHARD (the action's `shard` input, a key of `reconciler shards`):
# the command gets `--shard KEY` and touches only that shard, and its files are
# named after the key, so that several shards may run in one job.
#
# Never fails itself: the exit code is an output, and the action's last step
# fails the job for a code other than 0 or 2, after the comment is written.
set -uo pipefail

# Files a command at a time, so a later use of the action in the same job
# leaves the files named by an earlier one's outputs alone.
out_dir="$PWD/.reconciler/action"
mkdir -p "$out_dir"
shard="${RECONCILER_SHARD:-}"
suffix=""
valid_shard=true
if [ -n "$shard" ]; then
  # A key of `reconciler shards` is safe in a file name and as an argument;
  # anything else is refused before it becomes either.
  if [[ "$shard" =~ ^[A-Za-z0-9_][A-Za-z0-9._-]*$ ]]; then
    suffix="-$shard"
  else
    valid_shard=false
  fi
fi
plan_json="$out_dir/plan$suffix.json"
plan_markdown="$out_dir/plan$suffix.md"
result_markdown="$out_dir/$RECONCILER_COMMAND-result$suffix.md"
rm -f "$result_markdown"

read -ra args <<< "${RECONCILER_ARGS:-}"
[ -n "$suffix" ] && args+=(--shard "$shard")
if [ "$RECONCILER_COMMAND" = plan ]; then
  rm -f "$plan_json" "$plan_markdown"
  args+=(--detailed-exitcode --markdown-out "$plan_markdown")
  # A saved plan is of one shard: without a shard input, the plan is saved
  # only when the repository has one (a plan of several shards, a group a
  # shard in the Markdown, has no plan-json). Unknown (reconciler.yaml
  # invalid): asked for, and the plan reports the problem.
  shards=1
  if [ -z "$shard" ]; then
    listed="$(reconciler shards --output json 2>/dev/null)" || listed=""
    shards="$(printf '%s' "$listed" | grep -o '"shard":' | wc -l | tr -d ' ')" || shards=0
  fi
  if [ "${shards:-0}" -le 1 ]; then
    args+=(--out "$plan_json")
  fi
fi

global=()
[ "${RECONCILER_EMULATOR:-false}" = true ] && global+=(--emulator)

# apply and reconcile append their Markdown result to $GITHUB_STEP_SUMMARY;
# catch it in a file of our own, for the output and the comment.
status=0
if [ "$valid_shard" = true ]; then
  # ${a[@]+"${a[@]}"}: an empty array under `set -u` is an error in bash 3.2,
  # the /bin/bash of macOS runners.
  GITHUB_STEP_SUMMARY="$result_markdown" reconciler ${global[@]+"${global[@]}"} "$RECONCILER_COMMAND" \
    ${args[@]+"${args[@]}"} || status=$?
else
  echo "::error title=reconciler::the shard input is not a key of \`reconciler shards\` (letters, digits, '.', '-' and '_')"
  status=1
fi

markdown=""
has_changes=false
if [ "$RECONCILER_COMMAND" = plan ] && [ -s "$plan_markdown" ]; then
  markdown="$plan_markdown"
  [ "$status" -eq 2 ] && has_changes=true
elif [ -s "$result_markdown" ]; then
  markdown="$result_markdown"
  has_changes=true
fi
if [ -n "$markdown" ]; then
  cat "$markdown" >> "${GITHUB_STEP_SUMMARY:?}"
elif [ "$status" -eq 0 ] && [[ "$RECONCILER_COMMAND" =~ ^(apply|reconcile)$ ]]; then
  echo "### No changes: the live account matches the manifests." >> "${GITHUB_STEP_SUMMARY:?}"
fi

json=""
[ "$RECONCILER_COMMAND" = plan ] && [ -s "$plan_json" ] && json="$plan_json"
{
  echo "exit-code=$status"
  echo "has-changes=$has_changes"
  echo "plan-markdown=$markdown"
  echo "plan-json=$json"
} >> "${GITHUB_OUTPUT:?}"
exit 0
