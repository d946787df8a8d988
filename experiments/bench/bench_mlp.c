// bench_mlp.c: row 3 of `make bench`, the authors' on-device protocol in C:
// one forward + backward over the 24 MLP linears of vit_b_32 (12 x fc1
// 768->3072, 12 x fc2 3072->768) at batch B = 128, N = 50 tokens (6400
// rows), random weights and inputs, summed over the 24 layers, for vanilla
// for asi (dense W, activations compressed at the same ranks) and for wasi
// at each weight rank k with fixed activation ranks (8, 8, 32).
// Time is the best of `reps` after one warm-up pass (which also runs asi's
// cold first step); FLOPs are the counters' (forward + compression +
// backward). The optimizer update is not part of the protocol and not run.
// Each wasi W is drawn at exact rank k (W = U V, Gaussian), so the energy
// rule at epsilon 0.99999 picks k; the bench checks it did.
//   bench_mlp [threads=2] [reps=2] [what=vanilla,asi,dense,factored] [ranks=61,92,135,178,245,350] [layers=24]
// (what: which of vanilla, asi, wasi dense and wasi factored to run,
// comma-separated; layers: the first n of the 24 linears, e.g. 1 = one fc1
// (768->3072), 2 = one fc1 + fc2 pair: the micro-benchmark a contributor
// times one change with, in seconds)
// Output: "key value" lines (read by experiments/bench/run.sh), comments start with '#':
//   mlp.c.{vanilla,asi}.{seconds,gflop,fwd_s,compress_s,bwd_s,compress_gflop}
//   mlp.c.<storage>.k<k>.{seconds,gflop,fwd_s,compress_s,bwd_s,compress_gflop,act_mb}
// (with layers < 24 the keys start with mlp<layers>. instead of mlp.), and
// the bytes each phase must move at least, for the roofline (fwd_gbyte,
// compress_gbyte, bwd_gbyte; see phase_bytes).
#include "baselines/asi.h"
#include "baselines/vanilla.h"
#include "core/linalg/blas.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"
#include "core/runtime/rng.h"
#include "baselines/wasi.h"

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

// The fewest bytes each phase of one layer moves (float32; rows R = B N):
//   forward   read x (R,I) and the weights, write y (R,O)
//   compress  read x twice: the power steps of all modes need the old
//             factors only, the core needs the new ones (asi, wasi)
//   backward  read dy (R,O) and the weights, read and write dx (R,I) (+=);
//             vanilla reads its saved x; a dense dW (O,I) is read and written
//             (vanilla, asi, wasi dense), wasi factored its T (O,32)
// weights: O I (vanilla, asi), k (O + I) (wasi).
static void phase_bytes(double *fwd, double *cmp, double *bwd, int method, int k, int factored, double R, double I, double O) {
    double wts = method == 2 ? k * (O + I) : O * I;
    *fwd = 4.0 * (R * I + R * O + wts);
    *cmp = method == 0 ? 0.0 : 4.0 * 2.0 * R * I;
    *bwd = 4.0 * (R * O + wts + 2.0 * R * I + (method == 0 ? R * I : 0.0) + (factored ? 2.0 * O * 32 : 2.0 * O * I));
}

// "61,92,..." -> ks; returns the count.
static int parse_list(char *s, int *out, int max) {
    int n = 0;
    for (char *t = strtok(s, ","); t && n < max; t = strtok(NULL, ",")) out[n++] = atoi(t);
    return n;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2, reps = argc > 2 ? atoi(argv[2]) : 2;
    int want_vanilla = 1, want_asi = 1, want_dense = 1, want_factored = 1;
    if (argc > 3) {
        want_vanilla = strstr(argv[3], "vanilla") != NULL;
        want_asi = strstr(argv[3], "asi") != NULL;
        want_dense = strstr(argv[3], "dense") != NULL;
        want_factored = strstr(argv[3], "factored") != NULL;
    }
    int ks[16] = {61, 92, 135, 178, 245, 350}, nk = 6;
    if (argc > 4) nk = parse_list(argv[4], ks, 16);
    int nl = argc > 5 ? atoi(argv[5]) : NL;
    if (threads < 1 || reps < 1 || nk < 1 || nl < 1 || nl > NL) {
        fprintf(stderr, "usage: bench_mlp [threads] [reps] [vanilla,asi,dense,factored] [k1,k2,...] [layers 1..24]\n");
        return 2;
    }
    char pre[16];
    if (nl == NL) snprintf(pre, sizeof pre, "mlp");
    else snprintf(pre, sizeof pre, "mlp%d", nl);
    threads_set(threads);
    const int B = 128, N = 50, C = 768, M = 3072, R = B * N;
    const int dims1[3] = {B, N, C}, dims2[3] = {B, N, M};
    printf("# bench_mlp: vit_b_32 MLP, B=%d N=%d, %d linears, %d threads, best of %d after a warm-up, %s\n", B, N, nl,
           threads_get(), reps, blas_name());
    Rng g;
    rng_seed(&g, 1);
    float *x1 = mem_alloc_floats((size_t)R * C, MEM_DATA), *x2 = mem_alloc_floats((size_t)R * M, MEM_DATA);
    float *dy1 = mem_alloc_floats((size_t)R * M, MEM_DATA), *dy2 = mem_alloc_floats((size_t)R * C, MEM_DATA);
    float *y = mem_alloc_floats((size_t)R * M, MEM_WORKSPACE), *dx = mem_alloc_floats((size_t)R * M, MEM_WORKSPACE);
    rng_fill_normal(&g, x1, (long)R * C, 0, 1); rng_fill_normal(&g, x2, (long)R * M, 0, 1);
    rng_fill_normal(&g, dy1, (long)R * M, 0, 1e-3f); rng_fill_normal(&g, dy2, (long)R * C, 0, 1e-3f);
    float *W = mem_alloc_floats((size_t)M * C, MEM_WORKSPACE), *b = mem_alloc_floats(M, MEM_WORKSPACE);
    float *U = mem_alloc_floats((size_t)M * 512, MEM_WORKSPACE), *V = mem_alloc_floats((size_t)512 * M, MEM_WORKSPACE);
    LinearLayer *lay = mem_alloc(sizeof(LinearLayer) * NL, MEM_WORKSPACE);

    for (int q = -2; q < 2 * nk; q++) {   // -2: vanilla, -1: asi; then each k dense and factored
        int k = q < 0 ? 0 : ks[q / 2], factored = q < 0 ? 0 : q % 2;
        if (q == -2 ? !want_vanilla : q == -1 ? !want_asi : (factored ? !want_factored : !want_dense)) continue;
        CHECK(q < 0 || (k >= 1 && k <= 512), "rank %d outside [1, 512]", k);
        MethodConfig mc;
        memset(&mc, 0, sizeof mc);
        mc.epsilon = 0.99999f; mc.factored = factored; mc.seed = 5;
        mc.act_ranks[0] = 8; mc.act_ranks[1] = 8; mc.act_ranks[2] = 32;
        const LinearMethod *meth = q == -2 ? &method_vanilla : q == -1 ? &method_asi : &method_wasi;
        double t0 = wall_seconds();
        for (int l = 0; l < nl; l++) {
            int I = (l % 2) ? M : C, O = (l % 2) ? C : M;
            rng_fill_normal(&g, W, (long)O * I, 0, 0.02f);
            if (q >= 0) {   // W of exact rank k
                rng_fill_normal(&g, U, (long)O * k, 0, 1);
                rng_fill_normal(&g, V, (long)k * I, 0, 0.02f);
                gemm(0, 0, O, I, k, 1.0f, U, k, V, I, 0.0f, W, I);
            }
            rng_fill_normal(&g, b, O, 0, 0.02f);
            make_layer(&lay[l], meth, l, B, N, I, O, W, b, &mc);
            if (q >= 0) CHECK(wasi_weight_rank(&lay[l]) == k, "layer %d: the energy rule picked k=%d, not %d", l,
                              wasi_weight_rank(&lay[l]), k);
        }
        double tinit = wall_seconds() - t0;
        double best = 1e30;
        Counters cbest = {0};
        for (int rep = 0; rep < reps + 1; rep++) {   // rep 0 warms up (asi's cold first step, page faults)
            Counters c0 = counters_get();
            double s = wall_seconds();
            phase_set(PHASE_FORWARD);
            for (int l = 0; l < nl; l++)
                lay[l].method->forward(&lay[l], y, (l % 2) ? x2 : x1, (l % 2) ? dims2 : dims1, 3, 1);
            phase_set(PHASE_BACKWARD);
            for (int l = nl - 1; l >= 0; l--) {
                ParamSet *ps[4];
                int np = lay[l].method->param_sets(&lay[l], ps);
                for (int i = 0; i < np; i++) params_zero_grad(ps[i]);
                lay[l].method->backward(&lay[l], dx, (l % 2) ? dy2 : dy1);
            }
            phase_set(PHASE_OTHER);
            double e = wall_seconds() - s;
            Counters c1 = counters_diff(counters_get(), c0);
            if (rep > 0 && e < best) { best = e; cbest = c1; }
        }
        MemStats ms = mem_stats();
        double bf = 0, bc = 0, bb = 0;
        for (int l = 0; l < nl; l++) {
            double f1, c1, b1;
            phase_bytes(&f1, &c1, &b1, q == -2 ? 0 : q == -1 ? 1 : 2, k, factored, (double)R, (l % 2) ? M : C, (l % 2) ? C : M);
            bf += f1; bc += c1; bb += b1;
        }
        double gflop = (cbest.flops[PHASE_FORWARD] + cbest.flops[PHASE_DECOMPOSITION] + cbest.flops[PHASE_BACKWARD]) * 1e-9;
        char key[64];
        if (q < 0) snprintf(key, sizeof key, "%s.c.%s", pre, meth->name);
        else snprintf(key, sizeof key, "%s.c.%s.k%d", pre, factored ? "factored" : "dense", k);
        printf("# %-24s fwd+bwd %7.3f s (fwd %.3f, compress %.3f, bwd %.3f; %.1f GFLOP, %.1f GFLOP/s) [init %.1f s, act %.1f MB]\n",
               key, best, cbest.seconds[PHASE_FORWARD], cbest.seconds[PHASE_DECOMPOSITION], cbest.seconds[PHASE_BACKWARD],
               gflop, gflop / best, tinit, (double)ms.current[MEM_ACTIVATIONS] / 1048576.0);
        printf("%s.seconds %.6f\n%s.gflop %.6f\n%s.fwd_s %.6f\n%s.compress_s %.6f\n%s.bwd_s %.6f\n%s.act_mb %.4f\n%s.init_s %.3f\n",
               key, best, key, gflop, key, cbest.seconds[PHASE_FORWARD], key, cbest.seconds[PHASE_DECOMPOSITION], key,
               cbest.seconds[PHASE_BACKWARD], key, (double)ms.current[MEM_ACTIVATIONS] / 1048576.0, key, tinit);
        printf("%s.fwd_gflop %.6f\n%s.compress_gflop %.6f\n%s.bwd_gflop %.6f\n", key, cbest.flops[PHASE_FORWARD] * 1e-9, key,
               cbest.flops[PHASE_DECOMPOSITION] * 1e-9, key, cbest.flops[PHASE_BACKWARD] * 1e-9);
        printf("%s.fwd_gbyte %.6f\n%s.compress_gbyte %.6f\n%s.bwd_gbyte %.6f\n", key, bf * 1e-9, key, bc * 1e-9, key, bb * 1e-9);
        fflush(stdout);
        for (int l = 0; l < nl; l++) lay[l].method->free(&lay[l]);
    }
    mem_free(lay); mem_free(x1); mem_free(x2); mem_free(dy1); mem_free(dy2); mem_free(y); mem_free(dx);
    mem_free(W); mem_free(b); mem_free(U); mem_free(V);
    return 0;
}
