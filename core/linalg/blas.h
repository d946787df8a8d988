// blas.h: the one way the engine multiplies matrices. Every GEMM goes
// through gemm(), which calls OpenBLAS sgemm and charges 2*M*N*K FLOPs to
// the current phase; gemm_naive() is the reference it is tested against.
// All matrices are row-major. LAPACKE calls are checked with LAPACK_CHECK.
#ifndef WB_BLAS_H
#define WB_BLAS_H

#include "core/runtime/common.h"

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

// Results independent of the thread count. OpenBLAS's sgemm splits the rows
// and columns of C over threads, never a sum, so a product is bit-identical at
// any thread count; its level-2 kernels (sgemv, ssymv, sger), which LAPACK's
// Householder, bidiagonal and tridiagonal steps call, split a sum over
// threads and add the partial results, so sgelqf/sorglq, sgesdd and ssyevd
// round differently with 1 and 2 threads. Every LAPACK call therefore runs
// between lapack_serial_begin() and lapack_serial_end() (OpenBLAS on one
// thread; a no-op at 1 thread). They cost little: the decompositions are
// small next to the products around them.
int lapack_serial_begin(void);          // returns the token for lapack_serial_end
void lapack_serial_end(int token);
// Tests: 0 lets LAPACK use every thread (to show the difference it makes); default 1.
void lapack_serial_set(int on);

// Lanes: many small products that OpenBLAS runs badly one after another (each
// call synchronises its threads for a few microseconds of work) run instead
// as a fixed number of independent lanes in an OpenMP loop, each lane's
// products on one thread. blas_serial_begin() puts OpenBLAS on one thread
// for the loop (returns the token for blas_serial_end); inside it,
// gemm_lane() is gemm() without the FLOP count (the counter is not
// thread-safe: the caller charges 2 M N K per call with one flops_add outside
// the loop, as gemm_small does). The lane count is a constant, never the
// thread count, so every sum splits the same way at any --threads.
int blas_serial_begin(void);
void blas_serial_end(int token);
void gemm_lane(int transA, int transB, int M, int N, int K, float alpha,
               const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);

// Thread setting: one number drives OpenBLAS and the OpenMP loops of the
// element-wise kernels. They never run at the same time (our OpenMP loops
// sit outside BLAS calls), so there is no oversubscription.
void threads_set(int n);     // n <= 0: number of online cores
int threads_get(void);
const char *blas_name(void); // e.g. "OpenBLAS 0.3.21 ... (Haswell)"

#endif
