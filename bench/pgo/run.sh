#!/usr/bin/env bash
# bench/pgo: writes cmd/dnsscout/default.pgo, the CPU profile that `go build`
# (and `go run`, `go install`) of ./cmd/dnsscout uses for profile-guided
# optimization: the compiler inlines more where the profile is hot. The
# profile merges the CPU profiles (DNSSCOUT_CPUPROFILE) of RUNS ingests of
# bench/ingest's plain-UDP capture by a build made without a profile; why
# that workload alone, and what it gains: docs/ingest.md, "Eighth round".
# Nothing touches the network.
#
#   ./bench/pgo/run.sh                 # (= make pgo) rewrite cmd/dnsscout/default.pgo
#   RUNS=100 ./bench/pgo/run.sh
#   OUT=/tmp/new.pgo ./bench/pgo/run.sh
#
# Rerun it when the hot paths change; a stale profile is still used for the
# functions it matches.
set -euo pipefail
OUT=${OUT:-}
[ -z "$OUT" ] || OUT=$(realpath -m -- "$OUT") # before the cd
cd "$(dirname "$0")/../.."

RUNS=${RUNS:-60}
PACKETS=${PACKETS:-521000}
OUT=${OUT:-$PWD/cmd/dnsscout/default.pgo}
WORK=${WORK:-/tmp/dnsscout-bench-pgo}
# The capture bench/ingest/run.sh makes with TCP=0 (its WORK and naming).
CAPTURE=${CAPTURE:-/tmp/dnsscout-bench-ingest/upstream-$PACKETS-tcp0.pcap}

[ "$RUNS" -ge 1 ] || { echo "pgo: RUNS must be 1 or more" >&2; exit 2; }
mkdir -p "$WORK" "$(dirname "$CAPTURE")"
rm -rf "$WORK/profiles" "$WORK/db"
mkdir "$WORK/profiles"
trap 'rm -rf "$WORK/db"' EXIT
go build -pgo=off -o "$WORK/dnsscout" ./cmd/dnsscout
if [ ! -f "$CAPTURE" ]; then
	echo "# generating $CAPTURE" >&2
	go run ./bench/ingest/gen -o "$CAPTURE.part" -packets "$PACKETS" -tcp 0
	mv "$CAPTURE.part" "$CAPTURE"
fi
for i in $(seq "$RUNS"); do
	rm -rf "$WORK/db"
	DNSSCOUT_CPUPROFILE=$WORK/profiles/ingest-$i.pprof \
		"$WORK/dnsscout" ingest -q --progress never --db "$WORK/db" --sensor-id pgo "$CAPTURE"
done
go tool pprof -proto "$WORK"/profiles/*.pprof >"$WORK/merged.pgo"
mv "$WORK/merged.pgo" "$OUT"
echo "# $OUT: $(wc -c <"$OUT") bytes from $RUNS profiles" >&2
