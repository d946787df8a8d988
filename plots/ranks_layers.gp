# ranks_layers.gp: Figure 5a of wasibench: per-layer ranks of wasi at each
# epsilon. Top: the weight rank k of every trained linear (dashed grey: the
# full rank min(I, O)). Bottom: the activation ranks k1..k4 (one dash type
# per mode; for a ViT token tensor (B, N, I): k1 batch, k2 tokens, k3 channels).
# Data: DATADIR/ranks_layers.dat (one block per wasi setting, from its first
# seed) and DATADIR/info.gp (written by `wasibench plot`).
# Usage: gnuplot -e "datadir='DIR'; outfile='OUT.png'; term='pngcairo'" ranks_layers.gp   (term: pngcairo | svg)
if (!exists("datadir")) datadir = "."
if (!exists("term")) term = "pngcairo"
if (!exists("outfile")) outfile = "ranks_layers." . (term eq "svg" ? "svg" : "png")
load datadir . "/info.gp"
if (term eq "svg") { set terminal svg size 1000,600 dynamic noenhanced font "Sans,12" background rgb "white" } \
else { set terminal pngcairo size 1000,600 noenhanced font ",11" }
set output outfile
set encoding utf8
set datafile missing NaN
dat = datadir . "/ranks_layers.dat"

# columns: 1 layer, 2 short_name, 3 name, 4 in_features, 5 out_features, 6 full_rank, 7 weight_rank,
# 8 k1, 9 k2, 10 k3, 11 k4, 12 paper_act_mb, 13 paper_weight_mb
bottom = 0.15 + 0.025 * footnote_lines
split = bottom + (0.88 - bottom) / 2
set multiplot title "wasi: per-layer weight and activation ranks by epsilon" . (strlen(stage) ? " (stage " . stage . ")" : "") font ",14"
set grid xtics ytics lc rgb "#dddddd"
set key outside right top vertical Left reverse box opaque font ",10"
set lmargin at screen 0.08
set rmargin at screen 0.78
set xrange [-0.5:ranks_nlayers - 0.5]    # ranks_nlayers, ranks_act_max: from info.gp
set yrange [0:*]

set tmargin at screen 0.88
set bmargin at screen split + 0.03
set format x ""
set ylabel "weight rank k"
plot for [i=1:n_ranks_series] dat index (i-1) using 1:7 with linespoints lt i pt 7 ps 1.2 lw 2 title ranks_series[i], \
     dat index 0 using 1:6 with lines lc rgb "#999999" dt 2 lw 1.5 title "full rank min(I,O)"

set tmargin at screen split - 0.01
set bmargin at screen bottom
set format x "%g"
set xlabel "trained linear layer (block.layer)"
set xtics rotate by 30 right font ",9"
set ylabel "activation ranks"
if (ranks_act_max <= 10) { set ytics 1 }
if (strlen(footnote)) set label 99 footnote at screen 0.01, screen 0.01 + 0.025 * footnote_lines left font ",9" tc rgb "#555555"
plot for [i=1:n_ranks_series] for [m=1:n_act_modes] dat index (i-1) using 1:(column(7 + m)):xtic(2) \
         with linespoints lt i dt m pt (m + 3) ps 1 lw 1.5 title sprintf("%s k%d", ranks_series[i], m)
unset multiplot
