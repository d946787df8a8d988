// blas.c: counted GEMM on OpenBLAS, its naive reference, LAPACK checks and
// the thread setting (see blas.h).
#include "core/linalg/blas.h"
#include "core/runtime/counters.h"

#include <cblas.h>
#include <stdio.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

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
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
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

static int g_threads = 1;
static int g_lapack_serial = 1;

int blas_serial_begin(void) {
    if (g_threads == 1) return 0;
    openblas_set_num_threads(1);
    return 1;
}

void blas_serial_end(int token) {
    if (token) openblas_set_num_threads(g_threads);
}

int lapack_serial_begin(void) { return g_lapack_serial ? blas_serial_begin() : 0; }
void lapack_serial_end(int token) { blas_serial_end(token); }

void lapack_serial_set(int on) { g_lapack_serial = on != 0; }

void threads_set(int n) {
    if (n <= 0) n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0) n = 1;
    g_threads = n;
    openblas_set_num_threads(n);
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
