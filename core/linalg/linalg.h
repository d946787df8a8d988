// linalg.h: the dense subspace linear algebra of WASI on row-major float
// matrices: thin SVD and the explained-variance rank, Householder
// orthonormalisation (orth), the symmetric eigen-decomposition used by the
// HOSVD, and one step of warm-started weight subspace iteration.
//
// Every LAPACK call runs through a workspace struct allocated once from the
// sizes (category MEM_WORKSPACE; LAPACK's own work arrays are queried at init),
// so the per-step calls allocate nothing. We call the column-major Fortran
// interface (LAPACKE_*_work with LAPACK_COL_MAJOR) on our row-major buffers,
// reading a row-major (m,n) matrix as its column-major transpose: LAPACKE's
// row-major path would malloc and transpose a hidden copy on every call.
//
// FLOPs are charged to the current phase (the caller sets it, e.g.
// PHASE_DECOMPOSITION or PHASE_UPDATE). Products go through gemm() (which counts itself). A LAPACK routine
// cannot count its own work, so each call charges the TEXTBOOK count of its
// algorithm to the current phase (flops_add); these are the classic
// operation counts (LAWN 41; Golub & Van Loan, Matrix Computations, 3rd ed.),
// rounded to whole FLOPs, not a measurement of what the library executed:
//   Householder QR of (m,k), m >= k (sgeqrf / sgelqf):  2 k^2 (m - k/3)
//   forming its Q (m,k)             (sorgqr / sorglq):  2 m k^2 - 2 k^3 / 3
//   thin SVD of (m,n), m >= n, with U1, Sigma, V (R-SVD, GVL Table 5.4.1): 6 m n^2 + 20 n^3
//   symmetric eigenvalues and eigenvectors of (n,n) (GVL Sec. 8.3):  9 n^3
#ifndef WB_LINALG_H
#define WB_LINALG_H

#include "core/runtime/common.h"

// The O(n) rank rule is bookkeeping and charges no FLOPs.
// Relative slack of the energy rule: a rank whose captured energy is within
// ENERGY_TOL * total of the threshold counts as reaching it, so float
// rounding in sigma cannot add a spurious extra rank.
#define ENERGY_TOL 1e-6

// --- explained-variance rank ------------------------------------------------
// sigma (n) singular values in descending order. Returns the smallest k >= 1
// with sum_{i<k} sigma_i^2 >= (epsilon - ENERGY_TOL) * sum_i sigma_i^2;
// epsilon >= 1 returns n (full rank), epsilon <= 0 returns 1, an all-zero
// spectrum returns 1.
int svd_energy_rank(const float *sigma, int n, float epsilon);
// Same rule on energies (sigma^2, e.g. Gram eigenvalues) in descending order;
// negative entries (rounding of a Gram matrix) count as 0.
int energy_rank(const float *energy, int n, float epsilon);

// --- thin SVD ---------------------------------------------------------------
typedef struct {
    int O, I, mn;        // the matrix shape (O,I) this workspace serves; mn = min(O,I)
    float *a;            // (O,I) copy of W (sgesdd destroys its input)
    float *s;            // (mn) singular values, descending
    float *u;            // (O,mn) left singular vectors U
    float *vt;           // (mn,I) right singular vectors V^T
    float *work;         // (lwork) LAPACK workspace
    int *iwork;          // (8 mn)
    int lwork;
} SvdWork;

void svd_work_init(SvdWork *w, int O, int I);
void svd_work_free(SvdWork *w);
// W (O,I) = U diag(s) V^T into w->u, w->s, w->vt (divide and conquer sgesdd).
void svd_compute(SvdWork *w, const float *W);
// After svd_compute: L (O,k) = U_k, R (k,I) = Sigma_k V_k^T, so L R is the
// best rank-k approximation of W. 1 <= k <= mn.
void svd_factors(float *L, float *R, const SvdWork *w, int k);

// --- orth: Householder orthonormalisation -----------------------------------
typedef struct {
    int mmax, kmax;      // largest (m,k) served
    float *tau;          // (kmax) Householder scalars
    float *work;         // (lwork) LAPACK's, then sign (kmax) in the same block
    float *sign;         // (kmax) +-1: the signs of diag(R) of the last QR
    int lwork;
} OrthWork;

void orth_work_init(OrthWork *w, int mmax, int kmax);
void orth_work_free(OrthWork *w);
// A (m,k) row-major with m >= k, overwritten by Q (m,k) with orthonormal
// columns and range(Q) = range(A) when A has full column rank (Householder
// QR, A = Q R, thin Q). Implementation: the row-major (m,k) buffer IS the
// column-major (k,m) matrix A^T, and the LQ factorisation of A^T (sgelqf +
// sorglq) is exactly the Householder QR of A transposed (same reflectors,
// L = R^T, Q_lq = Q^T). That runs in place with no transposed copy.
// Sign rule: column j of Q is negated when R_jj < 0, so Q is the unique thin
// QR factor with diag(R) >= 0, whatever signs the LAPACK build's reflectors
// chose (it no longer depends on the library, its blocking or thread count).
// Every orthogonalisation of the subspace iterations (weight step, factored
// update, ASI/WASI/HOSVD activation bases) goes through here, so they all
// follow it. Why diag(R) > 0 and not "agree in sign with the previous
// step's column": it is cheap (k signs read off the factor, no FLOPs
// charged: negation is exact), needs no previous basis (the first,
// Gaussian-started step has none, and the activation bases are overwritten
// in place), and it already makes a step on an unchanged subspace return
// its input: when A = L_prev M with M (k,k) upper triangular with positive
// diagonal (in particular diagonal: L_prev the singular vectors of W right
// after the SVD, A = W W^T L_prev = L_prev Sigma^2), the positive-diagonal
// QR of A is L_prev M itself, so Q = L_prev up to rounding and
// r_update previous (R = L_prev^T W) equals current (R = Q^T W). The
// previous-column rule would give the same Q there, at the cost of storing
// L_prev, and differs only while columns rotate, where neither pairs L with R.
void orth_inplace(float *A, int m, int k, OrthWork *w);

// --- symmetric eigen-decomposition --------------------------------------------
typedef struct {
    int nmax;
    float *evals;        // (nmax) eigenvalues of the last call, ascending
    float *work;         // (lwork)
    int *iwork;          // (liwork)
    int lwork, liwork;
} EigWork;

void eig_work_init(EigWork *e, int nmax);
void eig_work_free(EigWork *e);
// A (n,n) symmetric, row-major, overwritten: row j of A becomes the unit
// eigenvector of e->evals[j], eigenvalues ascending (divide and conquer
// ssyevd; its workspace is 2 n^2 floats besides A. MRRR (ssyevr) needs less
// memory but ran 6x slower on the Gram of a (3072, 6400) Gaussian unfolding).
void sym_eig_inplace(float *A, int n, EigWork *e);

// --- weight subspace iteration (WASI update step 5) ---------------------------
typedef struct {
    int O, I, k;
    float *Q;            // (I,k) Q = W^T L_prev
    OrthWork orth;       // for (O,k)
} WsiWork;

void wsi_work_init(WsiWork *w, int O, int I, int k);
void wsi_work_free(WsiWork *w);
// One warm-started step. W (O,I); L (O,k) holds L_prev on entry and the new
// L on exit; R (k,I) is written.
//   Q = W^T L_prev (I,k);  L = orth(W Q) (O,k);
//   r_previous = 0: R = L^T W with the new L (ARCHITECTURE.md "Methods": r_update current);
//   r_previous = 1: R = Q^T = L_prev^T W (the authors' code, "previous").
// FLOPs: 2OIk (Q) + 2OIk (W Q) + QR of (O,k) [+ 2OIk for R when current].
void weight_subspace_step(float *L, float *R, const float *W, int O, int I, int k, int r_previous, WsiWork *w);

// --- principal angles between subspaces -------------------------------------
// V0, V (K,I) row-major, each with orthonormal rows (e.g. the first K rows of
// SvdWork.vt: top-K right singular vectors). Returns the largest principal
// angle in radians between their row spaces, in [0, pi/2]:
// acos(smallest singular value of M = V0 V^T (K,K)), clamped to [0,1]. Below
// pi/4 the same angle is taken as asin(largest singular value of V - M^T V0),
// which float resolves there (the arccos of a float cosine cannot tell angles
// below ~5e-4 rad from 0); an unchanged subspace gives ~1e-7.
// Allocates its SVD workspaces per call (MEM_WORKSPACE): for the per-epoch
// stability log, not for a step. FLOPs: 4 K^2 I (two gemm) + the SVDs of
// (K,K) and (K,I) at the textbook count.
double subspace_max_angle(const float *V0, const float *V, int I, int K);

#endif
