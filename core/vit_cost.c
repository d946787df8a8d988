// vit_cost.c: closed-form FLOPs of the ViT (see vit_cost.h). Every term names
// the kernel that charges it; keep in step with the flops_add calls.
#include "vit_cost.h"

FlopCount dense_linear_cost(long rows, int I, int O, int need_dx) {
    double r = (double)rows, io = (double)I * O;
    FlopCount f = {2 * r * io + r * O, (need_dx ? 4 : 2) * r * io + r * O};
    return f;
}

FlopCount vit_step_flops(const ViTConfig *c, int B, LinearCostFn lin, const void *ctx) {
    const double C = c->dim, M = c->mlp_dim, NH = c->heads, K = c->num_classes;
    const int nP = (c->image_size / c->patch) * (c->image_size / c->patch), N = nP + 1;
    const double b = B, n = N, BN = b * n, PP = (double)c->channels * c->patch * c->patch;
    const long rows = (long)B * N;
    FlopCount f = {0, 0};
    // embedding: im2col + GEMM + bias; tokens add the class token / positions
    f.forward += 2 * b * nP * PP * C + b * nP * C + BN * C;
    // backward: tokens (dpatches, dcls, dpos), conv weight GEMM + bias sum
    f.backward += b * nP * C + b * C + BN * C + 2 * b * nP * PP * C + b * nP * C;
    for (int l = 0; l < c->depth; l++) {
        f.forward += 2 * (8 * BN * C + 5 * BN);                 // ln_1, ln_2
        f.forward += 4 * BN * n * C;                            // q k^T and att v GEMMs
        f.forward += 5 * b * NH * n * n + b * NH * n;           // softmax
        f.forward += 2 * BN * C;                                // two residual adds
        f.forward += 5 * BN * M;                                // GELU
        f.backward += 2 * (19 * BN * C + 2 * BN);               // ln_1, ln_2 (dx, dw, db)
        f.backward += 8 * BN * n * C + 4 * b * NH * n * n;      // attention core
        f.backward += 12 * BN * M;                              // GELU
        for (int w = 0; w < VIT_NLIN; w++) {
            int I = (w == VIT_FC2) ? c->mlp_dim : c->dim, O = (w == VIT_FC1) ? c->mlp_dim : c->dim;
            FlopCount lf = lin ? lin(ctx, l, w, rows, I, O, 1) : dense_linear_cost(rows, I, O, 1);
            f.forward += lf.forward;
            f.backward += lf.backward;
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
    return vit_step_flops(c, B, NULL, NULL).forward;
}
