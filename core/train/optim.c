// optim.c: SGD and AdamW with torch.optim's exact update rules (same float
// operation order as ATen's CPU kernels), clip_grad_norm_ over several
// ParamSets, and the warmup + cosine learning-rate schedule (see optim.h).
#include "core/train/optim.h"
#include "core/runtime/common.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"

#include <math.h>
#include <string.h>

#define PAR_MIN 32768     // below this many elements an OpenMP region costs more than it saves
#define CLIP_CHUNKS 64    // the clip norm sums fixed chunks: same result for any thread count
#define PI 3.14159265358979323846

OptimConfig optim_sgd(float momentum, float weight_decay) {
    OptimConfig c;
    memset(&c, 0, sizeof c);
    c.kind = OPT_SGD;
    c.momentum = momentum;
    c.weight_decay = weight_decay;
    return c;
}

OptimConfig optim_adamw(float beta1, float beta2, float eps, float weight_decay) {
    OptimConfig c;
    memset(&c, 0, sizeof c);
    c.kind = OPT_ADAMW;
    c.beta1 = beta1;
    c.beta2 = beta2;
    c.eps = eps;
    c.weight_decay = weight_decay;
    return c;
}

int optim_state_buffers(const OptimConfig *oc) {
    if (oc->kind == OPT_ADAMW) return 2;
    return oc->momentum != 0.0f ? 1 : 0;
}

double optim_flops_per_element(const OptimConfig *oc, long step) {
    if (oc->kind == OPT_ADAMW) return 14;
    double f = 2;                                   // p - lr*g
    if (oc->weight_decay != 0.0f) f += 2;           // g + wd*p
    if (oc->momentum != 0.0f) {
        if (step > 1) f += 3;                       // m*buf + (1-d)*g (step 1 copies)
        if (oc->nesterov) f += 2;                   // g + m*buf
    }
    return f;
}

static void check_config(const OptimConfig *oc) {
    CHECK(oc->kind == OPT_SGD || oc->kind == OPT_ADAMW, "unknown optimizer kind %d", (int)oc->kind);
    if (oc->kind == OPT_SGD && oc->nesterov)
        CHECK(oc->momentum > 0.0f && oc->dampening == 0.0f,
              "nesterov needs momentum > 0 and dampening 0 (got %g, %g), as torch.optim.SGD", (double)oc->momentum, (double)oc->dampening);
    if (oc->kind == OPT_ADAMW)
        CHECK(oc->beta1 >= 0.0f && oc->beta1 < 1.0f && oc->beta2 >= 0.0f && oc->beta2 < 1.0f && oc->eps >= 0.0f,
              "AdamW betas (%g, %g) must be in [0, 1), eps %g >= 0", (double)oc->beta1, (double)oc->beta2, (double)oc->eps);
}

// Every kernel below reads the gradient as g[i] * gs (gs = the clip
// coefficient, 1 for none: x * 1 is exact) and, when clear is set, writes
// g[i] = 0 after reading it, so one pass over p and g does clip, step and
// zero_grad (see optim_step_clipped). `omp simd`: GCC 12 at -O2 vectorises
// only loops whose trip count it knows, and these are memory-bound.

// p, g, buf (n). torch _single_tensor_sgd: d = g + wd*p; buf = d (first
// step) or mom*buf + (1-damp)*d; d = nesterov ? d + mom*buf : buf; p = p + (-lr)*d.
static void sgd_kernel(const OptimConfig *oc, float *p, float *g, float *buf, long n, float lr, long step, float gs,
                       int clear) {
    const float wd = oc->weight_decay, mom = oc->momentum, neg_lr = -lr;
    const float damp1 = (float)(1.0 - (double)oc->dampening);   // torch passes alpha=1-dampening (double) to a float kernel
    const int nesterov = oc->nesterov, first = step == 1;
    if (mom == 0.0f) {   // the paper's optimizer: no state
#pragma omp parallel for simd schedule(static) if (n >= PAR_MIN)
        for (long i = 0; i < n; i++) {
            float d = g[i] * gs;
            d = wd != 0.0f ? d + wd * p[i] : d;
            p[i] = p[i] + neg_lr * d;
            if (clear) g[i] = 0.0f;
        }
        return;
    }
    CHECK(buf, "SGD with momentum needs a buffer");
#pragma omp parallel for simd schedule(static) if (n >= PAR_MIN)
    for (long i = 0; i < n; i++) {
        float d = g[i] * gs;
        d = wd != 0.0f ? d + wd * p[i] : d;
        float b = first ? d : buf[i] * mom + damp1 * d;
        buf[i] = b;
        d = nesterov ? d + mom * b : b;
        p[i] = p[i] + neg_lr * d;
        if (clear) g[i] = 0.0f;
    }
}

// p, g, m, v (n). torch _single_tensor_adamw (not capturable, not amsgrad):
// p *= 1 - lr*wd; m = m*b1 + (1-b1)*g; v = v*b2 + (1-b2)*g*g;
// p += (-lr/bc1) * m / (sqrt(v)/sqrt(bc2) + eps), scalars in double, cast to float.
static void adamw_kernel(const OptimConfig *oc, float *p, float *g, float *m, float *v, long n, float lr, long step,
                         float gs, int clear) {
    CHECK(m && v, "AdamW needs both moment buffers");
    const float decay = (float)(1.0 - (double)lr * (double)oc->weight_decay);
    const float b1 = oc->beta1, b2 = oc->beta2, eps = oc->eps;
    const float om_b1 = (float)(1.0 - (double)b1), om_b2 = (float)(1.0 - (double)b2);
    const double bc1 = 1.0 - pow((double)b1, (double)step), bc2 = 1.0 - pow((double)b2, (double)step);
    const float neg_step_size = (float)(-((double)lr / bc1));
    const float bc2_sqrt = (float)sqrt(bc2);
#pragma omp parallel for simd schedule(static) if (n >= PAR_MIN)
    for (long i = 0; i < n; i++) {
        float gi = g[i] * gs;
        float pi = p[i] * decay;
        float mi = m[i] * b1 + om_b1 * gi;
        float vi = v[i] * b2 + om_b2 * gi * gi;
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        m[i] = mi;
        v[i] = vi;
        p[i] = pi + neg_step_size * mi / denom;
        if (clear) g[i] = 0.0f;
    }
}

static void step_kernel(const OptimConfig *oc, float *p, float *g, float *m, float *v, size_t n, float lr, long step,
                        float gs, int clear) {
    check_config(oc);
    CHECK(step >= 1, "optimizer step %ld: steps count from 1", step);
    if (oc->kind == OPT_SGD) sgd_kernel(oc, p, g, m, (long)n, lr, step, gs, clear);
    else adamw_kernel(oc, p, g, m, v, (long)n, lr, step, gs, clear);
}

void optim_step_tensor(const OptimConfig *oc, float *p, const float *g, float *m, float *v, size_t n,
                       float lr, long step) {
    // clear = 0: g is only read (the cast keeps the one kernel for both uses)
    step_kernel(oc, p, (float *)g, m, v, n, lr, step, 1.0f, 0);
    flops_add(optim_flops_per_element(oc, step) * (double)n);
}

// Elements of the set that are real parameters (the block has padding).
static double trained_elements(const ParamSet *ps) {
    double n = 0;
    for (int i = 0; i < ps->n; i++) n += (double)ps->info[i].numel;
    return n;
}

static void step_set(const OptimConfig *oc, ParamSet *ps, float lr, float gs, int clear) {
    CHECK(ps->trainable && ps->grads, "optim_step on a frozen ParamSet (%d tensors)", ps->n);
    int nb = optim_state_buffers(oc);
    if (nb >= 1 && !ps->opt_m) ps->opt_m = mem_alloc_floats(ps->numel, MEM_OPTIMIZER);
    if (nb >= 2 && !ps->opt_v) ps->opt_v = mem_alloc_floats(ps->numel, MEM_OPTIMIZER);
    ps->step++;
    step_kernel(oc, ps->params, ps->grads, ps->opt_m, ps->opt_v, ps->numel, lr, ps->step, gs, clear);
    flops_add(optim_flops_per_element(oc, ps->step) * trained_elements(ps));
}

void optim_step(const OptimConfig *oc, ParamSet *ps, float lr) { step_set(oc, ps, lr, 1.0f, 0); }

void optim_step_clipped(const OptimConfig *oc, ParamSet *ps, float lr, double clip_coef, int clear_grads) {
    const int clips = clip_coef < 1.0;
    step_set(oc, ps, lr, clips ? (float)clip_coef : 1.0f, clear_grads);
    if (clips) flops_add(trained_elements(ps));   // the clip's g * coef
}

// g (n). Sum of squares in double over CLIP_CHUNKS fixed chunks: the same
// result for any thread count. Within a chunk the sum is an `omp simd`
// reduction (vector lanes of partial sums, added at the end): the single
// running double sum it replaces is one dependent add per element, which
// made this pass compute-bound at ~2.5x the time of the SGD pass.
static double sqnorm(const float *g, size_t n) {
    double part[CLIP_CHUNKS];
    size_t chunk = (n + CLIP_CHUNKS - 1) / CLIP_CHUNKS;
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (int c = 0; c < CLIP_CHUNKS; c++) {
        size_t lo = (size_t)c * chunk, hi = lo + chunk < n ? lo + chunk : n;
        double s = 0;
#pragma omp simd reduction(+ : s)
        for (size_t i = lo; i < hi; i++) s += (double)g[i] * (double)g[i];
        part[c] = s;
    }
    double s = 0;
    for (int c = 0; c < CLIP_CHUNKS; c++) s += part[c];
    return s;
}

double grad_norm_sets(ParamSet **sets, int nsets) {
    double sq = 0, elems = 0;
    for (int k = 0; k < nsets; k++) {
        if (!sets[k]->grads) continue;
        sq += sqnorm(sets[k]->grads, sets[k]->numel);
        elems += trained_elements(sets[k]);
    }
    flops_add(2 * elems);
    return sqrt(sq);
}

double grad_clip_coef(double total, float max_norm) {
    double coef = (double)max_norm / (total + 1e-6);
    return (max_norm > 0.0f && isfinite(total) && coef < 1.0) ? coef : 1.0;
}

double grad_clip_sets(ParamSet **sets, int nsets, float max_norm) {
    double total = grad_norm_sets(sets, nsets);
    const double coef = grad_clip_coef(total, max_norm);
    if (coef < 1.0) {
        const float c = (float)coef;
        double elems = 0;
        for (int k = 0; k < nsets; k++) {
            float *g = sets[k]->grads;
            if (!g) continue;
            long n = (long)sets[k]->numel;
#pragma omp parallel for simd schedule(static) if (n >= PAR_MIN)
            for (long i = 0; i < n; i++) g[i] *= c;
            elems += trained_elements(sets[k]);
        }
        flops_add(elems);
    }
    return total;
}

float lr_at(const LrSchedule *s, long t) {
    CHECK(t >= 0, "lr_at tick %ld < 0", t);
    const double lr = s->lr, eta_min = s->eta_min;
    const long W = s->warmup > 0 ? s->warmup : 0;
    if (t < W) {
        const double f = s->warmup_start;
        return (float)(lr * (f + (1.0 - f) * (double)t / (double)W));
    }
    const long T = s->total - W;
    if (!s->cosine || T <= 0) return s->lr;
    if (t > s->total) t = s->total;
    return (float)(eta_min + (lr - eta_min) * (1.0 + cos(PI * (double)(t - W) / (double)T)) / 2.0);
}
