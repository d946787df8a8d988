// tucker.h: Tucker compression of activations for hosvd/asi/wasi. Mode-n
// unfoldings as strided views, exact truncated HOSVD with a per-mode energy
// threshold, fixed-rank HOSVD by one warm-started step of subspace iteration
// per mode (ASI), and the weight-gradient contraction dW = dy^T x_hat taken
// from (dy, core, factors) without rebuilding x_hat.
//
// Tensors are row-major (d_0, ..., d_{nd-1}), nd = 3 (B,N,C) or 4 (B,H,W,C);
// the last mode is the channel mode (a linear's I).
//
// Mode-n unfolding X_(n) (d_n, rest): row i collects the entries with index
// i on mode n; its columns run over the other indices in their row-major
// order (torch: x.movedim(n, 0).reshape(d_n, -1)). Seeing x as
// (pre, d_n, post), pre = prod d_<n, post = prod d_>n, the unfolding is the
// side-by-side blocks X_(n) = [x_0 | x_1 | ... | x_{pre-1}], where slice
// x_p (d_n, post) is the contiguous row-major block at x + p d_n post. So
//   X_(0)    is x itself viewed as (d_0, rest)              (one gemm),
//   X_(last) is the transpose of x viewed as (pre, C)        (one gemm, transposed),
//   middle   modes are pre slices                            (pre gemms, accumulated).
// Every product here works on these views with strided gemms; only
// tensor_unfold (tests, references) copies.
//
// Memory: saved factors and cores live in a Tucker whose buffers are
// MEM_ACTIVATIONS; scratch lives in a HosvdWork (MEM_WORKSPACE) sized once
// from the largest dims and ranks. Per-step calls allocate nothing as long as
// the ranks stay within what the structs were sized for; the exact HOSVD
// (ranks from energy, unknown in advance) grows a buffer when a rank exceeds
// every earlier one (counted in n_grow), so allocation stops once the ranks
// settle. FLOPs: all products go through gemm(); LAPACK calls charge their
// textbook counts (linalg.h).
#ifndef WB_HOSVD_H
#define WB_HOSVD_H

#include <stddef.h>
#include <stdint.h>
#include "core/linalg/linalg.h"

#define HOSVD_MAX_MODES 4
// Lanes of the fused subspace step (blas.h "Lanes"): a constant, so its sums
// split the same way at any thread count.
#define HOSVD_LANES 4

// --- unfoldings and mode products ---------------------------------------------
// x (dims[0..nd-1]), out (d_n, rest). A copy: for tests and references only.
void tensor_unfold(float *out, const float *x, const int *dims, int nd, int n);
// G (d_n,d_n) = X_(n) X_(n)^T (mode 0 and the last mode: one gemm; middle
// modes: pre gemms over the slices, accumulated).
void tensor_mode_gram(float *G, const float *x, const int *dims, int nd, int n);
// y = x x_n M, i.e. y_(n) = M X_(n); mode n of y has size e, the others keep theirs.
// transA = 1: A (d_n,e) and M = A^T (compress by a factor U: A = U);
// transA = 0: A (e,d_n) and M = A   (expand by a factor U: A = U, e = its rows).
void tensor_mode_product(float *y, const float *x, const int *dims, int nd, int n, const float *A, int e, int transA);

// --- Tucker storage -----------------------------------------------------------
// x ~ x_hat = core x_0 U[0] x_1 U[1] ... x_{nd-1} U[nd-1].
typedef struct {
    int nd;
    int dims[HOSVD_MAX_MODES];    // d_n of the tensor last decomposed (0 before the first)
    int ranks[HOSVD_MAX_MODES];   // k_n in use
    float *U[HOSVD_MAX_MODES];    // U[n] (dims[n], ranks[n]) orthonormal columns, MEM_ACTIVATIONS
    float *core;                  // (ranks[0], ..., ranks[nd-1]), MEM_ACTIVATIONS
    size_t capU[HOSVD_MAX_MODES]; // capacity of U[n] in floats
    size_t cap_core;              // capacity of core in floats
    int has_factors;              // 1 once U holds factors (the warm start of hosvd_subspace)
    uint64_t seed;                // the Gaussian first step of hosvd_subspace
} Tucker;

// Allocates U[n] (dims_max[n], min(ranks_max[n], dims_max[n])) and the core;
// ranks_max NULL = full ranks. seed: the fixed seed of the first random step.
void tucker_init(Tucker *t, int nd, const int *dims_max, const int *ranks_max, uint64_t seed);
void tucker_free(Tucker *t);
// Make room for (dims, ranks); a buffer that is too small is reallocated and
// loses its contents.
void tucker_reserve(Tucker *t, const int *dims, const int *ranks);
// Floats in use for the current dims and ranks (core + factors): the saved size.
size_t tucker_numel(const Tucker *t);
// xhat (dims) = core x_n U[n] for all n, rebuilt explicitly. Allocates its
// own scratch (MEM_WORKSPACE, freed on return): tests and references only.
void tucker_reconstruct(float *xhat, const Tucker *t);

// --- workspace ------------------------------------------------------------------
#define HOSVD_EXACT    1   // hosvd_exact: Gram and eigen-decomposition buffers
#define HOSVD_SUBSPACE 2   // hosvd_subspace: power-step and orth buffers

// What one tensor shape needs, buffer by buffer (floats unless said), so a
// workspace shared by several layers can be sized at the largest need of
// EACH buffer rather than at the elementwise largest dims (which for Swin's
// stages, large H W with small C and small H W with large C, is ~9x more).
typedef struct {
    int nd, flags, O;
    int dmax;                 // largest mode size (energy, eigen-decomposition, orth rows)
    int kmax;                 // largest rank (orth columns)
    int deig;                 // eigen-decomposition order (exact only; 0 = none)
    size_t gram;              // (d,d) Gram of one unfolding
    size_t acc;               // (d,k) X V before orth
    size_t vblk;              // one column block of V
    size_t fuse;              // the fused 3-mode subspace step (see hosvd_subspace)
    size_t buf[2];            // intermediates of the multi-mode products
    size_t z, t;              // the contraction: Z (k_0..k_{nd-2}, O), T (O, k_last)
} HosvdSizes;

// Sizes for x (dims), ranks (NULL: ranks from energy, rank-sized buffers
// left at 0 and grown on use) and contraction width O (0 = none).
void hosvd_work_sizes(HosvdSizes *s, int nd, const int *dims, const int *ranks, int O, int flags);
// a = the elementwise max of a and b (a zeroed first: a->nd == 0 takes b).
void hosvd_sizes_max(HosvdSizes *a, const HosvdSizes *b);
// Floats of a workspace built from s (LAPACK's queried work arrays excluded).
double hosvd_sizes_floats(const HosvdSizes *s);

typedef struct {
    int nd, dims[HOSVD_MAX_MODES], ranks[HOSVD_MAX_MODES], O;  // hosvd_work_init: the sizes it was built for
    int flags;
    HosvdSizes cap;                    // what every buffer holds
    // Subspace step of mode n through the Gram, (X X^T) U_prev (2 d^2 rest + 2 d^2 k
    // FLOPs), instead of X (X^T U_prev) (4 d rest k): chosen by FLOPs,
    // 1 when d < ~2k; -1 = decide per call from the tensor's dims (a shared
    // workspace). Tests may override it (both compute the same product).
    int use_gram[HOSVD_MAX_MODES];
    int no_fuse;                       // tests: 1 = per-mode passes even where the fused step applies
    int fuse_cols;                     // tests: > 0 caps the fused step's mode-0 column blocks (0: ~4 MB blocks)
    float *buf[2]; size_t cap_buf[2];  // intermediates of multi-mode products
    float *gram; size_t cap_gram;      // (d,d) Gram of one unfolding
    float *energy;                     // (dmax) eigenvalues, descending
    EigWork eig;                       // exact only
    float *acc; size_t cap_acc;        // (d,k) X V before orth
    float *vblk; size_t cap_vblk;      // one column block of V (rows of V, k wide)
    float *fuse; size_t cap_fuse;      // the fused 3-mode step's accumulators and panels
    OrthWork orth;                     // subspace only, (dmax, kmax)
    float *z; size_t cap_z;            // (k_0..k_{nd-2}, O) dy projected on the token factors
    float *t; size_t cap_t;            // (O, k_last) the contraction before the channel factor
    int n_grow;                        // buffers grown after init (0 in a settled run)
} HosvdWork;

// dims_max (nd): largest tensor; ranks_max (nd): largest ranks, required
// with HOSVD_SUBSPACE; NULL for ranks from energy: the rank-sized buffers
// (intermediates, contraction) then start empty and grow to what the data
// needs (full ranks could need 2 x the size of x). O_max: largest
// out-features of a contraction (0 = none); flags: HOSVD_EXACT | HOSVD_SUBSPACE.
// Sizes: exact: Gram d^2 + ssyevd 2 d^2 floats for the largest mode;
// subspace: (d,k) + one V block (<= 64K floats) + orth + the fused step (3
// modes, per lane: B k0 + wb k0 + C (k1 + k2) + N k1 + 4 N k2, wb = min(N C, 256K / B));
// intermediates <= numel(x) * max_n k_n / d_n; contraction: prod(k_tokens) O + O k_last.
// One workspace may serve several layers in turn (it holds no state between
// calls); hosvd_work_init_sizes builds one from the per-buffer max of their
// hosvd_work_sizes (use_gram then -1: decided per call).
void hosvd_work_init(HosvdWork *w, int nd, const int *dims_max, const int *ranks_max, int O_max, int flags);
void hosvd_work_init_sizes(HosvdWork *w, const HosvdSizes *s);
void hosvd_work_free(HosvdWork *w);

// --- decompositions ---------------------------------------------------------------
// Exact truncated HOSVD of x (dims): for every mode, U_n = the leading
// eigenvectors of the Gram X_(n) X_(n)^T (= the leading left singular vectors
// of X_(n)), k_n = energy_rank(eigenvalues, eps[n]) (eps[n] >= 1: full rank),
// then core = x x_0 U_0^T ... x_{nd-1} U_{nd-1}^T. Fills t (dims, ranks, U, core).
// Precision trade-off of the Gram route: eigenvalues are sigma^2, so a
// singular value below ~sqrt(float eps) * sigma_max = 3e-4 sigma_max is lost
// in rounding, and so is the direction of its vector. Those carry < 1e-7 of
// the energy, so ranks at epsilon < 1 - 1e-6 and the leading vectors are
// unaffected; at epsilon = 1 the factors are still an orthonormal basis, so x
// is rebuilt exactly. The gain: a (d,d) Gram instead of an SVD of the
// (d, rest) unfolding (no copy of x, no permute for middle modes).
void hosvd_exact(Tucker *t, const float *x, const int *dims, const float *eps, HosvdWork *w);

// Fixed-rank HOSVD by ONE warm-started subspace-iteration step per mode (ASI).
// k_n = min(ranks[n], dims[n]). With X = X_(n) and U_prev = t->U[n]:
//   warm (t holds factors for this d_n and k_n):  U_n = orth(X (X^T U_prev))
//        computed as X V with V = X^T U_prev streamed over column blocks of X
//        (V (rest,k) is never materialised; only one block of its rows), or as
//        (X X^T) U_prev when use_gram[n]; the same product either way;
//   cold (first call, or d_n / k_n changed, e.g. a short last batch):
//        U_n = orth(X G) with G (rest, k_n) standard Gaussian drawn, block by
//        block in column order, from rng_seed(t->seed + 7919 (n+1)).
// orth is Householder QR. Then the core as in hosvd_exact.
// Fused route (3 modes, every mode warm and two-pass, no_fuse off): the same
// products in HOSVD_LANES lanes run in parallel (blas.h "Lanes"; one-thread
// BLAS calls: OpenBLAS ran these skinny products 2-3x slower one after
// another on 2 threads), each lane streaming its share of x through cache:
//   pass 1, lane = a range of X_(0)'s columns, blocks Xb (B,wb) (~1 MB):
//           V = Xb^T U0_prev, A0_lane += Xb V                    (mode 0)
//   pass 2, lane = a range of samples: per sample x_b (N,C)
//           Z = x_b^T U1_prev, A1_lane += x_b Z                  (mode 1);
//           per FUSE_SUB samples x_s (s N, C): P = x_s U2_prev,
//           A2_lane += x_s^T P                                   (mode 2)
//   lane partials added in lane order; the core's first product along the
//   mode f that starts its cheapest order (the order hosvd_exact uses):
//   f = 0 in pass 2 (U0^T X_(0), each lane its columns), f = 1 one more
//   per-sample pass, f = 2 one product x U2; then the two small ones.
// FLOPs: the per-mode route's plus the lane sums, (HOSVD_LANES - 1)
// (B k0 + N k1 + C k2) adds; rounding differs by the sum order.
void hosvd_subspace(Tucker *t, const float *x, const int *dims, const int *ranks, HosvdWork *w);

// --- weight-gradient contraction ------------------------------------------------------
// For a linear y = x W^T with x (dims) saved as t, dy (dims[0..nd-2], O):
// T (O, k_last) = Z_mat^T S_mat, where Z = dy x_0 U_0^T ... x_{nd-2} U_{nd-2}^T
// (k_0..k_{nd-2}, O) and S_mat is the core as (k_0...k_{nd-2}, k_last).
// Then dy^T x_hat = T U_last^T. (For WASI factored: pass dy L as "dy" with O = k.)
void tucker_contract_dy(float *T, const float *dy, int O, const Tucker *t, HosvdWork *w);
// dW (O,I) += dy^T x_hat = sum over tokens dy[tok]^T x_hat[tok] (beta = 1), never forming x_hat.
// FLOPs: the token projections of dy (~2 rows O k_0 for the first), 2 O k_last
// prod(k_tokens), and 2 O I k_last; against 2 rows O I for the dense dy^T x.
void tucker_dw(float *dW, const float *dy, int O, const Tucker *t, HosvdWork *w);

#endif
