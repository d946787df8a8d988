// test_energy.c: the RAPL (powercap) and hwmon readers of core/runtime/energy.h on
// fake sysfs trees this test writes: package zones summed, sub-zones and
// mmio zones ignored, a counter wrap-around corrected; hwmon rails sampled
// and integrated (trapezoid) at given times; no counters: "none", 0 J; the
// phase counters charge joules to the phase that ends. Then a real sweep
// with WB_ENERGY_ROOT on a fake RAPL zone whose counter a thread advances:
// every run stores its joules by phase (the energy table and attributes),
// `wasibench info` shows them and the energy figure is drawn; without a
// meter the same sweep stores none and reads back as NaN (as older files).
#include "core/runtime/counters.h"
#include "core/runtime/energy.h"
#include "core/runtime/memory.h"
#include "experiments/plot.h"
#include "experiments/results.h"
#include "experiments/results_schema.h"
#include "experiments/runner.h"
#include "tests/runlib.h"
#include "tests/testlib.h"

#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_root[700];

static void put(const char *rel, const char *text) {
    char p[1200], d[1200];
    snprintf(p, sizeof p, "%s/%s", g_root, rel);
    snprintf(d, sizeof d, "%s", p);
    mkdir(g_root, 0777);
    for (char *s = d + strlen(g_root) + 1; *s; s++)
        if (*s == '/') { *s = 0; mkdir(d, 0777); *s = '/'; }
    rl_write_file(p, text);
}

static void test_rapl_wraps(void) {
    snprintf(g_root, sizeof g_root, "%s/rapl", tl_tmpdir());
    put("sys/class/powercap/intel-rapl:0/name", "package-0\n");
    put("sys/class/powercap/intel-rapl:0/energy_uj", "1000000\n");
    put("sys/class/powercap/intel-rapl:0/max_energy_range_uj", "262143328850\n");
    put("sys/class/powercap/intel-rapl:1/name", "package-1\n");
    put("sys/class/powercap/intel-rapl:1/energy_uj", "9000000\n");
    put("sys/class/powercap/intel-rapl:1/max_energy_range_uj", "10000000\n");
    put("sys/class/powercap/intel-rapl:0:0/energy_uj", "5\n");   // core sub-zone: inside package-0
    put("sys/class/powercap/intel-rapl:0:0/max_energy_range_uj", "262143328850\n");
    put("sys/class/powercap/intel-rapl-mmio:0/energy_uj", "7\n"); // the same package again
    put("sys/class/powercap/intel-rapl-mmio:0/max_energy_range_uj", "262143328850\n");
    EnergyMeter em;
    EXPECT(energy_open(&em, g_root, 50) == 2, "two package zones, got %d (%s)", em.n_rapl, em.source);
    EXPECT(!strcmp(em.source, "rapl: package-0, package-1"), "source '%s'", em.source);
    EXPECT_NEAR("no energy yet", energy_joules(&em), 0.0, 1e-9, 0);
    put("sys/class/powercap/intel-rapl:0/energy_uj", "3500000\n");   // +2.5 J
    put("sys/class/powercap/intel-rapl:1/energy_uj", "500000\n");    // wrapped: +1.0 + 0.5 J
    EXPECT_NEAR("2.5 J + 1.5 J across the wrap", energy_joules(&em), 4.0, 1e-9, 1e-9);
    put("sys/class/powercap/intel-rapl:1/energy_uj", "750000\n");    // +0.25 J
    EXPECT_NEAR("then +0.25 J", energy_joules(&em), 4.25, 1e-9, 1e-9);
    energy_close(&em);
}

static void test_hwmon_integrates(void) {
    snprintf(g_root, sizeof g_root, "%s/hwmon", tl_tmpdir());
    put("sys/class/hwmon/hwmon0/name", "ina3221\n");
    put("sys/class/hwmon/hwmon0/power1_input", "2000000\n");   // 2 W (µW)
    put("sys/class/hwmon/hwmon0/power2_input", "3000000\n");   // 3 W
    put("sys/class/hwmon/hwmon0/in1_input", "5000\n");         // not a power rail
    EnergyMeter em;
    EXPECT(energy_open(&em, g_root, 0) == 2, "two rails, got %d (%s)", em.n_hwmon, em.source);
    EXPECT(!strcmp(em.source, "hwmon: ina3221/power1_input, ina3221/power2_input"), "source '%s'", em.source);
    // manual sampling (sample_ms 0): the open took the first sample at 5 W; restart the clock at t = 0
    em.hw_sampled = 0;
    energy_hwmon_sample(&em, 0.0);
    energy_hwmon_sample(&em, 1.0);                              // 5 W for 1 s
    put("sys/class/hwmon/hwmon0/power2_input", "13000000\n");  // 15 W
    energy_hwmon_sample(&em, 2.0);                              // trapezoid (5 + 15) / 2
    EXPECT_NEAR("5 J + 10 J", energy_joules(&em), 15.0, 1e-9, 1e-9);
    energy_close(&em);
}

static void test_absent(void) {
    snprintf(g_root, sizeof g_root, "%s/empty", tl_tmpdir());
    put("sys/class/other/x", "1\n");
    EnergyMeter em;
    EXPECT(energy_open(&em, g_root, 50) == 0, "no counters");
    EXPECT(!strcmp(em.source, "none") && energy_joules(&em) == 0, "source '%s'", em.source);
    energy_close(&em);
}

static double g_fake_j;
static double fake_joules(void *ctx) { (void)ctx; return g_fake_j; }

static void test_phases_charged(void) {
    g_fake_j = 100;
    counters_set_energy(fake_joules, NULL);
    counters_reset();
    Phase prev = phase_set(PHASE_FORWARD);
    g_fake_j += 3;
    phase_set(PHASE_BACKWARD);
    g_fake_j += 5;
    phase_set(prev);
    Counters c = counters_get();
    EXPECT(c.energy == 1, "energy flagged");
    EXPECT(c.joules[PHASE_FORWARD] == 3 && c.joules[PHASE_BACKWARD] == 5, "forward %g J, backward %g J",
           c.joules[PHASE_FORWARD], c.joules[PHASE_BACKWARD]);
    counters_set_energy(NULL, NULL);
    counters_reset();
    EXPECT(counters_get().energy == 0, "off again");
}

// A package counter that grows by 1000 uJ every 200 us until g_stop,
// rewritten in place at a fixed width (the meter keeps the file open and
// preads it; a truncating write could be read half-done, sysfs never is).
static volatile int g_stop;
static long long g_uj;
static char g_counter[1200];
static void *advance(void *arg) {
    (void)arg;
    int fd = open(g_counter, O_WRONLY);
    if (fd < 0) return NULL;
    while (!g_stop) {
        char b[32];
        int n = snprintf(b, sizeof b, "%020lld\n", g_uj + 1000);
        if (pwrite(fd, b, (size_t)n, 0) != n) break;
        g_uj += 1000;
        usleep(200);
    }
    close(fd);
    return NULL;
}

static int sweep(const char *dir, const char *out) {
    char yaml[900];
    snprintf(yaml, sizeof yaml, "%s/e.yaml", dir);
    char y[2048];
    snprintf(y, sizeof y,
             "experiment: e\n"
             "model: {image_size: 16, patch: 4, channels: 1, dim: 32, depth: 2, heads: 2, mlp_dim: 64}\n"
             "dataset: {format: mnist, path: %s, image_size: 16, channels: 1, limit_train: 256, limit_val: 64}\n"
             "training: {epochs: 2, batch_size: 32, lr: 0.1}\n"
             "methods: [vanilla, {name: lora, rank: 4, alpha: 8}]\n", dir);
    rl_write_file(yaml, y);
    unlink(out);
    RunnerOptions opt = {.out = out, .shard_n = 1, .threads = 1, .progress = PROGRESS_QUIET};
    return runner_run(yaml, &opt);
}

static void test_sweep_stores_energy(void) {
    char dir[800], out[900], out2[900], plots[900];
    snprintf(dir, sizeof dir, "%s/sweep", tl_tmpdir());
    mkdir(dir, 0777);
    rl_make_idx(dir, "train", 320, 1);
    snprintf(g_root, sizeof g_root, "%s/meter", tl_tmpdir());
    put("sys/class/powercap/intel-rapl:0/name", "package-0\n");
    put("sys/class/powercap/intel-rapl:0/energy_uj", "00000000000000000000\n");
    put("sys/class/powercap/intel-rapl:0/max_energy_range_uj", "262143328850\n");
    snprintf(g_counter, sizeof g_counter, "%s/sys/class/powercap/intel-rapl:0/energy_uj", g_root);
    snprintf(out, sizeof out, "%s/e.h5", dir);
    setenv("WB_ENERGY_ROOT", g_root, 1);
    g_stop = 0;
    g_uj = 0;
    pthread_t th;
    CHECK(pthread_create(&th, NULL, advance, NULL) == 0, "thread");
    int rc = sweep(dir, out);
    g_stop = 1;
    pthread_join(th, NULL);
    unsetenv("WB_ENERGY_ROOT");
    EXPECT(rc == EXIT_OK, "sweep with a meter exits %d", rc);
    RunList l;
    WbError err;
    if (results_list(out, &l, &err) < 0) { EXPECT(0, "%s", err.msg); return; }
    EXPECT(l.n == 2, "2 runs (%d)", l.n);
    double total = 0;
    for (int i = 0; i < l.n; i++) {
        const RunSummary *s = &l.runs[i];
        EXPECT(strstr(s->energy_source, "rapl") && strstr(s->energy_source, "package-0"), "%s: source '%s'", s->name, s->energy_source);
        EXPECT(isfinite(s->train_joules_per_step) && s->train_joules_per_step > 0, "%s: %g J per training step", s->name, s->train_joules_per_step);
        RunTables t;
        if (results_read_tables(out, s->name, &t, &err) < 0) { EXPECT(0, "%s", err.msg); continue; }
        double run_j = 0;
        for (int ph = 0; ph < PHASE_NCOUNT; ph++) {
            EXPECT(isfinite(t.joules_ps[ph]) && t.joules_ps[ph] >= 0, "%s: phase %s has %g J/step", s->name, phase_name((Phase)ph), t.joules_ps[ph]);
            if (ph != PHASE_INFERENCE) run_j += t.joules_ps[ph] * (double)s->steps_done;
        }
        EXPECT(run_j > 0, "%s: the training phases were charged %g J", s->name, run_j);
        printf("  %s: %.4f J/step training (forward %.4f, backward %.4f), %.4f J/inference batch\n", s->name, s->train_joules_per_step,
               t.joules_ps[PHASE_FORWARD], t.joules_ps[PHASE_BACKWARD], s->inference_joules_per_batch);
        total += run_j;
        results_tables_free(&t);
    }
    // The phases charge no more than the counter advanced over the whole sweep.
    EXPECT(total > 0 && total <= (double)g_uj * 1e-6 + 1e-9, "phases charged %.4f J of the counter's %.4f J", total, (double)g_uj * 1e-6);
    results_list_free(&l);
    // info shows it; the figure is drawn.
    FILE *f = tmpfile();
    CHECK(f != NULL, "tmpfile");
    EXPECT(results_print_info(out, f, &err) == 0, "info: %s", err.msg);
    char buf[8192] = {0};
    rewind(f);
    size_t nr = fread(buf, 1, sizeof buf - 1, f);
    buf[nr] = 0;
    fclose(f);
    EXPECT(strstr(buf, "J/step training") != NULL, "info shows the energy");
    snprintf(plots, sizeof plots, "%s/plots", dir);
    if (plot_results(out, plots, 0, NULL, &err) == 0) {
        char png[1000];
        snprintf(png, sizeof png, "%s/energy.png", plots);
        EXPECT(access(png, F_OK) == 0, "the energy figure is drawn (%s)", png);
    } else {
        EXPECT(0, "plot: %s", err.msg);
    }

    // Without a meter (this host's /sys may have one: point at an empty tree).
    char empty[800];
    snprintf(empty, sizeof empty, "%s/no-meter", tl_tmpdir());
    mkdir(empty, 0777);
    setenv("WB_ENERGY_ROOT", empty, 1);
    snprintf(out2, sizeof out2, "%s/e2.h5", dir);
    rc = sweep(dir, out2);
    unsetenv("WB_ENERGY_ROOT");
    EXPECT(rc == EXIT_OK, "sweep without a meter exits %d", rc);
    if (results_list(out2, &l, &err) < 0) { EXPECT(0, "%s", err.msg); return; }
    for (int i = 0; i < l.n; i++) {
        const RunSummary *s = &l.runs[i];
        EXPECT(!s->energy_source[0] && isnan(s->train_joules_per_step) && isnan(s->inference_joules_per_batch), "%s: no energy stored", s->name);
        RunTables t;
        if (results_read_tables(out2, s->name, &t, &err) < 0) { EXPECT(0, "%s", err.msg); continue; }
        EXPECT(isnan(t.joules_ps[PHASE_FORWARD]), "%s: no energy table, read as NaN", s->name);
        results_tables_free(&t);
    }
    results_list_free(&l);
    snprintf(plots, sizeof plots, "%s/plots2", dir);
    if (plot_results(out2, plots, 0, NULL, &err) == 0) {
        char png[1000];
        snprintf(png, sizeof png, "%s/energy.png", plots);
        EXPECT(access(png, F_OK) != 0, "no energy figure without energy");
    } else {
        EXPECT(0, "plot: %s", err.msg);
    }
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    RUN(test_rapl_wraps);
    RUN(test_hwmon_integrates);
    RUN(test_absent);
    RUN(test_phases_charged);
    RUN(test_sweep_stores_energy);
    return tl_finish();
}
