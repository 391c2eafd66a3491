# Draws docs/img/forkjoin.png from weft-compare --data DIR (scripts/bench.sh):
#   gnuplot -e "data='DIR'; out='docs/img/forkjoin.png'" scripts/plot_forkjoin.gp
# (optionally also title='...').
# Four panels: time against workers, speedup against workers, weft's time over
# oneTBB's against workers (issue 8's 0.22 target drawn), and weft's cost per fib
# task against the number of tasks (fib 30..39, log scale).
if (!exists("data")) data = "build/bench-data"
if (!exists("out")) out = "docs/img/forkjoin.png"
if (!exists("title")) title = "weft fork-join beside oneTBB (scripts/bench.sh)"
fj = data . "/forkjoin.tsv"
fibs = data . "/fib_series.tsv"
benches = "fib skynet nqueens matmul"

set terminal pngcairo size 1400,1000 font ",11"
set output out
set datafile separator "\t"
set key top left box opaque width 2
set grid
stats fj using 3 nooutput
maxw = STATS_max
set xrange [0.9:maxw * 1.1]
set logscale x 2
set xlabel "workers"
set multiplot layout 2,2 title title

set title "time (solid: weft, dashed: oneTBB)"
set ylabel "ms"
set logscale y
plot for [i=1:words(benches)] fj using 3:(strcol(1) eq word(benches, i) ? $4 : NaN) \
         with linespoints lw 2 lc i pt 7 title word(benches, i), \
     for [i=1:words(benches)] fj using 3:(strcol(1) eq word(benches, i) ? $5 : NaN) \
         with linespoints lw 1 dt 2 lc i pt 6 notitle
unset logscale y

set title "speedup over 1 worker (solid: weft, dashed: oneTBB)"
set ylabel "speedup"
set yrange [0:*]
plot x with lines lc "gray" dt 3 title "ideal", \
     for [i=1:words(benches)] fj using 3:(strcol(1) eq word(benches, i) ? $7 : NaN) \
         with linespoints lw 2 lc i pt 7 title word(benches, i), \
     for [i=1:words(benches)] fj using 3:(strcol(1) eq word(benches, i) ? $8 : NaN) \
         with linespoints lw 1 dt 2 lc i pt 6 notitle

set title "weft time / oneTBB time (below 1: weft faster)"
set ylabel "ratio"
set yrange [0:1.4]
plot 0.22 with lines lc "red" dt 2 title "issue 8 target (fib, skynet)", \
     1 with lines lc "gray" dt 3 notitle, \
     for [i=1:words(benches)] fj using 3:(strcol(1) eq word(benches, i) ? $9 : NaN) \
         with linespoints lw 2 lc i pt 7 title word(benches, i)

set title "weft, 1 worker: cost per fib task against the number of tasks"
set xlabel "tasks (fib 30 .. 39)"
set ylabel "ns per task"
set autoscale x
set logscale x 10
set format x "10^{%T}"
set yrange [0:*]
plot fibs using 2:4 with linespoints lw 2 pt 7 lc 1 title "weft fib"
unset multiplot
