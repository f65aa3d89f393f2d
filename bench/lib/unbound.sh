# bench/lib/unbound.sh: the benchmark resolver's configuration, shared by
# bench/bruteforce and bench/inventory. Source it, then
#   unbound_conf FILE [EXTRA-LINE...]
# writes an Unbound configuration for one fast, cache-heavy iterator on
# $RES@53 using $WORK (directory, pid file, root.hints) and
# $UNBOUND_THREADS; each EXTRA-LINE is added to its server: clause.
# Its control socket ($WORK/unbound.ctl, no certificates) lets
# unbound_stats tell whether a run was served from Unbound's cache.
unbound_conf() {
	local file=$1
	shift
	cat >"$file" <<CONF
server:
  interface: $RES@53
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  module-config: "iterator"
  chroot: ""
  username: ""
  directory: "$WORK"
  pidfile: "$WORK/unbound.pid"
  use-syslog: no
  logfile: ""
  verbosity: 0
  extended-statistics: yes
  num-threads: $UNBOUND_THREADS
  so-reuseport: yes
  num-queries-per-thread: 4096
  outgoing-range: 8192
  so-rcvbuf: 8m
  so-sndbuf: 8m
  msg-cache-size: 512m
  rrset-cache-size: 512m
  key-cache-size: 4m
  neg-cache-size: 256m
  cache-min-ttl: 3600
  ratelimit: 0
  ip-ratelimit: 0
  unwanted-reply-threshold: 0
  qname-minimisation: no
  minimal-responses: yes
  harden-referral-path: no
  root-hints: "$WORK/root.hints"
CONF
	local line
	for line in "$@"; do
		printf '  %s\n' "$line" >>"$file"
	done
	printf 'remote-control:\n  control-enable: yes\n  control-use-cert: no\n  control-interface: "%s/unbound.ctl"\n' "$WORK" >>"$file"
}

# unbound_stats FILE: Unbound's counters since the last call (reset),
# summed over threads, as one line: queries, cache hits %, requests
# dropped from a full request list, message-cache entries and MiB.
unbound_stats() {
	unbound-control -c "$1" stats 2>/dev/null | awk -F= '
		/^total.num.queries=/ {q=$2} /^total.num.cachehits=/ {h=$2}
		/^total.requestlist.exceeded=/ {x=$2} /^total.requestlist.overwritten=/ {o=$2}
		/^msg.cache.count=/ {mc=$2} /^mem.cache.message=/ {mm=$2}
		END {if (q>0) printf "unbound: %d queries, %.1f%% from cache, %d dropped (list full), %d jostled, msg cache %d entries %.0f MiB", q, 100*h/q, x, o, mc, mm/1048576; else printf "unbound: no statistics"}'
}
