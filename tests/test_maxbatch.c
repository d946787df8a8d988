// test_maxbatch.c: the memory cap (experiments/maxbatch.h). Sizes parse
// (and bad ones are refused with file:line in a config); a run whose planned
// peak exceeds memory.cap stops before the model is allocated (no weight,
// gradient or activation byte in its memory table), is stored as over_cap
// with a message naming the run, the plan and the cap, is not retried by a
// resume with the same cap, and runs with a cap above its plan; `maxbatch`
// finds a batch B whose plan fits while B+1's does not, and the measured
// step at B stays under the cap; merge carries every input's /maxbatch rows.
#include "experiments/config.h"
#include "experiments/maxbatch.h"
#include "experiments/results.h"
#include "experiments/results_schema.h"
#include "experiments/runner.h"
#include "core/runtime/memory.h"
#include "tests/runlib.h"
#include "tests/testlib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_dir[600], g_bin[1024];

static void test_sizes(void) {
    static const struct { const char *s; double v; } ok[] = {
        {"2GiB", 2147483648.0}, {"512MB", 512e6}, {"1.5G", 1.5 * 1073741824.0}, {"100", 100}, {"64 KiB", 65536}, {"3T", 3 * 1099511627776.0},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        double b = 0;
        EXPECT(mem_parse_size(ok[i].s, &b) == 0 && b == ok[i].v, "'%s' -> %.0f (expected %.0f)", ok[i].s, b, ok[i].v);
    }
    static const char *bad[] = {"", "GiB", "2XB", "-1", "0", "2 GiB extra", "nan", "1e30", "0.5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double b = 0;
        EXPECT(mem_parse_size(bad[i], &b) < 0, "'%s' accepted as %.0f", bad[i], b);
    }
}

// --cap lists: every element parsed in order; one size is a list of one with
// the message a single --cap always gave; a bad element is named with its
// position and what a size looks like.
static void test_size_lists(void) {
    double c[8] = {0};
    char why[512] = "";
    EXPECT(mem_parse_size_list("1GiB,2GiB,4GiB,8GiB", c, 8, why, sizeof why) == 4 && c[0] == 1073741824.0 && c[1] == 2147483648.0 &&
           c[2] == 4294967296.0 && c[3] == 8589934592.0, "four caps: %.0f %.0f %.0f %.0f (%s)", c[0], c[1], c[2], c[3], why);
    EXPECT(mem_parse_size_list("512MB", c, 8, why, sizeof why) == 1 && c[0] == 512e6, "one size: %.0f", c[0]);
    EXPECT(mem_parse_size_list("zz", c, 8, why, sizeof why) < 0 && !strcmp(why, "'zz': expected a size > 0 such as 2GiB, 512MB, 1.5G"),
           "one bad size keeps the single form's message: %s", why);
    static const struct { const char *s, *want; } bad[] = {
        {"1GiB,zz", "element 2 'zz': expected a size > 0 such as 2GiB"},
        {"1GiB,,2GiB", "element 2 '': expected a size > 0"},
        {"1GiB,", "element 2 '': expected"},
        {",1GiB", "element 1 '': expected"},
        {"2XB,1GiB", "element 1 '2XB': expected"},
        {"1GiB,1024MiB", "element 2 '1024MiB' is the same cap as element 1"},
        {"1,2,3,4,5,6,7,8,9", "more than 8 sizes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = 0;
        int n = mem_parse_size_list(bad[i].s, c, 8, why, sizeof why);
        EXPECT(n < 0 && strstr(why, bad[i].want) && strstr(why, bad[i].s), "'%s': %d, '%s' (want '%s')", bad[i].s, n, why, bad[i].want);
    }
}

// The sweep: vanilla and lora on a tiny ViT, memory.cap as given (NULL: none).
static void write_yaml(const char *path, const char *out, const char *cap) {
    char y[2048], mem[128] = "";
    if (cap) snprintf(mem, sizeof mem, "memory: {cap: %s}\n", cap);
    snprintf(y, sizeof y,
             "experiment: cap\noutput: %s\n"
             "model: {image_size: 16, patch: 4, channels: 1, dim: 32, depth: 2, heads: 2, mlp_dim: 64}\n"
             "dataset: {format: mnist, path: %s, image_size: 16, channels: 1, limit_train: 64, limit_val: 32}\n"
             "training: {epochs: 1, batch_size: 16, lr: 0.05, momentum: 0.9}\n"
             "methods: [vanilla, {name: lora, rank: 4}]\n%s",
             out, g_dir, mem);
    rl_write_file(path, y);
}

static void test_bad_cap_names_file_and_line(void) {
    char yaml[800], out[800];
    snprintf(yaml, sizeof yaml, "%s/bad.yaml", g_dir);
    snprintf(out, sizeof out, "%s/bad.h5", g_dir);
    static const char *const bad[] = {"2XB", "-5", "[1GiB, zz]", "{a: 1}"};
    for (int i = 0; i < 4; i++) {
        write_yaml(yaml, out, bad[i]);
        Experiment ex;
        WbError err = {0};
        int rc = cfg_load(&ex, yaml, &err);
        EXPECT(rc < 0 && strstr(err.msg, "bad.yaml:7:") && strstr(err.msg, "memory.cap") && strstr(err.msg, "2GiB"),
               "cap %s: %s", bad[i], rc < 0 ? err.msg : "accepted");
        cfg_free(&ex);
    }
    rl_write_file(yaml, "model: {preset: vit_micro}\ndataset: {format: fashion_mnist}\ntraining: {epochs: 1, batch_size: 8, lr: 0.1}\n"
                        "methods: [vanilla]\nmemory: {capp: 1GiB}\n");
    Experiment ex;
    WbError err = {0};
    int rc = cfg_load(&ex, yaml, &err);
    EXPECT(rc < 0 && strstr(err.msg, "bad.yaml:5:") && strstr(err.msg, "capp") && strstr(err.msg, "cap"), "%s", rc < 0 ? err.msg : "accepted");
    cfg_free(&ex);
}

static int run_file(const char *yaml, const char *out) {
    RunnerOptions o = {0};
    o.out = out;
    o.shard_n = 1;
    o.threads = 1;
    o.progress = PROGRESS_QUIET;
    return runner_run(yaml, &o);
}

// The planned peak of the first run of yaml (vanilla) at its batch, without data.
static double plan_of(const char *yaml, int run) {
    Experiment ex;
    WbError err = {0};
    CHECK(cfg_load(&ex, yaml, &err) == 0, "%s", err.msg);
    ViTBinding bind;
    BudgetFit fit;
    CHECK(runner_bind_method(&ex.runs[run], NULL, &bind, &fit, &err) == 0, "%s", err.msg);
    MemPlan p;
    int exact;
    char why[256];
    CHECK(run_memory_plan(&ex.runs[run], &bind, ex.runs[run].batch_size, NULL, 0, &p, &exact, NULL, why, sizeof why) == 0, "%s", why);
    cfg_free(&ex);
    return p.total;
}

static void test_cap_below_plan_stops_before_allocating(void) {
    char yaml[800], out[800];
    snprintf(yaml, sizeof yaml, "%s/cap.yaml", g_dir);
    snprintf(out, sizeof out, "%s/cap.h5", g_dir);
    unlink(out);   // a results file of an earlier test run
    write_yaml(yaml, out, NULL);
    double plan = plan_of(yaml, 0);
    char cap[64];
    snprintf(cap, sizeof cap, "%.0f", plan * 0.5);   // half the model's plan: over it whatever the data takes
    write_yaml(yaml, out, cap);
    int rc = run_file(yaml, out);
    EXPECT(rc == EXIT_OK, "a run over the cap is a result, not a failure: exit %d", rc);
    RunList l;
    WbError err = {0};
    CHECK(results_list(out, &l, &err) == 0, "%s", err.msg);
    EXPECT(l.n == 2, "both runs recorded: %d", l.n);
    for (int i = 0; i < l.n; i++) {
        const RunSummary *s = &l.runs[i];
        EXPECT(s->status == RUN_OVER_CAP, "%s: status %s", s->name, run_status_name(s->status));
        EXPECT(strstr(s->error, s->name) && strstr(s->error, "memory.cap") && strstr(s->error, "planned peak") &&
               strstr(s->error, "weights") && strstr(s->error, "activations") && strstr(s->error, "before allocating"),
               "message names the run, the plan by category and the cap: %s", s->error);
        RunTables t;
        CHECK(results_read_tables(out, s->name, &t, &err) == 0, "%s", err.msg);
        EXPECT(t.mem_peak[MEM_WEIGHTS] == 0 && t.mem_peak[MEM_GRADIENTS] == 0 && t.mem_peak[MEM_ACTIVATIONS] == 0 &&
               t.mem_peak[MEM_OPTIMIZER] == 0, "%s: nothing of the model allocated: weights %.0f, gradients %.0f, activations %.0f",
               s->name, t.mem_peak[MEM_WEIGHTS], t.mem_peak[MEM_GRADIENTS], t.mem_peak[MEM_ACTIVATIONS]);
        results_tables_free(&t);
    }
    results_list_free(&l);
    // resume with the same cap: done, the file untouched
    size_t n0;
    unsigned char *before = rl_slurp(out, &n0);
    rc = run_file(yaml, out);
    EXPECT(rc == EXIT_OK && rl_same_bytes(out, before, n0), "resume with the same cap reran an over_cap run (exit %d)", rc);
    mem_free(before);
    // a cap above the plan (the cap changed: tried again) lets them run
    write_yaml(yaml, out, "8GiB");
    rc = run_file(yaml, out);
    EXPECT(rc == EXIT_OK, "exit %d", rc);
    CHECK(results_list(out, &l, &err) == 0, "%s", err.msg);
    for (int i = 0; i < l.n; i++)
        EXPECT(l.runs[i].status == RUN_COMPLETE, "%s with 8GiB: %s (%s)", l.runs[i].name, run_status_name(l.runs[i].status), l.runs[i].error);
    EXPECT(l.n == 2, "%d runs", l.n);
    results_list_free(&l);
}

// maxbatch_run(yaml, out, cap, confirm 1) and the two rows it wrote, printed.
static MaxBatchRow *run_two_rows(const char *yaml, const char *out, double cap, int *n) {
    int rc = maxbatch_run(yaml, out, &cap, 1, 1);
    EXPECT(rc == EXIT_OK, "exit %d", rc);
    MaxBatchRow *rows;
    WbError err = {0};
    CHECK(results_read_maxbatch(out, &rows, n, &err) == 0, "%s", err.msg);
    EXPECT(*n == 2, "%d rows", *n);
    for (int i = 0; i < *n; i++) {
        const MaxBatchRow *r = &rows[i];
        printf("  %s: B %d, plan %.0f, step %.0f (%+.3f%%), build %.0f, cap %.0f\n", r->run, r->max_batch, r->plan_bytes,
               r->measured_bytes, r->error_pct, r->build_peak_bytes, r->cap_bytes);
    }
    return rows;
}

// A cap between the plans at B and B + 1 of yaml's first run (batch buffers included).
static double cap_between(const char *yaml, int B) {
    Experiment ex;
    WbError err = {0};
    CHECK(cfg_load(&ex, yaml, &err) == 0, "%s", err.msg);
    ViTBinding bind;
    BudgetFit fit;
    MemPlan p0, p1;
    int exact;
    char why[256];
    CHECK(runner_bind_method(&ex.runs[0], NULL, &bind, &fit, &err) == 0, "%s", err.msg);
    const double item = 4.0 * (double)model_config_item_floats(&ex.runs[0].model);   // Cin*S*S floats, or T token ids
    double d0 = item * B + 8.0 * B, d1 = item * (B + 1) + 8.0 * (B + 1);
    CHECK(run_memory_plan(&ex.runs[0], &bind, B, NULL, d0, &p0, &exact, NULL, why, sizeof why) == 0, "%s", why);
    CHECK(run_memory_plan(&ex.runs[0], &bind, B + 1, NULL, d1, &p1, &exact, NULL, why, sizeof why) == 0, "%s", why);
    cfg_free(&ex);
    return floor((p0.total + p1.total) / 2);
}
static double cap_between_37_and_38(const char *yaml) { return cap_between(yaml, 37); }

static void test_maxbatch_finds_the_largest_batch(void) {
    char yaml[800], out[800];
    snprintf(yaml, sizeof yaml, "%s/mb.yaml", g_dir);
    snprintf(out, sizeof out, "%s/mb.h5", g_dir);
    unlink(out);
    write_yaml(yaml, out, NULL);
    double cap = cap_between_37_and_38(yaml);
    Experiment ex;
    WbError err = {0};
    ViTBinding bind;
    BudgetFit fit;
    int exact, S, Cin, K;
    char why[256];
    CHECK(cfg_load(&ex, yaml, &err) == 0, "%s", err.msg);
    model_config_io(&ex.runs[0].model, &S, &Cin, &K);
    cfg_free(&ex);
    int n;
    MaxBatchRow *rows = run_two_rows(yaml, out, cap, &n);
    for (int i = 0; i < n; i++) {
        const MaxBatchRow *r = &rows[i];
        EXPECT(r->cap_bytes == cap && r->plan_exact == 1, "%s: cap %.0f exact %d", r->run, r->cap_bytes, r->plan_exact);
        EXPECT(r->plan_bytes <= cap, "%s: plan at the B found fits", r->run);
        // the plan leaves out the methods' private state structs (< 2 KB per linear, tests/test_vit_cost.c)
        double slack = 2048.0 * 4 * VIT_NLIN;
        EXPECT(r->measured_bytes <= cap + slack, "%s: the measured step at B = %d (%.0f bytes) is over the cap %.0f + %.0f",
               r->run, r->max_batch, r->measured_bytes, cap, slack);
        EXPECT(fabs(r->error_pct) < 1.0, "%s: plan vs step %.3f%%", r->run, r->error_pct);
    }
    EXPECT(n >= 1 && rows[0].max_batch == 37, "vanilla: B = %d (expected 37: the plan at 38 is over the cap)", n ? rows[0].max_batch : -1);
    // B+1 does not fit by plan, for every row
    CHECK(cfg_load(&ex, yaml, &err) == 0, "%s", err.msg);
    for (int i = 0; i < n && i < ex.n; i++) {
        MemPlan q;
        CHECK(runner_bind_method(&ex.runs[i], NULL, &bind, &fit, &err) == 0, "%s", err.msg);
        int b1 = rows[i].max_batch + 1;
        run_memory_plan(&ex.runs[i], &bind, b1, NULL, 4.0 * b1 * Cin * S * S + 8.0 * b1, &q, &exact, NULL, why, sizeof why);
        EXPECT(q.total > cap, "%s: B+1 = %d fits too (%.0f <= %.0f)", rows[i].run, b1, q.total, cap);
    }
    cfg_free(&ex);
    mem_free(rows);
    // a second cap adds rows; the same cap replaces them
    double cap2 = cap * 2;
    EXPECT(maxbatch_run(yaml, out, &cap2, 1, 0) == EXIT_OK && maxbatch_run(yaml, out, &cap, 1, 0) == EXIT_OK, "reruns");
    CHECK(results_read_maxbatch(out, &rows, &n, &err) == 0, "%s", err.msg);
    EXPECT(n == 4, "two caps x two runs: %d rows", n);
    mem_free(rows);
}

// A Swin sweep (swin_micro, the last 5 counted linears trained, recompute and
// gelu_f16; vanilla and wasi with fixed activation ranks): `maxbatch` finds
// vanilla's B = 5 at the cap between its plans at 5 and 6 (wasi 4: its
// factors and master weights outweigh what it saves on 5 linears), and each
// confirmed step is within 1% of its plan.
static void test_maxbatch_swin(void) {
    char yaml[800], out[800], y[3000];
    snprintf(yaml, sizeof yaml, "%s/mbs.yaml", g_dir);
    snprintf(out, sizeof out, "%s/mbs.h5", g_dir);
    unlink(out);
    snprintf(y, sizeof y,
             "experiment: swcap\noutput: %s\nmodel: {preset: swin_micro}\n"
             "dataset: {format: cifar10, path: %s, image_size: 32}\n"
             "training: {epochs: 1, batch_size: 8, lr: 0.05, momentum: 0.9}\nnum_of_finetune: 5\n"
             "memory: {recompute: true, gelu_f16: true}\n"
             "methods: [vanilla, {name: wasi, epsilon: 0.9, activation: {ranks: [2, 4, 4, 8]}}]\n",
             out, g_dir);
    rl_write_file(yaml, y);
    double cap = cap_between(yaml, 5);
    int n;
    MaxBatchRow *rows = run_two_rows(yaml, out, cap, &n);
    for (int i = 0; i < n; i++) {
        const MaxBatchRow *r = &rows[i];
        EXPECT(r->plan_exact == 1 && r->plan_bytes <= cap, "%s: exact %d, plan %.0f, cap %.0f", r->run, r->plan_exact, r->plan_bytes, cap);
        EXPECT(isfinite(r->error_pct) && fabs(r->error_pct) < 1.0, "%s: plan vs step %.3f%%", r->run, r->error_pct);
    }
    EXPECT(n == 2 && rows[0].max_batch == 5 && rows[1].max_batch >= 1, "vanilla B = %d (expected 5), wasi B = %d", n ? rows[0].max_batch : -1,
           n > 1 ? rows[1].max_batch : -1);
    mem_free(rows);
}

// A decoder sweep (llama_micro on a generated yes/no task in BoolQ's format,
// the last 2 of 4 layers trained, all seven linears; vanilla, and wasi with
// its weight ranks read off the starting weights: indexed over every counted
// linear, frozen layers included): the batch found fits by plan, B + 1 does
// not (vanilla: B = 6 at the cap between its plans at 6 and 7), and each
// confirmed step on random token ids is within 1% of its plan.
static void test_maxbatch_llama(void) {
    char yaml[800], out[800], text[800], cmd[1800], y[3000];
    snprintf(yaml, sizeof yaml, "%s/mbl.yaml", g_dir);
    snprintf(out, sizeof out, "%s/mbl.h5", g_dir);
    snprintf(text, sizeof text, "%s/text", g_dir);
    unlink(out);
    snprintf(cmd, sizeof cmd, "bash experiments/gen_text_task.sh '%s' 3 200 50 > /dev/null", text);
    CHECK(system(cmd) == 0, "%s failed", cmd);
    snprintf(y, sizeof y,
             "experiment: llcap\noutput: %s\nmodel: {preset: llama_micro}\n"
             "dataset: {format: boolq, path: %s, tokenizer: %s/tokenizer.model, max_length: 24}\n"
             "training: {epochs: 1, batch_size: 8, lr: 0.05}\nlayers: all_linear\nnum_of_finetune: 2\n"
             "methods: [vanilla, {name: wasi, epsilon: 0.9, activation: {ranks: [2, 4, 8]}}]\n",
             out, text, text);
    rl_write_file(yaml, y);
    double cap = cap_between(yaml, 6);
    int n;
    MaxBatchRow *rows = run_two_rows(yaml, out, cap, &n);
    for (int i = 0; i < n; i++) {
        const MaxBatchRow *r = &rows[i];
        EXPECT(r->max_batch >= 1 && r->plan_bytes <= cap, "%s: B %d, plan %.0f, cap %.0f", r->run, r->max_batch, r->plan_bytes, cap);
        EXPECT(isfinite(r->error_pct) && fabs(r->error_pct) < 1.0, "%s: plan vs step %.3f%%", r->run, r->error_pct);
    }
    EXPECT(n == 2 && rows[0].max_batch == 6 && rows[0].plan_exact == 1, "vanilla B = %d (expected 6)", n ? rows[0].max_batch : -1);
    mem_free(rows);
}

// wasibench (argv) with stdout and stderr into log; its exit code.
static int run_bin(const char *const *args, const char *log) {
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork failed");
    if (pid == 0) {
        FILE *f = freopen(log, "w", stderr);
        f = freopen(log, "a", stdout);
        (void)f;
        execv(g_bin, (char *const *)args);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// `wasibench maxbatch --cap A,B`: one row per run and cap (vanilla: B = 37 at
// the cap between its plans at 37 and 38, as maxbatch_run finds, and at least
// that at twice the cap); a bad element: exit 2, its position and what a size
// is on stderr, nothing written.
static void test_cap_list_cli(void) {
    char yaml[800], out[800], log[800], caps[128];
    snprintf(yaml, sizeof yaml, "%s/mbl.yaml", g_dir);
    snprintf(out, sizeof out, "%s/mbl.h5", g_dir);
    snprintf(log, sizeof log, "%s/mbl.log", g_dir);
    unlink(out);
    write_yaml(yaml, out, NULL);
    double cap = cap_between_37_and_38(yaml);
    snprintf(caps, sizeof caps, "%.0f,%.0f", cap, 2 * cap);
    const char *args[] = {g_bin, "maxbatch", yaml, "--cap", caps, "--no-confirm", "--out", out, "--threads", "1", NULL};
    int rc = run_bin(args, log);
    EXPECT(rc == EXIT_OK, "wasibench maxbatch --cap %s exits %d (see %s)", caps, rc, log);
    MaxBatchRow *rows = NULL;
    int n = 0, at[2][2] = {{0, 0}, {0, 0}};
    WbError err = {0};
    CHECK(results_read_maxbatch(out, &rows, &n, &err) == 0, "%s", err.msg);
    EXPECT(n == 4, "two caps x two runs: %d rows", n);
    for (int i = 0; i < n; i++) {
        int run = strstr(rows[i].run, "lora") != NULL, c = rows[i].cap_bytes == 2 * cap;
        EXPECT(rows[i].cap_bytes == cap || c, "%s: cap %.0f is one of the list", rows[i].run, rows[i].cap_bytes);
        at[run][c] = rows[i].max_batch;
        EXPECT(isnan(rows[i].measured_bytes), "--no-confirm: no step measured");
    }
    mem_free(rows);
    EXPECT(at[0][0] == 37, "vanilla under the first cap: B = %d, expected 37", at[0][0]);
    EXPECT(at[0][1] > 37 && at[1][1] > at[1][0] && at[1][0] > 0, "twice the cap fits more: vanilla %d -> %d, lora %d -> %d", at[0][0],
           at[0][1], at[1][0], at[1][1]);

    // a bad element: named with its position, nothing written
    size_t n0;
    unsigned char *before = rl_slurp(out, &n0);
    snprintf(caps, sizeof caps, "%.0f,2XB", cap);
    rc = run_bin(args, log);
    size_t nl;
    unsigned char *text = rl_slurp(log, &nl);
    if (text) text[nl] = 0;
    char want[256];
    snprintf(want, sizeof want, "--cap '%s': element 2 '2XB': expected a size > 0 such as 2GiB, 512MB, 1.5G", caps);
    EXPECT(rc == EXIT_USAGE && text && strstr((const char *)text, want), "exit %d, message '%s' (want '%s')", rc, text ? (const char *)text : "",
           want);
    EXPECT(rl_same_bytes(out, before, n0), "the results file is unchanged");
    mem_free(text);
    mem_free(before);
}

// merge copies the file-level /maxbatch rows (a --runs-per-rank job or
// shards merged after `maxbatch` keep them); the later input's row of the
// same run and cap wins, as a later `maxbatch` would.
static void test_merge_keeps_maxbatch_rows(void) {
    char a[700], b[700], out[700];
    snprintf(a, sizeof a, "%s/mb_a.h5", g_dir);
    snprintf(b, sizeof b, "%s/mb_b.h5", g_dir);
    snprintf(out, sizeof out, "%s/mb_merged.h5", g_dir);
    unlink(a), unlink(b), unlink(out);
    MaxBatchRow r[3];
    memset(r, 0, sizeof r);
    const char *names[3] = {"s/vanilla", "s/wasi", "s/vanilla"};
    for (int i = 0; i < 3; i++) {
        snprintf(r[i].run, sizeof r[i].run, "%s", names[i]);
        snprintf(r[i].method, sizeof r[i].method, "%s", names[i] + 2);
        r[i].cap_bytes = 2147483648.0;
        r[i].max_batch = 10 + i;
        r[i].epsilon = r[i].plan_bytes = r[i].measured_bytes = r[i].error_pct = r[i].build_peak_bytes = NAN;
    }
    WbError err = {0};
    CHECK(results_write_maxbatch(a, r, 2, &err) == 0, "%s", err.msg);
    CHECK(results_write_maxbatch(b, r + 2, 1, &err) == 0, "%s", err.msg);
    const char *in[2] = {a, b};
    CHECK(results_merge(out, in, 2, NULL, &err) >= 0, "merge: %s", err.msg);
    MaxBatchRow *rows = NULL;
    int n = 0;
    CHECK(results_read_maxbatch(out, &rows, &n, &err) == 0, "%s", err.msg);
    EXPECT(n == 2, "merged rows: %d, expected 2 (one per run and cap)", n);
    for (int i = 0; i < n; i++) {
        int want = !strcmp(rows[i].run, "s/vanilla") ? 12 : 11;
        EXPECT(rows[i].max_batch == want, "%s: max_batch %d, expected %d", rows[i].run, rows[i].max_batch, want);
    }
    mem_free(rows);
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    if (rl_find_wasibench(g_bin, sizeof g_bin, argv[0], 0) < 0) return 1;
    snprintf(g_dir, sizeof g_dir, "%s", tl_tmpdir());
    rl_make_idx(g_dir, "train", 200, 1);
    rl_make_idx(g_dir, "t10k", 50, 2);
    RUN(test_sizes);
    RUN(test_size_lists);
    RUN(test_bad_cap_names_file_and_line);
    RUN(test_cap_below_plan_stops_before_allocating);
    RUN(test_maxbatch_finds_the_largest_batch);
    RUN(test_maxbatch_swin);
    RUN(test_maxbatch_llama);
    RUN(test_cap_list_cli);
    RUN(test_merge_keeps_maxbatch_rows);
    return tl_finish();
}
