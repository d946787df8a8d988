// swin_cost.c: closed-form FLOPs of the Swin Transformer (see swin_cost.h).
// Walks the blocks with the geometry of swin_build and charges what
// swin_forward / swin_backward call; every term names the kernel whose
// flops_add (or gemm, 2 M N K) it mirrors. Keep in step with them.
#include "core/models/swin_cost.h"
#include "core/nn/swin_layers.h"

#include <math.h>
#include <string.h>

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

// --- memory plan (see swin_cost.h) -----------------------------------------------------
// Walks the blocks with swin_build's layout (swin_layout, swin_first_trainable,
// swin_block_saved); every term names the allocation of swin_build it
// mirrors (the linears are linear_plan's). Keep in step with swin.c.

static size_t zmax(size_t a, size_t b) { return a > b ? a : b; }

#define PLAN_MAX_BLOCKS 256

MemPlan swin_memory_plan(const SwinConfig *c, int B, const ModelBinding *bind, const int *weight_ranks, int opt_state) {
    MemPlan p;
    memset(&p, 0, sizeof p);
    const int S = c->stages, ws = c->window, T = ws * ws, K = c->num_classes, C0 = c->embed_dim, P0 = c->patch;
    CHECK(S >= 1 && S <= SWIN_MAX_STAGES && B >= 1, "swin_memory_plan: %d stages, batch %d", S, B);
    const int nblocks = swin_num_blocks(c);
    CHECK(nblocks <= PLAN_MAX_BLOCKS, "swin_memory_plan: %d blocks (at most %d)", nblocks, PLAN_MAX_BLOCKS);
    SwinBlock blk[PLAN_MAX_BLOCKS];
    int merge_pos[SWIN_MAX_STAGES];
    const int pos_norm = swin_layout(c, blk, merge_pos), pos_head = pos_norm + 1;
    const int p0 = swin_first_trainable(bind, blk, nblocks, pos_head);
    const SwinBlock *last = &blk[nblocks - 1];
    const double b = B, Cl = last->C, rows0 = b * blk[0].H * blk[0].W, rowsl = b * last->H * last->W;
    const double PP = (double)c->channels * P0 * P0, tab = (double)(2 * ws - 1) * (2 * ws - 1);
    Swin probe;   // only for swin_is_counted's rule (it reads the binding)
    memset(&probe, 0, sizeof probe);
    probe.bind = *bind;

    // tables: blk, rpi (T,T), lin, acts; the mask regions of each stage with a shifted block (nW,T)
    p.bytes[MEM_WORKSPACE] += (double)nblocks * (sizeof(SwinBlock) + SWIN_NLIN * sizeof(LinearLayer) + sizeof(SwinBlockActs)) +
                              sizeof(int) * (double)T * T;
    for (int s = 0, l = 0; s < S; l += c->depths[s], s++)
        for (int i = 0; i < c->depths[s]; i++)
            if (blk[l + i].sh + blk[l + i].sw) { p.bytes[MEM_WORKSPACE] += sizeof(int) * (double)blk[l + i].nW * T; break; }

    // parameters (params.c: one trainable, one frozen set): a tensor trains when its position is >= p0
    double num[2] = {0, 0};
    int nten[2] = {0, 0};
#define DECL(position, n) do { const int tr_ = (position) >= p0; num[tr_] += plan_pad16(n); nten[tr_]++; } while (0)
    DECL(0, C0 * PP); DECL(0, C0); DECL(0, C0); DECL(0, C0);    // features.0: conv weight, bias; LayerNorm
    for (int l = 0; l < nblocks; l++) {
        const SwinBlock *k = &blk[l];
        DECL(k->base, k->C); DECL(k->base, k->C);                 // norm1
        DECL(k->base + 2, tab * k->NH);                            // attn.relative_position_bias_table
        DECL(k->base + 4, k->C); DECL(k->base + 4, k->C);         // norm2
        if (k->index == c->depths[k->stage] - 1 && k->stage < S - 1) {   // patch merging: reduction (2C,4C), norm (4C)
            const int mp = merge_pos[k->stage];
            DECL(mp, 8.0 * k->C * k->C); DECL(mp, 4.0 * k->C); DECL(mp, 4.0 * k->C);
        }
    }
    DECL(pos_norm, Cl); DECL(pos_norm, Cl);
    DECL(pos_head, K * Cl); DECL(pos_head, K);
#undef DECL
    plan_add_set(&p, num[1], nten[1], 1, opt_state);
    plan_add_set(&p, num[0], nten[0], 0, 0);

    // saved for backward (alloc_block_acts of swin_block_saved): per block x_in, ln1 stats, qkv, att (softmax_f16: 2
    // bytes), x_mid, ln2 stats, h (gelu_f16: its derivative in 2 bytes); recompute: x_in of every block with a trained
    // operation and one set (racts) each field at its largest block; the drop-path scales (every block with p > 0,
    // frozen too); the merges' xg, xn and stats; the embedding's output and stats (p0 = 0); the final norm's input and
    // stats; pooled, probs. Beside it the workspace sizes: the largest map, hidden map, rows, windowed map,
    // attention, merge gather, bias table over the blocks.
    const double fatt = c->softmax_f16 ? 2 : 4, fh = c->gelu_f16 ? 2 : 4;
    SwinBlockSaved rz;
    memset(&rz, 0, sizeof rz);
    double mapC = 0, mapH = 0, rows = 0, winC = 0, attn = 0, mrg = 0, nhtt = 0;
    for (int l = 0; l < nblocks; l++) {
        const SwinBlock *k = &blk[l];
        const double BHW = b * k->H * k->W, BHWC = BHW * k->C;
        mapC = fmax(mapC, BHWC); mapH = fmax(mapH, BHW * k->hidden); rows = fmax(rows, BHW);
        winC = fmax(winC, b * k->nW * T * k->C); attn = fmax(attn, b * k->nW * k->NH * T * T);
        nhtt = fmax(nhtt, (double)k->NH * T * T);
        const SwinBlockSaved z = swin_block_saved(k, p0, B);
        if (!c->recompute) {
            p.act_shared += 4.0 * ((double)z.x_in + 2.0 * z.ln1 + z.qkv + z.x_mid + 2.0 * z.ln2) + fatt * z.att + fh * z.h;
        } else if (k->base + 7 >= p0) {   // the re-run starts from the block's input
            p.act_shared += 4 * BHWC;
            rz.ln1 = zmax(rz.ln1, z.ln1); rz.qkv = zmax(rz.qkv, z.qkv); rz.att = zmax(rz.att, z.att);
            rz.x_mid = zmax(rz.x_mid, z.x_mid); rz.ln2 = zmax(rz.ln2, z.ln2); rz.h = zmax(rz.h, z.h);
        }
        if (k->sd_prob > 0.0f) p.act_shared += 4 * 2 * b;       // sd_attn, sd_mlp (B)
        if (k->index == c->depths[k->stage] - 1 && k->stage < S - 1) {
            const double r2 = b * ((k->H + 1) / 2) * ((k->W + 1) / 2), g2 = r2 * 4 * k->C;
            mrg = fmax(mrg, g2);
            mapC = fmax(mapC, r2 * 2 * k->C);
            if (merge_pos[k->stage] >= p0) p.act_shared += 4 * (2 * g2 + 2 * r2);
        }
    }
    if (c->recompute) p.act_shared += 4.0 * (2.0 * rz.ln1 + rz.qkv + rz.x_mid + 2.0 * rz.ln2) + fatt * rz.att + fh * rz.h;
    if (p0 == 0) p.act_shared += 4 * (rows0 * C0 + 2 * rows0);
    if (pos_norm >= p0) p.act_shared += 4 * (rowsl * Cl + 2 * rowsl);
    p.act_shared += 4 * (b * Cl + b * K);

    // workspace: logits, col, patches; 7 of the largest map or merge gather (xa, xb, ln_out, tmp, dres, dln, dtmp);
    // 6 windowed (xw, att_out, proj_out, dxw, datt_out, dproj) and 2 x 3 (ws_qkv, dqkv); ws_att, datt; ws_h, g, dh,
    // dg; ws_mean, ws_rstd; ws_xg, ws_xn (with a merge); bias, dbias (NH,T,T); dpooled, dlogits; targets
    rows = fmax(rows, rows0);
    p.bytes[MEM_WORKSPACE] += 4 * (b * K + rows0 * PP + rows0 * C0 + 7 * fmax(mapC, mrg) + 12 * winC + 2 * attn + 4 * mapH +
                                   2 * rows + 2 * mrg + 2 * nhtt + b * Cl + b * K) + b * sizeof(int);

    // the linears (core/models/linear_plan.h): qkv, proj over the (B, nW, T, C) windows, fc1, fc2 over (B, H, W, .);
    // recompute: one saved input per kind shared by the blocks (swin.c rx), at its largest trainable user
    LinearPlan lp;
    linear_plan_begin(&lp, &p, bind, weight_ranks, opt_state, "swin_memory_plan");
    int ci = 0;
    for (int l = 0; l < nblocks; l++) {
        const SwinBlock *k = &blk[l];
        for (int w = 0; w < SWIN_NLIN; w++) {
            const int I = w == SWIN_FC2 ? k->hidden : k->C, O = w == SWIN_QKV ? 3 * k->C : w == SWIN_FC1 ? k->hidden : k->C;
            int dims[4] = {B, k->nW, T, I};
            if (w >= SWIN_FC1) { dims[1] = k->H; dims[2] = k->W; }
            const int idx = swin_is_counted(&probe, l, w) ? ci++ : -1;
            linear_plan_add(&lp, (long)dims[0] * dims[1] * dims[2], I, O, 4, dims, idx, swin_linear_position(k, w) >= p0, 1,
                            c->recompute ? w : -1);
        }
    }
    linear_plan_finish(&lp);
    p.bytes[MEM_ACTIVATIONS] = p.act_shared + p.act_counted + p.act_other;
    for (int i = 0; i < MEM_NCAT; i++) p.total += p.bytes[i];
    return p;
}
