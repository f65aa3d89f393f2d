#!/usr/bin/env bash
# bench/ingest/hostile.sh: dnsscout ingest against the hostile files of
# issue 11, at their full sizes, and a large good import, under --memory.
# Prints, per case: exit status, wall time, peak RSS, bytes written to
# stderr, and the first line of stderr; then how long ingest takes to exit
# after SIGTERM in an endless line and in open(2) on a FIFO without a
# writer, and whether another command can use the store meanwhile.
#
#   ./bench/ingest/hostile.sh                      # --memory 256MiB (the default)
#   MEMORY=64MiB ./bench/ingest/hostile.sh
#   DNSSCOUT=/tmp/dnsscout-old ./bench/ingest/hostile.sh   # another build
#
# The files (about 2.5 GB of disk, made once in $WORK) are: a gzip of
# 2 GiB of zeros (2 MB), 50 MiB of NUL bytes, 50 MiB of the digit 0, one
# 150 MiB line, 1 MiB of random bytes named .pcap, a passivedns log with a
# 2 MB line, and a good passivedns log of 2,000,000 distinct lines.
set -euo pipefail
cd "$(dirname "$0")/../.."

WORK=${WORK:-/tmp/dnsscout-bench-hostile}
MEMORY=${MEMORY:-256MiB}
DNSSCOUT=${DNSSCOUT:-}
mkdir -p "$WORK"
command -v /usr/bin/time >/dev/null || { echo "hostile: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
if [ -z "$DNSSCOUT" ]; then
	go build -o "$WORK/dnsscout" ./cmd/dnsscout
	DNSSCOUT=$WORK/dnsscout
fi

make_files() {
	cd "$WORK"
	[ -f bomb.gz ] || head -c 2G /dev/zero | gzip -9 >bomb.gz
	[ -f nul50 ] || head -c 50M /dev/zero >nul50
	[ -f zeros50 ] || head -c 50M /dev/zero | tr '\0' '0' >zeros50
	[ -f longline ] || { head -c 150M /dev/zero | tr '\0' 'a'; echo; } >longline
	[ -f random.pcap ] || head -c 1M /dev/urandom >random.pcap
	if [ ! -f pdns-2mb.log ]; then
		{
			echo '1700000000.1||192.0.2.10||198.51.100.53||IN||a.example.com.||A||192.0.2.1||60||1'
			printf '1700000001.1||192.0.2.10||198.51.100.53||IN||t.example.com.||TXT||'
			head -c 2M /dev/zero | tr '\0' x
			echo '||60||1'
			echo '1700000002.1||192.0.2.10||198.51.100.53||IN||b.example.com.||A||999.1.1.1||60||1'
		} >pdns-2mb.log
	fi
	[ -f good.log ] || awk 'BEGIN { for (i = 0; i < 2000000; i++)
		printf "%d.5||192.0.2.10||198.51.100.53||IN||h%d.example.test.||A||198.51.%d.%d||60||1\n", 1700000000 + i, i, int(i / 250) % 250, i % 250 + 1 }' >good.log
	cd - >/dev/null
}
make_files

printf '%-34s %4s %7s %8s %8s  %s\n' case exit wall_s rss_MiB stderr_B "first line of stderr"
run() { # name, then ingest arguments
	local name=$1
	shift
	rm -rf "$WORK/db"
	set +e
	/usr/bin/time -f '%e %M' -o "$WORK/time" "$DNSSCOUT" ingest -q --progress never --memory "$MEMORY" --db "$WORK/db" "$@" 2>"$WORK/stderr" >/dev/null
	local code=$?
	set -e
	local wall rss
	read -r wall rss < <(tail -1 "$WORK/time")
	printf '%-34s %4s %7s %8s %8s  %.110s\n' "$name" "$code" "$wall" "$((rss / 1024))" "$(wc -c <"$WORK/stderr")" "$(head -1 "$WORK/stderr" | sed "s|$WORK/||")"
}
run "gzip of 2 GiB zeros" "$WORK/bomb.gz"
run "  forced passivedns:" "passivedns:$WORK/bomb.gz"
run "  forced zone:" "zone:$WORK/bomb.gz"
run "50 MiB NUL" "$WORK/nul50"
run "  forced zone:" "zone:$WORK/nul50"
run "50 MiB of '0'" "$WORK/zeros50"
run "  forced zone:" "zone:$WORK/zeros50"
run "150 MiB line" "$WORK/longline"
run "  forced zone:" "zone:$WORK/longline"
run "  forced passivedns:" "passivedns:$WORK/longline"
run "random bytes .pcap" "$WORK/random.pcap"
run "  forced pcap:" "pcap:$WORK/random.pcap"
run "passivedns, 2 MB line, A 999.1.1.1" "$WORK/pdns-2mb.log"
run "  --skip-bad" --skip-bad "$WORK/pdns-2mb.log"
run "good log, 2,000,000 tuples" "$WORK/good.log"

# SIGTERM: time from the signal to the exit.
sigterm() { # name, source (a FIFO), writer command or ""
	local name=$1 src=$2 writer=$3
	rm -rf "$WORK/db" "$WORK/fifo"
	mkfifo "$WORK/fifo"
	"$DNSSCOUT" ingest -q --db "$WORK/db" "$src" 2>"$WORK/stderr" &
	local pid=$!
	local wpid=""
	if [ -n "$writer" ]; then
		bash -c "$writer" >"$WORK/fifo" 2>/dev/null &
		wpid=$!
	fi
	sleep 1
	local other="no"
	"$DNSSCOUT" pdns stats --db "$WORK/db" >/dev/null 2>&1 && other="yes"
	local t0 t1
	t0=$(date +%s.%N)
	kill -TERM "$pid"
	wait "$pid" || true
	t1=$(date +%s.%N)
	[ -n "$wpid" ] && kill "$wpid" 2>/dev/null || true
	printf '%-34s exited %.3f s after SIGTERM; store usable meanwhile: %s\n' "$name" "$(echo "$t1 - $t0" | bc -l)" "$other"
}
sigterm "endless line on a FIFO" "passivedns:$WORK/fifo" "yes aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa | tr -d '\n'"
sigterm "FIFO without a writer" "$WORK/fifo" ""
