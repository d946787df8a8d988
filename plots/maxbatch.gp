# maxbatch.gp: Figure 8 of wasibench: the largest batch per setting whose
# planned peak (tracked memory by category, core/vit_cost.h, plus the batch)
# fits each memory cap, from the results file's /maxbatch table (written by
# `wasibench maxbatch EXPERIMENT.yaml --cap 1GiB,2GiB,4GiB,8GiB`): grouped bars,
# one group per cap, one bar per setting, the batch above each bar; hatched
# bars: the plan is an upper bound (plan_exact = 0), so the batch is a lower
# bound. `wasibench plot` skips this figure when the file has no /maxbatch row.
# Data: DATADIR/maxbatch.dat and DATADIR/info.gp (written by `wasibench plot`).
# Usage: gnuplot -e "datadir='DIR'; outfile='OUT.png'; term='pngcairo'" maxbatch.gp   (term: pngcairo | svg)
if (!exists("datadir")) datadir = "."
if (!exists("term")) term = "pngcairo"
if (!exists("outfile")) outfile = "maxbatch." . (term eq "svg" ? "svg" : "png")
load datadir . "/info.gp"
if (term eq "svg") { set terminal svg size 1000,600 dynamic noenhanced font "Sans,12" background rgb "white" } \
else { set terminal pngcairo size 1000,600 noenhanced font ",11" }
set output outfile
set encoding utf8
set datafile missing NaN
dat = datadir . "/maxbatch.dat"

# columns: 1 series, 2 method, 3 epsilon, 4 cap_index, 5 cap_gib, 6 max_batch, 7 plan_exact, 8 plan_mb,
# 9 measured_mb, 10 error_pct, 11 n_runs, 12 run
set title "Largest batch under a memory cap" . (strlen(stage) ? " (stage " . stage . ")" : "") font ",14"
w = 0.8 / mb_n_series                                  # bar width: the series share 0.8 of a cap's slot
x(i) = column(4) + (i - 1 - (mb_n_series - 1) / 2.0) * w
set style fill solid 0.85 border rgb "#333333"
set grid ytics lc rgb "#dddddd"
set xrange [-0.5 : mb_n_caps - 0.5]
set xtics () nomirror
do for [c = 1:mb_n_caps] { set xtics add (mb_cap_label[c] c - 1) }
set xlabel "memory cap (planned tracked peak, GiB = 2^30 bytes)"
set ylabel "largest batch"
if (mb_batch_hi / mb_batch_lo_pos > 20) { set logscale y; set yrange [mb_batch_lo_pos / 2 : mb_batch_hi * 4] } \
else { set yrange [0 : mb_batch_hi * 1.15] }
set bmargin at screen 0.12 + 0.025 * mb_footnote_lines
set rmargin at screen 0.72
set key outside right top box opaque font ",10" width -4
if (strlen(mb_footnote)) set label 99 mb_footnote at screen 0.01, screen 0.01 + 0.025 * mb_footnote_lines left font ",9" tc rgb "#555555"
plot for [i = 1:mb_n_series] dat index (i - 1) using (x(i)):6:(w) with boxes lc i title mb_series[i], \
     for [i = 1:(mb_n_bound > 0 ? mb_n_series : 0)] dat index (i - 1) using (x(i)):($7 == 0 ? $6 : NaN):(w) with boxes fs transparent pattern 4 border rgb "#333333" lc rgb "#222222" notitle, \
     for [i = 1:mb_n_series] dat index (i - 1) using (x(i)):6:(sprintf("%d", $6)) with labels rotate by 90 left offset 0, 0.4 font ",8" notitle, \
     for [k = 1:(mb_n_bound > 0)] keyentry with boxes fs transparent pattern 4 lc rgb "#222222" title "plan an upper bound (hatched)"
