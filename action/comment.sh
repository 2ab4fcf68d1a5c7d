#!/usr/bin/env bash
# Put the result of the command on its pull request, as tfcmt does.
#
#   plan             (pull_request): one comment a pull request, found again by a
#                    hidden marker and updated in place on every push;
#   apply, reconcile (push to the default branch): a new comment on the pull
#                    request whose merge made the commit, so its author sees it.
#
# With RECONCILER_SHARD (the action's `shard` input; the matrix workflows), each
# shard has a comment of its own: the marker holds the key, so the plan of one
# shard updates that shard's comment and no other. A plan of the whole
# repository (no shard: the validated-only note of a pull request without
# secrets, or a workflow without the matrix) and the plans of shards supersede
# each other: the comments of the other kind are marked out of date, in place,
# so nobody reads an old plan as the current one.
#
# Runs the `gh` CLI the runners ship, with GH_TOKEN; no third-party action.
set -euo pipefail

repo="${GITHUB_REPOSITORY:?}"
limit=65536 # the most characters a comment may hold
shard="${RECONCILER_SHARD:-}"
# The key goes into the marker and into a jq filter: only what `reconciler
# shards` makes a key of (letters, digits, '.', '-', '_').
if [ -n "$shard" ] && ! [[ "$shard" =~ ^[A-Za-z0-9_][A-Za-z0-9._-]*$ ]]; then
  echo "::error title=reconciler::not commenting: the shard input is not a key of \`reconciler shards\`"
  exit 1
fi
case "$RECONCILER_COMMAND" in
  plan)
    kind=reconciler-plan
    pr="$(jq -r '.pull_request.number // empty' "${GITHUB_EVENT_PATH:?}")"
    ;;
  apply | reconcile)
    kind=reconciler-apply
    pr="$(gh api "repos/$repo/commits/${GITHUB_SHA:?}/pulls" --jq '.[0].number // empty')"
    ;;
  *)
    echo "Only plan, apply and reconcile report on pull requests; nothing to comment."
    exit 0
    ;;
esac
whole="<!-- $kind -->"
marker="$whole"
[ -n "$shard" ] && marker="<!-- $kind shard=$shard -->"
if [ -z "$pr" ]; then
  echo "No pull request belongs to this run; nothing to comment."
  exit 0
fi

body="$(mktemp)"
printf '%s\n' "$marker" > "$body"
if [ -n "$shard" ] && ! head -n 1 "${MARKDOWN_FILE:-/dev/null}" 2>/dev/null | grep -q '^\*\*Shard:\*\*'; then
  # The plan names its shard on its first line; anything else is given that line.
  printf '**Shard:** `%s`\n\n' "$shard" >> "$body"
fi
if [ -n "${MARKDOWN_FILE:-}" ] && [ -s "$MARKDOWN_FILE" ]; then
  cat "$MARKDOWN_FILE" >> "$body"
elif [ "${EXIT_CODE:-1}" = 0 ]; then
  echo "### No changes: the live account matches the manifests." >> "$body"
else
  printf '### reconciler %s failed\n\n%s\n' "$RECONCILER_COMMAND" \
    "The errors are annotated on the files and listed in the [workflow run]($RUN_URL)." >> "$body"
fi
footer="<sub>reconciler $RECONCILER_COMMAND of ${GITHUB_SHA:0:7} ([run]($RUN_URL)).</sub>"
# The plan is already cut to fit a comment: then the footer is left out
# rather than risk a rejected comment.
if [ $(( $(wc -c < "$body") + ${#footer} + 2 )) -lt "$limit" ]; then
  printf '\n%s\n' "$footer" >> "$body"
fi

if [ "$RECONCILER_COMMAND" != plan ]; then
  gh api --method POST "repos/$repo/issues/$pr/comments" -F "body=@$body" > /dev/null
  echo "Commented on pull request #$pr."
  exit 0
fi

# The plan comments already there: id, marker line, and whether marked out of date.
stale_heading="### Out of date"
listing="$(gh api --paginate "repos/$repo/issues/$pr/comments" --jq \
  ".[] | select(.user.type == \"Bot\" and (.body | startswith(\"<!-- $kind\"))) \
   | [.id, (.body | split(\"\n\")[0]), ((.body | split(\"\n\")[1] // \"\") | startswith(\"$stale_heading\"))] | @tsv")"
existing=""
superseded=()
while IFS=$'\t' read -r id first stale; do
  [ -n "$id" ] || continue
  if [ "$first" = "$marker" ]; then
    existing="$id"
  elif [ "$stale" != true ] && { { [ -n "$shard" ] && [ "$first" = "$whole" ]; } ||
    { [ -z "$shard" ] && [[ "$first" == "<!-- $kind shard="* ]]; }; }; then
    superseded+=("$id $first")
  fi
done <<< "$listing"

if [ -n "$existing" ]; then
  gh api --method PATCH "repos/$repo/issues/comments/$existing" -F "body=@$body" > /dev/null
  echo "Updated the plan comment${shard:+ of shard $shard} on pull request #$pr."
else
  gh api --method POST "repos/$repo/issues/$pr/comments" -F "body=@$body" > /dev/null
  echo "Commented the plan${shard:+ of shard $shard} on pull request #$pr."
fi

if [ -n "$shard" ]; then
  why="The [run]($RUN_URL) of ${GITHUB_SHA:0:7} planned each shard in a comment of its own: read those."
else
  why="The [run]($RUN_URL) of ${GITHUB_SHA:0:7} reported on the whole repository in one comment: read that one."
fi
for entry in ${superseded[@]+"${superseded[@]}"}; do
  id="${entry%% *}"
  printf '%s\n%s\n\n%s\n' "${entry#* }" "$stale_heading" "$why" > "$body"
  gh api --method PATCH "repos/$repo/issues/comments/$id" -F "body=@$body" > /dev/null
  echo "Marked the earlier plan comment $id out of date."
done
