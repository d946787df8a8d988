# paper_fig4.gp: the paper's Figure 4: how much of each mode's variance the
# MLP inputs keep in their leading singular directions. One panel per mode
# of the activation (ViT: batch, token, channel; Swin: batch, height, width,
# channel); per MLP layer the cumulative explained variance of the mode-n
# unfolding against the fraction of its components kept (paper_fig4.dat,
# from training.log_spectrum). The dashed line is epsilon = 0.9: where a
# curve crosses it is the rank the exact HOSVD keeps there.
if (!exists("datadir")) datadir = "."
load datadir . "/info.gp"   # first: the width follows the number of modes (p4_nd)
fig_w = 400 + 380 * (p4_nd > 0 ? p4_nd : 1); fig_h = 560
load datadir . "/paper_style.gp"
d4 = datadir . "/paper_fig4.dat"
set multiplot layout 1, p4_nd title "Explained variance of the activations per mode (paper Fig. 4 layout): " . p4_title font ",13" margins 0.06, 0.84, 0.14 + 0.02 * footnote_lines, 0.86 spacing 0.05, 0.1
set xrange [0:1]
set yrange [0:1.02]
set xlabel "fraction of the mode's components kept (k / d_n)"
set ylabel "explained variance"
set arrow 1 from graph 0, first 0.9 to graph 1, first 0.9 nohead dt 2 lc rgb "#555555"
unset key
do for [m=1:p4_nd] {
    set title p4_mode[m] font ",11"
    if (m == p4_nd) { set key at screen 0.995, screen 0.84 right top vertical box opaque font ",9" }
    plot for [l=1:p4_n] d4 index ((m-1) * p4_n + l - 1) using 2:4 with linespoints lt l pt 7 ps 0.5 lw 2 title p4_layer[l]
    unset ylabel   # on the first panel only
}
unset multiplot
