// common.c: the die/error helpers and checked file I/O declared in common.h.
#include "core/runtime/common.h"

#include <errno.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static WbRecover *g_recover;   // innermost armed recovery point (main thread only)

void wb_recover_push(WbRecover *r) {
    r->kind = 0;
    r->msg[0] = 0;
    r->outer = g_recover;
    g_recover = r;
}

void wb_recover_end(WbRecover *r) {
    if (g_recover == r) g_recover = r->outer;
}

#if defined(__GNUC__)
__attribute__((noreturn))
#endif
static void die_v(int kind, const char *file, int line, const char *fmt, va_list ap) {
    WbRecover *r = g_recover;
#ifdef _OPENMP
    if (omp_in_parallel()) r = NULL;   // longjmp out of a parallel region is undefined
#endif
    if (r) {
        int k = snprintf(r->msg, sizeof r->msg, "%s:%d: ", file, line);
        if (k < 0 || k >= (int)sizeof r->msg) k = 0;
        vsnprintf(r->msg + k, sizeof r->msg - (size_t)k, fmt, ap);
        r->kind = kind;
        g_recover = r->outer;   // disarmed: a die while unwinding goes further out
        longjmp(r->jb, 1);
    }
    fflush(stdout);
    fprintf(stderr, "error: %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    exit(1);
}

void wb_die_at(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    die_v(WB_DIED_FAILED, file, line, fmt, ap);
}

void wb_diverge_at(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    die_v(WB_DIED_DIVERGED, file, line, fmt, ap);
}

int wb_error(WbError *err, const char *fmt, ...) {
    if (!err) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

FILE *fopen_check(const char *path, const char *mode, const char *file, int line) {
    FILE *f = fopen(path, mode);
    if (!f)
        wb_die_at(file, line, "cannot open '%s' (mode %s): %s (check the path exists and is %s)",
                  path, mode, strerror(errno), mode[0] == 'r' ? "readable" : "writable");
    return f;
}

void fread_check(void *dst, size_t size, size_t n, FILE *f, const char *path, const char *file, int line) {
    size_t got = fread(dst, size, n, f);
    if (got != n)
        wb_die_at(file, line, "'%s': read %zu of %zu items of %zu bytes (%s; file truncated?)",
                  path, got, n, size, feof(f) ? "end of file" : strerror(errno));
}

void fwrite_check(const void *src, size_t size, size_t n, FILE *f, const char *path, const char *file, int line) {
    size_t put = fwrite(src, size, n, f);
    if (put != n)
        wb_die_at(file, line, "'%s': wrote %zu of %zu items of %zu bytes: %s (disk full?)",
                  path, put, n, size, strerror(errno));
}
