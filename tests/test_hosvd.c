// test_hosvd.c: mode-n unfoldings and strided mode products against naive
// index loops, exact truncated HOSVD (reconstruction, energy, minimal
// ranks, orthonormal factors), the subspace-iteration HOSVD converging to
// the exact subspaces, and the dW contraction against dy^T x_hat rebuilt
// explicitly. WB_BENCH=1 adds timings on the paper's vit_b_32 shapes.
#include "core/linalg/blas.h"
#include "core/runtime/counters.h"
#include "core/compress/tucker.h"
#include "core/linalg/linalg.h"
#include "core/runtime/memory.h"
#include "core/runtime/rng.h"
#include "tests/testlib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static size_t numel(const int *dims, int nd) {
    size_t s = 1;
    for (int i = 0; i < nd; i++) s *= (size_t)dims[i];
    return s;
}

static float *randn(Rng *r, size_t n) {
    float *x = mem_alloc_floats(n, MEM_WORKSPACE);
    rng_fill_normal(r, x, (long)n, 0, 1);
    return x;
}

static float *random_orthonormal(Rng *r, int m, int k) {
    float *Q = randn(r, (size_t)m * k);
    OrthWork ow;
    orth_work_init(&ow, m, k);
    orth_inplace(Q, m, k, &ow);
    orth_work_free(&ow);
    return Q;
}

// Naive unfolding by index arithmetic: X_(n)[i, j], j = row-major index of the other modes.
static void naive_unfold(float *out, const float *x, const int *dims, int nd, int n) {
    size_t tot = numel(dims, nd), rest = tot / (size_t)dims[n];
    for (size_t idx = 0; idx < tot; idx++) {
        int mi[4];
        size_t t = idx;
        for (int m = nd - 1; m >= 0; m--) { mi[m] = (int)(t % (size_t)dims[m]); t /= (size_t)dims[m]; }
        size_t j = 0;
        for (int m = 0; m < nd; m++) if (m != n) j = j * (size_t)dims[m] + (size_t)mi[m];
        out[(size_t)mi[n] * rest + j] = x[idx];
    }
}

static double sqnorm(const float *a, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * (double)a[i];
    return s;
}

static double orthonormality_error(const float *Q, int m, int k) {
    double worst = 0;
    for (int a = 0; a < k; a++)
        for (int b = 0; b < k; b++) {
            double s = 0;
            for (int i = 0; i < m; i++) s += (double)Q[(size_t)i * k + a] * (double)Q[(size_t)i * k + b];
            double d = fabs(s - (a == b ? 1.0 : 0.0));
            if (d > worst) worst = d;
        }
    return worst;
}

// ||(I - U U^T) V||_F for U (m,k) orthonormal, V (m,k2) with row stride ldv.
static double residual_outside(const float *U, int k, const float *V, int ldv, int k2, int m) {
    double tot = 0;
    for (int c = 0; c < k2; c++) {
        double proj[64] = {0};
        for (int a = 0; a < k; a++)
            for (int i = 0; i < m; i++) proj[a] += (double)U[(size_t)i * k + a] * (double)V[(size_t)i * ldv + c];
        for (int i = 0; i < m; i++) {
            double v = V[(size_t)i * ldv + c];
            for (int a = 0; a < k; a++) v -= (double)U[(size_t)i * k + a] * proj[a];
            tot += v * v;
        }
    }
    return sqrt(tot);
}

// x = G x_n (Q_n diag(s_n)) with G Gaussian (dims), Q_n random orthogonal and
// s_n = 1 for the first gap[n] directions, then 0.1 * 0.8^j: a spectral gap
// after gap[n] in every unfolding.
static float *gapped_tensor(Rng *r, const int *dims, int nd, const int *gap) {
    size_t tot = numel(dims, nd);
    float *x = randn(r, tot), *y = mem_alloc_floats(tot, MEM_WORKSPACE);
    for (int n = 0; n < nd; n++) {
        int d = dims[n];
        float *A = random_orthonormal(r, d, d);
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) A[(size_t)i * d + j] *= j < gap[n] ? 1.0f : 0.1f * powf(0.8f, (float)(j - gap[n]));
        tensor_mode_product(y, x, dims, nd, n, A, d, 0);
        float *t = x; x = y; y = t;
        mem_free(A);
    }
    mem_free(y);
    return x;
}

static const int shapes3[][3] = {{3, 4, 5}, {1, 5, 3}, {6, 1, 2}, {2, 9, 3}};
static const int shapes4[][4] = {{2, 3, 4, 5}, {4, 1, 1, 3}, {1, 2, 3, 1}};

static void for_each_shape(void (*fn)(const int *dims, int nd, uint64_t seed)) {
    for (size_t s = 0; s < sizeof shapes3 / sizeof shapes3[0]; s++) fn(shapes3[s], 3, 100 + s);
    for (size_t s = 0; s < sizeof shapes4 / sizeof shapes4[0]; s++) fn(shapes4[s], 4, 200 + s);
}

static void unfold_case(const int *dims, int nd, uint64_t seed) {
    Rng r; rng_seed(&r, seed);
    size_t tot = numel(dims, nd);
    float *x = randn(&r, tot), *a = mem_alloc_floats(tot, MEM_WORKSPACE), *b = mem_alloc_floats(tot, MEM_WORKSPACE);
    for (int n = 0; n < nd; n++) {
        tensor_unfold(a, x, dims, nd, n);
        naive_unfold(b, x, dims, nd, n);
        char what[64];
        snprintf(what, sizeof what, "unfold %d-mode mode %d", nd, n);
        EXPECT_CLOSE(what, a, b, tot, 0, 0);
    }
    mem_free(x); mem_free(a); mem_free(b);
}

static void test_unfold_vs_naive(void) { for_each_shape(unfold_case); }

// Gram and mode products on strided views against the materialised unfolding.
static void mode_ops_case(const int *dims, int nd, uint64_t seed) {
    Rng r; rng_seed(&r, seed);
    size_t tot = numel(dims, nd);
    float *x = randn(&r, tot), *Xn = mem_alloc_floats(tot, MEM_WORKSPACE);
    for (int n = 0; n < nd; n++) {
        int d = dims[n];
        int rest = (int)(tot / (size_t)d);
        naive_unfold(Xn, x, dims, nd, n);
        float *G = mem_alloc_floats((size_t)d * d, MEM_WORKSPACE), *Gr = mem_alloc_floats((size_t)d * d, MEM_WORKSPACE);
        tensor_mode_gram(G, x, dims, nd, n);
        gemm_naive(0, 1, d, d, rest, 1.0f, Xn, rest, Xn, rest, 0.0f, Gr, d);
        char what[80];
        snprintf(what, sizeof what, "gram %d-mode mode %d", nd, n);
        EXPECT_CLOSE(what, G, Gr, (size_t)d * d, 1e-5, 1e-5);
        for (int transA = 0; transA < 2; transA++) {
            int e = 2 + transA;
            float *A = randn(&r, (size_t)d * e);
            int yd[4];
            memcpy(yd, dims, (size_t)nd * sizeof(int));
            yd[n] = e;
            size_t ny = (size_t)e * rest;
            float *y = mem_alloc_floats(ny, MEM_WORKSPACE), *Yn = mem_alloc_floats(ny, MEM_WORKSPACE), *Yr = mem_alloc_floats(ny, MEM_WORKSPACE);
            tensor_mode_product(y, x, dims, nd, n, A, e, transA);
            naive_unfold(Yn, y, yd, nd, n);
            // Y_(n) = M X_(n): M = A^T with A (d,e), or M = A with A (e,d)
            gemm_naive(transA, 0, e, rest, d, 1.0f, A, transA ? e : d, Xn, rest, 0.0f, Yr, rest);
            snprintf(what, sizeof what, "mode product %d-mode mode %d transA=%d", nd, n, transA);
            EXPECT_CLOSE(what, Yn, Yr, ny, 1e-5, 1e-5);
            mem_free(A); mem_free(y); mem_free(Yn); mem_free(Yr);
        }
        mem_free(G); mem_free(Gr);
    }
    mem_free(x); mem_free(Xn);
}

static void test_mode_ops_vs_naive(void) { for_each_shape(mode_ops_case); }

static void exact_full_case(const int *dims, int nd, uint64_t seed) {
    Rng r; rng_seed(&r, seed);
    size_t tot = numel(dims, nd);
    float *x = randn(&r, tot), *xh = mem_alloc_floats(tot, MEM_WORKSPACE);
    float eps[4] = {1, 1, 1, 1};
    Tucker t;
    tucker_init(&t, nd, dims, NULL, 1);
    HosvdWork w;
    hosvd_work_init(&w, nd, dims, NULL, 0, HOSVD_EXACT);
    hosvd_exact(&t, x, dims, eps, &w);
    for (int n = 0; n < nd; n++) {
        EXPECT(t.ranks[n] == dims[n], "epsilon=1: full rank %d on mode %d, got %d", dims[n], n, t.ranks[n]);
        double oe = orthonormality_error(t.U[n], dims[n], t.ranks[n]);
        EXPECT(oe < 1e-5, "mode %d factor orthonormal: %g", n, oe);
    }
    tucker_reconstruct(xh, &t);
    char what[64];
    snprintf(what, sizeof what, "exact HOSVD eps=1 %d-mode reconstructs x", nd);
    EXPECT_CLOSE(what, xh, x, tot, 1e-5, 1e-4);
    int grown = w.n_grow;
    hosvd_exact(&t, x, dims, eps, &w); // same ranks again: settled, no growth
    EXPECT(w.n_grow == grown, "second call grew %d buffers", w.n_grow - grown);
    hosvd_work_free(&w);
    tucker_free(&t);
    mem_free(x); mem_free(xh);
}

static void test_exact_full_rank_reconstructs(void) { for_each_shape(exact_full_case); }

// Truncated exact HOSVD: energy kept per mode >= epsilon, k minimal (against
// an SVD of the materialised unfolding), ||x - x_hat||^2 = ||x||^2 - ||S||^2.
static void exact_energy_case(const int *dims, int nd, const int *gap, const float *eps, uint64_t seed) {
    Rng r; rng_seed(&r, seed);
    size_t tot = numel(dims, nd);
    float *x = gapped_tensor(&r, dims, nd, gap), *Xn = mem_alloc_floats(tot, MEM_WORKSPACE);
    double xx = sqnorm(x, tot);
    Tucker t;
    int small[4] = {1, 1, 1, 1};
    tucker_init(&t, nd, dims, small, 1); // deliberately small: hosvd_exact grows it
    HosvdWork w;
    hosvd_work_init(&w, nd, dims, NULL, 0, HOSVD_EXACT);
    hosvd_exact(&t, x, dims, eps, &w);
    for (int n = 0; n < nd; n++) {
        int d = dims[n], k = t.ranks[n], rest = (int)(tot / (size_t)d);
        naive_unfold(Xn, x, dims, nd, n);
        float *P = mem_alloc_floats((size_t)k * rest, MEM_WORKSPACE);
        gemm_naive(1, 0, k, rest, d, 1.0f, t.U[n], k, Xn, rest, 0.0f, P, rest);
        double kept = sqnorm(P, (size_t)k * rest) / xx;
        SvdWork sw;
        svd_work_init(&sw, d, rest);
        svd_compute(&sw, Xn);
        double ekm1 = 0;
        for (int j = 0; j < k - 1; j++) ekm1 += (double)sw.s[j] * (double)sw.s[j];
        ekm1 /= xx;
        EXPECT(kept >= (double)eps[n] - 1e-5, "mode %d eps %.2f: k=%d keeps %.6f", n, (double)eps[n], k, kept);
        EXPECT(k == 1 || ekm1 < (double)eps[n] + 1e-5, "mode %d eps %.2f: k=%d not minimal (k-1 keeps %.6f)", n, (double)eps[n], k, ekm1);
        EXPECT(k < d, "mode %d: the test wants a truncation (k=%d of %d)", n, k, d);
        double oe = orthonormality_error(t.U[n], d, k);
        EXPECT(oe < 1e-5, "mode %d factor orthonormal: %g", n, oe);
        printf("  %d-mode mode %d: d=%d eps=%.2f k=%d keeps %.5f (k-1: %.5f)\n", nd, n, d, (double)eps[n], k, kept, ekm1);
        svd_work_free(&sw);
        mem_free(P);
    }
    float *xh = mem_alloc_floats(tot, MEM_WORKSPACE);
    tucker_reconstruct(xh, &t);
    double err = 0;
    for (size_t i = 0; i < tot; i++) err += ((double)x[i] - (double)xh[i]) * ((double)x[i] - (double)xh[i]);
    double ss = sqnorm(t.core, numel(t.ranks, nd));
    EXPECT(fabs(err - (xx - ss)) < 1e-4 * xx, "projection identity: |x-xh|^2 %.6g vs |x|^2-|S|^2 %.6g", err, xx - ss);
    EXPECT(err > 1e-4 * xx, "truncation lost some energy (%g)", err / xx);
    EXPECT(w.n_grow > 0, "the small Tucker had to grow");
    hosvd_work_free(&w);
    tucker_free(&t);
    mem_free(x); mem_free(Xn); mem_free(xh);
}

static void test_exact_energy_and_minimal_rank(void) {
    int d3[3] = {6, 8, 10}, g3[3] = {2, 3, 4};
    float e3[3] = {0.5f, 0.8f, 0.95f};
    exact_energy_case(d3, 3, g3, e3, 7);
    int d4[4] = {4, 5, 6, 7}, g4[4] = {1, 2, 2, 3};
    float e4[4] = {0.6f, 0.9f, 0.7f, 0.97f};
    exact_energy_case(d4, 4, g4, e4, 8);
}

// ASI: repeated single warm-started steps on a fixed tensor converge to the
// leading subspaces of the exact HOSVD; the Gram route, small V blocks and a
// repeated cold start give the same factors.
// dst takes src's factors as its warm start (dims, ranks, U), for comparing
// two routes of the same warm subspace step.
static void warm_from(Tucker *dst, const Tucker *src, int nd, const int *dims, const int *k) {
    for (int n = 0; n < nd; n++) {
        memcpy(dst->U[n], src->U[n], (size_t)dims[n] * k[n] * sizeof(float));
        dst->dims[n] = dims[n]; dst->ranks[n] = k[n];
    }
    dst->has_factors = 1;
}

static void subspace_case(const int *dims, int nd, const int *k, uint64_t seed) {
    Rng r; rng_seed(&r, seed);
    size_t tot = numel(dims, nd);
    float *x = gapped_tensor(&r, dims, nd, k);
    float one[4] = {1, 1, 1, 1};
    Tucker te;
    tucker_init(&te, nd, dims, NULL, 1);
    HosvdWork we;
    hosvd_work_init(&we, nd, dims, NULL, 0, HOSVD_EXACT);
    hosvd_exact(&te, x, dims, one, &we); // full factors, leading columns first
    Tucker t, t2;
    tucker_init(&t, nd, dims, k, 42);
    tucker_init(&t2, nd, dims, k, 42);
    HosvdWork w, w2;
    hosvd_work_init(&w, nd, dims, k, 0, HOSVD_SUBSPACE);
    hosvd_work_init(&w2, nd, dims, k, 0, HOSVD_SUBSPACE);
    // cold start is deterministic in the seed
    hosvd_subspace(&t, x, dims, k, &w);
    hosvd_subspace(&t2, x, dims, k, &w2);
    for (int n = 0; n < nd; n++)
        EXPECT(memcmp(t.U[n], t2.U[n], (size_t)dims[n] * k[n] * sizeof(float)) == 0, "mode %d: same seed, same first step", n);
    double first[4], last[4];
    for (int n = 0; n < nd; n++) first[n] = residual_outside(t.U[n], k[n], te.U[n], dims[n], k[n], dims[n]);
    for (int it = 0; it < 20; it++) hosvd_subspace(&t, x, dims, k, &w);
    for (int n = 0; n < nd; n++) {
        last[n] = residual_outside(t.U[n], k[n], te.U[n], dims[n], k[n], dims[n]);
        printf("  %d-mode mode %d (d=%d k=%d): ||(I - U U^T) U_exact||_F after 1 step %.3g, after 21 %.3g\n", nd, n,
               dims[n], k[n], first[n], last[n]);
        EXPECT(last[n] < 1e-3, "mode %d converged to the exact subspace: %g", n, last[n]);
        EXPECT(last[n] < first[n] || first[n] < 1e-3, "mode %d distance shrank: %g -> %g", n, first[n], last[n]);
        double oe = orthonormality_error(t.U[n], dims[n], k[n]);
        EXPECT(oe < 1e-5, "mode %d orthonormal: %g", n, oe);
    }
    // the same warm step by the other route (Gram <-> two-pass), and by the
    // two-pass route streamed in blocks of 2 rows of V
    Tucker t3;
    tucker_init(&t3, nd, dims, k, 42);
    warm_from(&t2, &t, nd, dims, k);
    warm_from(&t3, &t, nd, dims, k);
    HosvdWork w3;
    hosvd_work_init(&w3, nd, dims, k, 0, HOSVD_SUBSPACE);
    for (int n = 0; n < nd; n++) { w2.use_gram[n] = !w.use_gram[n]; w3.use_gram[n] = 0; }
    w3.cap_vblk = (size_t)(2 * 4); // 2 rows of V per block when k <= 4 (the buffer is larger)
    hosvd_subspace(&t, x, dims, k, &w);
    hosvd_subspace(&t2, x, dims, k, &w2);
    hosvd_subspace(&t3, x, dims, k, &w3);
    for (int n = 0; n < nd; n++) {
        char what[80];
        snprintf(what, sizeof what, "mode %d: other route (use_gram %d) = default", n, w2.use_gram[n]);
        EXPECT_CLOSE(what, t2.U[n], t.U[n], (size_t)dims[n] * k[n], 1e-4, 1e-3);
        snprintf(what, sizeof what, "mode %d: small V blocks = default", n);
        EXPECT_CLOSE(what, t3.U[n], t.U[n], (size_t)dims[n] * k[n], 1e-4, 1e-3);
    }
    EXPECT_CLOSE("cores agree (route)", t2.core, t.core, numel(k, nd), 1e-4, 1e-3);
    EXPECT_CLOSE("cores agree (blocks)", t3.core, t.core, numel(k, nd), 1e-4, 1e-3);
    // per-mode passes (no_fuse) against the default (3 modes: the fused step)
    Tucker t4;
    tucker_init(&t4, nd, dims, k, 42);
    warm_from(&t3, &t, nd, dims, k);
    warm_from(&t4, &t, nd, dims, k);
    HosvdWork w4;
    hosvd_work_init(&w4, nd, dims, k, 0, HOSVD_SUBSPACE);
    w4.no_fuse = 1;
    w3.fuse_cols = 5;   // several mode-0 column blocks, the last one partial
    for (int n = 0; n < nd; n++) { w3.use_gram[n] = 0; w4.use_gram[n] = 0; }
    Counters f0 = counters_get();
    hosvd_subspace(&t3, x, dims, k, &w3);
    Counters f1 = counters_get();
    hosvd_subspace(&t4, x, dims, k, &w4);
    Counters f2 = counters_get();
    double ff = counters_diff(f1, f0).flops[phase_get()], fp = counters_diff(f2, f1).flops[phase_get()];
    // the fused step (3 modes) adds the lanes' partial sums, (HOSVD_LANES - 1) (B k0 + N k1 + C k2) adds
    double lane_adds = 0;
    for (int n = 0; n < nd; n++) lane_adds += (double)dims[n] * wb_min(k[n], dims[n]);
    lane_adds *= nd == 3 ? HOSVD_LANES - 1 : 0;
    EXPECT(ff == fp + lane_adds && ff > 0, "fused step counted %.0f FLOPs, per-mode passes %.0f + %.0f lane sums", ff, fp,
           lane_adds);
    for (int n = 0; n < nd; n++) {
        char what[80];
        snprintf(what, sizeof what, "mode %d: fused = per-mode passes", n);
        EXPECT_CLOSE(what, t3.U[n], t4.U[n], (size_t)dims[n] * k[n], 1e-4, 1e-3);
    }
    EXPECT_CLOSE("cores agree (fused)", t3.core, t4.core, numel(k, nd), 1e-4, 1e-3);
    hosvd_work_free(&w3); hosvd_work_free(&w4);
    tucker_free(&t3); tucker_free(&t4);
    (void)tot;
    hosvd_work_free(&we); hosvd_work_free(&w); hosvd_work_free(&w2);
    tucker_free(&te); tucker_free(&t); tucker_free(&t2);
    mem_free(x);
}

static void test_subspace_converges_to_exact(void) {
    int d3[3] = {10, 12, 14}, k3[3] = {3, 4, 4};
    subspace_case(d3, 3, k3, 5);
    // the fused step's core along mode 2 first, then along mode 1 first (the smallest rank leads)
    int d3b[3] = {12, 10, 14}, k3b[3] = {5, 4, 2};
    subspace_case(d3b, 3, k3b, 7);
    int d3c[3] = {12, 14, 10}, k3c[3] = {5, 2, 4};
    subspace_case(d3c, 3, k3c, 8);
    int d4[4] = {4, 6, 5, 8}, k4[4] = {2, 3, 2, 3};
    subspace_case(d4, 4, k4, 6);
}

// A short last batch: the batch-mode rank is clamped to B and that factor restarts.
static void test_subspace_short_batch(void) {
    int dims[3] = {8, 5, 6}, k[3] = {4, 2, 3}, small[3] = {3, 5, 6};
    Rng r; rng_seed(&r, 9);
    float *x = randn(&r, numel(dims, 3));
    Tucker t;
    tucker_init(&t, 3, dims, k, 3);
    HosvdWork w;
    hosvd_work_init(&w, 3, dims, k, 0, HOSVD_SUBSPACE);
    hosvd_subspace(&t, x, dims, k, &w);
    hosvd_subspace(&t, x, small, k, &w); // first 3 images of the batch
    EXPECT(t.ranks[0] == 3 && t.ranks[1] == 2 && t.ranks[2] == 3, "ranks clamped to (3,2,3): (%d,%d,%d)", t.ranks[0], t.ranks[1], t.ranks[2]);
    EXPECT(orthonormality_error(t.U[0], 3, 3) < 1e-5, "clamped factor orthonormal");
    hosvd_subspace(&t, x, dims, k, &w);
    EXPECT(t.ranks[0] == 4 && orthonormality_error(t.U[0], 8, 4) < 1e-5, "full batch again: rank 4, orthonormal");
    EXPECT(w.n_grow == 0, "no growth (%d)", w.n_grow);
    hosvd_work_free(&w);
    tucker_free(&t);
    mem_free(x);
}

// dW (O,I) += dy^T x_hat from (dy, core, factors) vs the explicit rebuild.
static void dw_case(const int *dims, int nd, const int *k, int O, uint64_t seed) {
    Rng r; rng_seed(&r, seed);
    size_t tot = numel(dims, nd);
    int I = dims[nd - 1];
    long rows = (long)(tot / (size_t)I);
    Tucker t;
    tucker_init(&t, nd, dims, k, 0);
    for (int n = 0; n < nd; n++) {
        t.dims[n] = dims[n];
        t.ranks[n] = k[n];
        rng_fill_normal(&r, t.U[n], (long)dims[n] * k[n], 0, 1); // the contraction needs no orthonormality
    }
    rng_fill_normal(&r, t.core, (long)numel(k, nd), 0, 1);
    t.has_factors = 1;
    float *xh = mem_alloc_floats(tot, MEM_WORKSPACE);
    tucker_reconstruct(xh, &t);
    float *dy = randn(&r, (size_t)rows * O);
    float *dW = randn(&r, (size_t)O * I), *ref = mem_alloc_floats((size_t)O * I, MEM_WORKSPACE);
    float *delta = mem_alloc_floats((size_t)O * I, MEM_WORKSPACE);
    memcpy(ref, dW, (size_t)O * I * sizeof(float));
    memcpy(delta, dW, (size_t)O * I * sizeof(float));
    gemm_naive(1, 0, O, I, (int)rows, 1.0f, dy, O, xh, I, 1.0f, ref, I); // dW0 + dy^T x_hat
    HosvdWork w;
    hosvd_work_init(&w, nd, dims, k, O, HOSVD_SUBSPACE);
    Counters c0 = counters_get();
    tucker_dw(dW, dy, O, &t, &w);
    double fl = counters_diff(counters_get(), c0).flops[phase_get()];
    char what[128];
    snprintf(what, sizeof what, "dW %d-mode (%d,%d,%d,%d) k (%d,%d,%d,%d) O=%d", nd, dims[0], dims[1], dims[2],
             nd > 3 ? dims[3] : 0, k[0], k[1], k[2], nd > 3 ? k[3] : 0, O);
    double scale = tl_max_abs(ref, (size_t)O * I);
    EXPECT_CLOSE(what, dW, ref, (size_t)O * I, 1e-5 * scale, 1e-4);
    for (size_t i = 0; i < (size_t)O * I; i++) delta[i] = dW[i] - delta[i];
    EXPECT_NONZERO("dW accumulated something", delta, (size_t)O * I);
    EXPECT(fl > 0 && w.n_grow == 0, "%s: %.0f flops, %d growths", what, fl, w.n_grow);
    hosvd_work_free(&w);
    tucker_free(&t);
    mem_free(xh); mem_free(dy); mem_free(dW); mem_free(ref); mem_free(delta);
}

static void test_dw_contraction(void) {
    int a[3] = {5, 7, 6}, ka[3] = {2, 3, 4};
    dw_case(a, 3, ka, 9, 1);
    int b[3] = {1, 3, 5}, kb[3] = {1, 2, 5};
    dw_case(b, 3, kb, 4, 2);
    int c[3] = {4, 6, 3}, kc[3] = {4, 6, 3};
    dw_case(c, 3, kc, 1, 3);
    int d[3] = {7, 2, 11}, kd[3] = {3, 1, 2};
    dw_case(d, 3, kd, 13, 4);
    int e[4] = {3, 4, 5, 6}, ke[4] = {2, 3, 2, 4};
    dw_case(e, 4, ke, 7, 5);
    int f[4] = {2, 1, 3, 5}, kf[4] = {1, 1, 2, 3};
    dw_case(f, 4, kf, 3, 6);
    int g[4] = {3, 2, 2, 4}, kg[4] = {3, 2, 2, 4};
    dw_case(g, 4, kg, 5, 7);
}

// With epsilon = 1 the contraction from an exact HOSVD is vanilla's dy^T x.
static void test_dw_full_rank_is_vanilla(void) {
    int dims[3] = {4, 5, 6}, O = 7;
    Rng r; rng_seed(&r, 77);
    size_t tot = numel(dims, 3);
    float *x = randn(&r, tot), *dy = randn(&r, (size_t)20 * O);
    float *dW = mem_alloc_floats((size_t)O * 6, MEM_WORKSPACE), *ref = mem_alloc_floats((size_t)O * 6, MEM_WORKSPACE);
    float one[3] = {1, 1, 1};
    Tucker t;
    tucker_init(&t, 3, dims, NULL, 1);
    HosvdWork w;
    hosvd_work_init(&w, 3, dims, NULL, O, HOSVD_EXACT);
    hosvd_exact(&t, x, dims, one, &w);
    tucker_dw(dW, dy, O, &t, &w);
    gemm_naive(1, 0, O, 6, 20, 1.0f, dy, O, x, 6, 0.0f, ref, 6);
    EXPECT_CLOSE("full-rank HOSVD dW = dy^T x", dW, ref, (size_t)O * 6, 1e-4, 1e-4);
    hosvd_work_free(&w);
    tucker_free(&t);
    mem_free(x); mem_free(dy); mem_free(dW); mem_free(ref);
}

// A workspace shared by layers of different shapes is sized per buffer:
// it serves each of them without growing, and for Swin-like stages (large
// maps with few channels, small maps with many) it is far below one sized at
// the elementwise largest dims.
static void test_shared_workspace_per_buffer(void) {
    int da[4] = {2, 12, 12, 6}, ka[4] = {2, 3, 3, 4}, db[4] = {2, 3, 3, 48}, kb[4] = {2, 2, 2, 8};
    HosvdSizes sa, sb, m, big;
    hosvd_work_sizes(&sa, 4, da, ka, 24, HOSVD_SUBSPACE);
    hosvd_work_sizes(&sb, 4, db, kb, 96, HOSVD_SUBSPACE);
    memset(&m, 0, sizeof m);
    hosvd_sizes_max(&m, &sa);
    hosvd_sizes_max(&m, &sb);
    int dmax[4], kmax[4];
    for (int n = 0; n < 4; n++) { dmax[n] = wb_max(da[n], db[n]); kmax[n] = wb_max(ka[n], kb[n]); }
    hosvd_work_sizes(&big, 4, dmax, kmax, 96, HOSVD_SUBSPACE);
    double fm = hosvd_sizes_floats(&m), fb = hosvd_sizes_floats(&big);
    printf("  shared workspace: per-buffer max %.0f floats, elementwise-max dims %.0f floats\n", fm, fb);
    EXPECT(fm < 0.5 * fb, "per-buffer sizing %.0f vs %.0f floats", fm, fb);
    EXPECT(fm >= hosvd_sizes_floats(&sa) && fm >= hosvd_sizes_floats(&sb), "covers both layers");
    HosvdWork w;
    size_t before = mem_stats().current[MEM_WORKSPACE];
    hosvd_work_init_sizes(&w, &m);
    size_t bytes = mem_stats().current[MEM_WORKSPACE] - before;
    EXPECT(bytes >= 4 * fm && bytes < 4 * fm + (size_t)(1 << 20), "built %zu B for %.0f floats (+ LAPACK work)", bytes, fm);
    Rng r; rng_seed(&r, 31);
    const int *dims[2] = {da, db}, *ks[2] = {ka, kb};
    for (int l = 0; l < 2; l++) {
        Tucker t;
        tucker_init(&t, 4, dims[l], ks[l], 3);
        float *x = randn(&r, numel(dims[l], 4));
        for (int s = 0; s < 2; s++) hosvd_subspace(&t, x, dims[l], ks[l], &w);
        int O = l ? 96 : 24;
        float *dy = randn(&r, numel(dims[l], 3) * (size_t)O), *dW = mem_alloc_floats((size_t)O * dims[l][3], MEM_WORKSPACE);
        memset(dW, 0, sizeof(float) * (size_t)O * dims[l][3]);
        tucker_dw(dW, dy, O, &t, &w);
        EXPECT_NONZERO("dW from the shared workspace", dW, (size_t)O * dims[l][3]);
        mem_free(x); mem_free(dy); mem_free(dW);
        tucker_free(&t);
    }
    EXPECT(w.n_grow == 0, "the shared workspace grew %d times", w.n_grow);
    hosvd_work_free(&w);
}

// A settled ASI step (decomposition + contraction) allocates nothing.
static void test_no_allocation_in_hot_path(void) {
    int dims[3] = {16, 10, 24}, k[3] = {4, 3, 6}, O = 12;
    Rng r; rng_seed(&r, 12);
    float *x = randn(&r, numel(dims, 3)), *dy = randn(&r, (size_t)160 * O), *dW = mem_alloc_floats((size_t)O * 24, MEM_WORKSPACE);
    Tucker t;
    tucker_init(&t, 3, dims, k, 5);
    HosvdWork w;
    hosvd_work_init(&w, 3, dims, k, O, HOSVD_SUBSPACE);
    hosvd_subspace(&t, x, dims, k, &w); // cold
    tucker_dw(dW, dy, O, &t, &w);
    size_t before = mem_stats().n_allocs;
    for (int it = 0; it < 3; it++) {
        hosvd_subspace(&t, x, dims, k, &w); // warm
        tucker_dw(dW, dy, O, &t, &w);
    }
    EXPECT(mem_stats().n_allocs == before, "%zu allocations in 3 steps", mem_stats().n_allocs - before);
    EXPECT(tucker_numel(&t) == (size_t)4 * 3 * 6 + 16 * 4 + 10 * 3 + 24 * 6, "saved floats %zu", tucker_numel(&t));
    EXPECT(mem_category(t.core) == MEM_ACTIVATIONS && mem_category(t.U[0]) == MEM_ACTIVATIONS &&
           mem_category(w.acc) == MEM_WORKSPACE, "categories");
    hosvd_work_free(&w);
    tucker_free(&t);
    mem_free(x); mem_free(dy); mem_free(dW);
}

// Timings on the paper's vit_b_32 MLP activations (WB_BENCH=1 only).
static void test_bench_paper_shapes(void) {
    if (!getenv("WB_BENCH")) { printf("  (set WB_BENCH=1 for the timings)\n"); return; }
    threads_set(2);
    int Cs[2] = {768, 3072};
    Rng r; rng_seed(&r, 2026);
    for (int ci = 0; ci < 2; ci++) {
        int dims[3] = {128, 50, Cs[ci]}, k[3] = {8, 8, 32};
        size_t tot = numel(dims, 3);
        float *x = randn(&r, tot);
        float eps[3] = {0.9f, 0.9f, 0.9f};
        Tucker te, ts;
        tucker_init(&te, 3, dims, NULL, 1);
        tucker_init(&ts, 3, dims, k, 1);
        HosvdWork we, ws;
        hosvd_work_init(&we, 3, dims, NULL, 0, HOSVD_EXACT);
        hosvd_work_init(&ws, 3, dims, k, 0, HOSVD_SUBSPACE);
        Counters c0 = counters_get();
        double t0 = wall_seconds();
        hosvd_exact(&te, x, dims, eps, &we);
        double t1 = wall_seconds();
        Counters c1 = counters_get();
        hosvd_subspace(&ts, x, dims, k, &ws); // cold (Gaussian)
        double t2 = wall_seconds();
        Counters c2 = counters_get();
        hosvd_subspace(&ts, x, dims, k, &ws); // warm
        double t3 = wall_seconds();
        Counters c3 = counters_get();
        Phase p = phase_get();
        printf("  x (128,50,%d): exact HOSVD eps 0.9 -> ranks (%d,%d,%d): %.3f s, %.2f GFLOP counted\n", Cs[ci],
               te.ranks[0], te.ranks[1], te.ranks[2], t1 - t0, (c1.flops[p] - c0.flops[p]) * 1e-9);
        printf("  x (128,50,%d): subspace HOSVD ranks (8,8,32): cold %.3f s (%.2f GFLOP), warm %.3f s (%.2f GFLOP)\n",
               Cs[ci], t2 - t1, (c2.flops[p] - c1.flops[p]) * 1e-9, t3 - t2, (c3.flops[p] - c2.flops[p]) * 1e-9);
        printf("  workspace: exact %.1f MB, subspace %.1f MB; saved: x %.1f MB, ASI Tucker %.3f MB\n",
               (double)(mem_size(we.gram) + mem_size(we.eig.work) + mem_size(we.buf[0]) + mem_size(we.buf[1])) / 1e6,
               (double)(mem_size(ws.acc) + mem_size(ws.vblk) + mem_size(ws.buf[0]) + mem_size(ws.buf[1]) + mem_size(ws.orth.work)) / 1e6,
               (double)tot * 4e-6, (double)tucker_numel(&ts) * 4e-6);
        hosvd_work_free(&we); hosvd_work_free(&ws);
        tucker_free(&te);
        if (ci == 0) { // dW for fc1: x (128,50,768), dy (128,50,3072)
            int O = 3072, I = 768, rows = 128 * 50;
            float *dy = randn(&r, (size_t)rows * O), *dW = mem_alloc_floats((size_t)O * I, MEM_WORKSPACE);
            HosvdWork wc;
            hosvd_work_init(&wc, 3, dims, k, O, 0);
            double a0 = wall_seconds();
            Counters d0 = counters_get();
            tucker_dw(dW, dy, O, &ts, &wc);
            double a1 = wall_seconds();
            Counters d1 = counters_get();
            gemm(1, 0, O, I, rows, 1.0f, dy, O, x, I, 1.0f, dW, I);
            double a2 = wall_seconds();
            Counters d2 = counters_get();
            printf("  dW (3072,768) from Tucker (8,8,32): %.4f s, %.3f GFLOP; dense dy^T x: %.4f s, %.2f GFLOP\n", a1 - a0,
                   (d1.flops[p] - d0.flops[p]) * 1e-9, a2 - a1, (d2.flops[p] - d1.flops[p]) * 1e-9);
            hosvd_work_free(&wc);
            mem_free(dy); mem_free(dW);
        }
        tucker_free(&ts);
        mem_free(x);
    }
    threads_set(1);
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    threads_set(1);
    RUN(test_unfold_vs_naive);
    RUN(test_mode_ops_vs_naive);
    RUN(test_exact_full_rank_reconstructs);
    RUN(test_exact_energy_and_minimal_rank);
    RUN(test_subspace_converges_to_exact);
    RUN(test_subspace_short_batch);
    RUN(test_dw_contraction);
    RUN(test_dw_full_rank_is_vanilla);
    RUN(test_shared_workspace_per_buffer);
    RUN(test_no_allocation_in_hot_path);
    RUN(test_bench_paper_shapes);
    return tl_finish();
}
