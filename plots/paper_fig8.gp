# paper_fig8.gp: the paper's Figure 8 / Table 2: wall time per training step
# and per inference batch against epsilon for the weight-rank methods, with
# vanilla as a horizontal line (measured on this machine, in the runs).
fig_w = 1200; fig_h = 560
load datadir . "/paper_style.gp"
set multiplot layout 1,2 title "Time per iteration vs epsilon (paper Fig. 8 layout)" . stage_txt font ",14" margins 0.07, 0.78, 0.14 + 0.02 * footnote_lines, 0.88 spacing 0.08, 0.1
set xlabel "epsilon"
set xrange [*:*]
array YC[2] = [14, 16]
array YL[2] = ["training step (ms)", "inference batch (ms)"]
array VAN[2]
VAN[1] = p8_vanilla_train_ms; VAN[2] = p8_vanilla_infer_ms
do for [panel=1:2] {
    set ylabel YL[panel]
    if (panel == 1) { set key at screen 0.99, screen 0.85 right top vertical box opaque font ",10" } else { unset key }
    yc = YC[panel]
    plot VAN[panel] with lines lc rgb mcolor("vanilla") lw 2 dt 4 title "vanilla", \
         for [b=1:paper_n_blocks] dat index (b-1) using 6:(($6 == $6) ? column(yc) : NaN) with linespoints lc rgb mcolor(curve_method(b)) dt curve_dash(b) pt 7 ps 1.2 lw 2 title (curve_method(b) eq "vanilla" ? "" : curve_title(b))
}
unset multiplot
