// test_runner.c: `wasibench run` end to end on a small generated IDX data
// set: a 2-method x 2-epsilon sweep writes the expected file; a sweep
// interrupted (SIGINT) and killed (SIGKILL) then resumed ends with the same
// runs and values as an uninterrupted one; --dry-run writes nothing;
// --shard halves merge into the full sweep; a diverging run is marked and
// the sweep goes on; a bad YAML exits 2 naming file:line:column.
#include "experiments/results.h"
#include "core/memory.h"
#include "core/rng.h"
#include "tests/runlib.h"
#include "tests/testlib.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_bin[1024];     // the wasibench binary beside this test's build dir
static char g_dir[600];      // scratch: data set, YAML files, results

// The sweep: hosvd and wasi at two epsilons on a tiny ViT, 2 epochs.
static void write_sweep_yaml(const char *path, const char *extra_training) {
    char y[4096];
    snprintf(y, sizeof y,
             "experiment: sweep\n"
             "model: {image_size: 16, patch: 4, channels: 1, dim: 32, depth: 2, heads: 2, mlp_dim: 64}\n"
             "dataset: {format: mnist, path: %s, image_size: 16, channels: 1, limit_train: 160, limit_val: 64}\n"
             "training: {epochs: 2, batch_size: 32, lr: 0.05, momentum: 0.9%s}\n"
             "methods:\n"
             "  - name: hosvd\n"
             "    epsilon: [0.8, 0.95]\n"
             "  - name: wasi\n"
             "    epsilon: [0.8, 0.95]\n",
             g_dir, extra_training);
    rl_write_file(path, y);
}

// Run wasibench with args (NULL-terminated); returns the exit code.
static int run_bin(const char *const *args, const char *log) {
    fflush(stdout);   // or the child would print our buffer again
    pid_t pid = fork();
    CHECK(pid >= 0, "fork failed");
    if (pid == 0) {
        if (log) { FILE *f = freopen(log, "w", stderr); (void)f; f = freopen(log, "a", stdout); (void)f; }
        execv(g_bin, (char *const *)args);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int count_status(const RunList *l, RunStatus s) {
    int n = 0;
    for (int i = 0; i < l->n; i++) n += l->runs[i].status == s;
    return n;
}

static int list_runs(const char *path, RunList *l) {
    WbError err;
    if (results_list(path, l, &err) < 0) { EXPECT(0, "%s", err.msg); l->n = 0; l->runs = NULL; return -1; }
    return 0;
}

// Same names, same final numbers (bit for bit: same seed, same threads).
static void expect_same_runs(const char *a, const char *b) {
    RunList la, lb;
    if (list_runs(a, &la) < 0 || list_runs(b, &lb) < 0) return;
    EXPECT(count_status(&la, RUN_COMPLETE) == count_status(&lb, RUN_COMPLETE), "complete runs %d vs %d",
           count_status(&la, RUN_COMPLETE), count_status(&lb, RUN_COMPLETE));
    for (int i = 0; i < la.n; i++) {
        const RunSummary *x = &la.runs[i], *y = results_find(&lb, x->name);
        EXPECT(y != NULL, "run %s in both files", x->name);
        if (!y) continue;
        EXPECT(x->status == y->status, "%s status", x->name);
        EXPECT(x->final_train_loss == y->final_train_loss && x->final_val_acc == y->final_val_acc,
               "%s: train loss %.9g vs %.9g, val acc %.6g vs %.6g", x->name, x->final_train_loss, y->final_train_loss,
               x->final_val_acc, y->final_val_acc);
    }
    results_list_free(&la);
    results_list_free(&lb);
}

static char g_yaml[800], g_full[800];

static void test_sweep_writes_results(void) {
    snprintf(g_full, sizeof g_full, "%s/full.h5", g_dir);
    unlink(g_full);   // a file left by an earlier test run would be skipped as complete
    const char *args[] = {g_bin, "run", g_yaml, "--out", g_full, "--quiet", "--threads", "2", NULL};
    char log[800]; snprintf(log, sizeof log, "%s/full.log", g_dir);
    EXPECT(run_bin(args, log) == 0, "wasibench run exits 0 (see %s)", log);
    RunList l;
    if (list_runs(g_full, &l) < 0) return;
    EXPECT(l.n == 4 && count_status(&l, RUN_COMPLETE) == 4, "4 complete runs, got %d", l.n);
    const char *names[4] = {"hosvd-eps0.8-seed233", "hosvd-eps0.95-seed233", "wasi-eps0.8-seed233", "wasi-eps0.95-seed233"};
    for (int i = 0; i < 4; i++) {
        const RunSummary *s = results_find(&l, names[i]);
        EXPECT(s != NULL, "run %s present", names[i]);
        if (!s) continue;
        EXPECT(s->epochs_done == 2 && s->steps_done == 10, "%s: %d epochs, %ld steps", names[i], s->epochs_done, (long)s->steps_done);
        EXPECT(isfinite(s->final_train_loss) && s->final_val_acc >= 0 && s->final_val_acc <= 1, "%s: loss %g acc %g",
               names[i], s->final_train_loss, s->final_val_acc);
        EXPECT(s->paper_act_mb > 0 && s->paper_weight_mb > 0 && s->train_flops_per_step > 0 && s->peak_tracked_bytes > 0,
               "%s: measured memory and FLOPs", names[i]);
        EXPECT(!strcmp(s->method, i < 2 ? "hosvd" : "wasi"), "%s method %s", names[i], s->method);
        EXPECT(fabs(s->epsilon - (i % 2 ? 0.95 : 0.8)) < 1e-6, "%s epsilon %g", names[i], s->epsilon);
    }
    // wasi stores fewer weight elements than hosvd's dense W at the same epsilon
    const RunSummary *h = results_find(&l, names[0]), *w = results_find(&l, names[2]);
    if (h && w) EXPECT(w->paper_weight_mb < h->paper_weight_mb, "wasi weights %g MB < dense %g MB", w->paper_weight_mb, h->paper_weight_mb);
    EpochRow *rows; int n;
    WbError err;
    EXPECT(results_read_epochs(g_full, names[2], &rows, &n, &err) == 0 && n == 2, "epoch table of %s", names[2]);
    if (n == 2) EXPECT(rows[0].epoch == 1 && rows[1].epoch == 2 && rows[1].lr < rows[0].lr, "epochs 1, 2 with cosine lr");
    mem_free(rows);
    results_list_free(&l);
    // a second invocation finds everything complete and trains nothing
    EXPECT(run_bin(args, log) == 0, "rerun exits 0");
    RunList l2;
    if (list_runs(g_full, &l2) == 0) { EXPECT(l2.n == 4, "still 4 runs"); results_list_free(&l2); }
}

// Start a sweep, stop it with sig once `after` runs are in the file, resume.
static void interrupt_and_resume(int sig, int after, const char *tag) {
    char out[800], log[800];
    snprintf(out, sizeof out, "%s/%s.h5", g_dir, tag);
    snprintf(log, sizeof log, "%s/%s.log", g_dir, tag);
    unlink(out);
    const char *args[] = {g_bin, "run", g_yaml, "--out", out, "--quiet", "--threads", "2", NULL};
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        FILE *f = freopen(log, "w", stderr); (void)f;
        execv(g_bin, (char *const *)args);
        _exit(127);
    }
    int stopped = 0;
    for (int t = 0; t < 6000 && !stopped; t++) {   // up to 60 s
        usleep(10000);
        RunList l;
        WbError err;
        if (results_list(out, &l, &err) == 0) {
            if (l.n >= after) { kill(pid, sig); stopped = 1; }
            results_list_free(&l);
        }
        int st;
        if (!stopped && waitpid(pid, &st, WNOHANG) == pid) { pid = -1; break; }
    }
    if (pid > 0) {
        int st;
        waitpid(pid, &st, 0);
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (sig == SIGINT) EXPECT(code == 130 || code == 0, "%s: SIGINT exit code %d (130 expected unless it had just finished)", tag, code);
        else EXPECT(code == 128 + SIGKILL || code == 0, "%s: killed, code %d", tag, code);
    }
    EXPECT(stopped, "%s: the sweep was stopped mid-way", tag);
    RunList l;
    if (list_runs(out, &l) == 0) {   // the file is valid after the stop
        printf("  %s: stopped with %d runs in the file (%d complete, %d interrupted)\n", tag, l.n,
               count_status(&l, RUN_COMPLETE), count_status(&l, RUN_INTERRUPTED));
        EXPECT(count_status(&l, RUN_COMPLETE) >= after, "%s: the %d finished runs are kept", tag, after);
        results_list_free(&l);
    }
    EXPECT(run_bin(args, log) == 0, "%s: resume exits 0 (log %s)", tag, log);
    expect_same_runs(out, g_full);
}

static void test_interrupt_and_resume(void) { interrupt_and_resume(SIGINT, 1, "sigint"); }
static void test_kill9_and_resume(void) { interrupt_and_resume(SIGKILL, 2, "sigkill"); }

static void test_dry_run_and_shards(void) {
    char out[800], log[800], s0[800], s1[800], merged[800];
    snprintf(out, sizeof out, "%s/dry.h5", g_dir);
    snprintf(log, sizeof log, "%s/dry.log", g_dir);
    unlink(out);
    const char *dry[] = {g_bin, "run", g_yaml, "--out", out, "--dry-run", NULL};
    EXPECT(run_bin(dry, log) == 0, "dry run exits 0");
    EXPECT(access(out, F_OK) != 0, "dry run writes no results file");
    FILE *f = fopen(log, "r");
    int lines = 0;
    char buf[512];
    while (f && fgets(buf, sizeof buf, f)) lines += strstr(buf, "-seed233") != NULL;
    if (f) fclose(f);
    EXPECT(lines == 4, "dry run lists 4 runs, got %d", lines);

    snprintf(s0, sizeof s0, "%s/shard0.h5", g_dir);
    snprintf(s1, sizeof s1, "%s/shard1.h5", g_dir);
    snprintf(merged, sizeof merged, "%s/merged.h5", g_dir);
    unlink(s0); unlink(s1); unlink(merged);
    const char *a0[] = {g_bin, "run", g_yaml, "--out", s0, "--shard", "0/2", "--quiet", "--threads", "2", NULL};
    const char *a1[] = {g_bin, "run", g_yaml, "--out", s1, "--shard", "1/2", "--quiet", "--threads", "2", NULL};
    EXPECT(run_bin(a0, log) == 0 && run_bin(a1, log) == 0, "both shards run");
    RunList l0, l1;
    if (list_runs(s0, &l0) == 0 && list_runs(s1, &l1) == 0) {
        EXPECT(l0.n == 2 && l1.n == 2, "each shard has 2 runs (%d, %d)", l0.n, l1.n);
        results_list_free(&l0); results_list_free(&l1);
    }
    const char *m[] = {g_bin, "merge", merged, s0, s1, NULL};
    EXPECT(run_bin(m, log) == 0, "merge exits 0");
    expect_same_runs(merged, g_full);
    const char *bad[] = {g_bin, "run", g_yaml, "--shard", "2/2", NULL};
    EXPECT(run_bin(bad, log) == 2, "--shard 2/2 is a usage error");
}

static void test_divergence_goes_on(void) {
    char yaml[800], out[800], log[800], y[2048];
    snprintf(yaml, sizeof yaml, "%s/diverge.yaml", g_dir);
    snprintf(out, sizeof out, "%s/diverge.h5", g_dir);
    snprintf(log, sizeof log, "%s/diverge.log", g_dir);
    snprintf(y, sizeof y,
             "experiment: diverge\n"
             "model: {image_size: 16, patch: 4, channels: 1, dim: 32, depth: 2, heads: 2, mlp_dim: 64}\n"
             "dataset: {format: mnist, path: %s, image_size: 16, channels: 1, limit_train: 96, limit_val: 32}\n"
             "training: {epochs: 1, batch_size: 32, lr: [1.0e30, 0.01]}\n"
             "methods: [vanilla]\n", g_dir);
    rl_write_file(yaml, y);
    unlink(out);
    const char *args[] = {g_bin, "run", yaml, "--out", out, "--quiet", NULL};
    EXPECT(run_bin(args, log) == 0, "a diverged run is a result: exit 0");
    RunList l;
    if (list_runs(out, &l) == 0) {
        EXPECT(l.n == 2 && count_status(&l, RUN_DIVERGED) == 1 && count_status(&l, RUN_COMPLETE) == 1,
               "one diverged, one complete (of %d)", l.n);
        for (int i = 0; i < l.n; i++)
            if (l.runs[i].status == RUN_DIVERGED)
                EXPECT(strstr(l.runs[i].error, "loss at epoch") || strstr(l.runs[i].error, "gradient"), "error says where: %s", l.runs[i].error);
        results_list_free(&l);
    }
}

static void test_bad_yaml(void) {
    char yaml[800], log[800];
    snprintf(yaml, sizeof yaml, "%s/bad.yaml", g_dir);
    snprintf(log, sizeof log, "%s/bad.log", g_dir);
    rl_write_file(yaml, "model: {preset: vit_micro}\ndataset: {format: fashion_mnist}\ntraining: {epochs: 1, batch_size: 8, lr: 0.1, learning_rate: 2}\nmethods: [vanilla]\n");
    const char *args[] = {g_bin, "run", yaml, NULL};
    EXPECT(run_bin(args, log) == 2, "bad YAML exits 2");
    FILE *f = fopen(log, "r");
    char buf[1024] = "";
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = 0;
    if (f) fclose(f);
    EXPECT(strstr(buf, "bad.yaml:3:") && strstr(buf, "learning_rate"), "message names file:line and the key: %s", buf);
    const char *help[] = {g_bin, "run", "--help", NULL};
    EXPECT(run_bin(help, log) == 0, "run --help exits 0");
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    if (rl_find_wasibench(g_bin, sizeof g_bin, argv[0], 0) < 0) return 1;
    snprintf(g_dir, sizeof g_dir, "%s", tl_tmpdir());
    rl_make_idx(g_dir, "train", 400, 1);
    rl_make_idx(g_dir, "t10k", 100, 2);
    snprintf(g_yaml, sizeof g_yaml, "%s/sweep.yaml", g_dir);
    write_sweep_yaml(g_yaml, "");
    RUN(test_sweep_writes_results);
    RUN(test_interrupt_and_resume);
    RUN(test_kill9_and_resume);
    RUN(test_dry_run_and_shards);
    RUN(test_divergence_goes_on);
    RUN(test_bad_yaml);
    return tl_finish();
}
