// test_small_gemm.c: gemm_small (core/linalg/small_gemm.h) against gemm_naive for
// every transpose combination, strided operands and beta 0/1, called from
// an OpenMP loop the way the attention cores call it; it counts no FLOPs.
#include "tests/testlib.h"
#include "core/linalg/blas.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"
#include "core/runtime/rng.h"
#include "core/linalg/small_gemm.h"

#include <stdio.h>
#include <string.h>

static float *randn(Rng *r, size_t n) {
    float *x = mem_alloc_floats(n, MEM_WORKSPACE);
    for (size_t i = 0; i < n; i++) x[i] = rng_normal(r);
    return x;
}

// 64 independent products per case, side by side in one parallel loop,
// each on its own slice of A, B and C (the attention layout: strided views).
static void test_small_gemm_matches_naive(void) {
    const int shapes[4][3] = {{49, 49, 32}, {49, 32, 49}, {50, 64, 50}, {7, 5, 3}};
    const int items = 64, pad = 3;
    Rng r; rng_seed(&r, 7);
    threads_set(2);
    for (int s = 0; s < 4; s++)
        for (int tr = 0; tr < 4; tr++)
            for (int beta_one = 0; beta_one < 2; beta_one++) {
                const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2], ta = tr & 1, tb = tr >> 1;
                const int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
                const size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb, nc = (size_t)M * ldc;
                float *A = randn(&r, na * items), *B = randn(&r, nb * items), *C = randn(&r, nc * items);
                float *want = mem_alloc_floats(nc * items, MEM_WORKSPACE);
                memcpy(want, C, sizeof(float) * nc * items);
                const float alpha = 0.37f, beta = beta_one ? 1.0f : 0.0f;
                for (int i = 0; i < items; i++)
                    gemm_naive(ta, tb, M, N, K, alpha, A + i * na, lda, B + i * nb, ldb, beta, want + i * nc, ldc);
                Counters c0 = counters_get();
#pragma omp parallel for schedule(static)
                for (int i = 0; i < items; i++)
                    gemm_small(ta, tb, M, N, K, alpha, A + i * na, lda, B + i * nb, ldb, beta, C + i * nc, ldc);
                Counters c1 = counters_get();
                double f0 = counters_total_flops(&c0), f1 = counters_total_flops(&c1);
                char what[96];
                snprintf(what, sizeof what, "gemm_small %dx%dx%d trans %d%d beta %d", M, N, K, ta, tb, beta_one);
                double err = EXPECT_CLOSE(what, C, want, nc * items, 1e-4, 1e-4);
                if (s == 0 && tr == 0 && beta_one == 0) printf("  %s: max error %.3g\n", what, err);
                EXPECT(f1 == f0, "gemm_small counted %.0f FLOPs (it must count none)", f1 - f0);
                mem_free(A); mem_free(B); mem_free(C); mem_free(want);
            }
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    RUN(test_small_gemm_matches_naive);
    return tl_finish();
}
