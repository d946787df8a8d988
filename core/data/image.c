// image.c: JPEG/PNG decoding and writing, and the fused resize / crop /
// flip / normalise sampler of image.h. Decoder errors longjmp back to the
// decode call, which frees the library state and returns -1 with a message.
// Buffers grow through the tracked allocator (category data); growth can
// happen inside the data loader's parallel region, so it is serialised by
// the named critical section wb_mem.
#include "core/data/image.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

// ---------------------------------------------------------------------------
// buffers

static void *grow(void *p, size_t *cap, size_t need) {
    if (need <= *cap && p) return p;
    size_t c = *cap ? *cap : 4096;
    while (c < need) c *= 2;
    void *q;
    #pragma omp critical(wb_mem)
    {
        mem_free(p);   // contents need not survive: callers refill
        q = mem_alloc(c, MEM_DATA);
    }
    *cap = c;
    return q;
}

void bytebuf_free(ByteBuf *buf) {
    #pragma omp critical(wb_mem)
    mem_free(buf->p);
    buf->p = NULL; buf->n = buf->cap = 0;
}

void image_free(Image *img) {
    if (img->cap) {
        #pragma omp critical(wb_mem)
        mem_free(img->px);
    }
    img->px = NULL; img->cap = 0; img->H = img->W = img->C = 0;
}

static int image_reserve(Image *img, int H, int W, int C, size_t bytes, const char *name, WbError *err) {
    if (H <= 0 || W <= 0 || (long)H * (long)W > IMAGE_MAX_PIXELS)
        return wb_error(err, "'%s': image size %d x %d is out of range (expected 1..%ld pixels)", name, W, H, IMAGE_MAX_PIXELS);
    if (!img->cap) img->px = NULL;   // a view, not ours: never free it
    img->px = grow(img->px, &img->cap, bytes);
    img->H = H; img->W = W; img->C = C;
    return 0;
}

int file_read_all(ByteBuf *buf, const char *path, WbError *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return wb_error(err, "'%s': cannot open: %s (expected a readable image file)", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return wb_error(err, "'%s': cannot seek: %s", path, strerror(errno)); }
    long len = ftell(f);
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0) { fclose(f); return wb_error(err, "'%s': cannot tell size: %s", path, strerror(errno)); }
    buf->p = grow(buf->p, &buf->cap, (size_t)len + 1);
    size_t got = fread(buf->p, 1, (size_t)len, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || got != (size_t)len)
        return wb_error(err, "'%s': read %zu of %ld bytes (I/O error)", path, got, len);
    buf->n = (size_t)len;
    return 0;
}

// ---------------------------------------------------------------------------
// JPEG

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
} JpegErr;

static void jpeg_on_error(j_common_ptr c) {
    JpegErr *e = (JpegErr *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jb, 1);
}

// Warnings that mean the pixel data is damaged are errors: libjpeg would
// otherwise hand back a gray-filled or garbled image without complaint.
// Benign ones (extraneous bytes before a marker, odd JFIF versions) pass.
static void jpeg_on_message(j_common_ptr c, int level) {
    if (level >= 0) return;   // trace messages
    int code = c->err->msg_code;
    if (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER || code == JWRN_HUFF_BAD_CODE ||
        code == JWRN_ARITH_BAD_CODE || code == JWRN_MUST_RESYNC) {
        JpegErr *e = (JpegErr *)c->err;
        c->err->format_message(c, e->msg);
        longjmp(e->jb, 1);
    }
    c->err->num_warnings++;
}

// Decodes into img; all state the error path needs lives in *cinfo / *jerr.
static int jpeg_decode(Image *img, const uint8_t *data, size_t n, const char *name, WbError *err) {
    struct jpeg_decompress_struct cinfo;
    JpegErr jerr;
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = jpeg_on_error;
    jerr.pub.emit_message = jpeg_on_message;
    jerr.msg[0] = 0;
    if (setjmp(jerr.jb)) {
        jpeg_destroy_decompress(&cinfo);
        return wb_error(err, "'%s': corrupt JPEG: %s (expected a complete JPEG image)", name, jerr.msg);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)n);
    jpeg_read_header(&cinfo, TRUE);
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    int gray = cinfo.jpeg_color_space == JCS_GRAYSCALE;
    cinfo.out_color_space = gray ? JCS_GRAYSCALE : cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    int W = (int)cinfo.output_width, H = (int)cinfo.output_height, C = gray ? 1 : 3;
    int oc = cinfo.output_components;
    if (oc != (gray ? 1 : cmyk ? 4 : 3)) {
        jpeg_destroy_decompress(&cinfo);
        return wb_error(err, "'%s': JPEG decodes to %d components (expected 1, 3 or CMYK 4)", name, oc);
    }
    if (image_reserve(img, H, W, C, (size_t)H * W * oc, name, err) < 0) { jpeg_destroy_decompress(&cinfo); return -1; }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = img->px + (size_t)cinfo.output_scanline * W * oc;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    if (cmyk) {
        // Adobe writes inverted CMYK, which libjpeg passes through: R = C K / 255.
        // In place: pixel k moves from byte 4k to 3k, never ahead of unread data.
        uint8_t *p = img->px;
        for (size_t k = 0; k < (size_t)H * W; k++) {
            unsigned c = p[4 * k], m = p[4 * k + 1], y = p[4 * k + 2], kk = p[4 * k + 3];
            p[3 * k] = (uint8_t)((c * kk + 127) / 255);
            p[3 * k + 1] = (uint8_t)((m * kk + 127) / 255);
            p[3 * k + 2] = (uint8_t)((y * kk + 127) / 255);
        }
    }
    return 0;
}

// ---------------------------------------------------------------------------
// PNG

typedef struct {
    const uint8_t *p;
    size_t n, pos;
    char msg[256];
} PngCtx;

static void png_on_error(png_structp png, png_const_charp msg) {
    PngCtx *c = (PngCtx *)png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    png_longjmp(png, 1);
}
static void png_on_warning(png_structp png, png_const_charp msg) { (void)png; (void)msg; } // e.g. "iCCP: known incorrect sRGB profile"

static void png_read_mem(png_structp png, png_bytep out, png_size_t len) {
    PngCtx *c = (PngCtx *)png_get_io_ptr(png);
    if (len > c->n - c->pos) png_error(png, "file ends early (truncated)");
    memcpy(out, c->p + c->pos, len);
    c->pos += len;
}

static int png_decode(Image *img, const uint8_t *data, size_t n, const char *name, WbError *err) {
    PngCtx ctx = {data, n, 0, {0}};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, png_on_error, png_on_warning);
    if (!png) return wb_error(err, "'%s': libpng could not start (out of memory?)", name);
    png_infop info = png_create_info_struct(png);
    if (!info) { png_destroy_read_struct(&png, NULL, NULL); return wb_error(err, "'%s': libpng could not start", name); }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        return wb_error(err, "'%s': corrupt PNG: %s (expected a complete PNG image)", name, ctx.msg);
    }
    png_set_read_fn(png, &ctx, png_read_mem);
    png_read_info(png, info);
    png_uint_32 w, h;
    int depth, ctype, ilace;
    png_get_IHDR(png, info, &w, &h, &depth, &ctype, &ilace, NULL, NULL);
    if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16) png_set_strip_16(png);
    if (ctype & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int C = png_get_channels(png, info);
    if ((C != 1 && C != 3) || png_get_rowbytes(png, info) != (size_t)w * C)
        png_error(png, "unexpected pixel layout after conversion (expected 8-bit gray or RGB)");
    if (w > (png_uint_32)IMAGE_MAX_PIXELS || h > (png_uint_32)IMAGE_MAX_PIXELS || (long)w * (long)h > IMAGE_MAX_PIXELS)
        png_error(png, "image too large");
    if (image_reserve(img, (int)h, (int)w, C, (size_t)h * w * C, name, err) < 0) {
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    // Row by row (no row-pointer array); interlaced images take several passes
    // that each refine the same rows.
    for (int p = 0; p < passes; p++)
        for (png_uint_32 y = 0; y < h; y++) png_read_row(png, img->px + (size_t)y * w * C, NULL);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
}

int image_decode(Image *img, const uint8_t *data, size_t n, const char *name, WbError *err) {
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff) return jpeg_decode(img, data, n, name, err);
    if (n >= 8 && !memcmp(data, png_sig, 8)) return png_decode(img, data, n, name, err);
    if (n == 0) return wb_error(err, "'%s': empty file (expected a JPEG or PNG image)", name);
    return wb_error(err, "'%s': not a JPEG or PNG image (starts with bytes %02x %02x %02x %02x; expected ff d8 ff or 89 50 4e 47)",
                    name, data[0], n > 1 ? data[1] : 0, n > 2 ? data[2] : 0, n > 3 ? data[3] : 0);
}

int image_load(Image *img, ByteBuf *buf, const char *path, WbError *err) {
    if (file_read_all(buf, path, err) < 0) return -1;
    return image_decode(img, buf->p, buf->n, path, err);
}

// ---------------------------------------------------------------------------
// writers

int image_write_png(const char *path, const uint8_t *px, int H, int W, int C, WbError *err) {
    CHECK(C == 1 || C == 3, "C = %d", C);
    FILE *f = fopen(path, "wb");
    if (!f) return wb_error(err, "'%s': cannot create: %s", path, strerror(errno));
    PngCtx ctx = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) { png_destroy_write_struct(&png, NULL); fclose(f); return wb_error(err, "'%s': libpng could not start", path); }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return wb_error(err, "'%s': writing PNG failed: %s", path, ctx.msg);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)W, (png_uint_32)H, 8, C == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < H; y++) png_write_row(png, px + (size_t)y * W * C);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fclose(f) != 0) return wb_error(err, "'%s': close failed: %s", path, strerror(errno));
    return 0;
}

int image_write_jpeg(const char *path, const uint8_t *px, int H, int W, int C, int quality, WbError *err) {
    CHECK(C == 1 || C == 3, "C = %d", C);
    FILE *f = fopen(path, "wb");
    if (!f) return wb_error(err, "'%s': cannot create: %s", path, strerror(errno));
    struct jpeg_compress_struct cinfo;
    JpegErr jerr;
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = jpeg_on_error;
    if (setjmp(jerr.jb)) {
        jpeg_destroy_compress(&cinfo);
        fclose(f);
        return wb_error(err, "'%s': writing JPEG failed: %s", path, jerr.msg);
    }
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = (JDIMENSION)W;
    cinfo.image_height = (JDIMENSION)H;
    cinfo.input_components = C;
    cinfo.in_color_space = C == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(px + (size_t)cinfo.next_scanline * W * C);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    if (fclose(f) != 0) return wb_error(err, "'%s': close failed: %s", path, strerror(errno));
    return 0;
}

// ---------------------------------------------------------------------------
// geometry

int image_center_offset(int in, int out) {
    CHECK(in >= out && out > 0, "centre crop of %d from %d", out, in);
    int d = in - out, k = d / 2;
    if (d % 2 == 0) return k;
    return (k % 2 == 0) ? k : k + 1;   // k + 0.5 rounds to the even neighbour
}

void image_geom_squash(ImageGeom *g, int H, int W, int S) {
    *g = (ImageGeom){.i = 0, .j = 0, .h = H, .w = W, .RH = S, .RW = S, .top = 0, .left = 0, .flip = 0};
}

void image_geom_short_crop(ImageGeom *g, int H, int W, int R, int S) {
    CHECK(R >= S, "resize %d smaller than crop %d", R, S);
    int shorter = H < W ? H : W, longer = H < W ? W : H;
    int nlong = (int)((double)R * (double)longer / (double)shorter);   // Python int(): truncation
    int RW = W <= H ? R : nlong, RH = W <= H ? nlong : R;
    *g = (ImageGeom){.i = 0, .j = 0, .h = H, .w = W, .RH = RH, .RW = RW,
                     .top = image_center_offset(RH, S), .left = image_center_offset(RW, S), .flip = 0};
}

void image_geom_random_resized_crop(ImageGeom *g, int H, int W, int S, const float scale[2],
                                    const float ratio[2], Rng *rng) {
    double area = (double)H * (double)W;
    double lr0 = log((double)ratio[0]), lr1 = log((double)ratio[1]);
    for (int attempt = 0; attempt < 10; attempt++) {
        double ta = area * ((double)scale[0] + ((double)scale[1] - (double)scale[0]) * (double)rng_uniform(rng));
        double ar = exp(lr0 + (lr1 - lr0) * (double)rng_uniform(rng));
        int w = (int)nearbyint(sqrt(ta * ar));   // Python round(): half to even (default rounding mode)
        int h = (int)nearbyint(sqrt(ta / ar));
        if (0 < w && w <= W && 0 < h && h <= H) {
            int i = (int)rng_below(rng, (uint32_t)(H - h + 1));
            int j = (int)rng_below(rng, (uint32_t)(W - w + 1));
            *g = (ImageGeom){.i = i, .j = j, .h = h, .w = w, .RH = S, .RW = S, .top = 0, .left = 0, .flip = 0};
            return;
        }
    }
    double in_ratio = (double)W / (double)H;
    int w = W, h = H;
    if (in_ratio < (double)ratio[0]) h = (int)nearbyint((double)w / (double)ratio[0]);
    else if (in_ratio > (double)ratio[1]) w = (int)nearbyint((double)h * (double)ratio[1]);
    *g = (ImageGeom){.i = (H - h) / 2, .j = (W - w) / 2, .h = h, .w = w, .RH = S, .RW = S, .top = 0, .left = 0, .flip = 0};
}

// torch's linear source index (upsample_bilinear2d, align_corners=False):
// the scale in float, the source coordinate in double, the weight rounded to
// float. Matching this exactly (checked by reading torch's weights back from
// one-hot inputs) keeps the results within a few float ulps of torch's.
static inline void lin_index(int in, int out, int d, int *i0, int *i1, float *l) {
    float scale = (float)in / (float)out;
    double s = (double)scale * ((double)d + 0.5) - 0.5;
    if (s < 0.0) s = 0.0;
    int a = (int)s;
    *i0 = a;
    *i1 = a < in - 1 ? a + 1 : a;
    *l = (float)(s - (double)a);
}

// ToTensor's value of every byte, i / 255 in float, folded at compile time.
#define U8F1(i) ((float)(i) / 255.0f)
#define U8F4(i) U8F1(i), U8F1((i) + 1), U8F1((i) + 2), U8F1((i) + 3)
#define U8F16(i) U8F4(i), U8F4((i) + 4), U8F4((i) + 8), U8F4((i) + 12)
#define U8F64(i) U8F16(i), U8F16((i) + 16), U8F16((i) + 32), U8F16((i) + 48)
static const float U8F[256] = {U8F64(0), U8F64(64), U8F64(128), U8F64(192)};

double image_sample_flops(int C, int S, int Cout) {
    return (double)S * S * (9.0 * C + (C == 3 && Cout == 1 ? 5.0 : 0.0) + 2.0 * Cout);
}

void image_sample_nocount(float *out, void *tab, const uint8_t *src, int H, int W, int C, const ImageGeom *g,
                          int S, int Cout, const float *mean, const float *std) {
    CHECK(C == 1 || C == 3, "source channels %d", C);
    CHECK(Cout == 1 || Cout == 3, "output channels %d", Cout);
    CHECK(g->i >= 0 && g->j >= 0 && g->h > 0 && g->w > 0 && g->i + g->h <= H && g->j + g->w <= W,
          "box (%d,%d,%d,%d) outside %dx%d", g->i, g->j, g->h, g->w, H, W);
    CHECK(g->top >= 0 && g->left >= 0 && g->top + S <= g->RH && g->left + S <= g->RW,
          "window (%d,%d)+%d outside %dx%d", g->top, g->left, S, g->RH, g->RW);
    int *y0 = (int *)tab, *y1 = y0 + S, *x0 = y1 + S, *x1 = x0 + S;
    float *ly = (float *)(x1 + S), *lx = ly + S;
    for (int o = 0; o < S; o++) {
        int a, b;
        lin_index(g->h, g->RH, o + g->top, &a, &b, &ly[o]);
        y0[o] = g->i + a; y1[o] = g->i + b;
        int ox = g->flip ? S - 1 - o : o;
        lin_index(g->w, g->RW, ox + g->left, &a, &b, &lx[o]);
        x0[o] = (g->j + a) * C; x1[o] = (g->j + b) * C;
    }
    size_t SS = (size_t)S * S, row = (size_t)W * C;
    float m[3], sd[3];
    for (int c = 0; c < Cout; c++) { m[c] = mean[c]; sd[c] = std[c]; }
    for (int oy = 0; oy < S; oy++) {
        const uint8_t *p0 = src + y0[oy] * row, *p1 = src + y1[oy] * row;
        float h1 = ly[oy], h0 = 1.0f - h1;
        float *o = out + (size_t)oy * S;
        for (int ox = 0; ox < S; ox++) {
            int a = x0[ox], b = x1[ox];
            float w1 = lx[ox], w0 = 1.0f - w1;
            // torch's order: (v00 w0 + v01 w1) h0 + (v10 w0 + v11 w1) h1
            float v[3];
            for (int c = 0; c < C; c++)
                v[c] = (U8F[p0[a + c]] * w0 + U8F[p0[b + c]] * w1) * h0 + (U8F[p1[a + c]] * w0 + U8F[p1[b + c]] * w1) * h1;
            if (C == 1) {
                for (int c = 0; c < Cout; c++) o[c * SS + ox] = (v[0] - m[c]) / sd[c];
            } else if (Cout == 1) {
                float y = 0.2989f * v[0] + 0.587f * v[1] + 0.114f * v[2];
                o[ox] = (y - m[0]) / sd[0];
            } else {
                for (int c = 0; c < 3; c++) o[c * SS + ox] = (v[c] - m[c]) / sd[c];
            }
        }
    }
}

void image_sample(float *out, void *tab, const uint8_t *src, int H, int W, int C, const ImageGeom *g,
                  int S, int Cout, const float *mean, const float *std) {
    image_sample_nocount(out, tab, src, H, W, C, g, S, Cout, mean, std);
    flops_add(image_sample_flops(C, S, Cout));
}

void resize_bilinear_forward(float *out, const float *inp, int C, int H, int W, int OH, int OW) {
    for (int c = 0; c < C; c++) {
        const float *in = inp + (size_t)c * H * W;
        for (int oy = 0; oy < OH; oy++) {
            int ya, yb; float h1;
            lin_index(H, OH, oy, &ya, &yb, &h1);
            float h0 = 1.0f - h1;
            for (int ox = 0; ox < OW; ox++) {
                int xa, xb; float w1;
                lin_index(W, OW, ox, &xa, &xb, &w1);
                float w0 = 1.0f - w1;
                out[((size_t)c * OH + oy) * OW + ox] =
                    (in[ya * W + xa] * w0 + in[ya * W + xb] * w1) * h0 + (in[yb * W + xa] * w0 + in[yb * W + xb] * w1) * h1;
            }
        }
    }
    flops_add(9.0 * C * OH * OW);
}
