// results.c: the HDF5 results file (see results.h; the schema is written
// down for readers in results/README.md): writing one run group and reading
// runs back. The HDF5 toolkit and the atomic copy-add-rename are
// results_h5.c's, merging shards results_merge.c's; the run tables are
// results_schema.c's, their reader for figures results_tables.c; `info` is
// results_info.c, the one-writer lock results_lock.c.
#include "experiments/results.h"
#include "experiments/confighash.h"
#include "experiments/results_h5.h"
#include "experiments/results_schema.h"

#include <hdf5.h>

#include <errno.h>
#include <math.h>
#include <sys/stat.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

// ---------------------------------------------------------------------------
// small helpers

static const char *status_names[RUN_NSTATUS] = {"complete", "diverged", "interrupted", "failed", "over_cap"};

const char *run_status_name(RunStatus s) { return (s >= 0 && s < RUN_NSTATUS) ? status_names[s] : "?"; }

int run_status_parse(const char *s, RunStatus *out) {
    for (int i = 0; i < RUN_NSTATUS; i++)
        if (!strcmp(s, status_names[i])) { *out = (RunStatus)i; return 0; }
    return -1;
}

void results_now_iso8601(char buf[32]) {
    time_t t = time(NULL);
    struct tm tmv;
    gmtime_r(&t, &tmv);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tmv);
}

void results_init(RunResult *r) {
    memset(r, 0, sizeof *r);
    const double nan = (double)NAN;
    RunSummary *s = &r->s;
    s->epsilon = nan;
    s->wall_seconds = nan;
    s->final_train_loss = s->final_train_acc = s->final_val_loss = s->final_val_acc = nan;
    s->paper_act_mb = s->paper_weight_mb = s->paper_total_mb = nan;
    s->budget_used_mb = nan;
    s->train_joules_per_step = s->inference_joules_per_batch = nan;
    s->final_test_loss = s->final_test_acc = nan;
    r->inference.mean_s = r->inference.min_s = r->inference.max_s = nan;
    r->config_yaml = "";
}
// Run names are group paths below /runs: non-empty components separated by
// single '/', no "." or "..", printable characters.
static int check_run_name(Ctx *c, const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n >= RES_NAME_MAX) return FAIL(c, "run name '%s' must have 1..%d characters", name, RES_NAME_MAX - 1);
    const char *p = name;
    while (1) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return FAIL(c, "run name '%s': empty, '.' or '..' component (names look like \"stage/run\")", name);
        if (!slash) break;
        p = slash + 1;
    }
    for (const char *q = name; *q; q++)
        if ((unsigned char)*q < 32 || *q == 127) return FAIL(c, "run name '%s' contains a control character", name);
    return 0;
}

// ---------------------------------------------------------------------------
// attributes: one table drives writing and reading the run summary

typedef enum { A_STR, A_F64, A_I32, A_I64, A_U64 } AttrKind;
typedef struct { const char *name; AttrKind kind; size_t off, size; } AttrSpec;
#define SF(field) offsetof(RunSummary, field), sizeof(((RunSummary *)0)->field)
static const AttrSpec SUMMARY[] = {
    {"error", A_STR, SF(error)},
    {"method", A_STR, SF(method)},
    {"epsilon", A_F64, SF(epsilon)},
    {"lora_rank", A_I32, SF(lora_rank)},
    {"budget_mb", A_F64, SF(budget_mb)},
    {"seed", A_U64, SF(seed)},
    {"layers", A_STR, SF(layers)},
    {"num_of_finetune", A_I32, SF(num_of_finetune)},
    {"model", A_STR, SF(model)},
    {"dataset", A_STR, SF(dataset)},
    {"storage", A_STR, SF(storage)},
    {"code_version", A_STR, SF(code_version)},
    {"compiler", A_STR, SF(compiler)},
    {"cflags", A_STR, SF(cflags)},
    {"blas", A_STR, SF(blas)},
    {"threads", A_I32, SF(threads)},
    {"host", A_STR, SF(host)},
    {"start_time", A_STR, SF(start_time)},
    {"end_time", A_STR, SF(end_time)},
    {"wall_seconds", A_F64, SF(wall_seconds)},
    {"final_train_loss", A_F64, SF(final_train_loss)},
    {"final_train_acc", A_F64, SF(final_train_acc)},
    {"final_val_loss", A_F64, SF(final_val_loss)},
    {"final_val_acc", A_F64, SF(final_val_acc)},
    {"paper_act_mb", A_F64, SF(paper_act_mb)},
    {"paper_weight_mb", A_F64, SF(paper_weight_mb)},
    {"paper_total_mb", A_F64, SF(paper_total_mb)},
    {"peak_rss_bytes", A_U64, SF(peak_rss_bytes)},
    {"trainable_params", A_U64, SF(trainable_params)},
    {"peak_tracked_bytes", A_U64, SF(peak_tracked_bytes)},
    {"epochs_done", A_I32, SF(epochs_done)},
    {"steps_done", A_I64, SF(steps_done)},
    {"train_flops_per_step", A_F64, SF(train_flops_per_step)},
    {"train_seconds_per_step", A_F64, SF(train_seconds_per_step)},
};
#define N_SUMMARY ((int)(sizeof SUMMARY / sizeof SUMMARY[0]))

static void kind_types(AttrKind k, hid_t *file_t, hid_t *mem_t) {
    switch (k) {
    case A_F64: *file_t = H5T_IEEE_F64LE; *mem_t = H5T_NATIVE_DOUBLE; break;
    case A_I32: *file_t = H5T_STD_I32LE; *mem_t = H5T_NATIVE_INT32; break;
    case A_I64: *file_t = H5T_STD_I64LE; *mem_t = H5T_NATIVE_INT64; break;
    case A_U64: *file_t = H5T_STD_U64LE; *mem_t = H5T_NATIVE_UINT64; break;
    default: *file_t = *mem_t = -1; break;
    }
}

// ---------------------------------------------------------------------------
// writing one run group

// 1-D dataset of n rows of memory type mt (file type: the same, packed).
int write_table(Ctx *c, hid_t g, const char *name, hid_t mt, long n, const void *rows) {
    hid_t ft = -1, sp = -1, d = -1;
    hsize_t dims[1] = {(hsize_t)n};
    if (H5CK(c, ft = H5Tcopy(mt), "row type") || H5CK(c, H5Tpack(ft), "packing the row type")) goto done;
    if (H5CK(c, sp = H5Screate_simple(1, dims, NULL), "table dataspace")) goto done;
    if (H5CK(c, d = H5Dcreate2(g, name, ft, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "creating a run dataset (disk full?)")) goto done;
    if (n > 0 && H5CK(c, H5Dwrite(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows), "writing a run dataset (disk full?)")) goto done;
done:
    xclose(c, &d);
    xclose(c, &sp);
    xclose(c, &ft);
    return c->failed ? -1 : 0;
}

static int write_typed_table(Ctx *c, hid_t g, const char *name, hid_t mt, long n, const void *rows) {
    if (mt < 0) return -1;
    int rc = write_table(c, g, name, mt, n, rows);
    xclose(c, &mt);
    return c->failed ? -1 : rc;
}

static int write_rank_history(Ctx *c, hid_t g, const RunResult *r) {
    hid_t sp = -1, d = -1, asp = -1, a = -1;
    hsize_t dims[3] = {(hsize_t)r->n_rank_epochs, (hsize_t)r->n_layers, 5};
    hsize_t edims[1] = {(hsize_t)r->n_rank_epochs};
    if (H5CK(c, sp = H5Screate_simple(3, dims, NULL), "rank history dataspace")) goto done;
    if (H5CK(c, d = H5Dcreate2(g, "layer_ranks_by_epoch", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "creating layer_ranks_by_epoch")) goto done;
    if (H5CK(c, H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, r->layer_ranks), "writing layer_ranks_by_epoch")) goto done;
    if (H5CK(c, asp = H5Screate_simple(1, edims, NULL), "epoch attribute dataspace")) goto done;
    if (H5CK(c, a = H5Acreate2(d, "epoch", H5T_STD_I32LE, asp, H5P_DEFAULT, H5P_DEFAULT), "creating the epoch attribute")) goto done;
    if (H5CK(c, H5Awrite(a, H5T_NATIVE_INT32, r->rank_epochs), "writing the epoch attribute")) goto done;
    if (attr_str(c, d, "columns", "weight_rank k1 k2 k3 k4")) goto done;
    attr_str(c, d, "layers", "rows of the 'layers' table, in order");
done:
    xclose(c, &a);
    xclose(c, &asp);
    xclose(c, &d);
    xclose(c, &sp);
    return c->failed ? -1 : 0;
}

static double per(double total, long n) { return n > 0 ? total / (double)n : (double)NAN; }

// Check what the runner handed over before touching any file.
static int check_result(Ctx *c, const RunResult *r) {
    const RunSummary *s = &r->s;
    if (check_run_name(c, s->name)) return -1;
    if (s->status < 0 || s->status >= RUN_NSTATUS) return FAIL(c, "run '%s': bad status %d", s->name, (int)s->status);
    for (int i = 0; i < N_SUMMARY; i++)
        if (SUMMARY[i].kind == A_STR && strnlen((const char *)s + SUMMARY[i].off, SUMMARY[i].size) >= SUMMARY[i].size)
            return FAIL(c, "run '%s': field %s is not NUL-terminated", s->name, SUMMARY[i].name);
    if (!r->config_yaml) return FAIL(c, "run '%s': config_yaml is NULL (the resolved config is required)", s->name);
    if (r->n_epochs < 0 || r->n_steps < 0 || r->n_layers < 0 || r->n_rank_epochs < 0)
        return FAIL(c, "run '%s': negative row count", s->name);
    if ((r->n_epochs && !r->epochs) || (r->n_steps && !r->steps) || (r->n_layers && !r->layers))
        return FAIL(c, "run '%s': a table has rows but a NULL pointer", s->name);
    if (r->n_rank_epochs && (!r->rank_epochs || !r->layer_ranks || r->n_layers == 0))
        return FAIL(c, "run '%s': rank history needs rank_epochs, layer_ranks and layers", s->name);
    if (r->n_subspace < 0 || (r->n_subspace && !r->subspace)) return FAIL(c, "run '%s': subspace log has rows but a NULL pointer", s->name);
    for (int i = 0; i < r->n_subspace; i++)
        if (r->subspace[i].layer < 0 || r->subspace[i].layer >= r->n_layers)
            return FAIL(c, "run '%s': subspace row %d names layer %d of %d", s->name, i, (int)r->subspace[i].layer, r->n_layers);
    if (r->n_spectrum < 0 || (r->n_spectrum && !r->spectrum)) return FAIL(c, "run '%s': spectrum has rows but a NULL pointer", s->name);
    for (int i = 0; i < r->n_spectrum; i++)
        if (r->spectrum[i].layer < 0 || r->spectrum[i].layer >= r->n_layers)
            return FAIL(c, "run '%s': spectrum row %d names layer %d of %d", s->name, i, (int)r->spectrum[i].layer, r->n_layers);
    for (int i = 0; i < r->n_layers; i++)
        if (strnlen(r->layers[i].name, RES_LAYER_NAME_MAX) >= RES_LAYER_NAME_MAX)
            return FAIL(c, "run '%s': layer %d name is not NUL-terminated", s->name, i);
    return 0;
}

// The whole group: attributes, then datasets. Kill points 3..5 sit between parts.
static int write_group(Ctx *c, hid_t g, const RunResult *r) {
    RunSummary s = r->s;  // with the derived fields filled
    const Counters *k = &r->counters;
    double train_flops = counters_train_sum(k->flops, 0), train_sec = counters_train_sum(k->seconds, 1);
    s.paper_total_mb = s.paper_act_mb + s.paper_weight_mb;
    s.peak_tracked_bytes = r->mem.total_peak;
    s.epochs_done = r->n_epochs;
    s.steps_done = r->train_steps;
    s.train_flops_per_step = per(train_flops, r->train_steps);
    s.train_seconds_per_step = per(train_sec, r->train_steps);

    if (attr_str(c, g, "name", s.name) || attr_str(c, g, "status", run_status_name(s.status))) return -1;
    for (int i = 0; i < N_SUMMARY; i++) {
        const AttrSpec *a = &SUMMARY[i];
        const char *field = (const char *)&s + a->off;
        hid_t ft, mt;
        kind_types(a->kind, &ft, &mt);
        int rc = a->kind == A_STR ? attr_str(c, g, a->name, field) : attr_write(c, g, a->name, ft, mt, field);
        if (rc) return -1;
    }
    if (attr_str(c, g, "config_yaml", r->config_yaml)) return -1;
    cfg_hash_hex(cfg_hash_settings(r->config_yaml, CFG_HASH_SEED), s.config_hash);
    if (attr_str(c, g, "config_hash", s.config_hash) || attr_str(c, g, "experiment_hash", s.experiment_hash)) return -1;
    if (attr_write(c, g, "budget_used_mb", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &s.budget_used_mb) ||
        attr_write(c, g, "over_budget", H5T_STD_I32LE, H5T_NATIVE_INT32, &s.over_budget) ||
        attr_write(c, g, "skipped_items", H5T_STD_I32LE, H5T_NATIVE_INT32, &s.skipped_items))
        return -1;
    // Test accuracy only where the run evaluated on the test set (dataset.eval_split)
    if (s.test_items > 0 && (attr_write(c, g, "final_test_loss", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &s.final_test_loss) ||
                             attr_write(c, g, "final_test_acc", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &s.final_test_acc) ||
                             attr_write(c, g, "test_items", H5T_STD_I32LE, H5T_NATIVE_INT32, &s.test_items)))
        return -1;
    if (s.variant[0] && attr_str(c, g, "variant", s.variant)) return -1;   // only off the defaults
    // Energy only where a meter measured it: absent attributes and table mean "not measured".
    if (k->energy) {
        double tj = counters_train_sum(k->joules, 1);
        s.train_joules_per_step = per(tj, r->train_steps);
        s.inference_joules_per_batch = per(k->joules[PHASE_INFERENCE], (long)r->inference.batches);
        if (attr_str(c, g, "energy_source", s.energy_source[0] ? s.energy_source : "unnamed meter") ||
            attr_write(c, g, "train_joules_per_step", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &s.train_joules_per_step) ||
            attr_write(c, g, "inference_joules_per_batch", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &s.inference_joules_per_batch))
            return -1;
    }
    kill_point(3);

    if (write_typed_table(c, g, RES_EPOCHS.dataset, table_type(c, &RES_EPOCHS), r->n_epochs, r->epochs)) return -1;
    if (write_typed_table(c, g, RES_STEPS.dataset, table_type(c, &RES_STEPS), r->n_steps, r->steps)) return -1;
    if (write_typed_table(c, g, RES_LAYERS.dataset, table_type(c, &RES_LAYERS), r->n_layers, r->layers)) return -1;
    kill_point(4);

    MemRow mem[MEM_NCAT + 1];
    memset(mem, 0, sizeof mem);
    for (int i = 0; i < MEM_NCAT; i++) {
        snprintf(mem[i].category, sizeof mem[i].category, "%s", mem_category_name((MemCategory)i));
        mem[i].current_bytes = r->mem.current[i];
        mem[i].peak_bytes = r->mem.peak[i];
    }
    snprintf(mem[MEM_NCAT].category, sizeof mem[MEM_NCAT].category, "total");
    mem[MEM_NCAT].current_bytes = r->mem.total_current;
    mem[MEM_NCAT].peak_bytes = r->mem.total_peak;
    if (write_typed_table(c, g, RES_MEMORY.dataset, table_type(c, &RES_MEMORY), MEM_NCAT + 1, mem)) return -1;

    PhaseRow fl[PHASE_NCOUNT], tm[PHASE_NCOUNT], en[PHASE_NCOUNT];
    memset(fl, 0, sizeof fl);
    memset(tm, 0, sizeof tm);
    memset(en, 0, sizeof en);
    for (int i = 0; i < PHASE_NCOUNT; i++) {
        long n = i == PHASE_INFERENCE ? (long)r->inference.batches : r->train_steps;
        snprintf(fl[i].phase, sizeof fl[i].phase, "%s", phase_name((Phase)i));
        memcpy(tm[i].phase, fl[i].phase, sizeof tm[i].phase);
        fl[i].total = k->flops[i];
        fl[i].per_step = per(k->flops[i], n);
        tm[i].total = k->seconds[i];
        tm[i].per_step = per(k->seconds[i], n);
        fl[i].steps = tm[i].steps = en[i].steps = n;
        memcpy(en[i].phase, fl[i].phase, sizeof en[i].phase);
        en[i].total = k->joules[i];
        en[i].per_step = per(k->joules[i], n);
    }
    if (write_typed_table(c, g, RES_FLOPS.dataset, table_type(c, &RES_FLOPS), PHASE_NCOUNT, fl)) return -1;
    if (write_typed_table(c, g, RES_TIME.dataset, table_type(c, &RES_TIME), PHASE_NCOUNT, tm)) return -1;
    if (k->energy && write_typed_table(c, g, RES_ENERGY.dataset, table_type(c, &RES_ENERGY), PHASE_NCOUNT, en)) return -1;
    if (write_typed_table(c, g, RES_INFERENCE.dataset, table_type(c, &RES_INFERENCE), 1, &r->inference)) return -1;
    if (r->n_rank_epochs > 0 && write_rank_history(c, g, r)) return -1;
    if (r->n_subspace > 0 &&
        write_typed_table(c, g, RES_SUBSPACE.dataset, table_type(c, &RES_SUBSPACE), r->n_subspace, r->subspace))
        return -1;
    if (r->n_spectrum > 0 &&
        write_typed_table(c, g, RES_SPECTRUM.dataset, table_type(c, &RES_SPECTRUM), r->n_spectrum, r->spectrum))
        return -1;
    kill_point(5);
    return c->failed ? -1 : 0;
}

int results_write_run(const char *path, const RunResult *r, WbError *err) {
    Ctx c = {err, path, 0};
    char tmp[4096];
    hid_t fapl = -1, f = -1, runs = -1, parent = -1, old = -1, g = -1;
    const char *leaf = NULL;
    int made_tmp = 0;
    h5_quiet();
    if (check_result(&c, r) || path_with(&c, tmp, sizeof tmp, ".tmp") || remove_stale(&c, tmp)) return -1;
    struct stat st;
    int exists = stat(path, &st) == 0;
    if (!exists && errno != ENOENT) return FAIL(&c, "cannot stat: %s", strerror(errno));
    if ((fapl = new_fapl(&c)) < 0) goto done;
    made_tmp = 1;
    if (exists) {
        if (copy_file(&c, path, tmp)) goto done;
        kill_point(2);
        if ((f = open_results_file(&c, tmp, H5F_ACC_RDWR, fapl)) < 0) goto done;
    } else if ((f = create_results_file(&c, tmp, fapl)) < 0) {
        goto done;
    }
    if (H5CK(&c, runs = H5Gopen2(f, "runs", H5P_DEFAULT), "opening /runs")) goto done;
    if (open_parent(&c, runs, r->s.name, 1, &parent, &leaf)) goto done;
    htri_t ex = H5Lexists(parent, leaf, H5P_DEFAULT);
    if (H5CK(&c, ex, "looking up the run")) goto done;
    if (ex) {
        // An earlier attempt of this run: a complete one is never rewritten; others are replaced.
        char status[32] = "";
        if (H5CK(&c, old = H5Oopen(parent, leaf, H5P_DEFAULT), "opening the existing run")) goto done;
        int isr = H5Iget_type(old) == H5I_GROUP ? is_run(&c, old) : 0;
        if (isr < 0) goto done;
        if (!isr) { FAIL(&c, "'%s' exists and is not a run (run names must not be prefixes of each other)", r->s.name); goto done; }
        if (attr_read_str(&c, old, "existing run", "status", status, sizeof status)) goto done;
        xclose(&c, &old);
        if (!strcmp(status, "complete") && !r->replace_complete) {
            FAIL(&c, "run '%s' is already complete in this file; a finished run is never rewritten (resume skips it)", r->s.name);
            goto done;
        }
        if (H5CK(&c, H5Ldelete(parent, leaf, H5P_DEFAULT), "removing the earlier unfinished attempt")) goto done;
    }
    if (H5CK(&c, g = H5Gcreate2(parent, leaf, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "creating the run group")) goto done;
    if (write_group(&c, g, r)) goto done;
    xclose(&c, &g);
    xclose(&c, &parent);
    xclose(&c, &runs);
    if (!c.failed && H5CK(&c, H5Fflush(f, H5F_SCOPE_GLOBAL), "flushing (disk full?)")) goto done;
    xclose(&c, &f);
    if (c.failed) goto done;
    kill_point(6);
    if (commit_tmp(&c, tmp)) goto done;
    made_tmp = 0;
done:
    xclose(&c, &old);
    xclose(&c, &g);
    xclose(&c, &parent);
    xclose(&c, &runs);
    xclose(&c, &f);
    xclose(&c, &fapl);
    if (c.failed && made_tmp) unlink(tmp);  // path itself was never touched
    return c.failed ? -1 : 0;
}

// ---------------------------------------------------------------------------
// reading

// Attributes newer than schema version 1 (files written before them still
// read): config_hash (else the hash of the stored config_yaml),
// experiment_hash (else ""), budget_used_mb (else NaN), over_budget (else 0),
// skipped_items (else -1), variant (else ""), final_test_loss/acc and test_items (else NaN, 0), energy_source (else ""), train_joules_per_step and
// inference_joules_per_batch (else NaN: also in new files without a meter).
static int read_optional(Ctx *c, hid_t g, const char *what, RunSummary *s) {
    htri_t has = H5Aexists(g, "config_hash");
    if (H5CK(c, has, "reading attributes")) return -1;
    if (has) {
        if (attr_read_str(c, g, what, "config_hash", s->config_hash, sizeof s->config_hash)) return -1;
    } else {
        char *y;
        if (attr_read_text(c, g, what, "config_yaml", &y)) return -1;
        cfg_hash_hex(cfg_hash_settings(y, CFG_HASH_SEED), s->config_hash);
        mem_free(y);
    }
    if (H5CK(c, has = H5Aexists(g, "experiment_hash"), "reading attributes")) return -1;
    if (has && attr_read_str(c, g, what, "experiment_hash", s->experiment_hash, sizeof s->experiment_hash)) return -1;
    s->budget_used_mb = (double)NAN;
    if (H5CK(c, has = H5Aexists(g, "budget_used_mb"), "reading attributes")) return -1;
    if (has && attr_read_num(c, g, what, "budget_used_mb", H5T_NATIVE_DOUBLE, &s->budget_used_mb)) return -1;
    if (H5CK(c, has = H5Aexists(g, "over_budget"), "reading attributes")) return -1;
    if (has && attr_read_num(c, g, what, "over_budget", H5T_NATIVE_INT32, &s->over_budget)) return -1;
    s->skipped_items = -1;
    if (H5CK(c, has = H5Aexists(g, "skipped_items"), "reading attributes")) return -1;
    if (has && attr_read_num(c, g, what, "skipped_items", H5T_NATIVE_INT32, &s->skipped_items)) return -1;
    if (H5CK(c, has = H5Aexists(g, "variant"), "reading attributes")) return -1;
    if (has && attr_read_str(c, g, what, "variant", s->variant, sizeof s->variant)) return -1;
    s->final_test_loss = s->final_test_acc = (double)NAN;
    s->test_items = 0;
    if (H5CK(c, has = H5Aexists(g, "test_items"), "reading attributes")) return -1;
    if (has && (attr_read_num(c, g, what, "test_items", H5T_NATIVE_INT32, &s->test_items) ||
                attr_read_num(c, g, what, "final_test_loss", H5T_NATIVE_DOUBLE, &s->final_test_loss) ||
                attr_read_num(c, g, what, "final_test_acc", H5T_NATIVE_DOUBLE, &s->final_test_acc)))
        return -1;
    s->train_joules_per_step = s->inference_joules_per_batch = (double)NAN;
    if (H5CK(c, has = H5Aexists(g, "energy_source"), "reading attributes")) return -1;
    if (has && attr_read_str(c, g, what, "energy_source", s->energy_source, sizeof s->energy_source)) return -1;
    if (H5CK(c, has = H5Aexists(g, "train_joules_per_step"), "reading attributes")) return -1;
    if (has && attr_read_num(c, g, what, "train_joules_per_step", H5T_NATIVE_DOUBLE, &s->train_joules_per_step)) return -1;
    if (H5CK(c, has = H5Aexists(g, "inference_joules_per_batch"), "reading attributes")) return -1;
    if (has && attr_read_num(c, g, what, "inference_joules_per_batch", H5T_NATIVE_DOUBLE, &s->inference_joules_per_batch)) return -1;
    return 0;
}

static int read_summary(Ctx *c, hid_t g, const char *name, RunSummary *s) {
    char status[32], what[RES_NAME_MAX + 8];
    snprintf(what, sizeof what, "run '%s'", name);
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    if (attr_read_str(c, g, what, "status", status, sizeof status)) return -1;
    if (run_status_parse(status, &s->status)) return FAIL(c, "run '%s': unknown status '%s'", name, status);
    for (int i = 0; i < N_SUMMARY; i++) {
        const AttrSpec *a = &SUMMARY[i];
        char *field = (char *)s + a->off;
        hid_t ft, mt;
        kind_types(a->kind, &ft, &mt);
        int rc = a->kind == A_STR ? attr_read_str(c, g, what, a->name, field, a->size) : attr_read_num(c, g, what, a->name, mt, field);
        if (rc) return -1;
    }
    return read_optional(c, g, what, s);
}

static void list_push(RunList *l, int *cap, const RunSummary *s) {
    if (l->n == *cap) {
        *cap = *cap ? 2 * *cap : 16;
        l->runs = l->runs ? mem_realloc(l->runs, (size_t)*cap * sizeof(RunSummary)) : mem_alloc((size_t)*cap * sizeof(RunSummary), MEM_WORKSPACE);
    }
    l->runs[l->n++] = *s;
}

// Walk group g (path prefix) in creation order; run groups are leaves.
static int collect(Ctx *c, hid_t g, const char *prefix, int depth, RunList *l, int *cap) {
    hid_t gcpl = -1, child = -1;
    unsigned order = 0;
    H5G_info_t info;
    if (depth > 32) return FAIL(c, "groups under /runs nest deeper than 32 levels (wrong schema)");
    if (H5CK(c, gcpl = H5Gget_create_plist(g), "group properties") || H5CK(c, H5Pget_link_creation_order(gcpl, &order), "group properties")) goto done;
    xclose(c, &gcpl);
    H5_index_t idx = (order & H5P_CRT_ORDER_INDEXED) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
    if (H5CK(c, H5Gget_info(g, &info), "group info")) goto done;
    for (hsize_t i = 0; i < info.nlinks; i++) {
        char leaf[RES_NAME_MAX], name[RES_NAME_MAX];
        ssize_t len = H5Lget_name_by_idx(g, ".", idx, H5_ITER_INC, i, leaf, sizeof leaf, H5P_DEFAULT);
        if (H5CK(c, len, "reading a link name")) goto done;
        if ((size_t)len >= sizeof leaf || (size_t)snprintf(name, sizeof name, "%s%s%s", prefix, prefix[0] ? "/" : "", leaf) >= sizeof name) {
            FAIL(c, "a run name under /runs/%s is longer than %d characters", prefix, RES_NAME_MAX - 1);
            goto done;
        }
        if (H5CK(c, child = H5Oopen(g, leaf, H5P_DEFAULT), "opening a run group")) goto done;
        if (H5Iget_type(child) != H5I_GROUP) { FAIL(c, "/runs/%s is not a group (wrong schema)", name); goto done; }
        int r = is_run(c, child);
        if (r < 0) goto done;
        if (r) {
            RunSummary s;
            if (read_summary(c, child, name, &s)) goto done;
            list_push(l, cap, &s);
        } else if (collect(c, child, name, depth + 1, l, cap)) {
            goto done;
        }
        xclose(c, &child);
    }
done:
    xclose(c, &child);
    xclose(c, &gcpl);
    return c->failed ? -1 : 0;
}

int list_open(Ctx *c, hid_t f, RunList *out) {
    hid_t runs = -1;
    int cap = 0;
    if (!H5CK(c, runs = H5Gopen2(f, "runs", H5P_DEFAULT), "opening /runs")) collect(c, runs, "", 0, out, &cap);
    xclose(c, &runs);
    return c->failed ? -1 : 0;
}

void results_list_free(RunList *l) {
    mem_free(l->runs);
    l->runs = NULL;
    l->n = 0;
}

int results_list(const char *path, RunList *out, WbError *err) {
    Ctx c = {err, path, 0};
    hid_t fapl = -1, f = -1;
    out->n = 0;
    out->runs = NULL;
    h5_quiet();
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT) return 0;
        return FAIL(&c, "cannot stat: %s", strerror(errno));
    }
    if ((fapl = new_fapl(&c)) >= 0 && (f = open_results_file(&c, path, H5F_ACC_RDONLY, fapl)) >= 0) list_open(&c, f, out);
    xclose(&c, &f);
    xclose(&c, &fapl);
    if (c.failed) results_list_free(out);
    return c.failed ? -1 : 0;
}

const RunSummary *results_find(const RunList *l, const char *name) {
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->runs[i].name, name)) return &l->runs[i];
    return NULL;
}

// The group of one run, read-only: h holds the ids to close (run_close).
typedef struct { hid_t fapl, f, runs, parent, g; } RunHandles;

static void run_close(Ctx *c, RunHandles *h) {
    xclose(c, &h->g);
    xclose(c, &h->parent);
    xclose(c, &h->runs);
    xclose(c, &h->f);
    xclose(c, &h->fapl);
}

static int run_open(Ctx *c, const char *path, const char *run, RunHandles *h) {
    const char *leaf = NULL;
    *h = (RunHandles){-1, -1, -1, -1, -1};
    h5_quiet();
    if (check_run_name(c, run)) return -1;
    if (access(path, F_OK) != 0) return FAIL(c, "cannot read: %s", strerror(errno));
    if ((h->fapl = new_fapl(c)) < 0 || (h->f = open_results_file(c, path, H5F_ACC_RDONLY, h->fapl)) < 0) return -1;
    if (H5CK(c, h->runs = H5Gopen2(h->f, "runs", H5P_DEFAULT), "opening /runs") || open_parent(c, h->runs, run, 0, &h->parent, &leaf)) return -1;
    htri_t ex = h->parent < 0 ? 0 : H5Lexists(h->parent, leaf, H5P_DEFAULT);
    if (H5CK(c, ex, "looking up the run")) return -1;
    if (!ex) return FAIL(c, "no run '%s' in this file (wasibench info lists them)", run);
    if (H5CK(c, h->g = H5Gopen2(h->parent, leaf, H5P_DEFAULT), "opening the run group")) return -1;
    return 0;
}

int results_read_config(const char *path, const char *run, char **yaml, WbError *err) {
    Ctx c = {err, path, 0};
    RunHandles h;
    char what[RES_NAME_MAX + 8];
    snprintf(what, sizeof what, "run '%s'", run);
    *yaml = NULL;
    if (run_open(&c, path, run, &h) == 0) attr_read_text(&c, h.g, what, "config_yaml", yaml);
    run_close(&c, &h);
    if (c.failed) { mem_free(*yaml); *yaml = NULL; }
    return c.failed ? -1 : 0;
}

int results_read_epochs(const char *path, const char *run, EpochRow **rows, int *n, WbError *err) {
    Ctx c = {err, path, 0};
    RunHandles h;
    hid_t d = -1, sp = -1, mt = -1;
    *rows = NULL;
    *n = 0;
    if (run_open(&c, path, run, &h)) goto done;
    if (H5CK(&c, d = H5Dopen2(h.g, "epochs", H5P_DEFAULT), "run without an 'epochs' table (wrong schema)")) goto done;
    if (H5CK(&c, sp = H5Dget_space(d), "epochs dataspace")) goto done;
    hsize_t dims[1] = {0};
    if (H5Sget_simple_extent_ndims(sp) != 1) { FAIL(&c, "run '%s': 'epochs' is not 1-D (wrong schema)", run); goto done; }
    if (H5CK(&c, H5Sget_simple_extent_dims(sp, dims, NULL), "epochs dataspace")) goto done;
    // Reliability fix (found by tests/fuzz/fuzz_results.c): the row count was
    // trusted, so a damaged table claiming 2^31 rows made mem_alloc die (out of
    // memory). One row per epoch: more than the config allows (10^6) is corrupt.
    if (dims[0] > 1000000) { FAIL(&c, "run '%s': 'epochs' has %llu rows (corrupt? at most 1000000 epochs)", run, (unsigned long long)dims[0]); goto done; }
    if (dims[0] > 0) {
        if ((mt = table_type(&c, &RES_EPOCHS)) < 0) goto done;
        EpochRow *e = mem_alloc((size_t)dims[0] * sizeof(EpochRow), MEM_WORKSPACE);
        if (H5CK(&c, H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, e), "reading 'epochs' (fields missing? wrong schema)")) {
            mem_free(e);
            goto done;
        }
        *rows = e;
        *n = (int)dims[0];
    }
done:
    xclose(&c, &mt);
    xclose(&c, &sp);
    xclose(&c, &d);
    run_close(&c, &h);
    if (c.failed) { mem_free(*rows); *rows = NULL; *n = 0; }
    return c.failed ? -1 : 0;
}
