// test_image.c: image decoding (JPEG/PNG round trips, every PNG colour type,
// corrupt files as errors) and the preprocessing sampler against
// torchvision's tensor transforms (tests/ref_data.py writes the reference:
// the case list there and here must agree).
#include "core/runtime/counters.h"
#include "core/data/image.h"
#include "core/runtime/memory.h"
#include "core/runtime/rng.h"
#include "tests/testlib.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

#define REF_DIR "tests/data/ref"

// ---------------------------------------------------------------------------
// a small safetensors reader for the reference file

static void *json_alloc(size_t n) { return mem_alloc(n, MEM_WORKSPACE); }
static void json_free(void *p) { mem_free(p); }

typedef struct { ByteBuf file; cJSON *hdr; size_t data_off; } Ref;

static int ref_open(Ref *r) {
    static cJSON_Hooks hooks = {json_alloc, json_free};
    cJSON_InitHooks(&hooks);
    memset(r, 0, sizeof *r);
    WbError err;
    if (file_read_all(&r->file, REF_DIR "/data_ref.safetensors", &err) < 0) {
        EXPECT(0, "reference file missing (%s): run bash tests/make_reference.sh", err.msg);
        return -1;
    }
    uint64_t n;
    memcpy(&n, r->file.p, 8);
    char *h = mem_alloc(n + 1, MEM_WORKSPACE);
    memcpy(h, r->file.p + 8, n);
    r->hdr = cJSON_Parse(h);
    mem_free(h);
    r->data_off = 8 + n;
    EXPECT(r->hdr != NULL, "reference header parses");
    return r->hdr ? 0 : -1;
}

// The tensor `name` (F32); shape into dims (up to 4), returns element count via *numel.
static const float *ref_get(Ref *r, const char *name, int *dims, int *ndim, size_t *numel) {
    cJSON *t = cJSON_GetObjectItemCaseSensitive(r->hdr, name);
    if (!t) { EXPECT(0, "reference tensor '%s' missing (stale reference? rerun tests/make_reference.sh)", name); return NULL; }
    cJSON *shape = cJSON_GetObjectItemCaseSensitive(t, "shape"), *off = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
    int nd = cJSON_GetArraySize(shape);
    size_t n = 1;
    for (int d = 0; d < nd; d++) { int v = cJSON_GetArrayItem(shape, d)->valueint; if (dims && d < 4) dims[d] = v; n *= (size_t)v; }
    if (ndim) *ndim = nd;
    if (numel) *numel = n;
    size_t b = (size_t)cJSON_GetArrayItem(off, 0)->valuedouble;
    return (const float *)(r->file.p + r->data_off + b);
}

static void ref_close(Ref *r) { cJSON_Delete(r->hdr); bytebuf_free(&r->file); }

static void to_float(float *dst, const uint8_t *src, size_t n) { for (size_t i = 0; i < n; i++) dst[i] = (float)src[i]; }

// ---------------------------------------------------------------------------
// decoding

static void make_pattern(uint8_t *px, int H, int W, int C, int seed) {
    Rng r; rng_seed(&r, (uint64_t)seed);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < C; c++)
                px[((size_t)y * W + x) * C + c] = (uint8_t)((x * 7 + y * 3 + c * 50 + (int)rng_below(&r, 9)) & 255);
}

static void test_png_roundtrip(void) {
    for (int C = 1; C <= 3; C += 2) {
        int H = 19, W = 31;
        uint8_t *px = mem_alloc((size_t)H * W * C, MEM_WORKSPACE);
        make_pattern(px, H, W, C, C);
        char path[512]; snprintf(path, sizeof path, "%s/rt%d.png", tl_tmpdir(), C);
        WbError err;
        EXPECT(image_write_png(path, px, H, W, C, &err) == 0, "write: %s", err.msg);
        Image img = {0}; ByteBuf buf = {0};
        int rc = image_load(&img, &buf, path, &err);
        EXPECT(rc == 0, "decode: %s", err.msg);
        if (rc == 0) {
            EXPECT(img.H == H && img.W == W && img.C == C, "shape %dx%dx%d", img.H, img.W, img.C);
            EXPECT(memcmp(img.px, px, (size_t)H * W * C) == 0, "PNG round trip exact (C=%d)", C);
        }
        image_free(&img); bytebuf_free(&buf); mem_free(px);
    }
}

// Write a PNG of any colour type / depth / interlace with libpng directly.
static void write_png_raw(const char *path, const uint8_t *rows, int H, int W, int depth, int ctype, int interlace,
                          const png_color *pal, int npal) {
    FILE *f = fopen(path, "wb");
    CHECK(f, "create %s", path);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) die("libpng write failed for %s", path);
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)W, (png_uint_32)H, depth, ctype, interlace, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (pal) png_set_PLTE(png, info, pal, npal);
    png_write_info(png, info);
    size_t rb = png_get_rowbytes(png, info);
    int passes = png_set_interlace_handling(png);
    for (int p = 0; p < passes; p++)
        for (int y = 0; y < H; y++) png_write_row(png, rows + (size_t)y * rb);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

static void test_png_color_types(void) {
    int H = 9, W = 13;
    char path[512];
    WbError err;
    Image img = {0}; ByteBuf buf = {0};
    uint8_t rows[9 * 13 * 8];
    // RGBA 8-bit: alpha dropped
    for (int k = 0; k < H * W * 4; k++) rows[k] = (uint8_t)(k * 37 + 11);
    snprintf(path, sizeof path, "%s/rgba.png", tl_tmpdir());
    write_png_raw(path, rows, H, W, 8, PNG_COLOR_TYPE_RGBA, PNG_INTERLACE_NONE, NULL, 0);
    EXPECT(image_load(&img, &buf, path, &err) == 0, "rgba: %s", err.msg);
    int ok = img.C == 3;
    for (int p = 0; ok && p < H * W; p++) for (int c = 0; c < 3; c++) ok &= img.px[p * 3 + c] == rows[p * 4 + c];
    EXPECT(ok, "RGBA -> RGB keeps the colour bytes (C=%d)", img.C);
    // gray 16-bit: high byte kept
    for (int k = 0; k < H * W * 2; k++) rows[k] = (uint8_t)(k * 13 + 5);
    snprintf(path, sizeof path, "%s/gray16.png", tl_tmpdir());
    write_png_raw(path, rows, H, W, 16, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, NULL, 0);
    EXPECT(image_load(&img, &buf, path, &err) == 0, "gray16: %s", err.msg);
    ok = img.C == 1;
    for (int p = 0; ok && p < H * W; p++) ok &= img.px[p] == rows[2 * p];
    EXPECT(ok, "16-bit gray -> 8-bit high byte (C=%d)", img.C);
    // palette 4-bit
    png_color pal[16];
    for (int k = 0; k < 16; k++) pal[k] = (png_color){(png_byte)(k * 16), (png_byte)(255 - k * 8), (png_byte)(k * 5)};
    size_t rb = (size_t)(W + 1) / 2;
    for (int y = 0; y < H; y++) for (size_t b = 0; b < rb; b++) rows[y * rb + b] = (uint8_t)(((y + b) % 16) << 4 | ((y + b + 3) % 16));
    snprintf(path, sizeof path, "%s/pal4.png", tl_tmpdir());
    write_png_raw(path, rows, H, W, 4, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, pal, 16);
    EXPECT(image_load(&img, &buf, path, &err) == 0, "palette: %s", err.msg);
    ok = img.C == 3;
    for (int y = 0; ok && y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t byte = rows[y * rb + (size_t)x / 2];
            int k = x % 2 == 0 ? byte >> 4 : byte & 15;
            const uint8_t *p = img.px + ((size_t)y * W + x) * 3;
            ok &= p[0] == pal[k].red && p[1] == pal[k].green && p[2] == pal[k].blue;
        }
    EXPECT(ok, "4-bit palette expands to its colours");
    // interlaced RGB (Adam7)
    uint8_t *px = mem_alloc((size_t)H * W * 3, MEM_WORKSPACE);
    make_pattern(px, H, W, 3, 77);
    snprintf(path, sizeof path, "%s/adam7.png", tl_tmpdir());
    write_png_raw(path, px, H, W, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_ADAM7, NULL, 0);
    EXPECT(image_load(&img, &buf, path, &err) == 0, "interlaced: %s", err.msg);
    EXPECT(img.C == 3 && memcmp(img.px, px, (size_t)H * W * 3) == 0, "interlaced PNG decodes exactly");
    mem_free(px);
    image_free(&img); bytebuf_free(&buf);
}

static void test_jpeg_roundtrip(void) {
    for (int C = 1; C <= 3; C += 2) {
        int H = 48, W = 40;
        uint8_t *px = mem_alloc((size_t)H * W * C, MEM_WORKSPACE);
        for (int y = 0; y < H; y++)   // smooth, so JPEG at q95 is close
            for (int x = 0; x < W; x++)
                for (int c = 0; c < C; c++) px[((size_t)y * W + x) * C + c] = (uint8_t)(30 + x + 2 * y + 20 * c);
        char path[512]; snprintf(path, sizeof path, "%s/rt%d.jpg", tl_tmpdir(), C);
        WbError err;
        EXPECT(image_write_jpeg(path, px, H, W, C, 95, &err) == 0, "write: %s", err.msg);
        Image img = {0}; ByteBuf buf = {0};
        int rc = image_load(&img, &buf, path, &err);
        EXPECT(rc == 0, "decode: %s", err.msg);
        if (rc == 0 && img.C == C && img.H == H && img.W == W) {
            int maxd = 0;
            for (size_t k = 0; k < (size_t)H * W * C; k++) maxd = wb_max(maxd, abs((int)img.px[k] - (int)px[k]));
            printf("  JPEG q95 round trip C=%d: max |diff| %d\n", C, maxd);
            EXPECT(maxd <= 8, "JPEG q95 round trip max diff %d", maxd);
        } else EXPECT(0, "JPEG shape %dx%dx%d (expected %dx%dx%d)", img.H, img.W, img.C, H, W, C);
        image_free(&img); bytebuf_free(&buf); mem_free(px);
    }
}

static void test_decode_matches_reference(void) {
    Ref r;
    if (ref_open(&r) < 0) return;
    struct { const char *file, *tensor; int C; int exact; } cases[] = {
        {REF_DIR "/data_rgb.png", "rgb_u8", 3, 1}, {REF_DIR "/data_gray.png", "gray_u8", 1, 1},
        {REF_DIR "/data_rgb.jpg", "jpeg_rgb_pil", 3, 0}, {REF_DIR "/data_gray.jpg", "jpeg_gray_pil", 1, 0}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int dims[4], nd; size_t n;
        const float *want = ref_get(&r, cases[k].tensor, dims, &nd, &n);
        if (!want) continue;
        Image img = {0}; ByteBuf buf = {0}; WbError err;
        int rc = image_load(&img, &buf, cases[k].file, &err);
        EXPECT(rc == 0, "%s", err.msg);
        if (rc == 0 && (size_t)img.H * img.W * img.C == n && img.C == cases[k].C) {
            float *got = mem_alloc_floats(n, MEM_WORKSPACE);
            to_float(got, img.px, n);
            // PIL decodes JPEG with the same libjpeg-turbo (islow DCT, fancy upsampling): expect equality.
            double d = EXPECT_CLOSE(cases[k].file, got, want, n, 0.0, 0.0);
            printf("  %s vs %s: max |diff| %g\n", cases[k].file, cases[k].exact ? "its pixels" : "PIL", d);
            mem_free(got);
        } else EXPECT(0, "%s: shape %dx%dx%d, %zu reference values", cases[k].file, img.H, img.W, img.C, n);
        image_free(&img); bytebuf_free(&buf);
    }
    ref_close(&r);
}

static void write_bytes(const char *path, const uint8_t *p, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f, "create %s", path);
    if (n) CHECK(fwrite(p, 1, n, f) == n, "write %s", path);
    fclose(f);
}

static void expect_decode_error(const char *path, const char *want1, const char *want2) {
    Image img = {0}; ByteBuf buf = {0}; WbError err = {{0}};
    int rc = image_load(&img, &buf, path, &err);
    EXPECT(rc == -1, "%s must fail to decode", path);
    EXPECT(strstr(err.msg, path) != NULL, "message names the file: %s", err.msg);
    EXPECT(strstr(err.msg, want1) != NULL && (!want2 || strstr(err.msg, want2) != NULL), "message says '%s'%s%s: %s", want1,
           want2 ? " and " : "", want2 ? want2 : "", err.msg);
    printf("  %s\n", err.msg);
    image_free(&img); bytebuf_free(&buf);
}

static void test_corrupt_images(void) {
    int H = 64, W = 64;
    uint8_t *px = mem_alloc((size_t)H * W * 3, MEM_WORKSPACE);
    make_pattern(px, H, W, 3, 5);
    char jpg[512], png[512], path[600];
    snprintf(jpg, sizeof jpg, "%s/good.jpg", tl_tmpdir());
    snprintf(png, sizeof png, "%s/good.png", tl_tmpdir());
    WbError err;
    EXPECT(image_write_jpeg(jpg, px, H, W, 3, 90, &err) == 0, "%s", err.msg);
    EXPECT(image_write_png(png, px, H, W, 3, &err) == 0, "%s", err.msg);
    ByteBuf jb = {0}, pb = {0};
    CHECK(file_read_all(&jb, jpg, &err) == 0, "%s", err.msg);
    CHECK(file_read_all(&pb, png, &err) == 0, "%s", err.msg);
    // truncated JPEG: libjpeg only warns ("Premature end"); we make it an error
    snprintf(path, sizeof path, "%s/trunc.jpg", tl_tmpdir());
    write_bytes(path, jb.p, jb.n / 2);
    expect_decode_error(path, "corrupt JPEG", "Premature end");
    // JPEG with a stray marker in the entropy-coded data (random bit flips
    // there can decode silently in any decoder; a marker cannot)
    uint8_t *bad = mem_alloc(jb.n, MEM_WORKSPACE);
    memcpy(bad, jb.p, jb.n);
    bad[jb.n - 200] = 0xff; bad[jb.n - 199] = 0xd3;
    snprintf(path, sizeof path, "%s/garbled.jpg", tl_tmpdir());
    write_bytes(path, bad, jb.n);
    expect_decode_error(path, "corrupt JPEG", "Corrupt JPEG data");
    // JPEG whose frame header says height 0: a fatal libjpeg error (error_exit path)
    memcpy(bad, jb.p, jb.n);
    size_t sof = 0;
    for (size_t k = 2; k + 9 < jb.n; k++) if (bad[k] == 0xff && bad[k + 1] == 0xc0) { sof = k; break; }
    EXPECT(sof > 0, "SOF0 marker found");
    bad[sof + 5] = 0; bad[sof + 6] = 0;
    snprintf(path, sizeof path, "%s/zero_height.jpg", tl_tmpdir());
    write_bytes(path, bad, jb.n);
    expect_decode_error(path, "corrupt JPEG", NULL);
    // JPEG header only
    snprintf(path, sizeof path, "%s/header.jpg", tl_tmpdir());
    write_bytes(path, jb.p, 40);
    expect_decode_error(path, "corrupt JPEG", NULL);
    // truncated PNG
    snprintf(path, sizeof path, "%s/trunc.png", tl_tmpdir());
    write_bytes(path, pb.p, pb.n * 2 / 3);
    expect_decode_error(path, "corrupt PNG", NULL);
    // PNG with a flipped byte in IDAT (CRC mismatch)
    uint8_t *pbad = mem_alloc(pb.n, MEM_WORKSPACE);
    memcpy(pbad, pb.p, pb.n);
    pbad[pb.n / 2] ^= 0x55;
    snprintf(path, sizeof path, "%s/crc.png", tl_tmpdir());
    write_bytes(path, pbad, pb.n);
    expect_decode_error(path, "corrupt PNG", NULL);
    // not an image, empty, missing
    snprintf(path, sizeof path, "%s/text.jpg", tl_tmpdir());
    write_bytes(path, (const uint8_t *)"hello, not an image\n", 20);
    expect_decode_error(path, "not a JPEG or PNG", "expected");
    snprintf(path, sizeof path, "%s/empty.png", tl_tmpdir());
    write_bytes(path, NULL, 0);
    expect_decode_error(path, "empty file", NULL);
    snprintf(path, sizeof path, "%s/does_not_exist.jpg", tl_tmpdir());
    expect_decode_error(path, "cannot open", NULL);
    mem_free(bad); mem_free(pbad); mem_free(px);
    bytebuf_free(&jb); bytebuf_free(&pb);
}

// ---------------------------------------------------------------------------
// preprocessing against torchvision

static void test_interpolate_vs_torch(void) {
    Ref r;
    if (ref_open(&r) < 0) return;
    int dims[4], nd; size_t n;
    const float *inp = ref_get(&r, "interp_in", dims, &nd, &n);
    int sizes[][2] = {{32, 32}, {224, 224}, {17, 11}, {53, 37}, {37, 53}, {100, 7}};
    for (size_t k = 0; inp && k < sizeof sizes / sizeof sizes[0]; k++) {
        char name[64]; snprintf(name, sizeof name, "interp_%dx%d", sizes[k][0], sizes[k][1]);
        size_t m;
        const float *want = ref_get(&r, name, NULL, NULL, &m);
        if (!want) continue;
        float *got = mem_alloc_floats(m, MEM_WORKSPACE);
        resize_bilinear_forward(got, inp, dims[0], dims[1], dims[2], sizes[k][0], sizes[k][1]);
        double d = EXPECT_CLOSE(name, got, want, m, 1e-6, 1e-6);   // measured: 1 float ulp
        printf("  %s: max |diff| %.3g\n", name, d);
        mem_free(got);
    }
    ref_close(&r);
}

typedef struct { const char *name; int S, Cout; ImageGeom g; const float *mean, *std; int gray_src; } PipeCase;

static void test_pipelines_vs_torchvision(void) {
    static const float im_m[3] = {0.485f, 0.456f, 0.406f}, im_s[3] = {0.229f, 0.224f, 0.225f};
    static const float half[3] = {0.5f, 0.5f, 0.5f}, fm_m[3] = {0.2860f, 0.2860f, 0.2860f}, fm_s[3] = {0.3530f, 0.3530f, 0.3530f};
    Ref r;
    if (ref_open(&r) < 0) return;
    Image rgb = {0}, gray = {0}; ByteBuf buf = {0}; WbError err;
    EXPECT(image_load(&rgb, &buf, REF_DIR "/data_rgb.png", &err) == 0, "%s", err.msg);
    EXPECT(image_load(&gray, &buf, REF_DIR "/data_gray.png", &err) == 0, "%s", err.msg);
    if (!rgb.px || !gray.px) { ref_close(&r); return; }
    PipeCase cases[32];
    int nc = 0;
    ImageGeom g;
    image_geom_squash(&g, 37, 53, 32); cases[nc++] = (PipeCase){"squash32_imagenet", 32, 3, g, im_m, im_s, 0};
    image_geom_squash(&g, 37, 53, 224); cases[nc++] = (PipeCase){"squash224_half", 224, 3, g, half, half, 0};
    image_geom_squash(&g, 37, 53, 20); cases[nc++] = (PipeCase){"squash20_half", 20, 3, g, half, half, 0};
    int rs[][2] = {{32, 32}, {40, 32}, {256, 224}, {33, 24}};
    static char names[8][64];
    for (int k = 0; k < 4; k++) {
        snprintf(names[k], sizeof names[k], "short%d_crop%d_imagenet", rs[k][0], rs[k][1]);
        image_geom_short_crop(&g, 37, 53, rs[k][0], rs[k][1]);
        cases[nc++] = (PipeCase){names[k], rs[k][1], 3, g, im_m, im_s, 0};
    }
    int boxes[][5] = {{3, 5, 20, 30, 32}, {0, 0, 37, 53, 24}, {10, 7, 9, 13, 64}, {30, 40, 7, 13, 16}};
    for (int k = 0; k < 4; k++) {
        snprintf(names[4 + k], sizeof names[4 + k], "rrc%d_half", k);
        g = (ImageGeom){.i = boxes[k][0], .j = boxes[k][1], .h = boxes[k][2], .w = boxes[k][3], .RH = boxes[k][4], .RW = boxes[k][4]};
        cases[nc++] = (PipeCase){names[4 + k], boxes[k][4], 3, g, half, half, 0};
    }
    image_geom_squash(&g, 37, 53, 32); g.flip = 1; cases[nc++] = (PipeCase){"squash32_flip_imagenet", 32, 3, g, im_m, im_s, 0};
    image_geom_squash(&g, 37, 53, 32); cases[nc++] = (PipeCase){"rgb2gray_squash32_half", 32, 1, g, half, half, 0};
    image_geom_squash(&g, 28, 28, 32); cases[nc++] = (PipeCase){"gray3_squash32_fm", 32, 3, g, fm_m, fm_s, 1};
    image_geom_squash(&g, 28, 28, 224); cases[nc++] = (PipeCase){"gray3_squash224_fm", 224, 3, g, fm_m, fm_s, 1};
    image_geom_squash(&g, 28, 28, 32); cases[nc++] = (PipeCase){"gray1_squash32_fm", 32, 1, g, fm_m, fm_s, 1};
    double worst = 0;
    for (int k = 0; k < nc; k++) {
        PipeCase *c = &cases[k];
        size_t n;
        const float *want = ref_get(&r, c->name, NULL, NULL, &n);
        if (!want) continue;
        EXPECT(n == (size_t)c->Cout * c->S * c->S, "%s: %zu reference values", c->name, n);
        if (n != (size_t)c->Cout * c->S * c->S) continue;
        float *got = mem_alloc_floats(n, MEM_WORKSPACE);
        void *tab = mem_alloc(IMAGE_TAB_BYTES(c->S), MEM_WORKSPACE);
        const Image *im = c->gray_src ? &gray : &rgb;
        Counters before = counters_get();
        image_sample(got, tab, im->px, im->H, im->W, im->C, &c->g, c->S, c->Cout, c->mean, c->std);
        Counters d = counters_diff(counters_get(), before);
        EXPECT(d.flops[phase_get()] == image_sample_flops(im->C, c->S, c->Cout) && d.flops[phase_get()] > 0, "%s: flops %g", c->name, d.flops[phase_get()]);
        // Stated tolerance: 2e-6 absolute + 2e-6 relative on normalised values
        // (a few float ulps: the weights match torch exactly, the sums may round differently).
        double md = EXPECT_CLOSE(c->name, got, want, n, 2e-6, 2e-6);
        if (md > worst) worst = md;
        mem_free(got); mem_free(tab);
    }
    printf("  %d pipelines vs torchvision: max |diff| %.3g (tolerance 2e-6 abs + 2e-6 rel)\n", nc, worst);
    image_free(&rgb); image_free(&gray); bytebuf_free(&buf);
    ref_close(&r);
}

static void test_center_offset(void) {
    // Python round(): half to even
    int cases[][3] = {{45, 32, 6}, {47, 32, 8}, {46, 32, 7}, {33, 32, 0}, {35, 32, 2}, {32, 32, 0}, {256, 224, 16}, {257, 224, 16}, {259, 224, 18}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        EXPECT(image_center_offset(cases[k][0], cases[k][1]) == cases[k][2], "centre offset of %d in %d = %d (expected %d)", cases[k][1],
               cases[k][0], image_center_offset(cases[k][0], cases[k][1]), cases[k][2]);
    ImageGeom g;
    image_geom_short_crop(&g, 37, 53, 32, 32);   // torchvision: 32 x int(32*53/37) = 45
    EXPECT(g.RH == 32 && g.RW == 45 && g.top == 0 && g.left == 6, "short side resize %dx%d window (%d,%d)", g.RH, g.RW, g.top, g.left);
    image_geom_short_crop(&g, 500, 375, 256, 224); // portrait: 341 x 256
    EXPECT(g.RH == 341 && g.RW == 256 && g.top == 58 && g.left == 16, "portrait %dx%d window (%d,%d)", g.RH, g.RW, g.top, g.left);
}

static void test_rrc_vs_torchvision_stats(void) {
    Ref r;
    if (ref_open(&r) < 0) return;
    const float *st = ref_get(&r, "rrc_stats", NULL, NULL, NULL);
    if (!st) { ref_close(&r); return; }
    int shapes[3][2] = {{37, 53}, {300, 40}, {224, 224}};
    const float scale[2] = {0.08f, 1.0f}, ratio[2] = {3.0f / 4.0f, 4.0f / 3.0f};
    int n = getenv("WB_QUICK") ? 5000 : 20000;
    for (int s = 0; s < 3; s++) {
        int H = shapes[s][0], W = shapes[s][1];
        Rng rng; rng_seed(&rng, 11 + (uint64_t)s);
        double sum[4] = {0}, sq[4] = {0};
        int inside = 1;
        for (int t = 0; t < n; t++) {
            ImageGeom g;
            image_geom_random_resized_crop(&g, H, W, 32, scale, ratio, &rng);
            double v[4] = {g.i, g.j, g.h, g.w};
            inside &= g.i >= 0 && g.j >= 0 && g.h >= 1 && g.w >= 1 && g.i + g.h <= H && g.j + g.w <= W && g.RH == 32 && g.RW == 32;
            for (int k = 0; k < 4; k++) { sum[k] += v[k]; sq[k] += v[k] * v[k]; }
        }
        EXPECT(inside, "every box inside %dx%d", H, W);
        const char *nm[4] = {"i", "j", "h", "w"};
        for (int k = 0; k < 4; k++) {
            double mean = sum[k] / n, sd = sqrt(sq[k] / n - mean * mean);
            double tm = (double)st[s * 8 + k], ts = (double)st[s * 8 + 4 + k];
            // two independent samples (ours n draws, torch 20000): 5 standard errors
            double tol = 5.0 * ts * sqrt(1.0 / n + 1.0 / 20000) + 0.05;
            printf("  rrc %dx%d %s: mean %.3f (torchvision %.3f), std %.3f (%.3f)\n", H, W, nm[k], mean, tm, sd, ts);
            EXPECT(fabs(mean - tm) <= tol, "rrc %dx%d mean %s %.3f vs torchvision %.3f (tol %.3f)", H, W, nm[k], mean, tm, tol);
            EXPECT(fabs(sd - ts) <= 0.05 * ts + 0.1, "rrc %dx%d std %s %.3f vs torchvision %.3f", H, W, nm[k], sd, ts);
        }
    }
    ref_close(&r);
}

static void test_rrc_fallback_and_determinism(void) {
    const float scale[2] = {0.08f, 1.0f}, ratio[2] = {3.0f / 4.0f, 4.0f / 3.0f};
    // scale (1,1) on a 1000x10 strip never fits in ten draws: the fallback crops 10 x round(10/... ) to ratio 3/4
    const float full[2] = {1.0f, 1.0f};
    Rng a, b; rng_seed(&a, 5); rng_seed(&b, 5);
    ImageGeom g, g2;
    image_geom_random_resized_crop(&g, 1000, 10, 32, full, ratio, &a);
    EXPECT(g.w == 10 && g.h == 13 && g.i == (1000 - 13) / 2 && g.j == 0, "fallback box (%d,%d,%d,%d)", g.i, g.j, g.h, g.w);
    image_geom_random_resized_crop(&g, 10, 1000, 32, full, ratio, &a);
    EXPECT(g.h == 10 && g.w == 13 && g.j == (1000 - 13) / 2, "wide fallback box (%d,%d,%d,%d)", g.i, g.j, g.h, g.w);
    rng_seed(&a, 99); rng_seed(&b, 99);
    int same = 1;
    for (int t = 0; t < 100; t++) {
        image_geom_random_resized_crop(&g, 120, 90, 64, scale, ratio, &a);
        image_geom_random_resized_crop(&g2, 120, 90, 64, scale, ratio, &b);
        same &= !memcmp(&g, &g2, sizeof g);
    }
    EXPECT(same, "same seed, same boxes");
}

static void test_flip_mirrors(void) {
    int H = 23, W = 29, S = 17;
    uint8_t *px = mem_alloc((size_t)H * W * 3, MEM_WORKSPACE);
    make_pattern(px, H, W, 3, 8);
    float *a = mem_alloc_floats(3 * S * S, MEM_WORKSPACE), *b = mem_alloc_floats(3 * S * S, MEM_WORKSPACE);
    void *tab = mem_alloc(IMAGE_TAB_BYTES(S), MEM_WORKSPACE);
    const float m[3] = {0.1f, 0.2f, 0.3f}, s[3] = {0.5f, 0.6f, 0.7f};
    ImageGeom g = {.i = 2, .j = 3, .h = 15, .w = 20, .RH = S, .RW = S};
    image_sample(a, tab, px, H, W, 3, &g, S, 3, m, s);
    g.flip = 1;
    image_sample(b, tab, px, H, W, 3, &g, S, 3, m, s);
    int ok = 1;
    for (int c = 0; c < 3; c++) for (int y = 0; y < S; y++) for (int x = 0; x < S; x++)
        ok &= a[(c * S + y) * S + x] == b[(c * S + y) * S + (S - 1 - x)];
    EXPECT(ok, "flip is an exact mirror");
    EXPECT_NONZERO("sampled values", a, (size_t)3 * S * S);
    mem_free(px); mem_free(a); mem_free(b); mem_free(tab);
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    MemStats m0 = mem_stats();
    RUN(test_png_roundtrip);
    RUN(test_png_color_types);
    RUN(test_jpeg_roundtrip);
    RUN(test_decode_matches_reference);
    RUN(test_corrupt_images);
    RUN(test_interpolate_vs_torch);
    RUN(test_pipelines_vs_torchvision);
    RUN(test_center_offset);
    RUN(test_rrc_vs_torchvision_stats);
    RUN(test_rrc_fallback_and_determinism);
    RUN(test_flip_mirrors);
    MemStats m1 = mem_stats();
    if (m1.current[MEM_DATA] != m0.current[MEM_DATA] || m1.current[MEM_WORKSPACE] != m0.current[MEM_WORKSPACE])
        printf("FAIL leak: data %zu -> %zu bytes, workspace %zu -> %zu\n", m0.current[MEM_DATA], m1.current[MEM_DATA],
               m0.current[MEM_WORKSPACE], m1.current[MEM_WORKSPACE]);
    return tl_finish() || m1.current[MEM_DATA] != m0.current[MEM_DATA];
}
