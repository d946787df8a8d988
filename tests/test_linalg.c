// test_linalg.c: the explained-variance rank rule, thin SVD factors L R,
// Householder orth, and weight subspace iteration (both R variants), on
// matrices with known spectra built from random orthogonal factors.
#include "core/linalg/blas.h"
#include "core/runtime/counters.h"
#include "core/linalg/linalg.h"
#include "core/io/safetensors.h"
#include "core/runtime/memory.h"
#include "core/runtime/rng.h"
#include "tests/testlib.h"

#include <math.h>
#include <string.h>

// Q (m,k) with orthonormal columns: orth of a Gaussian matrix.
static float *random_orthonormal(Rng *r, int m, int k) {
    float *Q = mem_alloc_floats((size_t)m * k, MEM_WORKSPACE);
    rng_fill_normal(r, Q, (long)m * k, 0, 1);
    OrthWork ow;
    orth_work_init(&ow, m, k);
    orth_inplace(Q, m, k, &ow);
    orth_work_free(&ow);
    return Q;
}

// W (O,I) = Uo diag(s) Ui^T with Uo (O,mn), Ui (I,mn) orthonormal; s (mn) given.
static float *matrix_with_spectrum(float *Uo, float *Ui, const float *s, int O, int I) {
    int mn = wb_min(O, I);
    float *US = mem_alloc_floats((size_t)O * mn, MEM_WORKSPACE);
    for (int o = 0; o < O; o++)
        for (int j = 0; j < mn; j++) US[(size_t)o * mn + j] = Uo[(size_t)o * mn + j] * s[j];
    float *W = mem_alloc_floats((size_t)O * I, MEM_WORKSPACE);
    gemm_naive(0, 1, O, I, mn, 1.0f, US, mn, Ui, mn, 0.0f, W, I);
    mem_free(US);
    return W;
}

// max |Q^T Q - I| for Q (m,k)
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

// ||(I - L L^T) U||_F for L (m,k) orthonormal, U (m,k2) with row stride ldu.
static double residual_outside(const float *L, int k, const float *U, int ldu, int k2, int m) {
    double tot = 0;
    for (int c = 0; c < k2; c++) {
        double proj[256] = {0};
        for (int a = 0; a < k; a++)
            for (int i = 0; i < m; i++) proj[a] += (double)L[(size_t)i * k + a] * (double)U[(size_t)i * ldu + c];
        for (int i = 0; i < m; i++) {
            double v = U[(size_t)i * ldu + c];
            for (int a = 0; a < k; a++) v -= (double)L[(size_t)i * k + a] * proj[a];
            tot += v * v;
        }
    }
    return sqrt(tot);
}

static void test_energy_rank_rule(void) {
    float s[4] = {3, 2, 1, 0}; // energies 9, 4, 1, 0 of 14
    EXPECT(svd_energy_rank(s, 4, 9.0f / 14.0f) == 1, "exactly 9/14 reached by k=1: got %d", svd_energy_rank(s, 4, 9.0f / 14.0f));
    EXPECT(svd_energy_rank(s, 4, 0.65f) == 2, "0.65 needs k=2: got %d", svd_energy_rank(s, 4, 0.65f));
    EXPECT(svd_energy_rank(s, 4, 13.0f / 14.0f) == 2, "13/14 reached by k=2: got %d", svd_energy_rank(s, 4, 13.0f / 14.0f));
    EXPECT(svd_energy_rank(s, 4, 0.93f) == 3, "0.93 needs k=3: got %d", svd_energy_rank(s, 4, 0.93f));
    EXPECT(svd_energy_rank(s, 4, 0.9999999f) == 3, "all energy is in 3: got %d", svd_energy_rank(s, 4, 0.9999999f));
    EXPECT(svd_energy_rank(s, 4, 1.0f) == 4, "epsilon=1 is full rank even with a zero sigma: got %d", svd_energy_rank(s, 4, 1.0f));
    EXPECT(svd_energy_rank(s, 4, 1.5f) == 4, "epsilon>1 is full rank");
    EXPECT(svd_energy_rank(s, 4, 0.0f) == 1, "epsilon=0 keeps one");
    float z[3] = {0, 0, 0};
    EXPECT(svd_energy_rank(z, 3, 0.5f) == 1, "zero spectrum keeps one");
    // a boundary hit in float: energies 0.9 / 0.1 as float sigmas, epsilon 0.9f
    float b[2] = {sqrtf(0.9f), sqrtf(0.1f)};
    EXPECT(svd_energy_rank(b, 2, 0.9f) == 1, "float rounding at the boundary must not add a rank: got %d", svd_energy_rank(b, 2, 0.9f));
    float e[4] = {9, 4, 1, -1e-7f}; // Gram eigenvalues: a rounding negative counts as 0
    EXPECT(energy_rank(e, 4, 0.65f) == 2 && energy_rank(e, 4, 0.99999f) == 3, "energy_rank on eigenvalues: %d %d",
           energy_rank(e, 4, 0.65f), energy_rank(e, 4, 0.99999f));
}

// Known spectrum: the computed sigma matches it, the chosen k is minimal with
// energy >= epsilon (checked on the known spectrum), and L R is the rank-k truncation.
static void svd_case(int O, int I, uint64_t seed) {
    Rng r; rng_seed(&r, seed);
    int mn = wb_min(O, I);
    float *Uo = random_orthonormal(&r, O, mn), *Ui = random_orthonormal(&r, I, mn);
    float s[256];
    for (int j = 0; j < mn; j++) s[j] = 5.0f * powf(0.8f, (float)j) + 0.01f * (float)(mn - j); // distinct, decaying
    float *W = matrix_with_spectrum(Uo, Ui, s, O, I);
    SvdWork sw;
    svd_work_init(&sw, O, I);
    Counters c0 = counters_get();
    svd_compute(&sw, W);
    double fl = counters_diff(counters_get(), c0).flops[phase_get()];
    double M = wb_max(O, I), N = mn;
    EXPECT(fl == 6 * M * N * N + 20 * N * N * N, "svd charged %.0f flops", fl);
    char what[96];
    snprintf(what, sizeof what, "sigma (%d,%d)", O, I);
    EXPECT_CLOSE(what, sw.s, s, (size_t)mn, 1e-5, 1e-4);
    double tot = 0;
    for (int j = 0; j < mn; j++) tot += (double)s[j] * (double)s[j];
    float eps_list[] = {0.3f, 0.5f, 0.8f, 0.9f, 0.99f, 0.999f, 1.0f};
    float *L = mem_alloc_floats((size_t)O * mn, MEM_WORKSPACE), *R = mem_alloc_floats((size_t)mn * I, MEM_WORKSPACE);
    float *LR = mem_alloc_floats((size_t)O * I, MEM_WORKSPACE), *Wk = mem_alloc_floats((size_t)O * I, MEM_WORKSPACE);
    for (size_t e = 0; e < sizeof eps_list / sizeof eps_list[0]; e++) {
        float eps = eps_list[e];
        int k = svd_energy_rank(sw.s, mn, eps);
        double ek = 0, ekm1 = 0;
        for (int j = 0; j < k; j++) ek += (double)s[j] * (double)s[j];
        ekm1 = ek - (double)s[k - 1] * (double)s[k - 1];
        if (eps >= 1.0f) EXPECT(k == mn, "epsilon=1 gives full rank %d, got %d", mn, k);
        else {
            EXPECT(ek / tot >= (double)eps - 1e-5, "(%d,%d) eps %.3f: k=%d holds only %.6f", O, I, (double)eps, k, ek / tot);
            EXPECT(k == 1 || ekm1 / tot < (double)eps, "(%d,%d) eps %.3f: k=%d not minimal (k-1 holds %.6f)", O, I, (double)eps, k, ekm1 / tot);
        }
        svd_factors(L, R, &sw, k);
        gemm_naive(0, 0, O, I, k, 1.0f, L, k, R, I, 0.0f, LR, I);
        // rank-k truncation from the known factors
        float *US = mem_alloc_floats((size_t)O * k, MEM_WORKSPACE), *Uik = mem_alloc_floats((size_t)I * k, MEM_WORKSPACE);
        for (int o = 0; o < O; o++) for (int j = 0; j < k; j++) US[(size_t)o * k + j] = Uo[(size_t)o * mn + j] * s[j];
        for (int i = 0; i < I; i++) for (int j = 0; j < k; j++) Uik[(size_t)i * k + j] = Ui[(size_t)i * mn + j];
        gemm_naive(0, 1, O, I, k, 1.0f, US, k, Uik, k, 0.0f, Wk, I);
        snprintf(what, sizeof what, "L R = W_k (%d,%d) k=%d", O, I, k);
        EXPECT_CLOSE(what, LR, Wk, (size_t)O * I, 2e-5, 1e-4);
        double oe = orthonormality_error(L, O, k);
        EXPECT(oe < 1e-5, "L orthonormal: %g", oe);
        mem_free(US); mem_free(Uik);
    }
    // at full rank L R is W itself
    svd_factors(L, R, &sw, mn);
    gemm_naive(0, 0, O, I, mn, 1.0f, L, mn, R, I, 0.0f, LR, I);
    EXPECT_CLOSE("L R = W at full rank", LR, W, (size_t)O * I, 2e-5, 1e-4);
    svd_work_free(&sw);
    mem_free(Uo); mem_free(Ui); mem_free(W); mem_free(L); mem_free(R); mem_free(LR); mem_free(Wk);
}

static void test_svd_known_spectrum(void) {
    svd_case(40, 25, 1);
    svd_case(25, 40, 2);
    svd_case(64, 64, 3);
    svd_case(1, 7, 4);
}

static void orth_case(int m, int k, uint64_t seed) {
    Rng r; rng_seed(&r, seed);
    float *A = mem_alloc_floats((size_t)m * k, MEM_WORKSPACE), *Q = mem_alloc_floats((size_t)m * k, MEM_WORKSPACE);
    rng_fill_normal(&r, A, (long)m * k, 0, 1);
    for (long i = 0; i < (long)m * k; i += 3) A[i] *= 10.0f; // uneven column scales
    memcpy(Q, A, (size_t)m * k * sizeof(float));
    OrthWork ow;
    orth_work_init(&ow, m + 5, k + 2); // a larger workspace serves smaller shapes
    Counters c0 = counters_get();
    orth_inplace(Q, m, k, &ow);
    double fl = counters_diff(counters_get(), c0).flops[phase_get()];
    double M = m, K = k;
    double want = floor(2 * K * K * (M - K / 3) + 0.5) + floor(2 * M * K * K - 2 * K * K * K / 3 + 0.5);
    EXPECT(fl == want, "orth charged %.0f flops, want %.0f", fl, want);
    double oe = orthonormality_error(Q, m, k);
    EXPECT(oe < 1e-5, "(%d,%d): max |Q^T Q - I| = %g", m, k, oe);
    // spans A: A - Q Q^T A = 0
    double res = residual_outside(Q, k, A, k, k, m), an = 0;
    for (long i = 0; i < (long)m * k; i++) an += (double)A[i] * (double)A[i];
    EXPECT(res / sqrt(an) < 1e-5, "(%d,%d): ||(I - Q Q^T) A|| / ||A|| = %g", m, k, res / sqrt(an));
    // sign rule: R = Q^T A has a positive diagonal (and is upper triangular)
    double low = 0, mind = INFINITY;
    for (int a = 0; a < k; a++)
        for (int b = 0; b <= a; b++) {
            double rab = 0;
            for (int i = 0; i < m; i++) rab += (double)Q[(size_t)i * k + a] * (double)A[(size_t)i * k + b];
            if (a == b) mind = fmin(mind, rab);
            else low = fmax(low, fabs(rab));
        }
    EXPECT(mind > 0, "(%d,%d): smallest diagonal entry of R = Q^T A is %g", m, k, mind);
    EXPECT(low < 1e-4 * sqrt(an), "(%d,%d): R = Q^T A has %g below its diagonal", m, k, low);
    orth_work_free(&ow);
    mem_free(A); mem_free(Q);
}

static void test_orth(void) {
    orth_case(50, 7, 11);
    orth_case(7, 7, 12);
    orth_case(300, 32, 13);
    orth_case(1, 1, 14);
    orth_case(129, 1, 15);
}

// W with a spectral gap after k: subspace iteration from a random L converges
// to U_k; R (both variants) and the FLOP count are checked on every step.
static void test_weight_subspace_iteration(void) {
    int O = 60, I = 45, k = 5, mn = 45;
    Rng r; rng_seed(&r, 21);
    float *Uo = random_orthonormal(&r, O, mn), *Ui = random_orthonormal(&r, I, mn);
    float s[45];
    for (int j = 0; j < mn; j++) s[j] = j < k ? 10.0f - (float)j : 3.0f * powf(0.9f, (float)(j - k));
    float *W = matrix_with_spectrum(Uo, Ui, s, O, I);
    float *L = random_orthonormal(&r, O, k), *L2 = mem_alloc_floats((size_t)O * k, MEM_WORKSPACE);
    float *R = mem_alloc_floats((size_t)k * I, MEM_WORKSPACE), *R2 = mem_alloc_floats((size_t)k * I, MEM_WORKSPACE);
    float *Rref = mem_alloc_floats((size_t)k * I, MEM_WORKSPACE);
    WsiWork ww;
    wsi_work_init(&ww, O, I, k);
    double d0 = residual_outside(L, k, Uo, mn, k, O), prev = d0, dist[30];
    int monotone = 1;
    for (int it = 0; it < 30; it++) {
        // 'previous' from the same L_prev: R must be L_prev^T W, L the same as 'current'
        memcpy(L2, L, (size_t)O * k * sizeof(float));
        gemm_naive(1, 0, k, I, O, 1.0f, L, k, W, I, 0.0f, Rref, I);
        weight_subspace_step(L2, R2, W, O, I, k, 1, &ww);
        if (it == 0 || it == 29) EXPECT_CLOSE("previous: R = L_prev^T W", R2, Rref, (size_t)k * I, 1e-5, 1e-4);
        Counters c0 = counters_get();
        weight_subspace_step(L, R, W, O, I, k, 0, &ww);
        double fl = counters_diff(counters_get(), c0).flops[phase_get()];
        double OO = O, II = I, K = k;
        double want = 3 * 2 * OO * II * K + floor(2 * K * K * (OO - K / 3) + 0.5) + floor(2 * OO * K * K - 2 * K * K * K / 3 + 0.5);
        EXPECT(fl == want, "step charged %.0f flops, want %.0f", fl, want);
        EXPECT_CLOSE("both variants give the same L", L2, L, (size_t)O * k, 1e-6, 1e-5);
        gemm_naive(1, 0, k, I, O, 1.0f, L, k, W, I, 0.0f, Rref, I);
        if (it == 0 || it == 29) EXPECT_CLOSE("current: R = L^T W", R, Rref, (size_t)k * I, 1e-5, 1e-4);
        dist[it] = residual_outside(L, k, Uo, mn, k, O);
        if (dist[it] > prev * 1.0001 + 1e-6) monotone = 0;
        prev = dist[it];
    }
    printf("  ||(I - L L^T) U_k||_F: start %.3g, steps 1,2,5,10,30: %.3g %.3g %.3g %.3g %.3g\n", d0, dist[0], dist[1],
           dist[4], dist[9], dist[29]);
    EXPECT(d0 > 0.5, "random start is far from U_k (%g)", d0);
    EXPECT(monotone, "distance to U_k shrinks every step");
    EXPECT(dist[29] < 1e-4, "converged: %g", dist[29]);
    double oe = orthonormality_error(L, O, k);
    EXPECT(oe < 1e-5, "L orthonormal after 30 steps: %g", oe);
    // converged: L R is the rank-k truncation of W
    float *LR = mem_alloc_floats((size_t)O * I, MEM_WORKSPACE), *Wk = mem_alloc_floats((size_t)O * I, MEM_WORKSPACE);
    gemm_naive(0, 0, O, I, k, 1.0f, L, k, R, I, 0.0f, LR, I);
    SvdWork sw;
    svd_work_init(&sw, O, I);
    svd_compute(&sw, W);
    svd_factors(L2, R2, &sw, k);
    gemm_naive(0, 0, O, I, k, 1.0f, L2, k, R2, I, 0.0f, Wk, I);
    EXPECT_CLOSE("converged L R = W_k", LR, Wk, (size_t)O * I, 1e-4, 1e-4);
    svd_work_free(&sw);
    wsi_work_free(&ww);
    mem_free(Uo); mem_free(Ui); mem_free(W); mem_free(L); mem_free(L2); mem_free(R); mem_free(R2); mem_free(Rref);
    mem_free(LR); mem_free(Wk);
}

static void test_eig(void) {
    int n = 17;
    Rng r; rng_seed(&r, 31);
    float *Q = random_orthonormal(&r, n, n), *A = mem_alloc_floats((size_t)n * n, MEM_WORKSPACE);
    float lam[17], QL[17 * 17];
    for (int j = 0; j < n; j++) lam[j] = (float)(j * j) - 20.0f; // ascending, one negative
    for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) QL[i * n + j] = Q[i * n + j] * lam[j];
    gemm_naive(0, 1, n, n, n, 1.0f, QL, n, Q, n, 0.0f, A, n);
    EigWork e;
    eig_work_init(&e, n + 3);
    sym_eig_inplace(A, n, &e);
    EXPECT_CLOSE("eigenvalues", e.evals, lam, (size_t)n, 1e-4, 1e-5);
    // each row of the overwritten A is +-the column of Q
    for (int j = 0; j < n; j++) {
        double dot = 0;
        for (int i = 0; i < n; i++) dot += (double)A[(size_t)j * n + i] * (double)Q[(size_t)i * n + j];
        EXPECT(fabs(fabs(dot) - 1) < 1e-4, "eigenvector %d: |<v, q>| = %g", j, fabs(dot));
    }
    eig_work_free(&e);
    mem_free(Q); mem_free(A);
}

// Principal angles (linalg.h subspace_max_angle): known cases, then the
// torch/numpy reference on random subspaces (tests/ref_subspace.py).
static void test_principal_angle_known(void) {
    Rng r;
    rng_seed(&r, 15);
    const int I = 20, K = 4;
    // rows of V^T: the transpose of an (I,K) orthonormal basis
    float *Q = random_orthonormal(&r, I, 2 * K), *V0 = mem_alloc_floats((size_t)K * I, MEM_WORKSPACE),
          *V1 = mem_alloc_floats((size_t)K * I, MEM_WORKSPACE), *V2 = mem_alloc_floats((size_t)K * I, MEM_WORKSPACE);
    for (int k = 0; k < K; k++)
        for (int i = 0; i < I; i++) {
            V0[(size_t)k * I + i] = Q[(size_t)i * 2 * K + k];
            V1[(size_t)k * I + i] = Q[(size_t)i * 2 * K + K + k];   // the orthogonal complement's directions
        }
    double a0 = subspace_max_angle(V0, V0, I, K);
    EXPECT(a0 < 1e-5, "an unchanged subspace has angle 0: got %g", a0);
    double a1 = subspace_max_angle(V0, V1, I, K);
    EXPECT(fabs(a1 - acos(0.0)) < 1e-6, "an orthogonal subspace has angle pi/2: got %.9f", a1);
    // a reordered, sign-flipped basis of the same subspace: still 0
    for (int k = 0; k < K; k++)
        for (int i = 0; i < I; i++) V2[(size_t)k * I + i] = (k % 2 ? -1.0f : 1.0f) * V0[(size_t)((k + 1) % K) * I + i];
    double a2 = subspace_max_angle(V0, V2, I, K);
    EXPECT(a2 < 1e-5, "another basis of the same subspace has angle 0: got %g", a2);
    // one direction rotated by theta towards the complement, the others kept: theta
    const double th[4] = {1e-3, 0.05, 0.7, 1.3};
    for (int t = 0; t < 4; t++) {
        memcpy(V2, V0, sizeof(float) * (size_t)K * I);
        for (int i = 0; i < I; i++) V2[(size_t)2 * I + i] = (float)(cos(th[t]) * (double)V0[(size_t)2 * I + i] + sin(th[t]) * (double)V1[i]);
        double a = subspace_max_angle(V0, V2, I, K);
        EXPECT(fabs(a - th[t]) < 2e-6 + 1e-5 * th[t], "a rotation by %g rad in one plane: got %.9f", th[t], a);
    }
    // the one-shared-direction case: the largest angle is the orthogonal one
    memcpy(V2, V1, sizeof(float) * (size_t)K * I);
    memcpy(V2, V0, sizeof(float) * (size_t)I);
    double a3 = subspace_max_angle(V0, V2, I, K);
    EXPECT(fabs(a3 - acos(0.0)) < 1e-6, "a shared direction does not hide an orthogonal one: got %.9f", a3);
    mem_free(Q); mem_free(V0); mem_free(V1); mem_free(V2);
}

static void test_principal_angle_reference(void) {
    SafeTensors st;
    WbError err;
    if (st_open(&st, "tests/data/ref/subspace_v1.safetensors", &err) < 0) {
        EXPECT(0, "%s (generate it with: bash tests/make_reference.sh)", err.msg);
        return;
    }
    int cases = 0;
    for (int c = 0;; c++) {
        char n0[32], n1[32], na[32];
        snprintf(n0, sizeof n0, "case%d/v0", c);
        snprintf(n1, sizeof n1, "case%d/v", c);
        snprintf(na, sizeof na, "case%d/angle", c);
        const StTensor *t = st_find(&st, n0);
        if (!t) break;
        int K = (int)t->shape[0], I = (int)t->shape[1];
        size_t n;
        float *v0 = tl_read_tensor(&st, n0, &n), *v = tl_read_tensor(&st, n1, &n), *want = tl_read_tensor(&st, na, &n);
        double a = subspace_max_angle(v0, v, I, K);
        EXPECT(fabs(a - (double)want[0]) < 1e-5, "case %d (K=%d, I=%d): angle %.9f, torch/numpy %.9f", c, K, I, a, (double)want[0]);
        mem_free(v0); mem_free(v); mem_free(want);
        cases++;
    }
    EXPECT(cases == 7, "tests/ref_subspace.py writes 7 cases, read %d", cases);
    st_close(&st);
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    threads_set(1);
    RUN(test_energy_rank_rule);
    RUN(test_svd_known_spectrum);
    RUN(test_orth);
    RUN(test_eig);
    RUN(test_weight_subspace_iteration);
    RUN(test_principal_angle_known);
    RUN(test_principal_angle_reference);
    return tl_finish();
}
