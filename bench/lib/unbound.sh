# bench/lib/unbound.sh: the benchmark resolver's configuration, shared by
# bench/bruteforce and bench/inventory. Source it, then
#   unbound_conf FILE [EXTRA-LINE...]
# writes an Unbound configuration for one fast, cache-heavy iterator on
# $RES@53 using $WORK (directory, pid file, root.hints) and
# $UNBOUND_THREADS; each EXTRA-LINE is added to its server: clause.
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
}
