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
while IFS= read -r file; do
  pkg=./$(dirname "$file")/
  [ -z "$only" ] || [ "$pkg" = "$only" ] || continue
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(f \*testing\.F\)' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+).*/\1/'); do
    start=$(date +%s)
    if "$GO" test -tags "$TAGS" -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" >/tmp/fuzz.$$.log 2>&1; then
      printf 'fuzz %-40s %-28s ok   %ss\n' "$target" "$pkg" $(( $(date +%s) - start ))
    else
      printf 'fuzz %-40s %-28s FAIL\n' "$target" "$pkg"
      tail -n 30 /tmp/fuzz.$$.log
      failed+=("$pkg $target")
    fi
  done
done < <(grep -rlE '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' --include='*_test.go' . | sed 's|^\./||' | sort)
rm -f /tmp/fuzz.$$.log
if [ ${#failed[@]} -gt 0 ]; then
  printf 'fuzz: %d target(s) found a failure (inputs saved under testdata/fuzz/):\n' ${#failed[@]} >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
