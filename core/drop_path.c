// drop_path.c: the residual connection of a Swin block with stochastic depth
// (torchvision's StochasticDepth(p, "row")): in training each sample keeps
// its branch with probability 1 - p, scaled by 1/(1 - p), or drops it.
// The draws come from the model's RNG (core/rng.h), so they are seeded but
// not torch's; with p = 0 (the default for parity) nothing is drawn.
#include "swin_layers.h"
#include "common.h"
#include "counters.h"

#define PAR_MIN_ELEMS (1L << 16)

// scale (B): 0 with probability p, else 1/(1-p) (p = 1: all 0, as torch)
void drop_path_draw(float *scale, Rng *r, float p, int B) {
    CHECK(p >= 0.0f && p <= 1.0f, "stochastic depth probability %g outside [0, 1]", (double)p);
    const float keep = 1.0f - p;
    for (int b = 0; b < B; b++) scale[b] = (keep > 0.0f && rng_uniform(r) < keep) ? 1.0f / keep : 0.0f;
}

// x, y, out (B,n): out = x + scale[b] y
void drop_path_residual_forward(float *out, const float *x, const float *y, const float *scale, int B, long n) {
    const long total = (long)B * n;
#pragma omp parallel for if (total >= PAR_MIN_ELEMS)
    for (long i = 0; i < total; i++) out[i] = scale ? x[i] + scale[i / n] * y[i] : x[i] + y[i];
    flops_add((scale ? 2.0 : 1.0) * (double)total);   // per element: add (+ mul)
}

// dy (B,n) += scale[b] dout
void drop_path_residual_backward(float *dy, const float *scale, const float *dout, int B, long n) {
    if (!dy) return;
    const long total = (long)B * n;
#pragma omp parallel for if (total >= PAR_MIN_ELEMS)
    for (long i = 0; i < total; i++) dy[i] += scale ? scale[i / n] * dout[i] : dout[i];
    flops_add((scale ? 2.0 : 1.0) * (double)total);   // per element: add (+ mul)
}
