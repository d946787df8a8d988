// vit_cost.c: closed-form FLOPs and tracked memory of the ViT (see
// vit_cost.h). Every term names the kernel that charges it or the buffer it
// mirrors; keep in step with the flops_add calls and the allocations.
#include "core/models/vit_cost.h"
#include "core/compress/tucker.h"

#include <math.h>
#include <string.h>

FlopCount dense_linear_cost(long rows, int I, int O, int need_dx, int bias) {
    double r = (double)rows, io = (double)I * O, rb = bias ? r * O : 0;   // linear.c: bias add, bias gradient
    FlopCount f = {2 * r * io + rb, (need_dx ? 4 : 2) * r * io + rb, 0};
    return f;
}

FlopCount vit_step_flops(const ViTConfig *c, int B, LinearCostFn lin, const void *ctx) {
    const double C = c->dim, M = c->mlp_dim, NH = c->heads, K = c->num_classes;
    const int nP = (c->image_size / c->patch) * (c->image_size / c->patch), N = nP + 1;
    const double b = B, n = N, BN = b * n, PP = (double)c->channels * c->patch * c->patch;
    const long rows = (long)B * N;
    FlopCount f = {0, 0, 0};
    // embedding: im2col + GEMM + bias; tokens add the class token / positions
    f.forward += 2 * b * nP * PP * C + b * nP * C + BN * C;
    // backward: tokens (dpatches, dcls, dpos), conv weight GEMM + bias sum
    f.backward += b * nP * C + b * C + BN * C + 2 * b * nP * PP * C + b * nP * C;
    for (int l = 0; l < c->depth; l++) {
        // the block's forward; recompute: once without saving (plain GELU, and
        // without the last residual add) in backward's re-run
        double blk = 2 * (8 * BN * C + 5 * BN);                 // ln_1, ln_2
        blk += 4 * BN * n * C;                                  // q k^T and att v GEMMs
        blk += 5 * b * NH * n * n + b * NH * n;                 // softmax
        if (c->recompute) {
            f.forward += blk + 2 * BN * C + 5 * BN * M;          // two residual adds, plain GELU
            f.recompute += blk + BN * C + (c->gelu_f16 ? 11 : 5) * BN * M;
        } else {
            f.forward += blk + 2 * BN * C + (c->gelu_f16 ? 11 : 5) * BN * M;   // GELU (gelu_f16: and its derivative)
        }
        f.backward += 2 * (19 * BN * C + 2 * BN);               // ln_1, ln_2 (dx, dw, db)
        f.backward += 8 * BN * n * C + 4 * b * NH * n * n;      // attention core
        f.backward += (c->gelu_f16 ? 2 : 12) * BN * M;          // GELU
        for (int w = 0; w < VIT_NLIN; w++) {
            int I = (w == VIT_FC2) ? c->mlp_dim : c->dim, O = (w == VIT_FC1) ? c->mlp_dim : c->dim;
            FlopCount lf = lin ? lin(ctx, l, w, rows, I, O, 1, 1) : dense_linear_cost(rows, I, O, 1, 1);
            f.forward += lf.forward;
            f.backward += lf.backward;
            if (c->recompute) f.recompute += lf.forward;   // the re-run's linears (their forward again)
        }
    }
    // head: final LayerNorm on the class tokens, head linear, loss
    f.forward += 8 * b * C + 5 * b + 2 * b * C * K + b * K + 5 * b * K + 5 * b + 1;
    f.backward += 2 * b * K + b + 1;                            // cross-entropy
    f.backward += 4 * b * C * K + b * K;                        // head linear with dx
    f.backward += 19 * b * C + 2 * b;                           // final LayerNorm
    f.backward += b * C;                                        // class token scatter
    return f;
}

double vit_inference_flops(const ViTConfig *c, int B) {
    ViTConfig inf = *c;
    inf.gelu_f16 = inf.recompute = 0;   // an inference forward saves nothing: plain GELU, no re-run
    return vit_step_flops(&inf, B, NULL, NULL).forward;
}

// --- memory plan (see vit_cost.h) -------------------------------------------------
// Every term names the allocation it mirrors; keep in step with them.

static double pad16(double n) { return (double)(((size_t)n + 15) & ~(size_t)15); }   // params.c: 64-byte aligned tensors

// params.c: the ParamInfo table starts at 32 entries and doubles.
static double info_bytes(int ntensors) {
    if (ntensors <= 0) return 0;
    int cap = 32;
    while (cap < ntensors) cap *= 2;
    return (double)cap * sizeof(ParamInfo);
}

// A ParamSet of `numel` padded floats: weights, + gradients and optimizer state when trainable.
static void add_set(MemPlan *p, double numel, int ntensors, int trainable, int opt_state) {
    p->bytes[MEM_WEIGHTS] += 4 * numel;
    if (trainable) {
        p->bytes[MEM_GRADIENTS] += 4 * numel;
        p->bytes[MEM_OPTIMIZER] += 4 * numel * opt_state;
    }
    p->bytes[MEM_WORKSPACE] += info_bytes(ntensors);
}

// A linear's dense saved input (linear_saved_input_alloc): its own buffer,
// or with recompute one per slot (vit.c rx: q/k/v, out, fc1, fc2), added after the loop.
static void save_x(MemPlan *p, int recompute, double *slot_x, int *slot_counted, int w, int counted, double bytes) {
    int sl = w <= VIT_V ? 0 : w - VIT_V;
    if (recompute) { slot_x[sl] = fmax(slot_x[sl], bytes); slot_counted[sl] = counted; }
    else if (counted) p->act_counted += bytes;
    else p->act_other += bytes;
}

MemPlan vit_memory_plan(const ViTConfig *c, int B, const ViTBinding *bind, const int *weight_ranks, int opt_state) {
    CHECK(bind->num_finetune < 0, "vit_memory_plan covers num_of_finetune: all only (got %d)", bind->num_finetune);
    MemPlan p;
    memset(&p, 0, sizeof p);
    const double C = c->dim, M = c->mlp_dim, NH = c->heads, K = c->num_classes, D = c->depth;
    const int nP = (c->image_size / c->patch) * (c->image_size / c->patch), N = nP + 1;
    const double b = B, BN = b * N, BNC = BN * C, PP = (double)c->channels * c->patch * c->patch, att = b * NH * N * N;
    // what the method keeps, from its declaration (core/nn/linear_method.h)
    const char *meth = bind->method ? bind->method->name : "dense";
    const unsigned fl = bind->method ? bind->method->flags : 0;
    int is_lora = (fl & METHOD_ADAPTER) != 0, is_tucker = (fl & METHOD_ACT_TUCKER) != 0;
    int is_wasi = (fl & METHOD_WEIGHT_LOWRANK) != 0, is_asi = is_tucker && !is_wasi;
    CHECK(!(fl & METHOD_ACT_ENERGY), "vit_memory_plan: method %s has data-dependent buffers (not predicted)", meth);

    // vit_build: the model's own trainable set (all trainable), the linears' and acts' tables
    double own = pad16(C * PP) + pad16(C) + pad16(C) + pad16((double)N * C) + 4 * D * pad16(C) + 2 * pad16(C) +
                 pad16(K * C) + pad16(K);
    add_set(&p, own, 4 + 4 * c->depth + 2 + 2, 1, opt_state);
    p.bytes[MEM_WORKSPACE] += D * VIT_NLIN * sizeof(LinearLayer) + D * sizeof(ViTBlockActs);
    // saved for backward by the shared layers: x_in, ln_1 stats, q, k, v, att, x_mid, ln_2 stats, h per block;
    // class token, its LayerNorm output and stats, softmax probabilities
    // (gelu_f16, softmax_f16: h and att in 2 bytes; recompute: x_in per block, the rest once, vit.c racts)
    const double block_rest = 4 * (4 * BNC + 4 * BN) + (c->softmax_f16 ? 2 : 4) * att + (c->gelu_f16 ? 2 : 4) * BN * M;
    p.act_shared = (c->recompute ? D * 4 * BNC + block_rest : D * (4 * BNC + block_rest)) + 4 * (2 * b * C + 2 * b + b * K);
    // workspace: logits, im2col, patches (= dpatches), 11 (B,N,C) (dq, dk, dv alias ws_q..ws_v), 2 (B,N,M) (dg = g,
    // dh = ws_h), 2 (B,N), 2 attention, dcls x2, dlogits
    p.bytes[MEM_WORKSPACE] += 4 * (b * K + b * nP * PP + b * nP * C + 11 * BNC + 2 * BN * M + 2 * BN + 2 * att +
                                   2 * b * C + b * K) + b * sizeof(int);

    // the linears; the shared HOSVD workspace is sized at the largest store
    // (act_store.c pool_acquire: each buffer at its largest need over the stores)
    int pool_used = 0, ci = 0;
    HosvdSizes pool;
    memset(&pool, 0, sizeof pool);
    // (wasi.c scratch_acquire: the same, for the wasi layers' scratch)
    double ws_tmp = 0, ws_Q = 0, ws_tau = 0, ws_T1 = 0, ws_Rn = 0, ws_Ln = 0, ws_kk = 0, ws_sm = 0;
    // the linears' dense saved inputs: per linear, or (recompute, vit.c rx) one buffer per slot
    // q/k/v, out, fc1, fc2 shared by every block
    double slot_x[4] = {0, 0, 0, 0};
    int slot_counted[4] = {0, 0, 0, 0};
    ViT probe;   // only for vit_is_counted's rule
    memset(&probe, 0, sizeof probe);
    probe.bind = *bind;
    for (int l = 0; l < c->depth; l++)
        for (int w = 0; w < VIT_NLIN; w++) {
            const double I = (w == VIT_FC2) ? M : C, O = (w == VIT_FC1) ? M : C, rows = BN;
            int counted = vit_is_counted(&probe, l, w);
            int idx = counted ? ci++ : -1;
            if (counted && (fl & METHOD_DATA_CALIB)) {   // svdllm_lora.c after its calibration (weight_ranks = K)
                CHECK(weight_ranks && weight_ranks[idx] >= 1, "vit_memory_plan: %s needs the truncation rank of counted linear %d",
                      meth, idx);
                double kt = weight_ranks[idx], r = bind->mcfg.lora_rank;
                add_set(&p, pad16(kt * I) + pad16(O * kt) + pad16(O), 3, 0, 0);  // frozen A_t (K,I), B_t (O,K), b
                add_set(&p, pad16(r * I) + pad16(O * r), 2, 1, opt_state);       // the adapters
                save_x(&p, c->recompute, slot_x, slot_counted, w, counted, 4 * rows * I);   // x, u saved
                p.act_counted += 4 * rows * r;
                p.bytes[MEM_WORKSPACE] += 4 * (rows * r + rows * kt + fmin(O, I));  // du, z, the whitened sigma
                continue;
            }
            if (counted && is_wasi && !is_tucker) {   // wsi (wasi.c, act_dense): L, R, master W, b; x saved as is
                CHECK(!bind->mcfg.weight_update_svd, "vit_memory_plan: %s weight_update svd is not predicted", meth);
                CHECK(weight_ranks && weight_ranks[idx] >= 1, "vit_memory_plan: %s needs the weight rank of counted linear %d",
                      meth, idx);
                double kw = weight_ranks[idx];
                add_set(&p, pad16(O * kw) + pad16(kw * I), 2, 0, 0);
                add_set(&p, pad16(O * I) + pad16(O), 2, 1, opt_state);
                save_x(&p, c->recompute, slot_x, slot_counted, w, counted, 4 * rows * I);
                ws_tmp = fmax(ws_tmp, rows * kw); ws_Q = fmax(ws_Q, I * kw); ws_tau = fmax(ws_tau, kw);
                continue;
            }
            if (!counted || !bind->method || !(is_lora || is_tucker)) {   // linear_dense.c
                add_set(&p, pad16(O * I) + pad16(O), 2, 1, opt_state);
                save_x(&p, c->recompute, slot_x, slot_counted, w, counted, 4 * rows * I);
                continue;
            }
            if (is_lora) {   // lora.c: frozen {W, b}, trainable {A (r,I), B (O,r)}; x, u saved; du scratch
                double r = bind->mcfg.lora_rank;
                add_set(&p, pad16(O * I) + pad16(O), 2, 0, 0);
                add_set(&p, pad16(r * I) + pad16(O * r), 2, 1, opt_state);
                save_x(&p, c->recompute, slot_x, slot_counted, w, counted, 4 * rows * I);
                p.act_counted += 4 * rows * r;
                p.bytes[MEM_WORKSPACE] += 4 * rows * r;
                continue;
            }
            // asi / wasi: fixed activation ranks, Tucker of (B, N, I) (act_store.c, tucker.c tucker_init)
            const int *kr = bind->layer_act_ranks ? bind->layer_act_ranks[idx] : bind->mcfg.act_ranks;
            int dims[3] = {B, N, (int)I}, k[3];
            double core = 1, fac = 0;
            for (int n = 0; n < 3; n++) {
                CHECK(kr[n] > 0, "vit_memory_plan: %s needs fixed activation ranks", meth);
                k[n] = wb_min(kr[n], dims[n]);
                core *= k[n];
                fac += (double)dims[n] * k[n];
            }
            HosvdSizes hs;
            hosvd_work_sizes(&hs, 3, dims, k, (int)O, HOSVD_SUBSPACE);
            hosvd_sizes_max(&pool, &hs);
            pool_used = 1;
            p.act_counted += 4 * (core + fac);
            if (is_asi) {   // act_dense.c: dense {W, b}
                add_set(&p, pad16(O * I) + pad16(O), 2, 1, opt_state);
                continue;
            }
            // wasi.c
            CHECK(weight_ranks && weight_ranks[idx] >= 1, "vit_memory_plan: wasi needs the weight rank of counted linear %d", idx);
            double kw = weight_ranks[idx], kT = wb_min(k[2], (int)I);
            add_set(&p, pad16(O * kw) + pad16(kw * I), 2, 0, 0);           // f: L (O,k), R (k,I)
            // the scratch shared by the wasi layers, each buffer at its largest need
            ws_tmp = fmax(ws_tmp, rows * kw);                              // tmp (rows,k)
            ws_Q = fmax(ws_Q, I * kw);                                     // Q (I,k)
            ws_tau = fmax(ws_tau, kw);                                     // orth tau (O,k)
            if (!bind->mcfg.factored) {
                add_set(&p, pad16(O * I) + pad16(O), 2, 1, opt_state);    // master W, b
            } else {
                add_set(&p, pad16(O) + pad16(O * kT), 2, 1, 0);            // b, weight_grad_T (O,kT); SGD without state
                ws_T1 = fmax(ws_T1, O * kT); ws_Rn = fmax(ws_Rn, kw * I); ws_Ln = fmax(ws_Ln, O * kw);
                ws_kk = fmax(ws_kk, kw * kw); ws_sm = fmax(ws_sm, kT * kw);
            }
        }
    for (int sl = 0; sl < 4; sl++) {
        if (slot_counted[sl]) p.act_counted += slot_x[sl];
        else p.act_other += slot_x[sl];
    }
    if (pool_used) p.bytes[MEM_WORKSPACE] += 4 * hosvd_sizes_floats(&pool);
    p.bytes[MEM_WORKSPACE] += 4 * (ws_tmp + ws_Q + ws_tau + ws_T1 + ws_Rn + ws_Ln + ws_kk + ws_sm);
    p.bytes[MEM_ACTIVATIONS] = p.act_shared + p.act_counted + p.act_other;
    for (int i = 0; i < MEM_NCAT; i++) p.total += p.bytes[i];
    return p;
}
