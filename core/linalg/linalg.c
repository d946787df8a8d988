// linalg.c: thin SVD, explained-variance rank, Householder orth, symmetric
// eigen-decomposition and weight subspace iteration (see linalg.h for the
// column-major trick and the textbook FLOP counts charged for LAPACK calls).
#include "core/linalg/linalg.h"
#include "core/linalg/blas.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"

#include <lapacke.h>
#include <math.h>
// lapack.h pulls in <complex.h>, whose macro `I` would shadow our in-features.
#undef I
#include <string.h>

// --- explained-variance rank ------------------------------------------------

static int rank_rule(const float *v, int n, float epsilon, int square) {
    CHECK(n >= 1, "energy rank of an empty spectrum (n=%d)", n);
    if (epsilon >= 1.0f) return n;
    if (epsilon <= 0.0f) return 1;
    double total = 0;
    for (int i = 0; i < n; i++) {
        double e = square ? (double)v[i] * (double)v[i] : (double)v[i];
        total += e > 0 ? e : 0;
    }
    if (!(total > 0)) return 1;  // zero (or non-finite) spectrum: keep one direction
    double target = ((double)epsilon - ENERGY_TOL) * total, cum = 0;
    for (int k = 1; k <= n; k++) {
        double e = square ? (double)v[k - 1] * (double)v[k - 1] : (double)v[k - 1];
        cum += e > 0 ? e : 0;
        if (cum >= target) return k;
    }
    return n;
}

int svd_energy_rank(const float *sigma, int n, float epsilon) { return rank_rule(sigma, n, epsilon, 1); }
int energy_rank(const float *energy, int n, float epsilon) { return rank_rule(energy, n, epsilon, 0); }

// A LAPACK failure on non-finite input is a diverged run, not a bug (common.h).
static int all_finite(const float *a, size_t n) {
    for (size_t i = 0; i < n; i++) if (!isfinite(a[i])) return 0;
    return 1;
}

// LAPACK returns optimal workspace sizes as floats; round up with a little
// slack (old LAPACKs under-report large sizes through float rounding).
static int lwork_from(float q) { return (int)((double)q * 1.0001) + 16; }

// Textbook counts have thirds in them; the counters hold exact integers.
static void flops_textbook(double n) { flops_add(floor(n + 0.5)); }

// --- thin SVD ---------------------------------------------------------------

void svd_work_init(SvdWork *w, int O, int I) {
    CHECK(O >= 1 && I >= 1, "svd of an empty matrix (%d,%d)", O, I);
    memset(w, 0, sizeof *w);
    w->O = O; w->I = I; w->mn = wb_min(O, I);
    w->a = mem_alloc_floats((size_t)O * I, MEM_WORKSPACE);
    w->s = mem_alloc_floats(w->mn, MEM_WORKSPACE);
    w->u = mem_alloc_floats((size_t)O * w->mn, MEM_WORKSPACE);
    w->vt = mem_alloc_floats((size_t)w->mn * I, MEM_WORKSPACE);
    w->iwork = mem_alloc((size_t)8 * w->mn * sizeof(int), MEM_WORKSPACE);
    // Column-major view: the row-major (O,I) W is the column-major (I,O) W^T.
    float q = 0;
    int info = LAPACKE_sgesdd_work(LAPACK_COL_MAJOR, 'S', I, O, w->a, I, w->s, w->vt, I, w->u, w->mn, &q, -1, w->iwork);
    LAPACK_CHECK(info, "sgesdd", "workspace query");
    w->lwork = lwork_from(q);
    w->work = mem_alloc_floats(w->lwork, MEM_WORKSPACE);
}

void svd_work_free(SvdWork *w) {
    mem_free(w->a); mem_free(w->s); mem_free(w->u); mem_free(w->vt); mem_free(w->work); mem_free(w->iwork);
    memset(w, 0, sizeof *w);
}

void svd_compute(SvdWork *w, const float *W) {
    int O = w->O, I = w->I, mn = w->mn;
    memcpy(w->a, W, (size_t)O * I * sizeof(float));
    // SVD of the column-major (I,O) matrix W^T = V S U^T: LAPACK's "U" (I,mn)
    // column-major is our V^T (mn,I) row-major, and its "VT" (mn,O)
    // column-major is our U (O,mn) row-major. No transposes needed.
    int serial = lapack_serial_begin();   // thread-count independent (blas.h)
    int info = LAPACKE_sgesdd_work(LAPACK_COL_MAJOR, 'S', I, O, w->a, I, w->s, w->vt, I, w->u, mn,
                                   w->work, w->lwork, w->iwork);
    lapack_serial_end(serial);
    if (info > 0 && !all_finite(W, (size_t)O * I))
        wb_diverge_at(__FILE__, __LINE__, "LAPACKE sgesdd: the (%d,%d) weight has non-finite entries (training diverged)", O, I);
    LAPACK_CHECK(info, "sgesdd", "SVD of the weight did not converge (non-finite entries?)");
    double m = (double)wb_max(O, I), n = (double)mn;
    flops_textbook(6.0 * m * n * n + 20.0 * n * n * n);  // textbook R-SVD count (GVL Table 5.4.1)
}

void svd_factors(float *L, float *R, const SvdWork *w, int k) {
    CHECK(k >= 1 && k <= w->mn, "rank k=%d outside [1,%d]", k, w->mn);
    int O = w->O, I = w->I, mn = w->mn;
    for (int o = 0; o < O; o++) memcpy(L + (size_t)o * k, w->u + (size_t)o * mn, (size_t)k * sizeof(float));
    for (int j = 0; j < k; j++) {
        const float *v = w->vt + (size_t)j * I;
        float *r = R + (size_t)j * I, s = w->s[j];
        for (int i = 0; i < I; i++) r[i] = s * v[i];
    }
    flops_add((double)k * I);  // 1 multiply per element of R
}

// --- orth ---------------------------------------------------------------------

void orth_work_init(OrthWork *w, int mmax, int kmax) {
    CHECK(mmax >= kmax && kmax >= 1, "orth needs m >= k >= 1 (m=%d k=%d)", mmax, kmax);
    memset(w, 0, sizeof *w);
    w->mmax = mmax; w->kmax = kmax;
    w->tau = mem_alloc_floats(kmax, MEM_WORKSPACE);
    float q1 = 0, q2 = 0, dummy = 0;
    LAPACK_CHECK(LAPACKE_sgelqf_work(LAPACK_COL_MAJOR, kmax, mmax, &dummy, kmax, w->tau, &q1, -1), "sgelqf", "workspace query");
    LAPACK_CHECK(LAPACKE_sorglq_work(LAPACK_COL_MAJOR, kmax, mmax, kmax, &dummy, kmax, w->tau, &q2, -1), "sorglq", "workspace query");
    w->lwork = wb_max(wb_max(lwork_from(q1), lwork_from(q2)), kmax);
    w->work = mem_alloc_floats((size_t)w->lwork + kmax, MEM_WORKSPACE);
    w->sign = w->work + w->lwork;
}

void orth_work_free(OrthWork *w) {
    mem_free(w->tau); mem_free(w->work);
    memset(w, 0, sizeof *w);
}

void orth_inplace(float *A, int m, int k, OrthWork *w) {
    CHECK(k >= 1 && m >= k, "orth needs m >= k >= 1 (m=%d k=%d)", m, k);
    CHECK(m <= w->mmax && k <= w->kmax, "orth (%d,%d) exceeds its workspace (%d,%d)", m, k, w->mmax, w->kmax);
    // Row-major A (m,k) = column-major A^T (k,m); LQ of A^T = (QR of A)^T.
    int serial = lapack_serial_begin();   // thread-count independent (blas.h)
    LAPACK_CHECK(LAPACKE_sgelqf_work(LAPACK_COL_MAJOR, k, m, A, k, w->tau, w->work, w->lwork), "sgelqf", "Householder QR of A");
    // The factor's diagonal (L = R^T, column-major (k,m) with ld k) sits at
    // A[j k + j]; read it before sorglq overwrites A with Q.
    int flips = 0;
    for (int j = 0; j < k; j++) {
        w->sign[j] = A[(size_t)j * k + j] < 0.0f ? -1.0f : 1.0f;
        flips += w->sign[j] < 0.0f;
    }
    LAPACK_CHECK(LAPACKE_sorglq_work(LAPACK_COL_MAJOR, k, m, k, A, k, w->tau, w->work, w->lwork), "sorglq", "forming Q");
    lapack_serial_end(serial);
    // diag(R) >= 0 (see linalg.h): Q D, D = diag(sign), pairs with D R.
    if (flips)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < k; j++) A[(size_t)i * k + j] *= w->sign[j];
    double M = m, K = k;
    flops_textbook(2.0 * K * K * (M - K / 3.0));             // textbook Householder QR (LAWN 41)
    flops_textbook(2.0 * M * K * K - 2.0 * K * K * K / 3.0); // textbook forming of the thin Q (LAWN 41)
}

// --- symmetric eigen-decomposition --------------------------------------------

void eig_work_init(EigWork *e, int nmax) {
    CHECK(nmax >= 1, "eigen-decomposition of an empty matrix");
    memset(e, 0, sizeof *e);
    e->nmax = nmax;
    e->evals = mem_alloc_floats(nmax, MEM_WORKSPACE);
    float q = 0, dummy = 0;
    int iq = 0;
    LAPACK_CHECK(LAPACKE_ssyevd_work(LAPACK_COL_MAJOR, 'V', 'U', nmax, &dummy, nmax, e->evals, &q, -1, &iq, -1),
                 "ssyevd", "workspace query");
    e->lwork = lwork_from(q); // 1 + 6n + 2n^2 is not exact in a float for large n: the slack matters here
    e->liwork = iq + 16;
    e->work = mem_alloc_floats(e->lwork, MEM_WORKSPACE);
    e->iwork = mem_alloc((size_t)e->liwork * sizeof(int), MEM_WORKSPACE);
}

void eig_work_free(EigWork *e) {
    mem_free(e->evals); mem_free(e->work); mem_free(e->iwork);
    memset(e, 0, sizeof *e);
}

void sym_eig_inplace(float *A, int n, EigWork *e) {
    CHECK(n >= 1 && n <= e->nmax, "eigen-decomposition of n=%d exceeds its workspace (%d)", n, e->nmax);
    // A symmetric: row- and column-major agree on input; on output column j
    // (column-major) holds eigenvector j, which is row j of the row-major buffer.
    int finite = all_finite(A, (size_t)n * n);   // n^2 reads next to 9 n^3 FLOPs: the input is overwritten
    int serial = lapack_serial_begin();   // thread-count independent (blas.h)
    int info = LAPACKE_ssyevd_work(LAPACK_COL_MAJOR, 'V', 'U', n, A, n, e->evals, e->work, e->lwork, e->iwork, e->liwork);
    lapack_serial_end(serial);
    if (info > 0 && !finite)
        wb_diverge_at(__FILE__, __LINE__, "LAPACKE ssyevd: the (%d,%d) Gram matrix has non-finite entries (training diverged)", n, n);
    LAPACK_CHECK(info, "ssyevd", "symmetric eigen-decomposition did not converge");
    double N = n;
    flops_textbook(9.0 * N * N * N);  // textbook symmetric eigenvalues + eigenvectors (GVL Sec. 8.3)
}

// --- weight subspace iteration --------------------------------------------------

void wsi_work_init(WsiWork *w, int O, int I, int k) {
    CHECK(k >= 1 && k <= O && k <= I, "weight rank k=%d outside [1, min(O=%d, I=%d)]", k, O, I);
    memset(w, 0, sizeof *w);
    w->O = O; w->I = I; w->k = k;
    w->Q = mem_alloc_floats((size_t)I * k, MEM_WORKSPACE);
    orth_work_init(&w->orth, O, k);
}

void wsi_work_free(WsiWork *w) {
    mem_free(w->Q);
    orth_work_free(&w->orth);
    memset(w, 0, sizeof *w);
}

void weight_subspace_step(float *L, float *R, const float *W, int O, int I, int k, int r_previous, WsiWork *w) {
    CHECK(O == w->O && I == w->I && k == w->k, "subspace step (%d,%d,k=%d) on a workspace for (%d,%d,k=%d)",
          O, I, k, w->O, w->I, w->k);
    float *Q = w->Q;
    gemm(1, 0, I, k, O, 1.0f, W, I, L, k, 0.0f, Q, k);   // Q (I,k) = W^T L_prev
    if (r_previous)                                      // R = Q^T = L_prev^T W (a copy, no FLOPs)
        for (int i = 0; i < I; i++)
            for (int j = 0; j < k; j++) R[(size_t)j * I + i] = Q[(size_t)i * k + j];
    gemm(0, 0, O, k, I, 1.0f, W, I, Q, k, 0.0f, L, k);   // L (O,k) = W Q, L_prev no longer needed
    orth_inplace(L, O, k, &w->orth);
    if (!r_previous) gemm(1, 0, k, I, O, 1.0f, L, k, W, I, 0.0f, R, I); // R (k,I) = L^T W
}

// --- principal angles -----------------------------------------------------------

double subspace_max_angle(const float *V0, const float *V, int I, int K) {
    CHECK(K >= 1 && K <= I, "principal angle of K=%d directions in %d dimensions", K, I);
    // The cosines of the principal angles are the singular values of
    // M = V0 V^T (Bjorck & Golub 1973); the largest angle has the smallest.
    // Near 0 the arccos of a float cosine is ill-conditioned (an error of
    // 1e-7 in c is 5e-4 rad), so below pi/4 the angle comes from its sine:
    // the largest singular value of the part of V outside V0,
    // R = V - M^T V0 (K,I) (Knyazev & Argentati 2002).
    SvdWork wm, wr;
    svd_work_init(&wm, K, K);
    svd_work_init(&wr, K, I);
    float *M = mem_alloc_floats((size_t)K * K, MEM_WORKSPACE), *R = mem_alloc_floats((size_t)K * I, MEM_WORKSPACE);
    gemm(0, 1, K, K, I, 1.0f, V0, I, V, I, 0.0f, M, K);
    memcpy(R, V, sizeof(float) * (size_t)K * I);
    gemm(1, 0, K, I, K, -1.0f, M, K, V0, I, 1.0f, R, I);
    svd_compute(&wm, M);
    svd_compute(&wr, R);
    double c = (double)wm.s[K - 1], s = (double)wr.s[0];
    mem_free(M);
    mem_free(R);
    svd_work_free(&wm);
    svd_work_free(&wr);
    if (isnan(c) || isnan(s)) return acos(0.0);   // a diverged (NaN) weight reads as orthogonal (pi/2)
    c = c < 0 ? 0 : c > 1 ? 1 : c;
    s = s < 0 ? 0 : s > 1 ? 1 : s;
    return c < sqrt(0.5) ? acos(c) : asin(s);
}
