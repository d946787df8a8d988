// common.c: the die/error helpers and checked file I/O declared in common.h.
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void wb_die_at(const char *file, int line, const char *fmt, ...) {
    fflush(stdout);
    fprintf(stderr, "error: %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(1);
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
