// swin_cost.c: closed-form FLOPs of the Swin Transformer (see swin_cost.h).
// Walks the blocks with the geometry of swin_build and charges what
// swin_forward / swin_backward call; every term names the kernel whose
// flops_add (or gemm, 2 M N K) it mirrors. Keep in step with them.
#include "core/models/swin_cost.h"
#include "core/nn/swin_layers.h"

// LayerNorm over `rows` rows of C: forward, and backward with dx, dw, db.
static double ln_fwd(double rows, double C) { return 8 * rows * C + 5 * rows; }
static double ln_bwd(double rows, double C) { return 19 * rows * C + 2 * rows; }

// training = 1: the step (forward + backward, stochastic depth drawn, the
// memory section's options); 0: the inference forward (no drop path
// scaling, no backward, plain GELU).
static FlopCount swin_flops(const SwinConfig *c, int B, LinearCostFn lin, const void *ctx, int training) {
    const int S = c->stages, ws = c->window, K = c->num_classes, C0 = c->embed_dim;
    const double b = B, T = (double)ws * ws, PP = (double)c->channels * c->patch * c->patch;
    int H = c->image_size / c->patch, W = H, nblocks = 0;
    const int gelu16 = training && c->gelu_f16, recompute = training && c->recompute;
    for (int s = 0; s < S; s++) nblocks += c->depths[s];
    FlopCount f = {0, 0, 0};
    // features.0: conv as im2col + linear (bias), LayerNorm; backward: LayerNorm, conv dw + db (no dx)
    const double rows0 = b * H * W;
    f.forward += 2 * rows0 * PP * C0 + rows0 * C0 + ln_fwd(rows0, C0);
    f.backward += ln_bwd(rows0, C0) + 2 * rows0 * PP * C0 + rows0 * C0;
    int l = 0;
    for (int s = 0; s < S; s++) {
        const int C = c->embed_dim << s, NH = c->heads[s], hidden = c->mlp_ratio * C;
        for (int i = 0; i < c->depths[s]; i++, l++) {
            int Hp, Wp, sh, sw;
            window_geometry(H, W, ws, (i % 2) ? ws / 2 : 0, &Hp, &Wp, &sh, &sw);
            const double nW = (double)(Hp / ws) * (Wp / ws), Bw = b * nW, BHW = b * H * W, BHWC = BHW * C;
            const double att_rows = Bw * NH * T;
            // swin.c sets sd_prob the same way; a block with p > 0 scales both residuals in training
            float sd_prob = nblocks > 1 ? c->stochastic_depth * (float)l / (float)(nblocks - 1) : 0.0f;
            const double res = (training && sd_prob > 0.0f) ? 2 : 1;   // drop_path_residual_forward
            double blk = 2 * ln_fwd(BHW, C);                          // norm1, norm2
            blk += 4 * Bw * T * T * C;                                // q k^T and att v GEMMs
            blk += (6.0 + ((sh + sw) ? 1 : 0)) * att_rows * T + att_rows;   // bias (+ mask) + softmax
            const double gelu = (gelu16 ? 11 : 5) * BHW * hidden;     // GELU (gelu_f16: and its derivative)
            if (recompute) {   // forward without saving (plain GELU); backward's re-run without the last residual
                f.forward += blk + 2 * res * BHWC + 5 * BHW * hidden;
                f.recompute += blk + res * BHWC + gelu;
            } else {
                f.forward += blk + 2 * res * BHWC + gelu;             // two residuals
            }
            // backward, in swin.c block_backward's order
            if (res == 2) f.backward += 2 * 2 * BHWC;                 // drop_path_residual_backward x2
            f.backward += (gelu16 ? 2 : 12) * BHW * hidden;           // GELU
            f.backward += 2 * ln_bwd(BHW, C);                         // norm2, norm1 (dx, dw, db)
            f.backward += 2 * BHWC;                                   // window reverse / partition adjoints
            f.backward += 8 * Bw * T * T * C + 5 * att_rows * T;      // attention core: GEMMs, softmax, dbias
            f.backward += (double)NH * T * T;                         // relative_bias_backward
            const double wrows = Bw * T;
            for (int w = 0; w < SWIN_NLIN; w++) {
                long rows = (long)(w <= SWIN_PROJ ? wrows : BHW);
                int I = w == SWIN_FC2 ? hidden : C, O = w == SWIN_QKV ? 3 * C : w == SWIN_FC1 ? hidden : C;
                FlopCount lf = lin ? lin(ctx, l, w, rows, I, O, 1, 1) : dense_linear_cost(rows, I, O, 1, 1);
                f.forward += lf.forward;
                f.backward += lf.backward;
                if (recompute) f.recompute += lf.forward;             // the re-run's linears
            }
        }
        if (s < S - 1) {
            // patch merging: gather (no FLOPs), LayerNorm(4C), reduction Linear(4C, 2C) without bias;
            // backward: reduction dx + dw, LayerNorm, the gather's adjoint (1 add per input element)
            const double r2 = b * ((H + 1) / 2) * ((W + 1) / 2), C4 = 4.0 * C, C2 = 2.0 * C;
            f.forward += ln_fwd(r2, C4) + 2 * r2 * C4 * C2;
            f.backward += 4 * r2 * C4 * C2 + ln_bwd(r2, C4) + b * H * W * C;
            H = (H + 1) / 2;
            W = (W + 1) / 2;
        }
    }
    // final norm, avgpool, head, loss
    const double Cl = (double)(c->embed_dim << (S - 1)), BN = b * H * W;
    f.forward += ln_fwd(BN, Cl) + BN * Cl + b * Cl + 2 * b * Cl * K + b * K + 5 * b * K + 5 * b + 1;
    f.backward += 2 * b * K + b + 1;                                  // cross-entropy
    f.backward += 4 * b * Cl * K + b * K;                             // head linear with dx
    f.backward += 2 * BN * Cl + ln_bwd(BN, Cl);                       // avgpool, final LayerNorm
    if (!training) f.backward = 0;
    return f;
}

FlopCount swin_step_flops(const SwinConfig *c, int B, LinearCostFn lin, const void *ctx) {
    return swin_flops(c, B, lin, ctx, 1);
}

double swin_inference_flops(const SwinConfig *c, int B) { return swin_flops(c, B, NULL, NULL, 0).forward; }
