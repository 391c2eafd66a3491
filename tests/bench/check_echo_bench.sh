#!/usr/bin/env bash
# weft-echo-bench end to end, briefly: every server row of the table (on both
# backends where io_uring works) and issue 4's target lines with a verdict each.
#   check_echo_bench.sh BUILD_DIR
set -euo pipefail
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check_echo_bench: $*"; cat "$tmp/out.txt" "$tmp/err.txt"; exit 1; }

"$build/bench/weft-echo-bench" --connections 4 --seconds 0.1 --runs 1 > "$tmp/out.txt" 2> "$tmp/err.txt" ||
    fail "weft-echo-bench failed"
grep -Eq '^plain epoll +1 +epoll +[0-9]+ +1\.00 ' "$tmp/out.txt" || fail "no plain epoll row"
for w in 1 2; do
    grep -Eq "^weft +$w +epoll +[0-9]+ +[0-9.]+ " "$tmp/out.txt" || fail "no weft $w-worker epoll row"
done
if grep -q "io_uring is unavailable" "$tmp/out.txt"; then
    grep -q "io_uring at least as fast as epoll: not measured" "$tmp/out.txt" || fail "no io_uring target line"
else
    grep -Eq '^weft +1 +io_uring +[0-9]+ ' "$tmp/out.txt" || fail "no weft io_uring row"
    grep -Eq '^  - io_uring at least as fast as epoll \(weft, 1 worker\): [0-9.]+ against [0-9.]+ — (met|not met)\.$' \
        "$tmp/out.txt" || fail "no io_uring target verdict"
fi
grep -Eq '^  - weft at 1 worker on epoll at least 1\.00× the plain epoll loop: [0-9.]+ — (met|not met)\.$' \
    "$tmp/out.txt" || fail "no epoll target verdict"
# Bad arguments name what was wrong and exit 2.
if "$build/bench/weft-echo-bench" --connections 0 > "$tmp/bad.txt" 2>&1; then fail "--connections 0 was accepted"; else
    [ $? -eq 2 ] || fail "--connections 0 should exit 2"
fi
grep -q -- '--connections "0": expected an integer in 1..10000' "$tmp/bad.txt" || fail "the error does not name --connections"
echo "weft-echo-bench rows and targets: ok"
