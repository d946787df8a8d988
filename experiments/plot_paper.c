// plot_paper.c: the data of `wasibench plot --paper` (see plot.h): the
// paper's figures drawn from the groups plot.c selected (complete runs of one
// stage, seeds averaged). Three files:
//   paper.dat        one row per setting, one block per (curve, data set): a
//                    curve is a method with its variant, storage, layers and
//                    model, its points the epsilons (or LoRA ranks); columns
//                    in PAPER_COLS. Figures 3b, 5, 6, 8 and 9 draw from it.
//   paper_fig3a.dat  the per-layer rank and principal angle of the MLP
//                    layers across epochs, for the weight-rank run at the
//                    epsilon closest to 0.8 (the paper's Figure 3a).
//   paper_fig4.dat   the explained variance per mode of the MLP inputs of a
//                    run with training.log_spectrum (the paper's Figure 4).
// A figure whose runs are missing gets why_empty (which runs it needs); the
// scripts are plots/paper_fig*.gp with the shared plots/paper_style.gp.
#include "experiments/plot_data.h"
#include "baselines/registry.h"
#include "core/models/model.h"

#include <math.h>
#include <string.h>

#include "core/compress/tucker.h"
#include "core/runtime/memory.h"

#define PAPER_COLS "curve dataset label method variant epsilon lora_rank n_seeds train_mem_mb train_mem_mb_std " \
                   "infer_mem_mb train_gflop infer_gflop train_ms train_ms_std infer_ms infer_ms_std "     \
                   "val_acc_pct val_acc_std_pct test_acc_pct test_acc_std_pct acc_pct acc_std_pct "             \
                   "rss_peak_mb rss_peak_mb_std tracked_peak_mb"

enum { MAX_CURVES = 64, MAX_DS = 16, MAX_BLOCKS = 256 };

typedef struct {
    char curve[MAX_CURVES][LABEL_CAP]; int n_curves;
    char ds[MAX_DS][64]; int n_ds;
    int block_curve[MAX_BLOCKS], block_ds[MAX_BLOCKS], n_blocks;   // 1-based indices
    int use_test;                        // every complete run was tested: accuracy = test, else validation
} PaperIndex;

static int index_of(char (*names)[LABEL_CAP], int *n, int cap, const char *name) {
    for (int i = 0; i < *n; i++)
        if (!strcmp(names[i], name)) return i + 1;
    if (*n >= cap) return 0;
    snprintf(names[*n], LABEL_CAP, "%s", name);
    return ++*n;
}

static int ds_index(PaperIndex *x, const char *name) {
    for (int i = 0; i < x->n_ds; i++)
        if (!strcmp(x->ds[i], name)) return i + 1;
    if (x->n_ds >= MAX_DS) return 0;
    snprintf(x->ds[x->n_ds], sizeof x->ds[0], "%s", name);
    return ++x->n_ds;
}

// The method's part of a curve name: the method, its variant, a storage
// other than dense, a budget.
static void method_label(char *dst, size_t cap, const RunSummary *s) {
    dst[0] = 0;
    pl_append(dst, cap, "%s", s->method);
    if (s->variant[0]) pl_append(dst, cap, " %s", s->variant);
    if (s->storage[0] && strcmp(s->storage, "dense")) pl_append(dst, cap, " %s", s->storage);
    if (s->budget_mb > 0) pl_append(dst, cap, " budget=%gMB", s->budget_mb);
}

// The curve a setting belongs to: everything but epsilon, rank, seed and data set.
static void curve_name(char *dst, size_t cap, const RunSummary *s) {
    method_label(dst, cap, s);
    pl_append(dst, cap, " (%s, %s", s->model, s->layers);
    if (s->num_of_finetune >= 0) pl_append(dst, cap, ", nft=%d", (int)s->num_of_finetune);
    pl_append(dst, cap, ")");
}

static int is_weight_rank(const char *method) {
    const LinearMethod *m = method_by_name(method);
    return m && (m->flags & METHOD_WEIGHT_LOWRANK);
}

// Methods present (by name) among the groups, with how many epsilons each.
static int count_eps(const Plot *p, const char *method, const char *variant) {
    int n = 0;
    for (int g = 0; g < p->n_groups; g++) {
        const RunSummary *s = pl_member(p, &p->groups[g], 0)->s;
        n += !strcmp(s->method, method) && (!variant || !strcmp(s->variant, variant)) && isfinite(s->epsilon);
    }
    return n;
}
static int has_method(const Plot *p, const char *method) {
    for (int g = 0; g < p->n_groups; g++)
        if (!strcmp(pl_member(p, &p->groups[g], 0)->s->method, method)) return 1;
    return 0;
}

static int has_reference(const Plot *p) {
    for (int g = 0; g < p->n_groups; g++)
        if (method_is_reference(pl_member(p, &p->groups[g], 0)->s->method)) return 1;
    return 0;
}

// A training step's wall time, ms: the phases of time.dat's train_ms (forward,
// backward, decomposition, update, other), and recompute where the file has it.
static double train_ms(const RunData *rd) {
    static const Phase ph[5] = {PHASE_FORWARD, PHASE_BACKWARD, PHASE_DECOMPOSITION, PHASE_UPDATE, PHASE_OTHER};
    double t = 0;
    for (int q = 0; q < 5; q++) t += rd->tab.sec_ps[ph[q]];
    t += pl_recompute(rd->tab.sec_ps);
    return 1e3 * t;
}

void pl_group_stats(const Plot *p, const Group *G, GroupStats *st) {
    memset(st, 0, sizeof *st);
    for (int k = 0; k < G->n; k++) {
        const RunData *rd = pl_member(p, G, k);
        const RunSummary *s = rd->s;
        double f = 0;
        for (int q = 0; q < 4; q++) f += rd->tab.flops_ps[q];   // forward, backward, decomposition, update
        f += pl_recompute(rd->tab.flops_ps);
        pl_acc_add(&st->train_mem, s->paper_act_mb + s->paper_weight_mb);
        pl_acc_add(&st->rss, pl_rss_mb(rd));
        pl_acc_add(&st->tracked, pl_tracked_mb(rd));
        pl_acc_add(&st->infer_mem, s->paper_weight_mb);
        pl_acc_add(&st->train_gflop, f / 1e9);
        pl_acc_add(&st->infer_gflop, rd->tab.flops_ps[PHASE_INFERENCE] / 1e9);
        pl_acc_add(&st->train_ms, train_ms(rd));
        pl_acc_add(&st->infer_ms, 1e3 * rd->tab.sec_ps[PHASE_INFERENCE]);
        pl_acc_add(&st->val_acc, 100.0 * s->final_val_acc);
        pl_acc_add(&st->test_acc, s->test_items > 0 ? 100.0 * s->final_test_acc : (double)NAN);
    }
}

int pl_all_tested(const Plot *p) {
    int tested = 0, all = 0;
    for (int g = 0; g < p->n_groups; g++)
        for (int k = 0; k < p->groups[g].n; k++) { all++; tested += pl_member(p, &p->groups[g], k)->s->test_items > 0; }
    return all > 0 && tested == all;
}

static int write_table(Plot *p, PaperIndex *x) {
    Out o;
    if (pl_open(p, &o, "paper.dat", "the paper's figures: one row per setting (complete runs, mean and std over seeds), one block per (curve, data set) as in info.gp paper_block_curve / paper_block_ds; memory = the paper measure (training: counted linears' activations + weights; inference: their weights) and, last, the whole-process peak RSS and the peak of the tracked total, MB = 2^20 bytes; GFLOP per training step / per inference batch; ms likewise; accuracies in %", PAPER_COLS))
        return -1;
    x->use_test = pl_all_tested(p);
    char cur[LABEL_CAP], prev[LABEL_CAP] = "";
    const char *prev_ds = "";
    for (int g = 0; g < p->n_groups; g++) {
        const Group *G = &p->groups[g];
        const RunSummary *s0 = pl_member(p, G, 0)->s;
        curve_name(cur, sizeof cur, s0);
        if (!x->n_blocks || strcmp(cur, prev) || strcmp(s0->dataset, prev_ds)) {
            if (x->n_blocks >= MAX_BLOCKS) break;
            int c = index_of(x->curve, &x->n_curves, MAX_CURVES, cur), d = ds_index(x, s0->dataset);
            if (!c || !d) break;
            if (x->n_blocks) fputs("\n\n", o.f);
            fprintf(o.f, "# %s on %s\n", cur, s0->dataset);
            x->block_curve[x->n_blocks] = c;
            x->block_ds[x->n_blocks] = d;
            x->n_blocks++;
            snprintf(prev, sizeof prev, "%s", cur);
            prev_ds = s0->dataset;
        }
        GroupStats st;
        pl_group_stats(p, G, &st);
        pl_str(o.f, cur, 1);
        pl_str(o.f, s0->dataset, 0);
        pl_str(o.f, G->label, 0);
        pl_str(o.f, s0->method, 0);
        pl_str(o.f, s0->variant, 0);
        pl_num(o.f, method_shows_epsilon(s0->method) ? s0->epsilon : (double)NAN);
        pl_num(o.f, (double)s0->lora_rank);
        pl_num(o.f, (double)G->n);
        const Acc *acc = x->use_test ? &st.test_acc : &st.val_acc;
        double v[] = {pl_acc_mean(&st.train_mem), pl_acc_std(&st.train_mem), pl_acc_mean(&st.infer_mem), pl_acc_mean(&st.train_gflop),
                      pl_acc_mean(&st.infer_gflop), pl_acc_mean(&st.train_ms), pl_acc_std(&st.train_ms), pl_acc_mean(&st.infer_ms),
                      pl_acc_std(&st.infer_ms), pl_acc_mean(&st.val_acc), pl_acc_std(&st.val_acc), pl_acc_mean(&st.test_acc),
                      pl_acc_std(&st.test_acc), pl_acc_mean(acc), pl_acc_std(acc), pl_acc_mean(&st.rss), pl_acc_std(&st.rss),
                      pl_acc_mean(&st.tracked)};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) pl_num(o.f, v[i]);
        fputc('\n', o.f);
    }
    return pl_close(&o);
}

// The layers the MLP figures show (3a, 4): the MLP linears (fc1, fc2) when
// the run has any, else every counted layer, with their short names.
enum { MAX_LAYERS = 1024 };
typedef struct { int n, idx[MAX_LAYERS]; char name[MAX_LAYERS][RES_LAYER_NAME_MAX]; } MlpLayers;
static int is_mlp(const char *short_name, const char *name) { return strstr(short_name, "fc") || strstr(name, "mlp"); }
static void mlp_layers(const RunTables *t, MlpLayers *out) {
    char s[RES_LAYER_NAME_MAX];
    int any = 0;
    for (int l = 0; l < t->n_layers; l++) {
        pl_short_layer(s, sizeof s, t->layers[l].name);
        any |= is_mlp(s, t->layers[l].name);
    }
    out->n = 0;
    for (int l = 0; l < t->n_layers && out->n < MAX_LAYERS; l++) {
        pl_short_layer(out->name[out->n], RES_LAYER_NAME_MAX, t->layers[l].name);
        if (!any || is_mlp(out->name[out->n], t->layers[l].name)) out->idx[out->n++] = l;
    }
}

// Figure 3a: the weight-rank group with a rank history at the epsilon closest to 0.8.
static int write_fig3a(Plot *p, FILE *info) {
    int best = -1;
    double dist = 1e9, best_eps = NAN;
    for (int g = 0; g < p->n_groups; g++) {
        const RunData *rd = pl_rank_run(p, &p->groups[g], 1);
        if (!rd || rd->s->variant[0] || !isfinite(rd->s->epsilon)) continue;
        double d = fabs(rd->s->epsilon - 0.8);
        // a tie: the lower epsilon, and wasi (the paper's) over another method
        int better = d < dist - 1e-6 || (fabs(d - dist) <= 1e-6 && best >= 0 && fabs(rd->s->epsilon - best_eps) <= 1e-6 &&
                                          !strcmp(rd->s->method, "wasi") && strcmp(pl_rank_run(p, &p->groups[best], 1)->s->method, "wasi"));
        if (better) { dist = d; best = g; best_eps = rd->s->epsilon; }
    }
    Out o;
    if (pl_open(p, &o, "paper_fig3a.dat", "Figure 3a: per MLP layer (fc1, fc2; every layer when none is named so), one block each in model order: the weight rank K in use, the rank epsilon gives on the current weight and the largest principal angle (deg) to the starting top-K right singular subspace (NaN without training.log_subspace), per epoch",
                "epoch weight_rank eps_rank max_angle_deg"))
        return -1;
    const char *names[MAX_LAYERS];
    MlpLayers *ml = mem_alloc(sizeof *ml, MEM_WORKSPACE);
    int n = 0, angles = 0;
    if (best >= 0) {
        const RunData *rd = pl_rank_run(p, &p->groups[best], 1);
        mlp_layers(&rd->tab, ml);
        for (n = 0; n < ml->n; n++) {
            const int l = ml->idx[n];
            if (n) fputs("\n\n", o.f);
            fprintf(o.f, "# layer %d %s (run %s, eps %g)\n", l, ml->name[n], rd->s->name, rd->s->epsilon);
            for (int e = 0; e < rd->tab.n_rank_epochs; e++) {
                int ep = (int)rd->tab.rank_epochs[e];
                const int32_t *k = rd->tab.ranks + ((size_t)e * (size_t)rd->tab.n_layers + (size_t)l) * 5;
                const SubspaceRow *sr = pl_sub_at(&rd->tab, ep, l);
                fprintf(o.f, "%d %d", ep, (int)k[0]);
                pl_num(o.f, sr ? (double)sr->eps_rank : (double)NAN);
                pl_num(o.f, sr ? sr->max_angle * 90.0 / acos(0.0) : (double)NAN);
                fputc('\n', o.f);
                angles |= sr != NULL;
            }
            names[n] = ml->name[n];
        }
        fprintf(info, "p3a_title = ");
        char t[256];
        snprintf(t, sizeof t, "%s eps=%g, %s on %s", rd->s->method, rd->s->epsilon, rd->s->model, rd->s->dataset);
        pl_gp_str(info, t);
        fputc('\n', info);
    } else {
        fprintf(info, "p3a_title = \"\"\n");
    }
    fprintf(info, "p3a_n = %d\np3a_angles = %d\n", n, angles);
    pl_gp_array(info, "p3a_layer", n, names);
    mem_free(ml);
    p->has_data[FIG_P3A] = n > 0;
    if (!n) snprintf(p->why_empty[FIG_P3A], sizeof p->why_empty[0], "needs a complete wasi or wsi run (weight_update iteration) at epsilon 0.8 with layer_ranks_by_epoch; add training.log_subspace: true for the principal angles");
    else if (dist > 1e-6) snprintf(p->why_empty[FIG_P3A], sizeof p->why_empty[0], "a run at epsilon 0.8 (the closest, %g, is drawn)", best_eps);
    else if (!angles) snprintf(p->why_empty[FIG_P3A], sizeof p->why_empty[0], "the principal angles (the run has no subspace log: training.log_subspace: true)");
    return pl_close(&o);
}

// The rows of (layer, mode) in a spectrum table (rows of one (layer, mode) are contiguous), or -1.
static int spectrum_at(const RunTables *t, int layer, int mode) {
    for (int j = 0; j < t->n_spectrum; j++)
        if (t->spectrum[j].layer == layer && t->spectrum[j].mode == mode && t->spectrum[j].index == 1 &&
            j + t->spectrum[j].dim <= t->n_spectrum)
            return j;
    return -1;
}

// Figure 4: the explained variance per mode of the MLP inputs, from one run
// with a spectrum table (vanilla's when a vanilla run has one: the spectrum
// is of the starting weights, alike for every method of a stage).
static int write_fig4(Plot *p, FILE *info) {
    const RunData *rd = NULL;
    for (int g = 0; g < p->n_groups; g++)
        for (int k = 0; k < p->groups[g].n; k++) {
            const RunData *r = pl_member(p, &p->groups[g], k);
            if (r->tab.n_spectrum > 0 && (!rd || (method_is_reference(r->s->method) && !method_is_reference(rd->s->method)))) rd = r;
        }
    Out o;
    if (pl_open(p, &o, "paper_fig4.dat", "Figure 4: the explained variance per mode of the MLP inputs (the counted linears' inputs on the first training batch at the starting weights; training.log_spectrum): one block per (mode, layer), mode-major, layers in model order as p4_layer in info.gp; the component index, index / mode size, its sigma^2 and the cumulative explained variance",
                "index fraction energy explained"))
        return -1;
    MlpLayers *ml = mem_alloc(sizeof *ml, MEM_WORKSPACE);
    const char *names[MAX_LAYERS], *modes[HOSVD_MAX_MODES];
    char mode_label[HOSVD_MAX_MODES][64];
    int nd = 0, blocks = 0;
    ml->n = 0;
    if (rd) {
        mlp_layers(&rd->tab, ml);
        for (int j = 0; j < rd->tab.n_spectrum; j++) nd = wb_max(nd, wb_min(rd->tab.spectrum[j].mode + 1, HOSVD_MAX_MODES));
        static const char *const mode3[3] = {"batch", "token", "channel"}, *const mode4[4] = {"batch", "height", "width", "channel"};
        for (int m = 0; m < nd; m++) {
            int dlo = 0, dhi = 0;
            for (int i = 0; i < ml->n; i++) {
                const int j = spectrum_at(&rd->tab, ml->idx[i], m);
                if (blocks++) fputs("\n\n", o.f);
                fprintf(o.f, "# mode %d, layer %d %s (run %s)\n", m + 1, ml->idx[i], ml->name[i], rd->s->name);
                if (j < 0) { fputs("NaN NaN NaN NaN\n", o.f); continue; }   // keeps the block numbering
                const SpectrumRow *r = &rd->tab.spectrum[j];
                dlo = dlo ? wb_min(dlo, r->dim) : r->dim;
                dhi = wb_max(dhi, r->dim);
                for (int c = 0; c < r->dim; c++) {
                    fprintf(o.f, "%d", r[c].index);
                    pl_num(o.f, (double)r[c].index / r->dim);
                    pl_num(o.f, r[c].energy);
                    pl_num(o.f, r[c].explained);
                    fputc('\n', o.f);
                }
            }
            const char *what = nd == 3 ? mode3[m] : nd == 4 ? mode4[m] : "mode";
            if (dlo == dhi) snprintf(mode_label[m], sizeof mode_label[m], "mode %d: %s (size %d)", m + 1, what, dhi);
            else snprintf(mode_label[m], sizeof mode_label[m], "mode %d: %s (size %d ... %d)", m + 1, what, dlo, dhi);
            modes[m] = mode_label[m];
        }
        for (int i = 0; i < ml->n; i++) names[i] = ml->name[i];
        char t[640];
        snprintf(t, sizeof t, "%s on %s, first training batch of %s", rd->s->model, rd->s->dataset, rd->s->name);
        fprintf(info, "p4_title = ");
        pl_gp_str(info, t);
        fputc('\n', info);
    } else {
        fprintf(info, "p4_title = \"\"\n");
    }
    fprintf(info, "p4_n = %d\np4_nd = %d\n", ml->n, nd);
    pl_gp_array(info, "p4_layer", ml->n, names);
    pl_gp_array(info, "p4_mode", nd, modes);
    p->has_data[FIG_P4] = ml->n > 0 && nd > 0;
    if (!p->has_data[FIG_P4])
        snprintf(p->why_empty[FIG_P4], sizeof p->why_empty[0], "needs a complete run with training.log_spectrum: true (the explained variance per mode of the MLP inputs)");
    mem_free(ml);
    return pl_close(&o);
}

// Fig. 7 (the decoder): per curve (method, epsilon, storage; every
// num_of_finetune in one curve) a block of rows in num_of_finetune order:
// the counted layers' activation and weight memory, FLOPs per training step
// and inference batch, accuracy. And the paper's four ratios (vanilla over
// the method at the same num_of_finetune, the largest over the rows) in info.
enum { MAX_F7 = 64 };
// A run of the decoder: its model preset is a Llama one (model.h).
static int is_decoder(const RunSummary *s) {
    ModelConfig mc;
    return model_preset(s->model, &mc) == 0 && model_config_is_text(&mc);
}

static void f7_curve(char *dst, size_t cap, const RunSummary *s) {   // the method and its epsilon: one curve over num_of_finetune
    method_label(dst, cap, s);
    if (method_shows_epsilon(s->method) && isfinite(s->epsilon)) pl_append(dst, cap, " eps=%g", s->epsilon);
}

static int write_fig7(Plot *p, FILE *info) {
    Out o;
    if (pl_open(p, &o, "paper_fig7.dat", "paper Fig. 7: the decoder (llama models) per curve and num_of_finetune (decoder layers trained); "
                                         "memory = the paper measure of the counted linears (MB), GFLOP per training step / inference batch (whole model), accuracy in % (test if every run has one)",
                "curve num_of_finetune act_mb weight_mb train_gflop infer_gflop acc acc_std n_seeds"))
        return -1;
    char names[MAX_F7][LABEL_CAP];
    int n_curves = 0, rows = 0, use_test = pl_all_tested(p);
    int *gi = mem_alloc(sizeof(int) * (size_t)(p->n_groups + 1), MEM_WORKSPACE);
    double best[4] = {NAN, NAN, NAN, NAN};   // act, weight, train flops, infer flops ratios
    char best_of[LABEL_CAP] = "";
    for (int g = 0; g < p->n_groups; g++) {   // the curves, in group order
        const RunSummary *s = pl_member(p, &p->groups[g], 0)->s;
        char c[LABEL_CAP];
        if (!is_decoder(s)) continue;
        f7_curve(c, sizeof c, s);
        index_of(names, &n_curves, MAX_F7, c);
    }
    for (int k = 0; k < n_curves; k++) {
        int n = 0;
        for (int g = 0; g < p->n_groups; g++) {
            const RunSummary *s = pl_member(p, &p->groups[g], 0)->s;
            char c[LABEL_CAP];
            if (!is_decoder(s)) continue;
            f7_curve(c, sizeof c, s);
            if (strcmp(c, names[k])) continue;
            int at = n++;   // insertion by num_of_finetune
            while (at > 0 && pl_member(p, &p->groups[gi[at - 1]], 0)->s->num_of_finetune > s->num_of_finetune) { gi[at] = gi[at - 1]; at--; }
            gi[at] = g;
        }
        if (k) fputs("\n\n", o.f);
        fprintf(o.f, "# %s\n", names[k]);
        for (int j = 0; j < n; j++) {
            const Group *G = &p->groups[gi[j]];
            const RunSummary *s = pl_member(p, G, 0)->s;
            GroupStats st;
            pl_group_stats(p, G, &st);
            const Acc *acc = use_test ? &st.test_acc : &st.val_acc;
            Acc act = {0}, wt = {0};
            for (int m = 0; m < G->n; m++) { pl_acc_add(&act, pl_member(p, G, m)->s->paper_act_mb); pl_acc_add(&wt, pl_member(p, G, m)->s->paper_weight_mb); }
            pl_str(o.f, names[k], 1);
            double v[] = {(double)s->num_of_finetune, pl_acc_mean(&act), pl_acc_mean(&wt), pl_acc_mean(&st.train_gflop),
                          pl_acc_mean(&st.infer_gflop), pl_acc_mean(acc), pl_acc_std(acc), (double)G->n};
            for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) pl_num(o.f, v[i]);
            fputc('\n', o.f);
            rows++;
            if (method_is_reference(s->method)) continue;
            for (int h = 0; h < p->n_groups; h++) {   // vanilla at the same num_of_finetune and data set
                const Group *V = &p->groups[h];
                const RunSummary *r = pl_member(p, V, 0)->s;
                if (!is_decoder(r) || !method_is_reference(r->method) || r->num_of_finetune != s->num_of_finetune ||
                    strcmp(r->dataset, s->dataset) || strcmp(r->layers, s->layers))
                    continue;
                GroupStats vs;
                pl_group_stats(p, V, &vs);
                double q[4] = {r->paper_act_mb / pl_acc_mean(&act), r->paper_weight_mb / pl_acc_mean(&wt),
                               pl_acc_mean(&vs.train_gflop) / pl_acc_mean(&st.train_gflop), pl_acc_mean(&vs.infer_gflop) / pl_acc_mean(&st.infer_gflop)};
                if (!(q[0] <= best[0])) { for (int i = 0; i < 4; i++) best[i] = q[i]; best_of[0] = 0; pl_append(best_of, sizeof best_of, "%s, %d layers", names[k], (int)s->num_of_finetune); }
                break;
            }
        }
    }
    mem_free(gi);
    fprintf(info, "p7_n_curves = %d\n", n_curves);
    const char *cn[MAX_F7];
    for (int k = 0; k < n_curves; k++) cn[k] = names[k];
    pl_gp_array(info, "p7_curve", n_curves, cn);
    fprintf(info, "p7_acc_kind = \"%s\"\n", use_test ? "test" : "validation");
    char ratio[LABEL_CAP * 2] = "";
    if (isfinite(best[0]))
        snprintf(ratio, sizeof ratio, "vanilla / %s: activations %.2fx, weights %.2fx, training FLOPs %.2fx, inference FLOPs %.2fx (paper, WASI on TinyLlama: 953.86x, 30.12x, 13.11x, 30.27x)",
                 best_of, best[0], best[1], best[2], best[3]);
    fputs("p7_ratios = ", info);
    pl_gp_str(info, ratio);
    fputc('\n', info);
    p->has_data[FIG_P7] = rows > 0;
    if (!rows) snprintf(p->why_empty[FIG_P7], sizeof p->why_empty[0], "needs complete runs of a llama model (tinyllama_1_1b on BoolQ, or llama_micro) over num_of_finetune");
    else if (!ratio[0]) snprintf(p->why_empty[FIG_P7], sizeof p->why_empty[0], "vanilla runs at the same num_of_finetune, for the ratios");
    int c = pl_close(&o);
    return c;
}

int plot_paper_write(Plot *p, FILE *info) {
    PaperIndex *x = mem_alloc(sizeof *x, MEM_WORKSPACE);
    memset(x, 0, sizeof *x);
    int rc = write_table(p, x);
    if (!rc) rc = write_fig3a(p, info);
    if (!rc) rc = write_fig4(p, info);
    if (!rc) rc = write_fig7(p, info);
    if (!rc) {
        const char *names[MAX_CURVES > MAX_DS ? MAX_CURVES : MAX_DS];
        for (int i = 0; i < x->n_curves; i++) names[i] = x->curve[i];
        fprintf(info, "paper_n_curves = %d\n", x->n_curves);
        pl_gp_array(info, "paper_curve", x->n_curves, names);
        for (int i = 0; i < x->n_ds; i++) names[i] = x->ds[i];
        fprintf(info, "paper_n_ds = %d\n", x->n_ds);
        pl_gp_array(info, "paper_ds", x->n_ds, names);
        fprintf(info, "paper_n_blocks = %d\n", x->n_blocks);
        pl_gp_int_array(info, "paper_block_curve", x->n_blocks, x->block_curve);
        pl_gp_int_array(info, "paper_block_ds", x->n_blocks, x->block_ds);
        fprintf(info, "paper_acc_kind = \"%s\"\n", x->use_test ? "test" : "validation");
    }
    // What each figure needs, checked against the settings present.
    char *w;
    const size_t cap = sizeof p->why_empty[0];
    int wsi_it = count_eps(p, "wsi", ""), wsi_svd = count_eps(p, "wsi", "weight_update=svd");
    p->has_data[FIG_P3B] = wsi_it >= 2 && wsi_svd >= 2;
    w = p->why_empty[FIG_P3B];
    if (!p->has_data[FIG_P3B])
        snprintf(w, cap, "needs complete wsi runs with weight_update iteration and svd at 2 or more epsilons each (paper: 0.4 ... 0.9); found %d and %d", wsi_it, wsi_svd);
    static const char *f5[] = {"vanilla", "svdllm_lora", "asi", "wasi"};
    int n5 = 0;
    w = p->why_empty[FIG_P5];
    w[0] = 0;
    for (int i = 0; i < 4; i++) {
        if (has_method(p, f5[i])) n5++;
        else pl_append(w, cap, "%s%s", w[0] ? ", " : "runs of ", f5[i]);
    }
    p->has_data[FIG_P5] = n5 >= 2 && count_eps(p, "wasi", NULL) >= 1;
    if (!p->has_data[FIG_P5] && !w[0]) snprintf(w, cap, "needs wasi over epsilon beside vanilla, svdllm_lora and asi");
    int swin = 0;
    for (int g = 0; g < p->n_groups; g++) swin += strstr(pl_member(p, &p->groups[g], 0)->s->model, "swin") != NULL && isfinite(pl_member(p, &p->groups[g], 0)->s->epsilon);
    p->has_data[FIG_P6] = swin > 0;
    if (!swin) snprintf(p->why_empty[FIG_P6], cap, "needs complete Swin runs (model preset swin_*) over epsilon, one data set per panel (paper: Pets, Flowers102, CUB, CIFAR-10, CIFAR-100)");
    double van_train = NAN, van_infer = NAN;
    for (int g = 0; g < p->n_groups && isnan(van_train); g++) {
        if (!method_is_reference(pl_member(p, &p->groups[g], 0)->s->method)) continue;
        GroupStats st;
        pl_group_stats(p, &p->groups[g], &st);
        van_train = pl_acc_mean(&st.train_ms);
        van_infer = pl_acc_mean(&st.infer_ms);
    }
    fputs("p8_vanilla_train_ms =", info); pl_num(info, van_train);
    fputs("\np8_vanilla_infer_ms =", info); pl_num(info, van_infer);
    fputc('\n', info);
    int timed = 0;
    for (int g = 0; g < p->n_groups; g++) {
        const RunSummary *s = pl_member(p, &p->groups[g], 0)->s;
        timed += is_weight_rank(s->method) && isfinite(s->epsilon) && isfinite(s->train_seconds_per_step);
    }
    p->has_data[FIG_P8] = timed >= 2 && has_reference(p);
    if (!p->has_data[FIG_P8]) snprintf(p->why_empty[FIG_P8], cap, "needs vanilla and wasi (or wsi) at 2 or more epsilons with timed steps; found %d timed weight-rank settings%s", timed, has_reference(p) ? "" : ", no vanilla");
    int seeded = 0;
    for (int g = 0; g < p->n_groups; g++) seeded += p->groups[g].n >= 2;
    p->has_data[FIG_P9] = seeded > 0;
    if (!seeded) snprintf(p->why_empty[FIG_P9], cap, "needs settings run with several seeds (paper: 3)");
    mem_free(x);
    return rc;
}
