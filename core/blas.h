// blas.h: the one way the engine multiplies matrices. Every GEMM goes
// through gemm(), which calls OpenBLAS sgemm and charges 2*M*N*K FLOPs to
// the current phase; gemm_naive() is the reference it is tested against.
// All matrices are row-major. LAPACKE calls are checked with LAPACK_CHECK.
#ifndef WB_BLAS_H
#define WB_BLAS_H

#include "common.h"

// C (M,N) = alpha * op(A) (M,K) * op(B) (K,N) + beta * C
// transA = 0: A is (M,K) with row stride lda; transA = 1: A is (K,M) and used transposed.
void gemm(int transA, int transB, int M, int N, int K, float alpha,
          const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
// Same contract, plain loops, double accumulation; for tests and as documentation.
void gemm_naive(int transA, int transB, int M, int N, int K, float alpha,
                const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);

// Die with the routine, file:line and a hint when a LAPACKE call reports info != 0.
void lapack_check_at(int info, const char *routine, const char *hint, const char *file, int line);
#define LAPACK_CHECK(info, routine, hint) lapack_check_at((info), (routine), (hint), __FILE__, __LINE__)

// Thread setting: one number drives OpenBLAS and the OpenMP loops of the
// element-wise kernels. They never run at the same time (our OpenMP loops
// sit outside BLAS calls), so there is no oversubscription.
void threads_set(int n);     // n <= 0: number of online cores
int threads_get(void);
const char *blas_name(void); // e.g. "OpenBLAS 0.3.21 ... (Haswell)"

#endif
