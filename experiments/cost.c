// cost.c: closed-form per-run cost for --dry-run (see cost.h), from the
// method's declaration: its paper measure per linear (NAN where it needs
// data or weights) and its FLOPs per linear when it declares them.
#include "cost.h"
#include "baselines/registry.h"
#include "baselines/registry_model.h"
#include "core/data/dataset.h"
#include "core/linalg/blas.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"

#include <math.h>
#include <string.h>

typedef struct {
    const LinearMethod *m;
    const MethodConfig *mc;
    const ModelBinding *bind;
    const ModelFamily *fam;
} FlopCtx;

// The counted linears run the method (num_of_finetune: all), the others dense.
static FlopCount linear_flops(const void *ctx, int block, int which, long rows, int I, int O, int need_dx, int bias) {
    const FlopCtx *f = ctx;
    if (!f->fam->linear_counted(f->bind, block, which)) return dense_linear_cost(rows, I, O, need_dx, bias);
    FlopCount c = {0, 0, 0};
    f->m->layer_flops(f->mc, rows, I, O, need_dx, bias, &c.forward, &c.backward);
    return c;
}

void method_cost(const RunSpec *rs, MethodCost *c) {
    c->paper_act_mb = c->paper_weight_mb = c->train_flops_per_step = NAN;
    c->dense_flops_per_step = c->eval_flops_per_item = NAN;
    const LinearMethod *m = method_by_name(rs->method);
    if (!m) return;
    ModelBinding bind = {0};
    bind.method = m;
    bind.mcfg = rs->mcfg;
    bind.all_linear = rs->all_linear;
    bind.num_finetune = rs->num_finetune;
    ModelPaperMemory pm = model_methods_paper_memory(&rs->model, rs->batch_size, &bind, m->name, NULL);
    c->paper_act_mb = pm.paper_act_mb;
    c->paper_weight_mb = pm.paper_weight_mb;
    const ModelFamily *fam = model_family(rs->model.kind);
    if (!fam->step_flops || !fam->inference_flops) return;   // no FLOP cost model for the family: FLOPs and time unknown
    // the reference: every parameter trainable, every linear dense
    FlopCount d = fam->step_flops(&rs->model, rs->batch_size, -1, NULL, NULL);
    c->dense_flops_per_step = d.forward + d.backward + d.recompute;
    c->eval_flops_per_item = fam->inference_flops(&rs->model, 1);
    // The step's FLOPs in closed form: methods that declare them (NAN where the family's closed form does not cover it).
    if (m->layer_flops) {
        FlopCtx fc = {m, &rs->mcfg, &bind, fam};
        FlopCount f = fam->step_flops(&rs->model, rs->batch_size, rs->num_finetune, linear_flops, &fc);
        c->train_flops_per_step = f.forward + f.backward + f.recompute;
    }
}

double run_seconds_estimate(const RunSpec *rs, const MethodCost *c, double flops_per_second, int *bounded) {
    const DataConfig *d = &rs->data;
    int K = data_format_classes(d->format, d->coarse_labels);
    double records = data_format_train_records(d->format) * (K > 0 && d->n_classes > 0 ? (double)d->n_classes / K : 1.0);
    // eval_split test: no val, training on every record (the one test pass at the end is not estimated)
    double n_val = rs->eval_split == 1 ? 0.0 : floor(records * (double)d->val_fraction), n_train = records - n_val;
    if (rs->limit_train > 0 && rs->limit_train < n_train) n_train = rs->limit_train;
    if (rs->limit_val > 0 && rs->limit_val < n_val) n_val = rs->limit_val;
    double steps = (double)rs->epochs * ceil(n_train / rs->batch_size);
    if (rs->max_steps > 0 && rs->max_steps < steps) steps = (double)rs->max_steps;
    double step = c->train_flops_per_step;
    *bounded = isnan(step);
    if (*bounded) step = c->dense_flops_per_step;
    int evals = rs->eval_every > 0 ? (rs->epochs + rs->eval_every - 1) / rs->eval_every : rs->epochs;
    return (steps * step + evals * n_val * c->eval_flops_per_item) / flops_per_second;
}

double queue_seconds_estimate(const Experiment *ex, const int *runs, const double *seconds, int n, int P) {
    double total = 0, *free_at = mem_alloc(sizeof(double) * (size_t)(P > 0 ? P : 1), MEM_WORKSPACE);
    for (int lo = 0, hi; lo < n; lo = hi) {
        for (int r = 0; r < P; r++) free_at[r] = 0;
        for (hi = lo; hi < n && !strcmp(ex->runs[runs[hi]].stage, ex->runs[runs[lo]].stage); hi++) {
            int first = 0;   // the rank that asks the counter next
            for (int r = 1; r < P; r++) if (free_at[r] < free_at[first]) first = r;
            free_at[first] += seconds[hi];
        }
        double stage = 0;
        for (int r = 0; r < P; r++) if (free_at[r] > stage) stage = free_at[r];
        total += stage;
    }
    mem_free(free_at);
    return total;
}

// The rate of one well-shaped sgemm (1024^3, best of 3) on this process's
// threads: the dry run's wall-time estimate divides counted FLOPs by it.
double cost_measured_flops_per_second(void) {
    const int n = 1024;
    float *a = mem_alloc(sizeof(float) * (size_t)n * n * 3, MEM_WORKSPACE), *b = a + (size_t)n * n, *c = b + (size_t)n * n;
    for (size_t i = 0; i < (size_t)n * n * 2; i++) a[i] = (float)(i % 7) * 0.25f;
    double best = 1e30;
    for (int r = 0; r < 4; r++) {   // the first call warms up OpenBLAS's threads and buffers
        double t0 = wall_seconds();
        gemm(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double dt = wall_seconds() - t0;
        if (r > 0 && dt < best) best = dt;
    }
    mem_free(a);
    return 2.0 * n * n * n / best;
}
