// cost.c: closed-form per-run cost for --dry-run (see cost.h).
#include "cost.h"
#include "baselines/registry.h"
#include "baselines/registry_swin.h"
#include "core/swin_cost.h"
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
    int swin = rs->model.kind == MODEL_SWIN;
    if (known_mem || !strcmp(m, "hosvd") || !strcmp(m, "asi")) {
        // hosvd/asi without fixed ranks: the weights stay dense, that half is known
        const char *as = known_mem ? m : "vanilla";
        ViTPaperMemory pm = swin ? swin_methods_paper_memory(&rs->model.swin, rs->batch_size, &bind, as, NULL)
                                 : methods_paper_memory(&rs->model.vit, rs->batch_size, &bind, as, NULL);
        if (known_mem) c->paper_act_mb = pm.paper_act_mb;
        c->paper_weight_mb = pm.paper_weight_mb;
    }
    // The step's FLOPs in closed form exist for dense linears, all trainable.
    if (!strcmp(m, "vanilla") && rs->num_finetune < 0) {
        FlopCount f = swin ? swin_step_flops(&rs->model.swin, rs->batch_size, NULL, NULL)
                           : vit_step_flops(&rs->model.vit, rs->batch_size, NULL, NULL);
        c->train_flops_per_step = f.forward + f.backward;
    }
}
