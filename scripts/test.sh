#!/usr/bin/env bash
# The go test step of `make test`, timed:
#   1. the race detector on every package except NORACE;
#   2. the NORACE packages without it;
#   3. the deploy module (deploy/go.mod: the chart, Dockerfile and
#      monitoring checks, whose Helm, Kubernetes and Prometheus
#      dependencies stay out of the library's go.mod);
#   4. the build without the duckdb_arrow tag (what a plain `go install` or
#      `go get` compiles): every package type-checks, and offline/duckdb,
#      whose code differs without the tag, passes its tests.
# Every step runs even when an earlier one fails; the exit status is
# non-zero if any failed. At the end it prints each step's time, the
# slowest packages and the total.
# SPLIT_ONLY=1 prints the two package lists (race, then plain) and exits.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
TAGS=${TAGS:-duckdb_arrow}

# Packages tested without the race detector: neither their code nor their
# tests start goroutines or import a package that does, so -race cannot
# find a race in them, and it slows DuckDB-heavy tests most (offline/duckdb:
# ~10 s plain, ~6 min under -race on a busy 2-core machine). Their code is
# still raced where it runs concurrently: offline/duckdb inside the tests
# of materialize, server and the root package. A package not listed here is
# raced, so new packages are by default; a listed path that is not a
# package fails the run, so a rename cannot silently move a package.
NORACE=(
  config
  definitions
  internal/redact
  model
  offline
  offline/duckdb
  offline/offlinetest
  offline/postgres
  offline/sqlgen
  online
  scripts
  values
)

module=$("$GO" list -m)
mapfile -t all < <("$GO" list -tags "$TAGS" ./...)
race=() plain=()
for pkg in "${all[@]}"; do
  rel=${pkg#"$module"}
  rel=${rel#/}
  if [[ " ${NORACE[*]} " == *" ${rel:-.} "* ]]; then plain+=("$pkg"); else race+=("$pkg"); fi
done
for rel in "${NORACE[@]}"; do
  if [[ " ${all[*]} " != *" $module/$rel "* ]]; then
    echo "test.sh: NORACE lists $rel, which is not a package of $module" >&2
    exit 2
  fi
done
if [ "${SPLIT_ONLY:-}" = 1 ]; then
  echo "race: ${race[*]}"
  echo "plain: ${plain[*]}"
  exit 0
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0 times=()
step() { # name, command...
  local name=$1 start=$SECONDS
  shift
  echo "== $name: $*"
  if ! "$@" 2>&1 | tee -a "$log"; then
    status=1
    name="$name (FAILED)"
  fi
  times+=("$(printf '%-44s %5ds' "$name" $((SECONDS - start)))")
}

step "race, ${#race[@]} packages" "$GO" test -tags "$TAGS" -race -count=1 -timeout 25m "${race[@]}"
step "no race, ${#plain[@]} packages" "$GO" test -tags "$TAGS" -count=1 -timeout 25m "${plain[@]}"
step "deploy module" bash -c 'cd deploy && "$0" vet ./... && "$0" test -count=1 ./...' "$GO"
step "without $TAGS: vet" "$GO" vet ./...
step "without $TAGS: offline/duckdb" "$GO" test -count=1 ./offline/duckdb/

echo "== times (wall, compiling included)"
printf '  %s\n' "${times[@]}"
echo "== slowest packages (test binary time)"
awk -F'\t' '$1 ~ /^(ok|FAIL)/ && $3 ~ /^[0-9.]+s$/ {printf "  %9s  %s\n", $3, $2}' "$log" |
  sort -rn | head -n 10 || true
echo "== total: $((SECONDS / 60))m$((SECONDS % 60))s"
exit $status
