// test_llama.c: the Llama decoder (core/models/llama.h) against PyTorch
// (tests/ref_llama.py: HF's LlamaForSequenceClassification equations, same
// weights, a padded GQA batch): logits, loss and every parameter gradient,
// with the max errors per tensor group printed. Also: the inference forward
// equals the training one; num_finetune = n trains exactly the last n
// layers (their gradients equal the full model's, frozen layers have no
// gradient buffers and save nothing: tracked bytes by category); the
// checkpoint round trip (bit-identical file and logits, lm_head ignored,
// missing score only with skip_head); config.json reading and its errors;
// the parameter count of tinyllama_1_1b; the time of a llama_micro step.
#include "core/models/llama.h"
#include "core/models/model_linears.h"
#include "core/models/model_params.h"
#include "core/linalg/blas.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"
#include "core/runtime/rng.h"
#include "core/train/optim.h"
#include "core/io/safetensors.h"
#include "tests/testlib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static LlamaConfig tiny_cfg(void) {   // must match CFG in ref_llama.py
    LlamaConfig c = {64, 32, 48, 3, 4, 2, 1e-5f, 10000.0f, 64, 12, 2, 3};
    return c;
}
static LlamaBinding dense_bind(int num_finetune) {
    LlamaBinding b;
    memset(&b, 0, sizeof b);
    b.num_finetune = num_finetune;
    return b;
}

static const char *ref_path(const char *what) {
    static char p[2][256];
    static int k;
    k ^= 1;
    snprintf(p[k], sizeof p[k], "tests/data/ref/llama_tiny_%s.safetensors", what);
    return p[k];
}

// The dense gradient of an HF-named parameter; 0 when the model does not train it.
static int llama_grad(const Llama *m, const char *name, float *dst) {
    int i = params_index(&m->train, name);
    if (i >= 0) { memcpy(dst, m->train.grads + m->train.info[i].offset, m->train.info[i].numel * sizeof(float)); return 1; }
    for (int j = 0; j < m->cfg.layers * LLAMA_NLIN; j++) {
        LinearLayer *L = &m->lin[j];
        size_t n = strlen(L->name);
        if (strncmp(name, L->name, n) || strcmp(name + n, ".weight")) continue;
        ParamSet *ps[4];
        if (L->method->param_sets(L, ps) == 0) return 0;
        memcpy(dst, params_grad(ps[0], "weight"), sizeof(float) * (size_t)L->O * L->I);
        return 1;
    }
    return 0;
}

static const char *group_of(const char *name) {
    if (strstr(name, "embed_tokens")) return "embedding";
    if (strstr(name, "norm")) return "norms";
    if (strstr(name, "self_attn")) return "attention q/k/v/o";
    if (strstr(name, "mlp")) return "mlp gate/up/down";
    return "score";
}

static void test_tiny_vs_pytorch(void) {
    LlamaConfig cfg = tiny_cfg();
    LlamaBinding bind = dense_bind(-1);
    SafeTensors ref;
    WbError err;
    if (st_open(&ref, ref_path("ref"), &err) < 0) { EXPECT(0, "%s (run tests/make_reference.sh)", err.msg); return; }
    size_t n;
    float *tok = tl_read_tensor(&ref, "input", &n), *lab = tl_read_tensor(&ref, "labels", &n);
    float *want_logits = tl_read_tensor(&ref, "logits", &n), *want_loss = tl_read_tensor(&ref, "loss", &n);
    const int B = 3, K = cfg.num_classes;
    int y[3];
    for (int b = 0; b < B; b++) y[b] = (int)lab[b];
    Llama m;
    llama_build(&m, &cfg, &bind, B);
    EXPECT(llama_load(&m, ref_path("weights"), 0, 0, &err) == 0, "load (with an lm_head.weight to ignore): %s", err.msg);
    mparams_zero_grad(llama_params(&m));
    float loss = llama_forward(&m, tok, y, B, 1);
    EXPECT(m.len[0] == 12 && m.len[1] == 7 && m.len[2] == 3, "lengths from the first pad: %d %d %d", m.len[0], m.len[1], m.len[2]);
    double le = EXPECT_CLOSE("logits", m.logits, want_logits, (size_t)B * K, 2e-6, 1e-5);
    EXPECT_NEAR("loss", loss, want_loss[0], 2e-6, 1e-5);
    printf("  logits max|diff| %.2e, loss %.7f vs torch %.7f\n", le, (double)loss, (double)want_loss[0]);
    llama_backward(&m);
    const char *groups[5] = {"embedding", "norms", "attention q/k/v/o", "mlp gate/up/down", "score"};
    double gabs[5] = {0}, grel[5] = {0};
    int checked = 0;
    for (int i = 0; i < ref.n; i++) {
        const char *nm = ref.t[i].name;
        if (strncmp(nm, "grad.", 5)) continue;
        size_t cnt;
        float *gr = tl_read_tensor(&ref, nm, &cnt), *g = mem_alloc_floats(cnt, MEM_WORKSPACE);
        EXPECT(llama_grad(&m, nm + 5, g), "%s: the model trains it", nm + 5);
        double mx = tl_max_abs(gr, cnt), d = EXPECT_CLOSE(nm, g, gr, cnt, 1e-4 * mx, 1e-3);
        EXPECT_NONZERO(nm, g, cnt);
        for (int k = 0; k < 5; k++)
            if (!strcmp(groups[k], group_of(nm + 5))) {
                if (d > gabs[k]) gabs[k] = d;
                if (d / mx > grel[k]) grel[k] = d / mx;
            }
        checked++;
        mem_free(gr); mem_free(g);
    }
    EXPECT(checked == m.train.n + cfg.layers * LLAMA_NLIN, "every parameter's gradient compared (%d)", checked);
    for (int k = 0; k < 5; k++) printf("  grad %-18s max|diff| %.2e  max|diff|/max|ref| %.2e\n", groups[k], gabs[k], grel[k]);
    // the inference forward gives the training forward's logits, bit for bit
    float *lt = mem_alloc_floats((size_t)B * K, MEM_WORKSPACE);
    memcpy(lt, m.logits, sizeof(float) * (size_t)B * K);
    llama_forward(&m, tok, NULL, B, 0);
    EXPECT(!memcmp(lt, m.logits, sizeof(float) * (size_t)B * K), "inference forward = training forward");
    mem_free(lt);
    llama_free(&m);
    mem_free(tok); mem_free(lab); mem_free(want_logits); mem_free(want_loss);
    st_close(&ref);
}

// num_finetune = n: the last n layers, model.norm and score train, with the
// full model's gradients; earlier layers have no gradient buffer, save
// nothing, and each trainable layer costs the same bytes of gradients and activations.
static void test_partial_finetune(void) {
    LlamaConfig cfg = tiny_cfg();
    const int B = 3, len[3] = {12, 5, 9};
    float tok[3 * 12];
    int y[3];
    tl_token_batch(tok, y, &cfg, B, len, 8);
    LlamaBinding full = dense_bind(-1);
    Llama a;
    llama_build(&a, &cfg, &full, B);
    llama_init_random(&a, 13);
    mparams_zero_grad(llama_params(&a));
    float La = llama_forward(&a, tok, y, B, 1);
    llama_backward(&a);
    size_t gbytes[5], abytes[5];
    for (int n = 0; n <= cfg.layers + 1; n++) {
        int nf = n <= cfg.layers ? n : -1;
        LlamaBinding part = dense_bind(nf);
        MemStats s0 = mem_stats();
        Llama b;
        llama_build(&b, &cfg, &part, B);
        llama_init_random(&b, 13);
        MemStats s1 = mem_stats();
        gbytes[n] = s1.current[MEM_GRADIENTS] - s0.current[MEM_GRADIENTS];
        abytes[n] = s1.current[MEM_ACTIVATIONS] - s0.current[MEM_ACTIVATIONS];
        mparams_zero_grad(llama_params(&b));
        float Lb = llama_forward(&b, tok, y, B, 1);
        llama_backward(&b);
        EXPECT(La == Lb, "num_finetune %d: same loss", nf);
        int first = nf < 0 ? 0 : cfg.layers - nf, trained = 0, frozen_ok = 1;
        for (int l = 0; l < cfg.layers; l++)
            for (int w = 0; w < LLAMA_NLIN; w++) {
                LinearLayer *L = &b.lin[l * LLAMA_NLIN + w];
                ParamSet *ps[4];
                LinearAccount acc;
                L->method->account(L, &acc);
                int np = L->method->param_sets(L, ps);
                if (l < first) frozen_ok &= np == 0 && acc.bytes_gradients == 0 && acc.bytes_activations == 0 && !L->trainable;
                else frozen_ok &= np == 1 && acc.bytes_activations > 0;
            }
        for (int l = 0; l < first; l++) frozen_ok &= b.acts[l].x_in == NULL && b.acts[l].att == NULL && b.acts[l].gate == NULL;
        EXPECT(frozen_ok, "num_finetune %d: layers before %d frozen (no gradients, nothing saved), the rest trainable", nf, first);
        EXPECT(b.frozen.grads == NULL, "frozen set has no gradient buffer");
        for (int t = 0; t < a.train.n; t++) {
            const char *nm = a.train.info[t].name;
            size_t cnt = a.train.info[t].numel;
            float *g = mem_alloc_floats(cnt, MEM_WORKSPACE);
            int want = !strncmp(nm, "model.layers.", 13) ? atoi(nm + 13) >= first : strstr(nm, "embed") ? nf < 0 : 1;
            int has = llama_grad(&b, nm, g);
            EXPECT(has == want, "num_finetune %d: %s trains: %d (want %d)", nf, nm, has, want);
            if (has) { trained++; EXPECT_CLOSE(nm, g, a.train.grads + a.train.info[t].offset, cnt, 1e-6, 1e-5); }
            mem_free(g);
        }
        for (int j = 0; j < cfg.layers * LLAMA_NLIN; j++) {
            LinearLayer *L = &a.lin[j];
            char wn[160];
            snprintf(wn, sizeof wn, "%s.weight", L->name);
            float *g = mem_alloc_floats((size_t)L->O * L->I, MEM_WORKSPACE), *gf = mem_alloc_floats((size_t)L->O * L->I, MEM_WORKSPACE);
            if (llama_grad(&b, wn, g)) { llama_grad(&a, wn, gf); EXPECT_CLOSE(wn, g, gf, (size_t)L->O * L->I, 1e-6, 1e-5); }
            mem_free(g); mem_free(gf);
        }
        printf("  num_finetune=%2d: %d model tensors train, %zu trainable params, gradients %zu B, activations %zu B\n", nf,
               trained, mparams_num_trainable(llama_params(&b)), gbytes[n], abytes[n]);
        llama_free(&b);
    }
    // each layer more adds the same bytes; all layers vs everything differs by the embedding
    // (its gradient) and the token ids (saved for its backward)
    for (int n = 1; n < cfg.layers; n++) {
        EXPECT(gbytes[n + 1] - gbytes[n] == gbytes[n] - gbytes[n - 1], "gradient bytes per layer constant (n=%d)", n);
        EXPECT(abytes[n + 1] - abytes[n] == abytes[n] - abytes[n - 1], "activation bytes per layer constant (n=%d)", n);
    }
    int L = cfg.layers;
    EXPECT(gbytes[L + 1] - gbytes[L] >= sizeof(float) * (size_t)cfg.vocab * cfg.dim, "the embedding's gradient only when everything trains");
    EXPECT(abytes[L + 1] - abytes[L] == mem_size(a.ids), "the token ids saved only when the embedding trains");
    llama_free(&a);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECK(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static void test_checkpoint_roundtrip(void) {
    LlamaConfig cfg = tiny_cfg();
    LlamaBinding bind = dense_bind(-1);
    Llama a, b;
    llama_build(&a, &cfg, &bind, 2);
    llama_init_random(&a, 7);
    char p1[512], p2[512], p3[512];
    snprintf(p1, sizeof p1, "%s/llama.safetensors", tl_tmpdir());
    snprintf(p2, sizeof p2, "%s/llama-again.safetensors", tl_tmpdir());
    snprintf(p3, sizeof p3, "%s/llama-nohead.safetensors", tl_tmpdir());
    WbError err;
    EXPECT(llama_save(&a, p1, &err) == 0, "save: %s", err.msg);
    llama_build(&b, &cfg, &bind, 2);
    EXPECT(llama_load(&b, p1, 0, 0, &err) == 0, "load: %s", err.msg);
    EXPECT(llama_save(&b, p2, &err) == 0, "save again: %s", err.msg);
    EXPECT(tl_files_equal(p1, p2), "written, loaded, written again: byte-identical");
    SafeTensors st;
    EXPECT(st_open(&st, p1, &err) == 0, "%s", err.msg);
    EXPECT(st_find(&st, "model.layers.2.mlp.down_proj.weight") && st_find(&st, "model.layers.0.self_attn.k_proj.weight") &&
           !st_find(&st, "model.layers.0.self_attn.k_proj.bias"), "HF names, no biases");
    st_close(&st);
    float tok[2 * 12];
    int y[2];
    tl_token_batch(tok, y, &cfg, 2, (const int[]){12, 4}, 3);
    llama_forward(&a, tok, NULL, 2, 0);
    llama_forward(&b, tok, NULL, 2, 0);
    EXPECT(!memcmp(a.logits, b.logits, sizeof(float) * 2 * (size_t)cfg.num_classes), "logits bit-identical after reload");
    // a file without score.weight: an error naming it, unless skip_head (a new head from head_seed)
    StWriter w;
    st_writer_init(&w);
    const ParamSet *sets[2] = {&a.frozen, &a.train};
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < sets[s]->n; i++)
            if (strcmp(sets[s]->info[i].name, "score.weight"))
                st_writer_add(&w, sets[s]->info[i].name, sets[s]->info[i].ndim, sets[s]->info[i].shape,
                              sets[s]->params + sets[s]->info[i].offset);
    float *buf = model_linears_save(&w, a.lin, cfg.layers * LLAMA_NLIN);
    EXPECT(st_writer_save(&w, p3, &err) == 0, "%s", err.msg);
    st_writer_free(&w);
    mem_free(buf);
    EXPECT(llama_load(&b, p3, 0, 0, &err) < 0 && strstr(err.msg, "score.weight"), "missing score reported: %s", err.msg);
    EXPECT(llama_load(&b, p3, 1, 99, &err) == 0, "skip_head loads without score: %s", err.msg);
    llama_forward(&b, tok, NULL, 2, 0);
    EXPECT(memcmp(a.logits, b.logits, sizeof(float) * 2 * (size_t)cfg.num_classes) != 0, "a new head");
    // a wider model refuses the file, naming the first tensor
    LlamaConfig wide = cfg;
    wide.dim = 64;
    Llama c;
    llama_build(&c, &wide, &bind, 2);
    EXPECT(llama_load(&c, p1, 0, 0, &err) < 0 && strstr(err.msg, "model.embed_tokens.weight"), "shape mismatch: %s", err.msg);
    llama_free(&a); llama_free(&b); llama_free(&c);
}

static const char *TINYLLAMA_JSON =
    "{\"architectures\": [\"LlamaForCausalLM\"], \"hidden_size\": 2048, \"intermediate_size\": 5632,\n"
    " \"max_position_embeddings\": 2048, \"model_type\": \"llama\", \"num_attention_heads\": 32,\n"
    " \"num_hidden_layers\": 22, \"num_key_value_heads\": 4, \"rms_norm_eps\": 1e-05, \"rope_theta\": 10000.0,\n"
    " \"torch_dtype\": \"bfloat16\", \"vocab_size\": 32000}\n";

static void test_config_json(void) {
    char p[512];
    snprintf(p, sizeof p, "%s/config.json", tl_tmpdir());
    write_text(p, TINYLLAMA_JSON);
    LlamaConfig want, got;
    llama_preset("tinyllama_1_1b", &want);
    memset(&got, 0, sizeof got);
    got.seq_len = 128; got.pad_id = 2; got.num_classes = 2;
    WbError err;
    EXPECT(llama_config_from_json(&got, p, &err) == 0, "%s", err.msg);
    EXPECT(!memcmp(&got, &want, sizeof got), "config.json of TinyLlama = the tinyllama_1_1b preset");
    write_text(p, "{\"hidden_size\": 64, \"intermediate_size\": 128}");
    EXPECT(llama_config_from_json(&got, p, &err) < 0 && strstr(err.msg, "vocab_size") && strstr(err.msg, p),
           "missing key named with the file: %s", err.msg);
    write_text(p, "{\"vocab_size\": \"32000\"}");
    EXPECT(llama_config_from_json(&got, p, &err) < 0 && strstr(err.msg, "vocab_size"), "wrong type: %s", err.msg);
    write_text(p, "{\"vocab_size\": 10, ");
    EXPECT(llama_config_from_json(&got, p, &err) < 0 && strstr(err.msg, p), "not JSON: %s", err.msg);
    EXPECT(!memcmp(&got, &want, sizeof got), "a failed read leaves the config as it was");
}

// TinyLlama-1.1B has 1,100,048,384 parameters with its lm_head (V x C); the
// classifier has score (K x C) instead. The closed form is checked against a
// built llama_micro, then evaluated for the preset (nothing allocated).
static void test_param_count(void) {
    LlamaConfig micro;
    llama_preset("llama_micro", &micro);
    micro.seq_len = 16;
    LlamaBinding bind = dense_bind(-1);
    Llama m;
    llama_build(&m, &micro, &bind, 1);
    llama_init_random(&m, 1);
    size_t n = 0;
    for (int i = 0; i < m.train.n; i++) n += m.train.info[i].numel;
    for (int i = 0; i < m.frozen.n; i++) n += m.frozen.info[i].numel;
    for (int i = 0; i < micro.layers * LLAMA_NLIN; i++) n += (size_t)m.lin[i].O * m.lin[i].I;
    EXPECT(n == llama_num_params(&micro), "llama_micro: built %zu, closed form %zu", n, llama_num_params(&micro));
    llama_free(&m);
    LlamaConfig t;
    llama_preset("tinyllama_1_1b", &t);
    size_t want = 1100048384ull - (size_t)t.vocab * t.dim + (size_t)t.num_classes * t.dim;
    EXPECT(llama_num_params(&t) == want, "tinyllama_1_1b classifier: %zu params, want %zu", llama_num_params(&t), want);
    printf("  tinyllama_1_1b classifier: %zu parameters (1,100,048,384 - lm_head %d x %d + score %d x %d)\n",
           llama_num_params(&t), t.vocab, t.dim, t.num_classes, t.dim);
}

// One training step of llama_micro (T 128, batch 8): forward, backward, SGD.
static void test_micro_step_time(void) {
    LlamaConfig cfg;
    llama_preset("llama_micro", &cfg);
    int B = getenv("WB_QUICK") ? 2 : 8;
    LlamaBinding bind = dense_bind(-1);
    Llama m;
    llama_build(&m, &cfg, &bind, B);
    llama_init_random(&m, 5);
    float *tok = mem_alloc_floats((size_t)B * cfg.seq_len, MEM_DATA);
    int y[8], len[8];
    for (int b = 0; b < B; b++) len[b] = cfg.seq_len - 13 * b;
    tl_token_batch(tok, y, &cfg, B, len, 4);
    OptimConfig oc = optim_sgd(0.9f, 0.0f);
    float L0 = 0, L = 0;
    double best = 1e9;
    for (int s = 0; s < 6; s++) {
        double t0 = wall_seconds();
        mparams_zero_grad(llama_params(&m));
        L = llama_forward(&m, tok, y, B, 1);
        llama_backward(&m);
        mparams_update(llama_params(&m), &oc, 0.005f);
        double dt = wall_seconds() - t0;
        if (dt < best) best = dt;
        if (s == 0) L0 = L;
    }
    EXPECT(isfinite(L) && L < L0, "loss falls on a fixed batch: %.4f -> %.4f", (double)L0, (double)L);
    printf("  llama_micro step (B %d, T %d, %d threads): %.1f ms (best of 6)\n", B, cfg.seq_len, threads_get(), best * 1e3);
    llama_free(&m);
    mem_free(tok);
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    threads_set(0);
    RUN(test_tiny_vs_pytorch);
    RUN(test_partial_finetune);
    RUN(test_checkpoint_roundtrip);
    RUN(test_config_json);
    RUN(test_param_count);
    RUN(test_micro_step_time);
    return tl_finish();
}
