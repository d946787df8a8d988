# rank_stability.gp: Figure 5b of wasibench (the paper's Figure 3a style):
# rank stability over training. One panel per wasi epsilon (first seed);
# in each, one colour per trained linear: solid = weight rank k, dashed =
# activation ranks k1..k4, dotted with squares = the rank epsilon gives on
# the current weight (the subspace log), against the epoch. With the
# subspace log (stab_angles = 1 in info.gp) a second row of panels draws the
# largest principal angle between the starting and the current top-K right
# singular subspaces of each layer (degrees; the stable-subspace hypothesis
# of the paper's Fig. 3a is a flat line near 0).
# Data: DATADIR/rank_epochs.dat (one block per (setting, layer); the block of
# setting s, layer l is stab_first[s] + l) and DATADIR/info.gp.
# Usage: gnuplot -e "datadir='DIR'; outfile='OUT.png'; term='pngcairo'" rank_stability.gp   (term: pngcairo | svg)
if (!exists("datadir")) datadir = "."
if (!exists("term")) term = "pngcairo"
if (!exists("outfile")) outfile = "rank_stability." . (term eq "svg" ? "svg" : "png")
load datadir . "/info.gp"
if (term eq "svg") { set terminal svg size 1000,600 dynamic noenhanced font "Sans,12" background rgb "white" } \
else { set terminal pngcairo size 1000,600 noenhanced font ",11" }
set output outfile
set encoding utf8
set datafile missing NaN
dat = datadir . "/rank_epochs.dat"

# columns: 1 epoch, 2 weight_rank, 3 k1, 4 k2, 5 k3, 6 k4, 7 eps_rank, 8 K, 9 max_angle_deg (7-9 NaN without the log)
np = (n_stab < 4 ? n_stab : 4)     # at most 4 panels
left = 0.08; right = 0.80; gap = 0.05
bottom = 0.15 + 0.025 * footnote_lines
w = (right - left - (np - 1) * gap) / np
set multiplot title "wasi: rank stability over epochs" . (strlen(stage) ? " (stage " . stage . ")" : "") font ",14"
set grid xtics ytics lc rgb "#dddddd"
rank_bottom = stab_angles ? bottom + 0.5 * (0.86 - bottom) + 0.04 : bottom
set tmargin at screen 0.86
set bmargin at screen rank_bottom
if (stab_angles) { unset xlabel } else { set xlabel "epoch" }
if (epochs_hi - epochs_lo <= 20) { set xtics 1 }    # epochs_lo/hi: from info.gp
set autoscale xfix
set offsets 0.2, 0.2, 0, 0
set logscale y
set yrange [0.8:*]     # a rank of 1 stays visible above the axis
array COL[10] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]
set format y "%g"
set key off
do for [s=1:np] {
    set lmargin at screen left + (s - 1) * (w + gap)
    set rmargin at screen left + (s - 1) * (w + gap) + w
    set title stab_title[s]
    if (s == 1) { set ylabel "rank (log scale)" } else { unset ylabel }
    if (s == np) {
        set key at screen right + 0.01, screen 0.86 left top vertical Left reverse box opaque font ",9" title "layer / rank"
        if (strlen(footnote)) { set label 99 footnote at screen 0.01, screen 0.01 + 0.025 * footnote_lines left font ",9" tc rgb "#555555" }
    }
    f = stab_first[s]; nl = stab_nlayers[s]
    # the key (last panel): layers by colour, then the rank kinds by line style
    plot for [l=0:nl-1] dat index (f + l) using 1:2 with linespoints lc rgb COL[l % 10 + 1] pt 7 ps 0.8 lw 2 title stab_layer[f + l + 1], \
         for [l=0:nl-1] for [m=1:n_act_modes] dat index (f + l) using 1:(column(2 + m) > 0 ? column(2 + m) : NaN) \
             with lines lc rgb COL[l % 10 + 1] dt m+1 lw 1 notitle, \
         for [l=0:nl-1] dat index (f + l) using 1:7 with linespoints lc rgb COL[l % 10 + 1] dt 3 pt 4 ps 0.6 lw 1 notitle, \
         NaN with lines lc rgb "black" lw 2 title "weight rank k", \
         for [m=1:n_act_modes] NaN with lines lc rgb "black" dt m+1 lw 1 title sprintf("activation k%d", m), \
         NaN with linespoints lc rgb "black" dt 3 pt 4 lw 1 title (stab_angles ? "rank at epsilon" : "")
}
if (stab_angles) {
    # the angle row: below the ranks, same columns
    unset logscale y
    set yrange [0:*]
    set xlabel "epoch"
    set tmargin at screen rank_bottom - 0.06
    set bmargin at screen bottom
    unset key
    unset label 99
    do for [s=1:np] {
        set lmargin at screen left + (s - 1) * (w + gap)
        set rmargin at screen left + (s - 1) * (w + gap) + w
        unset title
        if (s == 1) { set ylabel "largest principal angle (deg)" } else { unset ylabel }
        f = stab_first[s]; nl = stab_nlayers[s]
        plot for [l=0:nl-1] dat index (f + l) using 1:9 with linespoints lc rgb COL[l % 10 + 1] pt 7 ps 0.6 lw 2 notitle
    }
}
unset multiplot
