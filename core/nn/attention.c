// attention.c: the multi-head scaled dot-product self-attention core of
// torch.nn.MultiheadAttention (between in_proj and out_proj; no mask, no
// dropout). Head h of q, k, v, out is the channel block [h*hs, (h+1)*hs) of
// a (B,N,C) tensor, so every per-head matrix is a strided view (row stride C)
// that goes straight into a GEMM without copies. One OpenMP loop runs over
// the B*NH (batch, head) pairs, each a task that keeps its (N,N) tile in
// cache: the tiny products (50x50x64 for ViT-B/32, single-threaded in
// OpenBLAS anyway) run side by side through gemm_small, and their FLOPs are
// charged once after the loop, 2*M*N*K per product as gemm() would. Heads
// too big for gemm_small in parallel run the same loop serially.
#include "core/nn/layers.h"
#include "core/runtime/common.h"
#include "core/runtime/counters.h"
#include "core/linalg/small_gemm.h"
#include "core/linalg/vecmath.h"

#include <math.h>

// q, k, v (B,N,C), att (B,NH,N,N) softmax(q_h k_h^T / sqrt(hs)), out (B,N,C)
void attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
                       int B, int N, int C, int NH) {
    CHECK(B >= 0 && N > 0 && NH > 0 && C / NH * NH == C, "attention dims B=%d N=%d C=%d NH=%d", B, N, C, NH);
    int hs = C / NH;
    float scale = 1.0f / sqrtf((float)hs);
    const size_t NN = (size_t)N * N;
    const long pairs = (long)B * NH;
#pragma omp parallel for schedule(dynamic, 4) if (gemm_small_parallel(pairs, (double)N * N * hs))
    for (long p = 0; p < pairs; p++) {
        const size_t off = (size_t)(p / NH) * N * C + (size_t)(p % NH) * hs;
        float *A = att + (size_t)p * NN;
        gemm_small(0, 1, N, N, hs, scale, q + off, C, k + off, C, 0.0f, A, N);
        for (int i = 0; i < N; i++) {
            // row softmax, stable: subtract the row max before exp
            float *a = A + (size_t)i * N;
            float mx = a[0];
            for (int j = 1; j < N; j++) mx = a[j] > mx ? a[j] : mx;
            float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
            for (int j = 0; j < N; j++) { a[j] = exp_vec(a[j] - mx); sum += a[j]; }
            const float inv = 1.0f / sum;
            for (int j = 0; j < N; j++) a[j] *= inv;
        }
        gemm_small(0, 0, N, hs, N, 1.0f, A, N, v + off, C, 0.0f, out + off, C);
    }
    const long rows = pairs * N;
    // the two products per pair; softmax per element: max compare, sub, exp, add, mul; per row: 1 division
    flops_add(2.0 * (2.0 * N * N * hs) * (double)pairs);
    flops_add(5.0 * (double)rows * N + (double)rows);
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
    if (!dv && !dq && !dk) return;
    const size_t NN = (size_t)N * N;
    const long pairs = (long)B * NH;
    const int ngrad = (dv != NULL) + (dq || dk) + (dq != NULL) + (dk != NULL);   // products per pair
#pragma omp parallel for schedule(dynamic, 4) if (gemm_small_parallel(pairs, (double)N * N * hs))
    for (long p = 0; p < pairs; p++) {
        const size_t off = (size_t)(p / NH) * N * C + (size_t)(p % NH) * hs;
        const float *A = att + (size_t)p * NN;
        float *D = scratch + (size_t)p * NN;
        const float *dO = dout + off;
        if (dv) gemm_small(1, 0, N, hs, N, 1.0f, A, N, dO, C, 1.0f, dv + off, C);
        if (!dq && !dk) continue;
        gemm_small(0, 1, N, N, hs, 1.0f, dO, C, v + off, C, 0.0f, D, N);
        softmax_rows_backward(D, A, N, N);
        if (dq) gemm_small(0, 0, N, hs, N, scale, D, N, k + off, C, 1.0f, dq + off, C);
        if (dk) gemm_small(1, 0, N, hs, N, scale, D, N, q + off, C, 1.0f, dk + off, C);
    }
    flops_add((double)ngrad * (2.0 * N * N * hs) * (double)pairs);
    // softmax backward per element: mul, add (row dot), sub, mul
    if (dq || dk) flops_add(4.0 * (double)pairs * N * N);
}
