// results_maxbatch.c: the /maxbatch table of a results file (results.h,
// results/README.md): written by `wasibench maxbatch`, read by info and the
// maxbatch figure. A file-level table beside /runs: readers of older files
// see no table, and the run readers never look at it.
#include "experiments/results_h5.h"
#include "core/runtime/memory.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MB_TABLE "maxbatch"

// Rows of the open file's table (none when absent).
static int read_open(Ctx *c, hid_t f, MaxBatchRow **rows, int *n) {
    hid_t d = -1, sp = -1, mt = -1;
    *rows = NULL;
    *n = 0;
    htri_t ex = H5Lexists(f, MB_TABLE, H5P_DEFAULT);
    if (H5CK(c, ex, "looking up /maxbatch")) return -1;
    if (!ex) return 0;
    hsize_t dims[1] = {0};
    if (H5CK(c, d = H5Dopen2(f, MB_TABLE, H5P_DEFAULT), "opening /maxbatch")) goto done;
    if (H5CK(c, sp = H5Dget_space(d), "/maxbatch dataspace")) goto done;
    if (H5Sget_simple_extent_ndims(sp) != 1 || H5Sget_simple_extent_dims(sp, dims, NULL) < 0 || dims[0] > 1000000) {
        FAIL(c, "/maxbatch is not a 1-D table of at most 10^6 rows (corrupt?)");
        goto done;
    }
    if ((mt = res_table_type(&RES_MAXBATCH, NULL)) < 0) { FAIL(c, "cannot build the /maxbatch row type"); goto done; }
    if (dims[0] > 0) {
        *rows = mem_alloc((size_t)dims[0] * sizeof(MaxBatchRow), MEM_WORKSPACE);
        if (H5CK(c, H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, *rows), "reading /maxbatch (columns missing?)")) goto done;
        *n = (int)dims[0];
        for (int i = 0; i < *n; i++) { (*rows)[i].run[RES_NAME_MAX - 1] = 0; (*rows)[i].method[15] = 0; }
    }
done:
    xclose(c, &mt);
    xclose(c, &sp);
    xclose(c, &d);
    if (c->failed) { mem_free(*rows); *rows = NULL; *n = 0; }
    return c->failed ? -1 : 0;
}

int results_read_maxbatch(const char *path, MaxBatchRow **rows, int *n, WbError *err) {
    Ctx c = {err, path, 0};
    hid_t fapl = -1, f = -1;
    *rows = NULL;
    *n = 0;
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT) return 0;   // no file: no rows (as results_list)
    h5_quiet();
    if ((fapl = new_fapl(&c)) >= 0 && (f = open_results_file(&c, path, H5F_ACC_RDONLY, fapl)) >= 0) read_open(&c, f, rows, n);
    xclose(&c, &f);
    xclose(&c, &fapl);
    return c.failed ? -1 : 0;
}

static int same_key(const MaxBatchRow *a, const MaxBatchRow *b) {
    return !strcmp(a->run, b->run) && fabs(a->cap_bytes - b->cap_bytes) <= 0.5;
}

// all = old rows (each kept unless a new row has its run and cap) + the new
// rows; all holds n_old + n. Returns how many.
static int merge_rows(MaxBatchRow *all, const MaxBatchRow *old, int n_old, const MaxBatchRow *rows, int n) {
    int m = 0;
    for (int i = 0; i < n_old; i++) {
        int replaced = 0;
        for (int j = 0; j < n && !replaced; j++) replaced = same_key(&old[i], &rows[j]);
        if (!replaced) all[m++] = old[i];
    }
    for (int j = 0; j < n; j++) all[m++] = rows[j];
    return m;
}

// Replace the open file's table by rows (n of them).
static int write_open(Ctx *c, hid_t f, const MaxBatchRow *rows, int n) {
    hid_t mt = -1;
    htri_t had = H5Lexists(f, MB_TABLE, H5P_DEFAULT);
    if (H5CK(c, had, "looking up /maxbatch") || (had && H5CK(c, H5Ldelete(f, MB_TABLE, H5P_DEFAULT), "removing the old /maxbatch")))
        return -1;
    if ((mt = res_table_type(&RES_MAXBATCH, NULL)) < 0) return FAIL(c, "cannot build the /maxbatch row type");
    write_table(c, f, MB_TABLE, mt, n, rows);
    xclose(c, &mt);
    return c->failed ? -1 : 0;
}

// merge: the rows of every input into out, a later input's row replacing an
// earlier one with the same run and cap (as a later `maxbatch` would).
int maxbatch_merge_open(Ctx *c, hid_t out, const hid_t *in, int n_in) {
    MaxBatchRow *all = NULL;
    int m = 0;
    for (int i = 0; i < n_in && !c->failed; i++) {
        MaxBatchRow *rows = NULL, *next = NULL;
        int n = 0;
        if (read_open(c, in[i], &rows, &n) == 0 && n > 0) {
            next = mem_alloc(sizeof(MaxBatchRow) * (size_t)(m + n), MEM_WORKSPACE);
            m = merge_rows(next, all, m, rows, n);
            mem_free(all);
            all = next;
        }
        mem_free(rows);
    }
    if (!c->failed && m > 0) write_open(c, out, all, m);
    mem_free(all);
    return c->failed ? -1 : 0;
}

int results_write_maxbatch(const char *path, const MaxBatchRow *rows, int n, WbError *err) {
    Ctx c = {err, path, 0};
    char tmp[4096];
    hid_t fapl = -1, f = -1;
    MaxBatchRow *old = NULL, *all = NULL;
    int n_old = 0, made_tmp = 0;
    h5_quiet();
    if (path_with(&c, tmp, sizeof tmp, ".tmp") || remove_stale(&c, tmp)) return -1;
    struct stat st;
    int exists = stat(path, &st) == 0;
    if (!exists && errno != ENOENT) return FAIL(&c, "cannot stat: %s", strerror(errno));
    if ((fapl = new_fapl(&c)) < 0) goto done;
    made_tmp = 1;
    if (exists) {   // the same atomic replacement as a run's write
        if (copy_file(&c, path, tmp) || (f = open_results_file(&c, tmp, H5F_ACC_RDWR, fapl)) < 0) goto done;
    } else if ((f = create_results_file(&c, tmp, fapl)) < 0) {
        goto done;
    }
    if (read_open(&c, f, &old, &n_old)) goto done;
    all = mem_alloc(sizeof(MaxBatchRow) * (size_t)(n_old + n + 1), MEM_WORKSPACE);
    int m = merge_rows(all, old, n_old, rows, n);
    if (write_open(&c, f, all, m)) goto done;
    if (H5CK(&c, H5Fflush(f, H5F_SCOPE_GLOBAL), "flushing (disk full?)")) goto done;
    xclose(&c, &f);
    if (c.failed || commit_tmp(&c, tmp)) goto done;
    made_tmp = 0;
done:
    xclose(&c, &f);
    xclose(&c, &fapl);
    mem_free(old);
    mem_free(all);
    if (c.failed && made_tmp) unlink(tmp);
    return c.failed ? -1 : 0;
}
