// subspace_log.c: the runner's side of the stable-subspace log (see subspace_log.h).
#include "experiments/subspace_log.h"
#include "baselines/registry.h"
#include "core/runtime/memory.h"

#include <stddef.h>
#include <string.h>

int subspace_log_wanted(const RunSpec *rs, const LinearMethod *m, const MethodConfig *mc, float *epsilon) {
    int on = rs->log_subspace > 0 || (rs->log_subspace < 0 && (m->flags & METHOD_WEIGHT_LOWRANK));
    if (rs->subspace_epsilon > 0) *epsilon = rs->subspace_epsilon;
    else if (method_key_of(m, offsetof(MethodConfig, epsilon))) *epsilon = mc->epsilon;
    else *epsilon = 0.8f;
    return on;
}

void subspace_log_begin(SubspaceLog *g, const RunSpec *rs, const LinearMethod *m, const MethodConfig *mc, const Model *model) {
    memset(g, 0, sizeof *g);
    float eps;
    if (!subspace_log_wanted(rs, m, mc, &eps)) return;
    int nmax = model_num_linears(model);
    LinearLayer **lin = mem_alloc(sizeof(LinearLayer *) * (size_t)(nmax > 0 ? nmax : 1), MEM_WORKSPACE);
    int n = model_counted_linears(model, lin, nmax);
    if (n > 0) {
        g->on = 1;
        g->cap = (rs->epochs + 1) * n;
        g->rows = mem_alloc(sizeof(SubspaceRow) * (size_t)g->cap, MEM_WORKSPACE);
        subspace_track_init(&g->t, lin, n, eps, g->rows);
        g->n_rows = n;
    }
    mem_free(lin);
}

void subspace_log_epoch(SubspaceLog *g, int epoch) {
    if (!g->on || g->n_rows + g->t.n > g->cap) return;
    subspace_track_epoch(&g->t, epoch, g->rows + g->n_rows);
    g->n_rows += g->t.n;
}

void subspace_log_free(SubspaceLog *g) {
    subspace_track_free(&g->t);
    mem_free(g->rows);
    memset(g, 0, sizeof *g);
}
