# paper_fig9.gp: the paper's Figure 9: settings run with several seeds,
# accuracy (mean, error bars = standard deviation over seeds) against
# training memory (paper measure, log x).
fig_w = 1000; fig_h = 620
load datadir . "/paper_style.gp"
set title "Seeds: mean and std (paper Fig. 9 layout)" . stage_txt font ",14"
set logscale x
set format x "%g"
set xlabel "training memory (MB, paper measure)"
set ylabel acc_label . ", mean +- std over seeds"
set key outside right top vertical box opaque
set bmargin 4 + footnote_lines
plot for [b=1:paper_n_blocks] dat index (b-1) using ($8 >= 2 && paper_method(b) ? $9 : NaN):22:23 with yerrorbars lc rgb mcolor(curve_method(b)) pt 7 ps 1.2 lw 1.5 notitle, \
     for [b=1:paper_n_blocks] dat index (b-1) using ($8 >= 2 && paper_method(b) ? $9 : NaN):22 with lines lc rgb mcolor(curve_method(b)) dt curve_dash(b) lw 2 title (paper_method(b) ? curve_title(b) : ""), \
     for [b=1:paper_n_blocks] dat index (b-1) using ($8 >= 2 && paper_method(b) ? $9 : NaN):22:(eps_label($6)) with labels offset char 0.8, 0.6 font ",9" notitle
