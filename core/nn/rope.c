// rope.c: rotary position embedding as Hugging Face's Llama
// (LlamaRotaryEmbedding + apply_rotary_pos_emb): positions 0..T-1,
// inv_freq[i] = 1 / theta^(2i/hd) and emb = cat(freqs, freqs), so channel
// i and i + hd/2 of a head share one angle and the rotation acts on the
// pairs (x_i, x_{i+hd/2}):
//   out_i = x_i cos - x_{i+h} sin,   out_{i+h} = x_{i+h} cos + x_i sin.
// Backward applies the transposed rotation (the angle negated).
#include "core/nn/llama_layers.h"
#include "core/runtime/common.h"
#include "core/runtime/counters.h"

#include <math.h>

#define PAR_MIN_ELEMS (1L << 15)

// cos_t, sin_t (T, hd/2). inv_freq and the angle are rounded to float32 as
// HF computes them (float32 pow, float32 position * inv_freq); cos and sin of
// that float angle are then rounded once.
void rope_table(float *cos_t, float *sin_t, int T, int hd, float theta) {
    CHECK(hd > 0 && hd % 2 == 0 && T > 0, "rope table T=%d hd=%d (hd must be even)", T, hd);
    const int h = hd / 2;
    for (int i = 0; i < h; i++) {
        float inv = (float)(1.0 / pow((double)theta, (double)(2 * i) / (double)hd));
        for (int t = 0; t < T; t++) {
            float ang = (float)t * inv;
            cos_t[(size_t)t * h + i] = (float)cos((double)ang);
            sin_t[(size_t)t * h + i] = (float)sin((double)ang);
        }
    }
}

// inp, out (B,T,H*hd); out may equal inp
void rope_forward(float *out, const float *inp, const float *cos_t, const float *sin_t, int B, int T, int H, int hd) {
    const int h = hd / 2;
    const long rows = (long)B * T;
#pragma omp parallel for if (rows * H * hd >= PAR_MIN_ELEMS)
    for (long r = 0; r < rows; r++) {
        const float *c = cos_t + (size_t)(r % T) * h, *s = sin_t + (size_t)(r % T) * h;
        for (int g = 0; g < H; g++) {
            const float *x = inp + ((size_t)r * H + g) * hd;
            float *o = out + ((size_t)r * H + g) * hd;
            for (int i = 0; i < h; i++) {
                float x1 = x[i], x2 = x[i + h];
                o[i] = x1 * c[i] - x2 * s[i];
                o[i + h] = x2 * c[i] + x1 * s[i];
            }
        }
    }
    flops_add(3.0 * (double)rows * H * hd); // per element: 2 muls, 1 add
}

// dout (B,T,H*hd); dinp += R^T dout
void rope_backward(float *dinp, const float *dout, const float *cos_t, const float *sin_t, int B, int T, int H, int hd) {
    if (!dinp) return;
    const int h = hd / 2;
    const long rows = (long)B * T;
#pragma omp parallel for if (rows * H * hd >= PAR_MIN_ELEMS)
    for (long r = 0; r < rows; r++) {
        const float *c = cos_t + (size_t)(r % T) * h, *s = sin_t + (size_t)(r % T) * h;
        for (int g = 0; g < H; g++) {
            const float *d = dout + ((size_t)r * H + g) * hd;
            float *dx = dinp + ((size_t)r * H + g) * hd;
            for (int i = 0; i < h; i++) {
                float d1 = d[i], d2 = d[i + h];
                dx[i] += d1 * c[i] + d2 * s[i];
                dx[i + h] += d2 * c[i] - d1 * s[i];
            }
        }
    }
    flops_add(4.0 * (double)rows * H * hd); // per element: 2 muls, 1 add, +=
}
