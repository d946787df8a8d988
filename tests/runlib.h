// runlib.h: fixtures shared by the tests that drive the wasibench binary
// (test_runner.c, test_faults.c): where the binary is, a small learnable
// IDX data set, and whole-file writes. Linked into every test (Makefile:
// every tests/*.c that is not a test_*.c program is a shared helper).
#ifndef WB_RUNLIB_H
#define WB_RUNLIB_H

#include <stddef.h>
#include <stdint.h>

// The wasibench beside this test's build dir: build/tests/test_x -> build/wasibench,
// made absolute from the working directory when `absolute` is 1 (children that
// change user need it). Returns 0, or -1 after printing "FAIL setup: ..." when
// it is not built.
int rl_find_wasibench(char *bin, size_t cap, const char *argv0, int absolute);

// A learnable 10-class IDX set <dir>/<prefix>-{images-idx3,labels-idx1}-ubyte
// of n 28x28 images: class c (= i mod 10) lights a different 7x7 block, plus
// noise from a seeded RNG.
void rl_make_idx(const char *dir, const char *prefix, int n, uint64_t seed);

// Write text to path (dies when it cannot).
void rl_write_file(const char *path, const char *text);

// The whole file (mem_alloc'd, *n bytes; NULL when absent), for "unchanged" checks.
unsigned char *rl_slurp(const char *path, size_t *n);
// 1 when the file at path holds exactly the n bytes b.
int rl_same_bytes(const char *path, const unsigned char *b, size_t n);

#endif
