// hosvd.c: unfoldings as strided views, exact and subspace-iteration
// HOSVD, and the dW contraction from a Tucker-compressed activation (see hosvd.h).
#include "hosvd.h"
#include "blas.h"
#include "counters.h"
#include "memory.h"
#include "rng.h"

#include <string.h>

// Rows of V (one column block of X_(n)) held at once by the streamed power
// step: V_blk is at most this many floats (or one row of k when k is larger).
#define VBLK_FLOATS ((size_t)1 << 16)

// x as (pre, d_n, post) around mode n.
static void split_dims(const int *dims, int nd, int n, long *pre, int *d, long *post) {
    CHECK(nd >= 2 && nd <= HOSVD_MAX_MODES && n >= 0 && n < nd, "mode %d of a %d-mode tensor", n, nd);
    long a = 1, b = 1;
    for (int i = 0; i < n; i++) a *= dims[i];
    for (int i = n + 1; i < nd; i++) b *= dims[i];
    *pre = a; *d = dims[n]; *post = b;
}

static size_t numel_of(const int *dims, int nd) {
    size_t s = 1;
    for (int i = 0; i < nd; i++) s *= (size_t)dims[i];
    return s;
}

// Grow *p (category cat) to hold need floats; contents are not kept.
static void ensure(float **p, size_t *cap, size_t need, MemCategory cat, int *n_grow) {
    if (need <= *cap && *p) return;
    mem_free(*p);
    *p = mem_alloc_floats(need ? need : 1, cat);
    *cap = need;
    if (n_grow) (*n_grow)++;
}

// --- unfoldings and mode products ---------------------------------------------

void tensor_unfold(float *out, const float *x, const int *dims, int nd, int n) {
    long pre, post; int d;
    split_dims(dims, nd, n, &pre, &d, &post);
    size_t rest = (size_t)pre * post;
    // x[p, i, q] -> X_(n)[i, p post + q]
    for (long p = 0; p < pre; p++)
        for (int i = 0; i < d; i++)
            memcpy(out + (size_t)i * rest + (size_t)p * post, x + ((size_t)p * d + i) * post, (size_t)post * sizeof(float));
}

void tensor_mode_gram(float *G, const float *x, const int *dims, int nd, int n) {
    long pre, post; int d;
    split_dims(dims, nd, n, &pre, &d, &post);
    if (n == nd - 1) { // X_(last) = x^T with x (pre, d): G = x^T x
        gemm(1, 0, d, d, (int)pre, 1.0f, x, d, x, d, 0.0f, G, d);
        return;
    }
    for (long p = 0; p < pre; p++) { // G = sum_p x_p x_p^T, x_p (d, post)
        const float *xp = x + (size_t)p * d * post;
        gemm(0, 1, d, d, (int)post, 1.0f, xp, (int)post, xp, (int)post, p ? 1.0f : 0.0f, G, d);
    }
}

void tensor_mode_product(float *y, const float *x, const int *dims, int nd, int n, const float *A, int e, int transA) {
    long pre, post; int d;
    split_dims(dims, nd, n, &pre, &d, &post);
    int lda = transA ? e : d;
    if (n == nd - 1) { // y (pre,e) = x (pre,d) M^T; M^T = A when transA, else A^T
        gemm(0, transA ? 0 : 1, (int)pre, e, d, 1.0f, x, d, A, lda, 0.0f, y, e);
        return;
    }
    for (long p = 0; p < pre; p++) // y_p (e,post) = M x_p (d,post)
        gemm(transA, 0, e, (int)post, d, 1.0f, A, lda, x + (size_t)p * d * post, (int)post, 0.0f,
             y + (size_t)p * e * post, (int)post);
}

// Largest intermediate of a multi-mode product over `mask` (dims -> e on
// those modes) for any order: after s of the m products the tensor has the
// e-sizes on some s-subset of mask; step s (1-based, s < m) writes buf[(s-1)%2].
static void multi_caps(size_t cap[2], const int *dims, const int *e, int nd, int mask) {
    int m = 0;
    for (int n = 0; n < nd; n++) m += (mask >> n) & 1;
    for (int sub = 1; sub < (1 << nd); sub++) {
        if ((sub & ~mask) || sub == mask) continue;
        int s = 0; size_t sz = 1;
        for (int n = 0; n < nd; n++) {
            int in = (sub >> n) & 1;
            s += in;
            sz *= (size_t)(in ? e[n] : dims[n]);
        }
        if (s < m && sz > cap[(s - 1) % 2]) cap[(s - 1) % 2] = sz;
    }
}

// y = x x_n M_n for every n in mask (M_n from A[n], e[n], transA as in
// tensor_mode_product), in the order with the fewest FLOPs (each product
// costs 2 numel(current) e_n); intermediates in buf[0..1], grown if needed.
static void multi_mode_product(float *y, const float *x, const int *dims, int nd, const float *const *A, const int *e,
                               int mask, int transA, float **buf, size_t *cap, MemCategory cat, int *n_grow) {
    int modes[HOSVD_MAX_MODES], m = 0;
    for (int n = 0; n < nd; n++) if ((mask >> n) & 1) modes[m++] = n;
    CHECK(m >= 1, "multi-mode product over no mode");
    int best[HOSVD_MAX_MODES] = {0}, order[HOSVD_MAX_MODES];
    double best_cost = -1;
    int total = 1;
    for (int i = 0; i < m; i++) total *= m;
    for (int code = 0; code < total; code++) { // every m-digit base-m code; keep the permutations
        int c = code, used = 0, ok = 1;
        for (int i = 0; i < m; i++) {
            int dgt = c % m; c /= m;
            if ((used >> dgt) & 1) { ok = 0; break; }
            used |= 1 << dgt;
            order[i] = modes[dgt];
        }
        if (!ok) continue;
        int cur[HOSVD_MAX_MODES];
        memcpy(cur, dims, (size_t)nd * sizeof(int));
        double cost = 0;
        for (int i = 0; i < m; i++) {
            cost += 2.0 * (double)numel_of(cur, nd) * e[order[i]];
            cur[order[i]] = e[order[i]];
        }
        if (best_cost < 0 || cost < best_cost) { best_cost = cost; memcpy(best, order, sizeof best); }
    }
    int cur[HOSVD_MAX_MODES];
    memcpy(cur, dims, (size_t)nd * sizeof(int));
    const float *src = x;
    for (int i = 0; i < m; i++) {
        int n = best[i];
        float *dst = y;
        int next[HOSVD_MAX_MODES];
        memcpy(next, cur, sizeof next);
        next[n] = e[n];
        if (i < m - 1) {
            ensure(&buf[i % 2], &cap[i % 2], numel_of(next, nd), cat, n_grow);
            dst = buf[i % 2];
        }
        tensor_mode_product(dst, src, cur, nd, n, A[n], e[n], transA);
        memcpy(cur, next, sizeof cur);
        src = dst;
    }
}

// --- Tucker storage -----------------------------------------------------------

void tucker_init(Tucker *t, int nd, const int *dims_max, const int *ranks_max, uint64_t seed) {
    CHECK(nd >= 2 && nd <= HOSVD_MAX_MODES, "Tucker of %d modes", nd);
    memset(t, 0, sizeof *t);
    t->nd = nd;
    t->seed = seed;
    size_t core = 1;
    for (int n = 0; n < nd; n++) {
        CHECK(dims_max[n] >= 1, "mode %d of size %d", n, dims_max[n]);
        int k = ranks_max ? wb_min(ranks_max[n], dims_max[n]) : dims_max[n];
        CHECK(k >= 1, "rank %d of mode %d", k, n);
        t->capU[n] = (size_t)dims_max[n] * k;
        t->U[n] = mem_alloc_floats(t->capU[n], MEM_ACTIVATIONS);
        core *= (size_t)k;
    }
    t->cap_core = core;
    t->core = mem_alloc_floats(core, MEM_ACTIVATIONS);
}

void tucker_free(Tucker *t) {
    for (int n = 0; n < t->nd; n++) mem_free(t->U[n]);
    mem_free(t->core);
    memset(t, 0, sizeof *t);
}

void tucker_reserve(Tucker *t, const int *dims, const int *ranks) {
    size_t core = 1;
    for (int n = 0; n < t->nd; n++) {
        ensure(&t->U[n], &t->capU[n], (size_t)dims[n] * ranks[n], MEM_ACTIVATIONS, NULL);
        core *= (size_t)ranks[n];
    }
    ensure(&t->core, &t->cap_core, core, MEM_ACTIVATIONS, NULL);
}

size_t tucker_numel(const Tucker *t) {
    size_t s = numel_of(t->ranks, t->nd);
    for (int n = 0; n < t->nd; n++) s += (size_t)t->dims[n] * t->ranks[n];
    return s;
}

void tucker_reconstruct(float *xhat, const Tucker *t) {
    CHECK(t->has_factors, "reconstruct of an empty Tucker");
    float *buf[2] = {NULL, NULL};
    size_t cap[2] = {0, 0};
    const float *A[HOSVD_MAX_MODES];
    for (int n = 0; n < t->nd; n++) A[n] = t->U[n];
    // expand core (ranks) -> (dims): A = U (d_n, k_n) used untransposed
    multi_mode_product(xhat, t->core, t->ranks, t->nd, A, t->dims, (1 << t->nd) - 1, 0, buf, cap, MEM_WORKSPACE, NULL);
    mem_free(buf[0]); mem_free(buf[1]);
}

// --- workspace ------------------------------------------------------------------

void hosvd_work_init(HosvdWork *w, int nd, const int *dims_max, const int *ranks_max, int O_max, int flags) {
    CHECK(nd >= 2 && nd <= HOSVD_MAX_MODES, "HOSVD of %d modes", nd);
    CHECK(flags & (HOSVD_EXACT | HOSVD_SUBSPACE) || O_max > 0, "workspace for nothing (flags=%d, O_max=%d)", flags, O_max);
    CHECK(ranks_max || !(flags & HOSVD_SUBSPACE), "the subspace HOSVD needs its fixed ranks_max");
    memset(w, 0, sizeof *w);
    w->nd = nd; w->O = O_max; w->flags = flags;
    size_t total = numel_of(dims_max, nd);
    int dmax = 1, dgram = 0, kmax = 1;
    size_t acc = 0;
    for (int n = 0; n < nd; n++) {
        int d = dims_max[n];
        int k = ranks_max ? wb_min(ranks_max[n], d) : d;
        CHECK(d >= 1 && k >= 1, "mode %d: size %d rank %d", n, d, k);
        w->dims[n] = d; w->ranks[n] = k;
        dmax = wb_max(dmax, d);
        kmax = wb_max(kmax, k);
        if ((size_t)d * k > acc) acc = (size_t)d * k;
        double rest = (double)(total / (size_t)d);
        double dd = d, kk = k;
        w->use_gram[n] = 2.0 * dd * dd * rest + 2.0 * dd * dd * kk < 4.0 * dd * rest * kk;
        if ((flags & HOSVD_EXACT) || ((flags & HOSVD_SUBSPACE) && w->use_gram[n])) dgram = wb_max(dgram, d);
    }
    if (dgram) {
        w->cap_gram = (size_t)dgram * dgram;
        w->gram = mem_alloc_floats(w->cap_gram, MEM_WORKSPACE);
    }
    if (flags & HOSVD_EXACT) {
        eig_work_init(&w->eig, dmax);
        w->energy = mem_alloc_floats(dmax, MEM_WORKSPACE);
    }
    if (flags & HOSVD_SUBSPACE) {
        w->cap_acc = acc;
        w->acc = mem_alloc_floats(acc, MEM_WORKSPACE);
        size_t vneed = 0; // all of V for the largest mode when that is smaller than a block
        for (int n = 0; n < nd; n++) {
            size_t v = total / (size_t)dims_max[n] * (size_t)w->ranks[n];
            if (v > vneed) vneed = v;
        }
        w->cap_vblk = VBLK_FLOATS > (size_t)kmax ? VBLK_FLOATS : (size_t)kmax;
        if (vneed < w->cap_vblk) w->cap_vblk = vneed;
        w->vblk = mem_alloc_floats(w->cap_vblk, MEM_WORKSPACE);
        orth_work_init(&w->orth, dmax, kmax);
    }
    // Rank-sized buffers: from ranks_max, or (ranks_max NULL: ranks from
    // energy, unknown yet) grown on first use to what the data needs.
    size_t cap[2] = {0, 0};
    int all = (1 << nd) - 1;
    if (ranks_max && (flags & (HOSVD_EXACT | HOSVD_SUBSPACE))) multi_caps(cap, dims_max, w->ranks, nd, all);
    if (ranks_max && O_max > 0) {
        int dyd[HOSVD_MAX_MODES];
        memcpy(dyd, dims_max, (size_t)nd * sizeof(int));
        dyd[nd - 1] = O_max;
        multi_caps(cap, dyd, w->ranks, nd, all & ~(1 << (nd - 1)));
        size_t kt = 1;
        for (int n = 0; n < nd - 1; n++) kt *= (size_t)w->ranks[n];
        w->cap_z = kt * O_max;
        w->z = mem_alloc_floats(w->cap_z, MEM_WORKSPACE);
        w->cap_t = (size_t)O_max * w->ranks[nd - 1];
        w->t = mem_alloc_floats(w->cap_t, MEM_WORKSPACE);
    }
    for (int i = 0; i < 2; i++) {
        w->cap_buf[i] = cap[i];
        if (cap[i]) w->buf[i] = mem_alloc_floats(cap[i], MEM_WORKSPACE);
    }
}

void hosvd_work_free(HosvdWork *w) {
    mem_free(w->buf[0]); mem_free(w->buf[1]); mem_free(w->gram); mem_free(w->energy);
    mem_free(w->acc); mem_free(w->vblk); mem_free(w->z); mem_free(w->t);
    if (w->flags & HOSVD_EXACT) eig_work_free(&w->eig);
    if (w->flags & HOSVD_SUBSPACE) orth_work_free(&w->orth);
    memset(w, 0, sizeof *w);
}

static void check_fits(const HosvdWork *w, const int *dims, int nd) {
    CHECK(nd == w->nd, "%d-mode tensor on a %d-mode workspace", nd, w->nd);
    for (int n = 0; n < nd; n++)
        CHECK(dims[n] >= 1 && dims[n] <= w->dims[n], "mode %d of size %d exceeds the workspace's %d", n, dims[n], w->dims[n]);
}

static void core_from_factors(Tucker *t, const float *x, HosvdWork *w) {
    const float *A[HOSVD_MAX_MODES];
    for (int n = 0; n < t->nd; n++) A[n] = t->U[n];
    multi_mode_product(t->core, x, t->dims, t->nd, A, t->ranks, (1 << t->nd) - 1, 1, w->buf, w->cap_buf,
                       MEM_WORKSPACE, &w->n_grow);
}

// --- exact truncated HOSVD ----------------------------------------------------------

void hosvd_exact(Tucker *t, const float *x, const int *dims, const float *eps, HosvdWork *w) {
    int nd = t->nd;
    check_fits(w, dims, nd);
    CHECK(w->flags & HOSVD_EXACT, "hosvd_exact on a workspace built without HOSVD_EXACT");
    for (int n = 0; n < nd; n++) {
        int d = dims[n];
        tensor_mode_gram(w->gram, x, dims, nd, n);
        sym_eig_inplace(w->gram, d, &w->eig);
        for (int c = 0; c < d; c++) w->energy[c] = w->eig.evals[d - 1 - c]; // descending
        int k = energy_rank(w->energy, d, eps[n]);
        ensure(&t->U[n], &t->capU[n], (size_t)d * k, MEM_ACTIVATIONS, &w->n_grow);
        // U[:, c] = eigenvector of the c-th largest eigenvalue = row d-1-c of the overwritten Gram
        float *U = t->U[n];
        for (int c = 0; c < k; c++) {
            const float *v = w->gram + (size_t)(d - 1 - c) * d;
            for (int i = 0; i < d; i++) U[(size_t)i * k + c] = v[i];
        }
        t->dims[n] = d; t->ranks[n] = k;
    }
    ensure(&t->core, &t->cap_core, numel_of(t->ranks, nd), MEM_ACTIVATIONS, &w->n_grow);
    t->has_factors = 1;
    core_from_factors(t, x, w);
}

// --- subspace-iteration HOSVD -------------------------------------------------------

// acc (d,k) = X_(n) V with V (rest,k) = X_(n)^T U (U != NULL) or standard
// Gaussian from rng (U == NULL), one column block of X_(n) at a time so V
// is never materialised: V_blk holds the block's rows of V.
static void mode_power(float *acc, const float *x, const int *dims, int nd, int n, const float *U, int k, Rng *rng,
                       HosvdWork *w) {
    long pre, post; int d;
    split_dims(dims, nd, n, &pre, &d, &post);
    long wmax = (long)(w->cap_vblk / (size_t)k);
    CHECK(wmax >= 1, "V block of %zu floats cannot hold a row of k=%d", w->cap_vblk, k);
    float *vb = w->vblk;
    memset(acc, 0, (size_t)d * k * sizeof(float));
    if (n < nd - 1) {
        for (long p = 0; p < pre; p++) {
            const float *xp = x + (size_t)p * d * post;
            for (long c0 = 0; c0 < post; c0 += wmax) {
                int wb = (int)(post - c0 < wmax ? post - c0 : wmax);
                const float *Xb = xp + c0; // (d, wb), row stride post
                if (U) gemm(1, 0, wb, k, d, 1.0f, Xb, (int)post, U, k, 0.0f, vb, k); // V_b = Xb^T U
                else rng_fill_normal(rng, vb, (long)wb * k, 0.0f, 1.0f);
                gemm(0, 0, d, k, wb, 1.0f, Xb, (int)post, vb, k, 1.0f, acc, k);     // acc += Xb V_b
            }
        }
    } else { // X_(last) = x^T, x (pre, d): a column block of X is a block of rows of x
        for (long r0 = 0; r0 < pre; r0 += wmax) {
            int wb = (int)(pre - r0 < wmax ? pre - r0 : wmax);
            const float *xb = x + (size_t)r0 * d; // (wb, d)
            if (U) gemm(0, 0, wb, k, d, 1.0f, xb, d, U, k, 0.0f, vb, k);             // V_b = xb U
            else rng_fill_normal(rng, vb, (long)wb * k, 0.0f, 1.0f);
            gemm(1, 0, d, k, wb, 1.0f, xb, d, vb, k, 1.0f, acc, k);                  // acc += xb^T V_b
        }
    }
}

void hosvd_subspace(Tucker *t, const float *x, const int *dims, const int *ranks, HosvdWork *w) {
    int nd = t->nd;
    check_fits(w, dims, nd);
    CHECK(w->flags & HOSVD_SUBSPACE, "hosvd_subspace on a workspace built without HOSVD_SUBSPACE");
    for (int n = 0; n < nd; n++) {
        int d = dims[n], k = wb_min(ranks[n], d);
        CHECK(k >= 1, "rank %d of mode %d", ranks[n], n);
        CHECK((size_t)d * k <= w->cap_acc && k <= w->orth.kmax, "mode %d rank %d exceeds the workspace", n, k);
        int warm = t->has_factors && t->dims[n] == d && t->ranks[n] == k;
        if (warm && w->use_gram[n]) {
            ensure(&w->gram, &w->cap_gram, (size_t)d * d, MEM_WORKSPACE, &w->n_grow); // only if use_gram was overridden
            tensor_mode_gram(w->gram, x, dims, nd, n);
            gemm(0, 0, d, k, d, 1.0f, w->gram, d, t->U[n], k, 0.0f, w->acc, k); // (X X^T) U_prev
        } else if (warm) {
            mode_power(w->acc, x, dims, nd, n, t->U[n], k, NULL, w);             // X (X^T U_prev)
        } else {
            Rng rng;
            rng_seed(&rng, t->seed + 7919u * (uint64_t)(n + 1));
            mode_power(w->acc, x, dims, nd, n, NULL, k, &rng, w);                // X G
        }
        orth_inplace(w->acc, d, k, &w->orth);
        ensure(&t->U[n], &t->capU[n], (size_t)d * k, MEM_ACTIVATIONS, &w->n_grow);
        memcpy(t->U[n], w->acc, (size_t)d * k * sizeof(float));
        t->dims[n] = d; t->ranks[n] = k;
    }
    ensure(&t->core, &t->cap_core, numel_of(t->ranks, nd), MEM_ACTIVATIONS, &w->n_grow);
    t->has_factors = 1;
    core_from_factors(t, x, w);
}

// --- weight-gradient contraction ------------------------------------------------------

void tucker_contract_dy(float *T, const float *dy, int O, const Tucker *t, HosvdWork *w) {
    int nd = t->nd, last = nd - 1;
    CHECK(t->has_factors, "contraction with an empty Tucker");
    CHECK(O >= 1, "O=%d", O);
    int dyd[HOSVD_MAX_MODES];
    memcpy(dyd, t->dims, (size_t)nd * sizeof(int));
    dyd[last] = O;
    const float *A[HOSVD_MAX_MODES];
    for (int n = 0; n < nd; n++) A[n] = t->U[n];
    size_t kt = 1;
    for (int n = 0; n < last; n++) kt *= (size_t)t->ranks[n];
    ensure(&w->z, &w->cap_z, kt * O, MEM_WORKSPACE, &w->n_grow);
    int e[HOSVD_MAX_MODES];
    memcpy(e, t->ranks, sizeof e);
    e[last] = O; // untouched mode
    // Z (k_0..k_{nd-2}, O) = dy x_n U_n^T over the token modes
    multi_mode_product(w->z, dy, dyd, nd, A, e, ((1 << nd) - 1) & ~(1 << last), 1, w->buf, w->cap_buf,
                       MEM_WORKSPACE, &w->n_grow);
    // T (O, k_last) = Z_mat^T (O, kt) S_mat (kt, k_last)
    int kl = t->ranks[last];
    gemm(1, 0, O, kl, (int)kt, 1.0f, w->z, O, t->core, kl, 0.0f, T, kl);
}

void tucker_dw(float *dW, const float *dy, int O, const Tucker *t, HosvdWork *w) {
    int last = t->nd - 1, kl = t->ranks[last], I = t->dims[last];
    ensure(&w->t, &w->cap_t, (size_t)O * kl, MEM_WORKSPACE, &w->n_grow);
    tucker_contract_dy(w->t, dy, O, t, w);
    gemm(0, 1, O, I, kl, 1.0f, w->t, kl, t->U[last], kl, 1.0f, dW, I); // dW += T U_last^T
}
