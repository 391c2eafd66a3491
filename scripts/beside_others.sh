#!/usr/bin/env bash
# weft-forkjoin beside libfork and TooManyCooks, as issue 8's outside check runs
# them: both built with clang++-19 -O3 -march=native the way the public fork-join
# suite (tzcnt/runtime-benchmarks) builds them, weft as the README builds it. The
# runtimes take turns run by run, so load from another tenant slows all of them;
# the table gives medians and weft's time over each other runtime's.
#
#   bash scripts/beside_others.sh --libfork DIR --tmc DIR --suite DIR [--runs N] [--standard]
#
# DIR: checkouts of ConorWilliams/libfork (v3.8), tzcnt/TooManyCooks and
# tzcnt/runtime-benchmarks (nothing is downloaded). libfork runs weft's own
# problem definitions (bench/beside/libfork_forkjoin.cpp: fib, skynet, nqueens,
# and matmul with weft-forkjoin's leaf); TooManyCooks runs the suite's sources,
# with its sizes set to the ones measured.
# Quick sizes (default): fib 32, skynet 7, nqueens 12, matmul 1024; --standard:
# the suite's fib 39, skynet 8, nqueens 14, matmul 2048.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
libfork="" tmc="" suite="" runs=5 standard=0
while [ $# -gt 0 ]; do
    case $1 in
        --libfork) libfork=${2:?}; shift 2 ;;
        --tmc) tmc=${2:?}; shift 2 ;;
        --suite) suite=${2:?}; shift 2 ;;
        --runs) runs=${2:?}; shift 2 ;;
        --standard) standard=1; shift ;;
        *) echo "beside_others.sh: unknown argument \"$1\""; usage ;;
    esac
done
[ -f "$libfork/single_header/libfork.hpp" ] || { echo "--libfork: no single_header/libfork.hpp under \"$libfork\""; usage; }
[ -f "$tmc/include/tmc/all_headers.hpp" ] || { echo "--tmc: no include/tmc/all_headers.hpp under \"$tmc\""; usage; }
[ -f "$suite/cpp/TooManyCooks/fib.cpp" ] || { echo "--suite: no cpp/TooManyCooks/fib.cpp under \"$suite\""; usage; }
[[ $runs =~ ^[1-9][0-9]?$ ]] || { echo "--runs: expected an integer in 1..99"; usage; }

source scripts/deps.sh
weft_install_deps clang-19 libhwloc-dev

[ -d build ] || meson setup build --buildtype=release
ninja -C build bench/weft-forkjoin
out=build/beside
mkdir -p "$out/tmc-src"
flags=(-O3 -march=native -DNDEBUG -pthread)

if [ $standard -eq 1 ]; then fib=39 sky=8 nq=14 mm=2048; else fib=32 sky=7 nq=12 mm=1024; fi

echo "building libfork-forkjoin and the suite's TooManyCooks programs (clang++-19) ..."
clang++-19 -std=c++23 "${flags[@]}" -isystem "$libfork/single_header" bench/beside/libfork_forkjoin.cpp \
    -o "$out/libfork-forkjoin"
cp "$suite"/cpp/TooManyCooks/{fib,skynet,nqueens,matmul}.cpp "$out/tmc-src/"
# The suite fixes skynet's depth and nqueens' size in the source.
sed -i "s/skynet<8>/skynet<$sky>/g" "$out/tmc-src/skynet.cpp"
sed -i "s/nqueens_work = [0-9]*;/nqueens_work = $nq;/" "$out/tmc-src/nqueens.cpp"
grep -q "skynet<$sky>" "$out/tmc-src/skynet.cpp" && grep -q "nqueens_work = $nq;" "$out/tmc-src/nqueens.cpp" ||
    { echo "the suite's skynet.cpp or nqueens.cpp no longer has the size this script sets"; exit 1; }
for b in fib skynet nqueens matmul; do
    clang++-19 -std=c++20 "${flags[@]}" -DTMC_TRIVIAL_TASK -DTMC_PRIORITY_COUNT=1 -DTMC_USE_HWLOC \
        -isystem "$tmc/include" -I "$suite/cpp/2common" "$out/tmc-src/$b.cpp" -o "$out/tmc-$b" -lhwloc
done

workers=(1)
[ "$(nproc)" -gt 1 ] && workers+=("$(nproc)")

# One timed run: the "duration: N us" line every program prints, in ms.
duration_ms() {
    "$@" | awk '/duration:/ { printf "%.1f\n", $2 / 1000; found = 1 } END { exit !found }'
}

printf '\nweft-forkjoin beside libfork and TooManyCooks: median of %d runs, taking turns, %d hardware threads\n\n' \
    "$runs" "$(nproc)"
printf '%-8s %5s %3s | %9s %9s %9s | %12s %12s\n' bench param w "weft ms" "libfork" "TMC" "weft/libfork" "weft/TMC"
for spec in "fib $fib" "skynet $sky" "nqueens $nq" "matmul $mm"; do
    read -r b p <<<"$spec"
    for w in "${workers[@]}"; do
        weft=() lf=() tm=()
        case $b in
            fib) tmc_cmd=("$out/tmc-fib" "$p" "$w") ;;
            skynet) tmc_cmd=("$out/tmc-skynet" "$w") ;;
            nqueens) tmc_cmd=("$out/tmc-nqueens" "$w") ;;
            matmul) tmc_cmd=("$out/tmc-matmul" "$p" "$w") ;;
        esac
        for _ in $(seq "$runs"); do
            weft+=("$(duration_ms ./build/bench/weft-forkjoin "$b" "$p" "$w")")
            lf+=("$(duration_ms "$out/libfork-forkjoin" "$b" "$p" "$w")")
            tm+=("$(duration_ms "${tmc_cmd[@]}")")
        done
        python3 - "$b" "$p" "$w" "${weft[*]}" "${lf[*]:-}" "${tm[*]}" <<'PY'
import statistics, sys
b, p, w, weft, lf, tm = sys.argv[1:7]
med = lambda s: statistics.median(float(x) for x in s.split()) if s.strip() else None
W, L, T = med(weft), med(lf), med(tm)
f = lambda v: f"{v:9.1f}" if v is not None else f"{'-':>9}"
r = lambda v: f"{W / v:12.2f}" if v else f"{'-':>12}"
print(f"{b:<8} {p:>5} {w:>3} | {f(W)} {f(L)} {f(T)} | {r(L)} {r(T)}")
PY
    done
done
echo
echo "weft/X: weft's median time over X's (below 1.00: weft is faster). libfork runs weft's problem"
echo "definitions; TooManyCooks runs the suite's sources. Only ratios from one run count."
