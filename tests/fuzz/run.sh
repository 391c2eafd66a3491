#!/usr/bin/env bash
# Builds the RESP parser's libFuzzer target with clang (-fsanitize=fuzzer,address,
# undefined) into build dir $1 and runs it for $2 seconds (default 30) on a copy of
# the seed corpus in tests/fuzz/resp_corpus. Fails on any crash or sanitizer report.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$1
seconds=${2:-30}
mkdir -p "$out"
clang++ -std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined \
    tests/fuzz/resp_fuzz.cpp examples/resp_server/resp_protocol.cpp -o "$out/resp_fuzz"
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
cp tests/fuzz/resp_corpus/* "$corpus/"
"$out/resp_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    "$corpus" 2>&1 | tail -n 12
