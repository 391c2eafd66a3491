#!/usr/bin/env bash
# Installs weft from build dir $1 (meson install, as a user would) and builds the
# consumer program three ways: with only `pkg-config --cflags --libs weft` (by
# g++ and by clang++-19), with CMake's find_package(weft), and with meson's
# dependency('weft'). All must compile, link and run. The headers must also
# compile without a warning under strict flags when not in a system directory.
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
# The headers compile in the user's program, so clang 19 must take them too,
# against the library GCC built. (Debian's default clang, 14, cannot compile
# libstdc++ 12's <ranges> views at all, which the consumer uses.)
# shellcheck disable=SC2046
clang++-19 consumer.cpp -o "$work/consumer_clang" $(pkg-config --cflags --libs weft)
"$work/consumer_clang"

# Installed under /usr/local/include the headers count as system headers, whose
# warnings compilers hide. A user who vendors them (-I) sees every warning: they
# must compile clean under strict flags too, with both compilers.
for cxx in g++ clang++-19; do
    for std in c++20 c++23; do
        "$cxx" -std=$std -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Werror \
            -I../../include -fsyntax-only consumer.cpp
    done
done

cmake -S cmake_project -B "$work/cmake" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/cmake" >/dev/null
"$work/cmake/consumer"

# meson wants its sources inside the project directory: a copy of the consumer.
cp -r meson_project "$work/meson_src"
cp consumer.cpp "$work/meson_src/"
meson setup "$work/meson" "$work/meson_src" --buildtype=release >/dev/null
ninja -C "$work/meson" >/dev/null
"$work/meson/consumer"
command -v weft-forkjoin >/dev/null
weft-forkjoin fib 20 1 | grep -q '^duration: [0-9]* us$'
echo "consumers built with pkg-config, CMake and meson ran fine"
