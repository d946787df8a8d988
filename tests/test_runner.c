// test_runner.c: `wasibench run` end to end on a small generated IDX data
// set: a 2-method x 2-epsilon sweep writes the expected file; a sweep
// interrupted (SIGINT) and killed (SIGKILL) then resumed ends with the same
// runs and values as an uninterrupted one; --dry-run writes nothing;
// --shard halves merge into the full sweep; a diverging run is marked and
// the sweep goes on; a bad YAML exits 2 naming file:line:column.
#include "experiments/config.h"
#include "experiments/results.h"
#include "experiments/results_schema.h"
#include "core/data/image.h"
#include "core/runtime/memory.h"
#include "core/runtime/rng.h"
#include "tests/runlib.h"
#include "tests/testlib.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

// Run wasibench with args (NULL-terminated) and env ("NAME=value" or NULL)
// set in the child; returns the exit code.
static int run_env(const char *const *args, const char *log, const char *env) {
    fflush(stdout);   // or the child would print our buffer again
    pid_t pid = fork();
    CHECK(pid >= 0, "fork failed");
    if (pid == 0) {
        if (env) putenv((char *)env);
        if (log) { FILE *f = freopen(log, "w", stderr); (void)f; f = freopen(log, "a", stdout); (void)f; }
        execv(g_bin, (char *const *)args);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int run_bin(const char *const *args, const char *log) { return run_env(args, log, NULL); }

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
    // the subspace log: on by default for wasi (a weight rank), off for hosvd
    RunTables t;
    if (results_read_tables(g_full, names[2], &t, &err) == 0) {
        EXPECT(t.n_subspace == 3 * t.n_layers && t.n_layers == 4, "wasi: epochs 0..2 x 4 layers of subspace rows, got %d (%d layers)",
               t.n_subspace, t.n_layers);
        for (int i = 0; i < t.n_subspace; i++) {
            const SubspaceRow *r = &t.subspace[i];
            EXPECT(r->epoch == i / t.n_layers && r->layer == i % t.n_layers, "row %d: epoch %d layer %d", i, (int)r->epoch, (int)r->layer);
            EXPECT(r->k == t.layers[r->layer].weight_rank, "row %d: K %d is wasi's weight rank %d", i, (int)r->k,
                   (int)t.layers[r->layer].weight_rank);
            EXPECT(r->eps_rank >= 1 && r->max_angle >= 0 && r->max_angle <= acos(0.0) + 1e-9 && (r->epoch > 0 || r->max_angle < 1e-5),
                   "row %d: rank %d, angle %g (0 at epoch 0)", i, (int)r->eps_rank, r->max_angle);
        }
        results_tables_free(&t);
    } else EXPECT(0, "tables of %s: %s", names[2], err.msg);
    if (results_read_tables(g_full, names[0], &t, &err) == 0) {
        EXPECT(t.n_subspace == 0, "hosvd keeps no weight rank: no subspace rows unless asked, got %d", t.n_subspace);
        results_tables_free(&t);
    }
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


// ---------------------------------------------------------------------------
// issue 21: nothing a user does may abort a sweep, resume a different
// experiment, or overwrite a result file

static void read_text(const char *path, char *buf, size_t n) {
    FILE *f = fopen(path, "r");
    size_t k = f ? fread(buf, 1, n - 1, f) : 0;
    buf[k] = 0;
    if (f) fclose(f);
}

// A small experiment: training and methods given, 1 epoch on 64 images.
static void write_small(const char *path, const char *training, const char *methods, const char *extra) {
    char y[4096];
    snprintf(y, sizeof y,
             "experiment: small\n"
             "model: {image_size: 16, patch: 4, channels: 1, dim: 32, depth: 2, heads: 2, mlp_dim: 64}\n"
             "dataset: {format: mnist, path: %s, image_size: 16, channels: 1, limit_train: 64, limit_val: 32}\n"
             "training: {%s}\nmethods: %s\n%s",
             g_dir, training, methods, extra);
    rl_write_file(path, y);
}

static char *tmp_in(char *buf, size_t n, const char *name) {
    snprintf(buf, n, "%s/%s", g_dir, name);
    return buf;
}

// Case 1: hosvd at lr 100 feeds NaN into LAPACK's ssyevd, which used to
// abort the process (exit 1, nothing stored, later runs never started). Now
// the run is diverged and the sweep goes on (wasi with activation epsilon
// took the same path on Fashion-MNIST; here it may diverge elsewhere).
static void test_lapack_failure_is_a_diverged_run(void) {
    char yaml[800], out[800], log[800], lock[900], msg[8192];
    tmp_in(yaml, sizeof yaml, "lapack.yaml");
    tmp_in(out, sizeof out, "lapack.h5");
    tmp_in(log, sizeof log, "lapack.log");
    char y[4096];
    snprintf(y, sizeof y,
             "experiment: lapack\n"
             "model: {image_size: 16, patch: 4, channels: 1, dim: 32, depth: 2, heads: 2, mlp_dim: 64}\n"
             "dataset: {format: mnist, path: %s, image_size: 16, channels: 1, limit_train: 320, limit_val: 32}\n"
             "training: {epochs: 2, batch_size: 64, lr: 100, momentum: 0.9}\n"
             "methods: [{name: hosvd, epsilon: 0.9}, {name: wasi, epsilon: 0.9, activation: {epsilon: 0.9}}, {name: vanilla}]\n",
             g_dir);
    rl_write_file(yaml, y);
    unlink(out);
    const char *args[] = {g_bin, "run", yaml, "--out", out, "--quiet", "--threads", "1", NULL};
    int code = run_bin(args, log);
    read_text(log, msg, sizeof msg);
    EXPECT(code == 0, "diverged runs are results: exit %d (expected 0):\n%s", code, msg);
    snprintf(lock, sizeof lock, "%s.lock", out);
    EXPECT(access(lock, F_OK) != 0, "no lock file left");
    RunList l;
    if (list_runs(out, &l) < 0) return;
    EXPECT(l.n == 3, "all 3 runs stored, got %d:\n%s", l.n, msg);
    int lapack = 0;
    for (int i = 0; i < l.n; i++) {
        const RunSummary *s = &l.runs[i];
        printf("  %-16s %-9s %s\n", s->name, run_status_name(s->status), s->error);
        if (!strcmp(s->name, "hosvd-seed233")) EXPECT(s->status == RUN_DIVERGED, "%s: %s (expected diverged)", s->name, run_status_name(s->status));
        lapack += strstr(s->error, "ssyevd") && strstr(s->error, "non-finite") != NULL;
    }
    EXPECT(lapack >= 1, "at least one run diverged inside LAPACK (the case that aborted), got %d", lapack);
    results_list_free(&l);
    // a rerun trains nothing: diverged runs are results (case 8)
    EXPECT(run_bin(args, log) == 0, "rerun exits 0");
}

// Case 2: a LoRA rank the model cannot take is an error of the file (with
// file:line:col) at expansion, --dry-run included; and any CHECK reached
// inside a run is a failed run, the sweep goes on, the lock is removed.
static void test_check_in_a_run_is_a_failed_run(void) {
    char yaml[800], out[800], log[800], lock[900], msg[8192];
    tmp_in(yaml, sizeof yaml, "lora4096.yaml");
    tmp_in(out, sizeof out, "lora4096.h5");
    tmp_in(log, sizeof log, "lora4096.log");
    write_small(yaml, "epochs: 1, batch_size: 32, lr: 0.01", "[vanilla, {name: lora, rank: 4096}]", "");
    const char *dry[] = {g_bin, "run", yaml, "--out", out, "--dry-run", NULL};
    int code = run_bin(dry, log);
    read_text(log, msg, sizeof msg);
    EXPECT(code == 2 && strstr(msg, "lora4096.yaml:5:") && strstr(msg, "rank") && strstr(msg, "4096"),
           "dry run: exit %d (expected 2) naming file:line and the rank:\n%s", code, msg);
    write_small(yaml, "epochs: 1, batch_size: 32, lr: 0.01", "[vanilla, {name: lora, rank: 4}]", "");
    unlink(out);
    const char *args[] = {g_bin, "run", yaml, "--out", out, "--quiet", "--threads", "1", NULL};
    code = run_env(args, log, "WB_TEST_DIE_AT_STEP=1");
    read_text(log, msg, sizeof msg);
    EXPECT(code == 1, "a CHECK inside the runs: exit %d (expected 1, some runs failed):\n%s", code, msg);
    snprintf(lock, sizeof lock, "%s.lock", out);
    EXPECT(access(lock, F_OK) != 0, "no lock file left");
    RunList l;
    if (list_runs(out, &l) < 0) return;
    EXPECT(l.n == 2 && count_status(&l, RUN_FAILED) == 2, "both runs stored as failed (%d runs)", l.n);
    for (int i = 0; i < l.n; i++)
        EXPECT(strstr(l.runs[i].error, "runner.c:") && strstr(l.runs[i].error, "WB_TEST_DIE_AT_STEP"), "%s: error names the check: %s",
               l.runs[i].name, l.runs[i].error);
    results_list_free(&l);
    // failed runs are trained again, now without the fault
    EXPECT(run_bin(args, log) == 0 && list_runs(out, &l) == 0, "rerun without the fault exits 0");
    EXPECT(count_status(&l, RUN_COMPLETE) == 2, "both complete after the rerun");
    results_list_free(&l);
}

// Case 3: resume with changed settings is an error naming the key; --dry-run
// shows it; --rerun-changed replaces the runs.
static void test_resume_with_changed_settings(void) {
    char a[800], b[800], c[800], out[800], log[800], msg[8192];
    tmp_in(a, sizeof a, "lr002.yaml");
    tmp_in(b, sizeof b, "lr005.yaml");
    tmp_in(c, sizeof c, "limit.yaml");
    tmp_in(out, sizeof out, "changed.h5");
    tmp_in(log, sizeof log, "changed.log");
    write_small(a, "epochs: 1, batch_size: 32, lr: 0.02", "[vanilla, {name: lora, rank: 4}]", "");
    write_small(b, "epochs: 1, batch_size: 32, lr: 0.05", "[vanilla, {name: lora, rank: 4}]", "");
    char y[4096];
    snprintf(y, sizeof y,
             "experiment: small\n"
             "model: {image_size: 16, patch: 4, channels: 1, dim: 32, depth: 2, heads: 2, mlp_dim: 64}\n"
             "dataset: {format: mnist, path: %s, image_size: 16, channels: 1, limit_train: 96, limit_val: 32}\n"
             "training: {epochs: 1, batch_size: 32, lr: 0.02}\nmethods: [vanilla, {name: lora, rank: 4}]\n", g_dir);
    rl_write_file(c, y);
    unlink(out);
    const char *ra[] = {g_bin, "run", a, "--out", out, "--quiet", "--threads", "1", NULL};
    EXPECT(run_bin(ra, log) == 0, "first sweep");
    size_t n0;
    unsigned char *before = rl_slurp(out, &n0);
    const char *rb[] = {g_bin, "run", b, "--out", out, "--quiet", "--threads", "1", NULL};
    int code = run_bin(rb, log);
    read_text(log, msg, sizeof msg);
    EXPECT(code == 2 && strstr(msg, "training.lr") && strstr(msg, "0.02") && strstr(msg, "0.05") && strstr(msg, "--rerun-changed"),
           "lr changed: exit %d (expected 2) naming training.lr, both values and --rerun-changed:\n%s", code, msg);
    EXPECT(rl_same_bytes(out, before, n0), "the results file is unchanged");
    const char *rc[] = {g_bin, "run", c, "--out", out, "--quiet", "--threads", "1", NULL};
    code = run_bin(rc, log);
    read_text(log, msg, sizeof msg);
    EXPECT(code == 2 && strstr(msg, "dataset.limit_train"), "limit_train changed: exit %d naming dataset.limit_train:\n%s", code, msg);
    const char *dry[] = {g_bin, "run", b, "--out", out, "--dry-run", NULL};
    code = run_bin(dry, log);
    read_text(log, msg, sizeof msg);
    EXPECT(code == 0 && strstr(msg, "complete, changed") && strstr(msg, "training.lr"), "dry run shows the changed runs:\n%s", msg);
    const char *rr[] = {g_bin, "run", b, "--out", out, "--quiet", "--threads", "1", "--rerun-changed", NULL};
    EXPECT(run_bin(rr, log) == 0, "--rerun-changed replaces them");
    EXPECT(run_bin(rb, log) == 0, "then the lr 0.05 sweep is done");
    EXPECT(run_bin(ra, log) == 2, "and the lr 0.02 one differs");
    RunList l;
    if (list_runs(out, &l) == 0) { EXPECT(l.n == 2 && count_status(&l, RUN_COMPLETE) == 2, "2 complete runs"); results_list_free(&l); }
    mem_free(before);
}

// Case 4: merge never overwrites OUT without --force, and refuses inputs of
// different experiments.
static void test_merge_refuses(void) {
    char a[800], b[800], s0[800], s1[800], t1[800], out[800], txt[800], log[800], msg[8192];
    tmp_in(a, sizeof a, "m002.yaml");
    tmp_in(b, sizeof b, "m005.yaml");
    tmp_in(s0, sizeof s0, "m_a0.h5");
    tmp_in(s1, sizeof s1, "m_a1.h5");
    tmp_in(t1, sizeof t1, "m_b1.h5");
    tmp_in(out, sizeof out, "m_out.h5");
    tmp_in(txt, sizeof txt, "m_notes.txt");
    tmp_in(log, sizeof log, "m.log");
    write_small(a, "epochs: 1, batch_size: 32, lr: 0.02", "[vanilla, {name: lora, rank: 4}]", "");
    write_small(b, "epochs: 1, batch_size: 32, lr: 0.05", "[vanilla, {name: lora, rank: 4}]", "");
    unlink(s0); unlink(s1); unlink(t1); unlink(out);
    const char *r0[] = {g_bin, "run", a, "--out", s0, "--shard", "0/2", "--quiet", "--threads", "1", NULL};
    const char *r1[] = {g_bin, "run", a, "--out", s1, "--shard", "1/2", "--quiet", "--threads", "1", NULL};
    const char *q1[] = {g_bin, "run", b, "--out", t1, "--shard", "1/2", "--quiet", "--threads", "1", NULL};
    EXPECT(run_bin(r0, log) == 0 && run_bin(r1, log) == 0 && run_bin(q1, log) == 0, "three shards");
    // shards of lr 0.02 and lr 0.05
    const char *mx[] = {g_bin, "merge", out, s0, t1, NULL};
    int code = run_bin(mx, log);
    read_text(log, msg, sizeof msg);
    EXPECT(code == 3 && strstr(msg, "different experiments") && strstr(msg, "vanilla-seed233") && access(out, F_OK) != 0,
           "different experiments: exit %d (expected 3), naming a run, nothing written:\n%s", code, msg);
    // OUT exists: a shard, a text file
    size_t n0, nt;
    unsigned char *b0 = rl_slurp(s0, &n0);
    const char *over[] = {g_bin, "merge", s0, s1, NULL};
    code = run_bin(over, log);
    read_text(log, msg, sizeof msg);
    EXPECT(code == 2 && strstr(msg, "exists") && strstr(msg, "--force") && rl_same_bytes(s0, b0, n0),
           "OUT is an existing results file: exit %d (expected 2), unchanged:\n%s", code, msg);
    rl_write_file(txt, "my notes\n");
    unsigned char *bt = rl_slurp(txt, &nt);
    const char *otxt[] = {g_bin, "merge", txt, s0, s1, NULL};
    EXPECT(run_bin(otxt, log) == 2 && rl_same_bytes(txt, bt, nt), "OUT is a text file: refused, unchanged");
    // the right way, and --force
    const char *ok[] = {g_bin, "merge", out, s0, s1, NULL};
    EXPECT(run_bin(ok, log) == 0, "shards of one sweep merge");
    const char *force[] = {g_bin, "merge", "--force", s0, s0, s1, NULL};
    EXPECT(run_bin(force, log) == 0, "--force replaces OUT (here one of the inputs)");
    RunList l;
    if (list_runs(s0, &l) == 0) { EXPECT(l.n == 2, "forced merge holds both runs (%d)", l.n); results_list_free(&l); }
    mem_free(b0);
    mem_free(bt);
}

// Cases 5 and 10: settings that were accepted and then ignored or failed.
static void test_loose_settings_refused(void) {
    char yaml[800], log[800], msg[8192];
    tmp_in(yaml, sizeof yaml, "loose.yaml");
    tmp_in(log, sizeof log, "loose.log");
    struct { const char *what, *training, *methods, *extra, *dataset_key, *expect; } cases[] = {
        {"hosvd with a budget", "epochs: 1, batch_size: 32, lr: 0.01", "[{name: hosvd, epsilon: 0.9}]", "budget_mb: [0.05, 1]\n", NULL, "budget_mb: hosvd"},
        {"val_fraction 0", "epochs: 1, batch_size: 32, lr: 0.01", "[vanilla]", "", "val_fraction: 0", "val_fraction"},
        {"one class", "epochs: 1, batch_size: 32, lr: 0.01", "[vanilla]", "", "classes: [3]", "one-class"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        if (cases[k].dataset_key) {
            char y[4096];
            snprintf(y, sizeof y,
                     "experiment: small\n"
                     "model: {image_size: 16, patch: 4, channels: 1, dim: 32, depth: 2, heads: 2, mlp_dim: 64}\n"
                     "dataset: {format: mnist, path: %s, image_size: 16, channels: 1, %s}\n"
                     "training: {%s}\nmethods: %s\n", g_dir, cases[k].dataset_key, cases[k].training, cases[k].methods);
            rl_write_file(yaml, y);
        } else {
            write_small(yaml, cases[k].training, cases[k].methods, cases[k].extra);
        }
        const char *dry[] = {g_bin, "run", yaml, "--dry-run", NULL};
        int code = run_bin(dry, log);
        read_text(log, msg, sizeof msg);
        EXPECT(code == 2 && strstr(msg, "loose.yaml:") && strstr(msg, cases[k].expect), "%s: exit %d (expected 2) naming '%s':\n%s",
               cases[k].what, code, cases[k].expect, msg);
    }
    write_small(yaml, "epochs: 1, batch_size: 32, lr: 0.01", "[vanilla]", "");
    const char *shard[] = {g_bin, "run", yaml, "--dry-run", "--shard", "1/2/3", NULL};
    EXPECT(run_bin(shard, log) == 2, "--shard 1/2/3 is a usage error");
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    char many[32];
    snprintf(many, sizeof many, "%ld", cores + 1);
    const char *thr[] = {g_bin, "run", yaml, "--dry-run", "--threads", many, NULL};
    EXPECT(run_bin(thr, log) == 2, "--threads %s on %ld cores is a usage error", many, cores);
    char out[800];
    tmp_in(out, sizeof out, "omp1.h5");
    unlink(out);
    const char *omp[] = {g_bin, "run", yaml, "--out", out, "--quiet", NULL};
    RunList l;
    if (run_env(omp, log, "OMP_NUM_THREADS=1") == 0 && list_runs(out, &l) == 0) {
        EXPECT(l.n == 1 && l.runs[0].threads == 1, "OMP_NUM_THREADS=1 without --threads: the run used %d threads", l.n ? l.runs[0].threads : -1);
        results_list_free(&l);
    } else {
        EXPECT(0, "the OMP_NUM_THREADS=1 run");
    }
    char none[800];
    tmp_in(none, sizeof none, "nothere.h5");
    const char *info[] = {g_bin, "info", none, NULL};
    int code = run_bin(info, log);
    read_text(log, msg, sizeof msg);
    EXPECT(code == 3 && strstr(msg, "nothere.h5"), "info on a missing file: exit %d (expected 3):\n%s", code, msg);
}

// Case 6: a budget the method cannot meet is stored as such (asked, used,
// over_budget) and shown by info.
static void test_over_budget_is_recorded(void) {
    char yaml[800], out[800], log[800], msg[8192];
    tmp_in(yaml, sizeof yaml, "budget.yaml");
    tmp_in(out, sizeof out, "budget.h5");
    tmp_in(log, sizeof log, "budget.log");
    const char *methods = "[{name: lora, rank: 4}, {name: asi}, {name: wasi, epsilon: 0.9}]";
    write_small(yaml, "epochs: 1, batch_size: 32, lr: 0.01", methods, "budget_mb: [0.001, 1000]\n");
    unlink(out);
    const char *args[] = {g_bin, "run", yaml, "--out", out, "--quiet", "--threads", "1", NULL};
    EXPECT(run_bin(args, log) == 0, "the sweep runs (exit 0)");
    RunList l;
    if (list_runs(out, &l) < 0) return;
    EXPECT(l.n == 6, "6 runs, got %d", l.n);
    for (int i = 0; i < l.n; i++) {
        const RunSummary *r = &l.runs[i];
        int tiny = r->budget_mb < 1;
        printf("  %-28s budget %g MB, used %.4f MB, over_budget %d\n", r->name, r->budget_mb, r->budget_used_mb, (int)r->over_budget);
        EXPECT(r->status == RUN_COMPLETE && r->over_budget == tiny && r->budget_used_mb == r->paper_total_mb &&
               (tiny ? r->budget_used_mb > r->budget_mb : r->budget_used_mb <= r->budget_mb),
               "%s: budget %g, used %g, over %d", r->name, r->budget_mb, r->budget_used_mb, (int)r->over_budget);
    }
    results_list_free(&l);
    const char *info[] = {g_bin, "info", out, NULL};
    EXPECT(run_bin(info, log) == 0, "info exits 0");
    read_text(log, msg, sizeof msg);
    EXPECT(strstr(msg, "0.001!") && strstr(msg, "over budget:"), "info marks the runs over budget:\n%s", msg);
    // strict_budget: true makes the infeasible budget an error: those runs
    // fail before training with the need and the budget named; the sweep goes on.
    write_small(yaml, "epochs: 1, batch_size: 32, lr: 0.01", methods, "budget_mb: [0.001, 1000]\nstrict_budget: true\n");
    unlink(out);
    run_bin(args, log);
    if (list_runs(out, &l) < 0) return;
    EXPECT(l.n == 6, "strict: 6 runs stored, got %d", l.n);
    for (int i = 0; i < l.n; i++) {
        const RunSummary *r = &l.runs[i];
        int tiny = r->budget_mb < 1;
        printf("  strict %-21s %s%s%s\n", r->name, run_status_name(r->status), r->error[0] ? ": " : "", r->error);
        EXPECT(tiny ? r->status == RUN_FAILED && strstr(r->error, "strict_budget") && strstr(r->error, "cannot be met")
                    : r->status == RUN_COMPLETE && !r->over_budget,
               "strict %s: status %s, error '%s'", r->name, run_status_name(r->status), r->error);
    }
    results_list_free(&l);
}

// Case 10 (last item): the number of images skip_corrupt dropped is stored
// with the run and shown by info. A Pets folder of 12 images, of which the
// listing names one that is missing and one that is not an image.
static void test_skipped_items_are_recorded(void) {
    char d[800], path[1200], yaml[800], out[800], log[800], msg[8192];
    tmp_in(d, sizeof d, "pets_skip");
    snprintf(path, sizeof path, "%s/images", d);
    mkdir(d, 0755); mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/annotations", d);
    mkdir(path, 0755);
    static const char *names[2] = {"Abyssinian", "beagle"};   // Pets class ids 1 and 2
    uint8_t px[20 * 20 * 3];
    for (int part = 0; part < 2; part++) {
        snprintf(path, sizeof path, "%s/annotations/%s", d, part ? "test.txt" : "trainval.txt");
        FILE *f = fopen(path, "w");
        CHECK(f, "%s", path);
        for (int k = 0; k < 12; k++) {
            int cls = k % 2 + 1, id = part * 100 + k;
            fprintf(f, "%s_%d %d %d %d\n", names[cls - 1], id, cls, cls, cls);
            char img[1400];
            snprintf(img, sizeof img, "%s/images/%s_%d.jpg", d, names[cls - 1], id);
            if (k == 5) continue;                                    // listed, missing
            if (k == 7) { rl_write_file(img, "not a JPEG"); continue; }   // listed, corrupt
            for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)((i * 7 + (size_t)k * 31 + (size_t)cls * 90) & 255);
            WbError err;
            CHECK(image_write_jpeg(img, px, 20, 20, 3, 90, &err) == 0, "%s", err.msg);
        }
        fclose(f);
    }
    tmp_in(yaml, sizeof yaml, "skip.yaml");
    tmp_in(out, sizeof out, "skip.h5");
    tmp_in(log, sizeof log, "skip.log");
    char y[4096];
    snprintf(y, sizeof y,
             "experiment: skip\n"
             "model: {image_size: 16, patch: 4, channels: 3, dim: 32, depth: 1, heads: 2, mlp_dim: 64}\n"
             "dataset: {format: pets, path: %s, image_size: 16, skip_corrupt: true, cache: off, classes: [1, 2], val_fraction: 0.25}\n"
             "training: {epochs: 1, batch_size: 4, lr: 0.01}\nmethods: [vanilla]\n", d);
    rl_write_file(yaml, y);
    unlink(out);
    const char *args[] = {g_bin, "run", yaml, "--out", out, "--quiet", "--threads", "1", NULL};
    int code = run_bin(args, log);
    read_text(log, msg, sizeof msg);
    EXPECT(code == 0, "the run completes (exit %d):\n%s", code, msg);
    RunList l;
    if (list_runs(out, &l) < 0) return;
    EXPECT(l.n == 1 && l.runs[0].status == RUN_COMPLETE && l.runs[0].skipped_items == 2,
           "one complete run with skipped_items 2: %d runs, skipped %d", l.n, l.n ? (int)l.runs[0].skipped_items : -9);
    if (l.n) printf("  %s: %s, skipped_items %d\n", l.runs[0].name, run_status_name(l.runs[0].status), (int)l.runs[0].skipped_items);
    results_list_free(&l);
    const char *info[] = {g_bin, "info", out, NULL};
    EXPECT(run_bin(info, log) == 0, "info exits 0");
    read_text(log, msg, sizeof msg);
    EXPECT(strstr(msg, "2 corrupt or missing images skipped") != NULL, "info shows the skipped images:\n%s", msg);
}

// Case 9: every key the READMEs document is one the parser takes. Each
// ```yaml block of README.md, experiments/README.md and core/data/DATA.md is loaded (a block
// without methods gets a minimal experiment around it); each key row of
// experiments/README.md's tables (top level, model, dataset, training) is
// probed with a value no key takes: the error must be about the value, never
// "unknown key".
static int doc_load(const char *yaml_text, char *msg, size_t n) {
    char path[800];
    tmp_in(path, sizeof path, "doc.yaml");
    rl_write_file(path, yaml_text);
    Experiment ex;
    WbError err = {{0}};
    int rc = cfg_load(&ex, path, &err);
    if (rc == 0) cfg_free(&ex);
    snprintf(msg, n, "%s", err.msg);
    return rc;
}

static int doc_yaml_blocks(const char *readme) {
    size_t n;
    unsigned char *t = rl_slurp(readme, &n);
    EXPECT(t != NULL, "%s readable (tests run from the repository root)", readme);
    if (!t) return 0;
    t[n] = 0;
    int blocks = 0;
    char *p = (char *)t;
    static char y[16384];
    while ((p = strstr(p, "```yaml\n"))) {
        p += 8;
        char *e = strstr(p, "```");
        if (!e) break;
        int has_methods = strstr(p, "methods:") && strstr(p, "methods:") < e;
        int has_dataset = strstr(p, "dataset:") && strstr(p, "dataset:") < e;
        snprintf(y, sizeof y, "%.*s%s%s", (int)(e - p), p,
                 has_methods ? "" : "experiment: doc\nmodel: {preset: vit_micro}\ntraining: {epochs: 1, batch_size: 8, lr: 0.1}\nmethods: [vanilla]\n",
                 has_methods || has_dataset ? "" : "dataset: {format: fashion_mnist}\n");
        char msg[WB_ERRLEN];
        int rc = doc_load(y, msg, sizeof msg);
        EXPECT(rc == 0, "%s, yaml block %d does not load: %s\n%s", readme, blocks + 1, msg, y);
        blocks++;
        p = e + 3;
    }
    mem_free(t);
    return blocks;
}

static void test_documented_keys_exist(void) {
    int blocks = doc_yaml_blocks("README.md") + doc_yaml_blocks("experiments/README.md") + doc_yaml_blocks("core/data/DATA.md");
    EXPECT(blocks >= 3, "found %d yaml blocks", blocks);
    size_t n;
    unsigned char *t = rl_slurp("experiments/README.md", &n);
    if (!t) { EXPECT(0, "experiments/README.md readable"); return; }
    t[n] = 0;
    const char *section = NULL;
    int probed = 0;
    static const char *base[] = {"experiment", "model", "dataset", "training", "methods", "preset", "format", NULL};
    for (char *line = strtok((char *)t, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strncmp(line, "## ", 3)) {
            section = !strcmp(line, "## Top level") ? "" : !strcmp(line, "## `model:`") ? "model" : !strcmp(line, "## `dataset:`") ? "dataset"
                      : !strcmp(line, "## `training:`") ? "training" : NULL;
            continue;
        }
        char key[64];
        if (!section || sscanf(line, "| `%63[a-z_0-9]` |", key) != 1) continue;
        int skip = 0;
        for (int i = 0; base[i]; i++) skip |= !strcmp(key, base[i]);
        if (skip) continue;   // in the probe itself
        char y[2048], msg[WB_ERRLEN], unknown[128];
        const char *probe = "{zz_probe: [}]}";   // a map with a list that no key accepts
        snprintf(y, sizeof y, "experiment: doc\nmodel: {preset: vit_micro%s%s%s}\ndataset: {format: fashion_mnist%s%s%s}\n"
                 "training: {epochs: 1, batch_size: 8, lr: 0.1%s%s%s}\nmethods: [vanilla]\n%s%s%s\n",
                 !strcmp(section, "model") ? ", " : "", !strcmp(section, "model") ? key : "", !strcmp(section, "model") ? ": {zz: 1}" : "",
                 !strcmp(section, "dataset") ? ", " : "", !strcmp(section, "dataset") ? key : "", !strcmp(section, "dataset") ? ": {zz: 1}" : "",
                 !strcmp(section, "training") ? ", " : "", !strcmp(section, "training") ? key : "", !strcmp(section, "training") ? ": {zz: 1}" : "",
                 !section[0] ? key : "", !section[0] ? ": " : "", !section[0] ? probe : "");
        snprintf(unknown, sizeof unknown, "unknown key '%s'", key);
        int rc = doc_load(y, msg, sizeof msg);
        EXPECT(rc != 0 && !strstr(msg, unknown), "%s%s%s (documented): %s", section, section[0] ? "." : "", key,
               rc ? msg : "accepted a value no key takes");
        probed++;
    }
    mem_free(t);
    printf("  %d yaml blocks loaded, %d documented keys probed\n", blocks, probed);
    EXPECT(probed >= 40, "probed %d table keys (expected the tables of 4 sections)", probed);
}

// A small experiment in <g_dir>/<tag>.yaml (text: one "%s" for the data
// folder) run into <g_dir>/<tag>.h5 (removed first; its path in out).
static int run_tagged(const char *tag, const char *text, char *out, size_t cap) {
    char yaml[800], log[800], y[2048];
    snprintf(yaml, sizeof yaml, "%s/%s.yaml", g_dir, tag);
    snprintf(out, cap, "%s/%s.h5", g_dir, tag);
    snprintf(log, sizeof log, "%s/%s.log", g_dir, tag);
    unlink(out);
    snprintf(y, sizeof y, text, g_dir);
    rl_write_file(yaml, y);
    const char *args[] = {g_bin, "run", yaml, "--out", out, "--quiet", "--threads", "2", NULL};
    int rc = run_bin(args, log);
    EXPECT(rc == 0, "wasibench run exits 0 (see %s)", log);
    return rc;
}

// --dry-run of text (one "%s" for the data folder) fails naming key (and also, when given).
static void expect_dry_run_error(const char *tag, const char *text, const char *key, const char *also) {
    char yaml[800], log[800], y[2048];
    snprintf(yaml, sizeof yaml, "%s/%s_bad.yaml", g_dir, tag);
    snprintf(log, sizeof log, "%s/%s_bad.log", g_dir, tag);
    snprintf(y, sizeof y, text, g_dir);
    rl_write_file(yaml, y);
    const char *dry[] = {g_bin, "run", yaml, "--dry-run", NULL};
    EXPECT(run_bin(dry, log) != 0, "%s: a config error", tag);
    size_t n;
    unsigned char *t = rl_slurp(log, &n);
    EXPECT(t && strstr((char *)t, key) && (!also || strstr((char *)t, also)), "%s: the error names %s: %s", tag, key, t ? (char *)t : "(no log)");
    mem_free(t);
}

// log_subspace: true on vanilla logs its (dense) weights' subspaces at
// subspace_epsilon; log_subspace: false turns wasi's off; training moves
// some angle off 0; a bad value is a config error.
static void test_subspace_log_on_request(void) {
    char out[800];
    if (run_tagged("subspace",
                   "experiment: subspace\n"
                   "model: {image_size: 16, patch: 4, channels: 1, dim: 32, depth: 2, heads: 2, mlp_dim: 64}\n"
                   "dataset: {format: mnist, path: %s, image_size: 16, channels: 1, limit_train: 96, limit_val: 32}\n"
                   "training: {epochs: 2, batch_size: 32, lr: 0.5, momentum: 0.9, log_subspace: [true, false], subspace_epsilon: 0.7}\n"
                   "methods: [vanilla, {name: wasi, epsilon: 0.8}]\n", out, sizeof out))
        return;
    RunList l;
    if (list_runs(out, &l) < 0) return;
    EXPECT(l.n == 4, "4 runs (2 methods x log_subspace on/off), got %d", l.n);
    int with = 0, moved = 0;
    for (int i = 0; i < l.n; i++) {
        RunTables t;
        WbError err;
        if (results_read_tables(out, l.runs[i].name, &t, &err) < 0) { EXPECT(0, "%s", err.msg); continue; }
        if (t.n_subspace > 0) {
            with++;
            EXPECT(t.n_subspace == 3 * t.n_layers, "%s: %d rows", l.runs[i].name, t.n_subspace);
            for (int j = t.n_layers * 2; j < t.n_subspace; j++) moved += t.subspace[j].max_angle > 1e-3;
        }
        results_tables_free(&t);
    }
    EXPECT(with == 2, "the two log_subspace: true runs log, the false ones do not: %d with rows", with);
    EXPECT(moved > 0, "training at lr 0.5 moves some subspace by more than 1e-3 rad");
    results_list_free(&l);
    expect_dry_run_error("subspace", "model: {preset: vit_micro}\ndataset: {format: mnist, path: %s}\n"
                         "training: {epochs: 1, batch_size: 8, lr: 0.1, log_subspace: maybe}\nmethods: [vanilla]\n", "log_subspace", NULL);
}

// training.log_spectrum (the paper's Fig. 4): the runs asking for it store
// one row per component of each mode of every counted input (B 32, N 17,
// I 32 for fc1 and 64 for fc2 here); the spectrum is of the starting
// weights, so vanilla, wasi and lora store the same rows bit for bit; the
// log does not touch training (epoch losses equal with it off); info shows
// it and `plot --paper` draws Fig. 4 from it.
static void test_spectrum_log(void) {
    char out[800];
    if (run_tagged("spectrum",
                   "experiment: spectrum\n"
                   "model: {image_size: 16, patch: 4, channels: 1, dim: 32, depth: 2, heads: 2, mlp_dim: 64}\n"
                   "dataset: {format: mnist, path: %s, image_size: 16, channels: 1, limit_train: 96, limit_val: 32}\n"
                   "training: {epochs: 2, batch_size: 32, lr: 0.1, momentum: 0.9, log_spectrum: [true, false]}\n"
                   "methods: [vanilla, {name: wasi, epsilon: 0.8}, {name: lora, rank: 4}]\n", out, sizeof out))
        return;
    RunList l;
    if (list_runs(out, &l) < 0) return;
    EXPECT(l.n == 6 && count_status(&l, RUN_COMPLETE) == 6, "6 complete runs (3 methods x log_spectrum on/off), got %d", l.n);
    RunTables first = {0};
    int with = 0;
    const long want_rows = 2 * ((32 + 17 + 32) + (32 + 17 + 64));   // 2 blocks x (fc1 + fc2)
    for (int i = 0; i < l.n; i++) {
        RunTables t;
        WbError err;
        if (results_read_tables(out, l.runs[i].name, &t, &err) < 0) { EXPECT(0, "%s", err.msg); continue; }
        const int on = strstr(l.runs[i].name, "no_log_spectrum") == NULL;   // run names: log_spectrum | no_log_spectrum
        EXPECT(on ? t.n_spectrum == want_rows : t.n_spectrum == 0, "%s: %d spectrum rows (want %ld)", l.runs[i].name, t.n_spectrum,
               on ? want_rows : 0L);
        if (on && t.n_spectrum == want_rows) {
            with++;
            double total[4] = {0};   // layer 0's three modes hold the same ||x||^2
            for (int j = 0; j < t.n_spectrum; j++)
                if (t.spectrum[j].layer == 0) total[t.spectrum[j].mode] += t.spectrum[j].energy;
            EXPECT(fabs(total[0] - total[2]) <= 1e-4 * total[2] && fabs(total[1] - total[2]) <= 1e-4 * total[2],
                   "%s: layer 0's modes sum to one ||x||^2: %.8g %.8g %.8g", l.runs[i].name, total[0], total[1], total[2]);
            if (!first.n_spectrum) {
                first = t;
                continue;
            }
            EXPECT(!memcmp(t.spectrum, first.spectrum, sizeof(SpectrumRow) * (size_t)t.n_spectrum),
                   "%s: the starting weights' spectrum is the same for every method", l.runs[i].name);
        }
        results_tables_free(&t);
    }
    EXPECT(with == 3, "the 3 log_spectrum: true runs have the table: %d", with);
    results_tables_free(&first);
    // the log does not change training: each method's epochs equal with it off
    for (int i = 0; i < l.n; i++) {
        const char *nm = l.runs[i].name, *at = strstr(nm, "log_spectrum");
        if (!at || strstr(nm, "no_log_spectrum")) continue;
        char off[RES_NAME_MAX];
        snprintf(off, sizeof off, "%.*sno_%s", (int)(at - nm), nm, at);
        EpochRow *a = NULL, *b = NULL;
        int na = 0, nb = 0;
        WbError err;
        EXPECT(results_read_epochs(out, nm, &a, &na, &err) == 0 && results_read_epochs(out, off, &b, &nb, &err) == 0 && na == nb && na == 2,
               "epochs of %s and %s", nm, off);
        for (int e = 0; a && b && e < na && e < nb; e++)
            EXPECT(a[e].train_loss == b[e].train_loss && a[e].val_acc == b[e].val_acc, "%s epoch %d: loss %.9g with the log, %.9g without",
                   nm, e + 1, a[e].train_loss, b[e].train_loss);
        mem_free(a); mem_free(b);
    }
    results_list_free(&l);
    char log[800], msg[8192], dir[800], png[900], missing[900];
    snprintf(log, sizeof log, "%s/spectrum_info.log", g_dir);
    const char *info[] = {g_bin, "info", out, NULL};
    EXPECT(run_bin(info, log) == 0, "info exits 0");
    read_text(log, msg, sizeof msg);
    EXPECT(strstr(msg, "activation spectrum") && strstr(msg, "mode 3:"), "info shows the spectrum:\n%s", msg);
    snprintf(dir, sizeof dir, "%s/spectrum_plots", g_dir);
    const char *plot[] = {g_bin, "plot", out, "--paper", "--out", dir, NULL};
    EXPECT(run_bin(plot, log) == 0, "plot --paper exits 0 (see %s)", log);
    snprintf(png, sizeof png, "%s/paper_fig4.png", dir);
    snprintf(missing, sizeof missing, "%s/paper_fig4_missing.txt", dir);
    EXPECT(access(png, R_OK) == 0 && access(missing, F_OK) != 0, "Fig. 4 drawn (%s), no paper_fig4_missing.txt", png);
    expect_dry_run_error("spectrum", "model: {preset: vit_micro}\ndataset: {format: mnist, path: %s}\n"
                         "training: {epochs: 1, batch_size: 8, lr: 0.1, log_spectrum: 3}\nmethods: [vanilla]\n", "log_spectrum", NULL);
}

// dataset.eval_split: val (per epoch only), test (the whole training set,
// no val, the official t10k test set at the end), both (val per epoch and
// test at the end); the test counts are t10k's 100 items; a bad value is a config error.
static void test_eval_split(void) {
    char out[800];
    if (run_tagged("evalsplit",
                   "experiment: evalsplit\n"
                   "model: {image_size: 16, patch: 4, channels: 1, dim: 32, depth: 2, heads: 2, mlp_dim: 64}\n"
                   "dataset: {format: mnist, path: %s, image_size: 16, channels: 1, eval_split: [val, test, both]}\n"
                   "training: {epochs: 2, batch_size: 50, lr: 0.05, momentum: 0.9}\n"
                   "methods: [vanilla]\n", out, sizeof out))
        return;
    RunList l;
    if (list_runs(out, &l) < 0) return;
    EXPECT(l.n == 3 && count_status(&l, RUN_COMPLETE) == 3, "3 complete runs, got %d", l.n);
    for (int i = 0; i < l.n; i++) {
        const RunSummary *s = &l.runs[i];
        int test = strstr(s->name, "test") != NULL, both = strstr(s->name, "both") != NULL;
        EpochRow *rows; int n;
        WbError err;
        EXPECT(results_read_epochs(out, s->name, &rows, &n, &err) == 0 && n == 2, "%s: 2 epochs", s->name);
        if (both || !test) {
            EXPECT(!isnan(s->final_val_acc), "%s: a val accuracy", s->name);
            // train/val 80/20 of the 400 training items: 320 / 50 = 7 steps per epoch
            EXPECT(s->steps_done == 14, "%s: 14 steps on the 320 train items, got %ld", s->name, (long)s->steps_done);
        } else {
            EXPECT(isnan(s->final_val_acc) && n == 2 && isnan(rows[1].val_acc), "%s: no val set, NaN val accuracy", s->name);
            EXPECT(s->steps_done == 16, "%s: 16 steps on all 400 training items, got %ld", s->name, (long)s->steps_done);
        }
        if (test || both)
            EXPECT(s->test_items == 100 && s->final_test_acc >= 0 && s->final_test_acc <= 1 && isfinite(s->final_test_loss),
                   "%s: tested on t10k's 100 items (got %d, acc %g)", s->name, (int)s->test_items, s->final_test_acc);
        else EXPECT(s->test_items == 0 && isnan(s->final_test_acc), "%s: val only, not tested", s->name);
        mem_free(rows);
    }
    results_list_free(&l);
    expect_dry_run_error("evalsplit", "model: {preset: vit_micro}\ndataset: {format: mnist, path: %s, eval_split: train}\n"
                         "training: {epochs: 1, batch_size: 8, lr: 0.1}\nmethods: [vanilla]\n", "eval_split", "both");
}

// A method's enum choices off their defaults are the run's `variant`: wsi
// with weight_update svd and with iteration are two settings, not two seeds.
static void test_variant_recorded(void) {
    char out[800];
    if (run_tagged("variant",
                   "experiment: variant\n"
                   "model: {image_size: 16, patch: 4, channels: 1, dim: 32, depth: 1, heads: 2, mlp_dim: 64}\n"
                   "dataset: {format: mnist, path: %s, image_size: 16, channels: 1, limit_train: 64, limit_val: 32}\n"
                   "training: {epochs: 1, batch_size: 32, lr: 0.05}\n"
                   "methods: [{name: wsi, epsilon: 0.8, weight_update: [iteration, svd], r_update: previous}]\n", out, sizeof out))
        return;
    RunList l;
    if (list_runs(out, &l) < 0) return;
    EXPECT(l.n == 2, "2 runs, got %d", l.n);
    int svd = 0, iter = 0;
    for (int i = 0; i < l.n; i++) {
        svd += !strcmp(l.runs[i].variant, "r_update=previous weight_update=svd");
        iter += !strcmp(l.runs[i].variant, "r_update=previous");
    }
    EXPECT(svd == 1 && iter == 1, "variants '%s' and '%s'", l.runs[0].variant, l.n > 1 ? l.runs[1].variant : "");
    results_list_free(&l);
}

// svdllm_lora through the runner: the calibration pass runs (its FLOPs in the
// decomposition phase, K = full at epsilon 1) and at epsilon 1 the run trains
// as lora does on the same data (final losses within rounding); at 0.5 K drops.
static void test_svdllm_lora_run(void) {
    char out[800];
    if (run_tagged("svdllm",
                   "experiment: svdllm\n"
                   "model: {image_size: 16, patch: 4, channels: 1, dim: 32, depth: 1, heads: 2, mlp_dim: 64}\n"
                   "dataset: {format: mnist, path: %s, image_size: 16, channels: 1, limit_train: 96, limit_val: 32}\n"
                   "training: {epochs: 2, batch_size: 32, lr: 0.05}\n"
                   "methods: [{name: lora, rank: 4}, {name: svdllm_lora, rank: 4, epsilon: [1.0, 0.5], calib_batches: 2}]\n", out, sizeof out))
        return;
    RunList l;
    if (list_runs(out, &l) < 0) return;
    EXPECT(l.n == 3 && count_status(&l, RUN_COMPLETE) == 3, "3 complete runs, got %d", l.n);
    const RunSummary *lo = NULL, *full = NULL, *half = NULL;
    for (int i = 0; i < l.n; i++) {
        const RunSummary *s = &l.runs[i];
        if (!strcmp(s->method, "lora")) lo = s;
        else if (s->epsilon > 0.99) full = s;
        else half = s;
    }
    if (lo && full && half) {
        EXPECT(fabs(full->final_train_loss - lo->final_train_loss) <= 1e-4 * fabs(lo->final_train_loss),
               "eps 1 trains as lora: final train loss %.7f vs %.7f", full->final_train_loss, lo->final_train_loss);
        EXPECT(half->paper_weight_mb < full->paper_weight_mb, "eps 0.5 keeps fewer weights: %.4f vs %.4f MB", half->paper_weight_mb,
               full->paper_weight_mb);
        RunTables t;
        WbError err;
        if (results_read_tables(out, full->name, &t, &err) == 0) {
            EXPECT(t.n_layers == 2 && t.layers[0].weight_rank == 32 && t.layers[1].weight_rank == 32, "full rank K = 32 per layer");
            EXPECT(t.flops_ps[PHASE_DECOMPOSITION] > 0, "the calibration's FLOPs are counted (decomposition)");
            results_tables_free(&t);
        } else EXPECT(0, "%s", err.msg);
    } else EXPECT(0, "lora, svdllm_lora eps 1 and 0.5 runs");
    results_list_free(&l);
}

// Case 8: a diverged run is a result; rerunning does not train it again.
static void test_diverged_not_retrained(void) {
    char yaml[800], out[800], log[800];
    tmp_in(yaml, sizeof yaml, "div8.yaml");
    tmp_in(out, sizeof out, "div8.h5");
    tmp_in(log, sizeof log, "div8.log");
    write_small(yaml, "epochs: 1, batch_size: 32, lr: [1.0e30, 0.01]", "[vanilla]", "");
    unlink(out);
    const char *args[] = {g_bin, "run", yaml, "--out", out, "--quiet", NULL};
    RunList a, b;
    if (run_bin(args, log) != 0 || list_runs(out, &a) < 0) { EXPECT(0, "first run"); return; }
    EXPECT(count_status(&a, RUN_DIVERGED) == 1, "one diverged run");
    EXPECT(run_bin(args, log) == 0 && list_runs(out, &b) == 0, "rerun");
    for (int i = 0; i < a.n; i++) {
        const RunSummary *x = &a.runs[i], *y = results_find(&b, x->name);
        EXPECT(y && !strcmp(x->start_time, y->start_time) && x->wall_seconds == y->wall_seconds, "%s (%s) not trained again", x->name,
               run_status_name(x->status));
    }
    results_list_free(&a);
    results_list_free(&b);
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
    RUN(test_lapack_failure_is_a_diverged_run);
    RUN(test_check_in_a_run_is_a_failed_run);
    RUN(test_resume_with_changed_settings);
    RUN(test_merge_refuses);
    RUN(test_loose_settings_refused);
    RUN(test_over_budget_is_recorded);
    RUN(test_skipped_items_are_recorded);
    RUN(test_documented_keys_exist);
    RUN(test_diverged_not_retrained);
    RUN(test_subspace_log_on_request);
    RUN(test_spectrum_log);
    RUN(test_eval_split);
    RUN(test_variant_recorded);
    RUN(test_svdllm_lora_run);
    return tl_finish();
}
