// fuzz_safetensors.c: libFuzzer target for the safetensors reader
// (core/io/safetensors.c) and the model loader on top of it (vit_load). The
// input is a .safetensors file. st_open must accept it or return -1 with a
// message; on success every F32, BF16 and F16 tensor is read back (widened
// to float; F16 must land within its range) with its own shape and once
// with a wrong one, any other dtype must be refused, and the file is loaded into two tiny ViTs with
// torchvision names: one all dense, one with WASI on the MLP linears (its
// init takes an SVD of whatever weights the file holds, NaN included).
// Seeds: WB_FUZZ_SEEDS=DIR ./fuzz_safetensors writes a valid checkpoint of
// the tiny model (and a few variants) to DIR and exits.
#include "core/io/safetensors.h"
#include "core/models/vit.h"
#include "baselines/registry.h"
#include "tests/fuzz/fuzz.h"

#include <math.h>

static ViTBinding g_bind_dense, g_bind_wasi;
static const ViTConfig g_cfg = {.image_size = 8, .patch = 4, .channels = 1, .dim = 8, .depth = 1, .heads = 2,
                                .mlp_dim = 16, .num_classes = 3, .ln_eps = 1e-6f};

static void write_seeds(const char *dir) {
    char p[1024];
    WbError err;
    ViT m;
    vit_build(&m, &g_cfg, &g_bind_dense, 1);
    vit_init_random(&m, 1);
    snprintf(p, sizeof p, "%s/tiny_vit.safetensors", dir);
    if (vit_save(&m, p, &err) < 0) { fprintf(stderr, "%s\n", err.msg); exit(1); }
    vit_free(&m);
    // A small file with metadata, a scalar, a non-F32 dtype and an empty tensor.
    StWriter w;
    st_writer_init(&w);
    float a[6] = {1, 2, 3, 4, 5, 6}, s = 7;
    st_writer_add(&w, "a", 2, (int[]){2, 3}, a);
    st_writer_add(&w, "scalar", 0, NULL, &s);
    st_writer_add(&w, "empty", 1, (int[]){0}, a);
    st_writer_meta(&w, "format", "pt");
    st_writer_meta(&w, "note", "fuzz seed");
    snprintf(p, sizeof p, "%s/small.safetensors", dir);
    if (st_writer_save(&w, p, &err) < 0) { fprintf(stderr, "%s\n", err.msg); exit(1); }
    st_writer_free(&w);
    // Hand-written: F16 (1, -inf, a subnormal, NaN) and BF16 (1, -2) tensors
    // (read as floats) and an I64 one (opened fine, refused by st_read).
    static const char hdr[] = "{\"h\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]},"
                              "\"g\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[8,12]},"
                              "\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[12,20]}}";
    static const unsigned char vals[20] = {0x00, 0x3c, 0x00, 0xfc, 0x01, 0x00, 0x01, 0x7e, 0x80, 0x3f, 0x00, 0xc0, 7};
    unsigned char buf[256] = {0};
    uint64_t n = sizeof hdr - 1;
    memcpy(buf, &n, 8);
    memcpy(buf + 8, hdr, n);
    memcpy(buf + 8 + n, vals, sizeof vals);
    snprintf(p, sizeof p, "%s/dtypes.safetensors", dir);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(buf, 1, 8 + n + 20, f) != 8 + n + 20 || fclose(f) != 0) exit(1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    fz_setup("safetensors");
    g_bind_dense.num_finetune = g_bind_wasi.num_finetune = -1;
    g_bind_wasi.method = method_by_name("wasi");
    g_bind_wasi.mcfg.epsilon = 0.9f;
    g_bind_wasi.mcfg.act_ranks[0] = 1; g_bind_wasi.mcfg.act_ranks[1] = 2; g_bind_wasi.mcfg.act_ranks[2] = 4;
    const char *seeds = getenv("WB_FUZZ_SEEDS");
    if (seeds) { write_seeds(seeds); exit(0); }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_begin();
    fz_write("in.safetensors", data, size);
    char p[512];
    fz_path(p, sizeof p, "in.safetensors");
    SafeTensors st;
    WbError err = {{0}};
    if (st_open(&st, p, &err) == 0) {
        for (int i = 0; i < st.n; i++) {
            const StTensor *t = &st.t[i];
            if (st_find(&st, t->name) != t) { fprintf(stderr, "fuzz_safetensors: st_find('%s') is not the tensor\n", t->name); abort(); }
            uint64_t n = st_numel(t);
            int shape[ST_MAX_DIMS + 1], ok = n <= (1u << 20);
            for (int d = 0; d < t->ndim; d++) {
                if (t->shape[d] > (1 << 20)) ok = 0;
                shape[d] = (int)t->shape[d];
            }
            if (!ok) continue;
            float *x = mem_alloc_floats(2 * n + 1, MEM_WORKSPACE);
            int rc = st_read(&st, t->name, x, t->ndim, shape, &err);
            int wide = !strcmp(t->dtype, "F32") || !strcmp(t->dtype, "BF16") || !strcmp(t->dtype, "F16");
            if (rc == 0 && !wide) { fprintf(stderr, "fuzz_safetensors: read a %s tensor as float\n", t->dtype); abort(); }
            if (rc != 0 && wide) { fprintf(stderr, "fuzz_safetensors: %s tensor refused: %s\n", t->dtype, err.msg); abort(); }
            for (uint64_t j = 0; rc == 0 && !strcmp(t->dtype, "F16") && j < n; j++)
                if (!(isnan(x[j]) || isinf(x[j]) || fabsf(x[j]) <= 65504.0f)) { fprintf(stderr, "fuzz_safetensors: F16 widened to %g\n", (double)x[j]); abort(); }
            shape[t->ndim] = 2;   // one dimension too many: must be refused
            if (t->ndim < ST_MAX_DIMS && st_read(&st, t->name, x, t->ndim + 1, shape, &err) == 0) {
                fprintf(stderr, "fuzz_safetensors: '%s' read with a wrong shape\n", t->name);
                abort();
            }
            mem_free(x);
        }
        (void)st_metadata(&st, "format");
        st_close(&st);
    }
    // A fresh model per input, freed after: loading re-initialises the
    // methods (WASI's buffers follow the rank it finds), so only a whole
    // build-load-free cycle must return the tracked bytes.
    const ViTBinding *binds[2] = {&g_bind_dense, &g_bind_wasi};
    for (int k = 0; k < 2; k++) {
        ViT m;
        vit_build(&m, &g_cfg, binds[k], 1);
        vit_load(&m, p, k, 1, &err);
        vit_free(&m);
    }
    fz_end("st_open/vit_load");
    return 0;
}
