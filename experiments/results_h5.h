// results_h5.h: the HDF5 toolkit of the results module, internal to
// experiments/results*.c (nothing else includes it). An operation carries a
// Ctx: the first failure wins and fills the error with the results file,
// the call, the source line, HDF5's own reason and a hint. Every HDF5 call
// goes through H5CK; every id is closed through xclose, which checks the
// close (a failing H5Fclose means data did not reach the file).
#ifndef WB_RESULTS_H5_H
#define WB_RESULTS_H5_H

#include "experiments/results.h"
#include "experiments/results_schema.h"

#include <hdf5.h>
#include <stddef.h>

typedef struct {
    WbError *err;
    const char *path;   // the results file the user named (never the .tmp)
    int failed;
} Ctx;

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
int fail_at(Ctx *c, const char *file, int line, const char *fmt, ...);
#define FAIL(c, ...) fail_at((c), __FILE__, __LINE__, __VA_ARGS__)
int h5_fail_at(Ctx *c, const char *call, const char *hint, const char *file, int line);
// Evaluates to nonzero (after recording the error) when expr < 0.
#define H5CK(c, expr, hint) ((expr) < 0 ? h5_fail_at((c), #expr, (hint), __FILE__, __LINE__) : 0)
void xclose(Ctx *c, hid_t *id);      // close any id by its kind; id := -1
void h5_quiet(void);                 // before the first HDF5 call of an operation
void kill_point(int point);          // test hook WB_RESULTS_TEST_KILL=point
int path_with(Ctx *c, char *dst, size_t cap, const char *suffix);

// types and attributes
hid_t vlen_str_type(Ctx *c);
hid_t table_type(Ctx *c, const ResTable *t);
int attr_write(Ctx *c, hid_t obj, const char *name, hid_t file_t, hid_t mem_t, const void *val);
int attr_str(Ctx *c, hid_t obj, const char *name, const char *s);
int attr_open(Ctx *c, hid_t obj, const char *what, const char *name, hid_t *a);
int attr_read_str(Ctx *c, hid_t obj, const char *what, const char *name, char *dst, size_t cap);
int attr_read_num(Ctx *c, hid_t obj, const char *what, const char *name, hid_t mem_t, void *dst);
int attr_read_text(Ctx *c, hid_t obj, const char *what, const char *name, char **out);

// A 1-D table `name` of n rows of memory type mt in group g (results.c).
int write_table(Ctx *c, hid_t g, const char *name, hid_t mt, long n, const void *rows);

// file level: schema marker, /runs, run groups
hid_t new_fapl(Ctx *c);
hid_t ordered_gcpl(Ctx *c);
hid_t create_results_file(Ctx *c, const char *fname, hid_t fapl);
hid_t open_results_file(Ctx *c, const char *fname, unsigned mode, hid_t fapl);
int is_run(Ctx *c, hid_t obj);
int open_parent(Ctx *c, hid_t runs, const char *name, int create, hid_t *parent, const char **leaf);

// merge: every input's /maxbatch rows into out (results_maxbatch.c)
int maxbatch_merge_open(Ctx *c, hid_t out, const hid_t *in, int n_in);

// the atomic file replacement: copy, change the copy, fsync, rename over
int copy_file(Ctx *c, const char *src, const char *dst);
int commit_tmp(Ctx *c, const char *tmp);
int remove_stale(Ctx *c, const char *tmp);

// The runs of an open file (results.c, which owns the run summary).
int list_open(Ctx *c, hid_t f, RunList *out);

#endif
