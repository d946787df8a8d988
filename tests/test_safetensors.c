// test_safetensors.c: the safetensors reader and writer: bit-exact round trip
// (special float values, 0-d, 1-d, 4-d and empty tensors, metadata with
// escapes), a file written by Python (tests/ref_optim.py), error messages
// for missing tensors and shape mismatches, every corrupt-header case,
// truncation at every byte, random header corruption (no crash, ASan-clean),
// a file truncated after open, and the atomic save; BF16/F16 widening
// (known bit patterns, all 65536 F16 values), BF16/F16 files, and a 2-shard
// checkpoint through model.safetensors.index.json with its broken variants.
#include "core/runtime/memory.h"
#include "core/runtime/rng.h"
#include "core/io/safetensors.h"
#include "tests/testlib.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PY_REF "tests/data/ref/st_python_v1.safetensors"

static void tmp_path(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", tl_tmpdir(), name); }

static void write_bytes(const char *path, const void *buf, size_t n) {
    FILE *f = xfopen(path, "wb");
    if (n) xfwrite(buf, 1, n, f, path);
    fclose(f);
}

// Whole file into tracked memory; *n gets its size.
static unsigned char *read_bytes(const char *path, size_t *n) {
    FILE *f = xfopen(path, "rb");
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = mem_alloc(*n + 1, MEM_WORKSPACE);
    if (*n) xfread(b, 1, *n, f, path);
    fclose(f);
    return b;
}

// 8-byte length field hlen (UINT64_MAX: strlen(json)), the JSON, then data bytes.
static void write_raw(const char *path, const char *json, uint64_t hlen, size_t data) {
    size_t jl = strlen(json);
    if (hlen == UINT64_MAX) hlen = jl;
    unsigned char *b = mem_alloc(8 + jl + data, MEM_WORKSPACE);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(hlen >> (8 * i));
    memcpy(b + 8, json, jl);
    for (size_t i = 0; i < data; i++) b[8 + jl + i] = (unsigned char)(i * 37 + 1);
    write_bytes(path, b, 8 + jl + data);
    mem_free(b);
}

// st_open must fail with a message naming the file and containing keyword,
// leave nothing allocated, and leave st closed.
static void expect_open_fails(const char *what, const char *path, const char *keyword, int print) {
    size_t ws0 = mem_stats().current[MEM_WORKSPACE];
    SafeTensors st;
    WbError err;
    err.msg[0] = 0;
    int rc = st_open(&st, path, &err);
    EXPECT(rc == -1, "%s: st_open returned %d", what, rc);
    EXPECT(strstr(err.msg, path) != NULL, "%s: message names the file: %s", what, err.msg);
    EXPECT(!keyword || strstr(err.msg, keyword) != NULL, "%s: message contains '%s': %s", what, keyword, err.msg);
    EXPECT(st.f == NULL && st.n == 0, "%s: st left closed", what);
    st_close(&st);
    EXPECT(mem_stats().current[MEM_WORKSPACE] == ws0, "%s: %zu workspace bytes leaked", what, mem_stats().current[MEM_WORKSPACE] - ws0);
    if (print) printf("  %-28s -> %s\n", what, err.msg);
}

// --- round trip ---------------------------------------------------------------

#define RT_N 5
static const char *RT_NAMES[RT_N] = {"encoder.layers.encoder_layer_0.mlp.0.weight", "bias \"quoted\"", "conv_proj.weight", "scalar", "empty"};
static const int RT_NDIM[RT_N] = {2, 1, 4, 0, 2};
static const int RT_SHAPE[RT_N][4] = {{3, 7}, {6}, {2, 3, 4, 5}, {0}, {0, 4}};
static float rt_a[21], rt_b[6], rt_c[120], rt_s[1];

static void rt_fill(uint64_t seed) {
    Rng r; rng_seed(&r, seed);
    rng_fill_normal(&r, rt_a, 21, 0, 1);
    rng_fill_normal(&r, rt_c, 120, 0, 1);
    uint32_t snan = 0x7fa00001u, qnan = 0xffc12345u;   // NaN payloads must survive bit-exactly
    memcpy(&rt_b[0], &snan, 4);
    memcpy(&rt_b[1], &qnan, 4);
    rt_b[2] = -0.0f; rt_b[3] = INFINITY; rt_b[4] = 1e-45f; rt_b[5] = -3.4e38f;
    rt_s[0] = (float)seed + 0.5f;
}

static const float *rt_data(int i) { const float *d[RT_N] = {rt_a, rt_b, rt_c, rt_s, NULL}; return d[i]; }

static int rt_save(const char *path, WbError *err) {
    StWriter w;
    st_writer_init(&w);
    for (int i = 0; i < RT_N; i++) st_writer_add(&w, RT_NAMES[i], RT_NDIM[i], RT_SHAPE[i], rt_data(i));
    st_writer_meta(&w, "format", "pt");
    st_writer_meta(&w, "config", "{\"lr\": 0.001, \"s\": \"a\\nb\"}\t\\");
    st_writer_meta(&w, "unicode", "\xc3\xbcn\xc3\xaf \xe2\x9c\x93");
    st_writer_meta(&w, "format", "wasibench");   // replaces the first value
    int rc = st_writer_save(&w, path, err);
    st_writer_free(&w);
    return rc;
}

static void test_round_trip_bit_exact(void) {
    size_t ws0 = mem_stats().current[MEM_WORKSPACE];
    char path[512], tmp[600];
    tmp_path(path, sizeof path, "roundtrip.safetensors");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    WbError err;
    for (uint64_t seed = 1; seed <= 2; seed++) {   // the second save overwrites the first
        rt_fill(seed);
        EXPECT(rt_save(path, &err) == 0, "save: %s", err.msg);
        EXPECT(access(tmp, F_OK) != 0, "no temporary file left behind");
        SafeTensors st;
        if (st_open(&st, path, &err)) { EXPECT(0, "open: %s", err.msg); return; }
        EXPECT(st.n == RT_N, "%d tensors", st.n);
        EXPECT(st.data_start % 8 == 0, "header padded to 8 bytes (data starts at %llu)", (unsigned long long)st.data_start);
        EXPECT(st.file_size == st.data_start + (21 + 6 + 120 + 1) * 4, "file size %llu", (unsigned long long)st.file_size);
        for (int i = 0; i < RT_N && i < st.n; i++) {
            EXPECT(strcmp(st.t[i].name, RT_NAMES[i]) == 0, "header order: %s", st.t[i].name);
            EXPECT(strcmp(st.t[i].dtype, "F32") == 0 && st.t[i].ndim == RT_NDIM[i], "%s dtype/ndim", RT_NAMES[i]);
            const StTensor *t = st_find(&st, RT_NAMES[i]);
            EXPECT(t == &st.t[i], "st_find(%s)", RT_NAMES[i]);
            float got[120];
            memset(got, 0xAB, sizeof got);
            EXPECT(st_read(&st, RT_NAMES[i], got, RT_NDIM[i], RT_SHAPE[i], &err) == 0, "read: %s", err.msg);
            size_t bytes = (size_t)(st_numel(&st.t[i]) * 4);
            if (bytes) EXPECT(memcmp(got, rt_data(i), bytes) == 0, "%s bit-exact after the round trip", RT_NAMES[i]);
        }
        EXPECT(st_find(&st, "encoder") == NULL && st_find(&st, "zzz") == NULL && st_find(&st, "") == NULL, "absent names");
        const char *f = st_metadata(&st, "format"), *c = st_metadata(&st, "config"), *u = st_metadata(&st, "unicode");
        EXPECT(f && strcmp(f, "wasibench") == 0, "metadata format = %s", f ? f : "(null)");
        EXPECT(c && strcmp(c, "{\"lr\": 0.001, \"s\": \"a\\nb\"}\t\\") == 0, "metadata with escapes = %s", c ? c : "(null)");
        EXPECT(u && strcmp(u, "\xc3\xbcn\xc3\xaf \xe2\x9c\x93") == 0, "utf-8 metadata");
        EXPECT(st_metadata(&st, "missing") == NULL && st.nmeta == 3, "%d metadata entries", st.nmeta);
        st_close(&st);
        st_close(&st);   // twice is harmless
    }
    EXPECT(mem_stats().current[MEM_WORKSPACE] == ws0, "workspace back to its start (cJSON hooks free everything)");
}

static void test_reads_python_written_file(void) {
    SafeTensors st;
    WbError err;
    if (st_open(&st, PY_REF, &err)) { EXPECT(0, "%s (generate it with: bash tests/make_reference.sh)", err.msg); return; }
    EXPECT(st.n == 6, "6 tensors, got %d", st.n);
    float a[6], want_a[6];
    for (int i = 0; i < 6; i++) want_a[i] = (float)i * 0.5f - 1.0f;
    int sa[2] = {2, 3};
    EXPECT(st_read(&st, "a", a, 2, sa, &err) == 0, "%s", err.msg);
    EXPECT(memcmp(a, want_a, sizeof a) == 0, "a = arange(6)/2 - 1");
    float b[4], want_b[4] = {1.5f, -0.0f, 1e-45f, -3.4e38f};
    int sb = 4;
    EXPECT(st_read(&st, "b.weight", b, 1, &sb, &err) == 0, "%s", err.msg);
    EXPECT(memcmp(b, want_b, sizeof b) == 0, "b.weight bit-exact (-0, denormal)");
    float s = 0;
    EXPECT(st_read(&st, "scalar", &s, 0, NULL, &err) == 0 && s == 3.25f, "0-d scalar %g: %s", (double)s, err.msg);
    int se[2] = {0, 3};
    EXPECT(st_read(&st, "empty", &s, 2, se, &err) == 0, "empty tensor: %s", err.msg);
    // The data section is in reverse header order: offsets, not order, locate data.
    EXPECT(st_find(&st, "a")->begin > st_find(&st, "ids")->begin, "python wrote data in reverse order");
    int s2 = 2;
    EXPECT(st_read(&st, "h16", a, 1, &s2, &err) == 0 && a[0] == 1.0f && a[1] == -2.0f, "numpy's F16 [1, -2] read: %s", err.msg);
    int s3 = 3;
    EXPECT(st_read(&st, "ids", a, 1, &s3, &err) == -1 && strstr(err.msg, "I64") && strstr(err.msg, PY_REF) && strstr(err.msg, "ids"),
           "I64 refused: %s", err.msg);
    printf("  I64 tensor -> %s\n", err.msg);
    const char *fmt = st_metadata(&st, "format");
    EXPECT(fmt && strcmp(fmt, "pt") == 0, "python metadata");
    st_close(&st);
}

static void test_missing_and_shape_mismatch_messages(void) {
    char path[512];
    tmp_path(path, sizeof path, "messages.safetensors");
    WbError err;
    rt_fill(3);
    EXPECT(rt_save(path, &err) == 0, "save: %s", err.msg);
    SafeTensors st;
    if (st_open(&st, path, &err)) { EXPECT(0, "open: %s", err.msg); return; }
    float buf[120];
    int s73[2] = {7, 3}, s21 = 21;
    const char *nm = RT_NAMES[0];
    EXPECT(st_read(&st, "encoder.layers.encoder_layer_0.mlp.3.weight", buf, 2, s73, &err) == -1, "missing tensor fails");
    EXPECT(strstr(err.msg, "encoder.layers.encoder_layer_0.mlp.3.weight") && strstr(err.msg, path) && strstr(err.msg, "no tensor"),
           "missing names tensor and file: %s", err.msg);
    EXPECT(strstr(err.msg, nm) != NULL, "the nearest existing name is suggested: %s", err.msg);
    printf("  missing  -> %s\n", err.msg);
    // issue 21: past either end of the sorted names there is one neighbour, not ''
    EXPECT(st_read(&st, "zzz.last", buf, 2, s73, &err) == -1 && strstr(err.msg, "nearest name: '") && !strstr(err.msg, "''"),
           "a name after every tensor: one nearest name, no empty one: %s", err.msg);
    EXPECT(st_read(&st, "aaa.first", buf, 2, s73, &err) == -1 && strstr(err.msg, "nearest name: '") && !strstr(err.msg, "''"),
           "a name before every tensor: %s", err.msg);
    EXPECT(st_read(&st, nm, buf, 2, s73, &err) == -1, "transposed shape fails");
    EXPECT(strstr(err.msg, nm) && strstr(err.msg, "[3, 7]") && strstr(err.msg, "[7, 3]") && strstr(err.msg, path),
           "shape mismatch names tensor, found and expected: %s", err.msg);
    printf("  mismatch -> %s\n", err.msg);
    EXPECT(st_read(&st, nm, buf, 1, &s21, &err) == -1 && strstr(err.msg, "[21]") && strstr(err.msg, "[3, 7]"), "flattened shape fails: %s", err.msg);
    EXPECT(st_read(&st, "scalar", buf, 1, &s21, &err) == -1 && strstr(err.msg, "[]"), "0-d vs 1-d: %s", err.msg);
    st_close(&st);
}

// --- BF16 / F16 ------------------------------------------------------------------

static uint32_t f32_bits(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }

// Reference F16 value by arithmetic (not bit surgery): (-1)^s 2^(e-15) (1 + m/1024),
// subnormal 2^-14 m/1024; e = 31 is inf or NaN. Computed in double, exact in float.
static float f16_reference(uint16_t h) {
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp((double)m, -24) : e == 31 ? (m ? (double)NAN : (double)INFINITY) : ldexp(1024.0 + m, e - 25);
    return (float)(s ? -v : v);
}

static void test_half_conversion_exact(void) {
    struct { uint16_t h; uint32_t f; } f16[] = {
        {0x0000, 0x00000000}, {0x8000, 0x80000000}, {0x3c00, 0x3f800000}, {0xc000, 0xc0000000}, {0x7bff, 0x477fe000},   // 65504
        {0x0001, 0x33800000}, {0x03ff, 0x387fc000}, {0x0400, 0x38800000}, {0x8001, 0xb3800000},   // subnormals, smallest normal
        {0x7c00, 0x7f800000}, {0xfc00, 0xff800000}, {0x7e00, 0x7fc00000}, {0x7c01, 0x7f802000}, {0xfe01, 0xffc02000},
        {0x3555, 0x3eaaa000}};
    for (size_t i = 0; i < sizeof f16 / sizeof f16[0]; i++)
        EXPECT(f32_bits(st_f16_to_f32(f16[i].h)) == f16[i].f, "F16 0x%04x -> 0x%08x, want 0x%08x", f16[i].h, f32_bits(st_f16_to_f32(f16[i].h)), f16[i].f);
    struct { uint16_t h; uint32_t f; } bf[] = {{0x0000, 0}, {0x8000, 0x80000000}, {0x3f80, 0x3f800000}, {0x0001, 0x00010000},
                                               {0x7f80, 0x7f800000}, {0xff81, 0xff810000}, {0x4049, 0x40490000}};
    for (size_t i = 0; i < sizeof bf / sizeof bf[0]; i++)
        EXPECT(f32_bits(st_bf16_to_f32(bf[i].h)) == bf[i].f, "BF16 0x%04x -> 0x%08x", bf[i].h, f32_bits(st_bf16_to_f32(bf[i].h)));
    // Every F16 value against the arithmetic reference; NaNs keep sign and payload.
    int bad = 0, nans = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float got = st_f16_to_f32((uint16_t)h), want = f16_reference((uint16_t)h);
        uint32_t g = f32_bits(got);
        int ok;
        if (isnan(want)) {
            nans++;
            ok = isnan(got) && (g >> 31) == (h >> 15) && ((g >> 13) & 0x3ff) == (h & 0x3ff) && (g & 0x1fff) == 0;
        } else ok = g == f32_bits(want);
        if (!ok && bad++ < 5) EXPECT(0, "F16 0x%04x -> %a (0x%08x), reference %a", h, (double)got, g, (double)want);
        // BF16: the float whose upper half is h, and back
        if ((f32_bits(st_bf16_to_f32((uint16_t)h)) >> 16) != h || (f32_bits(st_bf16_to_f32((uint16_t)h)) & 0xffff)) bad++;
    }
    EXPECT(bad == 0 && nans == 2 * 1023, "all 65536 F16 and BF16 values exact (%d wrong, %d NaNs)", bad, nans);
}

// A file of one 16-bit tensor "w" (dtype, shape [2, 3], values h) and an F32 "b" [2].
static void write_half_file(const char *path, const char *dtype, const uint16_t *h, const float *b) {
    char json[256];
    snprintf(json, sizeof json, "{\"w\":{\"dtype\":\"%s\",\"shape\":[2,3],\"data_offsets\":[0,12]},"
             "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", dtype);
    size_t jl = strlen(json);
    unsigned char buf[8 + 256 + 20];
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)jl >> (8 * i));
    memcpy(buf + 8, json, jl);
    for (int i = 0; i < 6; i++) { buf[8 + jl + 2 * i] = (unsigned char)(h[i] & 0xff); buf[8 + jl + 2 * i + 1] = (unsigned char)(h[i] >> 8); }
    memcpy(buf + 8 + jl + 12, b, 8);
    write_bytes(path, buf, 8 + jl + 20);
}

static void test_bf16_and_f16_files_load(void) {
    char path[512];
    tmp_path(path, sizeof path, "half.safetensors");
    // BF16 of 1, -2.5, 3.140625, -0, 1e-40 (subnormal), inf; F16 of 1, -2.5, 65504, -0, 2^-24, -inf
    const uint16_t bf[6] = {0x3f80, 0xc020, 0x4049, 0x8000, 0x000b, 0x7f80}, hf[6] = {0x3c00, 0xc100, 0x7bff, 0x8000, 0x0001, 0xfc00};
    uint32_t bf_bits_sub = 0x000b0000u;
    float bf_sub, want_bf[6] = {1.0f, -2.5f, 3.140625f, -0.0f, 0, INFINITY}, want_hf[6] = {1.0f, -2.5f, 65504.0f, -0.0f, 0x1p-24f, -INFINITY};
    memcpy(&bf_sub, &bf_bits_sub, 4);
    want_bf[4] = bf_sub;
    const float b[2] = {0.25f, -7.0f};
    const char *dtypes[2] = {"BF16", "F16"};
    const float *want[2] = {want_bf, want_hf};
    const uint16_t *h[2] = {bf, hf};
    for (int k = 0; k < 2; k++) {
        write_half_file(path, dtypes[k], h[k], b);
        SafeTensors st;
        WbError err;
        if (st_open(&st, path, &err)) { EXPECT(0, "open: %s", err.msg); return; }
        float w[6] = {0}, bb[2] = {0};
        EXPECT(st_read(&st, "w", w, 2, (int[]){2, 3}, &err) == 0, "%s read: %s", dtypes[k], err.msg);
        EXPECT(memcmp(w, want[k], sizeof w) == 0, "%s values equal the F32 expectation bit for bit", dtypes[k]);
        EXPECT(st_read(&st, "b", bb, 1, (int[]){2}, &err) == 0 && memcmp(bb, b, sizeof bb) == 0, "F32 beside it: %s", err.msg);
        EXPECT(st_read(&st, "w", w, 2, (int[]){3, 2}, &err) == -1 && strstr(err.msg, "[2, 3]") && strstr(err.msg, path) && strstr(err.msg, "'w'"),
               "%s shape mismatch named: %s", dtypes[k], err.msg);
        st_close(&st);
    }
}

// --- sharded checkpoints ------------------------------------------------------------

static void write_text(const char *path, const char *text) { write_bytes(path, text, strlen(text)); }

static void test_sharded_checkpoint(void) {
    size_t ws0 = mem_stats().current[MEM_WORKSPACE];
    char dir[512], p1[600], p2[600], idx[600];
    tmp_path(dir, sizeof dir, "sharded");
    mkdir(dir, 0755);
    snprintf(p1, sizeof p1, "%s/model-00001-of-00002.safetensors", dir);
    snprintf(p2, sizeof p2, "%s/model-00002-of-00002.safetensors", dir);
    snprintf(idx, sizeof idx, "%s/model.safetensors.index.json", dir);
    float a[6] = {1, 2, 3, 4, 5, 6}, c[3] = {-1, -2, -3}, extra = 9;
    WbError err;
    StWriter w;
    st_writer_init(&w);
    st_writer_add(&w, "layers.0.weight", 2, (int[]){2, 3}, a);
    st_writer_add(&w, "unmapped", 0, NULL, &extra);   // in a shard but not in the map: not visible
    EXPECT(st_writer_save(&w, p1, &err) == 0, "%s", err.msg);
    st_writer_free(&w);
    st_writer_init(&w);
    st_writer_add(&w, "layers.1.bias", 1, (int[]){3}, c);
    EXPECT(st_writer_save(&w, p2, &err) == 0, "%s", err.msg);
    st_writer_free(&w);
    write_text(idx, "{\"metadata\": {\"total_size\": 36},\n \"weight_map\": {\"layers.1.bias\": \"model-00002-of-00002.safetensors\",\n"
                    "  \"layers.0.weight\": \"model-00001-of-00002.safetensors\"}}\n");
    const char *paths[2] = {idx, dir};   // the index, or the folder holding it
    for (int k = 0; k < 2; k++) {
        SafeTensors st;
        if (st_open(&st, paths[k], &err)) { EXPECT(0, "open %s: %s", paths[k], err.msg); continue; }
        EXPECT(st.n == 2 && st.nshards == 2, "2 tensors in 2 shards (%d, %d)", st.n, st.nshards);
        float ga[6] = {0}, gc[3] = {0}, x;
        EXPECT(st_read(&st, "layers.0.weight", ga, 2, (int[]){2, 3}, &err) == 0 && memcmp(ga, a, sizeof a) == 0, "shard 1 tensor: %s", err.msg);
        EXPECT(st_read(&st, "layers.1.bias", gc, 1, (int[]){3}, &err) == 0 && memcmp(gc, c, sizeof c) == 0, "shard 2 tensor: %s", err.msg);
        EXPECT(st_read(&st, "unmapped", &x, 0, NULL, &err) == -1 && strstr(err.msg, "unmapped"), "not in the map: %s", err.msg);
        EXPECT(st_read(&st, "layers.1.bias", gc, 1, (int[]){4}, &err) == -1 && strstr(err.msg, p2), "shape error names the shard: %s", err.msg);
        st_close(&st);
    }
    // Broken indexes: each must fail naming the index (and the shard where one is at fault).
    struct { const char *what, *json, *keyword; } bad[] = {
        {"malformed JSON", "{\"weight_map\": {\"a\": ", "not valid JSON"},
        {"no weight_map", "{\"metadata\": {}}", "weight_map"},
        {"empty weight_map", "{\"weight_map\": {}}", "empty"},
        {"non-string shard", "{\"weight_map\": {\"layers.0.weight\": 3}}", "layers.0.weight"},
        {"missing shard", "{\"weight_map\": {\"layers.0.weight\": \"model-00003-of-00002.safetensors\"}}", "model-00003-of-00002"},
        {"name not in its shard", "{\"weight_map\": {\"layers.0.weight\": \"model-00002-of-00002.safetensors\"}}", "no such tensor"},
        {"trailing garbage", "{\"weight_map\": {\"layers.1.bias\": \"model-00002-of-00002.safetensors\"}} x", "garbage"},
    };
    char bidx[600];
    snprintf(bidx, sizeof bidx, "%s/broken.index.json", dir);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(bidx, bad[i].json);
        expect_open_fails(bad[i].what, bidx, bad[i].keyword, 1);
    }
    // A shard that is itself corrupt: both the index and the shard are named.
    write_text(p2, "garbage");
    SafeTensors st;
    EXPECT(st_open(&st, idx, &err) == -1 && strstr(err.msg, idx) && strstr(err.msg, p2), "corrupt shard: %s", err.msg);
    printf("  corrupt shard -> %s\n", err.msg);
    st_close(&st);
    EXPECT(mem_stats().current[MEM_WORKSPACE] == ws0, "%zu workspace bytes leaked", mem_stats().current[MEM_WORKSPACE] - ws0);
}

// --- corrupt files ---------------------------------------------------------------

static void test_short_and_absurd_lengths(void) {
    char path[512];
    tmp_path(path, sizeof path, "short.safetensors");
    unsigned char b[8] = {2, 0, 0, 0, 0, 0, 0, 0};
    for (size_t n = 0; n < 8; n += 3) {
        write_bytes(path, b, n);
        char what[64]; snprintf(what, sizeof what, "%zu-byte file", n);
        expect_open_fails(what, path, "fewer than the 8-byte", n == 3);
    }
    write_raw(path, "{}", 1ull << 40, 0);
    expect_open_fails("header length 2^40", path, "absurd", 1);
    write_raw(path, "{}", 200, 40);
    expect_open_fails("header length > file", path, "only", 1);
    write_raw(path, "", UINT64_MAX, 0);
    expect_open_fails("empty header", path, "not valid JSON", 0);
    char missing[600];
    snprintf(missing, sizeof missing, "%s/does_not_exist.safetensors", tl_tmpdir());
    expect_open_fails("missing file", missing, "cannot open", 1);
}

static void test_corrupt_headers(void) {
    static const struct { const char *what, *json; size_t data; const char *keyword; } cases[] = {
        {"not JSON", "{\"a\": {\"dtype\": ", 0, "not valid JSON"},
        {"plain text", "hello world", 0, "not valid JSON"},
        {"garbage after JSON", "{}  x", 0, "garbage"},
        {"header is an array", "[1, 2]", 0, "not an object"},
        {"entry not an object", "{\"a\": 5}", 0, "'a'"},
        {"missing dtype", "{\"a\": {\"shape\": [2], \"data_offsets\": [0, 8]}}", 8, "'dtype'"},
        {"missing shape", "{\"a\": {\"dtype\": \"F32\", \"data_offsets\": [0, 8]}}", 8, "'shape'"},
        {"missing data_offsets", "{\"a\": {\"dtype\": \"F32\", \"shape\": [2]}}", 8, "'data_offsets'"},
        {"dtype not a string", "{\"a\": {\"dtype\": 5, \"shape\": [2], \"data_offsets\": [0, 8]}}", 8, "'dtype'"},
        {"unknown dtype", "{\"a\": {\"dtype\": \"Q4_K\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 8, "unknown dtype 'Q4_K'"},
        {"shape not an array", "{\"a\": {\"dtype\": \"F32\", \"shape\": \"2\", \"data_offsets\": [0, 8]}}", 8, "'shape'"},
        {"negative dim", "{\"a\": {\"dtype\": \"F32\", \"shape\": [2, -1], \"data_offsets\": [0, 8]}}", 8, "shape[1]"},
        {"fractional dim", "{\"a\": {\"dtype\": \"F32\", \"shape\": [2.5], \"data_offsets\": [0, 8]}}", 8, "shape[0]"},
        {"string dim", "{\"a\": {\"dtype\": \"F32\", \"shape\": [\"2\"], \"data_offsets\": [0, 8]}}", 8, "shape[0]"},
        {"9 dims", "{\"a\": {\"dtype\": \"F32\", \"shape\": [1,1,1,1,1,1,1,1,2], \"data_offsets\": [0, 8]}}", 8, "9 dims"},
        {"one offset", "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0]}}", 8, "data_offsets"},
        {"string offsets", "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [\"0\", \"8\"]}}", 8, "data_offsets"},
        {"offsets object", "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": {\"b\": 0}}}", 8, "data_offsets"},
        {"begin > end", "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 0]}}", 8, "begin > end"},
        {"offset 1e20", "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 1e20]}}", 8, "data_offsets"},
        {"span != shape*4", "{\"a\": {\"dtype\": \"F32\", \"shape\": [2, 2], \"data_offsets\": [0, 12]}}", 12, "needs 16"},
        {"F16 span != shape*2", "{\"a\": {\"dtype\": \"F16\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8, "needs 6"},
        {"shape overflows", "{\"a\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296], \"data_offsets\": [0, 8]}}", 8, "overflow"},
        {"past end of file", "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 8, "truncated"},
        {"5 GB tensor, tiny file", "{\"big\": {\"dtype\": \"F32\", \"shape\": [1250000000], \"data_offsets\": [0, 5000000000]}}", 16, "truncated"},
        {"overlap", "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}, \"b\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [8, 24]}}", 24, "overlap"},
        {"same range twice", "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 16, "overlap"},
        {"hole", "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [16, 24]}}", 24, "hole"},
        {"trailing bytes", "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 12, "follow the last tensor"},
        {"duplicate name", "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, \"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8, "twice"},
        {"metadata not an object", "{\"__metadata__\": [1], \"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "__metadata__"},
        {"metadata value a number", "{\"__metadata__\": {\"k\": 1}}", 0, "'k' must be a string"},
        {"metadata twice", "{\"__metadata__\": {}, \"__metadata__\": {}}", 0, "twice"},
    };
    char path[512];
    tmp_path(path, sizeof path, "corrupt.safetensors");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_raw(path, cases[i].json, UINT64_MAX, cases[i].data);
        expect_open_fails(cases[i].what, path, cases[i].keyword, 1);
    }
    // A name longer than the table holds, and JSON nested past cJSON's limit.
    char *json = mem_alloc(32768, MEM_WORKSPACE);
    char longname[300];
    memset(longname, 'n', 299); longname[299] = 0;
    snprintf(json, 32768, "{\"%s\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", longname);
    write_raw(path, json, UINT64_MAX, 4);
    expect_open_fails("300-byte name", path, "longer than", 1);
    size_t k = (size_t)snprintf(json, 32768, "{\"a\": ");
    for (int d = 0; d < 5000; d++) json[k++] = '[';
    for (int d = 0; d < 5000; d++) json[k++] = ']';
    json[k++] = '}'; json[k] = 0;
    write_raw(path, json, UINT64_MAX, 0);
    expect_open_fails("nesting 5000 deep", path, "not valid JSON", 0);
    mem_free(json);
    // Valid edge cases: empty object, metadata only.
    SafeTensors st;
    WbError err;
    write_raw(path, "{}      ", UINT64_MAX, 0);
    EXPECT(st_open(&st, path, &err) == 0 && st.n == 0, "an empty (padded) header is a valid file: %s", err.msg);
    st_close(&st);
    write_raw(path, "{\"__metadata__\": {\"k\": \"v\"}}", UINT64_MAX, 0);
    EXPECT(st_open(&st, path, &err) == 0 && st.n == 0 && st_metadata(&st, "k") && strcmp(st_metadata(&st, "k"), "v") == 0,
           "metadata-only file: %s", err.msg);
    st_close(&st);
}

static void test_truncation_at_every_byte(void) {
    char path[512], cut[512];
    tmp_path(path, sizeof path, "full.safetensors");
    tmp_path(cut, sizeof cut, "cut.safetensors");
    WbError err;
    rt_fill(4);
    EXPECT(rt_save(path, &err) == 0, "save: %s", err.msg);
    size_t n;
    unsigned char *bytes = read_bytes(path, &n);
    uint64_t data_start = 8;
    for (int i = 0; i < 8; i++) data_start += (uint64_t)bytes[i] << (8 * i);
    int opened = 0;
    for (size_t len = 0; len < n; len++) {
        write_bytes(cut, bytes, len);
        char what[64]; snprintf(what, sizeof what, "cut at %zu of %zu", len, n);
        const char *kw = len < 8 ? "fewer than" : len < data_start ? "only" : "truncated";
        SafeTensors st;
        err.msg[0] = 0;
        if (st_open(&st, cut, &err) == 0) { opened++; st_close(&st); continue; }
        EXPECT(strstr(err.msg, cut) && strstr(err.msg, kw), "%s: %s", what, err.msg);
    }
    EXPECT(opened == 0, "%d truncated files opened", opened);
    printf("  %zu cut lengths (file %zu bytes, data from %llu) all refused\n", n, n, (unsigned long long)data_start);
    bytes[n] = 0;
    write_bytes(cut, bytes, n + 1);
    expect_open_fails("one extra byte", cut, "follow the last tensor", 1);
    mem_free(bytes);
}

// Random byte corruption of the length field and header: any outcome but a crash.
static void test_random_header_corruption(void) {
    char path[512], bad[512];
    tmp_path(path, sizeof path, "fuzz_src.safetensors");
    tmp_path(bad, sizeof bad, "fuzz.safetensors");
    WbError err;
    rt_fill(5);
    EXPECT(rt_save(path, &err) == 0, "save: %s", err.msg);
    size_t n;
    unsigned char *orig = read_bytes(path, &n), *b = mem_alloc(n, MEM_WORKSPACE);
    size_t hdr = 8;
    for (int i = 0; i < 8; i++) hdr += (size_t)orig[i] << (8 * i);
    Rng r; rng_seed(&r, 99);
    int trials = getenv("WB_QUICK") ? 400 : 3000, opened = 0, read_ok = 0;
    size_t ws0 = mem_stats().current[MEM_WORKSPACE];
    for (int t = 0; t < trials; t++) {
        memcpy(b, orig, n);
        int muts = 1 + (int)rng_below(&r, 3);
        for (int k = 0; k < muts; k++) {
            size_t at = rng_below(&r, (uint32_t)hdr);
            static const char interesting[] = "{}[]\",:0123456789-.eE \\";
            b[at] = rng_below(&r, 2) ? (unsigned char)rng_below(&r, 256) : (unsigned char)interesting[rng_below(&r, sizeof interesting - 1)];
        }
        write_bytes(bad, b, n);
        SafeTensors st;
        err.msg[0] = 0;
        if (st_open(&st, bad, &err) != 0) {
            EXPECT(strstr(err.msg, bad) != NULL, "trial %d: message names the file: %s", t, err.msg);
            continue;
        }
        opened++;
        for (int i = 0; i < st.n; i++) {
            const StTensor *tt = &st.t[i];
            int shape[ST_MAX_DIMS], fits = 1;
            for (int d = 0; d < tt->ndim; d++) { if (tt->shape[d] > INT_MAX) fits = 0; else shape[d] = (int)tt->shape[d]; }
            if (!fits) continue;
            float *dst = mem_alloc((size_t)(tt->end - tt->begin) + 4, MEM_WORKSPACE);   // exact tiling bounds it by the file size
            if (st_read(&st, tt->name, dst, tt->ndim, shape, &err) == 0) read_ok++;
            mem_free(dst);
        }
        st_close(&st);
    }
    EXPECT(mem_stats().current[MEM_WORKSPACE] == ws0, "no workspace leaked over the trials");
    printf("  %d corrupted headers: %d still valid files (%d tensor reads), the rest refused, no crash\n", trials, opened, read_ok);
    mem_free(orig); mem_free(b);
}

// The file shrinks between st_open and st_read (the tensor is larger than any
// stdio buffer, so the read really goes to the file).
static void test_file_truncated_after_open(void) {
    char path[512];
    tmp_path(path, sizeof path, "shrinks.safetensors");
    WbError err;
    int n = 1 << 16;
    float *big = mem_alloc_floats(n, MEM_WORKSPACE), *buf = mem_alloc_floats(n, MEM_WORKSPACE);
    for (int i = 0; i < n; i++) big[i] = (float)i;
    StWriter w;
    st_writer_init(&w);
    st_writer_add(&w, "big", 1, &n, big);
    EXPECT(st_writer_save(&w, path, &err) == 0, "save: %s", err.msg);
    st_writer_free(&w);
    SafeTensors st;
    if (st_open(&st, path, &err)) { EXPECT(0, "%s", err.msg); mem_free(big); mem_free(buf); return; }
    EXPECT(truncate(path, (off_t)st.data_start + 40000) == 0, "truncate");
    EXPECT(st_read(&st, "big", buf, 1, &n, &err) == -1 && strstr(err.msg, "truncated") && strstr(err.msg, "big") && strstr(err.msg, path),
           "read after truncation: %s", err.msg);
    printf("  -> %s\n", err.msg);
    st_close(&st);
    mem_free(big); mem_free(buf);
}

static void test_atomic_save(void) {
    char path[512], tmp[600], nodir[600];
    tmp_path(path, sizeof path, "atomic.safetensors");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    WbError err;
    rt_fill(7);
    EXPECT(rt_save(path, &err) == 0, "first save: %s", err.msg);
    // Block the temporary file with a directory: the save must fail and leave the old file intact.
    rmdir(tmp);
    EXPECT(mkdir(tmp, 0755) == 0, "mkdir %s", tmp);
    rt_fill(8);
    EXPECT(rt_save(path, &err) == -1 && strstr(err.msg, path), "blocked save fails naming the file: %s", err.msg);
    printf("  blocked  -> %s\n", err.msg);
    rmdir(tmp);
    SafeTensors st;
    if (st_open(&st, path, &err)) { EXPECT(0, "old file damaged: %s", err.msg); return; }
    float s;
    EXPECT(st_read(&st, "scalar", &s, 0, NULL, &err) == 0 && s == 7.5f, "old content intact (scalar %g)", (double)s);
    st_close(&st);
    snprintf(nodir, sizeof nodir, "%s/no/such/dir/x.safetensors", tl_tmpdir());
    EXPECT(rt_save(nodir, &err) == -1 && strstr(err.msg, nodir), "save into a missing directory: %s", err.msg);
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    RUN(test_round_trip_bit_exact);
    RUN(test_reads_python_written_file);
    RUN(test_missing_and_shape_mismatch_messages);
    RUN(test_half_conversion_exact);
    RUN(test_bf16_and_f16_files_load);
    RUN(test_sharded_checkpoint);
    RUN(test_short_and_absurd_lengths);
    RUN(test_corrupt_headers);
    RUN(test_truncation_at_every_byte);
    RUN(test_random_header_corruption);
    RUN(test_file_truncated_after_open);
    RUN(test_atomic_save);
    return tl_finish();
}
