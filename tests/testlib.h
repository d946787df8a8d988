// testlib.h: the small test framework of wasibench. A test binary runs
// named cases; each prints "PASS name" or "FAIL name" and tests/run.sh adds
// them up into "N passed, M failed". Comparisons have an absolute and a
// relative term and print the max difference and the first bad pairs.
#ifndef WB_TESTLIB_H
#define WB_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

extern int tl_case_failed;   // set by a failing check inside the running case

// Run fn as the case `name`; returns 1 if it passed. A case with no checks passes.
int tl_run(const char *name, void (*fn)(void));
#define RUN(fn) tl_run(#fn, fn)
// Print the summary for this binary and return its exit code (0 = all passed).
int tl_finish(void);
// Case filter: argv[1] if given runs only cases whose name contains it.
void tl_init(int argc, char **argv);

#define EXPECT(cond, ...) tl_expect((cond), #cond, __FILE__, __LINE__, __VA_ARGS__)
void tl_expect(int ok, const char *expr, const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

// |a-b| <= atol + rtol*|b| elementwise (b is the reference). Returns the max
// abs difference; on failure prints it, the worst element and the first pairs.
double tl_close(const char *what, const float *a, const float *b, size_t n, double atol, double rtol,
                const char *file, int line);
#define EXPECT_CLOSE(what, a, b, n, atol, rtol) tl_close((what), (a), (b), (n), (atol), (rtol), __FILE__, __LINE__)
// Same for one scalar.
#define EXPECT_NEAR(what, a, b, atol, rtol) do { float _a = (float)(a), _b = (float)(b); tl_close((what), &_a, &_b, 1, (atol), (rtol), __FILE__, __LINE__); } while (0)
// Fails when every element is zero (a gradient check must not pass on nothing).
void tl_nonzero(const char *what, const float *a, size_t n, const char *file, int line);
#define EXPECT_NONZERO(what, a, n) tl_nonzero((what), (a), (n), __FILE__, __LINE__)

// Relative error summary used in reports: max|a-b| / max|b|.
double tl_max_abs_diff(const float *a, const float *b, size_t n);
double tl_max_abs(const float *a, size_t n);

// Scratch directory for files a test generates (tests/data/gen/<build dir>/<binary>), created on demand.
const char *tl_tmpdir(void);

// A random batch: img (B, channels, size, size) ~ N(0, 1), y (B) uniform in [0, classes).
void tl_random_batch(float *img, int *y, int B, int channels, int size, int classes, uint64_t seed);

#endif
