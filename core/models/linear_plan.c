// linear_plan.c: the per-linear memory plan shared by the models' plans (see
// linear_plan.h). Every term names the allocation it mirrors; keep in step
// with the methods' init.
#include "core/models/linear_plan.h"
#include "core/runtime/common.h"

#include <math.h>
#include <string.h>

double plan_pad16(double n) { return (double)(((size_t)n + 15) & ~(size_t)15); }

// params.c: the ParamInfo table starts at 32 entries and doubles.
static double info_bytes(int ntensors) {
    if (ntensors <= 0) return 0;
    int cap = 32;
    while (cap < ntensors) cap *= 2;
    return (double)cap * sizeof(ParamInfo);
}

void plan_add_set(MemPlan *p, double numel, int ntensors, int trainable, int opt_state) {
    p->bytes[MEM_WEIGHTS] += 4 * numel;
    if (trainable) {
        p->bytes[MEM_GRADIENTS] += 4 * numel;
        p->bytes[MEM_OPTIMIZER] += 4 * numel * opt_state;
    }
    p->bytes[MEM_WORKSPACE] += info_bytes(ntensors);
}

void linear_plan_begin(LinearPlan *lp, MemPlan *p, const ModelBinding *bind, const int *weight_ranks, int opt_state,
                       const char *who) {
    memset(lp, 0, sizeof *lp);
    lp->p = p;
    lp->bind = bind;
    lp->weight_ranks = weight_ranks;
    lp->opt_state = opt_state;
    lp->who = who;
    lp->flags = bind->method ? bind->method->flags : 0;
    CHECK(!(lp->flags & METHOD_ACT_ENERGY), "%s: method %s has data-dependent buffers (not predicted)", who,
          bind->method ? bind->method->name : "dense");
}

// A linear's dense saved input (linear_saved_input_alloc): its own buffer,
// or one per slot (SharedInput), added by linear_plan_finish.
static void save_x(LinearPlan *lp, int slot, int counted, double bytes) {
    if (slot >= 0) {
        CHECK(slot < LINEAR_PLAN_SLOTS, "%s: saved-input slot %d", lp->who, slot);
        lp->slot_x[slot] = fmax(lp->slot_x[slot], bytes);
        lp->slot_counted[slot] = counted;
    } else if (counted) lp->p->act_counted += bytes;
    else lp->p->act_other += bytes;
}

// The rank a method took from the weights (wasi/wsi: the SVD of W; svdllm_lora: K).
static double weight_rank(const LinearPlan *lp, int idx, const char *what) {
    CHECK(lp->weight_ranks && lp->weight_ranks[idx] >= 1, "%s: %s needs the %s of counted linear %d", lp->who,
          lp->bind->method->name, what, idx);
    return lp->weight_ranks[idx];
}

void linear_plan_add(LinearPlan *lp, long rows_l, int I_i, int O_i, int nd, const int *dims, int idx, int trainable, int bias,
                     int slot) {
    MemPlan *p = lp->p;
    const ModelBinding *bind = lp->bind;
    const unsigned fl = lp->flags;
    const double I = I_i, O = O_i, rows = (double)rows_l, nb = bias ? plan_pad16(O) : 0;   // nb: the bias tensor
    const int nt = bias ? 2 : 1, counted = idx >= 0, bound = counted && trainable && bind->method;
    const int opt = lp->opt_state;
    int is_lora = (fl & METHOD_ADAPTER) != 0, is_tucker = (fl & METHOD_ACT_TUCKER) != 0;
    int is_wasi = (fl & METHOD_WEIGHT_LOWRANK) != 0, is_asi = is_tucker && !is_wasi;
    CHECK(nd >= 2 && nd <= 4 && dims[nd - 1] == I_i, "%s: linear with %d modes, last %d, I %d", lp->who, nd, dims[nd - 1], I_i);
    if (bound && (fl & METHOD_DATA_CALIB)) {   // svdllm_lora.c after its calibration (weight_ranks = K)
        double kt = weight_rank(lp, idx, "truncation rank"), r = bind->mcfg.lora_rank;
        plan_add_set(p, plan_pad16(kt * I) + plan_pad16(O * kt) + nb, nt + 1, 0, 0);   // frozen A_t (K,I), B_t (O,K), b
        plan_add_set(p, plan_pad16(r * I) + plan_pad16(O * r), 2, 1, opt);           // the adapters
        save_x(lp, slot, counted, 4 * rows * I);                                     // x, u saved
        p->act_counted += 4 * rows * r;
        p->bytes[MEM_WORKSPACE] += 4 * (rows * r + rows * kt + fmin(O, I));          // du, z, the whitened sigma
        return;
    }
    if (bound && is_wasi && !is_tucker) {   // wsi (wasi.c, act_dense): L, R, master W, b; x saved as is
        CHECK(!bind->mcfg.weight_update_svd, "%s: %s weight_update svd is not predicted", lp->who, bind->method->name);
        double kw = weight_rank(lp, idx, "weight rank");
        plan_add_set(p, plan_pad16(O * kw) + plan_pad16(kw * I), 2, 0, 0);
        plan_add_set(p, plan_pad16(O * I) + nb, nt, 1, opt);
        save_x(lp, slot, counted, 4 * rows * I);
        lp->ws_tmp = fmax(lp->ws_tmp, rows * kw); lp->ws_Q = fmax(lp->ws_Q, I * kw); lp->ws_tau = fmax(lp->ws_tau, kw);
        return;
    }
    if (!bound || !(is_lora || is_tucker)) {   // linear_dense.c (frozen: W, b only)
        plan_add_set(p, plan_pad16(O * I) + nb, nt, trainable, opt);
        if (trainable) save_x(lp, slot, counted, 4 * rows * I);
        return;
    }
    if (is_lora) {   // lora.c: frozen {W, b}, trainable {A (r,I), B (O,r)}; x, u saved; du scratch
        double r = bind->mcfg.lora_rank;
        plan_add_set(p, plan_pad16(O * I) + nb, nt, 0, 0);
        plan_add_set(p, plan_pad16(r * I) + plan_pad16(O * r), 2, 1, opt);
        save_x(lp, slot, counted, 4 * rows * I);
        p->act_counted += 4 * rows * r;
        p->bytes[MEM_WORKSPACE] += 4 * rows * r;
        return;
    }
    // asi / wasi: fixed activation ranks, Tucker of the nd modes (act_store.c, tucker.c tucker_init)
    const int *kr = bind->layer_act_ranks ? bind->layer_act_ranks[idx] : bind->mcfg.act_ranks;
    int k[4];
    double core = 1, fac = 0;
    for (int n = 0; n < nd; n++) {
        CHECK(kr[n] > 0, "%s: %s needs fixed activation ranks", lp->who, bind->method->name);
        k[n] = wb_min(kr[n], dims[n]);
        core *= k[n];
        fac += (double)dims[n] * k[n];
    }
    HosvdSizes hs;
    hosvd_work_sizes(&hs, nd, dims, k, O_i, HOSVD_SUBSPACE);
    hosvd_sizes_max(&lp->pool, &hs);
    lp->pool_used = 1;
    p->act_counted += 4 * (core + fac);
    if (is_asi) {   // act_dense.c: dense {W, b}
        plan_add_set(p, plan_pad16(O * I) + nb, nt, 1, opt);
        return;
    }
    // wasi.c
    double kw = weight_rank(lp, idx, "weight rank"), kT = wb_min(k[nd - 1], I_i);
    plan_add_set(p, plan_pad16(O * kw) + plan_pad16(kw * I), 2, 0, 0);    // f: L (O,k), R (k,I)
    // the scratch shared by the wasi layers, each buffer at its largest need
    lp->ws_tmp = fmax(lp->ws_tmp, rows * kw);                              // tmp (rows,k)
    lp->ws_Q = fmax(lp->ws_Q, I * kw);                                     // Q (I,k)
    lp->ws_tau = fmax(lp->ws_tau, kw);                                     // orth tau (O,k)
    if (!bind->mcfg.factored) {
        plan_add_set(p, plan_pad16(O * I) + nb, nt, 1, opt);              // master W, b
    } else {
        plan_add_set(p, nb + plan_pad16(O * kT), nt, 1, 0);               // b, weight_grad_T (O,kT); SGD without state
        lp->ws_T1 = fmax(lp->ws_T1, O * kT); lp->ws_Rn = fmax(lp->ws_Rn, kw * I); lp->ws_Ln = fmax(lp->ws_Ln, O * kw);
        lp->ws_kk = fmax(lp->ws_kk, kw * kw); lp->ws_sm = fmax(lp->ws_sm, kT * kw);
    }
}

void linear_plan_finish(LinearPlan *lp) {
    MemPlan *p = lp->p;
    for (int sl = 0; sl < LINEAR_PLAN_SLOTS; sl++) {
        if (lp->slot_counted[sl]) p->act_counted += lp->slot_x[sl];
        else p->act_other += lp->slot_x[sl];
    }
    if (lp->pool_used) p->bytes[MEM_WORKSPACE] += 4 * hosvd_sizes_floats(&lp->pool);
    p->bytes[MEM_WORKSPACE] += 4 * (lp->ws_tmp + lp->ws_Q + lp->ws_tau + lp->ws_T1 + lp->ws_Rn + lp->ws_Ln + lp->ws_kk + lp->ws_sm);
}
