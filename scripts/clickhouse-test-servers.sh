#!/usr/bin/env bash
# clickhouse-test-servers.sh — start (or stop) local ClickHouse servers for
# dnsscout's ClickHouse backend: one server, or N servers joined as the
# shards of a cluster, each on its own loopback address with its own ports,
# with configuration, data and logs under one directory.
#
# The Go tests do not need this script: they start their own servers
# (internal/store/clickhouse/chtest). It is for trying the backend by hand,
# for demos and for running CI's ClickHouse tests against servers that stay
# up. It needs Debian's clickhouse-server (18.16 on Debian 12):
#   apt-get install -y clickhouse-server clickhouse-client
#
# Usage:
#   scripts/clickhouse-test-servers.sh start [-n SHARDS] [-d DIR] [-c CLUSTER]
#   scripts/clickhouse-test-servers.sh stop [-d DIR]
#
# Server i (1-based) listens on 127.53.254.i only: native port 9100+i, HTTP
# 8200+i, interserver 9300+i. Every server knows the cluster CLUSTER
# (default "pdns") whose shards are all N servers. On success it prints the
# DSN to give dnsscout, e.g.
#   dnsscout pdns migrate --db 'clickhouse://127.53.254.1:9101/pdns?cluster=pdns'
set -euo pipefail

cmd=${1:-}
shift || true
n=2
dir=${TMPDIR:-/tmp}/dnsscout-clickhouse
cluster=pdns
while getopts "n:d:c:" opt; do
	case $opt in
	n) n=$OPTARG ;;
	d) dir=$OPTARG ;;
	c) cluster=$OPTARG ;;
	*) echo "usage: $0 start|stop [-n SHARDS] [-d DIR] [-c CLUSTER]" >&2; exit 2 ;;
	esac
done
if ! [[ $n =~ ^[1-9][0-9]?$ ]] || ((n > 50)); then
	echo "$0: -n must be 1 to 50" >&2
	exit 2
fi
if ! [[ $cluster =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
	echo "$0: -c must be letters, digits and _" >&2
	exit 2
fi

host() { echo "127.53.254.$1"; }

stop_all() {
	local pidfile pid
	for pidfile in "$dir"/ch*/server.pid; do
		[[ -f $pidfile ]] || continue
		pid=$(cat "$pidfile")
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
			for _ in $(seq 1 50); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.2
			done
			kill -KILL "$pid" 2>/dev/null || true
		fi
		rm -f "$pidfile"
	done
}

case $cmd in
stop)
	stop_all
	echo "stopped the servers under $dir"
	exit 0
	;;
start) ;;
*)
	echo "usage: $0 start|stop [-n SHARDS] [-d DIR] [-c CLUSTER]" >&2
	exit 2
	;;
esac

bin=$(command -v clickhouse-server || true)
[[ -n $bin ]] || bin=/usr/sbin/clickhouse-server
if [[ ! -x $bin ]]; then
	echo "$0: clickhouse-server not found: apt-get install -y clickhouse-server clickhouse-client" >&2
	exit 1
fi
stop_all

shards=""
for i in $(seq 1 "$n"); do
	shards+="<shard><replica><host>$(host "$i")</host><port>$((9100 + i))</port></replica></shard>"
done

for i in $(seq 1 "$n"); do
	d=$dir/ch$i
	mkdir -p "$d/data" "$d/tmp" "$d/user_files" "$d/format_schemas"
	h=$(host "$i")
	# Linux accepts any 127/8 address on lo; as root, add it explicitly
	# (harmless when present) for tools that check interfaces.
	if [[ $(id -u) == 0 ]] && command -v ip >/dev/null; then
		ip addr add "$h/32" dev lo 2>/dev/null || true
	fi
	cat >"$d/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$d/server.log</log><errorlog>$d/server.err.log</errorlog><size>10M</size><count>1</count></logger>
  <listen_host>$h</listen_host>
  <tcp_port>$((9100 + i))</tcp_port>
  <http_port>$((8200 + i))</http_port>
  <interserver_http_port>$((9300 + i))</interserver_http_port>
  <interserver_http_host>$h</interserver_http_host>
  <path>$d/data/</path>
  <tmp_path>$d/tmp/</tmp_path>
  <user_files_path>$d/user_files/</user_files_path>
  <format_schema_path>$d/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>0</uncompressed_cache_size>
  <remote_servers><$cluster>$shards</$cluster></remote_servers>
</yandex>
EOF
	cat >"$d/users.xml" <<'EOF'
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.0/8</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
EOF
	(cd "$d" && exec "$bin" --config-file="$d/config.xml" >"$d/stdout.log" 2>&1 </dev/null) &
	echo $! >"$d/server.pid"
done

# Wait (bounded) until every server answers its HTTP ping.
for i in $(seq 1 "$n"); do
	url="http://$(host "$i"):$((8200 + i))/ping"
	ok=""
	for _ in $(seq 1 300); do
		if [[ $(curl -s --noproxy '*' --max-time 1 "$url" 2>/dev/null || true) == Ok.* ]]; then
			ok=1
			break
		fi
		sleep 0.2
	done
	if [[ -z $ok ]]; then
		echo "$0: server $i did not answer on $url; its log:" >&2
		tail -n 30 "$dir/ch$i/stdout.log" "$dir/ch$i/server.err.log" >&2 2>/dev/null || true
		stop_all
		exit 1
	fi
done

if ((n == 1)); then
	echo "clickhouse://$(host 1):9101/pdns"
else
	echo "clickhouse://$(host 1):9101/pdns?cluster=$cluster"
fi
