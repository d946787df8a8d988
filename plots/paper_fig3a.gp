# paper_fig3a.gp: the paper's Figure 3a: the rank K_i of each MLP layer across
# epochs at epsilon 0.8 (the rank epsilon gives on the current weight when the
# run logged its subspace, else the rank in use), and beside it the largest
# principal angle to the starting top-K right singular subspace.
fig_w = 1200; fig_h = 560
load datadir . "/paper_style.gp"
d3 = datadir . "/paper_fig3a.dat"
set multiplot layout 1, (p3a_angles ? 2 : 1) title "Stable subspace (paper Fig. 3a layout): " . p3a_title font ",14" margins 0.07, 0.82, 0.14 + 0.02 * footnote_lines, 0.88 spacing 0.08, 0.1
set xlabel "epoch"
set ylabel (p3a_angles ? "rank at epsilon of the current weight, K_i" : "weight rank K_i")
set key at screen 0.99, screen 0.85 right top vertical box opaque font ",9"
plot for [l=1:p3a_n] d3 index (l-1) using 1:(p3a_angles ? $3 : $2) with linespoints lt l pt 7 ps 1 lw 2 title p3a_layer[l]
if (p3a_angles) {
    unset key
    set ylabel "largest principal angle (deg)"
    plot for [l=1:p3a_n] d3 index (l-1) using 1:4 with linespoints lt l pt 7 ps 1 lw 2 notitle
}
unset multiplot
