# paper_style.gp: what the paper figures (paper_fig*.gp) share: the terminal,
# one colour per method, the data file, the footnote. A script sets
# fig_w, fig_h (pixels) and then loads this file.
# Usage of a figure: gnuplot -e "datadir='DIR'; outfile='OUT.png'; term='pngcairo'" paper_figN.gp
if (!exists("datadir")) datadir = "."
if (!exists("term")) term = "pngcairo"
if (!exists("fig_w")) fig_w = 1000
if (!exists("fig_h")) fig_h = 600
load datadir . "/info.gp"
if (term eq "svg") { set terminal svg size fig_w,fig_h dynamic noenhanced font "Sans,12" background rgb "white" } \
else { set terminal pngcairo size fig_w,fig_h noenhanced font ",11" }
set output outfile
set encoding utf8
set datafile missing NaN
dat = datadir . "/paper.dat"
# paper.dat columns: 1 curve, 2 dataset, 3 label, 4 method, 5 variant, 6 epsilon, 7 lora_rank, 8 n_seeds,
# 9 train_mem_mb, 10 train_mem_mb_std, 11 infer_mem_mb, 12 train_gflop, 13 infer_gflop, 14 train_ms,
# 15 train_ms_std, 16 infer_ms, 17 infer_ms_std, 18 val_acc_pct, 19 val_acc_std_pct, 20 test_acc_pct,
# 21 test_acc_std_pct, 22 acc_pct, 23 acc_std_pct (22-23: test when every run was tested, else validation),
# 24 rss_peak_mb, 25 rss_peak_mb_std (the whole process's peak RSS), 26 tracked_peak_mb (peak of the tracked total)
# The paper's colours: vanilla black, LoRA / SVD-LLM + LoRA orange, ASI / HOSVD blue, WASI red, WSI green.
mcolor(m) = m eq "vanilla" ? "#000000" : m eq "lora" ? "#e69f00" : m eq "svdllm_lora" ? "#d55e00" : \
            m eq "asi" ? "#0072b2" : m eq "hosvd" ? "#56b4e9" : m eq "wasi" ? "#cc0000" : m eq "wsi" ? "#009e73" : "#777777"
curve_method(b) = word(paper_curve[paper_block_curve[b]], 1)
curve_dash(b) = strstrt(paper_curve[paper_block_curve[b]], "=svd") ? 2 : (strstrt(paper_curve[paper_block_curve[b]], "factored") ? 3 : 1)
curve_title(b) = paper_curve[paper_block_curve[b]] . (paper_n_ds > 1 ? " on " . paper_ds[paper_block_ds[b]] : "")
# the paper's comparison (Fig. 5, 9): every method but the WSI ablation (its own Fig. 3b)
paper_method(b) = curve_method(b) ne "wsi"
eps_label(e) = (e == e) ? sprintf("%g", e) : ""
stage_txt = strlen(stage) ? ", stage " . stage : ""
acc_label = "final " . paper_acc_kind . " accuracy (%)"
set grid lc rgb "#dddddd"
footnote_lines = footnote_lines + 0
if (strlen(footnote)) set label 99 footnote at screen 0.01, screen 0.01 + 0.02 * footnote_lines left font ",8" tc rgb "#555555"
