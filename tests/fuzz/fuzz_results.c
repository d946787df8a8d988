// fuzz_results.c: libFuzzer target for the HDF5 results readers behind
// `wasibench info`, `plot` and `merge` (experiments/results.c, plot.c).
// Each input yields a results file, then every reader must return 0 or -1
// with a message: results_list, results_read_epochs of every listed run,
// results_print_info (to /dev/null), plot_results (data export only: the
// gnuplot scripts are looked up in an empty folder, nothing is rendered) and
// results_merge into a new file. Everything is written inside the fuzzer's
// temporary folder.
//
// Two modes:
//   structured (default, what CI runs): the input is an edit script applied
//     with the HDF5 API to a valid file of three runs (written at start-up
//     by results_write_run): delete or retype attributes and tables, write
//     arbitrary bytes into table rows and attributes, give datasets absurd
//     shapes, rename and nest groups. The file stays valid HDF5, so what is
//     tested is our reading of hostile content.
//   raw (WB_FUZZ_RAW=1): the input is the file's bytes. This mostly tests
//     libhdf5's own parser: Debian's libhdf5 1.10.8 hangs or allocates GBs on
//     some corrupt metadata (tests/README.md lists what was found and which
//     cases results.c now refuses before HDF5 sees them), so raw fuzzing is
//     for exploration; its regression inputs run in CI.
// Seeds: WB_FUZZ_SEEDS=DIR ./fuzz_results writes edit scripts to DIR;
// WB_FUZZ_SEEDS=DIR WB_FUZZ_RAW=1 writes results files.
#include "experiments/plot.h"
#include "experiments/results.h"
#include "experiments/table.h"
#include "core/data/image.h"
#include "tests/fuzz/fuzz.h"

#include <float.h>
#include <hdf5.h>
#include <math.h>

static FILE *g_null;

// A small but complete RunResult: every table of the schema has rows.
static void add_run(const char *path, const char *name, RunStatus status, int n_epochs, const char *method) {
    RunResult r;
    results_init(&r);
    snprintf(r.s.name, sizeof r.s.name, "%s", name);
    r.s.status = status;
    if (status != RUN_COMPLETE) snprintf(r.s.error, sizeof r.s.error, "NaN loss at epoch %d step 3", n_epochs);
    snprintf(r.s.method, sizeof r.s.method, "%s", method);
    r.s.epsilon = strcmp(method, "vanilla") ? 0.7 : (double)NAN;
    r.s.seed = 233;
    snprintf(r.s.layers, sizeof r.s.layers, "mlp");
    r.s.num_of_finetune = -1;
    snprintf(r.s.model, sizeof r.s.model, "vit_micro");
    snprintf(r.s.dataset, sizeof r.s.dataset, "mnist");
    if (!strcmp(method, "wasi")) snprintf(r.s.storage, sizeof r.s.storage, "dense");
    snprintf(r.s.code_version, sizeof r.s.code_version, "fuzz-seed");
    snprintf(r.s.host, sizeof r.s.host, "seed");
    snprintf(r.s.start_time, sizeof r.s.start_time, "2025-01-01T00:00:00Z");
    snprintf(r.s.end_time, sizeof r.s.end_time, "2025-01-01T00:01:00Z");
    r.s.threads = 2;
    r.s.wall_seconds = 61.5;
    r.s.final_train_loss = 0.5; r.s.final_train_acc = 0.8; r.s.final_val_loss = 0.6; r.s.final_val_acc = 0.75;
    r.s.paper_act_mb = 1.5; r.s.paper_weight_mb = 0.25;
    r.s.peak_rss_bytes = 1 << 20;
    r.s.trainable_params = 1000;
    r.config_yaml = "experiment: seed\nmodel: {preset: vit_micro}\n";
    EpochRow ep[3];
    for (int e = 0; e < 3; e++) ep[e] = (EpochRow){e + 1, 1.0 / (e + 1), 0.5, 1.1 / (e + 1), 0.4, 0.01, 2.0};
    StepRow st[4];
    for (int s = 0; s < 4; s++) st[s] = (StepRow){s + 1, 1 + s / 2, 2.0 - 0.1 * s, 0.01};
    LayerRow ly[2];
    memset(ly, 0, sizeof ly);
    for (int l = 0; l < 2; l++) {
        snprintf(ly[l].name, sizeof ly[l].name, "encoder.layers.encoder_layer_0.mlp.%d", l ? 3 : 0);
        ly[l].in_features = l ? 128 : 64; ly[l].out_features = l ? 64 : 128;
        ly[l].weight_rank = 8; ly[l].act_ranks[0] = 4; ly[l].act_ranks[1] = 5; ly[l].act_ranks[2] = 6;
        ly[l].paper_act_mb = 0.5; ly[l].paper_weight_mb = 0.1;
    }
    int32_t rank_epochs[3] = {1, 2, 3}, ranks[3 * 2 * 5];
    for (int i = 0; i < 30; i++) ranks[i] = i % 7 + 1;
    r.epochs = ep; r.n_epochs = n_epochs;
    r.steps = st; r.n_steps = 4;
    r.layers = ly; r.n_layers = 2;
    r.rank_epochs = rank_epochs; r.layer_ranks = ranks; r.n_rank_epochs = n_epochs;
    // the optional subspace table and test-split attributes (wasi only; the
    // name lists above are left as they were so the regression scripts keep their meaning)
    SubspaceRow sub[4 * 2];
    for (int i = 0; i < 8; i++) sub[i] = (SubspaceRow){i / 2, i % 2, 6 + i % 3, 8, 0.05 * (i / 2)};
    // and the optional spectrum table: 2 layers x modes (4, 3, 5)
    SpectrumRow spec[2 * 12];
    for (int i = 0; i < 24; i++) {
        int l = i / 12, j = i % 12, m = j < 4 ? 0 : j < 7 ? 1 : 2, d = m == 0 ? 4 : m == 1 ? 3 : 5, k = j - (m == 0 ? 0 : m == 1 ? 4 : 7);
        spec[i] = (SpectrumRow){l, m, d, k + 1, 1.0 / (k + 1), (k + 1.0) / d};
    }
    if (!strcmp(method, "wasi")) {
        r.spectrum = spec; r.n_spectrum = 24;
        r.subspace = sub; r.n_subspace = 2 * (n_epochs + 1);
        r.s.test_items = 100; r.s.final_test_loss = 0.7; r.s.final_test_acc = 0.7;
    }
    r.mem = mem_stats();
    r.counters = counters_get();
    r.train_steps = 4;
    r.inference = (InferenceStats){3, 8, 0.01, 0.005, 0.02};
    WbError err;
    if (results_write_run(path, &r, &err) < 0) { fprintf(stderr, "%s\n", err.msg); exit(1); }
}

// The base file of the structured mode: a plain run and two staged ones.
static void write_base(const char *p) {
    unlink(p);
    add_run(p, "wasi-eps0.7-seed233", RUN_COMPLETE, 3, "wasi");
    add_run(p, "finetune/hosvd-eps0.7-seed233", RUN_DIVERGED, 1, "hosvd");
    add_run(p, "finetune/vanilla-seed233", RUN_COMPLETE, 2, "vanilla");
}

// ---------------------------------------------------------------------------
// structured mode: an edit script over the base file

typedef struct { const uint8_t *p; size_t n; } In;
static unsigned in_u8(In *in) {
    if (!in->n) return 0;
    in->n--;
    return *in->p++;
}
static uint64_t in_u64(In *in) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | in_u8(in);
    return v;
}
// Interesting sizes: row counts and dimensions.
static hsize_t in_dim(In *in) {
    static const hsize_t d[] = {0, 1, 2, 3, 5, 7, 100, 1u << 20, (hsize_t)1 << 31, (hsize_t)1 << 40};
    return d[in_u8(in) % (sizeof d / sizeof d[0])];
}
static double in_f64(In *in) {
    static const double special[] = {0.0, -0.0, 1.0, -1.0, 0.5, 1e300, -1e300, DBL_MAX, -DBL_MAX, DBL_MIN, 1e-310, 3e9, -3e9, 1e19, 1e20};
    unsigned k = in_u8(in);
    if (k < 3) return k == 0 ? (double)NAN : k == 1 ? (double)INFINITY : -(double)INFINITY;
    if (k < 3 + sizeof special / sizeof special[0]) return special[k - 3];
    uint64_t bits = in_u64(in);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}
// Up to max bytes (any values: NUL, control characters, invalid UTF-8).
static size_t in_str(In *in, char *dst, size_t max) {
    size_t n = in_u8(in) % (max + 1), k = 0;
    for (; k < n && in->n; k++) dst[k] = (char)in_u8(in);
    dst[k] = 0;
    return k;
}

static const char *const g_objects[] = {
    "/", "/runs", "/runs/wasi-eps0.7-seed233", "/runs/finetune", "/runs/finetune/hosvd-eps0.7-seed233",
    "/runs/finetune/vanilla-seed233",
};
#define N_OBJECTS (sizeof g_objects / sizeof g_objects[0])
static const char *const g_runs[] = {"/runs/wasi-eps0.7-seed233", "/runs/finetune/hosvd-eps0.7-seed233", "/runs/finetune/vanilla-seed233"};
static const char *const g_attrs[] = {
    "schema", "schema_version", "status", "name", "error", "method", "epsilon", "lora_rank", "budget_mb", "seed", "layers",
    "num_of_finetune", "model", "dataset", "storage", "code_version", "compiler", "cflags", "blas", "threads", "host",
    "start_time", "end_time", "wall_seconds", "final_train_loss", "final_train_acc", "final_val_loss", "final_val_acc",
    "paper_act_mb", "paper_weight_mb", "paper_total_mb", "peak_rss_bytes", "trainable_params", "peak_tracked_bytes",
    "epochs_done", "steps_done", "train_flops_per_step", "train_seconds_per_step", "config_yaml", "epoch", "columns",
};
#define N_ATTRS (sizeof g_attrs / sizeof g_attrs[0])
static const char *const g_tables[] = {"epochs", "steps", "layers", "memory", "flops", "time", "inference", "layer_ranks_by_epoch"};
#define N_TABLES (sizeof g_tables / sizeof g_tables[0])

// obj/attr := a value of a type picked by the input (the old one deleted).
static void op_set_attr(hid_t f, In *in) {
    const char *obj = g_objects[in_u8(in) % N_OBJECTS];
    char attr[64];
    if (in_u8(in) % 8 == 0) in_str(in, attr, 20);
    else snprintf(attr, sizeof attr, "%s", g_attrs[in_u8(in) % N_ATTRS]);
    if (!attr[0]) return;
    hid_t o = H5Oopen(f, obj, H5P_DEFAULT);
    if (o < 0) return;
    if (H5Aexists(o, attr) > 0) H5Adelete(o, attr);
    hid_t sp = -1, t = -1, a = -1;
    char str[300];
    unsigned kind = in_u8(in) % 9;
    if (kind == 7) {   // a 1-D array of doubles
        hsize_t d = in_u8(in) % 4;
        double v[3] = {in_f64(in), in_f64(in), in_f64(in)};
        sp = H5Screate_simple(1, &d, NULL);
        a = H5Acreate2(o, attr, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
        if (a >= 0 && d) H5Awrite(a, H5T_NATIVE_DOUBLE, v);
    } else if (kind == 8) {   // no value at all (null dataspace)
        sp = H5Screate(H5S_NULL);
        a = H5Acreate2(o, attr, H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    } else {
        sp = H5Screate(H5S_SCALAR);
        if (kind <= 1) {   // variable-length string (UTF-8 or ASCII)
            in_str(in, str, 255);
            const char *v = str;
            t = H5Tcopy(H5T_C_S1);
            H5Tset_size(t, H5T_VARIABLE);
            if (kind) H5Tset_cset(t, H5T_CSET_UTF8);
            a = H5Acreate2(o, attr, t, sp, H5P_DEFAULT, H5P_DEFAULT);
            if (a >= 0) H5Awrite(a, t, &v);
        } else if (kind == 2) {   // fixed-length string, maybe not NUL-terminated
            size_t n = in_str(in, str, 255);
            t = H5Tcopy(H5T_C_S1);
            H5Tset_size(t, n ? n : 1);
            H5Tset_strpad(t, in_u8(in) & 1 ? H5T_STR_NULLPAD : H5T_STR_SPACEPAD);
            a = H5Acreate2(o, attr, t, sp, H5P_DEFAULT, H5P_DEFAULT);
            if (a >= 0) H5Awrite(a, t, str);
        } else if (kind == 3) {
            double v = in_f64(in);
            a = H5Acreate2(o, attr, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
            if (a >= 0) H5Awrite(a, H5T_NATIVE_DOUBLE, &v);
        } else if (kind == 4) {
            int32_t v = (int32_t)(uint32_t)in_u64(in);
            a = H5Acreate2(o, attr, H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT);
            if (a >= 0) H5Awrite(a, H5T_NATIVE_INT32, &v);
        } else if (kind == 5) {
            uint64_t v = in_u64(in);
            a = H5Acreate2(o, attr, H5T_STD_U64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
            if (a >= 0) H5Awrite(a, H5T_NATIVE_UINT64, &v);
        } else {   // 6: a status / schema-like value from a short list
            static const char *const words[] = {"complete", "diverged", "interrupted", "failed", "wasibench-results", "", "vanilla",
                                                "lora", "hosvd", "asi", "wasi", "mlp", "all_linear", "dense", "factored"};
            const char *v = words[in_u8(in) % (sizeof words / sizeof words[0])];
            t = H5Tcopy(H5T_C_S1);
            H5Tset_size(t, H5T_VARIABLE);
            a = H5Acreate2(o, attr, t, sp, H5P_DEFAULT, H5P_DEFAULT);
            if (a >= 0) H5Awrite(a, t, &v);
        }
    }
    if (a >= 0) H5Aclose(a);
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    H5Oclose(o);
}

static void op_delete_attr(hid_t f, In *in) {
    hid_t o = H5Oopen(f, g_objects[in_u8(in) % N_OBJECTS], H5P_DEFAULT);
    if (o < 0) return;
    const char *attr = g_attrs[in_u8(in) % N_ATTRS];
    if (H5Aexists(o, attr) > 0) H5Adelete(o, attr);
    H5Oclose(o);
}

// Overwrite the rows of a table (up to 4 KB) with input bytes, in its own type.
static void op_scribble_table(hid_t f, In *in) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", g_runs[in_u8(in) % 3], g_tables[in_u8(in) % N_TABLES]);
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    if (d < 0) return;
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    size_t sz = H5Tget_size(t), bytes = np > 0 ? (size_t)np * sz : 0;
    if (t >= 0 && sp >= 0 && bytes > 0 && bytes <= 4096 && H5Tdetect_class(t, H5T_VLEN) <= 0 && H5Tis_variable_str(t) <= 0) {
        static uint8_t buf[4096];
        for (size_t i = 0; i < bytes; i++) buf[i] = (uint8_t)in_u8(in);
        H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    }
    H5Sclose(sp);
    H5Tclose(t);
    H5Dclose(d);
}

// Replace a table by a dataset of another shape or type (rows never written:
// reading them gives fill values, however many the shape claims).
static void op_replace_table(hid_t f, In *in) {
    const char *run = g_runs[in_u8(in) % 3], *table = g_tables[in_u8(in) % N_TABLES];
    hid_t g = H5Gopen2(f, run, H5P_DEFAULT);
    if (g < 0) return;
    hid_t old = H5Dopen2(g, table, H5P_DEFAULT), ot = old >= 0 ? H5Dget_type(old) : -1, t = -1;
    if (old >= 0) H5Dclose(old);
    unsigned kind = in_u8(in) % 5, rank = 1;
    hsize_t dims[3] = {in_dim(in), 1, 1};
    if (kind == 0 && ot >= 0 && H5Tget_class(ot) == H5T_COMPOUND) {   // the same row type minus some fields
        int nm = H5Tget_nmembers(ot), keep = nm > 0 ? (int)(in_u8(in) % (unsigned)nm) : 0;
        t = H5Tcreate(H5T_COMPOUND, H5Tget_size(ot));
        for (int m = 0; m < nm; m++) {
            if (m == keep) continue;   // drop one member
            char *name = H5Tget_member_name(ot, (unsigned)m);
            hid_t mt = H5Tget_member_type(ot, (unsigned)m);
            H5Tinsert(t, name, H5Tget_member_offset(ot, (unsigned)m), mt);
            H5Tclose(mt);
            H5free_memory(name);
        }
    } else if (kind == 1 && ot >= 0) {   // the same type, another shape
        t = H5Tcopy(ot);
        rank = 1 + in_u8(in) % 3;
        dims[1] = in_dim(in); dims[2] = in_u8(in) % 2 ? 5 : in_dim(in);
    } else if (kind == 2) {
        t = H5Tcopy(H5T_STD_I32LE);
        rank = 1 + in_u8(in) % 3;
        dims[1] = in_dim(in); dims[2] = in_u8(in) % 2 ? 5 : in_dim(in);
    } else if (kind == 3) {
        t = H5Tcopy(H5T_IEEE_F64LE);
        rank = 0;   // scalar
    } else {
        t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, 1 + in_u8(in) % 32);
    }
    if (ot >= 0) H5Tclose(ot);
    H5Ldelete(g, table, H5P_DEFAULT);
    hid_t sp = rank ? H5Screate_simple((int)rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t d = sp >= 0 && t >= 0 ? H5Dcreate2(g, table, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
    if (d >= 0 && !strcmp(table, "layer_ranks_by_epoch") && in_u8(in) % 2) {   // its 'epoch' attribute, any length
        hsize_t e = in_dim(in) % 4096;
        hid_t asp = H5Screate_simple(1, &e, NULL), a = H5Acreate2(d, "epoch", H5T_STD_I32LE, asp, H5P_DEFAULT, H5P_DEFAULT);
        if (a >= 0) H5Aclose(a);
        if (asp >= 0) H5Sclose(asp);
    }
    if (d >= 0) H5Dclose(d);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    H5Gclose(g);
}

// Delete a table or a group, rename one, or add an object under /runs.
static void op_links(hid_t f, In *in) {
    char name[80], path[200];
    unsigned kind = in_u8(in) % 5;
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    if (kind == 0) {
        snprintf(path, sizeof path, "%s/%s", g_runs[in_u8(in) % 3], g_tables[in_u8(in) % N_TABLES]);
        H5Ldelete(f, path, H5P_DEFAULT);
    } else if (kind == 1) {
        H5Ldelete(f, g_objects[1 + in_u8(in) % (N_OBJECTS - 1)], H5P_DEFAULT);
    } else if (kind == 2) {   // move a run to a name from the input (nesting under another run, odd characters)
        in_str(in, name, 60);
        snprintf(path, sizeof path, "/runs/%s", name);
        H5Lmove(f, g_runs[in_u8(in) % 3], f, path, lcpl, H5P_DEFAULT);
    } else if (kind == 3) {   // a dataset or a group where a run or stage is expected
        in_str(in, name, 60);
        snprintf(path, sizeof path, "/runs/%s", name);
        if (in_u8(in) % 2) {
            hid_t g = H5Gcreate2(f, path, lcpl, H5P_DEFAULT, H5P_DEFAULT);
            if (g >= 0) H5Gclose(g);
        } else {
            hid_t sp = H5Screate(H5S_SCALAR), d = H5Dcreate2(f, path, H5T_STD_I32LE, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
            if (d >= 0) H5Dclose(d);
            H5Sclose(sp);
        }
    } else {   // a soft link (maybe dangling, maybe a cycle) under /runs
        in_str(in, name, 60);
        snprintf(path, sizeof path, "/runs/%s", name[0] ? name : "link");
        H5Lcreate_soft(in_u8(in) % 2 ? "/runs" : g_runs[in_u8(in) % 3], f, path, lcpl, H5P_DEFAULT);
    }
    H5Pclose(lcpl);
}

static uint8_t *g_base;      // the base file's bytes
static size_t g_base_n;

static void structured_file(const char *path, const uint8_t *data, size_t size) {
    fz_write("in.h5", g_base, g_base_n);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) { fprintf(stderr, "fuzz_results: cannot open the base copy\n"); abort(); }
    In in = {data, size};
    for (int ops = 0; in.n && ops < 24; ops++) {
        switch (in_u8(&in) % 6) {
        case 0: op_set_attr(f, &in); break;
        case 1: op_delete_attr(f, &in); break;
        case 2: op_scribble_table(f, &in); break;
        case 3: op_replace_table(f, &in); break;
        case 4: op_links(f, &in); break;
        default: op_set_attr(f, &in); break;
        }
    }
    if (H5Fclose(f) < 0) { fprintf(stderr, "fuzz_results: H5Fclose of the edited file failed\n"); abort(); }
}

// ---------------------------------------------------------------------------

static int g_raw;

static void write_seeds(const char *dir) {
    char p[1024];
    if (g_raw) {   // results files
        snprintf(p, sizeof p, "%s/one_run.h5", dir);
        unlink(p);
        add_run(p, "wasi-eps0.7-seed233", RUN_COMPLETE, 3, "wasi");
        snprintf(p, sizeof p, "%s/stages.h5", dir);
        write_base(p);
        return;
    }
    // edit scripts: none (the base file as is), and one of each operation
    static const uint8_t scripts[][12] = {
        {0},
        {0, 2, 4, 3, 9},                    // epsilon of a run := NaN-ish double
        {1, 4, 2},                          // delete 'status' of a run
        {2, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8},  // scribble over the epochs table
        {3, 0, 0, 1, 7},                    // epochs with another shape
        {4, 2, 3, 'a', '/', 'b', 1},        // move a run to a nested name
        {3, 1, 7, 2, 9, 9, 0, 1, 5},        // layer_ranks_by_epoch with absurd dims
    };
    static const size_t lens[] = {0, 5, 3, 11, 5, 7, 9};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        snprintf(p, sizeof p, "%s/script_%zu", dir, i);
        FILE *f = fopen(p, "wb");
        if (!f) exit(1);
        fwrite(scripts[i], 1, lens[i], f);
        fclose(f);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    g_raw = getenv("WB_FUZZ_RAW") && !strcmp(getenv("WB_FUZZ_RAW"), "1");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    const char *seeds = getenv("WB_FUZZ_SEEDS");
    if (seeds) { write_seeds(seeds); exit(0); }
    fz_setup("results");
    fz_mkdir("noscripts");
    char p[512];
    fz_path(p, sizeof p, "noscripts");
    setenv("WASIBENCH_PLOTS", p, 1);        // plot_results stops before gnuplot
    setenv("WASIBENCH_GNUPLOT", "/bin/false", 1);
    g_null = fopen("/dev/null", "w");
    if (!g_null) abort();
    if (!g_raw) {   // the base file, kept in memory (tracked, never freed: not part of any input)
        fz_path(p, sizeof p, "base.h5");
        write_base(p);
        ByteBuf b = {0};
        WbError err;
        if (file_read_all(&b, p, &err) < 0) { fprintf(stderr, "%s\n", err.msg); abort(); }
        g_base = b.p;
        g_base_n = b.n;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_begin();
    char in[512], merged[512], plotdir[512];
    fz_path(in, sizeof in, "in.h5");
    fz_path(merged, sizeof merged, "merged.h5");
    fz_path(plotdir, sizeof plotdir, "plot");
    if (g_raw) fz_write("in.h5", data, size);
    else structured_file(in, data, size);
    WbError err = {{0}};
    RunList l;
    if (results_list(in, &l, &err) == 0) {
        for (int i = 0; i < l.n; i++) {
            EpochRow *rows;
            int n;
            if (results_read_epochs(in, l.runs[i].name, &rows, &n, &err) == 0) mem_free(rows);
        }
        results_list_free(&l);
        const char *inputs[1] = {in};
        results_merge(merged, inputs, 1, NULL, &err);
    } else if (!err.msg[0]) {
        fprintf(stderr, "fuzz_results: results_list failed without a message\n");
        abort();
    }
    results_print_info(in, g_null, &err);
    plot_results(in, plotdir, 0, NULL, &err);
    plot_paper(in, plotdir, 0, NULL, &err);
    table_write(in, 1, TABLE_TEX, g_null, &err);
    table_write(in, 2, TABLE_MD, g_null, &err);
    fz_unlink("merged.h5");
    fz_end("results readers");
    return 0;
}
