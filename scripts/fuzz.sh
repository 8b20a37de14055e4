#!/usr/bin/env bash
# Runs every native Go fuzz target in the module for FUZZTIME each (default
# 10s). Targets are found by name (func FuzzXxx in *_test.go), so a new
# target is fuzzed without editing this script. A crash fails the run, and
# Go writes the input under the package's testdata/fuzz/FuzzXxx/: commit it,
# and it runs as a regression case in every `go test` from then on.
# Usage: scripts/fuzz.sh [package-pattern]   (e.g. ./server/)
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
TAGS=${TAGS:-duckdb_arrow}
FUZZTIME=${FUZZTIME:-10s}
only=${1:-}

failed=()

# shutdown_race reports whether a fuzz log shows only Go's deadline race:
# the bare "context deadline exceeded" failure, with no failing input
# written and no panic.
shutdown_race() {
  grep -q 'context deadline exceeded' "$1" &&
    ! grep -qE 'Failing input written|panic:|--- FAIL: .*/' "$1"
}
while IFS= read -r file; do
  pkg=./$(dirname "$file")/
  [ -z "$only" ] || [ "$pkg" = "$only" ] || continue
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(f \*testing\.F\)' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+).*/\1/'); do
    start=$(date +%s)
    if "$GO" test -tags "$TAGS" -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" >/tmp/fuzz.$$.log 2>&1; then
      printf 'fuzz %-40s %-28s ok   %ss\n' "$target" "$pkg" $(( $(date +%s) - start ))
    elif shutdown_race /tmp/fuzz.$$.log &&
      "$GO" test -tags "$TAGS" -run "^${target}\$" "$pkg" >/tmp/fuzz.$$.replay 2>&1; then
      # Go 1.26's coordinator can report its own -fuzztime deadline as a
      # failure (go.dev/issue/75804, fixed in Go 1.27): no input was
      # written, and the seed and testdata corpus pass when replayed.
      printf 'fuzz %-40s %-28s ok   %ss (Go fuzz shutdown race, go.dev/issue/75804; corpus replayed)\n' "$target" "$pkg" $(( $(date +%s) - start ))
    else
      printf 'fuzz %-40s %-28s FAIL\n' "$target" "$pkg"
      tail -n 30 /tmp/fuzz.$$.log
      failed+=("$pkg $target")
    fi
  done
done < <(grep -rlE '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' --include='*_test.go' . | sed 's|^\./||' | sort)
rm -f /tmp/fuzz.$$.log /tmp/fuzz.$$.replay
if [ ${#failed[@]} -gt 0 ]; then
  printf 'fuzz: %d target(s) found a failure (inputs saved under testdata/fuzz/):\n' ${#failed[@]} >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
