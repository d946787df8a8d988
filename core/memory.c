// memory.c: the tracked allocator (see memory.h). Each block carries a
// 64-byte header with its size and category, so mem_free needs no lookup.
#include "memory.h"
#include "common.h"

#include <stdlib.h>
#include <string.h>

#define HDR 64
typedef struct { size_t bytes; int cat; uint32_t magic; } Header;
#define MAGIC 0x57424d45u  // "WBME": catches frees of foreign pointers

static MemStats g;

static const char *names[MEM_NCAT] = {"weights", "gradients", "optimizer", "activations", "workspace", "data"};
const char *mem_category_name(MemCategory c) { return (c >= 0 && c < MEM_NCAT) ? names[c] : "?"; }

static void account(int cat, size_t bytes, int sign) {
    if (sign > 0) {
        g.current[cat] += bytes;
        g.total_current += bytes;
        if (g.current[cat] > g.peak[cat]) g.peak[cat] = g.current[cat];
        if (g.total_current > g.total_peak) g.total_peak = g.total_current;
        g.n_allocs++;
    } else {
        g.current[cat] -= bytes;
        g.total_current -= bytes;
    }
}

void *mem_alloc_at(size_t bytes, MemCategory cat, const char *file, int line) {
    if (cat < 0 || cat >= MEM_NCAT) wb_die_at(file, line, "mem_alloc: bad category %d", (int)cat);
    size_t total = HDR + ((bytes + 63) & ~(size_t)63);
    char *raw = aligned_alloc(64, total);
    if (!raw) wb_die_at(file, line, "out of memory allocating %zu bytes of %s (tracked total %zu bytes; reduce batch size or model)",
                        bytes, names[cat], g.total_current);
    memset(raw, 0, total);
    Header *h = (Header *)raw;
    h->bytes = bytes; h->cat = cat; h->magic = MAGIC;
    account(cat, bytes, +1);
    return raw + HDR;
}

static Header *header_of(const void *p) {
    Header *h = (Header *)((char *)p - HDR);
    CHECK(h->magic == MAGIC, "pointer %p was not allocated by mem_alloc (or is freed twice)", p);
    return h;
}

void *mem_realloc_at(void *p, size_t bytes, const char *file, int line) {
    if (!p) wb_die_at(file, line, "mem_realloc of NULL: use mem_alloc with a category");
    Header *h = header_of(p);
    void *q = mem_alloc_at(bytes, (MemCategory)h->cat, file, line);
    memcpy(q, p, h->bytes < bytes ? h->bytes : bytes);
    mem_free(p);
    return q;
}

void mem_free(void *p) {
    if (!p) return;
    Header *h = header_of(p);
    account(h->cat, h->bytes, -1);
    h->magic = 0;
    free(h);
}

size_t mem_size(const void *p) { return header_of(p)->bytes; }
MemCategory mem_category(const void *p) { return (MemCategory)header_of(p)->cat; }
MemStats mem_stats(void) { return g; }

void mem_reset_peaks(void) {
    for (int c = 0; c < MEM_NCAT; c++) g.peak[c] = g.current[c];
    g.total_peak = g.total_current;
}

static size_t status_kb(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    size_t kb = 0, klen = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, klen) == 0) { kb = strtoull(line + klen, NULL, 10); break; }
    fclose(f);
    return kb * 1024;
}
size_t mem_peak_rss_bytes(void) { return status_kb("VmHWM:"); }
size_t mem_current_rss_bytes(void) { return status_kb("VmRSS:"); }
