// llama_cost.c: closed-form FLOPs and tracked memory of the Llama decoder
// (see llama_cost.h). Walks the layers as llama_forward / llama_backward do;
// every term names the kernel whose flops_add (or gemm, 2 M N K) it mirrors
// or the buffer it sizes. Keep in step with llama.c and the layers.
#include "core/models/llama_cost.h"
#include "core/models/linear_plan.h"

#include <string.h>

// rmsnorm.c over `rows` rows of C: forward; backward's dx and dw parts
static double rms_fwd(double rows, double C) { return 4 * rows * C + 4 * rows; }
static double rms_bwd_dx(double rows, double C) { return 8 * rows * C + 4 * rows; }
static double rms_bwd_dw(double rows, double C) { return 3 * rows * C; }

// Rows of W of linear `w` (out features) and its in features.
static void lin_shape(const LlamaConfig *c, int w, int *I, int *O) {
    const int kvd = c->kv_heads * (c->dim / c->heads);
    *I = w == LLAMA_DOWN ? c->hidden : c->dim;
    *O = (w == LLAMA_K || w == LLAMA_V) ? kvd : (w == LLAMA_GATE || w == LLAMA_UP) ? c->hidden : c->dim;
}

// The number of trained decoder layers for bind.num_finetune n (llama.c first_trainable_position).
static int trained_layers(const LlamaConfig *c, int n) {
    CHECK(n >= -1 && n <= c->layers, "num_finetune %d: the model has %d decoder layers", n, c->layers);
    return n < 0 ? c->layers : n;
}

FlopCount llama_step_flops(const LlamaConfig *c, int B, int num_finetune, LinearCostFn lin, const void *ctx) {
    const int L = c->layers, first = L - trained_layers(c, num_finetune);
    const double b = B, T = c->seq_len, BT = b * T, C = c->dim, M = c->hidden, K = c->num_classes, NH = c->heads;
    const double hd = C / NH, kvd = c->kv_heads * hd, pairs = b * NH;
    const long rows = (long)B * c->seq_len;
    FlopCount f = {0, 0, 0};
    // embedding_forward: a gather, no FLOPs
    for (int l = 0; l < L; l++) {
        const int trained = l >= first;
        f.forward += 2 * rms_fwd(BT, C);                           // input_layernorm, post_attention_layernorm
        f.forward += 3 * BT * C + 3 * BT * kvd;                    // rope on q (NH heads), k (NKV heads)
        f.forward += 2 * (2 * T * T * hd) * pairs;                 // gqa: q k^T, att v per (batch, query head)
        f.forward += 5 * pairs * T * T + pairs * T;                // softmax over full rows, 1 division per row
        f.forward += 2 * BT * C;                                   // two residual adds
        f.forward += 6 * BT * M;                                   // SwiGLU
        if (trained) {
            // llama_backward, in its order: SwiGLU (dgate, dup), post norm (dx, dw), attention core (dv, D, dq, dk and
            // the softmax backward), rope backward on dq, dk, input norm (dw; dx unless it is the first trained
            // position, p0 = its base with num_finetune >= 1). The residuals need no kernel: the norms' dx += into dres.
            f.backward += 14 * BT * M;
            f.backward += rms_bwd_dx(BT, C) + rms_bwd_dw(BT, C);
            f.backward += 4 * (2 * T * T * hd) * pairs + 4 * pairs * T * T;
            f.backward += 4 * BT * C + 4 * BT * kvd;
            f.backward += (l > first || num_finetune < 0 ? rms_bwd_dx(BT, C) : 0) + rms_bwd_dw(BT, C);
        }
        for (int w = 0; w < LLAMA_NLIN; w++) {
            int I, O;
            lin_shape(c, w, &I, &O);
            FlopCount lf = trained && lin ? lin(ctx, l, w, rows, I, O, 1, 0) : dense_linear_cost(rows, I, O, 1, 0);
            f.forward += lf.forward;
            if (trained) f.backward += lf.backward;
        }
    }
    // head: last_token (a copy), model.norm on the B pooled rows, score (no bias), cross-entropy
    f.forward += rms_fwd(b, C) + 2 * b * C * K + 5 * b * K + 5 * b + 1;
    f.backward += 2 * b * K + b + 1;                               // cross-entropy
    f.backward += 4 * b * C * K;                                   // score: dW and dx (linear_backward, dinp given)
    const int more = first < L;                                    // a decoder layer trains: dx of model.norm, the scatter
    f.backward += (more ? rms_bwd_dx(b, C) + b * C : 0) + rms_bwd_dw(b, C);
    if (num_finetune < 0) f.backward += BT * C;                    // embedding_backward
    return f;
}

double llama_inference_flops(const LlamaConfig *c, int B) { return llama_step_flops(c, B, -1, NULL, NULL).forward; }

// --- memory plan (see llama_cost.h) -----------------------------------------------------
// Every term names the allocation of llama_build it mirrors; the linears are linear_plan's.

MemPlan llama_memory_plan(const LlamaConfig *c, int B, const ModelBinding *bind, const int *weight_ranks, int opt_state) {
    MemPlan p;
    memset(&p, 0, sizeof p);
    const int L = c->layers, nt = trained_layers(c, bind->num_finetune), first = L - nt, emb = bind->num_finetune < 0;
    const double b = B, T = c->seq_len, BT = b * T, C = c->dim, M = c->hidden, K = c->num_classes, V = c->vocab;
    const double hd = C / c->heads, kvd = c->kv_heads * hd, BTC = BT * C, BTK = BT * kvd, BTM = BT * M;
    const double att = b * c->heads * T * T;
    // the model's sets: train {embed_tokens (-1 only), trained layers' 2 norms, model.norm, score}; frozen the rest
    plan_add_set(&p, (emb ? plan_pad16(V * C) : 0) + 2.0 * nt * plan_pad16(C) + plan_pad16(C) + plan_pad16(K * C),
                 emb + 2 * nt + 2, 1, opt_state);
    plan_add_set(&p, (emb ? 0 : plan_pad16(V * C)) + 2.0 * first * plan_pad16(C), !emb + 2 * first, 0, 0);
    p.bytes[MEM_WORKSPACE] += (double)L * LLAMA_NLIN * sizeof(LinearLayer) + (double)L * sizeof(LlamaLayerActs);
    // saved for backward (alloc_layer_acts per trained layer): x_in, q, x_mid; k, v; att; rstd1, rstd2; gate, up;
    // xf, xfn, rstdf, probs; the token ids when the embedding trains (its scatter reads them)
    p.act_shared = nt * 4 * (3 * BTC + 2 * BTK + att + 2 * BT + 2 * BTM) + 4 * (2 * b * C + b + b * K) +
                   (emb ? BT * sizeof(int) : 0);
    // workspace: ids (frozen embedding), len, targets; rope cos/sin (T, hd/2); logits; 9 (B,T,C) (xa, xb, ln_out,
    // ws_q, att_out, tmp, dres, dln, dqp), 3 (B,T,kvd) (ws_k, ws_v, dkp), 3 (B,T,M) (ws_gate, ws_up, act),
    // ws_att, datt; ws_rstd; dxf, dxfn, dlogits (the other backward buffers alias these)
    p.bytes[MEM_WORKSPACE] += (emb ? 0 : BT * sizeof(int)) + 2 * b * sizeof(int) +
                              4 * (2 * T * (hd / 2) + b * K + 9 * BTC + 3 * BTK + 3 * BTM + 2 * att + BT + 2 * b * C + b * K);

    // the linears: the method on the counted ones of trained layers, dense otherwise (frozen: weights only)
    LinearPlan lp;
    linear_plan_begin(&lp, &p, bind, weight_ranks, opt_state, "llama_memory_plan");
    Llama probe;   // only for llama_counted_index's rule (it reads the binding)
    memset(&probe, 0, sizeof probe);
    probe.bind = *bind;
    for (int l = 0; l < L; l++)
        for (int w = 0; w < LLAMA_NLIN; w++) {
            int I, O;
            lin_shape(c, w, &I, &O);
            const int dims[3] = {B, c->seq_len, I};
            linear_plan_add(&lp, (long)B * c->seq_len, I, O, 3, dims, llama_counted_index(&probe, l, w), l >= first, 0, -1);
        }
    linear_plan_finish(&lp);
    p.bytes[MEM_ACTIVATIONS] = p.act_shared + p.act_counted + p.act_other;
    for (int i = 0; i < MEM_NCAT; i++) p.total += p.bytes[i];
    return p;
}
