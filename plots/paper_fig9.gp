# paper_fig9.gp: the paper's Figure 9: settings run with several seeds,
# accuracy (mean, error bars = standard deviation over seeds) against
# training memory (paper measure, log x); right (our addition): against the
# whole-process peak RSS of the same runs (mean over seeds).
fig_w = 1500; fig_h = 620
load datadir . "/paper_style.gp"
set multiplot layout 1,2 title "Seeds: mean and std (paper Fig. 9 layout)" . stage_txt font ",14" margins 0.06, 0.78, 0.12 + 0.02 * footnote_lines, 0.88 spacing 0.07, 0.1
set logscale x
set format x "%g"
set ylabel acc_label . ", mean +- std over seeds"
array XC[2] = [9, 24]
array XL[2] = ["training memory (MB, paper measure)", "whole-process peak RSS (MB)"]
do for [panel=1:2] {
    set xlabel XL[panel]
    xc = XC[panel]
    if (panel == 2 && !(acc_rss_n > 0)) { xc = 9; set xlabel "(no peak RSS in the file: the paper measure again)" }
    if (panel == 2) { set key at screen 0.99, screen 0.88 right top vertical box opaque font ",10" } else { unset key }
    plot for [b=1:paper_n_blocks] dat index (b-1) using ($8 >= 2 && paper_method(b) ? column(xc) : NaN):22:23 with yerrorbars lc rgb mcolor(curve_method(b)) pt 7 ps 1.2 lw 1.5 notitle, \
         for [b=1:paper_n_blocks] dat index (b-1) using ($8 >= 2 && paper_method(b) ? column(xc) : NaN):22 with lines lc rgb mcolor(curve_method(b)) dt curve_dash(b) lw 2 title (paper_method(b) ? curve_title(b) : ""), \
         for [b=1:paper_n_blocks] dat index (b-1) using ($8 >= 2 && paper_method(b) ? column(xc) : NaN):22:(eps_label($6)) with labels offset char 0.8, 0.6 font ",9" notitle
}
unset multiplot
