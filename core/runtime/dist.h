// dist.h: the one place that talks to MPI (Open MPI). Everything else asks
// this module for its rank and for a few collectives; built without MPI
// (make finds no mpicc / ompi-c) every call is the one-process identity, so
// the rest of the code has one path. A process that was not started by a
// launcher (mpirun, srun: OMPI_COMM_WORLD_SIZE / PMI_SIZE / PMIX_RANK in its
// environment) never calls MPI_Init and runs as rank 0 of 1, so plain
// `wasibench run` costs nothing and needs no MPI daemon.
//
// Collectives count themselves (calls, bytes, seconds) so a run can report
// the all-reduce share of its step time (dist_stats).
#ifndef WB_DIST_H
#define WB_DIST_H

#include <stddef.h>
#include <stdint.h>

// Start MPI when launched by an MPI launcher; returns the number of ranks.
int dist_init(int *argc, char ***argv);
void dist_finalize(void);
int dist_rank(void);            // 0 when not distributed (or solo)
int dist_size(void);            // 1 when not distributed (or solo)

// Solo mode (the --runs-per-rank work queue): while on, this rank behaves as
// a one-process job to everything that asks dist_rank/dist_size and to every
// collective below (identities), so it trains a whole run on its own. The
// world stays reachable through the calls marked "world": the job's rank and
// size, a barrier, and the shared counter. Switch it on and off at the same
// point of the program on every rank.
void dist_set_solo(int on);
int dist_world_rank(void);      // world: the rank in the job, solo or not
int dist_world_size(void);      // world: the ranks of the job
void dist_world_barrier(void);  // world: every rank waits for all, solo or not
// Whole-job maximum of v (world, collective): e.g. the worst exit code.
int dist_world_max_int(int v);
int dist_compiled(void);        // 1 when built with MPI
const char *dist_library(void); // "Open MPI v4.1.4, ..." or "none (built without MPI)"

// Sums over ranks, in place (n may exceed INT_MAX: sent in chunks).
void dist_sum_f32(float *buf, size_t n);
void dist_sum_f64(double *buf, size_t n);
// Elementwise maximum over ranks, in place (not counted in dist_stats: for reports).
void dist_max_f64(double *buf, int n);
// The lowest rank whose flag is non-zero, or -1 when no rank raised it: a
// whole-job decision (stop, fail) every rank takes at the same step.
int dist_first_flagged(int flag);
// A whole-job failure check: when any rank's failed is non-zero, every rank
// gets the message of the lowest such rank in msg (prefixed "rank r: ") and
// 1; else 0 and msg untouched (msg: cap bytes, e.g. WbError.msg).
int dist_any_failed(int failed, char *msg, size_t cap);
// This rank's share [lo, hi) of n items split as evenly as possible in rank order.
void dist_slice(long n, long *lo, long *hi);
// Copy bytes from rank root to every rank.
void dist_bcast(void *buf, size_t bytes, int root);
void dist_barrier(void);
// End every rank of the job now (a rank that cannot go on): exits with code.
void dist_abort(int code);

// A shared counter for work queues (world): every call returns the next value
// of one job-wide counter (0, 1, 2, ...), each value to exactly one caller.
// Collective over the world to create and to free; the calls in between are
// not, and work in solo mode.
typedef struct DistCounter DistCounter;
DistCounter *dist_counter_new(void);
long dist_counter_next(DistCounter *c);
void dist_counter_free(DistCounter *c);

// Only sums that went to MPI count (a one-process run shows zeros).
typedef struct {
    long calls;       // dist_sum_* calls (the gradient sums and the step's scalars)
    double bytes;     // payload bytes they carried (per rank, not on the wire)
    double seconds;   // wall time inside them (waiting for slower ranks included)
} DistStats;
DistStats dist_stats(void);
void dist_stats_reset(void);

#endif
