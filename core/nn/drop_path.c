// drop_path.c: the residual connection of a Swin block with stochastic depth
// (torchvision's StochasticDepth(p, "row")): in training each sample keeps
// its branch with probability 1 - p, scaled by 1/(1 - p), or drops it.
// The draws come from the model's RNG (core/runtime/rng.h), so they are seeded but
// not torch's; with p = 0 (the default for parity) nothing is drawn.
#include "core/nn/swin_layers.h"
#include "core/runtime/common.h"
#include "core/runtime/counters.h"

#define PAR_MIN_ELEMS (1L << 16)

// scale (B): 0 with probability p, else 1/(1-p) (p = 1: all 0, as torch)
void drop_path_draw(float *scale, Rng *r, float p, int B) {
    CHECK(p >= 0.0f && p <= 1.0f, "stochastic depth probability %g outside [0, 1]", (double)p);
    const float keep = 1.0f - p;
    for (int b = 0; b < B; b++) scale[b] = (keep > 0.0f && rng_uniform(r) < keep) ? 1.0f / keep : 0.0f;
}

// The loops run over (sample, chunk of CHUNK elements) tasks: the sample's
// scale is then a constant of a contiguous inner loop that vectorises (an
// index division per element, scale[i / n], cost 30% at Swin-T's first
// stage, where the loop is otherwise memory-bound).
// Without scale the factor is 1.0f: x + 1.0f * y == x + y exactly.
#define CHUNK 4096L

// x, y, out (B,n): out = x + scale[b] y
void drop_path_residual_forward(float *out, const float *x, const float *y, const float *scale, int B, long n) {
    const long total = (long)B * n, nch = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for if (total >= PAR_MIN_ELEMS)
    for (long t = 0; t < (long)B * nch; t++) {
        const long b = t / nch, lo = b * n + (t % nch) * CHUNK, hi = lo + CHUNK < (b + 1) * n ? lo + CHUNK : (b + 1) * n;
        const float s = scale ? scale[b] : 1.0f;
        for (long i = lo; i < hi; i++) out[i] = x[i] + s * y[i];
    }
    flops_add((scale ? 2.0 : 1.0) * (double)total);   // per element: add (+ mul)
}

// dy (B,n) += scale[b] dout
void drop_path_residual_backward(float *dy, const float *scale, const float *dout, int B, long n) {
    if (!dy) return;
    const long total = (long)B * n, nch = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for if (total >= PAR_MIN_ELEMS)
    for (long t = 0; t < (long)B * nch; t++) {
        const long b = t / nch, lo = b * n + (t % nch) * CHUNK, hi = lo + CHUNK < (b + 1) * n ? lo + CHUNK : (b + 1) * n;
        const float s = scale ? scale[b] : 1.0f;
        for (long i = lo; i < hi; i++) dy[i] += s * dout[i];
    }
    flops_add((scale ? 2.0 : 1.0) * (double)total);   // per element: add (+ mul)
}
