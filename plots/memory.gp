# memory.gp: Figure 4 of wasibench: what the paper's memory measure leaves
# out. Left: the tracked peak of each memory category (weights, gradients,
# optimizer, activations, workspace, data; each bar segment is that
# category's own peak, so the stack can exceed the peak of the total).
# Right: the paper's measure next to the tracked total peak and the process
# peak RSS (log scale when they span more than a factor 50). Mean over seeds.
# Data: DATADIR/memory.dat and DATADIR/info.gp (written by `wasibench plot`).
# Usage: gnuplot -e "datadir='DIR'; outfile='OUT.png'; term='pngcairo'" memory.gp   (term: pngcairo | svg)
if (!exists("datadir")) datadir = "."
if (!exists("term")) term = "pngcairo"
if (!exists("outfile")) outfile = "memory." . (term eq "svg" ? "svg" : "png")
load datadir . "/info.gp"
if (term eq "svg") { set terminal svg size 1000,600 dynamic noenhanced font "Sans,12" background rgb "white" } \
else { set terminal pngcairo size 1000,600 noenhanced font ",11" }
set output outfile
set encoding utf8
set datafile missing NaN
dat = datadir . "/memory.dat"

# columns: 1 label, 2 method, 3 epsilon, 4 lora_rank, 5 n_seeds, 6 weights_mb, 7 gradients_mb,
# 8 optimizer_mb, 9 activations_mb, 10 workspace_mb, 11 data_mb, 12 tracked_peak_mb, 13 rss_peak_mb, 14 paper_total_mb
# Two panels over the same bars: top the tracked peaks by category, bottom the three totals.
bottom = 0.15 + 0.025 * footnote_lines
split = bottom + (0.88 - bottom) * 0.5
set multiplot title "Memory by category, and the paper's measure vs the whole process" . (strlen(stage) ? " (stage " . stage . ")" : "") font ",14"
set style data histograms
set style fill solid 0.85 border rgb "#333333"
set grid ytics lc rgb "#dddddd"
set xrange [-0.6:n_groups - 0.4]
set lmargin at screen 0.09
set rmargin at screen 0.72

set tmargin at screen 0.88
set key at screen 0.735, screen 0.88 left top vertical Left reverse box opaque font ",10"
set bmargin at screen split + 0.07
set style histogram rowstacked
set boxwidth 0.7
set yrange [0:*]
set xtics format "" nomirror
set ylabel "MB (2^20 bytes)"
set title "tracked peak of each category (a stack can exceed the total peak)" offset 0,-0.5
plot dat using 6 title "weights" lc rgb "#1f77b4", \
     ''  using 7 title "gradients" lc rgb "#ff7f0e", \
     ''  using 8 title "optimizer" lc rgb "#2ca02c", \
     ''  using 9 title "activations" lc rgb "#d62728", \
     ''  using 10 title "workspace" lc rgb "#9467bd", \
     ''  using 11 title "data" lc rgb "#8c564b"

set tmargin at screen split
set key at screen 0.735, screen split left top vertical Left reverse box opaque font ",10"
set bmargin at screen bottom
set style histogram clustered gap 1
set boxwidth 0.9
set xtics format "%g" rotate by 30 right nomirror font ",10"
set title "paper measure (saved activations + weights of the trained linears) vs the whole process" offset 0,-0.5
# mem_totals_lo_pos, mem_totals_hi: the range of columns 12-14, from info.gp
if (mem_totals_lo_pos > 0 && mem_totals_hi / mem_totals_lo_pos > 50) { set logscale y; set yrange [*:*]; set ylabel "MB (log scale)" } else { set yrange [0:*]; set ylabel "MB" }
if (strlen(footnote)) set label 99 footnote at screen 0.01, screen 0.01 + 0.025 * footnote_lines left font ",9" tc rgb "#555555"
plot dat using 14:xtic(1) title "paper measure" lc rgb "#17becf", \
     ''  using 12 title "tracked total peak" lc rgb "#7f7f7f", \
     ''  using 13 title "process peak RSS (VmHWM)" lc rgb "#bcbd22"
unset multiplot
