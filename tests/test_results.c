// test_results.c: the HDF5 results file: write/list round trip, every
// dataset read back with the plain HDF5 API, h5dump can read it, crash
// safety under SIGKILL at every step of a write (and at random moments),
// corrupt and foreign files give clear errors, shard merge, `info` table,
// no HDF5 id is leaked by any entry point, and the one-writer lock
// (results_lock: a second holder refused with the first one's pid, in this
// process and from another one; released, taken over after a kill; a folder
// that takes no new files refused even when a stale lock file opens there).
#include "experiments/results.h"
#include "experiments/results_schema.h"

#include <hdf5.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/runtime/rng.h"
#include "tests/testlib.h"

#include <sys/wait.h>

// ---------------------------------------------------------------------------
// fixtures

typedef struct {
    RunResult r;
    EpochRow *epochs;
    StepRow *steps;
    LayerRow *layers;
    int32_t *rank_epochs, *ranks;
    SubspaceRow *subspace;   // even variants (wasi) only
    char yaml[256];
} Fixture;

// A run with `variant`-dependent values; steps rows make the file bigger than one copy block.
static void fixture_make(Fixture *fx, const char *name, RunStatus st, int variant, long n_steps) {
    RunResult *r = &fx->r;
    results_init(r);
    RunSummary *s = &r->s;
    snprintf(s->name, sizeof s->name, "%s", name);
    s->status = st;
    if (st == RUN_FAILED) snprintf(s->error, sizeof s->error, "NaN loss at epoch 2 step 37");
    snprintf(s->method, sizeof s->method, "%s", variant % 2 ? "lora" : "wasi");
    s->epsilon = variant % 2 ? (double)NAN : 0.7 + 0.01 * variant;
    s->lora_rank = variant % 2 ? 8 : 0;
    s->budget_mb = 1.5 * variant;
    s->seed = 0xFEDCBA9876543211ull + (uint64_t)variant;  // > 2^53: must survive exactly
    snprintf(s->layers, sizeof s->layers, "mlp");
    s->num_of_finetune = variant == 0 ? -1 : 4;
    snprintf(s->model, sizeof s->model, "vit_tiny");
    snprintf(s->dataset, sizeof s->dataset, "fashion-mnist");
    snprintf(s->storage, sizeof s->storage, "%s", variant % 2 ? "" : "factored");
    snprintf(s->code_version, sizeof s->code_version, "v0.1-3-gabcdef");
    snprintf(s->compiler, sizeof s->compiler, "gcc 12.2.0");
    snprintf(s->cflags, sizeof s->cflags, "-O2 -march=native");
    snprintf(s->blas, sizeof s->blas, "OpenBLAS 0.3.21");
    s->threads = 2;
    snprintf(s->host, sizeof s->host, "testhost");
    snprintf(s->start_time, sizeof s->start_time, "2025-11-25T12:00:00Z");
    snprintf(s->end_time, sizeof s->end_time, "2025-11-25T12:03:20Z");
    s->wall_seconds = 200.25 + variant;
    s->final_train_loss = 0.25 + 0.01 * variant;
    s->final_train_acc = 0.9375;
    s->final_val_loss = 0.3125;
    s->final_val_acc = 0.8125 + 0.0625 * variant;
    s->paper_act_mb = 1.25;
    s->paper_weight_mb = 0.5 + variant;
    s->peak_rss_bytes = 300u << 20;
    s->trainable_params = 123456 + (uint64_t)variant;
    if (variant % 2 == 0) { s->test_items = 50 + variant; s->final_test_loss = 0.4375; s->final_test_acc = 0.75 + 0.0625 * variant; }
    // the settings depend on the run's name only: copies of a run in two
    // shards agree on config_hash (merge refuses them otherwise)
    snprintf(fx->yaml, sizeof fx->yaml, "experiment: demo\nrun: %s\n", name);
    r->config_yaml = fx->yaml;

    int E = 3, L = 4;
    fx->epochs = mem_alloc(E * sizeof(EpochRow), MEM_WORKSPACE);
    for (int e = 0; e < E; e++)
        fx->epochs[e] = (EpochRow){e + 1, 1.0 / (e + 1), 0.5 + 0.125 * e, 1.5 / (e + 1), 0.25 * e + 0.0625 * variant, 1e-3 * (E - e), 10.5 * (e + 1)};
    fx->steps = n_steps ? mem_alloc((size_t)n_steps * sizeof(StepRow), MEM_WORKSPACE) : NULL;
    for (long i = 0; i < n_steps; i++)
        fx->steps[i] = (StepRow){i + 1, (int32_t)(i * E / n_steps) + 1, 2.0 / (double)(i + 1) + variant, 1e-3 * (1.0 - (double)i / (double)n_steps)};
    fx->layers = mem_alloc(L * sizeof(LayerRow), MEM_WORKSPACE);
    for (int l = 0; l < L; l++) {
        LayerRow *y = &fx->layers[l];
        snprintf(y->name, sizeof y->name, "encoder.layers.encoder_layer_%d.mlp.%d", l / 2, l % 2 ? 3 : 0);
        y->in_features = l % 2 ? 256 : 64;
        y->out_features = l % 2 ? 64 : 256;
        y->weight_rank = 10 + l;
        for (int m = 0; m < 3; m++) y->act_ranks[m] = 4 * (l + 1) + m;
        y->paper_act_mb = 0.125 * (l + 1);
        y->paper_weight_mb = 0.0625 * (l + 1) + variant;
    }
    fx->rank_epochs = mem_alloc(E * sizeof(int32_t), MEM_WORKSPACE);
    fx->ranks = mem_alloc((size_t)E * L * 5 * sizeof(int32_t), MEM_WORKSPACE);
    for (int e = 0; e < E; e++) {
        fx->rank_epochs[e] = e + 1;
        for (int i = 0; i < L * 5; i++) fx->ranks[e * L * 5 + i] = 100 * e + i;
    }
    r->epochs = fx->epochs; r->n_epochs = E;
    r->steps = fx->steps; r->n_steps = n_steps;
    r->layers = fx->layers; r->n_layers = L;
    r->rank_epochs = fx->rank_epochs; r->layer_ranks = fx->ranks; r->n_rank_epochs = E;
    fx->subspace = NULL;
    if (variant % 2 == 0) {   // epochs 0..E, every layer
        fx->subspace = mem_alloc((size_t)(E + 1) * L * sizeof(SubspaceRow), MEM_WORKSPACE);
        for (int e = 0; e <= E; e++)
            for (int l = 0; l < L; l++)
                fx->subspace[e * L + l] = (SubspaceRow){e, l, 10 + l + e, 10 + l, 0.125 * e + 0.01 * l + 0.001 * variant};
        r->subspace = fx->subspace; r->n_subspace = (E + 1) * L;
    }
    for (int c = 0; c < MEM_NCAT; c++) { r->mem.current[c] = 1000u * (size_t)(c + 1); r->mem.peak[c] = 5000u * (size_t)(c + 1) + (size_t)variant; }
    r->mem.total_current = 21000;
    r->mem.total_peak = (50u << 20) + (size_t)variant;
    for (int p = 0; p < PHASE_NCOUNT; p++) { r->counters.flops[p] = 1e9 * (p + 1); r->counters.seconds[p] = 0.5 * (p + 1); }
    r->train_steps = 100;
    r->inference = (InferenceStats){20, 64, 0.0125, 0.01, 0.02};
}

static void fixture_free(Fixture *fx) {
    mem_free(fx->epochs); mem_free(fx->steps); mem_free(fx->layers); mem_free(fx->rank_epochs); mem_free(fx->ranks);
    mem_free(fx->subspace);
}

static void tmp_path(char *buf, size_t cap, const char *name) {
    snprintf(buf, cap, "%s/%s", tl_tmpdir(), name);
    unlink(buf);
    char t[600];
    snprintf(t, sizeof t, "%s.tmp", buf);
    unlink(t);
}

// Leak census. Open files/groups/datasets/attributes are counted by
// H5Fget_obj_count. Transient ids (dataspaces, datatypes, property lists)
// are numbered consecutively per kind, so every id of a kind created during a
// call lies between a fresh id taken before and one taken after: the ones
// still valid afterwards were leaked. (H5Inmembers refuses library kinds.)
typedef struct { hid_t mark[3]; ssize_t objs; } Census;

static hid_t fresh_id(int kind) {
    hid_t id = kind == 0 ? H5Screate(H5S_SCALAR) : kind == 1 ? H5Tcopy(H5T_NATIVE_INT) : H5Pcreate(H5P_FILE_ACCESS);
    if (kind == 0) H5Sclose(id); else if (kind == 1) H5Tclose(id); else H5Pclose(id);
    return id;
}

static Census census_begin(void) {
    Census c;
    for (int k = 0; k < 3; k++) c.mark[k] = fresh_id(k);
    c.objs = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    return c;
}

// Ids leaked since census_begin; *made = transient ids the call created (> 0 proves the census saw the call).
static long census_leaks(Census c, long *made) {
    long leaked = (long)(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) - c.objs);
    *made = 0;
    for (int k = 0; k < 3; k++) {
        hid_t end = fresh_id(k);
        for (hid_t id = c.mark[k] + 1; id < end; id++) {
            (*made)++;
            if (H5Iis_valid(id) > 0) leaked++;
        }
    }
    return leaked;
}

#define EXPECT_NO_LEAK(census, what) do { long made_, leak_ = census_leaks((census), &made_); \
    EXPECT(leak_ == 0 && made_ > 0, "%s: %ld HDF5 ids leaked (of %ld transient ids made)", (what), leak_, made_); } while (0)

static int write_ok(const char *path, const Fixture *fx) {
    WbError e = {{0}};
    Census cs = census_begin();
    int rc = results_write_run(path, &fx->r, &e);
    EXPECT(rc == 0, "write %s: %s", fx->r.s.name, e.msg);
    EXPECT_NO_LEAK(cs, "results_write_run");
    return rc;
}

static long file_size(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static char *slurp(const char *p, long *n) {
    *n = file_size(p);
    EXPECT(*n >= 0, "%s exists", p);
    if (*n < 0) { *n = 0; return mem_alloc(1, MEM_WORKSPACE); }
    char *b = mem_alloc((size_t)*n + 1, MEM_WORKSPACE);
    FILE *f = xfopen(p, "rb");
    xfread(b, 1, (size_t)*n, f, p);
    fclose(f);
    return b;
}

static void spit(const char *p, const char *b, long n) {
    FILE *f = xfopen(p, "wb");
    xfwrite(b, 1, (size_t)n, f, p);
    fclose(f);
}

static int has_h5dump(void) { return system("command -v h5dump >/dev/null 2>&1") == 0; }

// The summary fields results_list must give back for a fixture.
static void expect_summary(const RunSummary *got, const Fixture *fx) {
    const RunSummary *w = &fx->r.s;
    EXPECT(!strcmp(got->name, w->name), "name %s vs %s", got->name, w->name);
    EXPECT(got->status == w->status, "%s status %s", w->name, run_status_name(got->status));
    EXPECT(!strcmp(got->error, w->error), "error '%s'", got->error);
    EXPECT(!strcmp(got->method, w->method) && !strcmp(got->storage, w->storage) && !strcmp(got->layers, w->layers), "method/storage/layers");
    EXPECT(isnan(w->epsilon) ? isnan(got->epsilon) : got->epsilon == w->epsilon, "epsilon %g", got->epsilon);
    EXPECT(got->lora_rank == w->lora_rank && got->num_of_finetune == w->num_of_finetune, "lora_rank %d num_of_finetune %d", got->lora_rank, got->num_of_finetune);
    EXPECT(got->budget_mb == w->budget_mb, "budget %g", got->budget_mb);
    EXPECT(got->seed == w->seed, "seed %llu vs %llu", (unsigned long long)got->seed, (unsigned long long)w->seed);
    EXPECT(!strcmp(got->model, "vit_tiny") && !strcmp(got->dataset, "fashion-mnist"), "model/dataset");
    EXPECT(!strcmp(got->code_version, w->code_version) && !strcmp(got->compiler, w->compiler) && !strcmp(got->cflags, w->cflags), "provenance strings");
    EXPECT(!strcmp(got->blas, w->blas) && !strcmp(got->host, w->host) && got->threads == 2, "blas/host/threads");
    EXPECT(!strcmp(got->start_time, w->start_time) && !strcmp(got->end_time, w->end_time), "times");
    EXPECT(got->wall_seconds == w->wall_seconds, "wall %g", got->wall_seconds);
    EXPECT(got->final_train_loss == w->final_train_loss && got->final_train_acc == w->final_train_acc, "final train");
    EXPECT(got->final_val_loss == w->final_val_loss && got->final_val_acc == w->final_val_acc, "final val acc %g", got->final_val_acc);
    EXPECT(got->paper_act_mb == 1.25 && got->paper_weight_mb == w->paper_weight_mb, "paper mb");
    EXPECT(got->paper_total_mb == 1.25 + w->paper_weight_mb, "paper total %g", got->paper_total_mb);
    EXPECT(got->peak_rss_bytes == w->peak_rss_bytes && got->trainable_params == w->trainable_params, "rss/params");
    // derived on write
    EXPECT(got->peak_tracked_bytes == fx->r.mem.total_peak, "peak tracked %llu", (unsigned long long)got->peak_tracked_bytes);
    EXPECT(got->epochs_done == 3 && got->steps_done == 100, "epochs_done %d steps_done %lld", got->epochs_done, (long long)got->steps_done);
    // training = forward, backward, decomposition, update and recompute (phase 8); not inference/other
    EXPECT(got->train_flops_per_step == 1e9 * (1 + 2 + 3 + 4 + 8) / 100, "train flops/step %g", got->train_flops_per_step);
    // training time also includes the data-parallel all-reduce (phase 7: 0.5 * 7 s)
    EXPECT(got->train_seconds_per_step == 0.5 * (1 + 2 + 3 + 4 + 7 + 8) / 100, "train s/step %g", got->train_seconds_per_step);
}

// ---------------------------------------------------------------------------
// cases

static void test_write_list_roundtrip(void) {
    int rc;
    char path[512];
    tmp_path(path, sizeof path, "roundtrip.h5");
    Fixture a, b;
    fixture_make(&a, "finetune/wasi-eps0.7-seed233", RUN_COMPLETE, 0, 500);
    fixture_make(&b, "pretrain/vanilla", RUN_FAILED, 1, 7);
    write_ok(path, &a);
    write_ok(path, &b);
    RunList l;
    WbError e = {{0}};
    Census cs = census_begin();
    EXPECT(results_list(path, &l, &e) == 0, "list: %s", e.msg);
    EXPECT_NO_LEAK(cs, "results_list");
    EXPECT(l.n == 2, "%d runs", l.n);
    if (l.n == 2) {
        expect_summary(&l.runs[0], &a);  // written order
        expect_summary(&l.runs[1], &b);
    }
    EXPECT(results_find(&l, "pretrain/vanilla") == &l.runs[1] && !results_find(&l, "pretrain"), "find");
    results_list_free(&l);

    // A complete run is never rewritten; the file stays as it was.
    long n0;
    char *before_bytes = slurp(path, &n0);
    EXPECT(results_write_run(path, &a.r, &e) == -1 && strstr(e.msg, "never rewritten") && strstr(e.msg, path), "rewrite refused: %s", e.msg);
    long n1;
    char *after = slurp(path, &n1);
    EXPECT(n0 == n1 && !memcmp(before_bytes, after, (size_t)n0), "file untouched by a refused write");
    char t[600];
    snprintf(t, sizeof t, "%s.tmp", path);
    EXPECT(access(t, F_OK) != 0, "no .tmp left by a refused write");
    mem_free(before_bytes); mem_free(after);

    // A failed attempt is replaced by the retry.
    Fixture b2;
    fixture_make(&b2, "pretrain/vanilla", RUN_COMPLETE, 3, 9);
    write_ok(path, &b2);
    rc = results_list(path, &l, &e);
    EXPECT(rc == 0 && l.n == 2, "list after retry: %d %s", l.n, e.msg);
    if (l.n == 2) {
        expect_summary(&l.runs[0], &a);
        const RunSummary *s = results_find(&l, "pretrain/vanilla");
        EXPECT(s && s->status == RUN_COMPLETE && s->final_val_acc == b2.r.s.final_val_acc && !s->error[0], "retry replaced the failed run");
    }
    results_list_free(&l);

    EpochRow *rows = NULL; int n = 0;
    rc = results_read_epochs(path, "finetune/wasi-eps0.7-seed233", &rows, &n, &e);
    EXPECT(rc == 0 && n == 3, "read epochs: %d %s", n, e.msg);
    for (int i = 0; i < n; i++)
        EXPECT(!memcmp(&rows[i], &a.epochs[i], sizeof rows[i]) || (rows[i].epoch == a.epochs[i].epoch && rows[i].val_acc == a.epochs[i].val_acc &&
               rows[i].train_loss == a.epochs[i].train_loss && rows[i].lr == a.epochs[i].lr && rows[i].seconds == a.epochs[i].seconds), "epoch row %d", i);
    mem_free(rows);
    EXPECT(results_read_epochs(path, "finetune/nope", &rows, &n, &e) == -1 && strstr(e.msg, "no run 'finetune/nope'"), "missing run: %s", e.msg);
    EXPECT(results_read_epochs(path, "nostage/x", &rows, &n, &e) == -1 && strstr(e.msg, "no run"), "missing stage: %s", e.msg);
    fixture_free(&a); fixture_free(&b); fixture_free(&b2);
}

// Read a 1-D dataset of the run with an independently built compound type (HDF5 matches fields by name).
static hsize_t read_rows(hid_t g, const char *name, hid_t mt, void *buf, hsize_t cap) {
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    EXPECT(d >= 0, "dataset %s exists", name);
    if (d < 0) return 0;
    hid_t sp = H5Dget_space(d);
    hsize_t dims[1] = {0};
    EXPECT(H5Sget_simple_extent_ndims(sp) == 1, "%s is 1-D", name);
    H5Sget_simple_extent_dims(sp, dims, NULL);
    if (dims[0] <= cap && dims[0] > 0) EXPECT(H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0, "read %s", name);
    H5Sclose(sp);
    H5Dclose(d);
    H5Tclose(mt);
    return dims[0];
}

static hid_t tcompound(size_t size, int n, const char **names, const size_t *offs, const hid_t *types) {
    hid_t t = H5Tcreate(H5T_COMPOUND, size);
    for (int i = 0; i < n; i++) H5Tinsert(t, names[i], offs[i], types[i]);
    return t;
}

static void test_datasets_shapes_values(void) {
    char path[512];
    tmp_path(path, sizeof path, "datasets.h5");
    Fixture a;
    fixture_make(&a, "finetune/wasi-eps0.7-seed233", RUN_COMPLETE, 0, 777);
    write_ok(path, &a);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    EXPECT(f >= 0, "H5Fopen %s", path);
    if (f < 0) { fixture_free(&a); return; }
    hid_t g = H5Gopen2(f, "/runs/finetune/wasi-eps0.7-seed233", H5P_DEFAULT);
    EXPECT(g >= 0, "group /runs/finetune/wasi-eps0.7-seed233 (intermediate stage group)");

    // epochs
    EpochRow ep[3];
    {
        const char *nm[] = {"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"};
        size_t of[] = {offsetof(EpochRow, epoch), offsetof(EpochRow, train_loss), offsetof(EpochRow, train_acc), offsetof(EpochRow, val_loss),
                       offsetof(EpochRow, val_acc), offsetof(EpochRow, lr), offsetof(EpochRow, seconds)};
        hid_t ty[] = {H5T_NATIVE_INT32, H5T_NATIVE_DOUBLE, H5T_NATIVE_DOUBLE, H5T_NATIVE_DOUBLE, H5T_NATIVE_DOUBLE, H5T_NATIVE_DOUBLE, H5T_NATIVE_DOUBLE};
        EXPECT(read_rows(g, "epochs", tcompound(sizeof(EpochRow), 7, nm, of, ty), ep, 3) == 3, "epochs has 3 rows");
        for (int i = 0; i < 3; i++)
            EXPECT(ep[i].epoch == i + 1 && ep[i].train_loss == a.epochs[i].train_loss && ep[i].val_acc == a.epochs[i].val_acc &&
                   ep[i].lr == a.epochs[i].lr && ep[i].seconds == a.epochs[i].seconds && ep[i].val_loss == a.epochs[i].val_loss &&
                   ep[i].train_acc == a.epochs[i].train_acc, "epoch row %d", i);
    }
    // steps
    {
        StepRow *st = mem_alloc(777 * sizeof(StepRow), MEM_WORKSPACE);
        const char *nm[] = {"step", "epoch", "loss", "lr"};
        size_t of[] = {offsetof(StepRow, step), offsetof(StepRow, epoch), offsetof(StepRow, loss), offsetof(StepRow, lr)};
        hid_t ty[] = {H5T_NATIVE_INT64, H5T_NATIVE_INT32, H5T_NATIVE_DOUBLE, H5T_NATIVE_DOUBLE};
        EXPECT(read_rows(g, "steps", tcompound(sizeof(StepRow), 4, nm, of, ty), st, 777) == 777, "steps has 777 rows");
        int bad = 0;
        for (int i = 0; i < 777; i++)
            bad += st[i].step != a.steps[i].step || st[i].epoch != a.steps[i].epoch || st[i].loss != a.steps[i].loss || st[i].lr != a.steps[i].lr;
        EXPECT(bad == 0, "%d step rows differ", bad);
        EXPECT(st[776].step == 777 && st[776].epoch == 3, "last step row %lld epoch %d", (long long)st[776].step, st[776].epoch);
        mem_free(st);
    }
    // layers
    {
        typedef struct { char name[128]; int32_t wr, k1, k4, in, out; double act, w; } L;
        L rows[4];
        hid_t s128 = H5Tcopy(H5T_C_S1);
        H5Tset_size(s128, 128);
        const char *nm[] = {"name", "weight_rank", "k1", "k4", "in_features", "out_features", "paper_act_mb", "paper_weight_mb"};
        size_t of[] = {offsetof(L, name), offsetof(L, wr), offsetof(L, k1), offsetof(L, k4), offsetof(L, in), offsetof(L, out), offsetof(L, act), offsetof(L, w)};
        hid_t ty[] = {s128, H5T_NATIVE_INT32, H5T_NATIVE_INT32, H5T_NATIVE_INT32, H5T_NATIVE_INT32, H5T_NATIVE_INT32, H5T_NATIVE_DOUBLE, H5T_NATIVE_DOUBLE};
        EXPECT(read_rows(g, "layers", tcompound(sizeof(L), 8, nm, of, ty), rows, 4) == 4, "layers has 4 rows");
        H5Tclose(s128);
        for (int i = 0; i < 4; i++)
            EXPECT(!strcmp(rows[i].name, a.layers[i].name) && rows[i].wr == 10 + i && rows[i].k1 == 4 * (i + 1) && rows[i].k4 == 0 &&
                   rows[i].in == a.layers[i].in_features && rows[i].out == a.layers[i].out_features &&
                   rows[i].act == 0.125 * (i + 1) && rows[i].w == a.layers[i].paper_weight_mb, "layer row %d (%s)", i, rows[i].name);
    }
    // memory: 6 categories + total
    {
        typedef struct { char cat[16]; uint64_t cur, peak; } M;
        M m[8];
        hid_t s16 = H5Tcopy(H5T_C_S1);
        H5Tset_size(s16, 16);
        const char *nm[] = {"category", "current_bytes", "peak_bytes"};
        size_t of[] = {offsetof(M, cat), offsetof(M, cur), offsetof(M, peak)};
        hid_t ty[] = {s16, H5T_NATIVE_UINT64, H5T_NATIVE_UINT64};
        EXPECT(read_rows(g, "memory", tcompound(sizeof(M), 3, nm, of, ty), m, 8) == MEM_NCAT + 1, "memory has %d rows", MEM_NCAT + 1);
        H5Tclose(s16);
        EXPECT(!strcmp(m[0].cat, "weights") && !strcmp(m[3].cat, "activations") && !strcmp(m[MEM_NCAT].cat, "total"), "categories %s %s %s", m[0].cat, m[3].cat, m[MEM_NCAT].cat);
        for (int c = 0; c < MEM_NCAT; c++) EXPECT(m[c].cur == 1000u * (uint64_t)(c + 1) && m[c].peak == 5000u * (uint64_t)(c + 1), "memory row %d", c);
        EXPECT(m[MEM_NCAT].cur == 21000 && m[MEM_NCAT].peak == 50u << 20, "total row %llu %llu", (unsigned long long)m[MEM_NCAT].cur, (unsigned long long)m[MEM_NCAT].peak);
    }
    // flops and time by phase
    {
        typedef struct { char ph[16]; double tot, per; int64_t steps; } P;
        P fl[8], tm[8];
        hid_t s16 = H5Tcopy(H5T_C_S1);
        H5Tset_size(s16, 16);
        const char *nf[] = {"phase", "flops", "flops_per_step", "steps"};
        const char *nt[] = {"phase", "seconds", "seconds_per_step", "steps"};
        size_t of[] = {offsetof(P, ph), offsetof(P, tot), offsetof(P, per), offsetof(P, steps)};
        hid_t ty[] = {s16, H5T_NATIVE_DOUBLE, H5T_NATIVE_DOUBLE, H5T_NATIVE_INT64};
        EXPECT(read_rows(g, "flops", tcompound(sizeof(P), 4, nf, of, ty), fl, 8) == PHASE_NCOUNT, "flops rows");
        EXPECT(read_rows(g, "time", tcompound(sizeof(P), 4, nt, of, ty), tm, 8) == PHASE_NCOUNT, "time rows");
        H5Tclose(s16);
        for (int p = 0; p < PHASE_NCOUNT; p++) {
            double n = p == PHASE_INFERENCE ? 20 : 100;
            EXPECT(!strcmp(fl[p].ph, phase_name((Phase)p)) && fl[p].tot == 1e9 * (p + 1) && fl[p].per == 1e9 * (p + 1) / n && fl[p].steps == (int64_t)n,
                   "flops row %d: %s %g %g", p, fl[p].ph, fl[p].tot, fl[p].per);
            EXPECT(!strcmp(tm[p].ph, phase_name((Phase)p)) && tm[p].tot == 0.5 * (p + 1) && tm[p].per == 0.5 * (p + 1) / n, "time row %d", p);
        }
    }
    // inference
    {
        InferenceStats in[1];
        const char *nm[] = {"batches", "batch_size", "mean_seconds", "min_seconds", "max_seconds"};
        size_t of[] = {offsetof(InferenceStats, batches), offsetof(InferenceStats, batch_size), offsetof(InferenceStats, mean_s),
                       offsetof(InferenceStats, min_s), offsetof(InferenceStats, max_s)};
        hid_t ty[] = {H5T_NATIVE_INT64, H5T_NATIVE_INT32, H5T_NATIVE_DOUBLE, H5T_NATIVE_DOUBLE, H5T_NATIVE_DOUBLE};
        EXPECT(read_rows(g, "inference", tcompound(sizeof(InferenceStats), 5, nm, of, ty), in, 1) == 1, "inference has 1 row");
        EXPECT(in[0].batches == 20 && in[0].batch_size == 64 && in[0].mean_s == 0.0125 && in[0].min_s == 0.01 && in[0].max_s == 0.02, "inference row");
    }
    // layer_ranks_by_epoch (E, L, 5) and its epoch attribute
    {
        hid_t d = H5Dopen2(g, "layer_ranks_by_epoch", H5P_DEFAULT);
        EXPECT(d >= 0, "layer_ranks_by_epoch exists");
        if (d >= 0) {
            hid_t sp = H5Dget_space(d);
            hsize_t dims[3] = {0, 0, 0};
            EXPECT(H5Sget_simple_extent_ndims(sp) == 3, "3-D");
            H5Sget_simple_extent_dims(sp, dims, NULL);
            EXPECT(dims[0] == 3 && dims[1] == 4 && dims[2] == 5, "shape (%llu,%llu,%llu)", (unsigned long long)dims[0], (unsigned long long)dims[1], (unsigned long long)dims[2]);
            int32_t v[60] = {0}, ep_attr[3] = {0};
            if (dims[0] * dims[1] * dims[2] == 60) {
                H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
                EXPECT(!memcmp(v, a.ranks, sizeof v), "rank values");
            }
            hid_t at = H5Aopen(d, "epoch", H5P_DEFAULT);
            EXPECT(at >= 0 && H5Aread(at, H5T_NATIVE_INT32, ep_attr) >= 0 && ep_attr[0] == 1 && ep_attr[2] == 3, "epoch attribute");
            if (at >= 0) H5Aclose(at);
            H5Sclose(sp);
            H5Dclose(d);
        }
    }
    // attributes: config text, typed settings, root schema marker
    {
        char *yaml = NULL;
        hid_t vs = H5Tcopy(H5T_C_S1);
        H5Tset_size(vs, H5T_VARIABLE);
        hid_t at = H5Aopen(g, "config_yaml", H5P_DEFAULT);
        EXPECT(at >= 0 && H5Aread(at, vs, &yaml) >= 0 && yaml && !strcmp(yaml, a.yaml), "config_yaml round trip");
        H5free_memory(yaml);
        if (at >= 0) H5Aclose(at);
        at = H5Aopen(g, "seed", H5P_DEFAULT);
        hid_t ft = H5Aget_type(at);
        EXPECT(H5Tget_class(ft) == H5T_INTEGER && H5Tget_size(ft) == 8 && H5Tget_sign(ft) == H5T_SGN_NONE, "seed is a u64 attribute");
        H5Tclose(ft);
        H5Aclose(at);
        at = H5Aopen(g, "lora_rank", H5P_DEFAULT);
        ft = H5Aget_type(at);
        EXPECT(H5Tget_class(ft) == H5T_INTEGER && H5Tget_size(ft) == 4, "lora_rank is an i32 attribute");
        H5Tclose(ft);
        H5Aclose(at);
        char *schema = NULL;
        at = H5Aopen(f, "schema", H5P_DEFAULT);
        EXPECT(at >= 0 && H5Aread(at, vs, &schema) >= 0 && schema && !strcmp(schema, "wasibench-results"), "root schema attribute");
        H5free_memory(schema);
        if (at >= 0) H5Aclose(at);
        H5Tclose(vs);
    }
    H5Gclose(g);
    H5Fclose(f);
    EXPECT(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) == 0, "the test closed what it opened");
    fixture_free(&a);
}

static void test_h5dump_reads_file(void) {
    if (!has_h5dump()) { printf("  skip: h5dump not installed (apt-get install hdf5-tools)\n"); return; }
    char path[512], cmd[1200];
    tmp_path(path, sizeof path, "dump.h5");
    Fixture a, b;
    fixture_make(&a, "stage/a", RUN_COMPLETE, 0, 50);
    fixture_make(&b, "b", RUN_INTERRUPTED, 1, 0);  // empty steps table
    write_ok(path, &a);
    write_ok(path, &b);
    snprintf(cmd, sizeof cmd, "h5dump '%s' > '%s.dump' 2>&1", path, path);
    EXPECT(system(cmd) == 0, "h5dump exits 0 on %s", path);
    snprintf(cmd, sizeof cmd, "grep -q 'finetune\\|encoder.layers.encoder_layer_1.mlp.3' '%s.dump' && grep -q '\"interrupted\"' '%s.dump'", path, path);
    EXPECT(system(cmd) == 0, "dump shows layer names and the status");
    // the same check must be able to fail
    char bad[512];
    tmp_path(bad, sizeof bad, "notdump.h5");
    spit(bad, "this is not hdf5", 16);
    snprintf(cmd, sizeof cmd, "h5dump '%s' > /dev/null 2>&1", bad);
    EXPECT(system(cmd) != 0, "h5dump fails on a non-HDF5 file");
    fixture_free(&a); fixture_free(&b);
}

// SIGKILL at each point of a write: the file is byte-identical before the
// rename (point 8), the new run is complete after it, and a stale .tmp is
// cleaned by the next write.
static void test_crash_at_every_step(void) {
    int rc;
    char path[512], tmp[600];
    tmp_path(path, sizeof path, "crash.h5");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    Fixture a, b, c;
    fixture_make(&a, "s/a", RUN_COMPLETE, 0, 3000);  // > one 64 KiB copy block, so point 1 is mid-copy
    fixture_make(&b, "s/b", RUN_DIVERGED, 1, 3000);
    fixture_make(&c, "t/c", RUN_COMPLETE, 2, 100);
    write_ok(path, &a);
    write_ok(path, &b);
    long n0;
    char *snap = slurp(path, &n0);
    EXPECT(n0 > (1 << 16), "file of %ld bytes spans several copy blocks", n0);
    for (int point = 1; point <= 8; point++) {
        spit(path, snap, n0);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            setenv("WB_RESULTS_TEST_KILL", (char[]){(char)('0' + point), 0}, 1);
            WbError e;
            results_write_run(path, &c.r, &e);
            _exit(0);  // reaching here means the kill point never fired
        }
        int st = 0;
        waitpid(pid, &st, 0);
        EXPECT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "point %d: child killed by SIGKILL (status %d)", point, st);
        RunList l;
        WbError e = {{0}};
        EXPECT(results_list(path, &l, &e) == 0, "point %d: file opens after the kill: %s", point, e.msg);
        if (point < 8) {
            long n1;
            char *now = slurp(path, &n1);
            EXPECT(n1 == n0 && !memcmp(now, snap, (size_t)n0), "point %d: file byte-identical to before", point);
            mem_free(now);
            EXPECT(l.n == 2, "point %d: %d runs", point, l.n);
        } else {
            EXPECT(l.n == 3 && results_find(&l, "t/c") && results_find(&l, "t/c")->status == RUN_COMPLETE, "point 8: new run complete (%d runs)", l.n);
        }
        if (l.n >= 2) { expect_summary(&l.runs[0], &a); expect_summary(&l.runs[1], &b); }
        results_list_free(&l);
        if (point >= 2 && point <= 7) EXPECT(access(tmp, F_OK) == 0, "point %d: the killed writer left %s", point, tmp);
    }
    // After a crash that left a stale .tmp, the next write cleans it and succeeds.
    spit(path, snap, n0);
    spit(tmp, "half-written garbage", 20);
    write_ok(path, &c);
    EXPECT(access(tmp, F_OK) != 0, "stale .tmp removed");
    RunList l;
    WbError e = {{0}};
    rc = results_list(path, &l, &e);
    EXPECT(rc == 0 && l.n == 3, "3 runs after recovery: %d %s", l.n, e.msg);
    if (l.n == 3) { expect_summary(&l.runs[0], &a); expect_summary(&l.runs[1], &b); expect_summary(&l.runs[2], &c); }
    results_list_free(&l);
    EpochRow *rows = NULL; int n = 0;
    EXPECT(results_read_epochs(path, "s/a", &rows, &n, &e) == 0 && n == 3 && rows[2].val_acc == a.epochs[2].val_acc, "earlier run's table intact");
    mem_free(rows);
    mem_free(snap);
    fixture_free(&a); fixture_free(&b); fixture_free(&c);
}

// A writer killed at arbitrary moments: the file always holds a prefix of the runs, each complete.
static void test_crash_random_moments(void) {
    int rc;
    char path[512];
    int delays_ms[] = {0, 2, 5, 11, 23, 47}, quick[] = {2, 4, 5};
    int nd = getenv("WB_QUICK") ? 3 : 6, partial = 0;
    Fixture fx;
    fixture_make(&fx, "x", RUN_COMPLETE, 0, 200);
    for (int ti = 0; ti < nd; ti++) {
        int t = getenv("WB_QUICK") ? quick[ti] : ti;
        tmp_path(path, sizeof path, "randomkill.h5");
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            WbError e;
            for (int i = 0; i < 40; i++) {
                snprintf(fx.r.s.name, sizeof fx.r.s.name, "sweep/r%02d", i);
                fx.r.s.final_val_acc = i / 100.0;
                if (results_write_run(path, &fx.r, &e)) _exit(3);
            }
            _exit(0);
        }
        usleep((useconds_t)delays_ms[t] * 1000u);
        kill(pid, SIGKILL);
        int st = 0;
        waitpid(pid, &st, 0);
        EXPECT(!(WIFEXITED(st) && WEXITSTATUS(st) == 3), "trial %d: writer reported an error", t);
        RunList l;
        WbError e = {{0}};
        EXPECT(results_list(path, &l, &e) == 0, "trial %d: file opens: %s", t, e.msg);
        for (int i = 0; i < l.n; i++) {
            char want[32];
            snprintf(want, sizeof want, "sweep/r%02d", i);
            EXPECT(!strcmp(l.runs[i].name, want) && l.runs[i].status == RUN_COMPLETE && l.runs[i].final_val_acc == i / 100.0,
                   "trial %d: run %d is %s", t, i, l.runs[i].name);
        }
        if (l.n > 0) {
            EpochRow *rows = NULL; int n = 0;
            rc = results_read_epochs(path, l.runs[l.n - 1].name, &rows, &n, &e);
            EXPECT(rc == 0 && n == 3, "trial %d: last run's table complete", t);
            mem_free(rows);
        }
        partial += l.n > 0 && l.n < 40;
        printf("  trial %d: killed after %d ms with %d runs in the file\n", t, delays_ms[t], l.n);
        results_list_free(&l);
    }
    (void)partial;
    fixture_free(&fx);
}

static void expect_error(const char *path, const char *what, const char *needle) {
    RunList l;
    WbError e = {{0}};
    Census cs = census_begin();
    int rc = results_list(path, &l, &e);
    EXPECT(rc == -1 && l.n == 0 && l.runs == NULL, "%s: list fails", what);
    EXPECT(strstr(e.msg, path) != NULL, "%s: error names the file: %s", what, e.msg);
    EXPECT(strstr(e.msg, needle) != NULL, "%s: error says '%s': %s", what, needle, e.msg);
    EXPECT_NO_LEAK(cs, what);
    printf("  %s -> %s\n", what, e.msg);
}

static void test_corrupt_and_foreign_files(void) {
    char path[512], good[512];
    Rng r;
    rng_seed(&r, 7);
    tmp_path(path, sizeof path, "random.h5");
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)rng_below(&r, 256);
    spit(path, junk, sizeof junk);
    expect_error(path, "random bytes", "not an HDF5 file");
    tmp_path(path, sizeof path, "empty.h5");
    spit(path, "", 0);
    expect_error(path, "empty file", "not an HDF5 file");

    // a valid results file cut in half
    tmp_path(good, sizeof good, "good.h5");
    Fixture a;
    fixture_make(&a, "a", RUN_COMPLETE, 0, 2000);
    write_ok(good, &a);
    long n;
    char *bytes = slurp(good, &n);
    tmp_path(path, sizeof path, "truncated.h5");
    spit(path, bytes, n / 2);
    expect_error(path, "truncated file", "truncated");
    // the superblock intact but the middle overwritten
    tmp_path(path, sizeof path, "scribbled.h5");
    for (long i = 512; i < n - 512; i++) bytes[i] = (char)rng_below(&r, 256);
    spit(path, bytes, n);
    {
        RunList l;
        WbError e = {{0}};
        int rc = results_list(path, &l, &e);
        EXPECT(rc == -1 && strstr(e.msg, path), "scribbled file: error naming it: %s", e.msg);
        if (rc == 0) results_list_free(&l);
        printf("  scribbled middle -> %s\n", e.msg);
    }
    mem_free(bytes);

    // an HDF5 file that is not ours
    tmp_path(path, sizeof path, "foreign.h5");
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[1] = {4};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t d = H5Dcreate2(f, "data", H5T_NATIVE_INT, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(d); H5Sclose(sp); H5Fclose(f);
    expect_error(path, "foreign HDF5 file", "not a wasibench results file");

    // ours, but from a future schema
    tmp_path(path, sizeof path, "future.h5");
    write_ok(path, &a);
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t at = H5Aopen(f, "schema_version", H5P_DEFAULT);
    int32_t v = 99;
    H5Awrite(at, H5T_NATIVE_INT32, &v);
    H5Aclose(at); H5Fclose(f);
    expect_error(path, "future schema", "schema_version 99");

    // ours, with a run missing an attribute
    tmp_path(path, sizeof path, "noattr.h5");
    write_ok(path, &a);
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t g = H5Gopen2(f, "/runs/a", H5P_DEFAULT);
    H5Adelete(g, "final_val_acc");
    H5Gclose(g); H5Fclose(f);
    expect_error(path, "run without an attribute", "run 'a': attribute 'final_val_acc' is missing");

    // a write onto a corrupt file fails, leaves it as it was and no .tmp behind
    tmp_path(path, sizeof path, "random2.h5");
    spit(path, junk, sizeof junk);
    WbError e = {{0}};
    EXPECT(results_write_run(path, &a.r, &e) == -1 && strstr(e.msg, path) && strstr(e.msg, "not an HDF5 file"), "write onto junk: %s", e.msg);
    long m;
    char *after = slurp(path, &m);
    EXPECT(m == (long)sizeof junk && !memcmp(after, junk, sizeof junk), "junk file untouched");
    mem_free(after);
    char t[600];
    snprintf(t, sizeof t, "%s.tmp", path);
    EXPECT(access(t, F_OK) != 0, "no .tmp left");
    EpochRow *rows = NULL; int nr = 0;
    EXPECT(results_read_epochs(path, "a", &rows, &nr, &e) == -1 && strstr(e.msg, path), "read_epochs on junk: %s", e.msg);
    EXPECT(results_print_info(path, stdout, &e) == -1 && strstr(e.msg, path), "info on junk");
    fixture_free(&a);
}

static void test_missing_file_and_bad_names(void) {
    int rc;
    char path[512];
    tmp_path(path, sizeof path, "never-written.h5");
    RunList l = {5, NULL};
    WbError e = {{0}};
    EXPECT(results_list(path, &l, &e) == 0 && l.n == 0 && l.runs == NULL, "missing file is an empty list: %s", e.msg);
    char *buf;
    size_t len;
    FILE *mf = open_memstream(&buf, &len);
    EXPECT(results_print_info(path, mf, &e) == 0, "info on missing file");
    fclose(mf);
    EXPECT(strstr(buf, "no runs") != NULL, "info says no runs: %s", buf);
    free(buf);  // open_memstream's buffer belongs to libc

    Fixture a;
    fixture_make(&a, "", RUN_COMPLETE, 0, 3);
    const char *bad[] = {"", "/a", "a/", "a//b", "a/./b", "../x", "a\nb"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(a.r.s.name, sizeof a.r.s.name, "%s", bad[i]);
        EXPECT(results_write_run(path, &a.r, &e) == -1 && strstr(e.msg, "run name"), "bad name '%s' refused: %s", bad[i], e.msg);
    }
    EXPECT(access(path, F_OK) != 0, "no file created by refused writes");
    snprintf(a.r.s.name, sizeof a.r.s.name, "main");
    write_ok(path, &a);
    snprintf(a.r.s.name, sizeof a.r.s.name, "main/sub");
    EXPECT(results_write_run(path, &a.r, &e) == -1 && strstr(e.msg, "nest"), "run inside a run refused: %s", e.msg);
    snprintf(a.r.s.name, sizeof a.r.s.name, "st/x");
    write_ok(path, &a);
    snprintf(a.r.s.name, sizeof a.r.s.name, "st");
    EXPECT(results_write_run(path, &a.r, &e) == -1 && strstr(e.msg, "not a run"), "run named like a stage refused: %s", e.msg);
    a.r.s.status = (RunStatus)9;
    snprintf(a.r.s.name, sizeof a.r.s.name, "ok");
    EXPECT(results_write_run(path, &a.r, &e) == -1 && strstr(e.msg, "bad status"), "bad status refused");
    a.r.s.status = RUN_COMPLETE;
    a.r.config_yaml = NULL;
    EXPECT(results_write_run(path, &a.r, &e) == -1 && strstr(e.msg, "config_yaml"), "NULL config refused");
    a.r.config_yaml = a.yaml;
    rc = results_list(path, &l, &e);
    EXPECT(rc == 0 && l.n == 2, "2 runs: %d", l.n);
    results_list_free(&l);
    fixture_free(&a);
}

static void test_merge_shards(void) {
    int rc;
    char s1[512], s2[512], out[512], bad[512];
    tmp_path(s1, sizeof s1, "shard1.h5");
    tmp_path(s2, sizeof s2, "shard2.h5");
    tmp_path(out, sizeof out, "merged.h5");
    Fixture a1, b1, b2, c2, a2;
    fixture_make(&a1, "ft/a", RUN_COMPLETE, 0, 40);
    fixture_make(&b1, "ft/b", RUN_FAILED, 1, 5);
    fixture_make(&b2, "ft/b", RUN_COMPLETE, 2, 60);
    fixture_make(&c2, "pre/c", RUN_COMPLETE, 3, 70);
    fixture_make(&a2, "ft/a", RUN_COMPLETE, 4, 80);  // a duplicate complete run with other numbers
    write_ok(s1, &a1); write_ok(s1, &b1);
    write_ok(s2, &b2); write_ok(s2, &c2); write_ok(s2, &a2);
    const char *in[] = {s1, s2};
    WbError e = {{0}};
    char *buf;
    size_t len;
    FILE *log = open_memstream(&buf, &len);
    Census cs = census_begin();
    int w = results_merge(out, in, 2, log, &e);
    fclose(log);
    EXPECT_NO_LEAK(cs, "results_merge");
    EXPECT(w == 1, "one warning (duplicate complete ft/a), got %d: %s", w, e.msg);
    EXPECT(strstr(buf, "ft/a") && strstr(buf, s1), "warning names the run and the kept file: %s", buf);
    free(buf);
    RunList l;
    rc = results_list(out, &l, &e);
    EXPECT(rc == 0 && l.n == 3, "union of 3 runs: %d %s", l.n, e.msg);
    if (l.n == 3) {
        expect_summary(&l.runs[0], &a1);  // first complete copy kept
        expect_summary(&l.runs[1], &b2);  // complete beats failed
        expect_summary(&l.runs[2], &c2);
    }
    results_list_free(&l);
    EpochRow *rows = NULL; int n = 0;
    EXPECT(results_read_epochs(out, "pre/c", &rows, &n, &e) == 0 && n == 3 && rows[1].val_acc == c2.epochs[1].val_acc, "copied tables");
    mem_free(rows);
    if (has_h5dump()) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "h5dump '%s' > /dev/null 2>&1", out);
        EXPECT(system(cmd) == 0, "h5dump reads the merged file");
    }
    // merging into one of the inputs works (out is replaced atomically at the end)
    const char *in2[] = {s1, out};
    EXPECT(results_merge(s1, in2, 2, NULL, &e) == 1, "merge into an input (ft/a complete twice): %s", e.msg);
    rc = results_list(s1, &l, &e);
    EXPECT(rc == 0 && l.n == 3, "s1 now has the union: %d", l.n);
    results_list_free(&l);
    // a corrupt input: error names it, out unchanged
    tmp_path(bad, sizeof bad, "shard-bad.h5");
    spit(bad, "garbage garbage garbage", 23);
    long n0;
    char *snap = slurp(out, &n0);
    const char *in3[] = {s2, bad};
    EXPECT(results_merge(out, in3, 2, NULL, &e) == -1 && strstr(e.msg, bad), "corrupt input named: %s", e.msg);
    long n1;
    char *now = slurp(out, &n1);
    EXPECT(n0 == n1 && !memcmp(snap, now, (size_t)n0), "out untouched by a failed merge");
    mem_free(snap); mem_free(now);
    const char *in4[] = {"no/such/shard.h5"};
    EXPECT(results_merge(out, in4, 1, NULL, &e) == -1 && strstr(e.msg, "no/such/shard.h5"), "missing input: %s", e.msg);
    fixture_free(&a1); fixture_free(&b1); fixture_free(&b2); fixture_free(&c2); fixture_free(&a2);
}

// The subspace table: written, read back by results_read_tables, carried by
// merge; absent for a run without the log; a row naming a missing layer refused.
static int subspace_equal(const char *path, const char *run, const Fixture *fx) {
    RunTables t;
    WbError e = {{0}};
    if (results_read_tables(path, run, &t, &e) < 0) { EXPECT(0, "reading %s of %s: %s", run, path, e.msg); return 0; }
    int ok = t.n_subspace == fx->r.n_subspace;
    for (int i = 0; ok && i < t.n_subspace; i++) ok = !memcmp(&t.subspace[i], &fx->subspace[i], sizeof(SubspaceRow));
    results_tables_free(&t);
    return ok;
}

static void test_subspace_table(void) {
    char s1[512], s2[512], out[512];
    tmp_path(s1, sizeof s1, "sub1.h5");
    tmp_path(s2, sizeof s2, "sub2.h5");
    tmp_path(out, sizeof out, "sub_merged.h5");
    Fixture a, b, c;
    fixture_make(&a, "ft/a", RUN_COMPLETE, 0, 10);   // with the log
    fixture_make(&b, "ft/b", RUN_COMPLETE, 1, 10);   // without
    fixture_make(&c, "ft/c", RUN_COMPLETE, 2, 10);   // with, other values
    EXPECT(a.r.n_subspace == 16 && b.r.n_subspace == 0, "fixture: %d and %d rows", a.r.n_subspace, b.r.n_subspace);
    write_ok(s1, &a); write_ok(s1, &b); write_ok(s2, &c);
    EXPECT(subspace_equal(s1, "ft/a", &a), "ft/a's subspace rows round-trip");
    EXPECT(subspace_equal(s1, "ft/b", &b), "ft/b has no subspace table");
    EXPECT(subspace_equal(s2, "ft/c", &c), "ft/c's subspace rows round-trip");
    // the optional test-split attributes (dataset.eval_split) ride along in the summary
    RunList l;
    WbError e = {{0}};
    if (results_list(s1, &l, &e) == 0) {
        const RunSummary *x = results_find(&l, "ft/a"), *y = results_find(&l, "ft/b");
        EXPECT(x && x->test_items == 50 && x->final_test_acc == 0.75 && x->final_test_loss == 0.4375, "ft/a's test accuracy round-trips");
        EXPECT(y && y->test_items == 0 && isnan(y->final_test_acc), "ft/b was not tested: NaN, 0 items");
        results_list_free(&l);
    } else EXPECT(0, "list: %s", e.msg);
    const char *in[] = {s1, s2};
    EXPECT(results_merge(out, in, 2, NULL, &e) == 0, "merge: %s", e.msg);
    EXPECT(subspace_equal(out, "ft/a", &a) && subspace_equal(out, "ft/b", &b) && subspace_equal(out, "ft/c", &c),
           "merge carries the subspace tables");
    a.subspace[3].layer = 4;   // the fixture has 4 layers
    EXPECT(results_write_run(s1, &a.r, &e) == -1 && strstr(e.msg, "layer 4"), "a row naming a missing layer is refused: %s", e.msg);
    fixture_free(&a); fixture_free(&b); fixture_free(&c);
}

// The spectrum table (training.log_spectrum): written, read back, carried by
// merge, absent for a run without it; a row naming a missing layer refused.
static void test_spectrum_table(void) {
    char s1[512], out[512];
    tmp_path(s1, sizeof s1, "spec1.h5");
    tmp_path(out, sizeof out, "spec_merged.h5");
    Fixture a, b;
    fixture_make(&a, "ft/a", RUN_COMPLETE, 0, 10);
    fixture_make(&b, "ft/b", RUN_COMPLETE, 1, 10);
    SpectrumRow rows[4 * 9];   // 4 layers x modes (2, 3, 4)
    for (int i = 0; i < 36; i++) {
        int j = i % 9, m = j < 2 ? 0 : j < 5 ? 1 : 2, d = m + 2, k = j - (m == 0 ? 0 : m == 1 ? 2 : 5);
        rows[i] = (SpectrumRow){i / 9, m, d, k + 1, 0.5 / (k + 1) + 1e-3 * i, (k + 1.0) / d};
    }
    a.r.spectrum = rows; a.r.n_spectrum = 36;
    write_ok(s1, &a); write_ok(s1, &b);
    const char *in[] = {s1};
    WbError e = {{0}};
    EXPECT(results_merge(out, in, 1, NULL, &e) == 0, "merge: %s", e.msg);
    const char *files[2] = {s1, out};
    for (int f = 0; f < 2; f++) {
        RunTables t;
        if (results_read_tables(files[f], "ft/a", &t, &e) < 0) { EXPECT(0, "%s", e.msg); continue; }
        EXPECT(t.n_spectrum == 36 && !memcmp(t.spectrum, rows, sizeof rows), "%s: ft/a's 36 spectrum rows round-trip", files[f]);
        results_tables_free(&t);
        if (results_read_tables(files[f], "ft/b", &t, &e) < 0) { EXPECT(0, "%s", e.msg); continue; }
        EXPECT(t.n_spectrum == 0 && !t.spectrum, "%s: ft/b has no spectrum table", files[f]);
        results_tables_free(&t);
    }
    rows[20].layer = 4;   // the fixture has 4 layers
    EXPECT(results_write_run(s1, &a.r, &e) == -1 && strstr(e.msg, "spectrum row 20 names layer 4"), "a row naming a missing layer is refused: %s", e.msg);
    fixture_free(&a); fixture_free(&b);
}

static void test_info_table(void) {
    char path[512];
    tmp_path(path, sizeof path, "info.h5");
    Fixture a, b;
    fixture_make(&a, "finetune/wasi-eps0.7-seed233", RUN_COMPLETE, 0, 10);
    fixture_make(&b, "finetune/lora-r8", RUN_FAILED, 1, 10);
    write_ok(path, &a);
    write_ok(path, &b);
    char *buf;
    size_t len;
    FILE *mf = open_memstream(&buf, &len);
    WbError e = {{0}};
    EXPECT(results_print_info(path, mf, &e) == 0, "info: %s", e.msg);
    fclose(mf);
    printf("%s", buf);
    EXPECT(strstr(buf, "2 runs (1 complete, 0 diverged, 0 interrupted, 1 failed)") != NULL, "status counts");
    // the fixture's subspace rows at epoch 3: angles 0.375 + 0.01 l rad, every eps rank 3 above epoch 0's
    EXPECT(strstr(buf, "epoch   3: max  23.20 (encoder.layers.encoder_layer_1.mlp.3)  mean  22.35 over 4 layers; epsilon rank changed in 4")
           != NULL, "info shows the subspace summary of the wasi run");
    EXPECT(strstr(buf, "81.25%   75.00%") != NULL, "info shows val_acc then test_acc of the tested run");
    char la[512] = "", lb[512] = "";
    const char *pa = strstr(buf, "finetune/wasi-eps0.7-seed233"), *pb = strstr(buf, "finetune/lora-r8");
    if (pa) snprintf(la, sizeof la, "%.*s", (int)strcspn(pa, "\n"), pa);
    if (pb) snprintf(lb, sizeof lb, "%.*s", (int)strcspn(pb, "\n"), pb);
    const char *na[] = {" complete ", " wasi ", " 0.70 ", " 81.25% ", " 1.75 ", " 50.0 ", " 300.0 ", " 0.180 ", " 0.1250 ", " 3m20s"};
    // run a: eps, val acc, paper MB (1.25 + 0.5), peak tracked MB, RSS MB, GFLOP/step (18e9/100: phases 1-4 and recompute 8),
    // s/step (12.5/100: the same plus all-reduce 7), wall 200.25 s
    for (size_t i = 0; i < sizeof na / sizeof na[0]; i++) EXPECT(strstr(la, na[i]) != NULL, "run a line shows '%s': %s", na[i], la);
    const char *nb[] = {" failed ", " lora ", " 8 ", " 1.5 ", " 87.50% ", " 2.75 ", " 3m21s", "(NaN loss at epoch 2 step 37)"};
    // run b: lora rank, budget, val acc, paper MB (1.25 + 1.5), error message
    for (size_t i = 0; i < sizeof nb / sizeof nb[0]; i++) EXPECT(strstr(lb, nb[i]) != NULL, "run b line shows '%s': %s", nb[i], lb);
    EXPECT(strstr(lb, " 0.71 ") == NULL, "no epsilon shown for lora");
    // aligned: the header and every run line have the same length up to the time column
    char *l1 = strchr(buf, '\n') + 1, *l2 = strchr(l1, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
    EXPECT(l2 - l1 == l3 - l2, "header and first row have equal width (%ld vs %ld)", (long)(l2 - l1), (long)(l3 - l2));
    free(buf);
    fixture_free(&a); fixture_free(&b);
}

// --- the one-writer lock ---------------------------------------------------------------

static void expect_lock_error(const char *path, const char *what, const char *n1, const char *n2) {
    ResultsLock lk = RESULTS_LOCK_NONE;
    WbError err;
    memset(&err, 0, sizeof err);
    int rc = results_lock(path, &lk, &err);
    EXPECT(rc == -1 && lk.fd < 0, "%s: lock taken (rc %d)", what, rc);
    if (rc == 0) { results_unlock(&lk); return; }
    EXPECT(strstr(err.msg, path) != NULL, "%s: message does not name %s: %s", what, path, err.msg);
    EXPECT(strstr(err.msg, n1) != NULL, "%s: '%s' not in: %s", what, n1, err.msg);
    if (n2) EXPECT(strstr(err.msg, n2) != NULL, "%s: '%s' not in: %s", what, n2, err.msg);
    printf("  %-28s %s\n", what, err.msg);
}

static void test_one_writer_lock(void) {
    char path[500], side[700], pid[48];
    tmp_path(path, sizeof path, "locked.h5");
    snprintf(side, sizeof side, "%s.lock", path);
    unlink(side);
    ResultsLock a = RESULTS_LOCK_NONE;
    WbError err;
    EXPECT(results_lock(path, &a, &err) == 0, "first lock: %s", err.msg);
    EXPECT(a.fd >= 0 && access(side, F_OK) == 0, "the sidecar %s exists while held", side);
    // a second holder in this process (flock conflicts between open files): refused with our pid
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    expect_lock_error(path, "second lock, same process", "another wasibench process", pid);
    // ... and the results file itself is untouched by the lock
    EXPECT(access(path, F_OK) != 0, "locking created %s", path);
    results_unlock(&a);
    results_unlock(&a);   // twice: a no-op
    EXPECT(access(side, F_OK) != 0, "the sidecar is removed by unlock");
    EXPECT(results_lock(path, &a, &err) == 0, "lock again after unlock: %s", err.msg);
    results_unlock(&a);

    // held by another process: refused naming its pid; taken over once it is killed
    int ready[2];
    CHECK(pipe(ready) == 0, "pipe");
    fflush(stdout);
    pid_t child = fork();
    CHECK(child >= 0, "fork");
    if (child == 0) {
        ResultsLock c = RESULTS_LOCK_NONE;
        WbError e;
        char ok = results_lock(path, &c, &e) == 0 ? 'y' : 'n';
        if (write(ready[1], &ok, 1) != 1) _exit(1);
        for (;;) pause();
    }
    char ok = 'n';
    EXPECT(read(ready[0], &ok, 1) == 1 && ok == 'y', "the child took the lock");
    close(ready[0]); close(ready[1]);
    snprintf(pid, sizeof pid, "pid %ld", (long)child);
    expect_lock_error(path, "held by another process", "another wasibench process", pid);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    EXPECT(access(side, F_OK) == 0, "a killed holder leaves its sidecar");
    EXPECT(results_lock(path, &a, &err) == 0, "a killed holder's lock is taken over: %s", err.msg);
    results_unlock(&a);

    // folders that take no new files
    expect_lock_error("/proc/wasibench-no-such-dir/r.h5", "missing folder", "cannot create files in the results folder",
                      "nothing was trained");
    if (geteuid() != 0) {   // root writes anywhere: the runner's test drops to nobody for this (test_faults.c)
        char dir[600], p2[700], s2[800];
        snprintf(dir, sizeof dir, "%s/ro_lock", tl_tmpdir());
        mkdir(dir, 0755);
        snprintf(p2, sizeof p2, "%s/r.h5", dir);
        snprintf(s2, sizeof s2, "%s.lock", p2);
        int fd = open(s2, O_WRONLY | O_CREAT, 0644);   // a stale sidecar that opens fine
        if (fd >= 0) close(fd);
        chmod(dir, 0555);
        expect_lock_error(p2, "read-only folder, stale lock", "cannot create files in the results folder", "Permission denied");
        chmod(dir, 0755);
    } else {
        printf("  (root: the read-only folder case runs as nobody in test_faults)\n");
    }
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    RUN(test_write_list_roundtrip);
    RUN(test_datasets_shapes_values);
    RUN(test_h5dump_reads_file);
    RUN(test_crash_at_every_step);
    RUN(test_crash_random_moments);
    RUN(test_corrupt_and_foreign_files);
    RUN(test_missing_file_and_bad_names);
    RUN(test_merge_shards);
    RUN(test_subspace_table);
    RUN(test_spectrum_table);
    RUN(test_info_table);
    RUN(test_one_writer_lock);
    return tl_finish();
}
