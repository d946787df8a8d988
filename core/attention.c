// attention.c: the multi-head scaled dot-product self-attention core of
// torch.nn.MultiheadAttention (between in_proj and out_proj; no mask, no
// dropout). Head h of q, k, v, out is the channel block [h*hs, (h+1)*hs) of
// a (B,N,C) tensor, so every per-head matrix is a strided view (row stride C)
// that goes straight into gemm() without copies. Softmax runs in separate
// OpenMP loops between the GEMM loops (never around a gemm call: BLAS has
// its own threads), with the vectorisable exp of vecmath.h.
#include "layers.h"
#include "blas.h"
#include "counters.h"
#include "vecmath.h"

#include <math.h>

#define PAR_MIN_ELEMS (1L << 14)

// q, k, v (B,N,C), att (B,NH,N,N) softmax(q_h k_h^T / sqrt(hs)), out (B,N,C)
void attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
                       int B, int N, int C, int NH) {
    CHECK(B >= 0 && N > 0 && NH > 0 && C / NH * NH == C, "attention dims B=%d N=%d C=%d NH=%d", B, N, C, NH);
    int hs = C / NH;
    float scale = 1.0f / sqrtf((float)hs);
    size_t NN = (size_t)N * N;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            size_t off = (size_t)b * N * C + (size_t)h * hs;
            gemm(0, 1, N, N, hs, scale, q + off, C, k + off, C, 0.0f, att + ((size_t)b * NH + h) * NN, N);
        }
    // row softmax, stable: subtract the row max before exp
    long rows = (long)B * NH * N;
#pragma omp parallel for if (rows * N >= PAR_MIN_ELEMS)
    for (long r = 0; r < rows; r++) {
        float *a = att + (size_t)r * N;
        float mx = a[0];
#pragma omp simd reduction(max : mx)
        for (int j = 1; j < N; j++) mx = a[j] > mx ? a[j] : mx;
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int j = 0; j < N; j++) { a[j] = exp_vec(a[j] - mx); sum += a[j]; }
        float inv = 1.0f / sum;
#pragma omp simd
        for (int j = 0; j < N; j++) a[j] *= inv;
    }
    // softmax per element: max compare, sub, exp, add, mul; per row: 1 division
    flops_add(5.0 * (double)rows * N + (double)rows);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            size_t off = (size_t)b * N * C + (size_t)h * hs;
            gemm(0, 0, N, hs, N, 1.0f, att + ((size_t)b * NH + h) * NN, N, v + off, C, 0.0f, out + off, C);
        }
}

// dout (B,N,C), q, k, v (B,N,C), att (B,NH,N,N) from forward; scratch (B,NH,N,N)
// dv_h += att^T dout_h; datt = dout_h v_h^T; ds = att * (datt - rowsum(att * datt));
// dq_h += scale ds k_h; dk_h += scale ds^T q_h
void attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
                        const float *q, const float *k, const float *v, const float *att,
                        int B, int N, int C, int NH) {
    CHECK(B >= 0 && N > 0 && NH > 0 && C / NH * NH == C, "attention dims B=%d N=%d C=%d NH=%d", B, N, C, NH);
    int hs = C / NH;
    float scale = 1.0f / sqrtf((float)hs);
    size_t NN = (size_t)N * N;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            size_t off = (size_t)b * N * C + (size_t)h * hs, aoff = ((size_t)b * NH + h) * NN;
            if (dv) gemm(1, 0, N, hs, N, 1.0f, att + aoff, N, dout + off, C, 1.0f, dv + off, C);
            if (dq || dk) gemm(0, 1, N, N, hs, 1.0f, dout + off, C, v + off, C, 0.0f, scratch + aoff, N);
        }
    if (!dq && !dk) return;
    long rows = (long)B * NH * N;
#pragma omp parallel for if (rows * N >= PAR_MIN_ELEMS)
    for (long r = 0; r < rows; r++) {
        const float *a = att + (size_t)r * N;
        float *d = scratch + (size_t)r * N;
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (int j = 0; j < N; j++) dot += a[j] * d[j];
#pragma omp simd
        for (int j = 0; j < N; j++) d[j] = a[j] * (d[j] - dot);
    }
    // softmax backward per element: mul, add (row dot), sub, mul
    flops_add(4.0 * (double)rows * N);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            size_t off = (size_t)b * N * C + (size_t)h * hs, aoff = ((size_t)b * NH + h) * NN;
            if (dq) gemm(0, 0, N, hs, N, scale, scratch + aoff, N, k + off, C, 1.0f, dq + off, C);
            if (dk) gemm(1, 0, N, hs, N, scale, scratch + aoff, N, q + off, C, 1.0f, dk + off, C);
        }
}
