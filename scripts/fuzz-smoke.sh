#!/usr/bin/env bash
# Runs every native Go fuzz target of the module for a short time.
#   ./scripts/fuzz-smoke.sh [DURATION]   (default 5s per target)
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${1:-5s}"
status=0
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	targets=$(grep -hoE '^func (Fuzz[A-Za-z0-9_]+)\(' "$dir"/*_test.go 2>/dev/null | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/' || true)
	for t in $targets; do
		echo "-- $pkg $t"
		if ! go test "$pkg" -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" >/tmp/fuzz-smoke.log 2>&1; then
			cat /tmp/fuzz-smoke.log
			status=1
		fi
	done
done
exit $status
