// cost.c: closed-form per-run cost for --dry-run (see cost.h), from the
// method's declaration: its paper measure per linear (NAN where it needs
// data or weights) and its FLOPs per linear when it declares them.
#include "cost.h"
#include "baselines/registry.h"
#include "baselines/registry_swin.h"
#include "core/swin_cost.h"
#include "core/vit_cost.h"

#include <math.h>
#include <string.h>

typedef struct {
    const LinearMethod *m;
    const MethodConfig *mc;
    int all_linear;
    int swin;
} FlopCtx;

// The counted linears run the method (num_of_finetune: all), the others dense.
static FlopCount linear_flops(const void *ctx, int block, int which, long rows, int I, int O, int need_dx) {
    const FlopCtx *f = ctx;
    ViTBinding bind = {0};
    bind.all_linear = f->all_linear;
    int counted;
    if (f->swin) {
        Swin probe;
        memset(&probe, 0, sizeof probe);
        probe.bind = bind;
        counted = swin_is_counted(&probe, block, which);
    } else {
        ViT probe;
        memset(&probe, 0, sizeof probe);
        probe.bind = bind;
        counted = vit_is_counted(&probe, block, which);
    }
    if (!counted) return dense_linear_cost(rows, I, O, need_dx);
    FlopCount c;
    f->m->layer_flops(f->mc, rows, I, O, need_dx, &c.forward, &c.backward);
    return c;
}

void method_cost(const RunSpec *rs, MethodCost *c) {
    c->paper_act_mb = c->paper_weight_mb = c->train_flops_per_step = NAN;
    const LinearMethod *m = method_by_name(rs->method);
    if (!m) return;
    ViTBinding bind = {0};
    bind.method = m;
    bind.mcfg = rs->mcfg;
    bind.all_linear = rs->all_linear;
    bind.num_finetune = rs->num_finetune;
    int swin = rs->model.kind == MODEL_SWIN;
    ViTPaperMemory pm = swin ? swin_methods_paper_memory(&rs->model.swin, rs->batch_size, &bind, m->name, NULL)
                             : methods_paper_memory(&rs->model.vit, rs->batch_size, &bind, m->name, NULL);
    c->paper_act_mb = pm.paper_act_mb;
    c->paper_weight_mb = pm.paper_weight_mb;
    // The step's FLOPs in closed form: methods that declare them, all trainable.
    if (m->layer_flops && rs->num_finetune < 0) {
        FlopCtx fc = {m, &rs->mcfg, rs->all_linear, swin};
        FlopCount f = swin ? swin_step_flops(&rs->model.swin, rs->batch_size, linear_flops, &fc)
                           : vit_step_flops(&rs->model.vit, rs->batch_size, linear_flops, &fc);
        c->train_flops_per_step = f.forward + f.backward;
    }
}
