// memory.h: the tracked allocator. Every buffer of the engine is allocated
// here with a category, so current and peak bytes per category (and overall)
// are exact numbers, logged next to the process peak RSS (VmHWM).
// Not thread-safe: allocate outside parallel regions (no allocation in hot loops).
#ifndef WB_MEMORY_H
#define WB_MEMORY_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    MEM_WEIGHTS = 0,   // parameters (trainable and frozen)
    MEM_GRADIENTS,     // parameter gradients
    MEM_OPTIMIZER,     // optimizer state (momentum, Adam moments)
    MEM_ACTIVATIONS,   // tensors saved by forward for backward
    MEM_WORKSPACE,     // transient buffers (layer outputs, scratch)
    MEM_DATA,          // data sets, batches, decoded images
    MEM_NCAT
} MemCategory;

typedef struct {
    size_t current[MEM_NCAT];
    size_t peak[MEM_NCAT];
    size_t total_current;
    size_t total_peak;       // peak of the sum, not the sum of peaks
    size_t n_allocs;
} MemStats;

const char *mem_category_name(MemCategory c);

// Returns 64-byte aligned, zero-filled memory; dies with file:line on failure.
void *mem_alloc_at(size_t bytes, MemCategory cat, const char *file, int line);
#define mem_alloc(bytes, cat) mem_alloc_at((bytes), (cat), __FILE__, __LINE__)
#define mem_alloc_floats(n, cat) ((float *)mem_alloc_at((size_t)(n) * sizeof(float), (cat), __FILE__, __LINE__))
void *mem_realloc_at(void *p, size_t bytes, const char *file, int line); // keeps the category
#define mem_realloc(p, bytes) mem_realloc_at((p), (bytes), __FILE__, __LINE__)
void mem_free(void *p);                     // NULL is fine
size_t mem_size(const void *p);             // bytes asked for when p was allocated
MemCategory mem_category(const void *p);

// Marks: everything allocated after a mark can be released at once. The
// runner marks before each run and, when a die/CHECK inside the run returns
// to its recovery point (common.h), releases what the run left behind, so a
// failed run leaks nothing and the sweep goes on. Code that keeps a tracked
// block in a static pointer registers a hook that forgets it (a block newer
// than the mark is about to be freed) before mem_release_since frees it.
typedef uint64_t MemMark;
MemMark mem_mark(void);
size_t mem_release_since(MemMark mark);     // frees every live block newer than mark; returns their count
void mem_on_release(void (*forget)(MemMark mark)); // registered once; called by every mem_release_since
int mem_allocated_since(const void *p, MemMark mark); // 1 when p is newer than mark

MemStats mem_stats(void);
void mem_reset_peaks(void);                 // peaks := current (start of a phase/run)
size_t mem_peak_rss_bytes(void);            // VmHWM of this process, 0 if unknown
size_t mem_current_rss_bytes(void);         // VmRSS of this process, 0 if unknown

#endif
