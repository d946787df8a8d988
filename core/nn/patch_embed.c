// patch_embed.c: the ViT patch embedding, Conv2d(Cin, C, kernel=P, stride=P)
// (torchvision's conv_proj), as im2col + one GEMM. Since kernel = stride the
// patches do not overlap and im2col is a pure gather: row p of col is patch
// p of the (H/P, W/P) grid in row-major order, laid out (Cin,P,P) like a
// row of w, so the convolution is linear_forward(col, w viewed (C, Cin*P*P)).
#include "core/nn/layers.h"
#include "core/runtime/common.h"

#include <string.h>

#define PAR_MIN_ELEMS (1L << 15)

// img (B,Cin,H,W) -> col (B*nP, Cin*P*P); copies only, no FLOPs
static void im2col(float *col, const float *img, int B, int Cin, int H, int W, int P) {
    int nh = H / P, nw = W / P, nP = nh * nw, K = Cin * P * P;
    long rows = (long)B * nP;
#pragma omp parallel for if (rows * K >= PAR_MIN_ELEMS)
    for (long r = 0; r < rows; r++) {
        int b = (int)(r / nP), p = (int)(r % nP), py = p / nw, px = p % nw;
        float *dst = col + (size_t)r * K;
        for (int ci = 0; ci < Cin; ci++)
            for (int ky = 0; ky < P; ky++) {
                const float *src = img + (((size_t)b * Cin + ci) * H + (size_t)py * P + ky) * W + (size_t)px * P;
                memcpy(dst + ((size_t)ci * P + ky) * P, src, (size_t)P * sizeof(float));
            }
    }
}

static void check_dims(int B, int Cin, int H, int W, int P, int C) {
    CHECK(B >= 0 && Cin > 0 && C > 0 && P > 0 && H >= P && W >= P, "patch_embed dims B=%d Cin=%d H=%d W=%d P=%d C=%d",
          B, Cin, H, W, P, C);
    // (CHECK puts its condition into the format string: no '%' in it)
    CHECK(H / P * P == H && W / P * P == W, "image %dx%d is not a whole number of %dx%d patches", H, W, P, P);
}

// img (B,Cin,H,W), w (C,Cin,P,P), b (C), col (col_images*nP, Cin*P*P) workspace, out (B,nP,C):
// im2col and the GEMM run col_images images at a time (the GEMM's rows are
// independent), so col need not hold the whole batch; the same FLOPs.
void patch_embed_forward_cols(float *out, float *col, int col_images, const float *img, const float *w, const float *b,
                              int B, int Cin, int H, int W, int P, int C) {
    check_dims(B, Cin, H, W, P, C);
    CHECK(col_images >= 1, "patch_embed: col_images %d", col_images);
    const int nP = (H / P) * (W / P), K = Cin * P * P;
    for (int b0 = 0; b0 < B; b0 += col_images) {
        int nb = wb_min(col_images, B - b0);
        im2col(col, img + (size_t)b0 * Cin * H * W, nb, Cin, H, W, P);
        linear_forward(out + (size_t)b0 * nP * C, col, w, b, nb * nP, K, C);
    }
}

void patch_embed_forward(float *out, float *col, const float *img, const float *w, const float *b,
                         int B, int Cin, int H, int W, int P, int C) {
    patch_embed_forward_cols(out, col, B > 0 ? B : 1, img, w, b, B, Cin, H, W, P, C);
}

// dout (B,nP,C), img (B,Cin,H,W); dw (C,Cin,P,P) += dout^T col; db (C) += sum dout.
// col is rebuilt here, col_images images at a time (the caller may have reused the workspace since forward).
void patch_embed_backward_cols(float *dw, float *db, float *col, int col_images, const float *dout, const float *img,
                               int B, int Cin, int H, int W, int P, int C) {
    check_dims(B, Cin, H, W, P, C);
    CHECK(col_images >= 1, "patch_embed: col_images %d", col_images);
    if (!dw && !db) return;
    const int nP = (H / P) * (W / P), K = Cin * P * P;
    if (!dw) {   // the bias alone needs no col
        linear_backward(NULL, NULL, db, dout, col, NULL, B * nP, K, C);
        return;
    }
    for (int b0 = 0; b0 < B; b0 += col_images) {
        int nb = wb_min(col_images, B - b0);
        im2col(col, img + (size_t)b0 * Cin * H * W, nb, Cin, H, W, P);
        linear_backward(NULL, dw, db, dout + (size_t)b0 * nP * C, col, NULL, nb * nP, K, C);
    }
}

void patch_embed_backward(float *dw, float *db, float *col, const float *dout, const float *img,
                          int B, int Cin, int H, int W, int P, int C) {
    patch_embed_backward_cols(dw, db, col, B > 0 ? B : 1, dout, img, B, Cin, H, W, P, C);
}
