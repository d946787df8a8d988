// budget.c: the run's side of the equal-memory comparison (see budget.h);
// each method fits itself in its own file.
#include "budget.h"
#include "baselines/registry.h"
#include "baselines/registry_model.h"
#include "core/runtime/common.h"

static double run_paper_mb(const MethodConfig *mc, const void *ctx) {
    const RunSpec *rs = ctx;
    ModelBinding bind = {0};
    bind.mcfg = *mc;
    bind.all_linear = rs->all_linear;
    bind.num_finetune = rs->num_finetune;
    ModelPaperMemory pm = model_methods_paper_memory(&rs->model, rs->batch_size, &bind, rs->method, NULL);
    return pm.paper_act_mb + pm.paper_weight_mb;
}

void budget_fit_init(BudgetFit *f, const RunSpec *rs, FILE *log) {
    *f = (BudgetFit){.budget_mb = (double)rs->budget_mb, .run = rs->name, .log = log,
                     .max_rank = cfg_lora_rank_max(rs),
                     .paper_mb = run_paper_mb, .ctx = rs};
}
