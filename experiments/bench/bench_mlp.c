// bench_mlp.c: wall time of one forward+backward over the 24 MLP linears of
// vit_b_32 (12 x fc1 768->3072, 12 x fc2 3072->768) at batch B = 128, N = 50
// tokens (rows = 6400), random weights and inputs, for vanilla and for wasi
// at weight ranks k with fixed activation ranks (8, 8, 32); also one update.
// W of exact rank k is drawn so that the energy rule (epsilon 0.99999) picks
// k. Not part of the Makefile; build against the library:
//   make BUILD=build build/libwasibench.a
//   cc -O2 -march=native -fopenmp -I. experiments/bench/bench_mlp.c build/libwasibench.a
//      $(pkg-config --libs openblas lapacke yaml-0.1 hdf5 libcjson libpng libjpeg zlib) -lhdf5_hl -lcsv -lm
//      -o build/bench_mlp          (one line)
//   build/bench_mlp [threads=2] [reps=3] [k1,k2,...]
#include "baselines/vanilla.h"
#include "core/blas.h"
#include "core/counters.h"
#include "core/memory.h"
#include "core/rng.h"
#include "core/wasi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NL 24

static void make_layer(LinearLayer *L, const LinearMethod *m, int l, int B, int N, int I, int O, const float *W,
                       const float *b, const MethodConfig *c) {
    memset(L, 0, sizeof *L);
    L->method = m;
    snprintf(L->name, sizeof L->name, "encoder.layers.encoder_layer_%d.mlp.%d", l / 2, (l % 2) ? 3 : 0);
    L->I = I; L->O = O; L->trainable = 1;
    L->max_rows = (long)B * N; L->rows = L->max_rows;
    L->ndim = 3; L->dims[0] = B; L->dims[1] = N; L->dims[2] = I;
    m->init(L, W, b, c);
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2, reps = argc > 2 ? atoi(argv[2]) : 3;
    int ks[16] = {61, 135, 245, 350}, nk = 4;
    if (argc > 3) {
        nk = 0;
        for (char *s = strtok(argv[3], ","); s && nk < 16; s = strtok(NULL, ",")) ks[nk++] = atoi(s);
    }
    threads_set(threads);
    const int B = 128, N = 50, C = 768, M = 3072, R = B * N;
    const int dims1[3] = {B, N, C}, dims2[3] = {B, N, M};
    printf("bench_mlp: vit_b_32 MLP, B=%d N=%d, %d linears, %d threads, %s\n", B, N, NL, threads_get(), blas_name());
    Rng g;
    rng_seed(&g, 1);
    float *x1 = mem_alloc_floats((size_t)R * C, MEM_DATA), *x2 = mem_alloc_floats((size_t)R * M, MEM_DATA);
    float *dy1 = mem_alloc_floats((size_t)R * M, MEM_DATA), *dy2 = mem_alloc_floats((size_t)R * C, MEM_DATA);
    float *y = mem_alloc_floats((size_t)R * M, MEM_WORKSPACE), *dx = mem_alloc_floats((size_t)R * M, MEM_WORKSPACE);
    rng_fill_normal(&g, x1, (long)R * C, 0, 1); rng_fill_normal(&g, x2, (long)R * M, 0, 1);
    rng_fill_normal(&g, dy1, (long)R * M, 0, 1e-3f); rng_fill_normal(&g, dy2, (long)R * C, 0, 1e-3f);
    float *W = mem_alloc_floats((size_t)M * C, MEM_WORKSPACE), *b = mem_alloc_floats(M, MEM_WORKSPACE);
    float *U = mem_alloc_floats((size_t)M * 512, MEM_WORKSPACE), *V = mem_alloc_floats((size_t)512 * M, MEM_WORKSPACE);
    OptimConfig oc = optim_sgd(0.0f, 0.0f);
    LinearLayer *lay = mem_alloc(sizeof(LinearLayer) * NL, MEM_WORKSPACE);

    for (int q = -1; q < 2 * nk; q++) {   // -1: vanilla; then each k dense and factored
        int k = q < 0 ? 0 : ks[q / 2], factored = q < 0 ? 0 : q % 2;
        MethodConfig mc;
        memset(&mc, 0, sizeof mc);
        mc.epsilon = 0.99999f; mc.factored = factored; mc.seed = 5;
        mc.act_ranks[0] = 8; mc.act_ranks[1] = 8; mc.act_ranks[2] = 32;
        const LinearMethod *meth = q < 0 ? &method_vanilla : &method_wasi;
        double t0 = wall_seconds();
        for (int l = 0; l < NL; l++) {
            int I = (l % 2) ? M : C, O = (l % 2) ? C : M;
            rng_fill_normal(&g, W, (long)O * I, 0, 0.02f);
            if (q >= 0) {   // W of exact rank k
                rng_fill_normal(&g, U, (long)O * k, 0, 1);
                rng_fill_normal(&g, V, (long)k * I, 0, 0.02f);
                gemm(0, 0, O, I, k, 1.0f, U, k, V, I, 0.0f, W, I);
            }
            rng_fill_normal(&g, b, O, 0, 0.02f);
            make_layer(&lay[l], meth, l, B, N, I, O, W, b, &mc);
        }
        double tinit = wall_seconds() - t0;
        double best = 1e30, best_upd = 1e30;
        Counters cbest = {0};
        for (int rep = 0; rep < reps + 1; rep++) {   // rep 0 warms up (asi's cold first step)
            Counters c0 = counters_get();
            double s = wall_seconds();
            for (int l = 0; l < NL; l++) {
                phase_set(PHASE_FORWARD);
                lay[l].method->forward(&lay[l], y, (l % 2) ? x2 : x1, (l % 2) ? dims2 : dims1, 3, 1);
            }
            for (int l = NL - 1; l >= 0; l--) {
                phase_set(PHASE_BACKWARD);
                ParamSet *ps[4];
                int np = lay[l].method->param_sets(&lay[l], ps);
                for (int i = 0; i < np; i++) params_zero_grad(ps[i]);
                lay[l].method->backward(&lay[l], dx, (l % 2) ? dy2 : dy1);
            }
            double e = wall_seconds() - s;
            Counters c1 = counters_diff(counters_get(), c0);
            phase_set(PHASE_UPDATE);
            double u = wall_seconds();
            for (int l = 0; l < NL; l++) lay[l].method->update(&lay[l], &oc, 1e-3f);
            double ue = wall_seconds() - u;
            phase_set(PHASE_OTHER);
            if (rep > 0 && e < best) { best = e; cbest = c1; }
            if (rep > 0 && ue < best_upd) best_upd = ue;
        }
        MemStats ms = mem_stats();
        if (q < 0) printf("%-28s", "vanilla");
        else printf("wasi k=%-4d %-8s act 8,8,32", k, factored ? "factored" : "dense");
        printf("  fwd+bwd %7.3f s (fwd %.3f, compress %.3f, bwd %.3f; %.1f GFLOP)  update %.3f s  [init %.1f s, act %.1f MB]\n",
               best, cbest.seconds[PHASE_FORWARD], cbest.seconds[PHASE_DECOMPOSITION], cbest.seconds[PHASE_BACKWARD],
               (cbest.flops[PHASE_FORWARD] + cbest.flops[PHASE_DECOMPOSITION] + cbest.flops[PHASE_BACKWARD]) * 1e-9,
               best_upd, tinit, (double)ms.current[MEM_ACTIVATIONS] / 1048576.0);
        fflush(stdout);
        for (int l = 0; l < NL; l++) lay[l].method->free(&lay[l]);
    }
    mem_free(lay); mem_free(x1); mem_free(x2); mem_free(dy1); mem_free(dy2); mem_free(y); mem_free(dx);
    mem_free(W); mem_free(b); mem_free(U); mem_free(V);
    return 0;
}
