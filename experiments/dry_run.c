// dry_run.c: `wasibench run --dry-run` (see dry_run.h) and the resume rule
// it shares with the sweep: which stored runs are done, to do, or changed.
#include "experiments/dry_run.h"
#include "experiments/confighash.h"
#include "experiments/cost.h"
#include "core/runtime/memory.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

RunResume run_resume_state(const RunSpec *rs, const RunSummary *prev) {
    if (!prev || (prev->status != RUN_COMPLETE && prev->status != RUN_DIVERGED && prev->status != RUN_OVER_CAP)) return RESUME_TODO;
    char hex[CFG_HASH_HEX];
    cfg_hash_hex(cfg_hash_settings(rs->resolved_yaml ? rs->resolved_yaml : "", CFG_HASH_SEED), hex);
    // over_cap produced no result: with another cap (or other settings) it is simply tried again
    if (prev->status == RUN_OVER_CAP) return strcmp(hex, prev->config_hash) ? RESUME_TODO : RESUME_DONE;
    return strcmp(hex, prev->config_hash) ? RESUME_CHANGED : RESUME_DONE;
}

// The first changed run, by name and key, and the way out.
void run_report_changed(const char *out, const RunSpec *rs, int n_changed, int rerun) {
    char *old = NULL, key[256] = "?", was[128] = "?", now[128] = "?";
    WbError err = {{0}};
    if (results_read_config(out, rs->name, &old, &err) == 0)
        cfg_first_diff(old, rs->resolved_yaml ? rs->resolved_yaml : "", key, sizeof key, was, now, sizeof was);
    mem_free(old);
    fprintf(stderr, "wasibench: %s: run %s was made with other settings: %s is %s there, %s now%s\n", out, rs->name, key, was, now,
            n_changed > 1 ? " (and more runs changed, see --dry-run)" : "");
    if (!rerun)
        fprintf(stderr, "wasibench: %d stored run(s) differ from the experiment; pass --rerun-changed to train them again and "
                        "replace them, or choose another --out\n", n_changed);
}

// One line per run for --dry-run: settings and the analytic per-step cost
// ("?" where it depends on data or weights).
static void print_num(double v, int width, int prec) {
    if (isnan(v)) printf("%*s ", width, "?");
    else printf("%*.*f ", width, v > 0 && v < 1 ? prec + 2 : prec, v);   // compressed MB: three decimals, so ratios can be read off
}

static void print_hours(double s) {
    if (s < 3600) printf("%.1f min", s / 60);
    else printf("%.1f h", s / 3600);
}

// The sweep's wall time from the counted-FLOP cost model (cost.h) at a rate
// (measured here, or --gflops), on one process and on P ranks.
// cost[j]: method_cost of run sel[j] (dry_run_print's table computed it).
static void print_time_estimate(const Experiment *ex, const int *sel, int nsel, const MethodCost *cost, const RunList *done,
                                const RunnerOptions *opt) {
    const double eff = 0.6;   // stated: a whole step runs at ~0.6 of the sgemm rate (make bench: 0.5-0.87)
    double rate = opt->gflops > 0 ? opt->gflops * 1e9 : eff * cost_measured_flops_per_second();
    double *sec = mem_alloc(sizeof(double) * (size_t)(nsel + 1), MEM_WORKSPACE), total = 0;
    int *runs = mem_alloc(sizeof(int) * (size_t)(nsel + 1), MEM_WORKSPACE), n = 0, n_bounded = 0;
    for (int j = 0; j < nsel; j++) {
        const RunSpec *rs = &ex->runs[sel[j]];
        if (run_resume_state(rs, results_find(done, rs->name)) == RESUME_DONE) continue;
        int bounded = 0;
        sec[n] = run_seconds_estimate(rs, &cost[j], rate, &bounded);
        if (isnan(sec[n])) continue;
        n_bounded += bounded;
        total += sec[n];
        runs[n++] = sel[j];
    }
    int P = opt->ranks > 0 ? opt->ranks : 1;
    printf("Estimated wall time of the %d run(s) to do, at %.1f GFLOP/s per process (%s): ", n, rate / 1e9,
           opt->gflops > 0 ? "--gflops" : "0.6 x this machine's sgemm rate on these threads");
    print_hours(total);
    printf(" on 1 process");
    if (P > 1) {
        printf("; ");
        print_hours(queue_seconds_estimate(ex, runs, sec, n, P));
        printf(" on %d ranks with --runs-per-rank (whole runs, stage by stage), ", P);
        print_hours(total / P);
        printf(" data-parallel (ideal: all-reduce not counted)");
    }
    printf(".\n");
    if (n_bounded)
        printf("(%d run(s) whose FLOPs depend on the data or the weights are charged the dense step: an upper bound.)\n", n_bounded);
    printf("Steps = epochs x train items / batch, train items from each format's official training set size\n"
           "(or limit_train); plus one forward per validation item and evaluation. See `--ranks P`, `--gflops R`.\n");
    mem_free(runs);
    mem_free(sec);
}

void dry_run_print(const Experiment *ex, const int *sel, int nsel, const RunList *done, const char *out,
                          const RunnerOptions *opt) {
    int n_changed = 0, first = -1;
    for (int j = 0; j < nsel; j++)
        if (run_resume_state(&ex->runs[sel[j]], results_find(done, ex->runs[sel[j]].name)) == RESUME_CHANGED) {
            if (first < 0) first = sel[j];
            n_changed++;
        }
    if (n_changed) run_report_changed(out, &ex->runs[first], n_changed, 0);
    printf("%-4s %-44s %-8s %9s %9s %9s %11s %s\n", "#", "run", "method", "act MB", "weight MB", "paper MB", "GFLOP/step", "status");
    MethodCost *cost = mem_alloc(sizeof(MethodCost) * (size_t)(nsel + 1), MEM_WORKSPACE);
    for (int j = 0; j < nsel; j++) {
        const RunSpec *rs = &ex->runs[sel[j]];
        MethodCost c;
        method_cost(rs, &c);
        cost[j] = c;
        const RunSummary *prev = results_find(done, rs->name);
        RunResume rst = run_resume_state(rs, prev);
        printf("%-4d %-44s %-8s ", rs->index, rs->name, rs->method);
        print_num(c.paper_act_mb, 9, 1);
        print_num(c.paper_weight_mb, 9, 1);
        print_num(c.paper_act_mb + c.paper_weight_mb, 9, 1);
        print_num(c.train_flops_per_step / 1e9, 11, 2);
        printf("%s%s\n", prev ? run_status_name(prev->status) : "todo", rst == RESUME_CHANGED ? ", changed" : "");
    }
    printf("%d runs. Memory: the paper's measure (saved activations + weights of the counted linears, MB)\n"
           "at each run's batch size; GFLOP/step: forward + backward of one training step.\n", nsel);
    print_time_estimate(ex, sel, nsel, cost, done, opt);
    mem_free(cost);
}

