#!/usr/bin/env bash
# Misuse that must not compile, and must say why: each WEFT_MISUSE case of
# handover.cpp, with the installed headers (pkg-config, as users build) and with
# g++ and clang++-19. The file as it is must compile, link and run first, so a
# failing case fails for the line it changes.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
expect="hand it over with std::move"
cases=$(grep -c '^#if WEFT_MISUSE == ' handover.cpp)
for cxx in g++ clang++-19; do
    # shellcheck disable=SC2046
    "$cxx" -std=c++20 handover.cpp -o "$work/handover" $(pkg-config --cflags --libs weft)
    "$work/handover"
    for n in $(seq 1 "$cases"); do
        # shellcheck disable=SC2046
        if "$cxx" -std=c++20 -fsyntax-only -DWEFT_MISUSE="$n" handover.cpp $(pkg-config --cflags weft) \
                >"$work/err" 2>&1; then
            echo "$cxx: case $n of handover.cpp compiled; it must not"
            exit 1
        fi
        if ! grep -q "$expect" "$work/err"; then
            echo "$cxx: case $n of handover.cpp failed without saying \"$expect\":"
            head -40 "$work/err"
            exit 1
        fi
    done
done
echo "misuse: $cases lvalue hand-overs refused with a clear message (g++, clang++-19)"
