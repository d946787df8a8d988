// dist.c: MPI behind the small interface of dist.h; without WB_MPI (the
// Makefile defines it when it finds Open MPI) one process, no MPI at all.
#include "core/runtime/dist.h"
#include "core/runtime/common.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#ifdef WB_MPI
#include <mpi.h>
#endif

// g_rank/g_size: the world. g_coll: collectives go to MPI (started and not solo).
static int g_rank = 0, g_size = 1, g_mpi = 0, g_solo = 0, g_coll = 0;
static DistStats g_stats;

DistStats dist_stats(void) { return g_stats; }
void dist_stats_reset(void) { memset(&g_stats, 0, sizeof g_stats); }
int dist_rank(void) { return g_solo ? 0 : g_rank; }
int dist_size(void) { return g_solo ? 1 : g_size; }
int dist_world_rank(void) { return g_rank; }
int dist_world_size(void) { return g_size; }
void dist_set_solo(int on) {
    g_solo = on != 0;
    g_coll = g_mpi && !g_solo;
}

// Started by a launcher: Open MPI's mpirun, or a PMI/PMIx one (srun, hydra).
static int launched_by_mpi(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

int dist_any_failed(int failed, char *msg, size_t cap) {
    int first = dist_first_flagged(failed);
    if (first < 0) return 0;
    if (g_coll && g_size > 1) {
        char buf[WB_ERRLEN + 32];
        snprintf(buf, sizeof buf, "rank %d: %s", first, g_rank == first ? msg : "");
        dist_bcast(buf, sizeof buf, first);
        snprintf(msg, cap, "%s", buf);
    }
    return 1;
}

void dist_slice(long n, long *lo, long *hi) {
    const int r = dist_rank(), p = dist_size();
    *lo = n * r / p;
    *hi = n * (r + 1) / p;
}

#ifdef WB_MPI

int dist_compiled(void) { return 1; }

const char *dist_library(void) {
    static char buf[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(buf, &len);
    char *nl = strchr(buf, '\n');   // the first line names the library and version
    if (nl) *nl = 0;
    return buf;
}

int dist_init(int *argc, char ***argv) {
    if (g_mpi || !launched_by_mpi()) return g_size;
    int provided;
    // Only the main thread calls MPI (OpenMP/OpenBLAS threads never do).
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        die("MPI_Init_thread failed (started by mpirun/srun, but MPI could not start)");
    // Errors return codes instead of aborting inside MPI, so we can say what failed.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    g_mpi = 1;
    dist_set_solo(g_solo);
    return g_size;
}

void dist_finalize(void) {
    if (g_mpi) MPI_Finalize();
    g_mpi = 0;
    dist_set_solo(g_solo);
}

static void mpi_check(int rc, const char *what) {
    if (rc == MPI_SUCCESS) return;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    fprintf(stderr, "wasibench: rank %d of %d: %s failed: %s; ending the job (the results file stays valid: "
            "run the same command again to resume)\n", g_rank, g_size, what, msg);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

static void sum_chunks(void *buf, size_t n, size_t esize, MPI_Datatype t) {
    g_stats.calls++;
    g_stats.bytes += (double)(n * esize);
    double t0 = wall_seconds();
    char *p = buf;
    while (n > 0) {
        int c = n > (size_t)INT_MAX ? INT_MAX : (int)n;
        mpi_check(MPI_Allreduce(MPI_IN_PLACE, p, c, t, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
        p += (size_t)c * esize;
        n -= (size_t)c;
    }
    g_stats.seconds += wall_seconds() - t0;
}

void dist_sum_f32(float *buf, size_t n) {
    if (g_coll) sum_chunks(buf, n, sizeof(float), MPI_FLOAT);
}

void dist_sum_f64(double *buf, size_t n) {
    if (g_coll) sum_chunks(buf, n, sizeof(double), MPI_DOUBLE);
}

void dist_max_f64(double *buf, int n) {
    if (g_coll) mpi_check(MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce (max)");
}

int dist_first_flagged(int flag) {
    if (!g_coll) return flag ? 0 : -1;
    int mine = flag ? g_rank : INT_MAX, first = INT_MAX;
    mpi_check(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD), "MPI_Allreduce (flag)");
    return first == INT_MAX ? -1 : first;
}

void dist_bcast(void *buf, size_t bytes, int root) {
    if (!g_coll) return;
    char *p = buf;
    while (bytes > 0) {
        int c = bytes > (size_t)INT_MAX ? INT_MAX : (int)bytes;
        mpi_check(MPI_Bcast(p, c, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
        p += c;
        bytes -= (size_t)c;
    }
}

void dist_barrier(void) {
    if (g_coll) mpi_check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
}

void dist_world_barrier(void) {
    if (g_mpi) mpi_check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
}

int dist_world_max_int(int v) {
    int m = v;
    if (g_mpi) mpi_check(MPI_Allreduce(&v, &m, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce (max)");
    return m;
}

void dist_abort(int code) {
    fflush(stdout);
    fflush(stderr);
    if (g_mpi) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

// The counter is one long in a window on rank 0; MPI_Fetch_and_op is atomic.
struct DistCounter {
    MPI_Win win;
    long *base;   // rank 0: the counter; other ranks: NULL
    long local;   // without MPI
};

DistCounter *dist_counter_new(void) {
    DistCounter *c = mem_alloc(sizeof *c, MEM_WORKSPACE);
    if (!g_mpi) return c;
    MPI_Aint sz = g_rank == 0 ? (MPI_Aint)sizeof(long) : 0;
    mpi_check(MPI_Win_allocate(sz, sizeof(long), MPI_INFO_NULL, MPI_COMM_WORLD, &c->base, &c->win), "MPI_Win_allocate");
    if (g_rank == 0) {
        mpi_check(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, c->win), "MPI_Win_lock");
        *c->base = 0;
        mpi_check(MPI_Win_unlock(0, c->win), "MPI_Win_unlock");
    }
    dist_world_barrier();   // no rank takes a value before rank 0 set it
    return c;
}

long dist_counter_next(DistCounter *c) {
    if (!g_mpi) return c->local++;
    long one = 1, got = 0;
    mpi_check(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, c->win), "MPI_Win_lock");
    mpi_check(MPI_Fetch_and_op(&one, &got, MPI_LONG, 0, 0, MPI_SUM, c->win), "MPI_Fetch_and_op");
    mpi_check(MPI_Win_unlock(0, c->win), "MPI_Win_unlock");
    return got;
}

void dist_counter_free(DistCounter *c) {
    if (!c) return;
    if (g_mpi) MPI_Win_free(&c->win);
    mem_free(c);
}

#else  // built without MPI: one process

int dist_compiled(void) { return 0; }
const char *dist_library(void) { return "none (built without MPI: apt-get install libopenmpi-dev openmpi-bin, then make)"; }

int dist_init(int *argc, char ***argv) {
    (void)argc; (void)argv;
    if (launched_by_mpi() && getenv("OMPI_COMM_WORLD_RANK") && strcmp(getenv("OMPI_COMM_WORLD_RANK"), "0") != 0)
        die("started by mpirun, but this wasibench was built without MPI: every rank would train the whole run alone "
            "(install libopenmpi-dev and openmpi-bin, run make again)");
    return 1;
}
void dist_finalize(void) {}
void dist_sum_f32(float *buf, size_t n) { (void)buf; (void)n; }
void dist_sum_f64(double *buf, size_t n) { (void)buf; (void)n; }
void dist_max_f64(double *buf, int n) { (void)buf; (void)n; }
int dist_first_flagged(int flag) { return flag ? 0 : -1; }
void dist_bcast(void *buf, size_t bytes, int root) { (void)buf; (void)bytes; (void)root; }
void dist_barrier(void) {}
void dist_world_barrier(void) {}
int dist_world_max_int(int v) { return v; }
void dist_abort(int code) { fflush(stdout); fflush(stderr); exit(code); }

struct DistCounter { long local; };
DistCounter *dist_counter_new(void) { return mem_alloc(sizeof(DistCounter), MEM_WORKSPACE); }
long dist_counter_next(DistCounter *c) { return c->local++; }
void dist_counter_free(DistCounter *c) { mem_free(c); }

#endif
