# paper_fig7.gp: the paper's Figure 7: a Llama decoder (TinyLlama on BoolQ;
# in paper-mini a micro Llama on a generated yes/no task) with each method on
# the last 1 ... N decoder layers (num_of_finetune, x axis). Panels: the
# counted layers' activation memory and weight memory (paper measure, log y),
# FLOPs per training step (whole model, log y), accuracy. The subtitle gives
# the ratios vanilla / method as measured here beside the paper's.
fig_w = 1500; fig_h = 520
load datadir . "/paper_style.gp"
f7 = datadir . "/paper_fig7.dat"
# paper_fig7.dat columns: 1 curve, 2 num_of_finetune, 3 act_mb, 4 weight_mb, 5 train_gflop,
# 6 infer_gflop, 7 acc, 8 acc_std, 9 n_seeds
f7_method(k) = word(p7_curve[k], 1)
f7_dash(k) = 1 + (k - 1) % 4   # curves of one method (one colour) told apart by dash and point
set multiplot layout 1, 4 title "Decoder: methods on the last layers (paper Fig. 7 layout)" . stage_txt . "\n" . p7_ratios font ",12" \
    margins 0.05, 0.8, 0.14 + 0.02 * footnote_lines, 0.82 spacing 0.05, 0.1
set xlabel "fine-tuned decoder layers"
set xtics 1
set logscale y
set format y "%g"
set title "activation memory (MB)"
set key at screen 0.99, screen 0.8 right top vertical box opaque font ",10"
plot for [k=1:p7_n_curves] f7 index (k-1) using 2:3 with linespoints lc rgb mcolor(f7_method(k)) dt f7_dash(k) pt (5 + 2 * ((k - 1) % 4)) ps 1.2 lw 2 title p7_curve[k]
unset key
set title "weight memory (MB)"
plot for [k=1:p7_n_curves] f7 index (k-1) using 2:4 with linespoints lc rgb mcolor(f7_method(k)) dt f7_dash(k) pt (5 + 2 * ((k - 1) % 4)) ps 1.2 lw 2 notitle
set title "GFLOP per training step"
plot for [k=1:p7_n_curves] f7 index (k-1) using 2:5 with linespoints lc rgb mcolor(f7_method(k)) dt f7_dash(k) pt (5 + 2 * ((k - 1) % 4)) ps 1.2 lw 2 notitle
unset logscale y
set title "final " . p7_acc_kind . " accuracy (%)"
set ylabel ""
plot for [k=1:p7_n_curves] f7 index (k-1) using 2:7:8 with yerrorlines lc rgb mcolor(f7_method(k)) dt f7_dash(k) pt (5 + 2 * ((k - 1) % 4)) ps 1.2 lw 2 notitle
unset multiplot
