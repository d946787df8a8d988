# flops.gp: Figure 2 of wasibench: counted FLOPs per training step
# (forward + backward + decomposition + update) and per inference batch, by
# method and epsilon / rank (grouped bars, mean over seeds, error bars = std).
# The y axis turns logarithmic when the bars span more than a factor 50.
# Data: DATADIR/flops.dat and DATADIR/info.gp (written by `wasibench plot`).
# Usage: gnuplot -e "datadir='DIR'; outfile='OUT.png'; term='pngcairo'" flops.gp   (term: pngcairo | svg)
if (!exists("datadir")) datadir = "."
if (!exists("term")) term = "pngcairo"
if (!exists("outfile")) outfile = "flops." . (term eq "svg" ? "svg" : "png")
load datadir . "/info.gp"
if (term eq "svg") { set terminal svg size 1000,600 dynamic noenhanced font "Sans,12" background rgb "white" } \
else { set terminal pngcairo size 1000,600 noenhanced font ",11" }
set output outfile
set encoding utf8
set datafile missing NaN
dat = datadir . "/flops.dat"

# columns: 1 label, 2 method, 3 epsilon, 4 lora_rank, 5 n_seeds, 6 train_gflop, 7 train_gflop_std,
# 8 forward_gflop, 9 backward_gflop, 10 decomposition_gflop, 11 update_gflop, 12 infer_gflop, 13 infer_gflop_std,
# 14 recompute_gflop (memory.recompute's re-run forwards, 0 without it; part of train_gflop)
# flops_lo_pos, flops_hi: the range of columns 6 and 12, from info.gp
if (flops_lo_pos > 0 && flops_hi / flops_lo_pos > 50) { set logscale y; set ylabel "GFLOP (10^9 counted FLOPs, log scale)" } \
else { set yrange [0:*]; set ylabel "GFLOP (10^9 counted FLOPs)" }

set title "FLOPs per training step and per inference batch" . (strlen(stage) ? " (stage " . stage . ")" : "") font ",14"
set style data histograms
set style histogram errorbars gap 1.5 lw 1
set style fill solid 0.85 border rgb "#333333"
set boxwidth 0.9
set xtics rotate by 30 right nomirror
set grid ytics lc rgb "#dddddd"
set key outside right top vertical Left reverse box opaque
set bmargin 7 + footnote_lines
if (strlen(footnote)) set label 99 footnote at screen 0.01, screen 0.01 + 0.025 * footnote_lines left font ",9" tc rgb "#555555"
plot dat using 6:7:xtic(1) title "training step" lc rgb "#1f77b4", \
     ''  using 12:13 title "inference batch" lc rgb "#ff7f0e"
