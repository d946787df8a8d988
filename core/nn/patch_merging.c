// patch_merging.c: the gather of torchvision's Swin PatchMerging
// (_patch_merging_pad): pad the map to even sizes, then put the four
// strided sub-grids x0 = x[0::2, 0::2], x1 = x[1::2, 0::2], x2 = x[0::2, 1::2],
// x3 = x[1::2, 1::2] side by side on the channels. The LayerNorm(4C) and the
// reduction Linear(4C, 2C, bias=False) after it are the ordinary layers.
#include "core/nn/swin_layers.h"
#include "core/runtime/common.h"
#include "core/runtime/counters.h"

#include <string.h>

#define PAR_MIN_ELEMS (1L << 15)

// Sub-grid q's row and column offsets, in torchvision's concatenation order.
static const int sub_dy[4] = {0, 1, 0, 1}, sub_dx[4] = {0, 0, 1, 1};

static void check_dims(int B, int H, int W, int C) {
    CHECK(B >= 0 && H > 0 && W > 0 && C > 0, "patch merging dims B=%d H=%d W=%d C=%d", B, H, W, C);
}

// inp (B,H,W,C) -> out (B,H2,W2,4C); copies only, no FLOPs
void patch_merge_forward(float *out, const float *inp, int B, int H, int W, int C) {
    check_dims(B, H, W, C);
    const int H2 = (H + 1) / 2, W2 = (W + 1) / 2;
    const long rows = (long)B * H2;
#pragma omp parallel for if (rows * W2 * 4 * C >= PAR_MIN_ELEMS)
    for (long r = 0; r < rows; r++) {
        int b = (int)(r / H2), i = (int)(r % H2);
        for (int j = 0; j < W2; j++) {
            float *o = out + ((size_t)r * W2 + j) * 4 * C;
            for (int q = 0; q < 4; q++) {
                int y = 2 * i + sub_dy[q], x = 2 * j + sub_dx[q];
                if (y < H && x < W) memcpy(o + (size_t)q * C, inp + (((size_t)b * H + y) * W + x) * C, sizeof(float) * (size_t)C);
                else memset(o + (size_t)q * C, 0, sizeof(float) * (size_t)C);
            }
        }
    }
}

// dout (B,H2,W2,4C) -> dinp (B,H,W,C) +=; 1 add per element of dinp. Output
// row i owns input rows 2i and 2i+1, so threads never share a row.
void patch_merge_backward(float *dinp, const float *dout, int B, int H, int W, int C) {
    check_dims(B, H, W, C);
    if (!dinp) return;
    const int H2 = (H + 1) / 2, W2 = (W + 1) / 2;
    const long rows = (long)B * H2;
#pragma omp parallel for if (rows * W2 * 4 * C >= PAR_MIN_ELEMS)
    for (long r = 0; r < rows; r++) {
        int b = (int)(r / H2), i = (int)(r % H2);
        for (int j = 0; j < W2; j++) {
            const float *g = dout + ((size_t)r * W2 + j) * 4 * C;
            for (int q = 0; q < 4; q++) {
                int y = 2 * i + sub_dy[q], x = 2 * j + sub_dx[q];
                if (y >= H || x >= W) continue;
                float *d = dinp + (((size_t)b * H + y) * W + x) * C;
                const float *gq = g + (size_t)q * C;
                for (int c = 0; c < C; c++) d[c] += gq[c];
            }
        }
    }
    flops_add((double)B * H * W * C);
}
