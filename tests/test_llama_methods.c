// test_llama_methods.c: every linear method on the Llama decoder
// (core/models/llama.h) through the same binding the runner uses.
// 1. With epsilon = 1 and full ranks each compressing method equals vanilla
//    on a padded GQA batch: loss and every gradient (the model's own tensors
//    and each linear's dW), for the whole model and for the last 2 layers
//    (num_of_finetune counts decoder layers), layers all_linear and mlp.
// 2. The paper measure a built model accounts after a training forward
//    equals the closed form of baselines/registry_llama.c (what the dry run
//    prints), for every registered method, layers mlp / all_linear /
//    attention, num_of_finetune all and 1.
// 3. The real TinyLlama shapes in closed form: the vanilla measure of the
//    last 1 ... 5 layers (what tinyllama_boolq.yaml's dry run prints).
#include "core/models/llama.h"
#include "core/models/model_params.h"
#include "core/runtime/memory.h"
#include "core/runtime/rng.h"
#include "baselines/registry.h"
#include "baselines/registry_model.h"
#include "baselines/vanilla.h"
#include "tests/testlib.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static LlamaConfig tiny_cfg(void) {   // V 64, C 32, M 48, 3 layers, 4 heads, 2 KV heads, T 12, pad 2, 3 classes
    LlamaConfig c = {64, 32, 48, 3, 4, 2, 1e-5f, 10000.0f, 64, 12, 2, 3};
    return c;
}

static void build(Llama *m, const LinearMethod *method, const MethodConfig *mc, int all_linear, int nf, int B) {
    LlamaConfig cfg = tiny_cfg();
    LlamaBinding bind;
    memset(&bind, 0, sizeof bind);
    bind.method = method;
    bind.mcfg = *mc;
    bind.all_linear = all_linear;
    bind.num_finetune = nf;
    llama_build(m, &cfg, &bind, B);
    llama_init_random(m, 21);
}

// B sequences of lengths len[] (ids in [3, V)), right-padded with pad_id.
static void token_batch(float *tok, int *y, int B, const int *len) {
    const LlamaConfig c = tiny_cfg();
    tl_token_batch(tok, y, &c, B, len, 5);
}

static void test_full_rank_matches_vanilla(void) {
    enum { B = 3 };
    const LlamaConfig c = tiny_cfg();
    const int len[B] = {12, 7, 3};
    float tok[B * 12];
    int y[B];
    token_batch(tok, y, B, len);
    MethodConfig vc = tl_method_config();
    TlVariant v[12];
    int nv = tl_full_rank_variants(v);
    static const int cases[][2] = {{1, -1}, {0, -1}, {1, 2}};   // (all_linear, num_finetune)
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        Llama a;
        build(&a, &method_vanilla, &vc, cases[k][0], cases[k][1], B);
        mparams_zero_grad(llama_params(&a));
        float La = llama_forward(&a, tok, y, B, 1);
        llama_backward(&a);
        for (int i = 0; i < nv; i++) {
            char tag[160];
            snprintf(tag, sizeof tag, "%s, layers %s, num_of_finetune %d", v[i].tag, cases[k][0] ? "all_linear" : "mlp", cases[k][1]);
            Llama b;
            build(&b, v[i].m, &v[i].c, cases[k][0], cases[k][1], B);
            mparams_zero_grad(llama_params(&b));
            float Lb = llama_forward(&b, tok, y, B, 1);
            llama_backward(&b);
            EXPECT_NEAR(tag, Lb, La, 1e-5, 1e-5);
            double worst = tl_compare_method_grads(&a.train, &b.train, a.lin, b.lin, c.layers * LLAMA_NLIN, tag);
            printf("  %-72s loss %.7f vs %.7f, grads max|diff|/max|ref| %.2e\n", tag, (double)Lb, (double)La, worst);
            llama_free(&b);
        }
        llama_free(&a);
    }
}

static void test_paper_memory_closed_form(void) {
    enum { B = 2 };
    const LlamaConfig c = tiny_cfg();
    const int len[B] = {12, 5};
    float tok[B * 12];
    int y[B];
    token_batch(tok, y, B, len);
    int checked = 0;
    for (int i = 0; i < method_count(); i++) {
        const LinearMethod *m = method_at(i);
        MethodConfig mc = tl_method_config();
        mc.epsilon = 0.9f;
        mc.act_ranks[0] = 2; mc.act_ranks[1] = 6; mc.act_ranks[2] = 8;
        mc.lora_rank = 4;
        mc.lora_alpha = 8;
        for (int all = 0; all < 3; all++)
            for (int nf = -1; nf <= 1; nf += 2) {
                Llama md;
                build(&md, m, &mc, all, nf, B);
                llama_forward(&md, tok, y, B, 1);
                LlamaPaperMemory got = llama_paper_memory(&md);
                LayerRanks lr[64];
                int n = 0;
                for (int l = 0; l < c.layers; l++)
                    for (int w = 0; w < LLAMA_NLIN; w++) {
                        const LinearLayer *L = &md.lin[l * LLAMA_NLIN + w];
                        if (!llama_is_counted(&md, l, w) || !L->trainable) continue;
                        LinearAccount acc;
                        L->method->account(L, &acc);
                        lr[n].weight_rank = acc.weight_rank;
                        memcpy(lr[n].act_ranks, acc.act_ranks, sizeof lr[n].act_ranks);
                        n++;
                    }
                LlamaPaperMemory want = llama_methods_paper_memory(&c, B, &md.bind, m->name, lr);
                int per = all == 0 ? 3 : all == 1 ? 7 : 4;
                EXPECT(got.n_counted == want.n_counted && n == got.n_counted && n == per * (nf < 0 ? c.layers : nf),
                       "%s layers=%d nf=%d: %d counted, closed form %d, expected %d", m->name, all, nf, got.n_counted,
                       want.n_counted, per * (nf < 0 ? c.layers : nf));
                EXPECT(fabs(got.paper_act_mb - want.paper_act_mb) <= 1e-12 * want.paper_act_mb + 1e-15 &&
                           fabs(got.paper_weight_mb - want.paper_weight_mb) <= 1e-12 * want.paper_weight_mb + 1e-15,
                       "%s layers=%d nf=%d: account %.9f + %.9f MB, closed form %.9f + %.9f MB", m->name, all, nf,
                       got.paper_act_mb, got.paper_weight_mb, want.paper_act_mb, want.paper_weight_mb);
                EXPECT(got.paper_weight_mb > 0, "%s: a weight measure", m->name);
                checked++;
                llama_free(&md);
            }
    }
    EXPECT(checked == 6 * method_count(), "%d settings checked", checked);
}

// TinyLlama at batch 8, length 128, vanilla, all seven linears of the last n
// layers: the measure by hand (six inputs of width C, down's of width M;
// the weights without biases) against the closed form.
static void test_tinyllama_measure(void) {
    LlamaConfig t;
    EXPECT(llama_preset("tinyllama_1_1b", &t) == 0, "preset tinyllama_1_1b");
    EXPECT(t.layers == 22 && t.dim == 2048 && t.hidden == 5632 && t.heads == 32 && t.kv_heads == 4 && t.vocab == 32000,
           "TinyLlama shapes: %d layers, %d, %d, %d heads, %d kv, vocab %d", t.layers, t.dim, t.hidden, t.heads, t.kv_heads, t.vocab);
    t.seq_len = 128;
    LlamaBinding bind;
    memset(&bind, 0, sizeof bind);
    bind.mcfg = tl_method_config();
    bind.all_linear = 1;
    const double C = 2048, M = 5632, KV = 256, BT = 8 * 128;
    // inputs: q, k, v, gate, up see (B,T,C); o sees (B,T,C); down (B,T,M)
    const double act_layer = BT * (6 * C + M), w_layer = C * C * 2 + 2 * KV * C + 3 * C * M;
    for (int n = 1; n <= 5; n++) {
        bind.num_finetune = n;
        LlamaPaperMemory pm = llama_methods_paper_memory(&t, 8, &bind, "vanilla", NULL);
        double act = n * act_layer * 4 / 1048576.0, w = n * w_layer * 4 / 1048576.0;
        EXPECT(pm.n_counted == 7 * n && fabs(pm.paper_act_mb - act) < 1e-9 * act && fabs(pm.paper_weight_mb - w) < 1e-9 * w,
               "last %d layers: %d counted, %.3f + %.3f MB, by hand %.3f + %.3f MB", n, pm.n_counted, pm.paper_act_mb,
               pm.paper_weight_mb, act, w);
        printf("  vanilla TinyLlama, last %d layer(s), B 8, T 128: activations %.1f MB, weights %.1f MB\n", n, pm.paper_act_mb,
               pm.paper_weight_mb);
    }
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    RUN(test_full_rank_matches_vanilla);
    RUN(test_paper_memory_closed_form);
    RUN(test_tinyllama_measure);
    return tl_finish();
}
