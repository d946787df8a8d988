// bench_sgemm.c: row 1 of `make bench`, the physical limit: GFLOP/s of one
// square single-precision GEMM (C = A B, n x n, through gemm(), i.e. this
// machine's OpenBLAS sgemm) at the bench's thread count, best of `reps`
// after one warm-up call. Every other row quotes its achieved GFLOP/s as a
// fraction of this number.
//   bench_sgemm [threads=2] [n=1536] [reps=5]
// Output: "key value" lines (read by experiments/bench/run.sh), comments start with '#'.
#include "core/blas.h"
#include "core/counters.h"
#include "core/memory.h"
#include "core/rng.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2, n = argc > 2 ? atoi(argv[2]) : 1536, reps = argc > 3 ? atoi(argv[3]) : 5;
    if (threads < 1 || n < 16 || reps < 1) { fprintf(stderr, "usage: bench_sgemm [threads>=1] [n>=16] [reps>=1]\n"); return 2; }
    threads_set(threads);
    size_t nn = (size_t)n * n;
    float *A = mem_alloc_floats(nn, MEM_WORKSPACE), *B = mem_alloc_floats(nn, MEM_WORKSPACE);
    float *C = mem_alloc_floats(nn, MEM_WORKSPACE);
    Rng r;
    rng_seed(&r, 7);
    rng_fill_normal(&r, A, (long)nn, 0, 1);
    rng_fill_normal(&r, B, (long)nn, 0, 1);
    gemm(0, 0, n, n, n, 1.0f, A, n, B, n, 0.0f, C, n);   // warm-up: thread start, page faults
    double best = 1e30;
    for (int i = 0; i < reps; i++) {
        double t = wall_seconds();
        gemm(0, 0, n, n, n, 1.0f, A, n, B, n, 0.0f, C, n);
        t = wall_seconds() - t;
        if (t < best) best = t;
    }
    double gflops = 2.0 * n * (double)n * n / best * 1e-9;
    printf("# sgemm %d x %d x %d, %d threads, best of %d: %.4f s\n", n, n, n, threads_get(), reps, best);
    printf("sgemm.n %d\nsgemm.threads %d\nsgemm.seconds %.6f\nsgemm.gflops %.3f\n", n, threads_get(), best, gflops);
    printf("# blas %s\n", blas_name());
    mem_free(A); mem_free(B); mem_free(C);
    return 0;
}
