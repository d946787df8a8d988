# paper_fig3b.gp: the paper's Figure 3b: WSI (one warm-started subspace
# iteration per step) against a fresh SVD of the weight every step: accuracy
# against training FLOPs over epsilon (paper: WSI needs fewer FLOPs for the
# same accuracy). Each point is labelled with its epsilon.
fig_w = 1000; fig_h = 620
load datadir . "/paper_style.gp"
set title "WSI vs SVD every step (paper Fig. 3b)" . stage_txt font ",14"
set xlabel "training GFLOP per step"
set ylabel acc_label
set key outside right top vertical box opaque
set bmargin 4 + footnote_lines
plot for [b=1:paper_n_blocks] dat index (b-1) using (curve_method(b) eq "wsi" ? $12 : NaN):22 with linespoints lc rgb (curve_dash(b) == 2 ? "#7f3fbf" : mcolor("wsi")) dt curve_dash(b) pt 7 ps 1.4 lw 2 title (curve_method(b) eq "wsi" ? curve_title(b) : ""), \
     for [b=1:paper_n_blocks] dat index (b-1) using (curve_method(b) eq "wsi" ? $12 : NaN):22:(eps_label($6)) with labels offset char 0.8, 0.6 font ",9" notitle
