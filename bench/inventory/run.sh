#!/usr/bin/env bash
# bench/inventory: an inventory of N delegated domains (and of 10 x N)
# through one local Unbound: `dnsscout recon -l` brute-forcing the
# built-in word list (2,025 names) across every domain, side by side with
# massdns over the same domain x word names and `dnsx -d domains -w words`
# when they are installed. Prints wall time, queries/s and peak RSS.
#
#   sudo ./bench/inventory/run.sh                  # N=100 and N=1000
#   N=50 SCALES="1 10" ./bench/inventory/run.sh
#   MASSDNS=/path/massdns DNSX=/path/dnsx ./bench/inventory/run.sh
#   FULL=1 ./bench/inventory/run.sh                # also a full inventory (every stage, the audit)
#   MSG_CACHE=512m N=1000 SCALES=1 ./bench/inventory/run.sh   # Unbound's message cache fixed (default: sized to the names)
#
# Figures (2-core machine shared with other builds; load average given):
#   domains  names      wall     q/s     RSS     Unbound from cache  load
#   100      202,500    27.6 s   8,113   68 MiB  99.2 %              13-17
#   300      607,500    49.1 s   13,689  68 MiB  99.2 %              13-17
#   1,000    2,025,000  228.9 s  9,786   68 MiB  99.2 %              24-29
#   1,000 with the old 512m message cache (last release): 664 s, 3,374 q/s (load
#   13-19): 2,025,000 names need ~620 MiB of message cache; the warm-up
#   evicted every name before the measured run asked it again. The same
#   at 300 domains: MSG_CACHE=150m N=300 SCALES=1 (607,500 names need
#   ~170 MiB): 236.1 s, 2,849 q/s, 0.5 % from Unbound's cache (load 19-23).
#   Against dnsscout alone on one domain at the same names count and load
#   (23-26): N=100 here 35.4 s, 6,334 q/s; N=202500 SKIP="dnsrecon massdns
#   dnsx" bench/bruteforce/run.sh 31.5 s, 6,774 q/s. A goroutine dump 8 s
#   into N=100: 950 of 977 goroutines in resolver.udpExchange, waiting for
#   Unbound (the 1,000-query budget full).
#
# After each run a "# unbound:" line gives Unbound's own counters: the
# share of queries it answered from its cache, the queries it dropped
# with its request list full, its message cache. A run whose names do not
# fit that cache is bounded by Unbound iterating, not by the tool asking.
#
# Every packet stays on loopback, in a network namespace of its own: NSD
# serves the root and inv.test on 127.53.251.2, the hoster's NSD every
# customer zone on 127.53.251.3 (both of its nameservers, shared by every
# domain), Unbound (the only resolver the tools are given) on 127.53.251.1.
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/lib/unbound.sh

if [ -z "${DNSSCOUT_BENCH_NETNS:-}" ]; then
	if [ -z "${DNSSCOUT:-}" ]; then
		go build -o /tmp/dnsscout-bench-inv ./cmd/dnsscout
		export DNSSCOUT=/tmp/dnsscout-bench-inv
	fi
	go build -o /tmp/dnsscout-bench-inv-gen ./bench/inventory/gen
	exec unshare -n env DNSSCOUT_BENCH_NETNS=1 "$0" "$@"
fi
ip link set lo up

N=${N:-100}
SCALES=${SCALES:-"1 10"}
RES=127.53.251.1
ROOT=127.53.251.2
AUTH=127.53.251.3
MASSDNS=${MASSDNS:-$(command -v massdns || echo /work/tools/bin/massdns)}
DNSX=${DNSX:-$(command -v dnsx || echo /work/tools/bin/dnsx)}
UNBOUND_THREADS=${UNBOUND_THREADS:-1}
for bin in nsd unbound /usr/bin/time; do
	command -v $bin >/dev/null || { echo "bench: $bin missing (apt-get install nsd unbound time)" >&2; exit 1; }
done
for a in $RES $ROOT $AUTH; do ip addr add $a/32 dev lo 2>/dev/null || true; done

now() { date +%s.%N; }

# world SIZE: generates the zones of SIZE domains in $WORK and starts NSD
# and Unbound (killed by stop_world).
world() {
	local n=$1
	WORK=$(mktemp -d /tmp/dnsscout-bench-inv.XXXXXX)
	/tmp/dnsscout-bench-inv-gen -dir "$WORK" -n "$n" -root $ROOT -ns $AUTH
	printf '. 3600000 NS ns.root.\nns.root. 3600000 A %s\n' $ROOT >"$WORK/root.hints"
	for side in root auth; do
		local addr=$ROOT zones
		zones=$(printf 'zone:\n  name: "."\n  zonefile: "root.zone"\nzone:\n  name: "inv.test"\n  zonefile: "inv.test.zone"\n')
		if [ $side = auth ]; then addr=$AUTH; zones=$(cat "$WORK/zones.conf"); fi
		cat >"$WORK/nsd-$side.conf" <<CONF
server:
  ip-address: $addr@53
  database: ""
  zonelistfile: "$WORK/zone-$side.list"
  xfrdfile: "$WORK/xfrd-$side.state"
  pidfile: "$WORK/nsd-$side.pid"
  username: ""
  chroot: ""
  server-count: 1
  verbosity: 0
  zonesdir: "$WORK"
remote-control:
  control-enable: no
$zones
CONF
		nsd -d -c "$WORK/nsd-$side.conf" >"$WORK/nsd-$side.log" 2>&1 &
		PIDS="${PIDS:-} $!"
	done
	# Unbound's message cache takes ~290 bytes per name (measured: 223,016
	# entries in 60 MiB); a brute force through a resolver whose cache
	# cannot hold the domain x word names misses on every name (an LRU
	# swept in order evicts each entry before it is asked again), so the
	# resolver iterates for all of them, whichever tool asks. Size it as a
	# deployment serving such a brute force would: 512 bytes per name, at
	# least Unbound's 512m of bench/lib/unbound.sh.
	local msg=$(( $(wc -l <"$WORK/names.txt") * 512 / 1048576 ))
	[ "$msg" -ge 512 ] || msg=512
	unbound_conf "$WORK/unbound.conf" 'local-zone: "test." nodefault' "msg-cache-size: ${MSG_CACHE:-${msg}m}"
	unbound -d -c "$WORK/unbound.conf" >"$WORK/unbound.log" 2>&1 &
	PIDS="$PIDS $!"
	for i in $(seq 100); do
		if dig +short +time=1 +tries=1 @$RES ns1.hoster.inv.test A 2>/dev/null | grep -q "$AUTH" &&
			dig +short +time=1 +tries=1 @$RES "$(tail -1 "$WORK/domains.txt")" SOA 2>/dev/null | grep -q hoster; then
			return
		fi
		sleep 0.2
	done
	echo "bench: the world did not come up (see $WORK/*.log)" >&2
	exit 1
}
stop_world() { kill $PIDS 2>/dev/null || true; wait $PIDS 2>/dev/null || true; PIDS=""; }
trap stop_world EXIT

# measure NAME CMD...: runs CMD under /usr/bin/time; sets SECS and RSS (MiB).
measure() {
	local name=$1 t0 t1
	shift
	t0=$(now)
	/usr/bin/time -f %M -o "$WORK/$name.rss" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || true
	t1=$(now)
	SECS=$(echo "$t1 - $t0" | bc)
	RSS=$(( $(tail -1 "$WORK/$name.rss") / 1024 ))
}

# queries DIR: total queries in the per-domain reports.
queries() {
	python3 -c '
import json,sys,glob
q=0
for f in glob.glob(sys.argv[1]+"/*.json"):
    d=json.load(open(f))
    q+=d.get("stats",{}).get("queries",0)
print(q)' "$1"
}

printf "%-9s %-26s %9s %10s %10s %9s  %s\n" domains tool "wall s" "names" "q/s" "RSS MiB" note
for scale in $SCALES; do
	n=$(( N * scale ))
	world "$n"
	names=$(wc -l <"$WORK/names.txt")
	brute=(--no-axfr --no-walk --no-ptr --no-srv --skip-checks all)
	# Warm Unbound's cache with every name once, as every tool then meets it.
	"$DNSSCOUT" recon -r $RES -l "$WORK/domains.txt" "${brute[@]}" --progress never -o /dev/null 2>/dev/null || true
	echo "# $n domains, warming: $(unbound_stats "$WORK/unbound.conf")"

	measure dnsscout "$DNSSCOUT" recon -r $RES -l "$WORK/domains.txt" "${brute[@]}" --progress never --output-dir "$WORK/out"
	q=$(queries "$WORK/out")
	printf "%-9s %-26s %9.2f %10d %10d %9d  %s\n" "$n" "dnsscout brute force" "$SECS" "$names" "$(echo "$q / $SECS" | bc)" "$RSS" \
		"$q queries (wildcards filtered, records of the names found)"
	echo "# $(unbound_stats "$WORK/unbound.conf")"

	if [ -x "$MASSDNS" ]; then
		echo $RES >"$WORK/resolvers.txt"
		measure massdns "$MASSDNS" -q -r "$WORK/resolvers.txt" -t A -o S -w "$WORK/massdns.found" "$WORK/names.txt"
		printf "%-9s %-26s %9.2f %10d %10d %9d  %s\n" "$n" massdns "$SECS" "$names" "$(echo "$names / $SECS" | bc)" "$RSS" "no wildcard filtering"
	else
		printf "%-9s %-26s %9s\n" "$n" massdns "not installed (set MASSDNS)"
	fi
	if [ -x "$DNSX" ]; then
		measure dnsx "$DNSX" -silent -d "$WORK/domains.txt" -w "$WORK/words.txt" -r $RES -o "$WORK/dnsx.found"
		printf "%-9s %-26s %9.2f %10d %10d %9d  %s\n" "$n" "dnsx -d -w" "$SECS" "$names" "$(echo "$names / $SECS" | bc)" "$RSS" "no wildcard filtering"
	else
		printf "%-9s %-26s %9s\n" "$n" dnsx "not installed (set DNSX)"
	fi
	if [ -n "${FULL:-}" ]; then
		measure full "$DNSSCOUT" recon -r $RES -l "$WORK/domains.txt" --no-ptr --progress never --output-dir "$WORK/full"
		q=$(queries "$WORK/full")
		printf "%-9s %-26s %9.2f %10s %10d %9d  %s\n" "$n" "dnsscout full inventory" "$SECS" "-" "$(echo "$q / $SECS" | bc)" "$RSS" \
			"every stage but PTR, and the audit: $(tail -1 "$WORK/full.err" | cut -c1-90)"
	fi
	stop_world
	rm -rf "$WORK"
done
