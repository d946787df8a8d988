// test_energy.c: the RAPL (powercap) and hwmon readers of core/energy.h on
// fake sysfs trees this test writes: package zones summed, sub-zones and
// mmio zones ignored, a counter wrap-around corrected; hwmon rails sampled
// and integrated (trapezoid) at given times; no counters: "none", 0 J; the
// phase counters charge joules to the phase that ends.
#include "core/counters.h"
#include "core/energy.h"
#include "tests/runlib.h"
#include "tests/testlib.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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

int main(int argc, char **argv) {
    tl_init(argc, argv);
    RUN(test_rapl_wraps);
    RUN(test_hwmon_integrates);
    RUN(test_absent);
    RUN(test_phases_charged);
    return tl_finish();
}
