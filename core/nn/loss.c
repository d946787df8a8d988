// loss.c: softmax cross-entropy with mean reduction over the batch
// (torch.nn.functional.cross_entropy), and the accuracy count.
#include "core/nn/layers.h"
#include "core/runtime/common.h"
#include "core/runtime/counters.h"

#include <math.h>

// logits (B,K), targets (B) in [0,K), probs (B,K) saved; returns the mean loss.
// Row loss = logsumexp(x) - x_t computed as log(sum exp(x - max)) - (x_t - max),
// which never overflows and never takes log(0).
float crossentropy_forward(float *probs, const float *logits, const int *targets, int B, int K) {
    CHECK(B > 0 && K > 0, "crossentropy dims B=%d K=%d", B, K);
    for (int i = 0; i < B; i++)
        CHECK(targets[i] >= 0 && targets[i] < K, "target %d of row %d is outside [0, %d)", targets[i], i, K);
    double total = 0.0;
    for (int i = 0; i < B; i++) {
        const float *x = logits + (size_t)i * K;
        float *p = probs + (size_t)i * K;
        float mx = x[0];
        for (int j = 1; j < K; j++) mx = x[j] > mx ? x[j] : mx;
        float sum = 0.0f;
        for (int j = 0; j < K; j++) { p[j] = expf(x[j] - mx); sum += p[j]; }
        float inv = 1.0f / sum;
        for (int j = 0; j < K; j++) p[j] *= inv;
        total += (double)logf(sum) - (double)(x[targets[i]] - mx);
    }
    // per element: max compare, sub, exp, add, mul; per row: division, log,
    // 2 subs, 1 add; 1 final division
    flops_add(5.0 * B * K + 5.0 * B + 1.0);
    return (float)(total / B);
}

// probs (B,K) from forward; dlogits (B,K) += (probs - onehot(targets)) / B
void crossentropy_backward(float *dlogits, const float *probs, const int *targets, int B, int K) {
    CHECK(B > 0 && K > 0, "crossentropy dims B=%d K=%d", B, K);
    if (!dlogits) return;
    float invB = 1.0f / (float)B;
    for (int i = 0; i < B; i++) {
        CHECK(targets[i] >= 0 && targets[i] < K, "target %d of row %d is outside [0, %d)", targets[i], i, K);
        const float *p = probs + (size_t)i * K;
        float *d = dlogits + (size_t)i * K;
        for (int j = 0; j < K; j++) d[j] += ((j == targets[i] ? p[j] - 1.0f : p[j])) * invB;
    }
    // per element: mul, add; per row: the one-hot sub; 1 division
    flops_add(2.0 * B * K + (double)B + 1.0);
}

// logits (B,K), targets (B): rows whose argmax (first maximum, as torch.argmax)
// equals the target. Evaluation bookkeeping, not model arithmetic: no FLOPs charged.
int count_correct(const float *logits, const int *targets, int B, int K) {
    int correct = 0;
    for (int i = 0; i < B; i++) {
        const float *x = logits + (size_t)i * K;
        int best = 0;
        for (int j = 1; j < K; j++)
            if (x[j] > x[best]) best = j;
        correct += best == targets[i];
    }
    return correct;
}
