#!/usr/bin/env bash
# bench/bruteforce: brute force of ~87,000 candidate names through one local
# Unbound (warm cache), dnsscout side by side with massdns, dnsx and
# dnsrecon in the same run. Prints wall time, queries/s, names found and
# names lost (existing names a tool did not report).
#
#   sudo ./bench/bruteforce/run.sh                 # all tools found
#   N=87000 EXIST=3000 DANGLING=100 MASSDNS=/path/massdns DNSX=/path/dnsx ./bench/bruteforce/run.sh
#   SKIP=dnsrecon ./bench/bruteforce/run.sh        # leave a tool out
#
# Every packet stays on loopback: NSD serves the zone on 127.53.250.2 and
# Unbound (the only resolver the tools are given) on 127.53.250.1.
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/lib/unbound.sh

# Everything runs in a network namespace of its own with only loopback up,
# so no tool can reach any other network even by mistake (dnsrecon, for
# one, asks the system resolver for some checks whatever -n says). The
# binaries are built first, outside it, where the module proxy is reachable.
if [ -z "${DNSSCOUT_BENCH_NETNS:-}" ]; then
	if [ -z "${DNSSCOUT:-}" ]; then
		go build -o /tmp/dnsscout-bench-bin ./cmd/dnsscout
		export DNSSCOUT=/tmp/dnsscout-bench-bin
	fi
	go build -o /tmp/dnsscout-bench-gen ./bench/bruteforce/gen
	exec unshare -n env DNSSCOUT_BENCH_NETNS=1 "$0" "$@"
fi
ip link set lo up

N=${N:-87000}
EXIST=${EXIST:-3000}
# Of the existing names, DANGLING are CNAMEs whose target does not exist:
# they answer NXDOMAIN with the CNAME, and still count as names to find.
DANGLING=${DANGLING:-100}
ZONE=${ZONE:-bench.example}
RES=127.53.250.1
AUTH=127.53.250.2
WORK=${WORK:-$(mktemp -d /tmp/dnsscout-bench-bf.XXXXXX)}
mkdir -p "$WORK"
MASSDNS=${MASSDNS:-$(command -v massdns || echo /work/tools/bin/massdns)}
DNSX=${DNSX:-$(command -v dnsx || echo /work/tools/bin/dnsx)}
SKIP=${SKIP:-}
UNBOUND_THREADS=${UNBOUND_THREADS:-1}

for bin in nsd unbound; do
	command -v $bin >/dev/null || { echo "bench: $bin missing (apt-get install nsd unbound)" >&2; exit 1; }
done

echo "# work dir $WORK" >&2
cp "$DNSSCOUT" "$WORK/dnsscout"
corpus=""
for f in /work/shared/corpus/wordlists/amass/namelist.txt /work/shared/corpus/wordlists/dnsrecon/subdomains-top1mil-5000.txt; do
	[ -r "$f" ] && corpus="$corpus${corpus:+,}$f"
done
/tmp/dnsscout-bench-gen -dir "$WORK" -zone "$ZONE" -n "$N" -exist "$EXIST" -dangling "$DANGLING" -corpus "$corpus" -ns "$AUTH"

for a in $RES $AUTH; do ip addr add $a/32 dev lo 2>/dev/null || true; done

# A root zone of our own, so that Unbound never looks past loopback.
cat > "$WORK/root.zone" <<ZONE
. 86400 IN SOA ns.root. hostmaster.root. 1 7200 3600 1209600 86400
. 86400 IN NS ns.root.
ns.root. 86400 IN A $AUTH
$ZONE. 86400 IN NS ns1.$ZONE.
ns1.$ZONE. 86400 IN A $AUTH
ZONE
printf '. 3600000 NS ns.root.\nns.root. 3600000 A %s\n' $AUTH >"$WORK/root.hints"

cat > "$WORK/nsd.conf" <<CONF
server:
  ip-address: $AUTH@53
  database: ""
  zonelistfile: "$WORK/zone.list"
  xfrdfile: "$WORK/xfrd.state"
  pidfile: "$WORK/nsd.pid"
  username: ""
  chroot: ""
  server-count: 1
  verbosity: 0
  zonesdir: "$WORK"
remote-control:
  control-enable: no
zone:
  name: "."
  zonefile: "root.zone"
zone:
  name: "$ZONE"
  zonefile: "$ZONE.zone"
CONF
unbound_conf "$WORK/unbound.conf"
nsd -d -c "$WORK/nsd.conf" >"$WORK/nsd.log" 2>&1 &
NSD_PID=$!
unbound -d -c "$WORK/unbound.conf" >"$WORK/unbound.log" 2>&1 &
UNBOUND_PID=$!
trap 'kill $NSD_PID $UNBOUND_PID 2>/dev/null || true' EXIT
for i in $(seq 50); do
	"$WORK/dnsscout" version >/dev/null
	if dig +short +time=1 +tries=1 @$RES "ns1.$ZONE" A 2>/dev/null | grep -q "$AUTH"; then break; fi
	sleep 0.2
done

# Names each tool reports as existing -> $WORK/<tool>.found; prints wall seconds.
now() { date +%s.%N; }

run_dnsscout() {
	local t0 t1
	t0=$(now)
	"$WORK/dnsscout" recon -r $RES -w "$WORK/words.txt" --no-axfr --no-walk --no-ptr --no-srv \
		--progress never --format json -o "$WORK/dnsscout.json" "$ZONE"
	t1=$(now)
	python3 -c 'import json,sys; [print(n["name"]) for n in json.load(open(sys.argv[1]))["names"]]' "$WORK/dnsscout.json" >"$WORK/dnsscout.found"
	echo "$t1 - $t0" | bc
}
run_massdns() {
	local t0 t1
	echo $RES >"$WORK/resolvers.txt"
	t0=$(now)
	"$MASSDNS" -q -r "$WORK/resolvers.txt" -t A -o J -w "$WORK/massdns.out" "$WORK/names.txt"
	t1=$(now)
	python3 -c '
import json,sys
for l in open(sys.argv[1]):
    try: o=json.loads(l)
    except ValueError: continue
    name=o["name"].rstrip(".").lower()
    owned=any(a.get("name","").rstrip(".").lower()==name for a in (o.get("data") or {}).get("answers") or [])
    if o.get("status")=="NOERROR" or owned: print(name)' "$WORK/massdns.out" | sort -u >"$WORK/massdns.found"
	echo "$t1 - $t0" | bc
}
run_dnsx() {
	local t0 t1
	t0=$(now)
	"$DNSX" -silent -l "$WORK/names.txt" -r $RES -rcode noerror -o "$WORK/dnsx.out" >/dev/null 2>&1
	t1=$(now)
	sed -E 's/ .*//' "$WORK/dnsx.out" | tr 'A-Z' 'a-z' | sort -u >"$WORK/dnsx.found"
	echo "$t1 - $t0" | bc
}
run_dnsrecon() {
	local t0 t1
	t0=$(now)
	dnsrecon -d "$ZONE" -n $RES -D "$WORK/words.txt" -t brt --threads 16 -j "$WORK/dnsrecon.json" >/dev/null 2>&1 || true
	t1=$(now)
	python3 -c '
import json,sys
for o in json.load(open(sys.argv[1])):
    n=o.get("name")
    if n: print(n.rstrip(".").lower())' "$WORK/dnsrecon.json" 2>/dev/null | sort -u >"$WORK/dnsrecon.found" || true
	echo "$t1 - $t0" | bc
}

# Warm Unbound's cache with every candidate once (answers and NXDOMAINs).
echo "# warming the cache with $N names" >&2
"$WORK/dnsscout" recon -r $RES -w "$WORK/words.txt" --no-axfr --no-walk --no-ptr --no-srv --progress never --format json -o /dev/null "$ZONE"

printf "%-10s %10s %12s %8s %6s  %s\n" tool "wall s" "names/s" found lost "note"
for tool in dnsscout massdns dnsx dnsrecon; do
	case " $SKIP " in *" $tool "*) continue;; esac
	case $tool in
		massdns) [ -x "$MASSDNS" ] || { printf "%-10s %10s\n" massdns "not found (set MASSDNS)"; continue; };;
		dnsx) [ -x "$DNSX" ] || { printf "%-10s %10s\n" dnsx "not found (set DNSX)"; continue; };;
		dnsrecon) command -v dnsrecon >/dev/null || { printf "%-10s %10s\n" dnsrecon "not found (apt-get install dnsrecon)"; continue; };;
	esac
	secs=$(run_$tool)
	found=$(sort -u "$WORK/$tool.found" | comm -12 - <(sort -u "$WORK/truth.txt") | wc -l)
	lost=$(( EXIST - found ))
	qps=$(echo "$N / $secs" | bc)
	note=""
	if [ "$tool" = dnsscout ]; then
		q=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stats"]["queries"])' "$WORK/dnsscout.json")
		note="$q queries in all ($(echo "$q / $secs" | bc)/s): brute force plus the records of every name found"
	fi
	printf "%-10s %10.2f %12d %8d %6d  %s\n" "$tool" "$secs" "$qps" "$found" "$lost" "$note"
done
