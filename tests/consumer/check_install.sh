#!/usr/bin/env bash
# Installs weft from build dir $1 (meson install, as a user would) and builds the
# consumer program twice: with only `pkg-config --cflags --libs weft`, and with
# CMake's find_package(weft). Both must compile, link and run.
set -euo pipefail
cd "$(dirname "$0")"
build=../../$1
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo meson install -C "$build" --quiet
$sudo ldconfig
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# shellcheck disable=SC2046
g++ consumer.cpp -o "$work/consumer_pc" $(pkg-config --cflags --libs weft)
"$work/consumer_pc"

cmake -S cmake_project -B "$work/cmake" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/cmake" >/dev/null
"$work/cmake/consumer"
command -v weft-forkjoin >/dev/null
weft-forkjoin fib 20 1 | grep -q '^duration: [0-9]* us$'
echo "consumers built with pkg-config and CMake ran fine"
