// window_attention.c: the (shifted) window multi-head self-attention of the
// Swin Transformer, as torchvision 0.14's shifted_window_attention between
// its qkv and proj linears: window partition and reverse (zero padding to
// multiples of the window, cyclic shift), the relative position bias
// (table + index), the shifted-window mask and the attention core. See
// swin_layers.h for the geometry. Per-window, per-head matrices are strided
// views of the packed (Bw,T,3C) qkv that go straight into gemm_small(): the
// core is one OpenMP loop over (window, head) pairs, each pair's products
// (49x49x32 for Swin-T) single-threaded, and its bias/mask/softmax done
// while its (T,T) tile is in cache. (A serial loop of gemm() calls left one
// of two cores idle: OpenBLAS runs products this small on one thread.)
#include "core/nn/swin_layers.h"
#include "core/linalg/small_gemm.h"
#include "core/runtime/common.h"
#include "core/runtime/counters.h"
#include "core/linalg/vecmath.h"

#include <math.h>
#include <string.h>

#define PAR_MIN_ELEMS (1L << 14)
#define MASK_NEG (-100.0f)   // torchvision's fill for keys of another region

void window_geometry(int H, int W, int ws, int shift, int *Hp, int *Wp, int *sh, int *sw) {
    CHECK(H > 0 && W > 0 && ws > 0 && shift >= 0 && shift < ws, "window geometry H=%d W=%d ws=%d shift=%d", H, W, ws, shift);
    *Hp = (H + ws - 1) / ws * ws;
    *Wp = (W + ws - 1) / ws * ws;
    *sh = ws >= *Hp ? 0 : shift;   // no shift along a dimension a single window covers
    *sw = ws >= *Wp ? 0 : shift;
}

// Pixel index y*W + x of slot t of window w (windows of the padded, rolled
// map, row-major), or -1 when the slot is padding.
static inline long slot_pixel(int w, int t, int H, int W, int ws, int Hp, int Wp, int sh, int sw) {
    int nWw = Wp / ws;
    int py = (w / nWw) * ws + t / ws, px = (w % nWw) * ws + t % ws;
    int y = (py + sh) % Hp, x = (px + sw) % Wp;   // torch.roll(-s): rolled[p] = orig[(p + s) mod n]
    return (y < H && x < W) ? (long)y * W + x : -1;
}

// to_windows 1: dst (B,nW,T,C) = gather of src (B,H,W,C), zeros in padded
// slots; to_windows 0: dst (B,H,W,C) = scatter of src (B,nW,T,C), padded
// slots dropped. acc 1 adds instead of writing. Every real pixel has exactly
// one slot, so threads over windows never write the same row.
static void window_copy(float *dst, const float *src, int to_windows, int acc, int B, int H, int W, int C, int ws,
                        int sh, int sw) {
    int Hp, Wp, s1, s2;
    window_geometry(H, W, ws, 0, &Hp, &Wp, &s1, &s2);
    CHECK(sh >= 0 && sh < ws && sw >= 0 && sw < ws, "shift (%d,%d) for window %d", sh, sw, ws);
    const int nW = (Hp / ws) * (Wp / ws), T = ws * ws;
    const long nbw = (long)B * nW;
#pragma omp parallel for if (nbw * T * C >= PAR_MIN_ELEMS)
    for (long bw = 0; bw < nbw; bw++) {
        int b = (int)(bw / nW), w = (int)(bw % nW);
        for (int t = 0; t < T; t++) {
            long p = slot_pixel(w, t, H, W, ws, Hp, Wp, sh, sw);
            size_t si = ((size_t)bw * T + t) * C;
            if (p < 0) {   // padding: zeros going in, nothing coming out
                if (to_windows && !acc) memset(dst + si, 0, sizeof(float) * (size_t)C);
                continue;
            }
            size_t pi = ((size_t)b * H * W + (size_t)p) * C;
            const float *from = src + (to_windows ? pi : si);
            float *to = dst + (to_windows ? si : pi);
            if (acc) for (int c = 0; c < C; c++) to[c] += from[c];
            else memcpy(to, from, sizeof(float) * (size_t)C);
        }
    }
}

// inp (B,H,W,C) -> out (B,nW,T,C)
void window_partition_forward(float *out, const float *inp, int B, int H, int W, int C, int ws, int sh, int sw) {
    window_copy(out, inp, 1, 0, B, H, W, C, ws, sh, sw);
}

// dout (B,nW,T,C) -> dinp (B,H,W,C) +=; 1 add per real element
void window_partition_backward(float *dinp, const float *dout, int B, int H, int W, int C, int ws, int sh, int sw) {
    if (!dinp) return;
    window_copy(dinp, dout, 0, 1, B, H, W, C, ws, sh, sw);
    flops_add((double)B * H * W * C);
}

// inp (B,nW,T,C) -> out (B,H,W,C)
void window_reverse_forward(float *out, const float *inp, int B, int H, int W, int C, int ws, int sh, int sw) {
    window_copy(out, inp, 0, 0, B, H, W, C, ws, sh, sw);
}

// dout (B,H,W,C) -> dinp (B,nW,T,C) +=; 1 add per real element
void window_reverse_backward(float *dinp, const float *dout, int B, int H, int W, int C, int ws, int sh, int sw) {
    if (!dinp) return;
    window_copy(dinp, dout, 1, 1, B, H, W, C, ws, sh, sw);
    flops_add((double)B * H * W * C);
}

// idx (T,T): ((yi - yj + ws - 1) (2ws - 1) + (xi - xj + ws - 1)) for i = yi*ws + xi
void relative_position_index(int *idx, int ws) {
    const int T = ws * ws;
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++)
            idx[i * T + j] = (i / ws - j / ws + ws - 1) * (2 * ws - 1) + (i % ws - j % ws + ws - 1);
}

// Region of a padded, rolled coordinate p of a dimension of padded size n:
// torchvision's slices (0, -ws), (-ws, -s), (-s, None); a dimension without
// shift is one region.
static inline int region_1d(int p, int n, int ws, int s) {
    if (s == 0) return 0;
    return p < n - ws ? 0 : (p < n - s ? 1 : 2);
}

// reg (nW,T)
void window_mask_regions(int *reg, int H, int W, int ws, int sh, int sw) {
    int Hp, Wp, s1, s2;
    window_geometry(H, W, ws, 0, &Hp, &Wp, &s1, &s2);
    const int nWw = Wp / ws, nW = (Hp / ws) * nWw, T = ws * ws;
    for (int w = 0; w < nW; w++)
        for (int t = 0; t < T; t++) {
            int py = (w / nWw) * ws + t / ws, px = (w % nWw) * ws + t % ws;
            reg[w * T + t] = 3 * region_1d(py, Hp, ws, sh) + region_1d(px, Wp, ws, sw);
        }
}

// table ((2ws-1)^2, NH), idx (T,T) -> bias (NH,T,T); a gather, no FLOPs
void relative_bias_forward(float *bias, const float *table, const int *idx, int NH, int ws) {
    const int T = ws * ws;
    for (int h = 0; h < NH; h++)
        for (int ij = 0; ij < T * T; ij++) bias[(size_t)h * T * T + ij] = table[(size_t)idx[ij] * NH + h];
}

// dtable += scatter(dbias); 1 add per element of dbias. Serial: idx repeats rows.
void relative_bias_backward(float *dtable, const float *dbias, const int *idx, int NH, int ws) {
    if (!dtable) return;
    const int T = ws * ws;
    for (int h = 0; h < NH; h++)
        for (int ij = 0; ij < T * T; ij++) dtable[(size_t)idx[ij] * NH + h] += dbias[(size_t)h * T * T + ij];
    flops_add((double)NH * T * T);
}

static void check_dims(int Bw, int T, int C, int NH) {
    CHECK(Bw >= 0 && T > 0 && NH > 0 && C / NH * NH == C, "window attention dims Bw=%d T=%d C=%d NH=%d", Bw, T, C, NH);
}

// torch scales q by (C // NH) ** -0.5, a Python double rounded to float
static float head_scale(int hs) { return (float)(1.0 / sqrt((double)hs)); }

// One OpenMP loop over the Bw*NH (window, head) pairs, each a task that
// keeps its (T,T) tile in cache: q k^T, + bias (+ mask), softmax, att v.
// The products run single-threaded (gemm_small) side by side; their FLOPs
// are charged once after the loop, 2*M*N*K per product as gemm() would.
// Dynamic schedule: on a shared machine a preempted thread does not hold
// back a fixed half. Heads too big for gemm_small in parallel (T*T*hs above
// its limit, windows beyond ~12x12) run the same loop serially.

// qkv (Bw,T,3C), bias (NH,T,T), reg (nW,T) or NULL -> att (Bw,NH,T,T), out (Bw,T,C)
void window_attention_forward(float *out, float *att, const float *qkv, const float *bias, const int *reg,
                              int Bw, int nW, int T, int C, int NH) {
    check_dims(Bw, T, C, NH);
    CHECK(nW > 0 && Bw % nW == 0, "%d windows not a multiple of %d per image", Bw, nW);
    const int hs = C / NH, C3 = 3 * C;
    const float scale = head_scale(hs);
    const size_t TT = (size_t)T * T;
    const long pairs = (long)Bw * NH;
#pragma omp parallel for schedule(dynamic, 4) if (gemm_small_parallel(pairs, (double)T * T * hs))
    for (long p = 0; p < pairs; p++) {
        const int bw = (int)(p / NH), h = (int)(p % NH);
        const float *q = qkv + (size_t)bw * T * C3 + (size_t)h * hs;
        float *A = att + (size_t)p * TT;
        gemm_small(0, 1, T, T, hs, scale, q, C3, q + C, C3, 0.0f, A, T);
        const int *rw = reg ? reg + (size_t)(bw % nW) * T : NULL;
        for (int i = 0; i < T; i++) {
            // + bias (+ mask), then the row softmax (stable: subtract the row max)
            float *a = A + (size_t)i * T;
            const float *brow = bias + ((size_t)h * T + i) * T;
            for (int j = 0; j < T; j++) a[j] += brow[j];
            if (rw) {
                const int ri = rw[i];
                for (int j = 0; j < T; j++) a[j] += rw[j] != ri ? MASK_NEG : 0.0f;
            }
            float mx = a[0];
            for (int j = 1; j < T; j++) mx = a[j] > mx ? a[j] : mx;
            float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
            for (int j = 0; j < T; j++) { a[j] = exp_vec(a[j] - mx); sum += a[j]; }
            const float inv = 1.0f / sum;
            for (int j = 0; j < T; j++) a[j] *= inv;
        }
        gemm_small(0, 0, T, hs, T, 1.0f, A, T, qkv + (size_t)bw * T * C3 + 2 * (size_t)C + (size_t)h * hs, C3, 0.0f,
                   out + (size_t)bw * T * C + (size_t)h * hs, C);
    }
    const long rows = pairs * T;
    // the two products per pair; per element: bias add 1, mask add 1
    // (shifted blocks), softmax 5 (max compare, sub, exp, add, mul); per row: 1 division
    flops_add(2.0 * (2.0 * T * T * hs) * (double)pairs);
    flops_add((6.0 + (reg ? 1.0 : 0.0)) * (double)rows * T + (double)rows);
}

// dv_h += att^T dout_h; datt = dout_h v_h^T; ds = att * (datt - rowsum(att * datt));
// dbias += sum over windows of ds; dq_h += scale ds k_h; dk_h += scale ds^T q_h.
// Pairs write disjoint (window, head) columns of dqkv, so one loop over pairs
// does all but the dbias sum (which runs over windows: its own loop after).
void window_attention_backward(float *dqkv, float *dbias, float *scratch, const float *dout, const float *qkv,
                               const float *att, int Bw, int T, int C, int NH) {
    check_dims(Bw, T, C, NH);
    const int hs = C / NH, C3 = 3 * C;
    const float scale = head_scale(hs);
    const size_t TT = (size_t)T * T;
    const long pairs = (long)Bw * NH;
#pragma omp parallel for schedule(dynamic, 4) if (gemm_small_parallel(pairs, (double)T * T * hs))
    for (long p = 0; p < pairs; p++) {
        const int bw = (int)(p / NH), h = (int)(p % NH);
        const size_t qoff = (size_t)bw * T * C3 + (size_t)h * hs;
        const float *A = att + (size_t)p * TT, *dO = dout + (size_t)bw * T * C + (size_t)h * hs;
        float *D = scratch + (size_t)p * TT;
        gemm_small(1, 0, T, hs, T, 1.0f, A, T, dO, C, 1.0f, dqkv + qoff + 2 * (size_t)C, C3);
        gemm_small(0, 1, T, T, hs, 1.0f, dO, C, qkv + qoff + 2 * (size_t)C, C3, 0.0f, D, T);
        for (int i = 0; i < T; i++) {
            const float *a = A + (size_t)i * T;
            float *d = D + (size_t)i * T;
            float dot = 0.0f;
            for (int j = 0; j < T; j++) dot += a[j] * d[j];
            for (int j = 0; j < T; j++) d[j] = a[j] * (d[j] - dot);
        }
        gemm_small(0, 0, T, hs, T, scale, D, T, qkv + qoff + C, C3, 1.0f, dqkv + qoff, C3);
        gemm_small(1, 0, T, hs, T, scale, D, T, qkv + qoff, C3, 1.0f, dqkv + qoff + C, C3);
    }
    const long rows = pairs * T;
    // the four products per pair; softmax backward per element: mul, add (row dot), sub, mul
    flops_add(4.0 * (2.0 * T * T * hs) * (double)pairs);
    flops_add(4.0 * (double)rows * T);
    if (dbias) {
        // threads own rows (h, i) of dbias; the sum runs over the windows
#pragma omp parallel for if (rows * T >= PAR_MIN_ELEMS)
        for (int hi = 0; hi < NH * T; hi++) {
            float *db = dbias + (size_t)hi * T;
            for (int bw = 0; bw < Bw; bw++) {
                const float *d = scratch + (size_t)bw * NH * TT + (size_t)hi * T;
                for (int j = 0; j < T; j++) db[j] += d[j];
            }
        }
        flops_add((double)rows * T);   // 1 add per element of ds
    }
}
