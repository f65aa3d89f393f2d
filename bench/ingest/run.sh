#!/usr/bin/env bash
# bench/ingest: passive DNS ingest of a large capture of a recursive
# resolver's upstream traffic, store writes included. Prints, per tool, the
# wall and CPU time, DNS messages/s (of wall time, and per CPU second),
# tuples/s (distinct tuples stored per second of wall time), peak RSS and
# bytes on disk per stored tuple (the store directory as the ingest left
# it, write-ahead log included). dnsscout always runs; gamelinux/passivedns
# runs too when its binary is found (PASSIVEDNS, else `passivedns` in PATH;
# it writes a log, not a store: its "tuples" are log lines), and the ratio
# of their speeds is printed. With RUNS=n each tool runs n times,
# alternating, and the run with the median wall time is printed (the other
# wall times in brackets): the machine is shared, so one run says little;
# the load average is printed with the results.
#
# ENCAP=NAME also runs dnsscout on a copy of the same traffic wrapped in an
# encapsulation of ingest/pcap/pcaptest (VXLAN, "GENEVE with options",
# "802.1Q VLAN", ...; bench/ingest/gen -encap), alternating with the plain
# capture, and prints what decapsulation costs in wall and CPU time.
#
#   ./bench/ingest/run.sh                                  # 521,000 packets, generated once
#   PASSIVEDNS=/path/to/passivedns RUNS=3 ./bench/ingest/run.sh   # side by side, median of 3
#   ENCAP=VXLAN TCP=0 RUNS=5 ./bench/ingest/run.sh         # plain UDP against the same in VXLAN
#   CAPTURE=/data/upstream.pcap ./bench/ingest/run.sh      # a real capture instead
#   PACKETS=2000000 ./bench/ingest/run.sh                  # a bigger one (RSS must not grow)
#   DNSSCOUT=/tmp/dnsscout-old ./bench/ingest/run.sh       # another build (before/after)
#
# Figures (docs/ingest.md, "Speed", "Third round" to "Eighth round"): on
# the shared 2-core development machine, TCP=0 RUNS=3 alternated three
# times with the build before: the third round 0.60-0.77 s wall,
# 1.05-1.32 s CPU, 676,623-868,333 messages/s at load 1.6-2.0; the fourth
# 0.75, 0.77, 0.91 s wall, 1.29-1.57 s CPU, 572,527-694,667 messages/s at
# load 1.7-1.8 (the build before it: 0.80-0.81 s, 1.36-1.41 s); the fifth
# 0.78, 0.72, 0.73 s wall, 1.24-1.34 s CPU, 667,949-723,611 messages/s at
# load 1.3-1.6 (the build before it: 0.93, 0.79, 0.79 s, 1.35-1.53 s); the
# sixth 0.78, 0.72, 0.71 s wall, 1.27-1.35 s CPU, 667,949-733,803
# messages/s at load 1.5-1.7 (the build before it: 0.78, 0.82, 0.76 s,
# 1.30-1.41 s); the seventh 0.65, 0.64 s wall, 1.10-1.11 s CPU,
# 801,538-814,062 messages/s at load 1.7 (the sixth: 0.70, 0.66 s,
# 1.15 s), and the same wall time in the command's runs alternated twelve
# times at load 1.5-2.0 (0.90 against 0.91 s, 0.83 against 0.83 s), with
# 1-2% less CPU; the eighth (the profile-guided build, bench/pgo) 3-5%
# less CPU in the command's runs alternated twelve times with a build
# without the profile, which RUNS=3 medians do not show (0.79, 0.72,
# 0.87 s against 0.80, 0.69, 0.72 s). The machine's speed drifts by a
# fifth to a third from minute to minute: compare builds only alternated
# (DNSSCOUT=...; a build without the profile: go build -pgo=off), and
# peak RSS between fresh copies of the binaries (cp: the binary's own
# pages count, and how many are mapped depends on the page cache). The
# ninth (transparent huge pages for the large arrays, docs/ingest.md
# "Ninth round"): 0.45, 0.43, 0.59 s wall, 0.74-0.99 s CPU, 1,157,778,
# 1,211,628 and, in a slow minute, 883,051 messages/s at load 1.5 (the
# eighth: 0.58, 0.63, 0.63 s, 1.01-1.06 s, 826,984-898,276); in a slower
# minute later 0.76 and 0.78 s, as the eighth (1,000,000 messages/s is
# reached in the machine's quick minutes only). The first
# run after a pause of a few seconds is slower (memory the guest handed
# back to the host), which RUNS=3's median leaves out. The tenth (a flush
# reads the aggregate in place, docs/ingest.md "Tenth round"): back to
# back 0.58 and 0.50 s (898,276 and 1,042,000 messages/s; the ninth 0.46
# and 0.50 s); with PASSIVEDNS, whose run of about 3 s between dnsscout's
# makes each of those cold, 0.69 and 0.61 s (755,072 and 854,098; the
# ninth 0.75 and 0.65 s), peak RSS 136 MiB instead of 170-172.
#
# The generator (bench/ingest/gen) writes referrals with glue, CNAME chains,
# A/AAAA/MX/TXT/SOA/NS/RRSIG, NXDOMAIN and NODATA over IPv4/IPv6, UDP and
# TCP (TCP percent of the exchanges, default 2), with Zipf-distributed
# names under .test. Nothing touches the network.
set -euo pipefail
cd "$(dirname "$0")/../.."

PACKETS=${PACKETS:-521000}
TCP=${TCP:-2}
ENCAP=${ENCAP:-}
WORK=${WORK:-/tmp/dnsscout-bench-ingest}
suffix=""
[ "$TCP" = 2 ] || suffix="-tcp$TCP"
CAPTURE=${CAPTURE:-$WORK/upstream-$PACKETS$suffix.pcap}
PASSIVEDNS=${PASSIVEDNS:-$(command -v passivedns || true)}
PASSIVEDNS_FLAGS=${PASSIVEDNS_FLAGS:--X 46CDNPRSTOMn}
MEMORY=${MEMORY:-256MiB}
RUNS=${RUNS:-1}
DNSSCOUT=${DNSSCOUT:-}

mkdir -p "$WORK"
command -v /usr/bin/time >/dev/null || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
echo "# work dir $WORK" >&2
if [ -z "$DNSSCOUT" ]; then
	go build -o "$WORK/dnsscout" ./cmd/dnsscout
	DNSSCOUT=$WORK/dnsscout
fi
if [ ! -f "$CAPTURE" ]; then
	echo "# generating $CAPTURE ($PACKETS packets)" >&2
	go run ./bench/ingest/gen -o "$CAPTURE.part" -packets "$PACKETS" -tcp "$TCP"
	mv "$CAPTURE.part" "$CAPTURE" # an interrupted one is not taken for whole
fi
ENCAPPED=""
if [ -n "$ENCAP" ]; then
	ENCAPPED="$WORK/upstream-$PACKETS$suffix-$(echo "$ENCAP" | tr -c 'A-Za-z0-9.\n' '_').pcap"
	if [ ! -f "$ENCAPPED" ]; then
		echo "# generating $ENCAPPED ($PACKETS packets in $ENCAP)" >&2
		go run ./bench/ingest/gen -o "$ENCAPPED.part" -packets "$PACKETS" -tcp "$TCP" -encap "$ENCAP"
		mv "$ENCAPPED.part" "$ENCAPPED"
	fi
	cat "$ENCAPPED" >/dev/null
fi
cat "$CAPTURE" >/dev/null # page cache: both tools read from memory

stat_of() { awk -v k="$2" '$0 ~ "^ *[0-9]+  "k"$" {print $1; exit}' "$1"; }

# run_dnsscout NAME CAPTURE: one ingest into a fresh store; appends
# "wall cpu rss disk stored" to $WORK/runs.NAME.
run_dnsscout() {
	rm -rf "$WORK/db"
	/usr/bin/time -f '%e %M %U %S' -o "$WORK/time.$1" \
		"$DNSSCOUT" ingest --db "$WORK/db" --sensor-id bench --progress never --memory "$MEMORY" "$2" \
		2>"$WORK/stats.$1"
	local wall rss user sys disk stored
	read -r wall rss user sys <"$WORK/time.$1"
	disk=$(du -sb "$WORK/db" | cut -f1)
	# Distinct tuples in the store (a tuple seen again after its first batch
	# is written twice, merged by the store).
	# awk reads to the end: exiting at the match could kill pdns stats
	# with SIGPIPE, which pipefail turns into the script's failure.
	stored=$("$DNSSCOUT" pdns stats --db "$WORK/db" | awk '$1 == "records" && !done {print $2; done = 1}')
	echo "$wall $(awk -v u="$user" -v s="$sys" 'BEGIN {print u+s}') $rss $disk $stored" >>"$WORK/runs.$1"
}

run_passivedns() {
	rm -f "$WORK/passivedns.log" "$WORK/passivedns-nx.log"
	# shellcheck disable=SC2086
	/usr/bin/time -f '%e %M %U %S' -o "$WORK/time.passivedns" \
		"$PASSIVEDNS" -r "$CAPTURE" -l "$WORK/passivedns.log" -L "$WORK/passivedns-nx.log" $PASSIVEDNS_FLAGS \
		>"$WORK/out.passivedns" 2>&1 || true
	local wall rss user sys lines pdisk
	read -r wall rss user sys <"$WORK/time.passivedns"
	lines=$(cat "$WORK/passivedns.log" "$WORK/passivedns-nx.log" 2>/dev/null | wc -l)
	pdisk=$(cat "$WORK/passivedns.log" "$WORK/passivedns-nx.log" 2>/dev/null | wc -c)
	echo "$wall $(awk -v u="$user" -v s="$sys" 'BEGIN {print u+s}') $rss $pdisk $lines" >>"$WORK/runs.passivedns"
}

rm -f "$WORK/runs.dnsscout" "$WORK/runs.encap" "$WORK/runs.passivedns"
loads=()
for _ in $(seq "$RUNS"); do
	run_dnsscout dnsscout "$CAPTURE"
	loads+=("$(cut -d' ' -f1 /proc/loadavg)")
	if [ -n "$ENCAPPED" ]; then
		run_dnsscout encap "$ENCAPPED"
		loads+=("$(cut -d' ' -f1 /proc/loadavg)")
	fi
	if [ -n "$PASSIVEDNS" ]; then
		run_passivedns
	fi
done
msgs=$(stat_of "$WORK/stats.dnsscout" "DNS messages")
resp=$(stat_of "$WORK/stats.dnsscout" "responses")

# row TOOL FILE: the run with the median wall time, and every wall time.
row() {
	sort -n -k1,1 "$2" | awk -v tool="$1" -v m="$msgs" -v n="$RUNS" '
		{ w[NR] = $1; line[NR] = $0 }
		END {
			mid = int((NR + 1) / 2); split(line[mid], f, " ")
			all = ""; for (i = 1; i <= NR; i++) all = all (i > 1 ? " " : "") w[i]
			printf "%s\t%.2f%s\t%.2f\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f\t%d\n", tool, f[1], (n > 1 ? " [" all "]" : ""), f[2], m / f[1], m / f[2], f[5] / f[1], f[3] / 1024, (f[5] ? f[4] / f[5] : 0), f[5]
		}'
}
median() { sort -n -k"$2","$2" "$1" | awk -v k="$2" '{v[NR] = $k} END {print v[int((NR + 1) / 2)]}'; }

echo "capture: $CAPTURE ($(du -h "$CAPTURE" | cut -f1), $msgs DNS messages, $resp responses)"
{
	printf 'tool\twall s\tCPU s\tmessages/s\tmessages/CPU-s\ttuples/s\tpeak RSS MiB\tdisk B/tuple\ttuples\n'
	row dnsscout "$WORK/runs.dnsscout"
	if [ -n "$ENCAPPED" ]; then
		row "dnsscout, $ENCAP" "$WORK/runs.encap"
	fi
	if [ -n "$PASSIVEDNS" ]; then
		row passivedns "$WORK/runs.passivedns"
	fi
} | column -t -s $'\t'
if [ -n "$ENCAPPED" ]; then
	emsgs=$(stat_of "$WORK/stats.encap" "DNS messages")
	[ "$emsgs" = "$msgs" ] || echo "WARNING: $ENCAP capture gave $emsgs DNS messages, the plain one $msgs"
	awk -v pw="$(median "$WORK/runs.dnsscout" 1)" -v ew="$(median "$WORK/runs.encap" 1)" \
		-v pc="$(median "$WORK/runs.dnsscout" 2)" -v ec="$(median "$WORK/runs.encap" 2)" -v e="$ENCAP" \
		'BEGIN { printf "decapsulating %s costs %+.1f%% wall time, %+.1f%% CPU time (medians)\n", e, 100 * (ew / pw - 1), 100 * (ec / pc - 1) }'
fi
if [ -n "$PASSIVEDNS" ]; then
	a=$(median "$WORK/runs.dnsscout" 1)
	b=$(median "$WORK/runs.passivedns" 1)
	awk -v a="$a" -v b="$b" 'BEGIN { printf "dnsscout is %.2fx passivedns (messages/s, same capture, store writes included)\n", b/a }'
else
	echo "(gamelinux/passivedns not found: set PASSIVEDNS=/path/to/passivedns for the ratio)"
fi
echo "(dnsscout statistics: $WORK/stats.dnsscout; load average after each dnsscout run: ${loads[*]}; now $(cut -d' ' -f1-3 /proc/loadavg))"
