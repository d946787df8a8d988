// runner_fill.c: what the runner copies from a run's settings and its model
// into the results (see runner_fill.h).
#include "experiments/runner_fill.h"
#include "baselines/registry.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

// The method's settings a summary reports, found through its declared keys.
void runner_fill_method_settings(RunSummary *s, const LinearMethod *m, const MethodConfig *mc) {
    s->epsilon = method_key_of(m, offsetof(MethodConfig, epsilon)) ? (double)mc->epsilon : (double)NAN;
    s->lora_rank = method_key_of(m, offsetof(MethodConfig, lora_rank)) ? mc->lora_rank : 0;
    const MethodKey *st = method_key_of(m, offsetof(MethodConfig, factored));
    if (st) method_key_value(st, mc, s->storage, sizeof s->storage);
    // Every other choice (an enum key) off its default: runs that differ only
    // there (wsi vs wsi weight_update svd) are other settings in the figures.
    s->variant[0] = 0;
    for (int i = 0; m && i < m->n_keys; i++) {
        const MethodKey *k = &m->keys[i];
        int v;
        if (k->type != MKEY_ENUM || k == st) continue;
        memcpy(&v, (const char *)mc + k->field, sizeof v);
        if (v == 0) continue;
        char val[64];
        method_key_value(k, mc, val, sizeof val);
        size_t n = strlen(s->variant);
        snprintf(s->variant + n, sizeof s->variant - n, "%s%s=%s", n ? " " : "", k->key, val);
    }
}

void runner_fill_settings(RunSummary *s, const RunSpec *rs) {
    snprintf(s->name, sizeof s->name, "%s", rs->name);
    snprintf(s->method, sizeof s->method, "%s", rs->method);
    runner_fill_method_settings(s, method_by_name(rs->method), &rs->mcfg);
    s->budget_mb = rs->budget_mb;
    s->seed = rs->seed;
    snprintf(s->layers, sizeof s->layers, "%s", rs->all_linear ? "all_linear" : "mlp");
    s->num_of_finetune = rs->num_finetune;
    snprintf(s->model, sizeof s->model, "%s", rs->model_preset);
    snprintf(s->dataset, sizeof s->dataset, "%s", data_format_name(rs->data.format));
}

// Per counted linear: name, sizes, ranks in use, paper measure.
int runner_collect_layers(const Model *m, LayerRow *rows, int max) {
    LinearLayer *lin[1024];
    int n = model_counted_linears(m, lin, max < 1024 ? max : 1024);
    for (int i = 0; i < n; i++) {
        const LinearLayer *L = lin[i];
        LinearAccount acc;
        L->method->account(L, &acc);
        LayerRow *r = &rows[i];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "%s", L->name);
        r->in_features = L->I; r->out_features = L->O;
        r->weight_rank = acc.weight_rank;
        for (int d = 0; d < 4; d++) r->act_ranks[d] = acc.act_ranks[d];
        r->paper_act_mb = acc.paper_act_elems * 4.0 / 1048576.0;
        r->paper_weight_mb = acc.paper_weight_elems * 4.0 / 1048576.0;
    }
    return n;
}
