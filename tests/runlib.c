// runlib.c: the fixtures of tests/runlib.h.
#include "tests/runlib.h"
#include "core/runtime/common.h"
#include "core/runtime/memory.h"
#include "core/runtime/rng.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int rl_find_wasibench(char *bin, size_t cap, const char *argv0, int absolute) {
    char rel[1024];
    snprintf(rel, sizeof rel, "%s", argv0);
    for (int up = 0; up < 2; up++) {   // drop the program name, then tests/
        char *slash = strrchr(rel, '/');
        if (slash) *slash = 0; else snprintf(rel, sizeof rel, ".");
    }
    char cwd[1024] = "";
    if (absolute && rel[0] != '/' && !getcwd(cwd, sizeof cwd)) { printf("FAIL setup: getcwd failed\n"); return -1; }
    size_t k = (size_t)snprintf(bin, cap, "%s%s%s/wasibench", cwd, cwd[0] ? "/" : "", rel);
    if (k >= cap) { printf("FAIL setup: path of wasibench too long\n"); return -1; }
    if (access(bin, X_OK) != 0) { printf("FAIL setup: %s not built\n", bin); return -1; }
    return 0;
}

static void write_be32(FILE *f, uint32_t v) {
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
    fwrite(b, 1, 4, f);
}

void rl_make_idx(const char *dir, const char *prefix, int n, uint64_t seed) {
    char p[800];
    Rng r;
    rng_seed(&r, seed);
    snprintf(p, sizeof p, "%s/%s-images-idx3-ubyte", dir, prefix);
    FILE *fi = fopen(p, "wb");
    snprintf(p, sizeof p, "%s/%s-labels-idx1-ubyte", dir, prefix);
    FILE *fl = fopen(p, "wb");
    CHECK(fi && fl, "cannot write IDX files in %s", dir);
    write_be32(fi, 0x803); write_be32(fi, (uint32_t)n); write_be32(fi, 28); write_be32(fi, 28);
    write_be32(fl, 0x801); write_be32(fl, (uint32_t)n);
    unsigned char img[28 * 28];
    for (int i = 0; i < n; i++) {
        int c = i % 10;
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) {
                int on = (y / 7 == c / 4) && (x / 7 == c % 4);
                img[y * 28 + x] = (unsigned char)(on ? 160 + rng_below(&r, 90) : rng_below(&r, 60));
            }
        fwrite(img, 1, sizeof img, fi);
        unsigned char lab = (unsigned char)c;
        fwrite(&lab, 1, 1, fl);
    }
    fclose(fi);
    fclose(fl);
}

void rl_write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECK(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

// The whole file, for "unchanged" checks (mem_alloc'd; *n bytes; NULL if absent).
unsigned char *rl_slurp(const char *path, size_t *n) {
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = mem_alloc((size_t)sz + 1, MEM_WORKSPACE);
    *n = fread(b, 1, (size_t)sz, f);
    fclose(f);
    return b;
}

int rl_same_bytes(const char *path, const unsigned char *b, size_t n) {
    size_t m;
    unsigned char *c = rl_slurp(path, &m);
    int same = c && b && m == n && !memcmp(b, c, n);
    mem_free(c);
    return same;
}
