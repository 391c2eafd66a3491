#!/usr/bin/env bash
# RESP server comparison (issue 5's benchmark): redis-benchmark -t set,get
# -n 300000 -c 50 -P 16 -r 100000 against examples/resp_server at 1 and 2 workers
# and against redis-server --save '' --appendonly no, in one run, each RUNS times
# (default 3, interleaved); prints the median requests/s and the ratio to
# redis-server. Usage: scripts/resp_bench.sh [BUILD_DIR] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
runs=${2:-3}
server_bin=$build/examples/resp_server
[ -x "$server_bin" ] || { echo "resp_bench: $server_bin not built"; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
wait_ready() { for _ in $(seq 200); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "server on $1 did not start"; exit 1; }

declare -A port
port[resp1]=$(free_port); "$server_bin" --port "${port[resp1]}" --workers 1 >/dev/null & pids+=($!)
port[resp2]=$(free_port); "$server_bin" --port "${port[resp2]}" --workers 2 >/dev/null & pids+=($!)
port[redis]=$(free_port); redis-server --port "${port[redis]}" --bind 127.0.0.1 --save '' --appendonly no >/dev/null & pids+=($!)
for k in resp1 resp2 redis; do wait_ready "${port[$k]}"; done

declare -A results
for ((r = 1; r <= runs; r++)); do
    for k in redis resp1 resp2; do
        echo "run $r/$runs: $k ..." >&2
        out=$(redis-benchmark -p "${port[$k]}" -t set,get -n 300000 -c 50 -P 16 -r 100000 -q 2>/dev/null | tr '\r' '\n')
        set_rps=$(echo "$out" | sed -n 's/^SET: \([0-9.]*\) requests per second.*/\1/p' | tail -1)
        get_rps=$(echo "$out" | sed -n 's/^GET: \([0-9.]*\) requests per second.*/\1/p' | tail -1)
        results[$k,set]+="$set_rps "
        results[$k,get]+="$get_rps "
    done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
echo "redis-benchmark -t set,get -n 300000 -c 50 -P 16 -r 100000, median of $runs runs, $(nproc) hardware threads"
printf '%-28s %14s %10s %14s %10s\n' server "SET req/s" "vs redis" "GET req/s" "vs redis"
rs=$(echo "${results[redis,set]}" | median); rg=$(echo "${results[redis,get]}" | median)
for k in redis resp1 resp2; do
    s=$(echo "${results[$k,set]}" | median); g=$(echo "${results[$k,get]}" | median)
    case $k in redis) name="redis-server";; resp1) name="resp_server, 1 worker";; resp2) name="resp_server, 2 workers";; esac
    awk -v n="$name" -v s="$s" -v g="$g" -v rs="$rs" -v rg="$rg" \
        'BEGIN { printf "%-28s %14.0f %9.2fx %14.0f %9.2fx\n", n, s, s / rs, g, g / rg }'
done
echo "(redis-benchmark's own client threads share the machine's cores with the servers.)"
