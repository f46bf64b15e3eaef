#!/usr/bin/env bash
# The release steps the example workflows run (workflows/release-*.yml beside this file), kept
# here rather than in YAML so that a test runs them end to end on the emulator
# (tests/it/pipeline.rs). Copy examples/github/ to the application's .github/; run from the
# application's checkout (state/ beside the code, ./backend built into the image).
#
#   release.sh build-tags
#       What this push needs: `build=false apply=false` when the newest commit is the release
#       bot's own state change (the loop guard); `build=false apply=true` when the push changed
#       nothing outside state/; else `build=true apply=true` with `version=vX.Y.Z-main.N` (the
#       last version tag and the number of commits since it) and `sha=COMMIT`. RELEASE_BEFORE
#       is the commit the branch was at before the push (default: the parent).
#   release.sh staging [TAG]
#       `reconcile image set --env staging --tag TAG`, the change committed by the bot and pushed,
#       then `reconcile apply --env staging` and a GitHub deployment reporting how it ended.
#       Without TAG, the apply alone (a change of the state file itself).
#   release.sh production VERSION [--built]
#       Promotes what staging runs to production when staging runs a build of the commit VERSION
#       names (its commit tag); else prints `build=true` and stops, changing nothing. With
#       `--built` (after the workflow built and pushed VERSION itself), sets that tag instead.
#       Then commit, push and `reconcile apply --env production`, as for staging.
#
# Outputs go to $GITHUB_OUTPUT when it is set (GitHub Actions), and to stdout.
# Environment: RECONCILE (the binary, default `reconcile`), RELEASE_REMOTE (default origin),
# RELEASE_BRANCH (default main), RELEASE_BOT_NAME / RELEASE_BOT_EMAIL (the committer),
# ENVIRONMENT_URL (the deployment's URL), APPLY_TIMEOUT (default 20m); GITHUB_REPOSITORY and
# GH_TOKEN (for `gh api`) to report GitHub deployments, skipped without them.
set -euo pipefail

reconcile=${RECONCILE:-reconcile}
remote=${RELEASE_REMOTE:-origin}
branch=${RELEASE_BRANCH:-main}
bot_name=${RELEASE_BOT_NAME:-reconcile-release[bot]}
bot_email=${RELEASE_BOT_EMAIL:-reconcile-release[bot]@users.noreply.github.com}
# GitHub does not start workflows for a push whose commit message says [skip ci]; build-tags
# checks the author as well, for pushes made with a token that would start them.
skip_marker="[skip ci]"

say() { printf '%s\n' "$*" >&2; }
output() {
  printf '%s\n' "$1"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then printf '%s\n' "$1" >>"$GITHUB_OUTPUT"; fi
}

# Whether COMMIT is the bot's own state change: its author is the bot and it changes only state/.
bot_state_commit() {
  local commit=$1
  [ "$(git log -1 --format=%an "$commit")" = "$bot_name" ] || return 1
  local changed
  changed=$(git diff-tree --no-commit-id --name-only -r "$commit")
  [ -n "$changed" ] && ! grep -qv '^state/' <<<"$changed"
}

build_tags() {
  if bot_state_commit HEAD; then
    say "the newest commit is $bot_name's state change: nothing to build or apply"
    output "build=false"
    output "apply=false"
    return
  fi
  local before=${RELEASE_BEFORE:-}
  if [ -z "$before" ] || ! git rev-parse --verify --quiet "$before^{commit}" >/dev/null; then
    before=$(git rev-parse --verify --quiet HEAD^ || git hash-object -t tree /dev/null)
  fi
  if ! git diff --name-only "$before" HEAD | grep -qv '^state/'; then
    say "the push changed only state/: apply it, nothing to build"
    output "build=false"
    output "apply=true"
    return
  fi
  local last count
  # The last release tag (vX.Y.Z, no pre-release suffix) reachable from HEAD.
  if last=$(git describe --tags --abbrev=0 --match 'v[0-9]*.[0-9]*.[0-9]*' --exclude '*-*' HEAD 2>/dev/null); then
    count=$(git rev-list --count "$last..HEAD")
  else
    last=v0.0.0
    count=$(git rev-list --count HEAD)
  fi
  output "build=true"
  output "apply=true"
  output "version=$last-$branch.$count"
  output "sha=$(git rev-parse HEAD)"
}

# GitHub deployment of COMMIT to ENVIRONMENT: created before the apply, its status after.
deployment_start() {
  local environment=$1 commit=$2
  if [ -z "${GITHUB_REPOSITORY:-}" ] || ! command -v gh >/dev/null; then return; fi
  printf '{"ref":"%s","environment":"%s","auto_merge":false,"required_contexts":[],"description":"reconcile apply"}' \
    "$commit" "$environment" |
    gh api "repos/$GITHUB_REPOSITORY/deployments" --method POST --input - --jq .id
}

deployment_end() {
  local id=$1 state=$2
  if [ -z "$id" ]; then return; fi
  local log_url="${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY}/actions/runs/${GITHUB_RUN_ID:-0}"
  printf '{"state":"%s","environment_url":"%s","log_url":"%s","auto_inactive":true}' \
    "$state" "${ENVIRONMENT_URL:-}" "$log_url" |
    gh api "repos/$GITHUB_REPOSITORY/deployments/$id/statuses" --method POST --input - >/dev/null
}

# Commits FILE as the bot and pushes it to the branch, rebasing onto a branch that moved meanwhile.
commit_and_push() {
  local file=$1 message=$2
  if git diff --quiet -- "$file"; then
    say "$file already names that image: nothing to commit"
    return
  fi
  git -c user.name="$bot_name" -c user.email="$bot_email" commit --quiet -m "$message $skip_marker" -- "$file"
  local attempt
  for attempt in 1 2 3; do
    if git push --quiet "$remote" "HEAD:$branch"; then
      return
    fi
    say "push rejected (attempt $attempt): $branch moved; rebasing onto it"
    git -c user.name="$bot_name" -c user.email="$bot_email" pull --quiet --rebase "$remote" "$branch"
  done
  say "could not push to $branch after 3 attempts"
  return 1
}

# Applies ENVIRONMENT, reporting a GitHub deployment of the commit applied.
apply() {
  local environment=$1 id code=0
  id=$(deployment_start "$environment" "$(git rev-parse HEAD)")
  "$reconcile" apply --env "$environment" --yes --timeout "${APPLY_TIMEOUT:-20m}" || code=$?
  if [ "$code" -eq 0 ]; then deployment_end "$id" success; else deployment_end "$id" failure; fi
  return "$code"
}

# Works on the branch's newest commit, whatever the run checked out (a tag, a merge commit).
on_branch() {
  git fetch --quiet "$remote" "$branch"
  git checkout --quiet -B "$branch" "$remote/$branch"
}

staging() {
  local tag=${1:-}
  on_branch
  if [ -n "$tag" ]; then
    "$reconcile" image set --env staging --tag "$tag"
    commit_and_push state/staging.yaml "staging: deploy $tag"
  fi
  apply staging
}

production() {
  local version=$1 built=${2:-}
  # The commits whose build is "this version's": the tagged commit, and the commits it sits on
  # that only the bot made (its state changes after the build).
  local commit requires=()
  commit=$(git rev-parse "$version^{commit}")
  while :; do
    requires+=(--require-tag "$commit")
    if ! bot_state_commit "$commit" || ! git rev-parse --verify --quiet "$commit^" >/dev/null; then
      break
    fi
    commit=$(git rev-parse "$commit^")
  done
  on_branch
  if [ "$built" = "--built" ]; then
    "$reconcile" image set --env production --tag "$version"
  else
    local code=0
    "$reconcile" promote --from staging --to production "${requires[@]}" || code=$?
    if [ "$code" -eq 3 ]; then
      say "staging does not run a build of $version: build it for production"
      output "build=true"
      return
    fi
    [ "$code" -eq 0 ] || return "$code"
    output "build=false"
  fi
  commit_and_push state/production.yaml "production: deploy $version"
  apply production
}

case "${1:-}" in
  build-tags) build_tags ;;
  staging) [ $# -le 2 ] || { say "usage: $0 staging [TAG]"; exit 1; }; staging "${2:-}" ;;
  production) [ $# -ge 2 ] || { say "usage: $0 production VERSION [--built]"; exit 1; }; production "$2" "${3:-}" ;;
  *) say "usage: $0 build-tags | staging [TAG] | production VERSION [--built]"; exit 1 ;;
esac
