// memory.c: the tracked allocator (see memory.h). Each block carries a
// 64-byte header with its size, category and serial number, linked in
// allocation order, so mem_free needs no lookup and mem_release_since can
// free whatever a failed run left behind.
#include "core/runtime/memory.h"
#include "core/runtime/common.h"

#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define HDR 64
typedef struct Header {
    size_t bytes; int cat; uint32_t magic;
    uint64_t serial;                 // allocation order (mem_mark)
    struct Header *prev, *next;      // the live blocks, oldest first
} Header;
_Static_assert(sizeof(Header) <= HDR, "block header must fit its 64 bytes");
#define MAGIC 0x57424d45u  // "WBME": catches frees of foreign pointers

static MemStats g;
static Header *g_oldest, *g_newest;  // live blocks in allocation order
static uint64_t g_serial;

static void link_block(Header *h) {
    h->serial = ++g_serial;
    h->prev = g_newest; h->next = NULL;
    if (g_newest) g_newest->next = h; else g_oldest = h;
    g_newest = h;
}

static void unlink_block(Header *h) {
    if (h->prev) h->prev->next = h->next; else g_oldest = h->next;
    if (h->next) h->next->prev = h->prev; else g_newest = h->prev;
}

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

// glibc raises its mmap threshold to the size of each mmapped block freed
// (up to 32 MB), so after the load's transients (dense weights, SVD work) the
// buffers of that size come from the heap, and what is freed there stays in
// the process RSS (only the heap's top is trimmed). A fixed threshold keeps
// every large block mmapped: mem_free gives it back to the system at once.
// (Allocation is not in hot loops, so the extra mmap per buffer is cheap.)
static void release_policy_once(void) {
#ifdef __GLIBC__
    static int done;
    if (!done) { mallopt(M_MMAP_THRESHOLD, 256 * 1024); done = 1; }
#endif
}

void *mem_alloc_at(size_t bytes, MemCategory cat, const char *file, int line) {
    if (cat < 0 || cat >= MEM_NCAT) wb_die_at(file, line, "mem_alloc: bad category %d", (int)cat);
    release_policy_once();
    size_t total = HDR + ((bytes + 63) & ~(size_t)63);
    char *raw = aligned_alloc(64, total);
    if (!raw) wb_die_at(file, line, "out of memory allocating %zu bytes of %s (tracked total %zu bytes; reduce batch size or model)",
                        bytes, names[cat], g.total_current);
    memset(raw, 0, total);
    Header *h = (Header *)raw;
    h->bytes = bytes; h->cat = cat; h->magic = MAGIC;
    link_block(h);
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
    unlink_block(h);
    h->magic = 0;
    free(h);
}

MemMark mem_mark(void) { return g_serial; }

#define MAX_RELEASE_HOOKS 16
static void (*g_hooks[MAX_RELEASE_HOOKS])(MemMark);
static int g_nhooks;

void mem_on_release(void (*forget)(MemMark)) {
    for (int i = 0; i < g_nhooks; i++) if (g_hooks[i] == forget) return;
    CHECK(g_nhooks < MAX_RELEASE_HOOKS, "more than %d mem_on_release hooks", MAX_RELEASE_HOOKS);
    g_hooks[g_nhooks++] = forget;
}

size_t mem_release_since(MemMark mark) {
    for (int i = 0; i < g_nhooks; i++) g_hooks[i](mark);   // owners of static pointers forget them first
    size_t n = 0;
    while (g_newest && g_newest->serial > mark) {   // newest first: the list is in serial order
        mem_free((char *)g_newest + HDR);
        n++;
    }
    return n;
}

int mem_allocated_since(const void *p, MemMark mark) { return header_of(p)->serial > mark; }

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
