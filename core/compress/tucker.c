// tucker.c: unfoldings as strided views, exact and subspace-iteration
// HOSVD, and the dW contraction from a Tucker-compressed activation (see tucker.h).
#include "core/compress/tucker.h"
#include "core/linalg/blas.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"
#include "core/runtime/rng.h"

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
    // y_p (e,post) = M x_p (d,post) for each of the pre slices. These are
    // small or skinny (e = a rank) products that OpenBLAS runs badly one
    // after another on several threads: they run as lanes (blas.h), over
    // the slices, or for one slice over column ranges of x_p. The outputs
    // are disjoint, so no sum depends on the split.
    int lanes = pre > 1 ? (int)wb_min(pre, HOSVD_LANES) : (e < 64 && post >= 64 * HOSVD_LANES ? HOSVD_LANES : 1);
    if (lanes == 1) {
        gemm(transA, 0, e, (int)post, d, 1.0f, A, lda, x, (int)post, 0.0f, y, (int)post);
        return;
    }
    int serial = blas_serial_begin();
#pragma omp parallel for schedule(static)
    for (int l = 0; l < lanes; l++) {
        if (pre > 1) {
            for (long p = pre * l / lanes; p < pre * (l + 1) / lanes; p++)
                gemm_lane(transA, 0, e, (int)post, d, 1.0f, A, lda, x + (size_t)p * d * post, (int)post, 0.0f,
                          y + (size_t)p * e * post, (int)post);
        } else {
            long lo = post * l / lanes, hi = post * (l + 1) / lanes;
            gemm_lane(transA, 0, e, (int)(hi - lo), d, 1.0f, A, lda, x + lo, (int)post, 0.0f, y + lo, (int)post);
        }
    }
    blas_serial_end(serial);
    flops_add(2.0 * e * (double)post * d * pre);
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

// The subspace step of mode n by FLOPs: (X X^T) U_prev when cheaper than X (X^T U_prev).
static int gram_cheaper(double d, double rest, double k) {
    return 2.0 * d * d * rest + 2.0 * d * d * k < 4.0 * d * rest * k;
}

// Columns of X_(0) per block of the fused step's mode-0 pass: a (B, wb)
// block of ~FUSE_BLOCK_BYTES (2048 columns at B = 128), read again by the
// second product from the lane's L2 cache.
#define FUSE_BLOCK_BYTES ((size_t)1 << 20)
static int fuse_block(int B, size_t NC) {
    size_t w = FUSE_BLOCK_BYTES / (sizeof(float) * (size_t)B);
    w = w < 64 ? 64 : w / 16 * 16;
    return (int)(w < NC ? w : NC);
}

// Samples per product of the fused step's mode-2 pass inside a lane: the
// products x_s U2 and x_s^T P over FUSE_SUB samples at once (K = FUSE_SUB N
// instead of N).
#define FUSE_SUB 4

// Floats of one lane of the fused 3-mode step for (B,N,C) and ranks k
// (clipped): A0 (B,k0), a V0 block (wb,k0), Z (C,k1), A1 (N,k1), P (FUSE_SUB N, k2), A2 (C,k2).
static size_t lane_floats(const int *dims, const int *k) {
    size_t B = (size_t)dims[0], N = (size_t)dims[1], C = (size_t)dims[2];
    size_t k0 = (size_t)k[0], k1 = (size_t)k[1], k2 = (size_t)k[2];
    size_t wb = (size_t)fuse_block(dims[0], N * C);
    return B * k0 + wb * k0 + C * k1 + N * k1 + (size_t)FUSE_SUB * N * k2 + C * k2;
}

static size_t fuse_floats(const int *dims, const int *k) { return (size_t)HOSVD_LANES * lane_floats(dims, k); }

void hosvd_work_sizes(HosvdSizes *s, int nd, const int *dims, const int *ranks, int O, int flags) {
    CHECK(nd >= 2 && nd <= HOSVD_MAX_MODES, "HOSVD of %d modes", nd);
    CHECK(flags & (HOSVD_EXACT | HOSVD_SUBSPACE) || O > 0, "workspace for nothing (flags=%d, O=%d)", flags, O);
    CHECK(ranks || !(flags & HOSVD_SUBSPACE), "the subspace HOSVD needs its fixed ranks");
    memset(s, 0, sizeof *s);
    s->nd = nd; s->flags = flags; s->O = O;
    size_t total = numel_of(dims, nd), vneed = 0;
    int k[HOSVD_MAX_MODES], dgram = 0, kmax = 1;
    for (int n = 0; n < nd; n++) {
        int d = dims[n];
        k[n] = ranks ? wb_min(ranks[n], d) : d;
        CHECK(d >= 1 && k[n] >= 1, "mode %d: size %d rank %d", n, d, k[n]);
        s->dmax = wb_max(s->dmax, d);
        kmax = wb_max(kmax, k[n]);
        size_t rest = total / (size_t)d;
        if ((size_t)d * k[n] > s->acc) s->acc = (size_t)d * k[n];
        if (rest * (size_t)k[n] > vneed) vneed = rest * (size_t)k[n];
        if ((flags & HOSVD_EXACT) || ((flags & HOSVD_SUBSPACE) && gram_cheaper(d, (double)rest, k[n]))) dgram = wb_max(dgram, d);
    }
    s->gram = (size_t)dgram * dgram;
    if (flags & HOSVD_EXACT) s->deig = s->dmax;
    if (flags & HOSVD_SUBSPACE) {
        s->kmax = kmax;
        s->vblk = VBLK_FLOATS > (size_t)kmax ? VBLK_FLOATS : (size_t)kmax;
        if (vneed < s->vblk) s->vblk = vneed;   // all of V for the largest mode when that is smaller than a block
        if (nd == 3) s->fuse = fuse_floats(dims, k);
    } else {
        s->acc = 0;
    }
    // Rank-sized buffers: from ranks, or (NULL: ranks from energy, unknown yet)
    // grown on first use to what the data needs.
    if (!ranks) return;
    int all = (1 << nd) - 1;
    if (flags & (HOSVD_EXACT | HOSVD_SUBSPACE)) multi_caps(s->buf, dims, k, nd, all);
    if (O > 0) {
        int dyd[HOSVD_MAX_MODES];
        memcpy(dyd, dims, (size_t)nd * sizeof(int));
        dyd[nd - 1] = O;
        multi_caps(s->buf, dyd, k, nd, all & ~(1 << (nd - 1)));
        size_t kt = 1;
        for (int n = 0; n < nd - 1; n++) kt *= (size_t)k[n];
        s->z = kt * (size_t)O;
        s->t = (size_t)O * k[nd - 1];
    }
}

#define SZMAX(f) a->f = a->f > b->f ? a->f : b->f
void hosvd_sizes_max(HosvdSizes *a, const HosvdSizes *b) {
    if (!a->nd) { *a = *b; return; }
    CHECK(a->nd == b->nd, "sizes of %d and %d modes", a->nd, b->nd);
    a->flags |= b->flags;
    SZMAX(O); SZMAX(dmax); SZMAX(kmax); SZMAX(deig); SZMAX(gram); SZMAX(acc); SZMAX(vblk); SZMAX(fuse);
    SZMAX(buf[0]); SZMAX(buf[1]); SZMAX(z); SZMAX(t);
}
#undef SZMAX

double hosvd_sizes_floats(const HosvdSizes *s) {
    double f = (double)s->gram + (double)s->acc + (double)s->vblk + (double)s->fuse + (double)s->buf[0] +
               (double)s->buf[1] + (double)s->z + (double)s->t;
    if (s->deig) f += 2.0 * s->deig;     // energy + the eigenvalues (ssyevd's work arrays are queried: left out)
    if (s->flags & HOSVD_SUBSPACE) f += s->kmax;   // orth tau (its work array is queried: left out)
    return f;
}

static float *alloc_or_null(size_t n) { return n ? mem_alloc_floats(n, MEM_WORKSPACE) : NULL; }

void hosvd_work_init_sizes(HosvdWork *w, const HosvdSizes *s) {
    CHECK(s->nd >= 2 && s->nd <= HOSVD_MAX_MODES, "HOSVD of %d modes", s->nd);
    memset(w, 0, sizeof *w);
    w->nd = s->nd; w->O = s->O; w->flags = s->flags;
    w->cap = *s;
    for (int n = 0; n < s->nd; n++) w->use_gram[n] = -1;
    w->cap_gram = s->gram; w->gram = alloc_or_null(s->gram);
    if (s->deig) {
        eig_work_init(&w->eig, s->deig);
        w->energy = mem_alloc_floats((size_t)s->deig, MEM_WORKSPACE);
    }
    if (s->flags & HOSVD_SUBSPACE) {
        w->cap_acc = s->acc; w->acc = alloc_or_null(s->acc);
        w->cap_vblk = s->vblk; w->vblk = alloc_or_null(s->vblk);
        w->cap_fuse = s->fuse; w->fuse = alloc_or_null(s->fuse);
        orth_work_init(&w->orth, s->dmax, s->kmax);
    }
    w->cap_z = s->z; w->z = alloc_or_null(s->z);
    w->cap_t = s->t; w->t = alloc_or_null(s->t);
    for (int i = 0; i < 2; i++) { w->cap_buf[i] = s->buf[i]; w->buf[i] = alloc_or_null(s->buf[i]); }
}

void hosvd_work_init(HosvdWork *w, int nd, const int *dims_max, const int *ranks_max, int O_max, int flags) {
    HosvdSizes s;
    hosvd_work_sizes(&s, nd, dims_max, ranks_max, O_max, flags);
    hosvd_work_init_sizes(w, &s);
    size_t total = numel_of(dims_max, nd);
    for (int n = 0; n < nd; n++) {
        int d = dims_max[n], k = ranks_max ? wb_min(ranks_max[n], d) : d;
        w->dims[n] = d; w->ranks[n] = k;
        w->use_gram[n] = gram_cheaper(d, (double)(total / (size_t)d), k);
    }
}

void hosvd_work_free(HosvdWork *w) {
    mem_free(w->buf[0]); mem_free(w->buf[1]); mem_free(w->gram); mem_free(w->energy);
    mem_free(w->acc); mem_free(w->vblk); mem_free(w->fuse); mem_free(w->z); mem_free(w->t);
    if (w->cap.deig) eig_work_free(&w->eig);
    if (w->flags & HOSVD_SUBSPACE) orth_work_free(&w->orth);
    memset(w, 0, sizeof *w);
}

static void check_fits(const HosvdWork *w, const int *dims, int nd) {
    CHECK(nd == w->nd, "%d-mode tensor on a %d-mode workspace", nd, w->nd);
    for (int n = 0; n < nd; n++) CHECK(dims[n] >= 1, "mode %d of size %d", n, dims[n]);
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
        CHECK((size_t)d * d <= w->cap_gram && d <= w->eig.nmax, "mode %d of size %d exceeds the workspace", n, d);
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

// Cost of the core's multi-mode product in its cheapest order (as
// multi_mode_product picks it), and the same with mode `first` forced first.
static void core_costs(const int *dims, const int *k, int nd, int first, double *best, double *with_first) {
    *best = -1; *with_first = -1;
    int perm[HOSVD_MAX_MODES], total = 1;
    for (int i = 0; i < nd; i++) total *= nd;
    for (int code = 0; code < total; code++) {
        int c = code, used = 0, ok = 1;
        for (int i = 0; i < nd; i++) {
            int dgt = c % nd; c /= nd;
            if ((used >> dgt) & 1) { ok = 0; break; }
            used |= 1 << dgt;
            perm[i] = dgt;
        }
        if (!ok) continue;
        int cur[HOSVD_MAX_MODES];
        memcpy(cur, dims, (size_t)nd * sizeof(int));
        double cost = 0;
        for (int i = 0; i < nd; i++) { cost += 2.0 * (double)numel_of(cur, nd) * k[perm[i]]; cur[perm[i]] = k[perm[i]]; }
        if (*best < 0 || cost < *best) *best = cost;
        if (perm[0] == first && (*with_first < 0 || cost < *with_first)) *with_first = cost;
    }
}

// [lo, hi) of n items for lane l of HOSVD_LANES (contiguous, in order).
static void lane_range(long n, int l, long *lo, long *hi) {
    *lo = n * l / HOSVD_LANES;
    *hi = n * (l + 1) / HOSVD_LANES;
}

// dst (n) = sum over the lanes of the (n) partials at p + l stride, in lane
// order (the same sum at any thread count); charges its adds.
static void lanes_sum(float *dst, const float *p, size_t stride, size_t n) {
    memcpy(dst, p, n * sizeof(float));
    for (int l = 1; l < HOSVD_LANES; l++)
        for (size_t i = 0; i < n; i++) dst[i] += p[(size_t)l * stride + i];
    flops_add((double)(HOSVD_LANES - 1) * (double)n);
}

// The fused warm step of a 3-mode x (B,N,C) (see tucker.h): the products of
// the per-mode route, grouped so that each lane (HOSVD_LANES of them, in an
// OpenMP loop, each on one BLAS thread) streams its share of x through
// cache: a range of X_(0)'s columns for mode 0 and for the core's first
// product when it is along mode 0, a range of samples for modes 1 and 2 (and
// the first product along mode 1). Lane partial sums are added in lane
// order. Writes the new factors and the core into t.
static void subspace_fused(Tucker *t, const float *x, const int *dims, const int *k, int first, HosvdWork *w) {
    const int B = dims[0], N = dims[1], C = dims[2], k0 = k[0], k1 = k[1], k2 = k[2];
    const size_t ld = (size_t)N * C, lane = lane_floats(dims, k);
    int wb = fuse_block(B, ld);                         // columns of X_(0) per block
    if (w->fuse_cols > 0 && w->fuse_cols < wb) wb = w->fuse_cols;
    float *Y = w->buf[0];                               // x x_first U_first^T
    const float *U0 = t->U[0], *U1 = t->U[1], *U2 = t->U[2];
    // lane l's buffers at w->fuse + l lane: A0, V0 block, Z, A1, P, A2
    const size_t oV0 = (size_t)B * k0, oZ = oV0 + (size_t)fuse_block(B, ld) * k0, oA1 = oZ + (size_t)C * k1;
    const size_t oP = oA1 + (size_t)N * k1, oA2 = oP + (size_t)FUSE_SUB * N * k2;
    int serial = blas_serial_begin();
    // mode 0: lane l takes a range of X_(0)'s columns, block by block: V0_b = Xb^T U0_prev, A0_l += Xb V0_b
#pragma omp parallel for schedule(static)
    for (int l = 0; l < HOSVD_LANES; l++) {
        float *A0 = w->fuse + l * lane, *V0 = A0 + oV0;
        long lo, hi;
        lane_range((long)ld, l, &lo, &hi);
        memset(A0, 0, (size_t)B * k0 * sizeof(float));
        for (long c0 = lo; c0 < hi; c0 += wb) {
            int nb = (int)(hi - c0 < wb ? hi - c0 : wb);
            gemm_lane(1, 0, nb, k0, B, 1.0f, x + c0, (int)ld, U0, k0, 0.0f, V0, k0);
            gemm_lane(0, 0, B, k0, nb, 1.0f, x + c0, (int)ld, V0, k0, 1.0f, A0, k0);
        }
    }
    blas_serial_end(serial);
    flops_add(4.0 * B * (double)ld * k0);
    lanes_sum(t->U[0], w->fuse, lane, (size_t)B * k0);
    orth_inplace(t->U[0], B, k0, &w->orth);
    serial = blas_serial_begin();
    // modes 1 and 2 (and the core's first product along mode 0 or 1): lane l takes a range of samples
#pragma omp parallel for schedule(static)
    for (int l = 0; l < HOSVD_LANES; l++) {
        float *L0 = w->fuse + l * lane, *Z = L0 + oZ, *A1 = L0 + oA1, *P = L0 + oP, *A2 = L0 + oA2;
        long lo, hi;
        if (first == 0) {                               // Y (k0, N C) = U0^T X_(0), this lane's columns
            lane_range((long)ld, l, &lo, &hi);
            if (hi > lo) gemm_lane(1, 0, k0, (int)(hi - lo), B, 1.0f, t->U[0], k0, x + lo, (int)ld, 0.0f, Y + lo, (int)ld);
        }
        lane_range(B, l, &lo, &hi);
        memset(A1, 0, (size_t)N * k1 * sizeof(float));
        memset(A2, 0, (size_t)C * k2 * sizeof(float));
        for (long b = lo; b < hi; b++) {
            const float *xb = x + (size_t)b * ld;
            gemm_lane(1, 0, C, k1, N, 1.0f, xb, C, U1, k1, 0.0f, Z, k1);        // Z = x_b^T U1_prev
            gemm_lane(0, 0, N, k1, C, 1.0f, xb, C, Z, k1, 1.0f, A1, k1);        // A1 += x_b Z
        }
        for (long s0 = lo; s0 < hi; s0 += FUSE_SUB) {
            int ns = (int)(hi - s0 < FUSE_SUB ? hi - s0 : FUSE_SUB);
            const float *xs = x + (size_t)s0 * ld;                            // (ns N, C)
            gemm_lane(0, 0, ns * N, k2, C, 1.0f, xs, C, U2, k2, 0.0f, P, k2);   // P = x_s U2_prev
            gemm_lane(1, 0, C, k2, ns * N, 1.0f, xs, C, P, k2, 1.0f, A2, k2);   // A2 += x_s^T P
        }
    }
    blas_serial_end(serial);
    flops_add(4.0 * B * (double)ld * (k1 + k2) + (first == 0 ? 2.0 * k0 * (double)ld * B : 0.0));
    lanes_sum(t->U[1], w->fuse + oA1, lane, (size_t)N * k1);
    orth_inplace(t->U[1], N, k1, &w->orth);
    lanes_sum(t->U[2], w->fuse + oA2, lane, (size_t)C * k2);
    orth_inplace(t->U[2], C, k2, &w->orth);
    if (first == 1) {                                   // Y (B,k1,C) = x x_1 U1^T, per sample
        serial = blas_serial_begin();
#pragma omp parallel for schedule(static)
        for (int b = 0; b < B; b++)
            gemm_lane(1, 0, k1, C, N, 1.0f, t->U[1], k1, x + (size_t)b * ld, C, 0.0f, Y + (size_t)b * k1 * C, C);
        blas_serial_end(serial);
        flops_add(2.0 * B * (double)k1 * C * N);
    }
    if (first == 2)                                     // Y (B N, k2) = x U2, one product
        gemm(0, 0, B * N, k2, C, 1.0f, x, C, t->U[2], k2, 0.0f, Y, k2);
    // core = Y along the two other modes, the cheaper order, intermediate in buf[1]
    int yd[3] = {B, N, C};
    yd[first] = k[first];
    int r1 = first == 0 ? 1 : 0, r2 = first == 2 ? 1 : 2;
    double ny = (double)numel_of(yd, 3);
    double c12 = 2.0 * ny * k[r1] + 2.0 * ny / yd[r1] * k[r1] * k[r2];
    double c21 = 2.0 * ny * k[r2] + 2.0 * ny / yd[r2] * k[r2] * k[r1];
    if (c21 < c12) { int tmp = r1; r1 = r2; r2 = tmp; }
    int mid[3] = {yd[0], yd[1], yd[2]};
    mid[r1] = k[r1];
    ensure(&w->buf[1], &w->cap_buf[1], numel_of(mid, 3), MEM_WORKSPACE, &w->n_grow);
    tensor_mode_product(w->buf[1], Y, yd, 3, r1, t->U[r1], k[r1], 1);
    tensor_mode_product(t->core, w->buf[1], mid, 3, r2, t->U[r2], k[r2], 1);
}

void hosvd_subspace(Tucker *t, const float *x, const int *dims, const int *ranks, HosvdWork *w) {
    int nd = t->nd;
    check_fits(w, dims, nd);
    CHECK(w->flags & HOSVD_SUBSPACE, "hosvd_subspace on a workspace built without HOSVD_SUBSPACE");
    int k[HOSVD_MAX_MODES], gram[HOSVD_MAX_MODES], all_warm = 1, any_gram = 0;
    size_t total = numel_of(dims, nd);
    for (int n = 0; n < nd; n++) {
        int d = dims[n];
        k[n] = wb_min(ranks[n], d);
        CHECK(k[n] >= 1, "rank %d of mode %d", ranks[n], n);
        CHECK((size_t)d * k[n] <= w->cap_acc && k[n] <= w->orth.kmax && d <= w->orth.mmax,
              "mode %d (size %d, rank %d) exceeds the workspace", n, d, k[n]);
        gram[n] = w->use_gram[n] < 0 ? gram_cheaper(d, (double)(total / (size_t)d), k[n]) : w->use_gram[n];
        all_warm &= t->has_factors && t->dims[n] == d && t->ranks[n] == k[n];
        any_gram |= gram[n];
    }
    if (nd == 3 && all_warm && !any_gram && !w->no_fuse && fuse_floats(dims, k) <= w->cap_fuse) {
        int first = -1;   // a mode that starts a cheapest order of the core's product
        for (int f = 0; f < 3 && first < 0; f++) {
            double best, with_f;
            core_costs(dims, k, nd, f, &best, &with_f);
            if (with_f == best) first = f;
        }
        int yd[3] = {dims[0], dims[1], dims[2]};
        yd[first] = k[first];
        if (numel_of(yd, 3) <= w->cap_buf[0]) {
            subspace_fused(t, x, dims, k, first, w);
            return;
        }
    }
    for (int n = 0; n < nd; n++) {
        int d = dims[n];
        int warm = t->has_factors && t->dims[n] == d && t->ranks[n] == k[n];
        if (warm && gram[n]) {
            ensure(&w->gram, &w->cap_gram, (size_t)d * d, MEM_WORKSPACE, &w->n_grow); // only if use_gram was overridden
            tensor_mode_gram(w->gram, x, dims, nd, n);
            gemm(0, 0, d, k[n], d, 1.0f, w->gram, d, t->U[n], k[n], 0.0f, w->acc, k[n]); // (X X^T) U_prev
        } else if (warm) {
            mode_power(w->acc, x, dims, nd, n, t->U[n], k[n], NULL, w);             // X (X^T U_prev)
        } else {
            Rng rng;
            rng_seed(&rng, t->seed + 7919u * (uint64_t)(n + 1));
            mode_power(w->acc, x, dims, nd, n, NULL, k[n], &rng, w);                // X G
        }
        orth_inplace(w->acc, d, k[n], &w->orth);
        ensure(&t->U[n], &t->capU[n], (size_t)d * k[n], MEM_ACTIVATIONS, &w->n_grow);
        memcpy(t->U[n], w->acc, (size_t)d * k[n] * sizeof(float));
        t->dims[n] = d; t->ranks[n] = k[n];
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
