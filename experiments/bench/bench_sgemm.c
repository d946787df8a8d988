// bench_sgemm.c: row 1 of `make bench`, the physical limit: GFLOP/s of one
// square single-precision GEMM (C = A B, n x n, through gemm(), i.e. this
// machine's OpenBLAS sgemm) at the bench's thread count, best of `reps`
// after one warm-up call. Every other row quotes its achieved GFLOP/s as a
// fraction of this number. Then the memory bandwidth: a STREAM-style triad
// a = b + s c over three arrays of 32 MB each (far past the caches), OpenMP
// over the same threads, best of `reps`; GB/s counts the 3 arrays moved
// (STREAM's convention: 2 reads + 1 write, the write-allocate read not
// counted). Row 3's roofline divides bytes by this number.
//   bench_sgemm [threads=2] [n=1536] [reps=5]
// Output: "key value" lines (read by experiments/bench/run.sh), comments start with '#'.
#include "core/linalg/blas.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"
#include "core/runtime/rng.h"

#include <stdio.h>
#include <stdlib.h>

// a = b + s c, elementwise (one thread per static chunk)
static void triad(float *a, const float *b, const float *c, float s, long n) {
#pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; i++) a[i] = b[i] + s * c[i];
}

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
    const long nt = 8L << 20;   // floats per array (32 MB)
    float *ta = mem_alloc_floats((size_t)nt, MEM_WORKSPACE), *tb = mem_alloc_floats((size_t)nt, MEM_WORKSPACE);
    float *tc = mem_alloc_floats((size_t)nt, MEM_WORKSPACE);
    rng_fill_normal(&r, tb, nt, 0, 1);
    rng_fill_normal(&r, tc, nt, 0, 1);
    triad(ta, tb, tc, 3.0f, nt);   // warm-up: page faults
    double tbest = 1e30;
    for (int i = 0; i < reps; i++) {
        double t = wall_seconds();
        triad(ta, tb, tc, 3.0f, nt);
        t = wall_seconds() - t;
        if (t < tbest) tbest = t;
    }
    double gbs = 3.0 * sizeof(float) * (double)nt / tbest * 1e-9;
    printf("# triad a = b + s c, 3 x %ld MB, %d threads, best of %d: %.4f s\n", nt * 4 >> 20, threads_get(), reps, tbest);
    printf("triad.seconds %.6f\ntriad.gbs %.3f\n", tbest, gbs);
    mem_free(ta); mem_free(tb); mem_free(tc);
    return 0;
}
