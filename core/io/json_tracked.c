// json_tracked.c: cJSON's allocation hooks onto the tracked allocator (see json_tracked.h).
#include "core/io/json_tracked.h"

#include <cJSON.h>

static MemCategory g_cat = MEM_WORKSPACE;
static void *cj_malloc(size_t n) { return mem_alloc(n, g_cat); }
static void cj_free(void *p) { mem_free(p); }

void json_tracked_begin(MemCategory cat) {
    g_cat = cat;
    cJSON_Hooks h = {cj_malloc, cj_free};
    cJSON_InitHooks(&h);
}

void json_tracked_end(void) { cJSON_InitHooks(NULL); }
