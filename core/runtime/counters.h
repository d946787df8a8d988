// counters.h: counted FLOPs and monotonic wall time, both by phase. Every
// GEMM wrapper and element-wise kernel adds its exact count to the current
// phase; the trainer switches phases. Counts are doubles of exact integers
// (exact up to 2^53 = 9e15 FLOPs per phase).
#ifndef WB_COUNTERS_H
#define WB_COUNTERS_H

#include <stdint.h>

typedef enum {
    PHASE_FORWARD = 0,   // training forward
    PHASE_BACKWARD,      // training backward
    PHASE_DECOMPOSITION, // SVD / HOSVD / subspace iteration
    PHASE_UPDATE,        // optimizer step and re-projection
    PHASE_INFERENCE,     // evaluation forward
    PHASE_OTHER,         // data loading, bookkeeping
    PHASE_ALLREDUCE,     // data-parallel: summing the gradients over ranks (core/train/data_parallel.h)
    PHASE_RECOMPUTE,     // memory.recompute: backward's re-run of each block's forward
    PHASE_NCOUNT
} Phase;

typedef struct {
    double flops[PHASE_NCOUNT];
    double seconds[PHASE_NCOUNT];
    double joules[PHASE_NCOUNT];   // host energy by phase (core/runtime/energy.h); 0 when energy is 0
    int energy;                    // 1 when an energy meter was on (counters_set_energy)
} Counters;

const char *phase_name(Phase p);
// The phases a training step's FLOPs, time and energy per step add up:
// forward, backward, decomposition, update, recompute (time and energy: and allreduce).
int phase_is_training(Phase p, int with_allreduce);
double counters_train_sum(const double *by_phase, int with_allreduce);

// Switch the phase that FLOPs and time are charged to; returns the previous
// one so nested code (a decomposition inside update) can restore it.
Phase phase_set(Phase p);
Phase phase_get(void);

void flops_add(double n);           // charge n FLOPs to the current phase
Counters counters_get(void);         // includes time of the running phase so far
void counters_reset(void);
Counters counters_diff(Counters after, Counters before);
double counters_total_flops(const Counters *c);

double wall_seconds(void);           // CLOCK_MONOTONIC

// Charge energy to phases as time is: at every phase switch, joules(ctx)
// (cumulative joules, e.g. energy_joules of core/runtime/energy.h) is read and the
// increase goes to the phase that ends. NULL turns it off. Costs one read
// (a pread of a sysfs file, a few microseconds) per phase switch.
void counters_set_energy(double (*joules)(void *ctx), void *ctx);

#endif
