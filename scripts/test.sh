#!/usr/bin/env bash
# The test command of the README: installs what the tests need (Debian
# packages: real DNS servers, tshark, Chromium, ...), then runs vet, gofmt,
# every test against real servers, the race detector on concurrent
# packages, and a short fuzz smoke of every fuzz target.
#
#   ./scripts/test.sh            # everything
#   FUZZTIME=2s ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="/usr/local/go/bin:$PATH"
fuzztime="${FUZZTIME:-5s}"

if [ "$(id -u)" -ne 0 ]; then
	echo "test.sh: the tests start DNS servers on port 53 of 127.53.0.0/16 and need root" >&2
	exit 1
fi

./scripts/install-test-deps.sh

echo "== go vet"
go vet ./...

echo "== gofmt"
bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$bad" ]; then
	echo "gofmt would change:"; echo "$bad"; exit 1
fi

echo "== go test (real servers required)"
export DNSSCOUT_REAL_SERVERS=require
# -pgo=off: cmd/dnsscout's tests would otherwise build every package once
# more, optimized with its default.pgo, which changes no behaviour.
go test -race -pgo=off -timeout 30m ./...

echo "== fuzz smoke ($fuzztime per target)"
./scripts/fuzz-smoke.sh "$fuzztime"

echo "== all tests passed"
