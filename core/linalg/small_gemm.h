// small_gemm.h: single-threaded products of tiny matrices (attention's
// per-head q k^T and att v, e.g. 49x49x32 for Swin windows, 50x50x64 for
// ViT-B/32), callable from inside an OpenMP parallel loop over the heads.
// gemm() cannot be used there: its FLOP counter is a plain global, and a
// loop of serial gemm() calls leaves the second core idle (OpenBLAS runs
// products this small on one thread anyway, see small_gemm.c).
// gemm_small() does NOT count FLOPs: the caller charges 2*M*N*K per call
// with one flops_add() outside the parallel region, exactly what gemm()
// would have charged.
#ifndef WB_SMALL_GEMM_H
#define WB_SMALL_GEMM_H

// Largest M*N*K gemm_small accepts inside an OpenMP parallel region
// (OpenBLAS's single-thread limit); callers test it to choose the serial loop.
#define GEMM_SMALL_MAX_MNK 262144.0

// Whether a loop over `tasks` independent products of size mnk = M*N*K each
// should run in parallel with gemm_small (else: the same loop, serially).
static inline int gemm_small_parallel(long tasks, double mnk) { return tasks >= 2 && mnk <= GEMM_SMALL_MAX_MNK; }

// Same contract as gemm() (row-major, C (M,N) = alpha op(A) op(B) + beta C),
// no FLOP count; thread-safe for M*N*K <= GEMM_SMALL_MAX_MNK (dies on bigger
// products inside a parallel region).
void gemm_small(int transA, int transB, int M, int N, int K, float alpha,
                const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);

#endif
