#!/usr/bin/env bash
# Soak of "dnsscout serve" under the hostile clients of issue 11: 260
# slow bodies, 260 unread answers, gzip bombs and a flood from one key,
# against a real server on loopback, while a well-behaved client measures
# its latency. Bounded in time (six phases of -phase, with and without
# keys: about two minutes); prints one table and exits 1 when the
# well-behaved client saw an error or a p99 of 50 ms or more.
#
#   scripts/soak-serve.sh
#   scripts/soak-serve.sh -phase 30s -keys on
#
# Flags are bench/soak's (go run ./bench/soak -h).
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./bench/soak "$@"
