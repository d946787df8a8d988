// testlib.c: see testlib.h.
#include "testlib.h"
#include "core/rng.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int tl_case_failed;
static int n_pass, n_fail;
static const char *filter;
static const char *prog = "test";
static char build_tag[128] = "build";   // the build dir of this binary: build, build-san, ...

void tl_init(int argc, char **argv) {
    if (argc > 1) filter = argv[1];
    const char *slash = strrchr(argv[0], '/');
    prog = slash ? slash + 1 : argv[0];
    // argv[0] is <build>/tests/<prog>: keep <build>'s name, so the normal and
    // the sanitizer build never read each other's generated files.
    char path[512];
    snprintf(path, sizeof path, "%s", argv[0]);
    char *s = strrchr(path, '/');
    if (s) { *s = 0; s = strrchr(path, '/'); }   // drop /<prog>
    if (s) { *s = 0; s = strrchr(path, '/'); }   // drop /tests
    const char *tag = s ? s + 1 : path;
    if (strrchr(argv[0], '/') && strlen(tag) < sizeof build_tag) memcpy(build_tag, tag, strlen(tag) + 1);
}

int tl_run(const char *name, void (*fn)(void)) {
    if (filter && !strstr(name, filter)) return 1;
    tl_case_failed = 0;
    fn();
    if (tl_case_failed) { n_fail++; printf("FAIL %s\n", name); }
    else { n_pass++; printf("PASS %s\n", name); }
    fflush(stdout);
    return !tl_case_failed;
}

int tl_finish(void) {
    printf("%s: %d passed, %d failed\n", prog, n_pass, n_fail);
    return n_fail ? 1 : 0;
}

void tl_expect(int ok, const char *expr, const char *file, int line, const char *fmt, ...) {
    if (ok) return;
    tl_case_failed = 1;
    printf("  %s:%d: expected %s: ", file, line, expr);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

double tl_max_abs_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) { double d = fabs((double)a[i] - (double)b[i]); if (!(d <= m)) m = d; }
    return m;
}

double tl_max_abs(const float *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) { double d = fabs((double)a[i]); if (d > m) m = d; }
    return m;
}

double tl_close(const char *what, const float *a, const float *b, size_t n, double atol, double rtol,
                const char *file, int line) {
    double maxd = 0; size_t worst = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        int ok = d <= atol + rtol * fabs((double)b[i]);   // NaN fails here
        if (!ok) bad++;
        if (!(d <= maxd)) { maxd = d; worst = i; }
    }
    if (bad) {
        tl_case_failed = 1;
        printf("  %s:%d: %s: %zu of %zu elements differ (atol %.3g rtol %.3g); max |diff| %.6g at [%zu]: got %.8g want %.8g\n",
               file, line, what, bad, n, atol, rtol, maxd, worst, (double)a[worst], (double)b[worst]);
        int shown = 0;
        for (size_t i = 0; i < n && shown < 5; i++) {
            double d = fabs((double)a[i] - (double)b[i]);
            if (!(d <= atol + rtol * fabs((double)b[i]))) { printf("    [%zu] got %.8g want %.8g\n", i, (double)a[i], (double)b[i]); shown++; }
        }
    }
    return maxd;
}

void tl_nonzero(const char *what, const float *a, size_t n, const char *file, int line) {
    for (size_t i = 0; i < n; i++) if (a[i] != 0.0f) return;
    tl_case_failed = 1;
    printf("  %s:%d: %s: all %zu elements are zero (a check on nothing proves nothing)\n", file, line, what, n);
}

const char *tl_tmpdir(void) {
    static char dir[512];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "tests/data/gen/%s/%s", build_tag, prog);
        char cmd[600];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
        if (system(cmd) != 0) { fprintf(stderr, "cannot create %s\n", dir); exit(1); }
    }
    return dir;
}

void tl_random_batch(float *img, int *y, int B, int channels, int size, int classes, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    rng_fill_normal(&r, img, (long)B * channels * size * size, 0, 1);
    for (int i = 0; i < B; i++) y[i] = (int)rng_below(&r, (uint32_t)classes);
}
