# paper_fig6.gp: the paper's Figure 6: Swin-T, one panel per data set,
# accuracy against training memory (paper measure, log x) for each method
# over epsilon (paper: 0.4 ... 1.0); the second row (our addition): the same
# runs against the whole-process peak RSS.
fig_w = 1500; fig_h = 900
load datadir . "/paper_style.gp"
set multiplot layout 2, (paper_n_ds < 5 ? paper_n_ds : 5) title "Swin per data set (paper Fig. 6 layout)" . stage_txt font ",14" margins 0.05, 0.8, 0.09 + 0.02 * footnote_lines, 0.9 spacing 0.05, 0.1
set logscale x
set format x "%g"
set ylabel acc_label
array XC[2] = [9, 24]
array XL[2] = ["training memory (MB, paper measure)", "whole-process peak RSS (MB)"]
do for [row=1:2] {
do for [d=1:(paper_n_ds < 5 ? paper_n_ds : 5)] {
    set title (row == 1 ? paper_ds[d] : "")
    set xlabel XL[row]
    xc = XC[row]
    if (row == 2 && !(acc_rss_n > 0)) { xc = 9; set xlabel "(no peak RSS in the file: the paper measure)" }
    if (d == 1 && row == 1) { set key at screen 0.99, screen 0.85 right top vertical box opaque font ",10" } else { unset key }
    plot for [b=1:paper_n_blocks] dat index (b-1) using ((paper_block_ds[b] == d && strstrt(paper_curve[paper_block_curve[b]], "swin")) ? column(xc) : NaN):22 \
            with linespoints lc rgb mcolor(curve_method(b)) dt curve_dash(b) pt 7 ps 1.2 lw 2 title ((d == 1 && strstrt(paper_curve[paper_block_curve[b]], "swin") && paper_block_ds[b] == 1) ? paper_curve[paper_block_curve[b]] : "")
}
}
unset multiplot
