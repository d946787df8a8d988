# time.gp: Figure 3 of wasibench: wall time per training step split by phase
# (stacked bars: forward, backward, decomposition, update, other) and per
# inference batch, by method and epsilon / rank (mean over seeds; error bars
# on the inference bars = std over seeds).
# Data: DATADIR/time.dat and DATADIR/info.gp (written by `wasibench plot`).
# Usage: gnuplot -e "datadir='DIR'; outfile='OUT.png'; term='pngcairo'" time.gp   (term: pngcairo | svg)
if (!exists("datadir")) datadir = "."
if (!exists("term")) term = "pngcairo"
if (!exists("outfile")) outfile = "time." . (term eq "svg" ? "svg" : "png")
load datadir . "/info.gp"
if (term eq "svg") { set terminal svg size 1000,600 dynamic noenhanced font "Sans,12" background rgb "white" } \
else { set terminal pngcairo size 1000,600 noenhanced font ",11" }
set output outfile
set encoding utf8
set datafile missing NaN
dat = datadir . "/time.dat"

# columns: 1 label, 2 method, 3 epsilon, 4 lora_rank, 5 n_seeds, 6 forward_ms, 7 backward_ms,
# 8 decomposition_ms, 9 update_ms, 10 other_ms, 11 train_ms, 12 train_ms_std, 13 infer_ms, 14 infer_ms_std,
# 15 recompute_ms (memory.recompute's re-run forwards, 0 without it; part of train_ms)
# Two panels over the same bars: top the training step by phase, bottom the inference batch.
bottom = 0.15 + 0.025 * footnote_lines
split = bottom + (0.88 - bottom) * 0.45
set multiplot title "Wall time per training step and per inference batch" . (strlen(stage) ? " (stage " . stage . ")" : "") font ",14"
set style data histograms
set style fill solid 0.85 border rgb "#333333"
set boxwidth 0.7
set grid ytics lc rgb "#dddddd"
set yrange [0:*]
set xrange [-0.6:n_groups - 0.4]
set lmargin at screen 0.09
set rmargin at screen 0.72

set tmargin at screen 0.88
set key at screen 0.735, screen 0.88 left top vertical Left reverse box opaque font ",10"
set bmargin at screen split + 0.07
set style histogram rowstacked
set xtics format "" nomirror
set ylabel "ms per training step"
set title "training step, by phase" offset 0,-0.5
# time_train_n, time_infer_n (info.gp): how many bars have a value; an empty panel says so
if (time_train_n > 0) {
    plot dat using 6 title "forward" lc rgb "#1f77b4", \
         ''  using 7 title "backward" lc rgb "#ff7f0e", \
         ''  using 8 title "decomposition" lc rgb "#2ca02c", \
         ''  using 9 title "update" lc rgb "#d62728", \
         ''  using 10 title "other (data, bookkeeping)" lc rgb "#9467bd", \
         ''  using 15 title "recompute" lc rgb "#bcbd22"
} else {
    set label 98 "no training step was timed" at graph 0.5, 0.5 center
    set key off
    plot [][0:1] dat using (0) notitle lc rgb "white"
    unset label 98
}

set tmargin at screen split
set key at screen 0.735, screen split left top vertical Left reverse box opaque font ",10"
set bmargin at screen bottom
set style histogram errorbars gap 1 lw 1
set boxwidth 0.7 relative
set xtics format "%g" rotate by 30 right nomirror font ",10"
set ylabel "ms per inference batch"
set title "inference batch (error bars: std over seeds)" offset 0,-0.5
if (strlen(footnote)) set label 99 footnote at screen 0.01, screen 0.01 + 0.025 * footnote_lines left font ",9" tc rgb "#555555"
if (time_infer_n > 0) {
    plot dat using 13:14:xtic(1) title "inference" lc rgb "#8c564b"
} else {
    set label 98 "no inference batch was timed" at graph 0.5, 0.5 center
    set key off
    plot [][0:1] dat using (0):(0):xtic(1) notitle lc rgb "white"
}
unset multiplot
