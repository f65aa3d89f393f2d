#!/usr/bin/env bash
# bench/pgo: writes cmd/dnsscout/default.pgo, the CPU profile that `go build`
# (and `go run`, `go install`) of ./cmd/dnsscout uses for profile-guided
# optimization: the compiler inlines and lays out the hot paths the profile
# shows. The profile merges the CPU profiles (DNSSCOUT_CPUPROFILE) of
# RUNS ingests of each of bench/ingest's captures, plain UDP and with 2%
# TCP (generated once, as bench/ingest/run.sh does), and of DEMOS runs of
# `dnsscout demo`. Nothing touches the network: the demo's world is on
# loopback.
#
#   ./bench/pgo/run.sh                 # rewrite cmd/dnsscout/default.pgo
#   RUNS=40 DEMOS=5 ./bench/pgo/run.sh
#   OUT=/tmp/new.pgo ./bench/pgo/run.sh
#
# Rerun it when the hot paths change; a stale profile is still used for the
# functions it matches. What it gained is in docs/ingest.md ("Eighth
# round"): compare builds with `go build -pgo=off` and bench/ingest's
# DNSSCOUT=... alternated.
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=${RUNS:-20}
DEMOS=${DEMOS:-3}
PACKETS=${PACKETS:-521000}
OUT=${OUT:-cmd/dnsscout/default.pgo}
WORK=${WORK:-/tmp/dnsscout-bench-pgo}
CAPTURES=${CAPTURES:-/tmp/dnsscout-bench-ingest}

rm -rf "$WORK/profiles"
mkdir -p "$WORK/profiles" "$CAPTURES"
go build -o "$WORK/dnsscout" ./cmd/dnsscout
bin=$WORK/dnsscout
for tcp in 0 2; do
	suffix=""
	[ "$tcp" = 2 ] || suffix="-tcp$tcp"
	capture=$CAPTURES/upstream-$PACKETS$suffix.pcap
	if [ ! -f "$capture" ]; then
		echo "# generating $capture" >&2
		go run ./bench/ingest/gen -o "$capture" -packets "$PACKETS" -tcp "$tcp"
	fi
	for i in $(seq "$RUNS"); do
		rm -rf "$WORK/db"
		DNSSCOUT_CPUPROFILE=$WORK/profiles/ingest-tcp$tcp-$i.pprof \
			"$bin" ingest -q --progress never --db "$WORK/db" --sensor-id pgo "$capture"
	done
done
for i in $(seq "$DEMOS"); do
	(cd "$WORK" && DNSSCOUT_CPUPROFILE=$WORK/profiles/demo-$i.pprof "$bin" demo >/dev/null)
done
go tool pprof -proto "$WORK"/profiles/*.pprof >"$WORK/merged.pgo"
mv "$WORK/merged.pgo" "$OUT"
echo "# $OUT: $(wc -c <"$OUT") bytes from $(find "$WORK/profiles" -name '*.pprof' | wc -l) profiles" >&2
