# accuracy_memory.gp: Figure 1 of wasibench, the paper's Figure 5/6 style:
# final validation accuracy against training memory, one series per method,
# each point labelled with its epsilon / rank. Left: the paper's measure
# (activations saved for backward + weights of the trained linears, MB, log
# scale); right: what the whole process held, its peak RSS (filled) and the
# peak of the tracked total (open points: every category, without code,
# libraries and allocator overhead), MB, log scale.
# Data: DATADIR/accuracy_memory.dat (one block per series) and DATADIR/info.gp,
# both written by `wasibench plot`; columns are listed in plots/README.md.
# Usage: gnuplot -e "datadir='DIR'; outfile='OUT.png'; term='pngcairo'" accuracy_memory.gp   (term: pngcairo | svg)
if (!exists("datadir")) datadir = "."
if (!exists("term")) term = "pngcairo"
if (!exists("outfile")) outfile = "accuracy_memory." . (term eq "svg" ? "svg" : "png")
load datadir . "/info.gp"
if (term eq "svg") { set terminal svg size 1500,600 dynamic noenhanced font "Sans,12" background rgb "white" } \
else { set terminal pngcairo size 1500,600 noenhanced font ",11" }
set output outfile
set encoding utf8
set datafile missing NaN
dat = datadir . "/accuracy_memory.dat"
array PT[6] = [5, 7, 9, 11, 13, 15]   # filled point types, one per series

# columns: 1 series, 2 point_label, 3 label, 4 method, 5 epsilon, 6 lora_rank, 7 n_seeds,
# 8 paper_total_mb, 9 paper_total_mb_std, 10 paper_act_mb, 11 paper_weight_mb, 12 val_acc_pct, 13 val_acc_std_pct,
# 14 rss_peak_mb, 15 rss_peak_mb_std, 16 tracked_peak_mb
set multiplot layout 1,2 title "Accuracy vs training memory" . (strlen(stage) ? " (stage " . stage . ")" : "") font ",14"
set title "the paper's measure"
set xlabel "paper measure: saved activations + weights of the trained linears (MB, log scale)"
set ylabel "final validation accuracy (%)"
set logscale x
set format x "%g"
# less than two decades: a tic per factor 2, so the axis has numbers to read
# (acc_x_lo_pos, acc_x_hi: the range of column 8, from info.gp)
if (acc_x_lo_pos > 0 && acc_x_hi / acc_x_lo_pos < 100) { set xtics 2 ** floor(log(acc_x_lo_pos) / log(2)), 2 }
set grid xtics mxtics ytics lc rgb "#dddddd"
unset key
set autoscale xfix
set offsets graph 0.08, graph 0.08, graph 0.08, graph 0.05
set bmargin 4 + footnote_lines
if (strlen(footnote)) set label 99 footnote at screen 0.01, screen 0.01 + 0.025 * footnote_lines left font ",9" tc rgb "#555555"
plot for [i=1:n_acc_series] dat index (i-1) using 8:12:13 with yerrorbars lt i pt 7 ps 0 lw 1.2 notitle, \
     for [i=1:n_acc_series] dat index (i-1) using 8:12 with linespoints lt i pt PT[(i - 1) % 6 + 1] ps 1.6 lw 2 notitle, \
     for [i=1:n_acc_series] dat index (i-1) using 8:12:2 with labels left offset char 0.9, 0.7 font ",10" tc lt i notitle
unset label 99
set title "the whole process"
set xlabel "peak RSS (filled) and peak tracked total (open) of the process (MB, log scale)"
set xtics autofreq
# (acc_rss_*: the range of columns 14 and 16) within a factor 10: a linear axis, whose tics have numbers
if (acc_rss_lo_pos > 0 && acc_rss_hi / acc_rss_lo_pos < 10) { unset logscale x; set xlabel "peak RSS (filled) and peak tracked total (open) of the process (MB)" } \
else { if (acc_rss_lo_pos > 0 && acc_rss_hi / acc_rss_lo_pos < 100) { set xtics 2 ** floor(log(acc_rss_lo_pos) / log(2)), 2 } }
set key outside right top vertical title "method" box opaque
if (acc_rss_n > 0) {
    plot for [i=1:n_acc_series] dat index (i-1) using 14:12 with linespoints lt i pt PT[(i - 1) % 6 + 1] ps 1.6 lw 2 title acc_series[i], \
         for [i=1:n_acc_series] dat index (i-1) using 16:12 with points lt i pt PT[(i - 1) % 6 + 1] - 1 ps 1.4 notitle, \
         for [i=1:n_acc_series] dat index (i-1) using 14:12:2 with labels left offset char 0.9, 0.7 font ",10" tc lt i notitle
} else {   # (a file without peak RSS: its platform had no VmHWM)
    unset logscale x
    set label 98 "no peak RSS in the file" at graph 0.5, 0.5 center
    plot [0:1] [0:1] NaN notitle
}
unset multiplot
