# energy.gp: Figure 7 of wasibench (the paper's Table 4 as a figure): host
# energy per training step and per inference batch, by method and epsilon /
# rank (mean over seeds, error bars = std over seeds). The meter is the run's
# (RAPL package zones or hwmon power rails, core/runtime/energy.h): it counts the
# whole package, other processes included. `wasibench plot` skips this figure
# when no run measured energy.
# Data: DATADIR/energy.dat and DATADIR/info.gp (written by `wasibench plot`).
# Usage: gnuplot -e "datadir='DIR'; outfile='OUT.png'; term='pngcairo'" energy.gp   (term: pngcairo | svg)
if (!exists("datadir")) datadir = "."
if (!exists("term")) term = "pngcairo"
if (!exists("outfile")) outfile = "energy." . (term eq "svg" ? "svg" : "png")
load datadir . "/info.gp"
if (term eq "svg") { set terminal svg size 1000,560 dynamic noenhanced font "Sans,12" background rgb "white" } \
else { set terminal pngcairo size 1000,560 noenhanced font ",11" }
set output outfile
set encoding utf8
set datafile missing NaN
dat = datadir . "/energy.dat"

# columns: 1 label, 2 method, 3 epsilon, 4 lora_rank, 5 n_seeds, 6-10 forward/backward/decomposition/update/other J,
# 11 train_j, 12 train_j_std, 13 infer_j, 14 infer_j_std, 15 recompute_j (part of train_j)
set title "Energy per training step and per inference batch" . (strlen(stage) ? " (stage " . stage . ")" : "") font ",14"
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.85 border rgb "#333333"
set boxwidth 0.9 relative
set grid ytics lc rgb "#dddddd"
set yrange [0:*]
set bmargin at screen 0.18 + 0.025 * footnote_lines
set key top right box opaque font ",10"
set xtics format "%g" rotate by 30 right nomirror font ",10"
set ylabel "joules"
if (strlen(footnote)) set label 99 footnote at screen 0.01, screen 0.01 + 0.025 * footnote_lines left font ",9" tc rgb "#555555"
plot dat using 11:12:xtic(1) title "per training step" lc rgb "#1f77b4", \
     ''  using 13:14 title "per inference batch" lc rgb "#8c564b"
