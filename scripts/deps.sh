#!/usr/bin/env bash
# Installs weft's build and test dependencies from Debian 12's apt, skipping the
# download when everything is already there. Sourced by bench.sh and test.sh.
set -euo pipefail

weft_packages=(g++ clang meson ninja-build pkg-config cmake libtbb-dev libbenchmark-dev catch2
               libmimalloc-dev liburing-dev libclang-rt-dev clang-19 redis-tools redis-server valgrind)

# Extra package names (e.g. the main job's gnuplot-nox) join the list.
weft_install_deps() {
    local missing=()
    for p in "${weft_packages[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}
