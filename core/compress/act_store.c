// act_store.c: compressed activation storage for hosvd/asi/wasi and the one
// shared HOSVD workspace per mode count (see act_store.h).
#include "core/compress/act_store.h"
#include "core/runtime/common.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"

#include <string.h>

// One workspace per mode count (2, 3, 4), each buffer sized at the largest
// need of that buffer over the stores alive (hosvd_work_sizes; not at the
// elementwise largest dims, which over Swin's stages is far more than any
// layer uses). It holds no state between calls, so rebuilding it (only ever
// inside act_store_init) loses nothing.
typedef struct {
    HosvdWork w;
    HosvdSizes need;
    int refs, built;
} Pool;
static Pool pools[HOSVD_MAX_MODES + 1];

static HosvdWork *pool_work(int nd) {
    Pool *p = &pools[nd];
    CHECK(p->built, "no HOSVD workspace for %d-mode activations (store not initialised?)", nd);
    return &p->w;
}

// A run that died inside (memory.h): its blocks are about to be released.
// A pool holding any of them is freed whole (its older buffers would leak
// otherwise) and forgotten; the stores that used it belonged to that run.
static int pool_newer(const HosvdWork *w, MemMark mark) {
    const float *p[] = {w->buf[0], w->buf[1], w->gram, w->energy, w->acc, w->vblk, w->fuse, w->z, w->t};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        if (p[i] && mem_allocated_since(p[i], mark)) return 1;
    return 0;
}

static void pools_forget(MemMark mark) {
    for (int nd = 0; nd <= HOSVD_MAX_MODES; nd++) {
        Pool *p = &pools[nd];
        if (p->built && !pool_newer(&p->w, mark)) continue;
        if (p->built) hosvd_work_free(&p->w);   // (not built: a build that died half-way, nothing to keep)
        memset(p, 0, sizeof *p);
    }
}

static void pool_acquire(int nd, const int *dims, const int *ranks, int O, int flags) {
    mem_on_release(pools_forget);
    Pool *p = &pools[nd];
    HosvdSizes s, m;
    hosvd_work_sizes(&s, nd, dims, ranks, O, flags);
    m = p->need;
    hosvd_sizes_max(&m, &s);
    p->refs++;
    if (p->built && !memcmp(&m, &p->need, sizeof m)) return;
    if (p->built) hosvd_work_free(&p->w);
    p->need = m;
    hosvd_work_init_sizes(&p->w, &p->need);
    p->built = 1;
}

static void pool_release(int nd) {
    Pool *p = &pools[nd];
    CHECK(p->refs > 0, "HOSVD workspace released more often than acquired");
    if (--p->refs > 0) return;
    hosvd_work_free(&p->w);
    memset(p, 0, sizeof *p);
}

double tucker_elems(const int *dims, const int *k, int nd) {
    double core = 1, fac = 0;
    for (int n = 0; n < nd; n++) {
        int kn = wb_min(k[n], dims[n]);
        core *= kn;
        fac += (double)dims[n] * kn;
    }
    return core + fac;
}

int act_ranks_given(const MethodConfig *cfg, int nd, const char *name) {
    int pos = 0, zero = 0;
    for (int n = 0; n < nd; n++) {
        CHECK(cfg->act_ranks[n] >= 0, "%s: activation rank k%d = %d < 0", name, n + 1, cfg->act_ranks[n]);
        if (cfg->act_ranks[n] > 0) pos++; else zero++;
    }
    for (int n = nd; n < 4; n++)
        CHECK(cfg->act_ranks[n] == 0, "%s: activation rank k%d = %d given for a %d-mode activation", name, n + 1,
              cfg->act_ranks[n], nd);
    CHECK(pos == 0 || zero == 0, "%s: activation ranks must be all given or all 0 (from energy), got %d of %d", name,
          pos, nd);
    return pos == nd;
}

void act_store_init(ActStore *s, int nd, const int *dims_max, int O, ActMode mode, const float *eps,
                    const int *ranks, uint64_t seed) {
    CHECK(nd >= 2 && nd <= HOSVD_MAX_MODES, "activation of %d modes", nd);
    CHECK(mode == ACT_ENERGY || mode == ACT_FIXED, "unknown activation mode %d", (int)mode);
    CHECK(O >= 1, "contraction width O=%d", O);
    memset(s, 0, sizeof *s);
    s->mode = mode;
    s->nd = nd;
    s->O_max = O;
    int k[HOSVD_MAX_MODES], ones[HOSVD_MAX_MODES];
    for (int n = 0; n < nd; n++) {
        CHECK(dims_max[n] >= 1, "mode %d of size %d", n, dims_max[n]);
        s->dims_max[n] = dims_max[n];
        ones[n] = 1;
        if (mode == ACT_ENERGY) {
            CHECK(eps[n] > 0.0f && eps[n] <= 1.0f, "activation epsilon %g of mode %d outside (0, 1]", (double)eps[n], n);
            s->eps[n] = eps[n];
            k[n] = dims_max[n];   // the exact HOSVD may keep any rank
        } else {
            CHECK(ranks[n] >= 1, "activation rank k%d = %d (must be >= 1)", n + 1, ranks[n]);
            s->ranks[n] = ranks[n];
            k[n] = wb_min(ranks[n], dims_max[n]);
        }
    }
    tucker_init(&s->t, nd, dims_max, mode == ACT_FIXED ? k : ones, seed);
    pool_acquire(nd, dims_max, k, O, mode == ACT_ENERGY ? HOSVD_EXACT : HOSVD_SUBSPACE);
}

void act_store_free(ActStore *s) {
    if (!s->nd) return;
    tucker_free(&s->t);
    pool_release(s->nd);
    memset(s, 0, sizeof *s);
}

void act_store_save(ActStore *s, const float *x, const int *dims, int nd) {
    CHECK(nd == s->nd, "%d-mode activation on a %d-mode store", nd, s->nd);
    for (int n = 0; n < nd; n++)
        CHECK(dims[n] >= 1 && dims[n] <= s->dims_max[n], "mode %d of size %d exceeds the store's %d", n, dims[n],
              s->dims_max[n]);
    Phase prev = phase_set(PHASE_DECOMPOSITION);
    if (s->mode == ACT_ENERGY) hosvd_exact(&s->t, x, dims, s->eps, pool_work(nd));
    else hosvd_subspace(&s->t, x, dims, s->ranks, pool_work(nd));
    phase_set(prev);
    s->saved = 1;
}

void act_store_dw(ActStore *s, float *dW, const float *dy, int O) {
    CHECK(s->saved, "weight gradient from an empty activation store");
    CHECK(O <= s->O_max, "contraction of width %d on a store for %d", O, s->O_max);
    tucker_dw(dW, dy, O, &s->t, pool_work(s->nd));
}

void act_store_contract(ActStore *s, float *T, const float *dy, int O) {
    CHECK(s->saved, "contraction with an empty activation store");
    CHECK(O <= s->O_max, "contraction of width %d on a store for %d", O, s->O_max);
    tucker_contract_dy(T, dy, O, &s->t, pool_work(s->nd));
}

const float *act_store_channel_factor(const ActStore *s, int *k_last) {
    CHECK(s->saved, "channel factor of an empty activation store");
    *k_last = s->t.ranks[s->nd - 1];
    return s->t.U[s->nd - 1];
}

double act_store_numel(const ActStore *s) {
    if (s->saved) return (double)tucker_numel(&s->t);
    if (s->mode == ACT_FIXED) return tucker_elems(s->dims_max, s->ranks, s->nd);
    return 0;
}

size_t act_store_bytes(const ActStore *s) {
    size_t b = mem_size(s->t.core);
    for (int n = 0; n < s->nd; n++) b += mem_size(s->t.U[n]);
    return b;
}

int act_store_ranks(const ActStore *s, int *ranks) {
    for (int n = 0; n < s->nd; n++)
        ranks[n] = s->saved ? s->t.ranks[n] : (s->mode == ACT_FIXED ? wb_min(s->ranks[n], s->dims_max[n]) : 0);
    return s->nd;
}
