// blas.c: counted GEMM on OpenBLAS, its naive reference, LAPACK checks and
// the thread setting (see blas.h).
#include "core/linalg/blas.h"
#include "core/runtime/counters.h"

#include <cblas.h>
#include <stdio.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#else
static int omp_in_parallel(void) { return 0; }
#endif

static int g_threads = 1;
static int g_lapack_serial = 1;

// Tiles of C, from the shape alone (see blas.h "Results independent of the
// thread count"): the larger of M and N is cut into gemm_tiles() slabs, each
// a multiple of 16 wide (the kernels' unroll), each computed by one
// single-threaded sgemm. The tile count never depends on the thread count, so
// every element of C is made by the same call at 1 and at 2 threads.
// TILE_MAX 8: vit_b_32 B=8 train step 1.19 s at 2 threads (2: 1.17, 4: 1.19,
// 16: 1.34, 32: 1.43; OpenBLAS threading itself: 1.27-1.33 s).
enum { TILE_ALIGN = 16, TILE_MAX = 8 };
static const double TILE_MIN_FLOPS = 8e6;   // below this one call (OpenBLAS would not thread it either)

int gemm_tiles(int M, int N, int K) {
    int dim = M >= N ? M : N;
    double flops = 2.0 * M * N * K;
    int t = (int)(flops / TILE_MIN_FLOPS);
    if (t > TILE_MAX) t = TILE_MAX;
    if (t > dim / TILE_ALIGN) t = dim / TILE_ALIGN;
    return t < 1 ? 1 : t;
}

static void gemm_tiled(int transA, int transB, int M, int N, int K, float alpha,
                       const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    const CBLAS_TRANSPOSE tA = transA ? CblasTrans : CblasNoTrans, tB = transB ? CblasTrans : CblasNoTrans;
    int tiles = gemm_tiles(M, N, K);
    if (tiles == 1) {
        cblas_sgemm(CblasRowMajor, tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    const int by_rows = M >= N, dim = by_rows ? M : N;
    int w = (dim + tiles - 1) / tiles;
    w = (w + TILE_ALIGN - 1) / TILE_ALIGN * TILE_ALIGN;
    tiles = (dim + w - 1) / w;
    // OpenMP over the tiles (never inside an outer parallel region: then serially, same tiles)
#pragma omp parallel for schedule(static) if (g_threads > 1 && !omp_in_parallel())
    for (int t = 0; t < tiles; t++) {
        int o = t * w, n = wb_min(w, dim - o);
        if (by_rows)   // rows o.. of C: rows of op(A)
            cblas_sgemm(CblasRowMajor, tA, tB, n, N, K, alpha, transA ? A + o : A + (size_t)o * lda, lda, B, ldb,
                        beta, C + (size_t)o * ldc, ldc);
        else           // columns o.. of C: columns of op(B)
            cblas_sgemm(CblasRowMajor, tA, tB, M, n, K, alpha, A, lda, transB ? B + (size_t)o * ldb : B + o, ldb,
                        beta, C + o, ldc);
    }
}

void gemm(int transA, int transB, int M, int N, int K, float alpha,
          const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    CHECK(M >= 0 && N >= 0 && K >= 0, "gemm dims M=%d N=%d K=%d", M, N, K);
    CHECK(lda >= (transA ? M : K) || M == 0 || K == 0, "gemm lda=%d too small (transA=%d M=%d K=%d)", lda, transA, M, K);
    CHECK(ldb >= (transB ? K : N) || N == 0 || K == 0, "gemm ldb=%d too small (transB=%d K=%d N=%d)", ldb, transB, K, N);
    CHECK(ldc >= N || M == 0, "gemm ldc=%d < N=%d", ldc, N);
    if (M == 0 || N == 0) return;
    if (K == 0) { // sgemm's result for K=0 is beta*C; some builds mishandle it
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[(size_t)i * ldc + j];
        return;
    }
    gemm_tiled(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    flops_add(2.0 * M * N * K);
}

void gemm_lane(int transA, int transB, int M, int N, int K, float alpha,
               const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (M == 0 || N == 0) return;
    CHECK(K > 0 && lda >= (transA ? M : K) && ldb >= (transB ? K : N) && ldc >= N,
          "gemm_lane dims M=%d N=%d K=%d lda=%d ldb=%d ldc=%d (transA=%d transB=%d)", M, N, K, lda, ldb, ldc, transA,
          transB);
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm_naive(int transA, int transB, int M, int N, int K, float alpha,
                const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int p = 0; p < K; p++) {
                float a = transA ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p];
                float b = transB ? B[(size_t)j * ldb + p] : B[(size_t)p * ldb + j];
                s += (double)a * (double)b;
            }
            float *c = &C[(size_t)i * ldc + j];
            *c = (float)((double)alpha * s + (beta == 0.0f ? 0.0 : (double)beta * (double)*c));
        }
}

void lapack_check_at(int info, const char *routine, const char *hint, const char *file, int line) {
    if (info == 0) return;
    if (info < 0)
        wb_die_at(file, line, "LAPACKE %s: argument %d had an illegal value (%s)", routine, -info, hint);
    wb_die_at(file, line, "LAPACKE %s failed with info=%d (%s)", routine, info, hint);
}

// OpenBLAS always runs on one thread (threads_set): the threads are the
// OpenMP ones of gemm_tiled and the lanes. The lane API stays for its callers.
int blas_serial_begin(void) { return 0; }
void blas_serial_end(int token) { (void)token; }

// lapack_serial_set(0), for the test's control only: LAPACK on every thread.
int lapack_serial_begin(void) {
    if (g_lapack_serial || g_threads == 1) return 0;
    openblas_set_num_threads(g_threads);
    return 1;
}
void lapack_serial_end(int token) {
    if (token) openblas_set_num_threads(1);
}

void lapack_serial_set(int on) { g_lapack_serial = on != 0; }

void threads_set(int n) {
    if (n <= 0) n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0) n = 1;
    g_threads = n;
    openblas_set_num_threads(1);   // see gemm_tiled
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
}

int threads_get(void) { return g_threads; }

const char *blas_name(void) {
    static char buf[256];
    snprintf(buf, sizeof buf, "OpenBLAS %s (%s)", openblas_get_config(), openblas_get_corename());
    return buf;
}
