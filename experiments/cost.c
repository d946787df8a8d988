// cost.c: closed-form per-run cost for --dry-run (see cost.h).
#include "cost.h"
#include "baselines/registry.h"
#include "core/vit_cost.h"

#include <math.h>
#include <string.h>

void method_cost(const RunSpec *rs, MethodCost *c) {
    c->paper_act_mb = c->paper_weight_mb = c->train_flops_per_step = NAN;
    const char *m = rs->method;
    int fixed_act = !strcmp(m, "asi") && rs->act_mode == ACT_RANKS_FIXED;
    int known_mem = !strcmp(m, "vanilla") || !strcmp(m, "lora") || fixed_act;
    ViTBinding bind = {0};
    bind.method = method_by_name(m);
    bind.mcfg = rs->mcfg;
    bind.all_linear = rs->all_linear;
    bind.num_finetune = rs->num_finetune;
    if (known_mem) {
        ViTPaperMemory pm = methods_paper_memory(&rs->vit, rs->batch_size, &bind, m, NULL);
        c->paper_act_mb = pm.paper_act_mb;
        c->paper_weight_mb = pm.paper_weight_mb;
    } else if (!strcmp(m, "hosvd") || !strcmp(m, "asi")) {
        // weights stay dense: that half is known
        ViTPaperMemory pm = methods_paper_memory(&rs->vit, rs->batch_size, &bind, "vanilla", NULL);
        c->paper_weight_mb = pm.paper_weight_mb;
    }
    // The step's FLOPs in closed form exist for dense linears, all trainable.
    if (!strcmp(m, "vanilla") && rs->num_finetune < 0) {
        FlopCount f = vit_step_flops(&rs->vit, rs->batch_size, NULL, NULL);
        c->train_flops_per_step = f.forward + f.backward;
    }
}
