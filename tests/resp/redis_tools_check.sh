#!/usr/bin/env bash
# Drives examples/resp_server ($1) with the stock redis-cli and redis-benchmark:
# round trips with checked answers, a bounded benchmark of set/get/incr/mset whose
# effects are checked afterwards, then a graceful stop by SIGINT (exit status 0).
# Exit 77 (skipped) when redis-tools is not installed.
set -euo pipefail
server=$1
if ! command -v redis-cli >/dev/null || ! command -v redis-benchmark >/dev/null; then
    echo "redis-cli/redis-benchmark not installed (Debian package redis-tools): skipped"
    exit 77
fi
log=$(mktemp)
"$server" --port 0 --workers 2 >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
port=""
for _ in $(seq 200); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || { echo "resp_server did not start:"; cat "$log"; exit 1; }

expect() {  # expect WANT redis-cli-args...: the reply must be WANT
    local want=$1; shift
    local got
    got=$(redis-cli -p "$port" "$@")
    if [ "$got" != "$want" ]; then
        echo "redis-cli $*: expected \"$want\", got \"$got\""
        exit 1
    fi
}
expect PONG ping
expect OK set greeting "hello world"
expect "hello world" get greeting
expect 5 incrby counter 5
expect 12 append greeting "!"
expect 2 exists greeting counter
expect OK mset a 1 b 2
expect "$(printf '1\n2\n')" mget a b
expect 1 expire a 100
expect 100 ttl a
expect "ERR unknown command 'nosuch', with args beginning with: " nosuch
expect "ERR wrong number of arguments for 'get' command" get
expect 3 del a b greeting

out=$(redis-benchmark -p "$port" -t set,get,incr,mset -n 20000 -c 20 -q 2>/dev/null | tr '\r' '\n' |
      grep 'requests per second' || true)
echo "$out"
[ "$(echo "$out" | grep -c 'requests per second')" -eq 4 ] || { echo "redis-benchmark did not finish every test"; exit 1; }
# Its INCR test incremented one key 20,000 times; its SET/MSET wrote 3-byte values.
expect 20000 get "counter:__rand_int__"
expect 3 strlen "key:__rand_int__"

kill -INT "$pid"
status=0
wait "$pid" || status=$?
trap 'rm -f "$log"' EXIT
[ "$status" -eq 0 ] || { echo "resp_server exited with $status after SIGINT"; cat "$log"; exit 1; }
echo "redis-cli and redis-benchmark: all answers correct; stopped cleanly"
