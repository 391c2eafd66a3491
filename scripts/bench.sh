#!/usr/bin/env bash
# The main job: install dependencies, build weft in release mode, and print the
# fork-join throughput comparison against oneTBB (and sequential code), then the
# TCP echo comparison against a plain epoll loop (weft-echo-bench, defaults), then
# channel and mutex beside their std equivalents (weft-sync-bench, defaults), then
# the RESP server against redis-server under redis-benchmark (resp_bench.sh).
# The fork-join results also go into docs/benchmarks.md (machine, command, table)
# and docs/img/forkjoin.png (gnuplot). Extra arguments go to weft-compare, e.g.
# --standard for the public suite's sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
weft_install_deps gnuplot-nox

[ -d build ] || meson setup build --buildtype=release
ninja -C build -j"$(nproc)" bench/weft-compare bench/weft-forkjoin bench/weft-echo-bench bench/weft-sync-bench \
    examples/resp_server
mkdir -p build/bench-data docs/img
./build/bench/weft-compare --data build/bench-data "$@"
gnuplot -e "data='build/bench-data'; out='docs/img/forkjoin.png'" scripts/plot_forkjoin.gp
python3 scripts/update_bench_doc.py build/bench-data build docs/benchmarks.md "bash scripts/bench.sh${*:+ $*}"
echo
./build/bench/weft-echo-bench
echo
./build/bench/weft-sync-bench
echo
bash scripts/resp_bench.sh build
