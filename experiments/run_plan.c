// run_plan.c: the planned peak of a run before any model exists (see run_plan.h).
#include "experiments/run_plan.h"
#include "baselines/registry.h"
#include "core/runtime/common.h"
#include "core/runtime/memory.h"
#include "core/train/optim.h"

#include <stdio.h>

#define RUN_PLAN_MAX_LINEARS 4096

void mem_plan_format(char *buf, size_t cap, const MemPlan *p) {
    size_t o = 0;
    buf[0] = 0;
    for (int k = 0; k < MEM_NCAT && o < cap; k++)
        o += (size_t)snprintf(buf + o, cap - o, "%s %.1f MiB, ", mem_category_name((MemCategory)k), p->bytes[k] / 1048576.0);
    if (o < cap) snprintf(buf + o, cap - o, "total %.1f MiB", p->total / 1048576.0);
}

static int why_fail(char *why, size_t cap, const char *fmt, const char *a) {
    snprintf(why, cap, fmt, a);
    return -1;
}

int run_memory_plan(const RunSpec *rs, const ModelBinding *bind_in, int B, const int *weight_ranks, double data_bytes,
                    MemPlan *plan, int *exact, ModelBinding *bind_used, char *why, size_t why_cap) {
    const LinearMethod *m = bind_in->method;
    const ModelFamily *fam = model_family(rs->model.kind);
    if (!fam->memory_plan) return why_fail(why, why_cap, "no memory plan for %s models", fam->name);
    if (rs->num_finetune >= 0 && fam->memory_plan_limits)
        return why_fail(why, why_cap, "no memory plan with num_of_finetune set (%s only)", fam->memory_plan_limits);
    if (m->flags & METHOD_ACT_ENERGY) return why_fail(why, why_cap, "no memory plan for %s: its activation ranks come from the data", m->name);
    if (m->flags & METHOD_DATA_CALIB) return why_fail(why, why_cap, "no memory plan for %s: its truncation rank comes from calibration data", m->name);
    if (bind_in->mcfg.weight_update_svd) return why_fail(why, why_cap, "no memory plan for %s with weight_update svd", m->name);
    ModelBinding bind = *bind_in;
    *exact = 1;
    if ((m->flags & METHOD_ACT_TUCKER) && rs->act_mode != ACT_RANKS_FIXED) {
        // ranks chosen at run time (epsilon, DP): bound by the full ranks (a Tucker at
        // full rank holds more than any truncation of it); act_store clamps to the sizes
        for (int n = 0; n < model_config_act_modes(&rs->model); n++) bind.mcfg.act_ranks[n] = 1 << 20;
        *exact = 0;
    }
    static int ub[RUN_PLAN_MAX_LINEARS];
    static LinearShape shapes[RUN_PLAN_MAX_LINEARS];
    if ((m->flags & METHOD_WEIGHT_LOWRANK) && !weight_ranks) {   // wasi's k from the SVD: at most min(I, O)
        ModelBinding all = bind;   // weight_ranks are indexed over every counted linear, frozen ones too
        all.num_finetune = -1;
        int n = fam->counted_shapes(&rs->model, B, &all, shapes, RUN_PLAN_MAX_LINEARS);
        for (int i = 0; i < n; i++) ub[i] = wb_min(shapes[i].O, shapes[i].dims[shapes[i].nd - 1]);
        weight_ranks = ub;
        *exact = 0;
    }
    *plan = fam->memory_plan(&rs->model, B, &bind, weight_ranks, optim_state_buffers(&rs->opt));
    if (bind_used) *bind_used = bind;
    plan->bytes[MEM_DATA] = data_bytes;
    plan->total += data_bytes;
    return 0;
}
