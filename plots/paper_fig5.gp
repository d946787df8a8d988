# paper_fig5.gp: the paper's Figure 5 (ViT-B/32 on CIFAR-10): accuracy against
# training memory, training FLOPs, inference memory and inference FLOPs, one
# curve per method over epsilon (vanilla a single point; SVD-LLM + LoRA, ASI,
# WASI over eps). Memory is the paper's measure, and beside it (our addition)
# the whole-process peak RSS of the same runs; x axes on a log scale.
fig_w = 1700; fig_h = 900
load datadir . "/paper_style.gp"
set multiplot layout 2,3 title "Accuracy vs memory and FLOPs (paper Fig. 5 layout)" . stage_txt font ",14" margins 0.05, 0.8, 0.08 + 0.02 * footnote_lines, 0.92 spacing 0.08, 0.1
set logscale x
set format x "%g"
set ylabel acc_label
array XC[5] = [9, 24, 12, 11, 13]
array XL[5] = ["training memory (MB, paper measure)", "training memory (MB, whole-process peak RSS)", "training GFLOP per step", "inference memory (MB, weights)", "inference GFLOP per batch"]
do for [panel=1:5] {
    set xlabel XL[panel]
    if (panel == 3) { set key at screen 0.99, screen 0.9 right top vertical box opaque font ",10" } else { unset key }
    xc = XC[panel]
    if (panel == 2 && !(acc_rss_n > 0)) { xc = 9; set xlabel "(no peak RSS in the file: the paper measure again)" }
    plot for [b=1:paper_n_blocks] dat index (b-1) using (paper_method(b) ? column(xc) : NaN):22 with linespoints lc rgb mcolor(curve_method(b)) dt curve_dash(b) pt (curve_method(b) eq "vanilla" ? 5 : 7) ps (curve_method(b) eq "vanilla" ? 1.8 : 1.3) lw 2 title (paper_method(b) ? curve_title(b) : ""), \
         for [b=1:paper_n_blocks] dat index (b-1) using (paper_method(b) ? column(xc) : NaN):22:(eps_label($6)) with labels offset char 0.6, 0.6 font ",8" tc rgb mcolor(curve_method(b)) notitle
}
unset multiplot
