// test_core.c: the engine's foundations: counted GEMM against the naive
// reference on odd shapes, the tracked allocator, FLOP/time counters, RNG.
#include "core/linalg/blas.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"
#include "core/runtime/rng.h"
#include <stdlib.h>
#include "tests/testlib.h"

#include <math.h>
#include <string.h>

static void gemm_case(int tA, int tB, int M, int N, int K, int pad, float beta) {
    Rng r; rng_seed(&r, (uint64_t)(M * 131 + N * 17 + K + tA * 7 + tB));
    int lda = (tA ? M : K) + pad, ldb = (tB ? K : N) + pad, ldc = N + pad;
    size_t na = (size_t)(tA ? K : M) * lda, nb = (size_t)(tB ? N : K) * ldb, nc = (size_t)M * ldc;
    float *A = mem_alloc_floats(na, MEM_WORKSPACE), *Bm = mem_alloc_floats(nb, MEM_WORKSPACE);
    float *C1 = mem_alloc_floats(nc, MEM_WORKSPACE), *C2 = mem_alloc_floats(nc, MEM_WORKSPACE);
    rng_fill_normal(&r, A, (long)na, 0, 1); rng_fill_normal(&r, Bm, (long)nb, 0, 1); rng_fill_normal(&r, C1, (long)nc, 0, 1);
    memcpy(C2, C1, nc * sizeof(float));
    Counters before = counters_get();
    gemm(tA, tB, M, N, K, 0.7f, A, lda, Bm, ldb, beta, C1, ldc);
    Counters d = counters_diff(counters_get(), before);
    gemm_naive(tA, tB, M, N, K, 0.7f, A, lda, Bm, ldb, beta, C2, ldc);
    char what[96]; snprintf(what, sizeof what, "gemm tA=%d tB=%d M=%d N=%d K=%d pad=%d", tA, tB, M, N, K, pad);
    EXPECT_CLOSE(what, C1, C2, nc, 1e-4 * sqrt((double)K + 1), 1e-4);
    EXPECT(d.flops[phase_get()] == 2.0 * M * N * K, "%s counted %.0f flops", what, d.flops[phase_get()]);
    mem_free(A); mem_free(Bm); mem_free(C1); mem_free(C2);
}

static void test_gemm_vs_naive(void) {
    int shapes[][3] = {{1, 1, 1}, {1, 37, 5}, {13, 1, 9}, {7, 11, 1}, {33, 17, 65}, {64, 64, 64}, {5, 300, 3}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int tA = 0; tA < 2; tA++)
            for (int tB = 0; tB < 2; tB++)
                for (int pad = 0; pad < 4; pad += 3) gemm_case(tA, tB, shapes[s][0], shapes[s][1], shapes[s][2], pad, pad ? 0.5f : 0.0f);
}

static void test_memory_tracking(void) {
    MemStats s0 = mem_stats();
    float *a = mem_alloc_floats(1000, MEM_ACTIVATIONS);
    float *b = mem_alloc_floats(500, MEM_OPTIMIZER);
    MemStats s1 = mem_stats();
    EXPECT(s1.current[MEM_ACTIVATIONS] - s0.current[MEM_ACTIVATIONS] == 4000, "activations grew by %zu", s1.current[MEM_ACTIVATIONS] - s0.current[MEM_ACTIVATIONS]);
    EXPECT(s1.current[MEM_OPTIMIZER] - s0.current[MEM_OPTIMIZER] == 2000, "optimizer grew");
    EXPECT(((uintptr_t)a & 63) == 0, "64-byte aligned");
    EXPECT(a[999] == 0.0f, "zero-filled");
    mem_free(a);
    MemStats s2 = mem_stats();
    EXPECT(s2.current[MEM_ACTIVATIONS] == s0.current[MEM_ACTIVATIONS], "freed");
    EXPECT(s2.peak[MEM_ACTIVATIONS] >= s0.current[MEM_ACTIVATIONS] + 4000, "peak kept after free");
    EXPECT(s2.total_peak >= s0.total_current + 6000, "overall peak %zu", s2.total_peak);
    b = mem_realloc(b, 4000 * sizeof(float));
    EXPECT(mem_category(b) == MEM_OPTIMIZER && mem_size(b) == 16000, "realloc keeps category");
    mem_free(b);
    EXPECT(mem_peak_rss_bytes() > 0 && mem_peak_rss_bytes() >= mem_current_rss_bytes() / 2, "VmHWM read: %zu", mem_peak_rss_bytes());
}

static void test_counters_phases(void) {
    counters_reset();
    Phase prev = phase_set(PHASE_BACKWARD);
    flops_add(10);
    phase_set(PHASE_UPDATE);
    flops_add(5);
    phase_set(prev);
    Counters c = counters_get();
    EXPECT(c.flops[PHASE_BACKWARD] == 10 && c.flops[PHASE_UPDATE] == 5, "phase flops %g %g", c.flops[PHASE_BACKWARD], c.flops[PHASE_UPDATE]);
    EXPECT(c.seconds[PHASE_BACKWARD] >= 0 && c.seconds[PHASE_UPDATE] >= 0, "times non-negative");
}

static void test_rng(void) {
    Rng a, b; rng_seed(&a, 233); rng_seed(&b, 233);
    for (int i = 0; i < 100; i++) EXPECT(rng_u64(&a) == rng_u64(&b), "same seed same stream");
    long n = 200000; double s = 0, s2 = 0, u = 0;
    for (long i = 0; i < n; i++) { double z = (double)rng_normal(&a); s += z; s2 += z * z; u += (double)rng_uniform(&a); }
    EXPECT(fabs(s / n) < 0.01 && fabs(s2 / n - 1) < 0.02, "normal mean %g var %g", s / n, s2 / n);
    EXPECT(fabs(u / n - 0.5) < 0.01, "uniform mean %g", u / n);
    int hist[7] = {0};
    for (long i = 0; i < 70000; i++) hist[rng_below(&a, 7)]++;
    for (int i = 0; i < 7; i++) EXPECT(abs(hist[i] - 10000) < 500, "rng_below bucket %d = %d", i, hist[i]);
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    threads_set(0);
    RUN(test_gemm_vs_naive);
    RUN(test_memory_tracking);
    RUN(test_counters_phases);
    RUN(test_rng);
    return tl_finish();
}
