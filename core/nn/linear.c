// linear.c: the dense linear layer out = inp w^T + b (torch.nn.Linear).
// Forward is one GEMM plus a bias broadcast; backward is one GEMM per
// gradient (beta = 1, so they accumulate) plus a column sum for the bias.
#include "core/nn/layers.h"
#include "core/linalg/blas.h"
#include "core/runtime/counters.h"

#include <string.h>

// Below this many elements an OpenMP fork/join costs more than the loop.
#define PAR_MIN_ELEMS (1L << 15)
// Column block of the bias reduction: 128 floats, 8 cache lines of a row
// read contiguously (16 floats, one line per row at a 12 KB stride, ran at
// 2 GB/s). Threads own disjoint blocks of db.
#define COLBLK 128

// out (BN,O): every row = b (O), before a GEMM that accumulates onto it
void bias_fill(float *out, const float *b, int BN, int O) {
#pragma omp parallel for if ((long)BN * O >= PAR_MIN_ELEMS)
    for (int i = 0; i < BN; i++) memcpy(out + (size_t)i * O, b, sizeof(float) * (size_t)O);
}

// inp (BN,I), w (O,I), b (O) or NULL, out (BN,O)
// With a bias, out starts as b in every row and the GEMM accumulates onto it
// (beta = 1): one pass over out instead of two (sgemm's beta = 0 clears out
// before it accumulates, then a second pass would add b).
void linear_forward(float *out, const float *inp, const float *w, const float *b, int BN, int I, int O) {
    CHECK(BN >= 0 && I > 0 && O > 0, "linear dims BN=%d I=%d O=%d", BN, I, O);
    if (!b) { gemm(0, 1, BN, O, I, 1.0f, inp, I, w, I, 0.0f, out, O); return; }
    bias_fill(out, b, BN, O);
    gemm(0, 1, BN, O, I, 1.0f, inp, I, w, I, 1.0f, out, O);
    flops_add((double)BN * O); // bias: 1 add per output element (done inside the GEMM's accumulation)
}

// db (O) += sum over the BN rows of dout (BN,O); 1 add per element of dout.
// Each column is summed over the rows in order (the result does not depend
// on the block size or the thread count).
void bias_grad_accumulate(float *db, const float *dout, int BN, int O) {
    int nblk = (O + COLBLK - 1) / COLBLK;
#pragma omp parallel for if ((long)BN * O >= PAR_MIN_ELEMS)
    for (int blk = 0; blk < nblk; blk++) {
        int j0 = blk * COLBLK, nj = wb_min(COLBLK, O - j0);
        float acc[COLBLK] = {0};
        for (int i = 0; i < BN; i++) {
            const float *r = dout + (size_t)i * O + j0;
#pragma omp simd
            for (int j = 0; j < nj; j++) acc[j] += r[j];
        }
        for (int j = 0; j < nj; j++) db[j0 + j] += acc[j];
    }
    flops_add((double)BN * O);
}

// dout (BN,O), inp (BN,I), w (O,I) (only read when dinp != NULL)
// dinp (BN,I) += dout w; dw (O,I) += dout^T inp; db (O) += sum_rows dout
void linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                     int BN, int I, int O) {
    CHECK(BN >= 0 && I > 0 && O > 0, "linear dims BN=%d I=%d O=%d", BN, I, O);
    if (dinp) gemm(0, 0, BN, I, O, 1.0f, dout, O, w, I, 1.0f, dinp, I);
    if (dw) gemm(1, 0, O, I, BN, 1.0f, dout, O, inp, I, 1.0f, dw, I);
    if (db) bias_grad_accumulate(db, dout, BN, O);
}
