// results.c: the HDF5 results file (see results.h; the schema is written
// down for readers in results/README.md). Owns the file layout, the atomic
// copy-add-rename write, listing and merging shards. The run tables are
// results_schema.c's, their reader for figures results_tables.c; `info` is
// results_info.c, the one-writer lock results_lock.c.
//
// Every HDF5 call goes through H5CK: a negative return fills the error with
// the results file, the call, this file's line, HDF5's own reason and a hint.
// Every id is closed through xclose, which also checks the close (a failing
// H5Fclose means data did not reach the file).
#include "experiments/results.h"
#include "experiments/confighash.h"
#include "experiments/results_schema.h"
#include "experiments/fs.h"

#include <hdf5.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SCHEMA_NAME "wasibench-results"

// ---------------------------------------------------------------------------
// error context: the first failure of an operation wins

typedef struct {
    WbError *err;
    const char *path;   // the results file the user named (never the .tmp)
    int failed;
} Ctx;

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int fail_at(Ctx *c, const char *file, int line, const char *fmt, ...) {
    if (c->failed) return -1;
    c->failed = 1;
    char msg[WB_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return wb_error(c->err, "%s: %s [%s:%d]", c->path, msg, file, line);
}
#define FAIL(c, ...) fail_at((c), __FILE__, __LINE__, __VA_ARGS__)

typedef struct { char first[160], last[160]; } H5Why;

static herr_t why_cb(unsigned n, const H5E_error2_t *e, void *data) {
    H5Why *w = data;
    if (!e->desc || !e->desc[0]) return 0;
    if (n == 0) snprintf(w->first, sizeof w->first, "%s", e->desc);
    snprintf(w->last, sizeof w->last, "%s", e->desc);
    return 0;
}

static int h5_fail_at(Ctx *c, const char *call, const char *hint, const char *file, int line) {
    H5Why w = {"", ""};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, why_cb, &w);  // innermost reason is the most specific
    const char *eq = strstr(call, " = ");                    // "g = H5Gopen2(...)" -> "H5Gopen2(...)"
    if (eq) call = eq + 3;
    char why[340] = "";
    if (w.first[0] && strcmp(w.first, w.last)) snprintf(why, sizeof why, ": %s: %s", w.first, w.last);
    else if (w.last[0]) snprintf(why, sizeof why, ": %s", w.last);
    return fail_at(c, file, line, "HDF5 call %s failed%s (%s)", call, why, hint);
}
// Evaluates to nonzero (after recording the error) when expr < 0.
#define H5CK(c, expr, hint) ((expr) < 0 ? h5_fail_at((c), #expr, (hint), __FILE__, __LINE__) : 0)

// Close any HDF5 id by its kind; id := -1. A failing close is an error.
static void xclose(Ctx *c, hid_t *id) {
    if (*id < 0) return;
    herr_t rc;
    const char *call;
    switch (H5Iget_type(*id)) {
    case H5I_FILE: rc = H5Fclose(*id); call = "H5Fclose"; break;
    case H5I_GROUP: rc = H5Gclose(*id); call = "H5Gclose"; break;
    case H5I_DATASET: rc = H5Dclose(*id); call = "H5Dclose"; break;
    case H5I_DATATYPE: rc = H5Tclose(*id); call = "H5Tclose"; break;
    case H5I_DATASPACE: rc = H5Sclose(*id); call = "H5Sclose"; break;
    case H5I_ATTR: rc = H5Aclose(*id); call = "H5Aclose"; break;
    case H5I_GENPROP_LST: rc = H5Pclose(*id); call = "H5Pclose"; break;
    default: rc = -1; call = "H5Iget_type (not a valid id)"; break;
    }
    if (rc < 0) h5_fail_at(c, call, "an object was still open, or the data did not reach the disk", __FILE__, __LINE__);
    *id = -1;
}

// Reliability fix (found by tests/test_faults.c, "disk full"): after a write
// error HDF5 cannot close the file, and its exit-time cleanup then crashed
// (SIGSEGV in H5F__close_cb), so `wasibench run` ended with status 139
// instead of 3. Every file is closed here explicitly and the close checked,
// so that cleanup is not needed: it is switched off before HDF5 initialises
// (H5dont_atexit has no effect once the library is up; the first HDF5 call
// of the program goes through here).
static void h5_quiet(void) {
    static int once;
    if (!once) { once = 1; H5dont_atexit(); }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

// Test hook: WB_RESULTS_TEST_KILL=n makes the process SIGKILL itself at
// point n of a write (1 mid-copy ... 8 after the rename), to prove crash safety.
static void kill_point(int point) {
    const char *e = getenv("WB_RESULTS_TEST_KILL");
    if (e && strtol(e, NULL, 10) == point) raise(SIGKILL);
}

// ---------------------------------------------------------------------------
// small helpers

static const char *status_names[RUN_NSTATUS] = {"complete", "diverged", "interrupted", "failed"};

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
    r->inference.mean_s = r->inference.min_s = r->inference.max_s = nan;
    r->config_yaml = "";
}

// "<path><suffix>" into dst; error when it does not fit.
static int path_with(Ctx *c, char *dst, size_t cap, const char *suffix) {
    if ((size_t)snprintf(dst, cap, "%s%s", c->path, suffix) >= cap) return FAIL(c, "path too long");
    return 0;
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
// HDF5 types

static hid_t vlen_str_type(Ctx *c) {
    hid_t t = -1;
    if (H5CK(c, t = H5Tcopy(H5T_C_S1), "string type")) return -1;
    if (H5CK(c, H5Tset_size(t, H5T_VARIABLE), "string type") || H5CK(c, H5Tset_cset(t, H5T_CSET_UTF8), "string type")) {
        xclose(c, &t);
        return -1;
    }
    return t;
}

// The memory type of a run table (results_schema.c defines them all).
static hid_t table_type(Ctx *c, const ResTable *t) {
    hid_t mt = res_table_type(t, NULL);
    if (mt < 0) FAIL(c, "cannot build the HDF5 type of the '%s' table", t->dataset);
    return mt;
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

// Scalar attribute: a number (file_t/mem_t) or, when file_t < 0, a UTF-8 string.
static int attr_write(Ctx *c, hid_t obj, const char *name, hid_t file_t, hid_t mem_t, const void *val) {
    hid_t sp = -1, a = -1, st = -1;
    int rc = -1;
    if (file_t < 0) {
        if ((st = vlen_str_type(c)) < 0) goto done;
        file_t = mem_t = st;
    }
    if (H5CK(c, sp = H5Screate(H5S_SCALAR), "scalar dataspace")) goto done;
    if (H5CK(c, a = H5Acreate2(obj, name, file_t, sp, H5P_DEFAULT, H5P_DEFAULT), "creating a run attribute")) goto done;
    if (H5CK(c, H5Awrite(a, mem_t, val), "writing a run attribute")) goto done;
    rc = 0;
done:
    xclose(c, &a);
    xclose(c, &sp);
    xclose(c, &st);
    return c->failed ? -1 : rc;
}

static int attr_str(Ctx *c, hid_t obj, const char *name, const char *s) { return attr_write(c, obj, name, -1, -1, &s); }

// Read a scalar string attribute (variable or fixed length) into dst (cap bytes, truncating).
// A missing attribute is a schema error that names the run (what) and the attribute.
static int attr_open(Ctx *c, hid_t obj, const char *what, const char *name, hid_t *a) {
    htri_t ex = H5Aexists(obj, name);
    if (H5CK(c, ex, "reading attributes")) return -1;
    if (!ex) return FAIL(c, "%s: attribute '%s' is missing (wrong schema, or written by another version)", what, name);
    if (H5CK(c, *a = H5Aopen(obj, name, H5P_DEFAULT), "opening an attribute")) return -1;
    return 0;
}

static int attr_read_str(Ctx *c, hid_t obj, const char *what, const char *name, char *dst, size_t cap) {
    hid_t a = -1, ft = -1, sp = -1, mt = -1;
    char *buf = NULL;
    int rc = -1;
    if (attr_open(c, obj, what, name, &a)) goto done;
    if (H5CK(c, ft = H5Aget_type(a), "attribute type") || H5CK(c, sp = H5Aget_space(a), "attribute space")) goto done;
    if (H5Tget_class(ft) != H5T_STRING || H5Sget_simple_extent_type(sp) != H5S_SCALAR) {
        FAIL(c, "%s: attribute '%s' is not a scalar string (wrong schema)", what, name);
        goto done;
    }
    htri_t var = H5Tis_variable_str(ft);
    if (H5CK(c, var, "attribute type")) goto done;
    if (var) {
        if ((mt = vlen_str_type(c)) < 0) goto done;
        char *s = NULL;
        if (H5CK(c, H5Aread(a, mt, &s), "reading a string attribute")) goto done;
        snprintf(dst, cap, "%s", s ? s : "");
        H5free_memory(s);
    } else {
        size_t n = H5Tget_size(ft);
        if (n == 0) { FAIL(c, "%s: attribute '%s' has size 0", what, name); goto done; }
        if (H5CK(c, mt = H5Tcopy(H5T_C_S1), "string type") || H5CK(c, H5Tset_size(mt, n + 1), "string type")) goto done;
        buf = mem_alloc(n + 1, MEM_WORKSPACE);
        if (H5CK(c, H5Aread(a, mt, buf), "reading a string attribute")) goto done;
        snprintf(dst, cap, "%s", buf);
    }
    rc = 0;
done:
    mem_free(buf);
    xclose(c, &mt);
    xclose(c, &sp);
    xclose(c, &ft);
    xclose(c, &a);
    return c->failed ? -1 : rc;
}

static int attr_read_num(Ctx *c, hid_t obj, const char *what, const char *name, hid_t mem_t, void *dst) {
    hid_t a = -1, ft = -1, sp = -1;
    int rc = -1;
    if (attr_open(c, obj, what, name, &a)) goto done;
    if (H5CK(c, ft = H5Aget_type(a), "attribute type") || H5CK(c, sp = H5Aget_space(a), "attribute space")) goto done;
    H5T_class_t cl = H5Tget_class(ft);
    if ((cl != H5T_INTEGER && cl != H5T_FLOAT) || H5Sget_simple_extent_type(sp) != H5S_SCALAR) {
        FAIL(c, "%s: attribute '%s' is not a scalar number (wrong schema)", what, name);
        goto done;
    }
    if (H5CK(c, H5Aread(a, mem_t, dst), "reading a number attribute")) goto done;
    rc = 0;
done:
    xclose(c, &sp);
    xclose(c, &ft);
    xclose(c, &a);
    return c->failed ? -1 : rc;
}

// ---------------------------------------------------------------------------
// file level: schema marker, /runs, run groups

static hid_t new_fapl(Ctx *c) {
    hid_t p = -1;
    if (H5CK(c, p = H5Pcreate(H5P_FILE_ACCESS), "file access list")) return -1;
    // SEMI: H5Fclose fails if an object is still open, so a leaked id is an error, not a silent leak.
    if (H5CK(c, H5Pset_fclose_degree(p, H5F_CLOSE_SEMI), "file close degree")) { xclose(c, &p); return -1; }
    return p;
}

// Groups that list runs keep their links in creation order (= execution order).
static hid_t ordered_gcpl(Ctx *c) {
    hid_t p = -1;
    if (H5CK(c, p = H5Pcreate(H5P_GROUP_CREATE), "group creation list")) return -1;
    if (H5CK(c, H5Pset_link_creation_order(p, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED), "link creation order")) {
        xclose(c, &p);
        return -1;
    }
    return p;
}

// Create the file skeleton at fname: root attributes and /runs.
static hid_t create_results_file(Ctx *c, const char *fname, hid_t fapl) {
    hid_t f = -1, g = -1, gcpl = -1;
    int32_t version = RES_SCHEMA_VERSION;
    if (H5CK(c, f = H5Fcreate(fname, H5F_ACC_TRUNC, H5P_DEFAULT, fapl), "cannot create the file: does the directory exist and is it writable?")) goto bad;
    if (attr_str(c, f, "schema", SCHEMA_NAME) || attr_write(c, f, "schema_version", H5T_STD_I32LE, H5T_NATIVE_INT32, &version)) goto bad;
    if (attr_str(c, f, "description", "wasibench results: one group per run under /runs, see results/README.md")) goto bad;
    if ((gcpl = ordered_gcpl(c)) < 0) goto bad;
    if (H5CK(c, g = H5Gcreate2(f, "runs", H5P_DEFAULT, gcpl, H5P_DEFAULT), "creating /runs")) goto bad;
    xclose(c, &g);
    xclose(c, &gcpl);
    if (!c->failed) return f;
bad:
    xclose(c, &g);
    xclose(c, &gcpl);
    xclose(c, &f);
    return -1;
}

// Reliability workaround (found by tests/fuzz/fuzz_results.c): libhdf5 1.10
// loops forever decoding a corrupt global heap collection, where variable-
// length strings (our string attributes) live: H5HG__cache_heap_deserialize
// steps from object to object by each object's size, and a size of 0 (or
// one that wraps the step) makes it stand still. `run` (resume), `info`,
// `plot` and `merge` hung on such a damaged file. Before HDF5 opens a file,
// walk every collection ("GCOL", version 1) the way the library does, with
// the superblock's size of lengths, and refuse the file unless each walk
// ends exactly at its collection's end (as it does in every valid file).
// A collection that claims to run past the end of the file is refused too:
// HDF5 allocates its claimed size (up to GBs) before the read fails.
static uint64_t le_uint(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static int check_global_heaps(Ctx *c, const char *fname) {
    int fd = open(fname, O_RDONLY);
    struct stat st;
    if (fd < 0) return 0;   // H5Fopen reports it
    if (fstat(fd, &st) != 0 || st.st_size < 16) { close(fd); return 0; }
    size_t n = (size_t)st.st_size;
    const unsigned char *b = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (b == MAP_FAILED) return 0;
    int L = 0;   // size of lengths, from the superblock (at 0, 512, 1024, ...)
    for (size_t o = 0; o + 16 <= n && !L; o = o ? 2 * o : 512)
        if (!memcmp(b + o, "\x89HDF\r\n\x1a\n", 8)) L = b[o + 8] <= 1 ? b[o + 14] : b[o + 10];
    int rc = 0;
    if (L == 2 || L == 4 || L == 8) {   // HDF5 refuses other sizes itself
        const uint64_t hdr = 8 + (uint64_t)L, objhdr = 8 + (uint64_t)L;   // H5HG_SIZEOF_HDR, H5HG_SIZEOF_OBJHDR
        for (size_t o = 0; o + hdr <= n && rc == 0; o++) {
            if (b[o] != 'G' || memcmp(b + o, "GCOL", 4) || b[o + 4] != 1) continue;
            uint64_t size = le_uint(b + o + 8, L), p = hdr;
            if (size > n - o) {
                rc = FAIL(c, "corrupt HDF5 global heap at byte %zu: it claims %llu bytes, past the end of the file (%zu bytes): "
                          "the file is damaged, restore it from a copy (wasibench never rewrites a file in place)", o, (unsigned long long)size, n);
                break;
            }
            while (p < size && p + objhdr <= size) {   // a tail shorter than a header is free space
                unsigned idx = b[o + p] | (unsigned)b[o + p + 1] << 8;
                uint64_t osize = le_uint(b + o + p + 8, L);
                uint64_t need = idx > 0 ? objhdr + ((osize + 7) & ~(uint64_t)7) : osize;
                if (need == 0 || need > size - p) break;
                p += need;
            }
            if (p + objhdr > size && p < size) p = size;
            if (p != size)
                rc = FAIL(c, "corrupt HDF5 global heap at byte %zu (its objects do not tile it; libhdf5 would loop forever "
                          "reading it): the file is damaged, restore it from a copy (wasibench never rewrites a file in place)", o);
        }
    }
    munmap((void *)b, n);
    return rc;
}

// Open an existing results file and check it carries our schema marker.
static hid_t open_results_file(Ctx *c, const char *fname, unsigned mode, hid_t fapl) {
    hid_t f = -1;
    char schema[64] = "";
    int32_t version = 0;
    if (check_global_heaps(c, fname)) return -1;   // reliability workaround, see check_global_heaps
    if (H5CK(c, f = H5Fopen(fname, mode, fapl), "not an HDF5 file, or truncated/corrupt")) return -1;
    htri_t has = H5Aexists(f, "schema");
    if (H5CK(c, has, "reading the root attributes")) goto bad;
    if (!has) { FAIL(c, "an HDF5 file but not a wasibench results file (no 'schema' attribute on /)"); goto bad; }
    if (attr_read_str(c, f, "/", "schema", schema, sizeof schema)) goto bad;
    if (strcmp(schema, SCHEMA_NAME)) { FAIL(c, "schema '%s' is not '%s'", schema, SCHEMA_NAME); goto bad; }
    if (attr_read_num(c, f, "/", "schema_version", H5T_NATIVE_INT32, &version)) goto bad;
    if (version < 1 || version > RES_SCHEMA_VERSION) {
        FAIL(c, "schema_version %d; this build reads 1..%d (a newer wasibench wrote it?)", (int)version, RES_SCHEMA_VERSION);
        goto bad;
    }
    htri_t runs = H5Lexists(f, "runs", H5P_DEFAULT);
    if (H5CK(c, runs, "looking for /runs")) goto bad;
    if (!runs) { FAIL(c, "no /runs group (wrong schema)"); goto bad; }
    return f;
bad:
    xclose(c, &f);
    return -1;
}

// 1 if obj is a run group (has a 'status' attribute), 0 if not, -1 on error.
static int is_run(Ctx *c, hid_t obj) {
    htri_t t = H5Aexists(obj, "status");
    if (H5CK(c, t, "reading attributes")) return -1;
    return t > 0;
}

// Open the group that holds the last component of name (walking from runs);
// *leaf points into name. create = 1 makes missing intermediate groups;
// create = 0 returns 0 with *parent = -1 when one is missing. An
// intermediate that is itself a run is an error (runs do not nest).
static int open_parent(Ctx *c, hid_t runs, const char *name, int create, hid_t *parent, const char **leaf) {
    hid_t cur = -1, next = -1, gcpl = -1;
    char comp[RES_NAME_MAX];
    *parent = -1;
    if (H5CK(c, cur = H5Gopen2(runs, ".", H5P_DEFAULT), "opening /runs")) return -1;
    const char *p = name;
    const char *slash;
    while ((slash = strchr(p, '/'))) {
        size_t len = (size_t)(slash - p);
        memcpy(comp, p, len);
        comp[len] = 0;
        htri_t ex = H5Lexists(cur, comp, H5P_DEFAULT);
        if (H5CK(c, ex, "looking up a run group")) goto bad;
        if (ex) {
            if (H5CK(c, next = H5Oopen(cur, comp, H5P_DEFAULT), "opening a run group")) goto bad;
            if (H5Iget_type(next) != H5I_GROUP) { FAIL(c, "'%.*s' in run name '%s' is not a group", (int)(slash - name), name, name); goto bad; }
            int r = is_run(c, next);
            if (r < 0) goto bad;
            if (r) { FAIL(c, "run '%s' would nest inside run '%.*s'; pick names that are not prefixes of each other", name, (int)(slash - name), name); goto bad; }
        } else if (!create) {
            xclose(c, &cur);
            return 0;
        } else {
            if (gcpl < 0 && (gcpl = ordered_gcpl(c)) < 0) goto bad;
            if (H5CK(c, next = H5Gcreate2(cur, comp, H5P_DEFAULT, gcpl, H5P_DEFAULT), "creating a stage group")) goto bad;
        }
        xclose(c, &cur);
        cur = next;
        next = -1;
        p = slash + 1;
    }
    xclose(c, &gcpl);
    if (c->failed) goto bad;
    *parent = cur;
    *leaf = p;
    return 0;
bad:
    xclose(c, &next);
    xclose(c, &gcpl);
    xclose(c, &cur);
    return -1;
}

// ---------------------------------------------------------------------------
// writing one run group

// 1-D dataset of n rows of memory type mt (file type: the same, packed).
static int write_table(Ctx *c, hid_t g, const char *name, hid_t mt, long n, const void *rows) {
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
    for (int i = 0; i < r->n_layers; i++)
        if (strnlen(r->layers[i].name, RES_LAYER_NAME_MAX) >= RES_LAYER_NAME_MAX)
            return FAIL(c, "run '%s': layer %d name is not NUL-terminated", s->name, i);
    return 0;
}

// The whole group: attributes, then datasets. Kill points 3..5 sit between parts.
static int write_group(Ctx *c, hid_t g, const RunResult *r) {
    RunSummary s = r->s;  // with the derived fields filled
    const Counters *k = &r->counters;
    double train_flops = k->flops[PHASE_FORWARD] + k->flops[PHASE_BACKWARD] + k->flops[PHASE_DECOMPOSITION] + k->flops[PHASE_UPDATE];
    double train_sec = k->seconds[PHASE_FORWARD] + k->seconds[PHASE_BACKWARD] + k->seconds[PHASE_DECOMPOSITION] + k->seconds[PHASE_UPDATE]
                     + k->seconds[PHASE_ALLREDUCE];
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
        attr_write(c, g, "over_budget", H5T_STD_I32LE, H5T_NATIVE_INT32, &s.over_budget))
        return -1;
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

    PhaseRow fl[PHASE_NCOUNT], tm[PHASE_NCOUNT];
    memset(fl, 0, sizeof fl);
    memset(tm, 0, sizeof tm);
    for (int i = 0; i < PHASE_NCOUNT; i++) {
        long n = i == PHASE_INFERENCE ? (long)r->inference.batches : r->train_steps;
        snprintf(fl[i].phase, sizeof fl[i].phase, "%s", phase_name((Phase)i));
        memcpy(tm[i].phase, fl[i].phase, sizeof tm[i].phase);
        fl[i].total = k->flops[i];
        fl[i].per_step = per(k->flops[i], n);
        tm[i].total = k->seconds[i];
        tm[i].per_step = per(k->seconds[i], n);
        fl[i].steps = tm[i].steps = n;
    }
    if (write_typed_table(c, g, RES_FLOPS.dataset, table_type(c, &RES_FLOPS), PHASE_NCOUNT, fl)) return -1;
    if (write_typed_table(c, g, RES_TIME.dataset, table_type(c, &RES_TIME), PHASE_NCOUNT, tm)) return -1;
    if (write_typed_table(c, g, RES_INFERENCE.dataset, table_type(c, &RES_INFERENCE), 1, &r->inference)) return -1;
    if (r->n_rank_epochs > 0 && write_rank_history(c, g, r)) return -1;
    kill_point(5);
    return c->failed ? -1 : 0;
}

// ---------------------------------------------------------------------------
// the atomic file replacement

static void kill_point_1(void) { kill_point(1); }

// Byte copy src -> dst (dst must not exist). Kill point 1 after the first block.
static int copy_file(Ctx *c, const char *src, const char *dst) {
    WbError e;
    if (fs_copy_file(src, dst, 1, kill_point_1, &e) < 0) return FAIL(c, "%s", e.msg);
    return 0;
}

static int fsync_path(Ctx *c, const char *p, int dir) {
    int fd = open(p, dir ? O_RDONLY | O_DIRECTORY : O_RDWR);
    if (fd < 0) return FAIL(c, "cannot open %s to fsync: %s", p, strerror(errno));
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    // Some file systems cannot fsync a directory (EINVAL); the rename is still atomic there.
    if (rc != 0 && !(dir && e == EINVAL)) return FAIL(c, "fsync %s failed: %s", p, strerror(e));
    return 0;
}

// After the new content is complete in tmp: fsync, rename over path, fsync the directory.
static int commit_tmp(Ctx *c, const char *tmp) {
    if (fsync_path(c, tmp, 0)) return -1;
    kill_point(7);
    if (rename(tmp, c->path) != 0) return FAIL(c, "rename %s -> %s failed: %s", tmp, c->path, strerror(errno));
    kill_point(8);
    char dir[4096];
    const char *slash = strrchr(c->path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == c->path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - c->path), c->path);
    return fsync_path(c, dir, 1);
}

// A stale <path>.tmp is what a killed writer leaves: remove it.
static int remove_stale(Ctx *c, const char *tmp) {
    if (unlink(tmp) != 0 && errno != ENOENT) return FAIL(c, "cannot remove stale %s: %s", tmp, strerror(errno));
    return 0;
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

// A whole variable-length string attribute (mem_alloc'd into *out).
static int attr_read_text(Ctx *c, hid_t obj, const char *what, const char *name, char **out) {
    hid_t a = -1, ft = -1, mt = -1;
    *out = NULL;
    if (attr_open(c, obj, what, name, &a)) goto done;
    if (H5CK(c, ft = H5Aget_type(a), "attribute type")) goto done;
    htri_t var = H5Tis_variable_str(ft);
    if (H5CK(c, var, "attribute type")) goto done;
    if (!var) { FAIL(c, "%s: attribute '%s' is not a variable-length string (wrong schema)", what, name); goto done; }
    char *s = NULL;
    if ((mt = vlen_str_type(c)) < 0 || H5CK(c, H5Aread(a, mt, &s), "reading a string attribute")) goto done;
    size_t n = s ? strlen(s) : 0;
    *out = mem_alloc(n + 1, MEM_WORKSPACE);
    if (n) memcpy(*out, s, n);
    H5free_memory(s);
done:
    xclose(c, &mt);
    xclose(c, &ft);
    xclose(c, &a);
    return c->failed ? -1 : 0;
}

// Attributes newer than schema version 1 (files written before them still
// read): config_hash (else the hash of the stored config_yaml),
// experiment_hash (else ""), budget_used_mb (else NaN), over_budget (else 0).
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

static int list_open(Ctx *c, hid_t f, RunList *out) {
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

// ---------------------------------------------------------------------------
// merging shards

typedef struct { int input; int index; } Pick;

// Inputs of one experiment: each shares an experiment_hash with the first
// input (runs without one, from older files, are not compared).
static int merge_same_experiment(Ctx *c, const char *const *inputs, const RunList *lists, int n_inputs) {
    for (int i = 1; i < n_inputs; i++) {
        const RunSummary *a = NULL, *b = NULL;
        int shared = 0;
        for (int x = 0; x < lists[0].n && !shared; x++)
            for (int y = 0; y < lists[i].n && !shared; y++) {
                const RunSummary *p = &lists[0].runs[x], *q = &lists[i].runs[y];
                if (!p->experiment_hash[0] || !q->experiment_hash[0]) continue;
                if (!strcmp(p->experiment_hash, q->experiment_hash)) shared = 1;
                else if (!a) { a = p; b = q; }
            }
        if (!shared && a)
            return FAIL(c, "%s and %s hold runs of different experiments (run '%s' of %s has experiment_hash %s, run '%s' of %s has %s: "
                        "other settings); merge only the shards of one sweep, nothing merged",
                        inputs[0], inputs[i], a->name, inputs[0], a->experiment_hash, b->name, inputs[i], b->experiment_hash);
    }
    return 0;
}

int results_merge(const char *out, const char *const *inputs, int n_inputs, FILE *log, WbError *err) {
    Ctx c = {err, out, 0};
    char tmp[4096];
    int warnings = 0, n_pick = 0, made_tmp = 0;
    hid_t fapl = -1, fo = -1, runs_out = -1, parent = -1;
    hid_t *fin = NULL;
    RunList *lists = NULL;
    Pick *picks = NULL;
    h5_quiet();
    if (n_inputs < 1) return FAIL(&c, "merge needs at least one input file");
    if (path_with(&c, tmp, sizeof tmp, ".tmp") || remove_stale(&c, tmp)) return -1;
    if ((fapl = new_fapl(&c)) < 0) goto done;
    fin = mem_alloc((size_t)n_inputs * sizeof(hid_t), MEM_WORKSPACE);
    lists = mem_alloc((size_t)n_inputs * sizeof(RunList), MEM_WORKSPACE);
    for (int i = 0; i < n_inputs; i++) fin[i] = -1;
    int total = 0;
    for (int i = 0; i < n_inputs; i++) {
        Ctx ci = {err, inputs[i], 0};  // errors name the input file
        if (access(inputs[i], F_OK) != 0) { FAIL(&ci, "cannot read input: %s", strerror(errno)); c.failed = 1; goto done; }
        if ((fin[i] = open_results_file(&ci, inputs[i], H5F_ACC_RDONLY, fapl)) < 0 || list_open(&ci, fin[i], &lists[i])) {
            c.failed = 1;
            goto done;
        }
        total += lists[i].n;
    }
    if (merge_same_experiment(&c, inputs, lists, n_inputs)) goto done;
    // Pick one copy per run name, in order of first appearance.
    picks = mem_alloc((size_t)(total > 0 ? total : 1) * sizeof(Pick), MEM_WORKSPACE);
    for (int i = 0; i < n_inputs; i++)
        for (int j = 0; j < lists[i].n; j++) {
            const RunSummary *s = &lists[i].runs[j];
            int k = 0;
            while (k < n_pick && strcmp(lists[picks[k].input].runs[picks[k].index].name, s->name)) k++;
            if (k == n_pick) { picks[n_pick++] = (Pick){i, j}; continue; }
            const RunSummary *kept = &lists[picks[k].input].runs[picks[k].index];
            if (strcmp(kept->config_hash, s->config_hash)) {
                FAIL(&c, "run '%s' has other settings in %s than in %s (config_hash %s vs %s): not copies of one run, nothing merged",
                     s->name, inputs[i], inputs[picks[k].input], s->config_hash, kept->config_hash);
                goto done;
            }
            if (kept->status != RUN_COMPLETE && s->status == RUN_COMPLETE) {
                picks[k] = (Pick){i, j};
            } else if (kept->status == RUN_COMPLETE && s->status == RUN_COMPLETE) {
                warnings++;
                if (log) fprintf(log, "warning: run '%s' is complete in both %s and %s; kept the copy from %s\n",
                                 s->name, inputs[picks[k].input], inputs[i], inputs[picks[k].input]);
            }
        }
    made_tmp = 1;
    if ((fo = create_results_file(&c, tmp, fapl)) < 0) goto done;
    if (H5CK(&c, runs_out = H5Gopen2(fo, "runs", H5P_DEFAULT), "opening /runs")) goto done;
    for (int k = 0; k < n_pick; k++) {
        const char *name = lists[picks[k].input].runs[picks[k].index].name;
        const char *leaf = NULL;
        hid_t src = -1;
        if (open_parent(&c, runs_out, name, 1, &parent, &leaf)) goto done;
        if (!H5CK(&c, src = H5Gopen2(fin[picks[k].input], "runs", H5P_DEFAULT), "opening /runs of an input"))
            H5CK(&c, H5Ocopy(src, name, parent, leaf, H5P_DEFAULT, H5P_DEFAULT), "copying a run group between files (disk full?)");
        xclose(&c, &src);
        xclose(&c, &parent);
        if (c.failed) goto done;
    }
    xclose(&c, &runs_out);
    if (!c.failed && H5CK(&c, H5Fflush(fo, H5F_SCOPE_GLOBAL), "flushing (disk full?)")) goto done;
    xclose(&c, &fo);
    for (int i = 0; i < n_inputs; i++) xclose(&c, &fin[i]);
    if (c.failed || commit_tmp(&c, tmp)) goto done;
    made_tmp = 0;
done:
    xclose(&c, &parent);
    xclose(&c, &runs_out);
    xclose(&c, &fo);
    if (fin)
        for (int i = 0; i < n_inputs; i++) xclose(&c, &fin[i]);
    if (lists)
        for (int i = 0; i < n_inputs; i++) results_list_free(&lists[i]);
    mem_free(picks);
    mem_free(lists);
    mem_free(fin);
    xclose(&c, &fapl);
    if (c.failed && made_tmp) unlink(tmp);
    return c.failed ? -1 : warnings;
}
