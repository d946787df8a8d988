// test_dist.c: MPI data-parallel training. The one-process semantics of
// core/runtime/dist.h; then `mpirun --oversubscribe -np 2 wasibench run` of a small
// sweep (vanilla, lora, asi and wasi at full ranks) against the one-process
// run with the same global batch: the same epoch losses and accuracies and
// the same final weights (the checkpoints) within float rounding.
// Then the work queue (--runs-per-rank): the same sweep with whole runs
// handed to 2 ranks equals the one-process run bit for bit (each rank trains
// alone with the same thread count), lands in one file, resumes, and a rank
// file left by a dead job is merged at the next start. The dry run's
// wall-time estimate: its step count matches the steps a run really takes,
// and the queue's schedule on P ranks.
// Skipped with a visible SKIP line only when mpirun is absent or the build
// has no MPI, and never when CI is set in the environment.
#include "core/runtime/dist.h"
#include "core/runtime/memory.h"
#include "core/io/safetensors.h"
#include "experiments/config.h"
#include "experiments/cost.h"
#include "experiments/fs.h"
#include "experiments/results.h"
#include "tests/runlib.h"
#include "tests/testlib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_bin[1024];
static char g_dir[600];

// Tolerance of the equivalence (see README, scale-out): the two runs sum the
// same terms in a different order (each rank's mean, weighted, then summed),
// which moves each gradient by a few float ulps; 16 momentum-SGD steps carry
// that to ~1e-6 relative. atol 2e-5 + rtol 1e-4 leaves a margin of ~10x.
#define EQ_ATOL 2e-5
#define EQ_RTOL 1e-4

static void test_one_process(void) {
    EXPECT(dist_size() == 1 && dist_rank() == 0, "not launched by mpirun: rank 0 of 1");
    long lo, hi;
    dist_slice(10, &lo, &hi);
    EXPECT(lo == 0 && hi == 10, "one rank takes the whole batch: [%ld, %ld)", lo, hi);
    EXPECT(dist_first_flagged(0) == -1 && dist_first_flagged(1) == 0, "first flagged rank");
    char msg[64] = "kept";
    EXPECT(dist_any_failed(0, msg, sizeof msg) == 0 && !strcmp(msg, "kept"), "no failure leaves the message");
    EXPECT(dist_any_failed(1, msg, sizeof msg) == 1 && !strcmp(msg, "kept"), "one process: its own message, unprefixed");
    float g[3] = {1, 2, 3};
    dist_sum_f32(g, 3);
    EXPECT(g[0] == 1 && g[1] == 2 && g[2] == 3, "a sum over one rank is the identity");
    DistCounter *c = dist_counter_new();
    EXPECT(dist_counter_next(c) == 0 && dist_counter_next(c) == 1 && dist_counter_next(c) == 2, "work-queue counter 0, 1, 2");
    dist_counter_free(c);
}

// fork + exec argv (NULL-terminated), output to log; returns the exit code.
static int run_cmd(char *const *argv, const char *log) {
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork failed");
    if (pid == 0) {
        FILE *f = freopen(log, "w", stderr); (void)f;
        f = freopen(log, "a", stdout); (void)f;
        // The sanitizer build: Open MPI keeps allocations until exit in the
        // components it dlopens and unloads (frames LeakSanitizer cannot name
        // or suppress), so the ranks run without leak checking; ASan and UBSan
        // stay on, and the one-process run of the same code checks leaks.
        if (!strcmp(argv[0], "mpirun")) setenv("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0", 1);
        if (getuid() == 0) {   // Open MPI refuses root without both
            setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
            setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int have_mpirun(void) {
    char log[800];
    snprintf(log, sizeof log, "%s/mpirun-version.log", g_dir);
    char *argv[] = {"mpirun", "--version", NULL};
    return run_cmd(argv, log) == 0;
}

// Four methods whose P-rank run must equal the one-process run: exact
// activation compression (asi/wasi ranks at the full sizes; k1 is clamped to
// each rank's batch), wasi at epsilon 1 (full weight rank).
static void write_yaml(const char *path) {
    char y[4096];
    snprintf(y, sizeof y,
             "experiment: eq\n"
             "model: {image_size: 16, patch: 4, channels: 1, dim: 32, depth: 2, heads: 2, mlp_dim: 32}\n"
             "dataset: {format: mnist, path: %s, image_size: 16, channels: 1, limit_train: 256, limit_val: 64}\n"
             "training: {epochs: 2, batch_size: 32, lr: 0.3, momentum: 0.9}\n"
             "stages:\n"
             "  - name: s\n"
             "    save_checkpoint: true\n"
             "    methods:\n"
             "      - vanilla\n"
             "      - {name: lora, rank: 4, alpha: 8}\n"
             "      - {name: asi, ranks: [32, 17, 32]}\n"
             "      - {name: wasi, epsilon: 1.0, activation: {ranks: [32, 17, 32]}}\n",
             g_dir);
    rl_write_file(path, y);
}

static const char *g_methods[4] = {"vanilla", "lora", "asi", "wasi"};

static void compare_weights(const char *m, const char *dir1, const char *dir2, double atol, double rtol) {
    char p1[900], p2[900];
    snprintf(p1, sizeof p1, "%s/eq-s-%s-seed233.safetensors", dir1, m);
    snprintf(p2, sizeof p2, "%s/eq-s-%s-seed233.safetensors", dir2, m);
    SafeTensors a, b;
    WbError err;
    if (st_open(&a, p1, &err) < 0) { EXPECT(0, "%s", err.msg); return; }
    if (st_open(&b, p2, &err) < 0) { EXPECT(0, "%s", err.msg); st_close(&a); return; }
    EXPECT(a.n == b.n && a.n > 0, "%s: %d vs %d tensors", m, a.n, b.n);
    double worst = 0;
    for (int i = 0; i < a.n; i++) {
        const StTensor *t = &a.t[i];
        int shape[ST_MAX_DIMS];
        size_t n = 1;
        for (int d = 0; d < t->ndim; d++) { shape[d] = (int)t->shape[d]; n *= (size_t)t->shape[d]; }
        float *x = mem_alloc_floats(n, MEM_WORKSPACE), *y = mem_alloc_floats(n, MEM_WORKSPACE);
        if (st_read(&a, t->name, x, t->ndim, shape, &err) == 0 && st_read(&b, t->name, y, t->ndim, shape, &err) == 0) {
            char what[300];
            snprintf(what, sizeof what, "%s: %s", m, t->name);
            double d = EXPECT_CLOSE(what, x, y, n, atol, rtol);
            if (d > worst) worst = d;
        } else {
            EXPECT(0, "%s", err.msg);
        }
        mem_free(x);
        mem_free(y);
    }
    printf("  %s: %d tensors, largest |w_%s - w_1rank| = %.3g\n", m, a.n, atol == 0 ? "queue" : "2rank", worst);
    st_close(&a);
    st_close(&b);
}

// The 4 runs of out1 and out2: complete, 16 steps, epoch losses and accuracies
// and (when d2 is given) the checkpoints in d1 and d2 within atol + rtol |b|
// (0, 0: bit for bit).
static void compare_runs(const char *out1, const char *out2, const char *d1, const char *d2, double atol, double rtol) {
    RunList l1, l2;
    WbError err;
    if (results_list(out1, &l1, &err) < 0) { EXPECT(0, "%s", err.msg); return; }
    if (results_list(out2, &l2, &err) < 0) { EXPECT(0, "%s", err.msg); results_list_free(&l1); return; }
    EXPECT(l1.n == 4 && l2.n == 4, "4 runs in each file (%d, %d)", l1.n, l2.n);
    for (int i = 0; i < 4; i++) {
        char name[64];
        snprintf(name, sizeof name, "s/%s-seed233", g_methods[i]);
        const RunSummary *x = results_find(&l1, name), *y = results_find(&l2, name);
        EXPECT(x && y && x->status == RUN_COMPLETE && y->status == RUN_COMPLETE, "%s complete in both", name);
        if (!x || !y) continue;
        EXPECT(x->steps_done == 16 && y->steps_done == 16, "%s: 16 steps each (%ld, %ld)", name, (long)x->steps_done, (long)y->steps_done);
        EpochRow *e1 = NULL, *e2 = NULL;
        int n1 = 0, n2 = 0;
        if (results_read_epochs(out1, name, &e1, &n1, &err) == 0 && results_read_epochs(out2, name, &e2, &n2, &err) == 0 &&
            n1 == 2 && n2 == 2) {
            float v1[8], v2[8];
            for (int e = 0; e < 2; e++) {
                v1[4 * e] = (float)e1[e].train_loss; v2[4 * e] = (float)e2[e].train_loss;
                v1[4 * e + 1] = (float)e1[e].train_acc; v2[4 * e + 1] = (float)e2[e].train_acc;
                v1[4 * e + 2] = (float)e1[e].val_loss; v2[4 * e + 2] = (float)e2[e].val_loss;
                v1[4 * e + 3] = (float)e1[e].val_acc; v2[4 * e + 3] = (float)e2[e].val_acc;
            }
            char what[160];
            snprintf(what, sizeof what, "%s: epoch train/val loss and accuracy", name);
            EXPECT_CLOSE(what, v2, v1, 8, atol, rtol);
            printf("  %s: train loss %.9g (1 rank) %.9g (other)\n", name, e1[1].train_loss, e2[1].train_loss);
        } else {
            EXPECT(0, "epoch tables of %s (%d, %d rows)", name, n1, n2);
        }
        mem_free(e1);
        mem_free(e2);
        if (d2) compare_weights(g_methods[i], d1, d2, atol, rtol);
    }
    results_list_free(&l1);
    results_list_free(&l2);
}

static void test_mpi_equals_one_process(void) {
    if (!dist_compiled() || !have_mpirun()) {
        if (getenv("CI")) { EXPECT(0, "CI must run the MPI test: %s", dist_compiled() ? "mpirun not found" : "built without MPI"); return; }
        printf("SKIP test_mpi_equals_one_process: %s (make deps installs openmpi-bin and libopenmpi-dev)\n",
               dist_compiled() ? "mpirun not found" : "this build has no MPI");
        return;
    }
    char yaml[800], d1[700], d2[700], out1[800], out2[800], log1[800], log2[800];
    snprintf(yaml, sizeof yaml, "%s/eq.yaml", g_dir);
    write_yaml(yaml);
    snprintf(d1, sizeof d1, "%s/one", g_dir);
    snprintf(d2, sizeof d2, "%s/two", g_dir);
    snprintf(out1, sizeof out1, "%s/eq.h5", d1);
    snprintf(out2, sizeof out2, "%s/eq.h5", d2);
    snprintf(log1, sizeof log1, "%s/one.log", g_dir);
    snprintf(log2, sizeof log2, "%s/two.log", g_dir);
    unlink(out1);   // a file left by an earlier test run would be skipped as complete
    unlink(out2);
    for (int i = 0; i < 4; i++) {   // and its checkpoints compared
        char p[900];
        snprintf(p, sizeof p, "%s/eq-s-%s-seed233.safetensors", d1, g_methods[i]);
        unlink(p);
        snprintf(p, sizeof p, "%s/eq-s-%s-seed233.safetensors", d2, g_methods[i]);
        unlink(p);
    }
    char *a1[] = {g_bin, "run", yaml, "--out", out1, "--quiet", "--threads", "1", NULL};
    EXPECT(run_cmd(a1, log1) == 0, "one-process run exits 0 (see %s)", log1);
    char *a2[] = {"mpirun", "--oversubscribe", "-np", "2", g_bin, "run", yaml, "--out", out2, "--quiet", "--threads", "1", NULL};
    EXPECT(run_cmd(a2, log2) == 0, "mpirun -np 2 run exits 0 (see %s)", log2);
    compare_runs(out1, out2, d1, d2, EQ_ATOL, EQ_RTOL);
}

// The one-process reference of test_mpi_equals_one_process (its folder).
static int mpi_available(const char *test) {
    if (dist_compiled() && have_mpirun()) return 1;
    if (getenv("CI")) { EXPECT(0, "CI must run %s: %s", test, dist_compiled() ? "mpirun not found" : "built without MPI"); return 0; }
    printf("SKIP %s: %s (make deps installs openmpi-bin and libopenmpi-dev)\n", test, dist_compiled() ? "mpirun not found" : "this build has no MPI");
    return 0;
}

static void remove_outputs(const char *dir) {
    char p[900];
    snprintf(p, sizeof p, "%s/eq.h5", dir);
    unlink(p);
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/eq-s-%s-seed233.safetensors", dir, g_methods[i]);
        unlink(p);
    }
}

static int file_exists(const char *p) { return access(p, F_OK) == 0; }
// A log file as a NUL-terminated string (rl_slurp allocates one byte more).
static char *read_text(const char *path) {
    size_t n;
    unsigned char *b = rl_slurp(path, &n);
    if (b) b[n] = 0;
    return (char *)b;
}

static void test_runs_per_rank_queue(void) {
    char yaml[800], d1[700], d3[700], out1[800], out3[800], log[800], rank0[800], rank1[800];
    snprintf(yaml, sizeof yaml, "%s/eq.yaml", g_dir);
    write_yaml(yaml);
    snprintf(d1, sizeof d1, "%s/one", g_dir);
    snprintf(out1, sizeof out1, "%s/eq.h5", d1);
    if (!file_exists(out1)) {   // the reference (test_mpi_equals_one_process makes it when MPI is there)
        char *a1[] = {g_bin, "run", yaml, "--out", out1, "--quiet", "--threads", "1", NULL};
        snprintf(log, sizeof log, "%s/one-q.log", g_dir);
        EXPECT(run_cmd(a1, log) == 0, "one-process run exits 0 (see %s)", log);
    }
    // A rank file left by a job that died: the next start merges it, trains
    // nothing (its runs are complete) and removes it. One process suffices.
    snprintf(d3, sizeof d3, "%s/leftover", g_dir);
    snprintf(out3, sizeof out3, "%s/eq.h5", d3);
    snprintf(rank1, sizeof rank1, "%s/eq.rank1.h5", d3);
    remove_outputs(d3);
    CHECK(mkdir(d3, 0755) == 0 || errno == EEXIST, "mkdir %s", d3);
    WbError err;
    CHECK(fs_copy_file(out1, rank1, 0, NULL, &err) == 0, "%s", err.msg);
    char *a3[] = {g_bin, "run", yaml, "--out", out3, "--runs-per-rank", "--threads", "1", "--plain", NULL};
    snprintf(log, sizeof log, "%s/leftover.log", g_dir);
    EXPECT(run_cmd(a3, log) == 0, "--runs-per-rank start with a leftover rank file exits 0 (see %s)", log);
    char *text = read_text(log);
    EXPECT(text && strstr(text, "merged 1 rank file(s)") && strstr(text, "0 to go"), "the leftover was merged and nothing trained (%s)", log);
    mem_free(text);
    EXPECT(!file_exists(rank1), "the merged rank file is removed");
    compare_runs(out1, out3, d1, NULL, 0, 0);

    if (!mpi_available("test_runs_per_rank_queue (mpirun part)")) return;
    char d2[700], out2[800];
    snprintf(d2, sizeof d2, "%s/queue", g_dir);
    snprintf(out2, sizeof out2, "%s/eq.h5", d2);
    snprintf(rank0, sizeof rank0, "%s/eq.rank0.h5", d2);
    snprintf(rank1, sizeof rank1, "%s/eq.rank1.h5", d2);
    remove_outputs(d2);
    char *a2[] = {"mpirun", "--oversubscribe", "-np", "2", g_bin, "run", yaml, "--out", out2, "--runs-per-rank", "--threads", "1", "--plain", NULL};
    snprintf(log, sizeof log, "%s/queue.log", g_dir);
    EXPECT(run_cmd(a2, log) == 0, "mpirun -np 2 run --runs-per-rank exits 0 (see %s)", log);
    text = read_text(log);
    EXPECT(text && strstr(text, "rank 1: run "), "rank 1 trained a run of its own (%s)", log);
    mem_free(text);
    EXPECT(!file_exists(rank0) && !file_exists(rank1), "no rank file left after the merge");
    compare_runs(out1, out2, d1, d2, 0, 0);
    // Resume: the same command again trains nothing.
    snprintf(log, sizeof log, "%s/queue2.log", g_dir);
    EXPECT(run_cmd(a2, log) == 0, "the second --runs-per-rank run exits 0 (see %s)", log);
    text = read_text(log);
    EXPECT(text && strstr(text, "0 to go") && !strstr(text, "rank 1: run "), "resume: nothing trained again (%s)", log);
    mem_free(text);
    compare_runs(out1, out2, d1, NULL, 0, 0);
}

// The dry run's estimate: the step count it assumes is the one a run takes,
// and the queue schedule on P ranks (stage by stage, next free rank).
static void test_time_estimate(void) {
    char yaml[800];
    snprintf(yaml, sizeof yaml, "%s/eq.yaml", g_dir);
    write_yaml(yaml);
    Experiment ex;
    WbError err;
    CHECK(cfg_load(&ex, yaml, &err) == 0, "%s", err.msg);
    const RunSpec *rs = &ex.runs[0];   // vanilla: 2 epochs x 256 items / batch 32 = 16 steps (the MPI test checks them)
    MethodCost c;
    method_cost(rs, &c);
    int bounded = -1;
    double flops = run_seconds_estimate(rs, &c, 1.0, &bounded);
    double steps = (flops - 2.0 * 64 * c.eval_flops_per_item) / c.train_flops_per_step;
    EXPECT(bounded == 0 && fabs(steps - 16) < 1e-6, "vanilla: 16 steps and 2 evaluations of 64 items (got %.3f steps)", steps);
    EXPECT(c.dense_flops_per_step == c.train_flops_per_step, "vanilla's step is the dense step");
    const RunSpec *lora = &ex.runs[1];
    method_cost(lora, &c);
    double est = run_seconds_estimate(lora, &c, 1.0, &bounded);
    if (isnan(c.train_flops_per_step))   // no closed form: charged the dense step, and said so
        EXPECT(bounded == 1 && est == flops, "lora without a closed form is bounded by the dense estimate");
    else
        EXPECT(bounded == 0 && est < flops, "lora's estimate is below vanilla's (%.0f vs %.0f)", est, flops);
    int runs[4] = {0, 1, 2, 3};
    double sec[4] = {3, 1, 1, 1};
    EXPECT(fabs(queue_seconds_estimate(&ex, runs, sec, 4, 2) - 3) < 1e-12, "one stage, 2 ranks: 3 | 1+1+1 = 3 s");
    EXPECT(fabs(queue_seconds_estimate(&ex, runs, sec, 4, 1) - 6) < 1e-12, "1 rank: the sum");
    snprintf(ex.runs[3].stage, sizeof ex.runs[3].stage, "later");
    double sec2[4] = {2, 2, 1, 5};
    EXPECT(fabs(queue_seconds_estimate(&ex, runs, sec2, 4, 2) - 8) < 1e-12, "two stages on 2 ranks: (2 | 2+1) then 5 = 8 s");
    cfg_free(&ex);
    // The command prints it.
    char log[800];
    snprintf(log, sizeof log, "%s/dry.log", g_dir);
    char *a[] = {g_bin, "run", yaml, "--dry-run", "--ranks", "2", "--gflops", "10", NULL};
    EXPECT(run_cmd(a, log) == 0, "--dry-run --ranks 2 --gflops 10 exits 0 (see %s)", log);
    char *text = read_text(log);
    EXPECT(text && strstr(text, "at 10.0 GFLOP/s per process (--gflops)") && strstr(text, "on 2 ranks with --runs-per-rank"),
           "the estimate line names the rate and the ranks (%s)", log);
    mem_free(text);
    char *b[] = {g_bin, "run", yaml, "--ranks", "2", NULL};
    EXPECT(run_cmd(b, log) == 2, "--ranks without --dry-run is a usage error");
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    if (rl_find_wasibench(g_bin, sizeof g_bin, argv[0], 1) < 0) return 1;
    snprintf(g_dir, sizeof g_dir, "%s", tl_tmpdir());
    rl_make_idx(g_dir, "train", 400, 1);
    rl_make_idx(g_dir, "t10k", 100, 2);
    RUN(test_one_process);
    RUN(test_mpi_equals_one_process);
    RUN(test_runs_per_rank_queue);
    RUN(test_time_estimate);
    return tl_finish();
}
