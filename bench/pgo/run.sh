#!/usr/bin/env bash
# bench/pgo: writes cmd/dnsscout/default.pgo, the CPU profile that `go build`
# (and `go run`, `go install`) of ./cmd/dnsscout uses for profile-guided
# optimization: the compiler inlines more where the profile is hot. The
# profile merges the CPU profiles (DNSSCOUT_CPUPROFILE) of RUNS ingests of
# bench/ingest's plain-UDP capture (generated once, as bench/ingest/run.sh
# does) by a build made without a profile. Nothing touches the network.
#
#   ./bench/pgo/run.sh                 # rewrite cmd/dnsscout/default.pgo
#   RUNS=100 ./bench/pgo/run.sh
#   OUT=/tmp/new.pgo ./bench/pgo/run.sh
#
# Only that workload: ingest is where dnsscout spends CPU (recon waits for
# the network), and its hot code (reading, decoding, folding, the store's
# bulk writes) is the same whatever the capture. A profile that also held
# ingests of the capture with 2% TCP and three runs of `dnsscout demo` made
# more code hot, a larger binary, and no measurable gain (docs/ingest.md,
# "Eighth round"). Rerun it when the hot paths change; a stale profile is
# still used for the functions it matches.
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=${RUNS:-60}
PACKETS=${PACKETS:-521000}
OUT=${OUT:-cmd/dnsscout/default.pgo}
WORK=${WORK:-/tmp/dnsscout-bench-pgo}
CAPTURE=${CAPTURE:-/tmp/dnsscout-bench-ingest/upstream-$PACKETS-tcp0.pcap}

rm -rf "$WORK/profiles"
mkdir -p "$WORK/profiles" "$(dirname "$CAPTURE")"
go build -pgo=off -o "$WORK/dnsscout" ./cmd/dnsscout
if [ ! -f "$CAPTURE" ]; then
	echo "# generating $CAPTURE" >&2
	go run ./bench/ingest/gen -o "$CAPTURE" -packets "$PACKETS" -tcp 0
fi
for i in $(seq "$RUNS"); do
	rm -rf "$WORK/db"
	DNSSCOUT_CPUPROFILE=$WORK/profiles/ingest-$i.pprof \
		"$WORK/dnsscout" ingest -q --progress never --db "$WORK/db" --sensor-id pgo "$CAPTURE"
done
go tool pprof -proto "$WORK"/profiles/*.pprof >"$WORK/merged.pgo"
mv "$WORK/merged.pgo" "$OUT"
echo "# $OUT: $(wc -c <"$OUT") bytes from $RUNS profiles" >&2
