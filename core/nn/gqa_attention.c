// gqa_attention.c: the attention core of Hugging Face's LlamaAttention
// (between the q/k/v projections, after the rotary embedding, and o_proj):
// grouped-query attention, NH query heads over NKV key/value heads (query
// head h reads kv head h / (NH/NKV), repeat_kv), scale 1/sqrt(hd), a causal
// mask and a key-padding mask from the sequence lengths (keys j > i or
// j >= len[b] get probability exactly 0, as HF's additive min-float mask
// gives after the softmax). Every row keeps key 0, since len[b] >= 1.
// Head h of a (B,T,H*hd) tensor is the strided channel block [h*hd, (h+1)*hd),
// passed to the GEMMs without copies. One OpenMP loop runs over the B*NKV
// (batch, kv head) groups: the query heads of a group run in order inside
// its task, so the dk, dv of a kv head have one writer. The per-head
// products go through gemm_small (thread-safe, uncounted) and are charged
// after the loop, 2*M*N*K each, exactly as gemm() would (small_gemm.h).
// The products are full T x T (masked entries computed, then zeroed).
#include "core/nn/llama_layers.h"
#include "core/nn/layers.h"   // softmax_rows_backward
#include "core/runtime/common.h"
#include "core/runtime/counters.h"
#include "core/linalg/small_gemm.h"
#include "core/linalg/vecmath.h"

#include <math.h>

static void check_dims(int B, int T, int NH, int NKV, int hd) {
    CHECK(B >= 0 && T > 0 && hd > 0 && NKV > 0 && NH % NKV == 0, "gqa attention dims B=%d T=%d NH=%d NKV=%d hd=%d",
          B, T, NH, NKV, hd);
}

// q (B,T,NH*hd), k, v (B,T,NKV*hd), len (B); att (B,NH,T,T), out (B,T,NH*hd)
void gqa_attention_forward(float *out, float *att, const float *q, const float *k, const float *v, const int *len,
                           int B, int T, int NH, int NKV, int hd) {
    check_dims(B, T, NH, NKV, hd);
    for (int b = 0; b < B; b++) CHECK(len[b] >= 1 && len[b] <= T, "sequence %d: length %d outside [1, %d]", b, len[b], T);
    const int rep = NH / NKV, Cq = NH * hd, Ck = NKV * hd;
    const float scale = 1.0f / sqrtf((float)hd);
    const size_t TT = (size_t)T * T;
    const long groups = (long)B * NKV;
#pragma omp parallel for schedule(dynamic, 1) if (gemm_small_parallel(groups, (double)T * T * hd))
    for (long p = 0; p < groups; p++) {
        const int b = (int)(p / NKV), g = (int)(p % NKV), L = len[b];
        const size_t koff = (size_t)b * T * Ck + (size_t)g * hd;
        for (int hh = 0; hh < rep; hh++) {
            const int h = g * rep + hh;
            const size_t qoff = (size_t)b * T * Cq + (size_t)h * hd;
            float *A = att + ((size_t)b * NH + h) * TT;
            gemm_small(0, 1, T, T, hd, scale, q + qoff, Cq, k + koff, Ck, 0.0f, A, T);
            for (int i = 0; i < T; i++) {
                // stable softmax over the n allowed keys, the rest exactly 0
                float *a = A + (size_t)i * T;
                const int n = i + 1 < L ? i + 1 : L;
                float mx = a[0];
                for (int j = 1; j < n; j++) mx = a[j] > mx ? a[j] : mx;
                float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
                for (int j = 0; j < n; j++) { a[j] = exp_vec(a[j] - mx); sum += a[j]; }
                const float inv = 1.0f / sum;
                for (int j = 0; j < n; j++) a[j] *= inv;
                for (int j = n; j < T; j++) a[j] = 0.0f;
            }
            gemm_small(0, 0, T, hd, T, 1.0f, A, T, v + koff, Ck, 0.0f, out + qoff, Cq);
        }
    }
    const double pairs = (double)B * NH, rows = pairs * T;
    // two products per (batch, query head); softmax per element of the full
    // row (the masked ones are written too): max compare, sub, exp, add, mul; per row 1 division
    flops_add(2.0 * (2.0 * T * T * hd) * pairs);
    flops_add(5.0 * rows * T + rows);
}

// dv_g += sum_h att_h^T dout_h; D = dout_h v_g^T; ds = att * (D - rowsum(att * D));
// dq_h += scale ds k_g; dk_g += scale ds^T q_h  (h over the query heads of kv head g)
void gqa_attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout, const float *q,
                            const float *k, const float *v, const float *att, int B, int T, int NH, int NKV, int hd) {
    check_dims(B, T, NH, NKV, hd);
    if (!dq && !dk && !dv) return;
    const int rep = NH / NKV, Cq = NH * hd, Ck = NKV * hd;
    const float scale = 1.0f / sqrtf((float)hd);
    const size_t TT = (size_t)T * T;
    const long groups = (long)B * NKV;
    const int ngrad = (dv != NULL) + (dq || dk) + (dq != NULL) + (dk != NULL);   // products per query head
#pragma omp parallel for schedule(dynamic, 1) if (gemm_small_parallel(groups, (double)T * T * hd))
    for (long p = 0; p < groups; p++) {
        const int b = (int)(p / NKV), g = (int)(p % NKV);
        const size_t koff = (size_t)b * T * Ck + (size_t)g * hd;
        for (int hh = 0; hh < rep; hh++) {
            const int h = g * rep + hh;
            const size_t qoff = (size_t)b * T * Cq + (size_t)h * hd;
            const float *A = att + ((size_t)b * NH + h) * TT;
            float *D = scratch + ((size_t)b * NH + h) * TT;
            const float *dO = dout + qoff;
            if (dv) gemm_small(1, 0, T, hd, T, 1.0f, A, T, dO, Cq, 1.0f, dv + koff, Ck);
            if (!dq && !dk) continue;
            gemm_small(0, 1, T, T, hd, 1.0f, dO, Cq, v + koff, Ck, 0.0f, D, T);
            softmax_rows_backward(D, A, T, T);
            if (dq) gemm_small(0, 0, T, hd, T, scale, D, T, k + koff, Ck, 1.0f, dq + qoff, Cq);
            if (dk) gemm_small(1, 0, T, hd, T, scale, D, T, q + qoff, Cq, 1.0f, dk + koff, Ck);
        }
    }
    const double pairs = (double)B * NH;
    flops_add((double)ngrad * (2.0 * T * T * hd) * pairs);
    // softmax backward per element: mul, add (row dot), sub, mul
    if (dq || dk) flops_add(4.0 * pairs * T * T);
}
