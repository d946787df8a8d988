// bench_mpi.c: `make bench-mpi`, data-parallel scaling measured, then
// extrapolated with a stated model (experiments/bench/README.md, "MPI").
//
//   [mpirun -np P] bench_mpi step G REPS THREADS
//     vit_b_32 (224 px, 1000 classes, random init: speed does not depend on
//     the values), vanilla with every parameter trained, SGD; global batch G
//     split over the P ranks as `wasibench run` splits it (core/runtime/dist.h
//     dist_slice), one train_step_dp per step (core/train/data_parallel.h). After a
//     warm-up step, REPS timed steps; rank 0 prints the best and the median
//     step time, the all-reduce time of the best step and the bytes it summed
//     (keys mpi.p<P>.*).
//   bench_mpi report RAW
//     the table: measured rows for each P in RAW, then the alpha-beta model
//     of a ring all-reduce, T(P) = 2 (P-1) alpha + 2 (P-1)/P n / beta, for
//     n the measured gradient bytes, at 8, 64 and 256 ranks on a 10 and a
//     100 Gbit/s network, with the per-rank compute of the largest measured
//     P held fixed (weak scaling: each rank keeps its G/P images).
// Output of step: "key value" lines, comments start with '#'.
#include "baselines/registry.h"
#include "core/linalg/blas.h"
#include "core/runtime/counters.h"
#include "core/train/data_parallel.h"
#include "core/runtime/dist.h"
#include "core/runtime/memory.h"
#include "core/models/model.h"
#include "core/runtime/rng.h"
#include "core/train/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmd_step(int G, int reps, int threads) {
    threads_set(threads);
    const int P = dist_size();
    long lo, hi;
    dist_slice(G, &lo, &hi);
    const int Bl = (G + P - 1) / P, B = (int)(hi - lo);
    ModelConfig c;
    if (model_preset("vit_b_32", &c) < 0) return 2;
    ModelBinding bind = {0};
    bind.method = method_by_name("vanilla");
    bind.num_finetune = -1;
    Model m;
    model_build(&m, &c, &bind, Bl);
    model_init_random(&m, 7);
    int S, Cin, K;
    model_config_io(&c, &S, &Cin, &K);
    size_t n = (size_t)Bl * Cin * S * S;
    float *img = mem_alloc_floats(n, MEM_DATA);
    int *y = mem_alloc(sizeof(int) * (size_t)Bl, MEM_DATA);
    Rng r;
    rng_seed(&r, 11 + (uint64_t)lo);
    rng_fill_normal(&r, img, (long)n, 0, 1);
    for (int i = 0; i < Bl; i++) y[i] = (int)((lo + i) * 37 % K);
    DataParallel dp;
    dp_init(&dp, &m);
    OptimConfig oc = optim_sgd(0.0f, 1e-4f);
    DataParallel *pdp = P > 1 ? &dp : NULL;
    train_step_dp(&m, pdp, img, y, B, &oc, 0.05f, 2.0f);   // warm-up
    double best = 1e30, best_ar = 0, best_bytes = 0, times[64];
    int nrep = reps < 64 ? reps : 64;
    for (int i = 0; i < nrep; i++) {
        dist_barrier();   // every rank starts the step together
        DistStats s0 = dist_stats();
        double t = wall_seconds();
        train_step_dp(&m, pdp, img, y, B, &oc, 0.05f, 2.0f);
        // The slowest rank's step is the step (and its all-reduce waited least).
        double tt[1] = {wall_seconds() - t};
        DistStats s1 = dist_stats();
        double ar = s1.seconds - s0.seconds, bytes = s1.bytes - s0.bytes;
        double mx[3] = {tt[0], ar, bytes};
        dist_max_f64(mx, 3);
        tt[0] = mx[0]; ar = mx[1]; bytes = mx[2];
        times[i] = tt[0];
        if (tt[0] < best) { best = tt[0]; best_ar = ar; best_bytes = bytes; }
    }
    for (int i = 1; i < nrep; i++)
        for (int j = i; j > 0 && times[j] < times[j - 1]; j--) { double t = times[j]; times[j] = times[j - 1]; times[j - 1] = t; }
    if (dist_rank() == 0) {
        printf("# vit_b_32 vanilla, global batch %d on %d rank(s) x %d thread(s): step %.3f s (median %.3f), all-reduce %.3f s, "
               "%.1f MB per step; %s\n", G, P, threads_get(), best, times[nrep / 2], best_ar, best_bytes / 1e6, dist_library());
        printf("mpi.p%d.step_s %.6f\nmpi.p%d.step_median_s %.6f\nmpi.p%d.allreduce_s %.6f\nmpi.p%d.allreduce_bytes %.0f\n"
               "mpi.p%d.batch %d\nmpi.p%d.threads %d\n",
               P, best, P, times[nrep / 2], P, best_ar, P, best_bytes, P, G, P, threads_get());
    }
    dp_free(&dp);
    mem_free(img);
    mem_free(y);
    model_free(&m);
    return 0;
}

// --- report

#define MAXP 16
typedef struct { int p; double step, median, ar, bytes, batch; } Row;

static int read_raw(const char *path, Row *rows, int *nrows) {
    FILE *f = fopen(path, "r");
    if (!f) { fprintf(stderr, "bench_mpi report: cannot open %s\n", path); return -1; }
    char line[512];
    *nrows = 0;
    while (fgets(line, sizeof line, f)) {
        int p;
        char field[64];
        double v;
        if (line[0] == '#' || sscanf(line, "mpi.p%d.%63s %lf", &p, field, &v) != 3) continue;
        int i = 0;
        while (i < *nrows && rows[i].p != p) i++;
        if (i == *nrows) {
            if (*nrows == MAXP) continue;
            memset(&rows[i], 0, sizeof rows[i]);
            rows[i].p = p;
            (*nrows)++;
        }
        if (!strcmp(field, "step_s")) rows[i].step = v;
        else if (!strcmp(field, "step_median_s")) rows[i].median = v;
        else if (!strcmp(field, "allreduce_s")) rows[i].ar = v;
        else if (!strcmp(field, "allreduce_bytes")) rows[i].bytes = v;
        else if (!strcmp(field, "batch")) rows[i].batch = v;
    }
    fclose(f);
    return 0;
}

// Ring all-reduce of n bytes over P ranks: 2 (P-1) messages of n/P bytes each way.
static double ring_seconds(int P, double n, double alpha, double beta) {
    return P == 1 ? 0.0 : 2.0 * (P - 1) * alpha + 2.0 * (P - 1) / P * n / beta;
}

static int cmd_report(const char *raw) {
    Row rows[MAXP];
    int n;
    if (read_raw(raw, rows, &n) < 0) return 1;
    if (n == 0) { fprintf(stderr, "bench_mpi report: no mpi.p* lines in %s\n", raw); return 1; }
    printf("Measured (vit_b_32 vanilla, every parameter trained, 1 thread per rank, one machine):\n\n");
    printf("| ranks | global batch | step s (best) | step s (median) | all-reduce s | all-reduce share | MB summed per step | speedup |\n");
    printf("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    const Row *one = NULL, *big = &rows[0];
    for (int i = 0; i < n; i++) {
        if (rows[i].p == 1) one = &rows[i];
        if (rows[i].p > big->p) big = &rows[i];
    }
    for (int i = 0; i < n; i++) {
        const Row *r = &rows[i];
        char sp[32] = "-";
        if (one && r->step > 0) snprintf(sp, sizeof sp, "%.2fx", one->step / r->step);
        printf("| %d | %.0f | %.3f | %.3f | %.3f | %.1f%% | %.1f | %s |\n", r->p, r->batch, r->step, r->median, r->ar,
               r->step > 0 ? 100 * r->ar / r->step : 0.0, r->bytes / 1e6, sp);
    }
    if (big->p < 2 || big->bytes <= 0) { printf("\n(no multi-rank row: no extrapolation)\n"); return 0; }
    const double compute = big->step - big->ar, nbytes = big->bytes;
    const double per_rank = big->batch / big->p;
    const double shm_beta = 2.0 * (big->p - 1) / big->p * nbytes / big->ar;
    printf("\nThe %d-rank all-reduce moved %.1f MB per rank in %.3f s: %.2f GB/s effective (shared memory, cores shared).\n",
           big->p, nbytes / 1e6, big->ar, shm_beta / 1e9);
    printf("\nExtrapolated (alpha-beta ring all-reduce, T = 2(P-1) alpha + 2(P-1)/P n / beta, n = %.1f MB; weak scaling:\n"
           "each rank keeps %.0f images and the measured compute %.3f s of the %d-rank run; no overlap of the\n"
           "all-reduce with backward):\n\n", nbytes / 1e6, per_rank, compute, big->p);
    printf("| network | alpha | beta | ranks | global batch | all-reduce s | step s | all-reduce share | images/s |\n");
    printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    static const struct { const char *name; double alpha, beta; } net[2] = {
        {"10 Gbit/s Ethernet", 25e-6, 10e9 / 8}, {"100 Gbit/s (InfiniBand class)", 2e-6, 100e9 / 8}};
    static const int Ps[3] = {8, 64, 256};
    for (int k = 0; k < 2; k++)
        for (int j = 0; j < 3; j++) {
            double t = ring_seconds(Ps[j], nbytes, net[k].alpha, net[k].beta), step = compute + t;
            printf("| %s | %.0f us | %.2f GB/s | %d | %.0f | %.3f | %.3f | %.1f%% | %.1f |\n", net[k].name, net[k].alpha * 1e6,
                   net[k].beta / 1e9, Ps[j], per_rank * Ps[j], t, step, 100 * t / step, per_rank * Ps[j] / step);
        }
    return 0;
}

int main(int argc, char **argv) {
    dist_init(&argc, &argv);
    int rc = 2;
    if (argc == 5 && !strcmp(argv[1], "step")) rc = cmd_step(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
    else if (argc == 3 && !strcmp(argv[1], "report")) rc = cmd_report(argv[2]);
    else fprintf(stderr, "usage: [mpirun -np P] bench_mpi step G REPS THREADS | bench_mpi report RAW\n");
    dist_finalize();
    return rc;
}
