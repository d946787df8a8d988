# curves.gp: Figure 6 of wasibench: training curves, the validation accuracy
# after each epoch of every run of the stage (all seeds, any status: a
# diverged or interrupted run is marked in the key).
# Data: DATADIR/curves.dat (one block per run, titles in curve_title of
# DATADIR/info.gp), written by `wasibench plot`.
# Usage: gnuplot -e "datadir='DIR'; outfile='OUT.png'; term='pngcairo'" curves.gp   (term: pngcairo | svg)
if (!exists("datadir")) datadir = "."
if (!exists("term")) term = "pngcairo"
if (!exists("outfile")) outfile = "curves." . (term eq "svg" ? "svg" : "png")
load datadir . "/info.gp"
if (term eq "svg") { set terminal svg size 1000,600 dynamic noenhanced font "Sans,12" background rgb "white" } \
else { set terminal pngcairo size 1000,600 noenhanced font ",11" }
set output outfile
set encoding utf8
set datafile missing NaN
dat = datadir . "/curves.dat"

# columns: 1 epoch, 2 train_loss, 3 train_acc_pct, 4 val_loss, 5 val_acc_pct, 6 lr, 7 seconds
set title "Validation accuracy per epoch" . (strlen(stage) ? " (stage " . stage . ")" : "") font ",14"
set xlabel "epoch"
set ylabel "validation accuracy (%)"
set grid xtics ytics lc rgb "#dddddd"
if (epochs_hi - epochs_lo <= 20) { set xtics 1 }    # epochs_lo/hi: from info.gp
set autoscale xfix
set offsets 0.2, 0.2, graph 0.05, graph 0.05
key_font = (n_curves > 20 ? ",8" : ",10")
set key outside right top vertical Left reverse box opaque font key_font
set bmargin 4 + footnote_lines
if (strlen(footnote)) set label 99 footnote at screen 0.01, screen 0.01 + 0.025 * footnote_lines left font ",9" tc rgb "#555555"
# colour: the run's setting (curve_setting, from info.gp); dash type and point: its seed (curve_rep)
array COL[10] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]
array PT[6] = [7, 5, 9, 11, 13, 15]
plot for [i=1:n_curves] dat index (i-1) using 1:5 with linespoints lc rgb COL[curve_setting[i] % 10 + 1] \
     dt 1 + (curve_rep[i] - 1) % 5 pt PT[(curve_rep[i] - 1) % 6 + 1] ps 1 lw 2 title curve_title[i]
