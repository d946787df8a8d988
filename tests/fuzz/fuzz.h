// fuzz.h: what every libFuzzer target of tests/fuzz/ shares: one private
// temporary directory per fuzzing process (every file a target writes goes
// there, and it is removed at exit), writing the input to a file in it,
// splitting one input into several files, and a check that each input
// leaves the tracked allocator where it found it (LeakSanitizer catches
// untracked leaks; this catches a tracked block kept by a failed open).
// Targets run single-threaded (threads_set(1)): libFuzzer wants that, and
// the tracked allocator is not thread-safe anyway.
#ifndef WB_FUZZ_H
#define WB_FUZZ_H

#include "core/linalg/blas.h"
#include "core/runtime/memory.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// libFuzzer's entry points (prototypes for -Wmissing-prototypes).
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char fz_dir[256];   // "/tmp/wbfuzz-<target>.XXXXXX"

// Remove dir and everything below it (the fuzz tree is shallow: no symlink games).
static inline void fz_rmtree(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char p[1024];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            struct stat st;
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) fz_rmtree(p);
            else unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static inline void fz_cleanup(void) {
    if (fz_dir[0]) fz_rmtree(fz_dir);
}

// Create the private directory under $TMPDIR, else /dev/shm (memory: the
// results writer fsyncs, which costs milliseconds per input on a disk), else
// /tmp; removed at exit.
static inline void fz_setup(const char *target) {
    const char *t = getenv("TMPDIR");
    struct stat st;
    if (!t || !t[0]) t = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(fz_dir, sizeof fz_dir, "%s/wbfuzz-%s.XXXXXX", t, target);
    if (!mkdtemp(fz_dir)) { perror("mkdtemp"); abort(); }
    atexit(fz_cleanup);
    threads_set(1);
}

// fz_dir/rel (rel may contain '/').
static inline void fz_path(char *out, size_t cap, const char *rel) {
    if ((size_t)snprintf(out, cap, "%s/%s", fz_dir, rel) >= cap) abort();
}

static inline void fz_mkdir(const char *rel) {
    char p[512];
    fz_path(p, sizeof p, rel);
    mkdir(p, 0755);
}

// Write n bytes to fz_dir/rel (created or truncated).
static inline void fz_write(const char *rel, const void *data, size_t n) {
    char p[512];
    fz_path(p, sizeof p, rel);
    FILE *f = fopen(p, "wb");
    if (!f) { perror(p); abort(); }
    if (n && fwrite(data, 1, n, f) != n) abort();
    if (fclose(f) != 0) abort();
}

static inline void fz_unlink(const char *rel) {
    char p[512];
    fz_path(p, sizeof p, rel);
    unlink(p);
}

// Split data at each occurrence of the separator line "\n===\n" (at most
// max parts; the last part keeps the rest). Parts point into data.
#define FZ_SEP "\n===\n"
typedef struct { const uint8_t *p; size_t n; } FzPart;
static inline int fz_split(const uint8_t *data, size_t size, FzPart *parts, int max) {
    const size_t sl = sizeof FZ_SEP - 1;
    int n = 0;
    size_t start = 0;
    for (size_t i = 0; n < max - 1 && i + sl <= size; i++)
        if (!memcmp(data + i, FZ_SEP, sl)) {
            parts[n++] = (FzPart){data + start, i - start};
            start = i + sl;
            i += sl - 1;
        }
    parts[n++] = (FzPart){data + start, size - start};
    return n;
}

// Tracked bytes before an input; fz_end aborts (a reported crash) if the
// input left any tracked block behind.
static size_t fz_mem_base;
static inline void fz_begin(void) { fz_mem_base = mem_stats().total_current; }
static inline void fz_end(const char *what) {
    size_t now = mem_stats().total_current;
    if (now != fz_mem_base) {
        fprintf(stderr, "fuzz: %s left %zu tracked bytes allocated (leak through mem_alloc)\n", what, now - fz_mem_base);
        abort();
    }
}

#endif
