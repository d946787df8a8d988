// results_h5.c: the HDF5 toolkit of the results module (results_h5.h):
// error context, attributes, the file skeleton and its checks, and the
// atomic copy-change-rename that every writer (results.c, results_merge.c)
// goes through.
#include "experiments/results_h5.h"
#include "experiments/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCHEMA_NAME "wasibench-results"

// ---------------------------------------------------------------------------
// error context: the first failure of an operation wins
int fail_at(Ctx *c, const char *file, int line, const char *fmt, ...) {
    if (c->failed) return -1;
    c->failed = 1;
    char msg[WB_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return wb_error(c->err, "%s: %s [%s:%d]", c->path, msg, file, line);
}

typedef struct { char first[160], last[160]; } H5Why;

static herr_t why_cb(unsigned n, const H5E_error2_t *e, void *data) {
    H5Why *w = data;
    if (!e->desc || !e->desc[0]) return 0;
    if (n == 0) snprintf(w->first, sizeof w->first, "%s", e->desc);
    snprintf(w->last, sizeof w->last, "%s", e->desc);
    return 0;
}

int h5_fail_at(Ctx *c, const char *call, const char *hint, const char *file, int line) {
    H5Why w = {"", ""};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, why_cb, &w);  // innermost reason is the most specific
    const char *eq = strstr(call, " = ");                    // "g = H5Gopen2(...)" -> "H5Gopen2(...)"
    if (eq) call = eq + 3;
    char why[340] = "";
    if (w.first[0] && strcmp(w.first, w.last)) snprintf(why, sizeof why, ": %s: %s", w.first, w.last);
    else if (w.last[0]) snprintf(why, sizeof why, ": %s", w.last);
    return fail_at(c, file, line, "HDF5 call %s failed%s (%s)", call, why, hint);
}

// Close any HDF5 id by its kind; id := -1. A failing close is an error.
void xclose(Ctx *c, hid_t *id) {
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
void h5_quiet(void) {
    static int once;
    if (!once) { once = 1; H5dont_atexit(); }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

// Test hook: WB_RESULTS_TEST_KILL=n makes the process SIGKILL itself at
// point n of a write (1 mid-copy ... 8 after the rename), to prove crash safety.
void kill_point(int point) {
    const char *e = getenv("WB_RESULTS_TEST_KILL");
    if (e && strtol(e, NULL, 10) == point) raise(SIGKILL);
}



// "<path><suffix>" into dst; error when it does not fit.
int path_with(Ctx *c, char *dst, size_t cap, const char *suffix) {
    if ((size_t)snprintf(dst, cap, "%s%s", c->path, suffix) >= cap) return FAIL(c, "path too long");
    return 0;
}


// ---------------------------------------------------------------------------
// HDF5 types

hid_t vlen_str_type(Ctx *c) {
    hid_t t = -1;
    if (H5CK(c, t = H5Tcopy(H5T_C_S1), "string type")) return -1;
    if (H5CK(c, H5Tset_size(t, H5T_VARIABLE), "string type") || H5CK(c, H5Tset_cset(t, H5T_CSET_UTF8), "string type")) {
        xclose(c, &t);
        return -1;
    }
    return t;
}

// The memory type of a run table (results_schema.c defines them all).
hid_t table_type(Ctx *c, const ResTable *t) {
    hid_t mt = res_table_type(t, NULL);
    if (mt < 0) FAIL(c, "cannot build the HDF5 type of the '%s' table", t->dataset);
    return mt;
}



// Scalar attribute: a number (file_t/mem_t) or, when file_t < 0, a UTF-8 string.
int attr_write(Ctx *c, hid_t obj, const char *name, hid_t file_t, hid_t mem_t, const void *val) {
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

int attr_str(Ctx *c, hid_t obj, const char *name, const char *s) { return attr_write(c, obj, name, -1, -1, &s); }

// Read a scalar string attribute (variable or fixed length) into dst (cap bytes, truncating).
// A missing attribute is a schema error that names the run (what) and the attribute.
int attr_open(Ctx *c, hid_t obj, const char *what, const char *name, hid_t *a) {
    htri_t ex = H5Aexists(obj, name);
    if (H5CK(c, ex, "reading attributes")) return -1;
    if (!ex) return FAIL(c, "%s: attribute '%s' is missing (wrong schema, or written by another version)", what, name);
    if (H5CK(c, *a = H5Aopen(obj, name, H5P_DEFAULT), "opening an attribute")) return -1;
    return 0;
}

int attr_read_str(Ctx *c, hid_t obj, const char *what, const char *name, char *dst, size_t cap) {
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

int attr_read_num(Ctx *c, hid_t obj, const char *what, const char *name, hid_t mem_t, void *dst) {
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

hid_t new_fapl(Ctx *c) {
    hid_t p = -1;
    if (H5CK(c, p = H5Pcreate(H5P_FILE_ACCESS), "file access list")) return -1;
    // SEMI: H5Fclose fails if an object is still open, so a leaked id is an error, not a silent leak.
    if (H5CK(c, H5Pset_fclose_degree(p, H5F_CLOSE_SEMI), "file close degree")) { xclose(c, &p); return -1; }
    return p;
}

// Groups that list runs keep their links in creation order (= execution order).
hid_t ordered_gcpl(Ctx *c) {
    hid_t p = -1;
    if (H5CK(c, p = H5Pcreate(H5P_GROUP_CREATE), "group creation list")) return -1;
    if (H5CK(c, H5Pset_link_creation_order(p, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED), "link creation order")) {
        xclose(c, &p);
        return -1;
    }
    return p;
}

// Create the file skeleton at fname: root attributes and /runs.
hid_t create_results_file(Ctx *c, const char *fname, hid_t fapl) {
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
hid_t open_results_file(Ctx *c, const char *fname, unsigned mode, hid_t fapl) {
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
int is_run(Ctx *c, hid_t obj) {
    htri_t t = H5Aexists(obj, "status");
    if (H5CK(c, t, "reading attributes")) return -1;
    return t > 0;
}

// Open the group that holds the last component of name (walking from runs);
// *leaf points into name. create = 1 makes missing intermediate groups;
// create = 0 returns 0 with *parent = -1 when one is missing. An
// intermediate that is itself a run is an error (runs do not nest).
int open_parent(Ctx *c, hid_t runs, const char *name, int create, hid_t *parent, const char **leaf) {
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
// the atomic file replacement

static void kill_point_1(void) { kill_point(1); }

// Byte copy src -> dst (dst must not exist). Kill point 1 after the first block.
int copy_file(Ctx *c, const char *src, const char *dst) {
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
int commit_tmp(Ctx *c, const char *tmp) {
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
int remove_stale(Ctx *c, const char *tmp) {
    if (unlink(tmp) != 0 && errno != ENOENT) return FAIL(c, "cannot remove stale %s: %s", tmp, strerror(errno));
    return 0;
}


// reading

// A whole variable-length string attribute (mem_alloc'd into *out).
int attr_read_text(Ctx *c, hid_t obj, const char *what, const char *name, char **out) {
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
