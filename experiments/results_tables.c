// results_tables.c: the reader of a run's tables (memory, flops, time,
// layers, rank history) for the figures and reports (see results_schema.h).
#include "experiments/results_schema.h"
#include "core/runtime/memory.h"

#include <hdf5.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct { const char *path; WbError *err; const char *run; int failed; } Rd;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int rd_fail(Rd *r, const char *fmt, ...) {
    if (r->failed) return -1;
    r->failed = 1;
    char msg[WB_ERRLEN / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return wb_error(r->err, "%s: run '%s': %s", r->path, r->run, msg);
}
// Nonzero (after recording the error) when expr < 0.
#define H5OK(r, expr, what) ((expr) < 0 ? rd_fail((r), "HDF5 call %s failed: %s", #expr, (what)) : 0)

static void close_id(hid_t *id) {
    if (*id < 0) return;
    switch (H5Iget_type(*id)) {
    case H5I_FILE: H5Fclose(*id); break;
    case H5I_GROUP: H5Gclose(*id); break;
    case H5I_DATASET: H5Dclose(*id); break;
    case H5I_DATATYPE: H5Tclose(*id); break;
    case H5I_DATASPACE: H5Sclose(*id); break;
    case H5I_ATTR: H5Aclose(*id); break;
    default: break;
    }
    *id = -1;
}

// The figures read only the columns they need (results_schema.h: HDF5
// matches columns by name, so a file's other columns are not read).
static const char *const mem_cols[] = {"category", "peak_bytes", NULL};
static const char *const flops_cols[] = {"phase", "flops_per_step", NULL};
static const char *const time_cols[] = {"phase", "seconds_per_step", NULL};
static const char *const energy_cols[] = {"phase", "joules_per_step", NULL};

// Read the 1-D table `name` of group g into *rows (mem_alloc'd, n rows of
// row_size bytes; NULL when empty). mt is closed here.
static int read_table(Rd *r, hid_t g, const char *name, hid_t mt, size_t row_size, void **rows, int *n) {
    hid_t d = -1, sp = -1;
    *rows = NULL;
    *n = 0;
    if (mt < 0) return rd_fail(r, "cannot build the memory type for '%s'", name);
    hsize_t dims[1] = {0};
    if ((d = H5Dopen2(g, name, H5P_DEFAULT)) < 0) { rd_fail(r, "no table '%s' (wrong schema, or not a wasibench results file)", name); goto done; }
    if ((sp = H5Dget_space(d)) < 0 || H5Sget_simple_extent_ndims(sp) != 1 || H5Sget_simple_extent_dims(sp, dims, NULL) < 0) {
        rd_fail(r, "table '%s' is not 1-D (wrong schema)", name);
        goto done;
    }
    if (dims[0] > 1000000) { rd_fail(r, "table '%s' has %llu rows (corrupt?)", name, (unsigned long long)dims[0]); goto done; }
    if (dims[0] > 0) {
        void *buf = mem_alloc((size_t)dims[0] * row_size, MEM_WORKSPACE);
        if (H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
            mem_free(buf);
            rd_fail(r, "reading table '%s' failed (columns missing? wrong schema)", name);
            goto done;
        }
        *rows = buf;
        *n = (int)dims[0];
    }
done:
    close_id(&sp);
    close_id(&d);
    H5Tclose(mt);
    return r->failed ? -1 : 0;
}

// layer_ranks_by_epoch (optional): int32 (E, n_layers, 5) and its 'epoch' attribute.
static int read_rank_history(Rd *r, hid_t g, RunTables *rd) {
    hid_t d = -1, sp = -1, a = -1, asp = -1;
    htri_t ex = H5Lexists(g, "layer_ranks_by_epoch", H5P_DEFAULT);
    if (H5OK(r, ex, "looking up layer_ranks_by_epoch")) return -1;
    if (!ex) return 0;
    hsize_t dims[3] = {0, 0, 0}, edims[1] = {0};
    if (H5OK(r, d = H5Dopen2(g, "layer_ranks_by_epoch", H5P_DEFAULT), "opening layer_ranks_by_epoch")) goto done;
    if (H5OK(r, sp = H5Dget_space(d), "dataspace")) goto done;
    if (H5Sget_simple_extent_ndims(sp) != 3 || H5Sget_simple_extent_dims(sp, dims, NULL) < 0 || dims[1] != (hsize_t)rd->n_layers ||
        dims[2] != 5 || dims[0] > 100000) {
        rd_fail(r, "layer_ranks_by_epoch is not (epochs, %d layers, 5) (wrong schema)", rd->n_layers);
        goto done;
    }
    if (dims[0] == 0) goto done;
    if (H5OK(r, a = H5Aopen(d, "epoch", H5P_DEFAULT), "layer_ranks_by_epoch has no 'epoch' attribute")) goto done;
    if (H5OK(r, asp = H5Aget_space(a), "attribute space")) goto done;
    if (H5Sget_simple_extent_ndims(asp) != 1 || H5Sget_simple_extent_dims(asp, edims, NULL) < 0 || edims[0] != dims[0]) {
        rd_fail(r, "the 'epoch' attribute of layer_ranks_by_epoch does not have %llu entries", (unsigned long long)dims[0]);
        goto done;
    }
    rd->rank_epochs = mem_alloc((size_t)dims[0] * sizeof(int32_t), MEM_WORKSPACE);
    rd->ranks = mem_alloc((size_t)(dims[0] * dims[1] * 5) * sizeof(int32_t), MEM_WORKSPACE);
    if (H5OK(r, H5Aread(a, H5T_NATIVE_INT32, rd->rank_epochs), "reading the epoch attribute")) goto done;
    if (H5OK(r, H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, rd->ranks), "reading layer_ranks_by_epoch")) goto done;
    rd->n_rank_epochs = (int)dims[0];
done:
    close_id(&asp);
    close_id(&a);
    close_id(&sp);
    close_id(&d);
    return r->failed ? -1 : 0;
}

// An optional per-layer log (subspace, spectrum): absent = no rows; each
// row's int32 layer (at layer_off) must name a row of the layers table, so a
// damaged file cannot index past it.
static int read_layer_log(Rd *r, hid_t g, const ResTable *tb, size_t layer_off, int n_layers, void **rows, int *n) {
    const htri_t has = H5Lexists(g, tb->dataset, H5P_DEFAULT);
    char what[64];
    snprintf(what, sizeof what, "looking up the %s table", tb->dataset);
    if (H5OK(r, has, what)) return -1;
    if (has <= 0) return 0;
    if (read_table(r, g, tb->dataset, res_table_type(tb, NULL), tb->row_size, rows, n)) return -1;
    for (int j = 0; j < *n; j++) {
        int32_t layer;
        memcpy(&layer, (const char *)*rows + (size_t)j * tb->row_size + layer_off, sizeof layer);
        if (layer < 0 || layer >= n_layers) return rd_fail(r, "%s row %d names layer %d of %d (wrong schema)", tb->dataset, j, (int)layer, n_layers);
    }
    return 0;
}

// memory, flops, time, layers (+ rank history) of one run group.
static int read_run(Rd *rp, hid_t runs_g, RunTables *rd) {
    Rd r = *rp;
    hid_t g = -1;
    void *rows = NULL;
    int n = 0;
    for (int i = 0; i <= MEM_NCAT; i++) rd->mem_peak[i] = NAN;
    for (int i = 0; i < PHASE_NCOUNT; i++) rd->flops_ps[i] = rd->sec_ps[i] = rd->joules_ps[i] = NAN;
    if (H5OK(&r, g = H5Gopen2(runs_g, r.run, H5P_DEFAULT), "opening the run group")) goto done;

    if (read_table(&r, g, RES_MEMORY.dataset, res_table_type(&RES_MEMORY, mem_cols), RES_MEMORY.row_size, &rows, &n)) goto done;
    for (int j = 0; j < n; j++) {
        const MemRow *m = (const MemRow *)rows + j;
        for (int c = 0; c <= MEM_NCAT; c++)
            if (!strcmp(m->category, c < MEM_NCAT ? mem_category_name((MemCategory)c) : "total")) rd->mem_peak[c] = (double)m->peak_bytes;
    }
    mem_free(rows);
    rows = NULL;
    const htri_t has_energy = H5Lexists(g, RES_ENERGY.dataset, H5P_DEFAULT);   // optional: runs with a meter
    for (int t = 0; t < 3; t++) {
        if (t == 2 && has_energy <= 0) break;
        double *dst = t == 2 ? rd->joules_ps : t ? rd->sec_ps : rd->flops_ps;
        const ResTable *tb = t == 2 ? &RES_ENERGY : t ? &RES_TIME : &RES_FLOPS;
        const char *const *cols = t == 2 ? energy_cols : t ? time_cols : flops_cols;
        if (read_table(&r, g, tb->dataset, res_table_type(tb, cols), tb->row_size, &rows, &n)) goto done;
        for (int j = 0; j < n; j++) {
            const PhaseRow *ph = (const PhaseRow *)rows + j;
            for (int k = 0; k < PHASE_NCOUNT; k++)
                if (!strcmp(ph->phase, phase_name((Phase)k))) dst[k] = ph->per_step;
        }
        mem_free(rows);
        rows = NULL;
    }
    if (read_table(&r, g, RES_LAYERS.dataset, res_table_type(&RES_LAYERS, NULL), RES_LAYERS.row_size, &rows, &n)) goto done;
    rd->layers = rows;
    rd->n_layers = n;
    rows = NULL;
    for (int l = 0; l < rd->n_layers; l++) rd->layers[l].name[RES_LAYER_NAME_MAX - 1] = 0;
    read_rank_history(&r, g, rd);
    if (r.failed) goto done;
    if (read_layer_log(&r, g, &RES_SUBSPACE, offsetof(SubspaceRow, layer), rd->n_layers, (void **)&rd->subspace, &rd->n_subspace))
        goto done;
    if (read_layer_log(&r, g, &RES_SPECTRUM, offsetof(SpectrumRow, layer), rd->n_layers, (void **)&rd->spectrum, &rd->n_spectrum))
        goto done;
done:
    mem_free(rows);
    close_id(&g);
    rp->failed = r.failed;
    return r.failed ? -1 : 0;
}

int results_read_tables(const char *path, const char *run, RunTables *t, WbError *err) {
    memset(t, 0, sizeof *t);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fapl = -1, f = -1, runs_g = -1;
    int rc = -1;
    Rd r = {path, err, run, 0};
    if (H5OK(&r, fapl = H5Pcreate(H5P_FILE_ACCESS), "file access list")) goto done;
    // Same close degree as results.c: the library refuses to open one file with two.
    if (H5OK(&r, H5Pset_fclose_degree(fapl, H5F_CLOSE_SEMI), "file close degree")) goto done;
    if (H5OK(&r, f = H5Fopen(path, H5F_ACC_RDONLY, fapl), "opening the results file")) goto done;
    if (H5OK(&r, runs_g = H5Gopen2(f, "runs", H5P_DEFAULT), "opening /runs")) goto done;
    if (read_run(&r, runs_g, t)) goto done;
    rc = 0;
done:
    close_id(&runs_g);
    if (f >= 0 && H5Fclose(f) < 0 && rc == 0) rc = wb_error(err, "%s: H5Fclose failed (an object was left open)", path);
    close_id(&fapl);
    if (rc) results_tables_free(t);
    return rc;
}

void results_tables_free(RunTables *t) {
    mem_free(t->layers);
    mem_free(t->rank_epochs);
    mem_free(t->ranks);
    mem_free(t->subspace);
    mem_free(t->spectrum);
    memset(t, 0, sizeof *t);
}
