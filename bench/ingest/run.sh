#!/usr/bin/env bash
# bench/ingest: passive DNS ingest of a large capture of a recursive
# resolver's upstream traffic, store writes included. Prints, per tool, the
# wall and CPU time, DNS messages/s, tuples/s (distinct tuples stored per second of
# wall time), peak RSS and bytes on disk per stored tuple (the store
# directory as the ingest left it, write-ahead log included). dnsscout always runs; gamelinux/passivedns runs too when its binary
# is given in PASSIVEDNS (it writes a log, not a store: its "tuples" are log
# lines).
#
#   ./bench/ingest/run.sh                                  # 521,000 packets, generated once
#   PASSIVEDNS=/path/to/passivedns ./bench/ingest/run.sh   # side by side
#   CAPTURE=/data/upstream.pcap ./bench/ingest/run.sh      # a real capture instead
#   PACKETS=2000000 ./bench/ingest/run.sh                  # a bigger one (RSS must not grow)
#
# The generator (bench/ingest/gen) writes referrals with glue, CNAME chains,
# A/AAAA/MX/TXT/SOA/NS/RRSIG, NXDOMAIN and NODATA over IPv4/IPv6, UDP and
# TCP, with Zipf-distributed names under .test. Nothing touches the network.
set -euo pipefail
cd "$(dirname "$0")/../.."

PACKETS=${PACKETS:-521000}
WORK=${WORK:-/tmp/dnsscout-bench-ingest}
CAPTURE=${CAPTURE:-$WORK/upstream-$PACKETS.pcap}
PASSIVEDNS=${PASSIVEDNS:-}
PASSIVEDNS_FLAGS=${PASSIVEDNS_FLAGS:--X 46CDNPRSTOMn}
MEMORY=${MEMORY:-256MiB}

mkdir -p "$WORK"
command -v /usr/bin/time >/dev/null || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
echo "# work dir $WORK" >&2
go build -o "$WORK/dnsscout" ./cmd/dnsscout
if [ ! -f "$CAPTURE" ]; then
	echo "# generating $CAPTURE ($PACKETS packets)" >&2
	go run ./bench/ingest/gen -o "$CAPTURE" -packets "$PACKETS"
fi
cat "$CAPTURE" >/dev/null # page cache: both tools read from memory

# dnsscout
rm -rf "$WORK/db"
/usr/bin/time -f '%e %M %U %S' -o "$WORK/time.dnsscout" \
	"$WORK/dnsscout" ingest --db "$WORK/db" --sensor-id bench --progress never --memory "$MEMORY" "$CAPTURE" \
	2>"$WORK/stats.dnsscout"
read -r d_wall d_rss d_user d_sys <"$WORK/time.dnsscout"
stat_of() { awk -v k="$1" '$0 ~ "^ *[0-9]+  "k"$" {print $1; exit}' "$WORK/stats.dnsscout"; }
msgs=$(stat_of "DNS messages")
resp=$(stat_of "responses")
tuples=$(stat_of "tuples written")
disk=$(du -sb "$WORK/db" | cut -f1)
# Distinct tuples in the store (a tuple seen again after its first batch
# is written twice, merged by the store).
stored=$("$WORK/dnsscout" pdns stats --db "$WORK/db" | awk '$1 == "records" {print $2; exit}')

rows=()
rows+=("$(awk -v w="$d_wall" -v c="$d_user" -v s="$d_sys" -v m="$msgs" -v t="$stored" -v r="$d_rss" -v d="$disk" 'BEGIN {
	printf "dnsscout\t%.2f\t%.2f\t%.0f\t%.0f\t%.0f\t%.1f\t%d", w, c+s, m/w, t/w, r/1024, d/t, t }')")

if [ -n "$PASSIVEDNS" ]; then
	rm -f "$WORK/passivedns.log" "$WORK/passivedns-nx.log"
	# shellcheck disable=SC2086
	/usr/bin/time -f '%e %M %U %S' -o "$WORK/time.passivedns" \
		"$PASSIVEDNS" -r "$CAPTURE" -l "$WORK/passivedns.log" -L "$WORK/passivedns-nx.log" $PASSIVEDNS_FLAGS \
		>"$WORK/out.passivedns" 2>&1 || true
	read -r p_wall p_rss p_user p_sys <"$WORK/time.passivedns"
	lines=$(cat "$WORK/passivedns.log" "$WORK/passivedns-nx.log" 2>/dev/null | wc -l)
	pdisk=$(cat "$WORK/passivedns.log" "$WORK/passivedns-nx.log" 2>/dev/null | wc -c)
	rows+=("$(awk -v w="$p_wall" -v c="$p_user" -v s="$p_sys" -v m="$msgs" -v t="$lines" -v r="$p_rss" -v d="$pdisk" 'BEGIN {
		printf "passivedns\t%.2f\t%.2f\t%.0f\t%.0f\t%.0f\t%.1f\t%d", w, c+s, m/w, t/w, r/1024, (t ? d/t : 0), t }')")
fi

echo "capture: $CAPTURE ($(du -h "$CAPTURE" | cut -f1), $msgs DNS messages, $resp responses)"
{
	printf 'tool\twall s\tCPU s\tmessages/s\ttuples/s\tpeak RSS MiB\tdisk B/tuple\ttuples\n'
	printf '%s\n' "${rows[@]}"
} | column -t -s $'\t'
if [ -n "$PASSIVEDNS" ]; then
	awk -v a="$d_wall" -v b="$p_wall" 'BEGIN { printf "dnsscout is %.2fx passivedns (messages/s, same capture, store writes included)\n", b/a }'
fi
echo "(dnsscout statistics: $WORK/stats.dnsscout; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
