#!/usr/bin/env bash
# Put the result of the command on its pull request, as tfcmt does.
#
#   plan             (pull_request): one comment a pull request, found again by a
#                    hidden marker and updated in place on every push;
#   apply, reconcile (push to the default branch): a new comment on the pull
#                    request whose merge made the commit, so its author sees it.
#
# Runs the `gh` CLI the runners ship, with GH_TOKEN; no third-party action.
set -euo pipefail

repo="${GITHUB_REPOSITORY:?}"
limit=65536 # the most characters a comment may hold
case "$RECONCILER_COMMAND" in
  plan)
    marker="<!-- reconciler-plan -->"
    pr="$(jq -r '.pull_request.number // empty' "${GITHUB_EVENT_PATH:?}")"
    ;;
  apply | reconcile)
    marker="<!-- reconciler-apply -->"
    pr="$(gh api "repos/$repo/commits/${GITHUB_SHA:?}/pulls" --jq '.[0].number // empty')"
    ;;
  *)
    echo "Only plan, apply and reconcile report on pull requests; nothing to comment."
    exit 0
    ;;
esac
if [ -z "$pr" ]; then
  echo "No pull request belongs to this run; nothing to comment."
  exit 0
fi

body="$(mktemp)"
printf '%s\n' "$marker" > "$body"
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

existing=""
if [ "$RECONCILER_COMMAND" = plan ]; then
  existing="$(gh api --paginate "repos/$repo/issues/$pr/comments" \
    --jq ".[] | select(.user.type == \"Bot\" and (.body | startswith(\"$marker\"))) | .id" | tail -n 1)"
fi
if [ -n "$existing" ]; then
  gh api --method PATCH "repos/$repo/issues/comments/$existing" -F "body=@$body" > /dev/null
  echo "Updated the plan comment on pull request #$pr."
else
  gh api --method POST "repos/$repo/issues/$pr/comments" -F "body=@$body" > /dev/null
  echo "Commented on pull request #$pr."
fi
