// vit_cost.c: closed-form FLOPs and tracked memory of the ViT (see
// vit_cost.h). Every term names the kernel that charges it or the buffer it
// mirrors; keep in step with the flops_add calls and the allocations.
#include "core/models/vit_cost.h"

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
        f.backward += (c->gelu_f16 ? 1 : 11) * BN * M;          // GELU, in place (no +=)
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

MemPlan vit_memory_plan(const ViTConfig *c, int B, const ViTBinding *bind, const int *weight_ranks, int opt_state) {
    CHECK(bind->num_finetune < 0, "vit_memory_plan covers num_of_finetune: all only (got %d)", bind->num_finetune);
    MemPlan p;
    memset(&p, 0, sizeof p);
    const double C = c->dim, M = c->mlp_dim, NH = c->heads, K = c->num_classes, D = c->depth;
    const int nP = (c->image_size / c->patch) * (c->image_size / c->patch), N = nP + 1;
    const double b = B, BN = b * N, BNC = BN * C, PP = (double)c->channels * c->patch * c->patch, att = b * NH * N * N;
    // vit_build: the model's own trainable set (all trainable), the linears' and acts' tables
    double own = plan_pad16(C * PP) + plan_pad16(C) + plan_pad16(C) + plan_pad16((double)N * C) + 4 * D * plan_pad16(C) +
                 2 * plan_pad16(C) + plan_pad16(K * C) + plan_pad16(K);
    plan_add_set(&p, own, 4 + 4 * c->depth + 2 + 2, 1, opt_state);
    p.bytes[MEM_WORKSPACE] += D * VIT_NLIN * sizeof(LinearLayer) + D * sizeof(ViTBlockActs);
    // saved for backward by the shared layers: x_in, ln_1 stats, q, k, v, att, x_mid, ln_2 stats, h per block;
    // class token, its LayerNorm output and stats, softmax probabilities
    // (gelu_f16, softmax_f16: h and att in 2 bytes; recompute: x_in per block, the rest once, vit.c racts)
    const double block_rest = 4 * (4 * BNC + 4 * BN) + (c->softmax_f16 ? 2 : 4) * att + (c->gelu_f16 ? 2 : 4) * BN * M;
    p.act_shared = (c->recompute ? D * 4 * BNC + block_rest : D * (4 * BNC + block_rest)) + 4 * (2 * b * C + 2 * b + b * K);
    // workspace: logits, im2col of VIT_COL_IMAGES images, 7 (B,N,C) (dq, dk, dv alias ws_q..ws_v, patches and
    // dpatches ws_q, dln ln_out, datt_out att_out, dres xb; recompute: xa is the shared set's x_mid), 1 (B,N,M)
    // (ws_h = g = dg = dh), 2 (B,N), 2 attention (in ws_h when it holds both), dcls x2, dlogits
    const double col_images = B < VIT_COL_IMAGES ? b : VIT_COL_IMAGES, n_bnc = c->recompute ? 6 : 7;
    const double att_ws = 2 * att <= BN * M ? 0 : 2 * att;
    p.bytes[MEM_WORKSPACE] += 4 * (b * K + col_images * nP * PP + n_bnc * BNC + BN * M + 2 * BN + att_ws +
                                   2 * b * C + b * K) + b * sizeof(int);

    // the linears (core/models/linear_plan.h); with recompute (vit.c rx) the
    // dense saved inputs are one buffer per slot q/k/v, out, fc1, fc2 shared by every block
    LinearPlan lp;
    linear_plan_begin(&lp, &p, bind, weight_ranks, opt_state, "vit_memory_plan");
    int ci = 0;
    ViT probe;   // only for vit_is_counted's rule
    memset(&probe, 0, sizeof probe);
    probe.bind = *bind;
    for (int l = 0; l < c->depth; l++)
        for (int w = 0; w < VIT_NLIN; w++) {
            const int I = (w == VIT_FC2) ? c->mlp_dim : c->dim, O = (w == VIT_FC1) ? c->mlp_dim : c->dim;
            const int dims[3] = {B, N, I}, slot = c->recompute ? (w <= VIT_V ? 0 : w - VIT_V) : -1;
            int idx = vit_is_counted(&probe, l, w) ? ci++ : -1;
            linear_plan_add(&lp, (long)B * N, I, O, 3, dims, idx, 1, 1, slot);
        }
    linear_plan_finish(&lp);
    p.bytes[MEM_ACTIVATIONS] = p.act_shared + p.act_counted + p.act_other;
    for (int i = 0; i < MEM_NCAT; i++) p.total += p.bytes[i];
    return p;
}
