#!/usr/bin/env bash
# The main job's fork-join pipeline end to end, into a temporary directory:
# weft-compare --data (one run each), the gnuplot plot, and the docs update on a
# copy of docs/benchmarks.md (twice: the second run must replace, not add).
#   check_compare.sh BUILD_DIR
set -euo pipefail
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check_compare: $*"; exit 1; }

"$build/bench/weft-compare" --runs 1 --data "$tmp" > "$tmp/out.txt" 2> "$tmp/err.txt" ||
    { cat "$tmp/out.txt" "$tmp/err.txt"; fail "weft-compare failed"; }
for f in forkjoin.tsv fib_series.tsv table.md; do [ -s "$tmp/$f" ] || fail "no $f"; done
for b in fib skynet nqueens matmul; do
    grep -q "^$b	" "$tmp/forkjoin.tsv" || fail "forkjoin.tsv has no $b row"
    grep -q "^| $b | " "$tmp/table.md" || fail "table.md has no $b row"
done
[ "$(grep -vc '^#' "$tmp/fib_series.tsv")" -eq 10 ] || fail "fib_series.tsv should hold fib 30..39"
grep -q "fib 39 over fib 30" "$tmp/out.txt" || fail "no fib 30..39 summary"
grep -Eq "^  1w: weft [0-9.]+ MiB, oneTBB [0-9.]+ MiB" "$tmp/out.txt" || fail "no max RSS line"
# One line per issue 8 target this run checks, each ending in its verdict (the
# 2-worker speedup only where there are 2 hardware threads).
targets=$([ "$(getconf _NPROCESSORS_ONLN)" -gt 1 ] && echo 5 || echo 4)
[ "$(grep -Ec '^- .* — (met|not met \(.+\))\.$' "$tmp/table.md")" -eq "$targets" ] ||
    fail "table.md should list $targets target verdicts"
[ "$(grep -Ec '^  - .* — (met|not met \(.+\))\.$' "$tmp/out.txt")" -eq "$targets" ] ||
    fail "the output should list $targets target verdicts"

gnuplot -e "data='$tmp'; out='$tmp/forkjoin.png'" scripts/plot_forkjoin.gp 2> "$tmp/gnuplot.txt" ||
    { cat "$tmp/gnuplot.txt"; fail "gnuplot failed"; }
[ "$(head -c 8 "$tmp/forkjoin.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "the plot is not a PNG"

cp docs/benchmarks.md "$tmp/doc.md"
for round in 1 2; do
    python3 scripts/update_bench_doc.py "$tmp" "$build" "$tmp/doc.md" "bash scripts/bench.sh" > /dev/null
done
[ "$(grep -c 'bench.sh: forkjoin begin' "$tmp/doc.md")" -eq 1 ] || fail "the docs section was duplicated"
[ "$(grep -c '^| fib | ' "$tmp/doc.md")" -eq 1 ] || fail "the docs section does not hold the fib row once"
grep -q "img/forkjoin.png" "$tmp/doc.md" || fail "the docs section does not show the plot"
echo "weft-compare --data, plot and docs update: ok"
