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

// Results independent of the thread count. OpenBLAS 0.3.21's threaded sgemm
// does not give the same bits with 1 and 2 threads (measured on Haswell: e.g.
// 14093 of the 1088x192x64 product's values), and its level-2 kernels
// (sgemv, ssymv, sger), which LAPACK's Householder, bidiagonal and
// tridiagonal steps call, split a sum over threads. So OpenBLAS always runs on
// one thread, and gemm() does the threading itself: it cuts C into
// gemm_tiles(M, N, K) slabs of rows or columns, a count from the shape alone,
// each one single-threaded sgemm, over the OpenMP threads. Every value of C is
// then made by the same call at any --threads. LAPACK calls run between
// lapack_serial_begin() and lapack_serial_end(), a no-op unless a test turns
// serial LAPACK off (lapack_serial_set(0)) to show the difference it makes.
int gemm_tiles(int M, int N, int K);    // 1 = one call; never depends on the thread count
int lapack_serial_begin(void);          // returns the token for lapack_serial_end
void lapack_serial_end(int token);
// Tests: 0 lets LAPACK use every thread (to show the difference it makes); default 1.
void lapack_serial_set(int on);

// Lanes: many small products run as a fixed number of independent lanes in an
// OpenMP loop, each lane's products on one thread. blas_serial_begin() /
// blas_serial_end() bracket such a loop (OpenBLAS is on one thread anyway; the
// calls say where that matters); inside it,
// gemm_lane() is gemm() without the FLOP count (the counter is not
// thread-safe: the caller charges 2 M N K per call with one flops_add outside
// the loop, as gemm_small does). The lane count is a constant, never the
// thread count, so every sum splits the same way at any --threads.
int blas_serial_begin(void);
void blas_serial_end(int token);
void gemm_lane(int transA, int transB, int M, int N, int K, float alpha,
               const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);

// Thread setting: one number drives the OpenMP loops (gemm's tiles, the lanes,
// the element-wise kernels); OpenBLAS itself stays on one thread.
void threads_set(int n);     // n <= 0: number of online cores
int threads_get(void);
const char *blas_name(void); // e.g. "OpenBLAS 0.3.21 ... (Haswell)"

#endif
