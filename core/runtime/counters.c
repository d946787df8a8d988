// counters.c: phase-charged FLOP and time counters (see counters.h).
#include "core/runtime/counters.h"

#include <time.h>

static Counters g;
static Phase cur = PHASE_OTHER;
static double t_start = -1;  // when the current phase began
static double (*e_read)(void *);   // energy meter (counters_set_energy), NULL = none
static void *e_ctx;
static double e_start;       // its joules when the current phase began

static const char *names[PHASE_NCOUNT] = {"forward", "backward", "decomposition", "update", "inference", "other", "allreduce",
                                          "recompute"};
const char *phase_name(Phase p) { return (p >= 0 && p < PHASE_NCOUNT) ? names[p] : "?"; }

int phase_is_training(Phase p, int with_allreduce) {
    return p == PHASE_FORWARD || p == PHASE_BACKWARD || p == PHASE_DECOMPOSITION || p == PHASE_UPDATE || p == PHASE_RECOMPUTE ||
           (with_allreduce && p == PHASE_ALLREDUCE);
}

double counters_train_sum(const double *by_phase, int with_allreduce) {
    double s = 0;
    for (int p = 0; p < PHASE_NCOUNT; p++)
        if (phase_is_training((Phase)p, with_allreduce)) s += by_phase[p];
    return s;
}

double wall_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

Phase phase_set(Phase p) {
    double now = wall_seconds();
    if (t_start >= 0) g.seconds[cur] += now - t_start;
    t_start = now;
    if (e_read) {
        double e = e_read(e_ctx);
        g.joules[cur] += e - e_start;
        e_start = e;
    }
    Phase prev = cur;
    cur = p;
    return prev;
}

Phase phase_get(void) { return cur; }
void flops_add(double n) { g.flops[cur] += n; }

Counters counters_get(void) {
    Counters c = g;
    if (t_start >= 0) c.seconds[cur] += wall_seconds() - t_start;
    if (e_read) c.joules[cur] += e_read(e_ctx) - e_start;
    return c;
}

void counters_set_energy(double (*joules)(void *ctx), void *ctx) {
    e_read = joules;
    e_ctx = ctx;
    if (joules) e_start = joules(ctx);
    g.energy = joules != NULL;
}

void counters_reset(void) {
    Counters z = {{0}, {0}, {0}, 0};
    z.energy = e_read != NULL;
    g = z;
    t_start = wall_seconds();
    if (e_read) e_start = e_read(e_ctx);
}

Counters counters_diff(Counters a, Counters b) {
    Counters d;
    for (int i = 0; i < PHASE_NCOUNT; i++) {
        d.flops[i] = a.flops[i] - b.flops[i];
        d.seconds[i] = a.seconds[i] - b.seconds[i];
        d.joules[i] = a.joules[i] - b.joules[i];
    }
    d.energy = a.energy && b.energy;
    return d;
}

double counters_total_flops(const Counters *c) {
    double s = 0;
    for (int i = 0; i < PHASE_NCOUNT; i++) s += c->flops[i];
    return s;
}
