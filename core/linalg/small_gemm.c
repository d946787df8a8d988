// small_gemm.c: gemm_small, the uncounted single-threaded product for tiny
// matrices called from OpenMP loops (see small_gemm.h).
// Why OpenBLAS sgemm is safe here: OpenBLAS (interface/gemm.c, 0.3.x) runs a
// product on one thread when M*N*K <= SMP_THRESHOLD_MIN (65536) *
// GEMM_MULTITHREAD_THRESHOLD (4, the build default) = 262144, without
// touching its thread server; many such calls may run concurrently (its
// work buffers are per call; on Skylake-X most of these shapes even take the
// buffer-free "small matrix" kernels). Bigger products would go to the
// thread server from several threads at once, so inside a parallel region
// they are refused; outside one any size is fine (callers fall back to a
// serial loop for big heads, e.g. windows of 12x12 tokens).
#include "core/linalg/small_gemm.h"
#include "core/runtime/common.h"

#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static int in_parallel(void) {
#ifdef _OPENMP
    return omp_in_parallel();
#else
    return 0;
#endif
}

void gemm_small(int transA, int transB, int M, int N, int K, float alpha,
                const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    CHECK(M > 0 && N > 0 && K > 0, "gemm_small dims M=%d N=%d K=%d", M, N, K);
    CHECK((double)M * N * K <= GEMM_SMALL_MAX_MNK || !in_parallel(),
          "gemm_small %dx%dx%d inside a parallel region (M*N*K at most %.0f there)", M, N, K, GEMM_SMALL_MAX_MNK);
    CHECK(lda >= (transA ? M : K) && ldb >= (transB ? K : N) && ldc >= N,
          "gemm_small strides lda=%d ldb=%d ldc=%d (transA=%d transB=%d M=%d N=%d K=%d)", lda, ldb, ldc, transA,
          transB, M, N, K);
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, M, N, K, alpha,
                A, lda, B, ldb, beta, C, ldc);
}
