// test_optim.c: SGD (plain, momentum+dampening, nesterov; weight decay),
// AdamW, clip_grad_norm_ and the warmup+cosine lr schedule against PyTorch
// (tests/ref_optim.py -> tests/data/ref/optim_v1.safetensors), plus state
// allocation, FLOP counts and thread-count independence.
// Tolerances: |c - torch| <= 1e-6 + 1e-6|torch| for SGD and clipping,
// 1e-5 + 1e-5|torch| for AdamW, 1e-12 + 1e-6|torch| for the lr.
#include "core/linalg/blas.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"
#include "core/train/optim.h"
#include "core/runtime/rng.h"
#include "core/io/safetensors.h"
#include "tests/testlib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define REF "tests/data/ref/optim_v1.safetensors"
#define STEPS 5

// The three tensors of the reference, as in tests/ref_optim.py.
static const char *TN[3] = {"w1", "b1", "w2"};
static const int TNDIM[3] = {2, 1, 3};
static const int TSHAPE[3][3] = {{7, 5}, {13, 0, 0}, {3, 4, 6}};

static int open_ref(SafeTensors *st) {
    WbError err;
    if (st_open(st, REF, &err) == 0) return 0;
    EXPECT(0, "%s (generate it with: bash tests/make_reference.sh)", err.msg);
    return -1;
}

static void read_ref(const SafeTensors *st, const char *name, float *dst, int ndim, const int *shape) {
    WbError err;
    if (st_read(st, name, dst, ndim, shape, &err)) { EXPECT(0, "%s", err.msg); memset(dst, 0, sizeof(float)); }
}

static void build_set(ParamSet *ps, int trainable, int first, int last) {
    params_init(ps, trainable);
    for (int i = first; i <= last; i++) params_declare(ps, TN[i], TNDIM[i], TSHAPE[i]);
    params_alloc(ps);
}

// Fill the gradients of ps from tensors "<prefix>/<t>" of the reference.
static void load_into(const SafeTensors *st, const ParamSet *ps, const char *prefix, int grads) {
    for (int i = 0; i < ps->n; i++) {
        char name[256];
        snprintf(name, sizeof name, "%s/%s", prefix, ps->info[i].name);
        float *dst = (grads ? ps->grads : ps->params) + ps->info[i].offset;
        read_ref(st, name, dst, ps->info[i].ndim, ps->info[i].shape);
    }
}

static float max_abs_ref;  // scale of the reference values, for the relative error report

// Compare every tensor of ps (params or grads) with "<prefix>/<t>"; returns the max abs error.
static double compare_set(const SafeTensors *st, const ParamSet *ps, const char *prefix, int grads, double atol, double rtol) {
    double maxd = 0;
    for (int i = 0; i < ps->n; i++) {
        const ParamInfo *pi = &ps->info[i];
        float *want = mem_alloc_floats(pi->numel, MEM_WORKSPACE);
        char name[256];
        snprintf(name, sizeof name, "%s/%s", prefix, pi->name);
        read_ref(st, name, want, pi->ndim, pi->shape);
        const float *got = (grads ? ps->grads : ps->params) + pi->offset;
        double d = EXPECT_CLOSE(name, got, want, pi->numel, atol, rtol);
        if (d > maxd) maxd = d;
        float m = (float)tl_max_abs(want, pi->numel);
        if (m > max_abs_ref) max_abs_ref = m;
        mem_free(want);
    }
    return maxd;
}

static int padding_is_zero(const ParamSet *ps, const float *block) {
    for (int i = 0; i < ps->n; i++) {
        size_t end = ps->info[i].offset + ps->info[i].numel;
        size_t next = i + 1 < ps->n ? ps->info[i + 1].offset : ps->numel;
        for (size_t j = end; j < next; j++) if (block[j] != 0.0f) return 0;
    }
    return 1;
}

// Run one reference optimizer for STEPS steps through optim_step on one ParamSet.
static double run_vs_torch(const char *cfg, const OptimConfig *oc, double atol, double rtol) {
    SafeTensors st;
    if (open_ref(&st)) return -1;
    ParamSet ps;
    build_set(&ps, 1, 0, 2);
    load_into(&st, &ps, "p0", 0);
    float lrs[STEPS] = {0};
    int n5 = STEPS;
    char name[128];
    snprintf(name, sizeof name, "lr/%s", cfg);
    read_ref(&st, name, lrs, 1, &n5);
    double maxd = 0;
    max_abs_ref = 0;
    for (int s = 1; s <= STEPS; s++) {
        params_zero_grad(&ps);
        snprintf(name, sizeof name, "g%d", s);
        load_into(&st, &ps, name, 1);
        optim_step(oc, &ps, lrs[s - 1]);
        snprintf(name, sizeof name, "%s/step%d", cfg, s);
        double d = compare_set(&st, &ps, name, 0, atol, rtol);
        if (d > maxd) maxd = d;
    }
    EXPECT(ps.step == STEPS, "ps.step = %ld", ps.step);
    EXPECT(padding_is_zero(&ps, ps.params), "padding of the parameter block stays zero");
    printf("  %-13s 5 steps vs torch: max |diff| %.3g, relative to max|p| %.3g\n", cfg, maxd, maxd / (double)max_abs_ref);
    params_free(&ps);
    st_close(&st);
    return maxd;
}

static void test_sgd_plain_vs_torch(void) {
    OptimConfig oc = optim_sgd(0.0f, 1e-4f);
    run_vs_torch("sgd_plain", &oc, 1e-6, 1e-6);
}

static void test_sgd_momentum_dampening_vs_torch(void) {
    OptimConfig oc = optim_sgd(0.9f, 1e-4f);
    oc.dampening = 0.1f;
    run_vs_torch("sgd_mom", &oc, 1e-6, 1e-6);
}

static void test_sgd_nesterov_vs_torch(void) {
    OptimConfig oc = optim_sgd(0.9f, 1e-4f);
    oc.nesterov = 1;
    run_vs_torch("sgd_nesterov", &oc, 1e-6, 1e-6);
}

static void test_adamw_vs_torch(void) {
    OptimConfig oc = optim_adamw(0.9f, 0.999f, 1e-8f, 0.05f);
    run_vs_torch("adamw", &oc, 1e-5, 1e-5);
}

// Sets A {w1, b1}, B {w2}, and a frozen set (skipped) must clip as one
// clip_grad_norm_ over the three tensors.
static void clip_case(const char *name, int expect_clip) {
    SafeTensors st;
    if (open_ref(&st)) return;
    ParamSet a, b, frozen;
    build_set(&a, 1, 0, 1);
    build_set(&b, 1, 2, 2);
    build_set(&frozen, 0, 0, 0);
    frozen.params[0] = 100.0f;  // would dominate the norm if it were counted
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s/g_in", name);
    load_into(&st, &a, prefix, 1);
    load_into(&st, &b, prefix, 1);
    float *gin = mem_alloc_floats(a.numel + b.numel, MEM_WORKSPACE);
    memcpy(gin, a.grads, a.numel * sizeof(float));
    memcpy(gin + a.numel, b.grads, b.numel * sizeof(float));
    float total_ref = 0;
    int one = 1;
    snprintf(prefix, sizeof prefix, "%s/total", name);
    read_ref(&st, prefix, &total_ref, 1, &one);
    ParamSet *sets[3] = {&a, &frozen, &b};
    Counters c0 = counters_get();
    double total = grad_clip_sets(sets, 3, 2.0f);
    Counters dc = counters_diff(counters_get(), c0);
    EXPECT_NEAR("total norm", total, total_ref, 1e-6, 1e-6);
    EXPECT(expect_clip ? total > 2.0 : total < 2.0, "%s: total %g on the expected side of max_norm 2", name, total);
    snprintf(prefix, sizeof prefix, "%s/g_out", name);
    max_abs_ref = 0;
    double d = fmax(compare_set(&st, &a, prefix, 1, 1e-6, 1e-6), compare_set(&st, &b, prefix, 1, 1e-6, 1e-6));
    if (!expect_clip)
        EXPECT(memcmp(gin, a.grads, a.numel * sizeof(float)) == 0 && memcmp(gin + a.numel, b.grads, b.numel * sizeof(float)) == 0,
               "no clipping leaves the gradients bit-identical");
    double elems = 35 + 13 + 72;
    double want_flops = (expect_clip ? 3 : 2) * elems;
    EXPECT(dc.flops[phase_get()] == want_flops, "clip counted %g flops, want %g", dc.flops[phase_get()], want_flops);
    printf("  %-10s total %.7g (torch %.7g), grads max |diff| %.3g (max|g| %.3g)\n", name, total, (double)total_ref, d, (double)max_abs_ref);
    mem_free(gin);
    params_free(&a); params_free(&b); params_free(&frozen);
    st_close(&st);
}

static void test_clip_grad_norm_clips_vs_torch(void) { clip_case("clip_big", 1); }
static void test_clip_grad_norm_below_vs_torch(void) { clip_case("clip_small", 0); }

static void test_clip_edge_cases(void) {
    ParamSet a;
    build_set(&a, 1, 0, 0);
    ParamSet *sets[1] = {&a};
    EXPECT(grad_clip_sets(sets, 1, 1.0f) == 0.0, "all-zero gradients have norm 0");
    for (size_t i = 0; i < a.numel; i++) a.grads[i] = (i < 35) ? 1.0f : 0.0f;   // norm sqrt(35)
    double t = grad_clip_sets(sets, 1, 0.0f);                                    // max_norm 0: report, do not clip
    EXPECT(fabs(t - sqrt(35.0)) < 1e-12 && a.grads[0] == 1.0f, "max_norm 0 only measures (%g)", t);
    // Tiny norms show torch's +1e-6: total 2e-6, max_norm 1e-6 -> coef 1/3 (not 1/2).
    memset(a.grads, 0, a.numel * sizeof(float));
    a.grads[3] = 2e-6f;
    t = grad_clip_sets(sets, 1, 1e-6f);
    EXPECT(fabs(t - (double)2e-6f) < 1e-18, "tiny total %g", t);
    EXPECT_NEAR("clip coef with the 1e-6 guard", a.grads[3], 2e-6 / 3, 1e-15, 1e-6);
    a.grads[0] = NAN;
    a.grads[1] = 1.0f;
    t = grad_clip_sets(sets, 1, 1.0f);
    EXPECT(isnan(t) && a.grads[1] == 1.0f, "a NaN norm is returned and nothing is scaled");
    params_free(&a);
}

static void test_lr_schedule_vs_torch(void) {
    SafeTensors st;
    if (open_ref(&st)) return;
    // {lr, eta_min, warmup, warmup_start, total, cosine}: as SCHEDS in tests/ref_optim.py
    struct { const char *name; LrSchedule s; } cases[] = {
        {"warm5_cos50", {1e-3f, 1e-4f, 5, 0.1f, 50, 1}},
        {"nowarm_cos50", {1e-3f, 1e-4f, 0, 1.0f, 50, 1}},
        {"warm10_cos30_min0", {0.01f, 0.0f, 10, 1.0f / 3.0f, 30, 1}},
        {"warm4_const20", {0.05f, 0.0f, 4, 0.25f, 20, 0}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const LrSchedule *s = &cases[k].s;
        int n = (int)s->total + 1;
        float *want = mem_alloc_floats(n, MEM_WORKSPACE), *got = mem_alloc_floats(n, MEM_WORKSPACE);
        char name[96];
        snprintf(name, sizeof name, "sched/%s", cases[k].name);
        read_ref(&st, name, want, 1, &n);
        for (int t = 0; t < n; t++) got[t] = lr_at(s, t);
        double d = EXPECT_CLOSE(name, got, want, (size_t)n, 1e-12, 1e-6);
        double rel = 0;
        for (int t = 0; t < n; t++) if (want[t] != 0.0f) rel = fmax(rel, fabs((double)got[t] - (double)want[t]) / fabs((double)want[t]));
        printf("  %-18s %d ticks: max |diff| %.3g, max rel %.3g; lr(0)=%.4g lr(W)=%.4g lr(total)=%.4g\n", cases[k].name, n, d, rel,
               (double)got[0], (double)got[s->warmup], (double)got[n - 1]);
        EXPECT(lr_at(s, s->total + 7) == got[n - 1], "past total the lr holds its final value");
        mem_free(want); mem_free(got);
    }
    st_close(&st);
}

// Closed-form checks that need no reference file.
static void test_first_steps_by_hand(void) {
    float p[3] = {1.0f, -2.0f, 0.5f}, g[3] = {0.5f, 0.25f, -4.0f}, m[3] = {0}, v[3] = {0};
    OptimConfig adam = optim_adamw(0.9f, 0.999f, 0.0f, 0.0f);
    optim_step_tensor(&adam, p, g, m, v, 3, 0.1f, 1);     // first Adam step moves by lr*sign(g) exactly-ish
    float want[3] = {0.9f, -2.1f, 0.6f};
    EXPECT_CLOSE("adam step 1 = -lr sign(g)", p, want, 3, 1e-6, 1e-6);
    float q[2] = {1.0f, 2.0f}, h[2] = {1.0f, 1.0f}, buf[2] = {0};
    OptimConfig sgd = optim_sgd(0.5f, 0.0f);
    optim_step_tensor(&sgd, q, h, buf, NULL, 2, 0.1f, 1);   // buf = g
    optim_step_tensor(&sgd, q, h, buf, NULL, 2, 0.1f, 2);   // buf = 0.5 + 1 = 1.5
    float want2[2] = {1.0f - 0.1f - 0.15f, 2.0f - 0.1f - 0.15f};
    EXPECT_CLOSE("sgd momentum by hand", q, want2, 2, 1e-6, 1e-6);
    EXPECT(buf[0] == 1.5f, "momentum buffer %g", (double)buf[0]);
}

static void test_state_allocation_and_flops(void) {
    struct { OptimConfig oc; int bufs; } cases[4];
    cases[0].oc = optim_sgd(0.0f, 0.0f); cases[0].bufs = 0;
    cases[1].oc = optim_sgd(0.9f, 1e-4f); cases[1].bufs = 1;
    cases[2].oc = optim_sgd(0.9f, 1e-4f); cases[2].oc.nesterov = 1; cases[2].bufs = 1;
    cases[3].oc = optim_adamw(0.9f, 0.999f, 1e-8f, 0.05f); cases[3].bufs = 2;
    double per_step2[4] = {2, 2 + 2 + 3, 2 + 2 + 3 + 2, 14};   // the table in optim.h, second step
    for (int k = 0; k < 4; k++) {
        ParamSet ps;
        build_set(&ps, 1, 0, 2);
        Rng r; rng_seed(&r, 7);
        rng_fill_normal(&r, ps.grads, (long)ps.numel, 0, 1);
        EXPECT(optim_state_buffers(&cases[k].oc) == cases[k].bufs, "case %d state buffers", k);
        MemStats m0 = mem_stats();
        optim_step(&cases[k].oc, &ps, 0.01f);
        MemStats m1 = mem_stats();
        size_t grew = m1.current[MEM_OPTIMIZER] - m0.current[MEM_OPTIMIZER];
        EXPECT(grew == (size_t)cases[k].bufs * ps.numel * sizeof(float), "case %d: optimizer memory grew by %zu", k, grew);
        EXPECT((ps.opt_m != NULL) == (cases[k].bufs >= 1) && (ps.opt_v != NULL) == (cases[k].bufs >= 2), "case %d buffers", k);
        Counters c0 = counters_get();
        optim_step(&cases[k].oc, &ps, 0.01f);
        Counters d = counters_diff(counters_get(), c0);
        EXPECT(mem_stats().current[MEM_OPTIMIZER] == m1.current[MEM_OPTIMIZER], "no allocation on later steps");
        double want = per_step2[k] * (35 + 13 + 72);
        EXPECT(d.flops[phase_get()] == want, "case %d counted %g flops, want %g", k, d.flops[phase_get()], want);
        EXPECT(optim_flops_per_element(&cases[k].oc, 2) == per_step2[k], "case %d per-element table", k);
        params_free(&ps);
    }
}

// The OpenMP paths give bit-identical results for 1 and 2 threads.
static void test_threads_bit_identical(void) {
    size_t n = getenv("WB_QUICK") ? 100003 : 400003;
    float *p1 = mem_alloc_floats(n, MEM_WORKSPACE), *p2 = mem_alloc_floats(n, MEM_WORKSPACE), *g = mem_alloc_floats(n, MEM_WORKSPACE);
    float *m1 = mem_alloc_floats(n, MEM_WORKSPACE), *m2 = mem_alloc_floats(n, MEM_WORKSPACE);
    float *v1 = mem_alloc_floats(n, MEM_WORKSPACE), *v2 = mem_alloc_floats(n, MEM_WORKSPACE);
    Rng r; rng_seed(&r, 11);
    rng_fill_normal(&r, p1, (long)n, 0, 1);
    memcpy(p2, p1, n * sizeof(float));
    OptimConfig oc = optim_adamw(0.9f, 0.999f, 1e-8f, 0.05f);
    for (long s = 1; s <= 3; s++) {
        rng_fill_normal(&r, g, (long)n, 0, 1);
        threads_set(1); optim_step_tensor(&oc, p1, g, m1, v1, n, 1e-3f, s);
        threads_set(2); optim_step_tensor(&oc, p2, g, m2, v2, n, 1e-3f, s);
    }
    EXPECT(memcmp(p1, p2, n * sizeof(float)) == 0 && memcmp(v1, v2, n * sizeof(float)) == 0, "AdamW 1 vs 2 threads bit-identical");
    ParamSet ps;
    params_init(&ps, 1);
    int shape[1] = {(int)n};
    params_declare(&ps, "big", 1, shape);
    params_alloc(&ps);
    memcpy(ps.grads, g, n * sizeof(float));
    ParamSet *sets[1] = {&ps};
    threads_set(1);
    double t1 = grad_clip_sets(sets, 1, 1.0f);
    memcpy(ps.grads, g, n * sizeof(float));
    threads_set(2);
    double t2 = grad_clip_sets(sets, 1, 1.0f);
    EXPECT(t1 == t2, "clip norm 1 vs 2 threads: %.17g vs %.17g", t1, t2);
    double exact = 0;
    for (size_t i = 0; i < n; i++) exact += (double)g[i] * (double)g[i];
    EXPECT(fabs(t1 - sqrt(exact)) <= 1e-12 * t1, "chunked norm %.17g vs serial %.17g", t1, sqrt(exact));
    threads_set(0);
    params_free(&ps);
    mem_free(p1); mem_free(p2); mem_free(g); mem_free(m1); mem_free(m2); mem_free(v1); mem_free(v2);
}

// optim_step_clipped(coef, clear) must give the weights and state of
// grad_clip_sets then optim_step bit for bit, charge the same FLOPs, and leave
// the gradients at 0 (and untouched with clear = 0); for SGD (plain, momentum
// + nesterov) and AdamW, clipping and not, over three steps.
static void test_fused_clip_step_bit_identical(void) {
    size_t n = getenv("WB_QUICK") ? 50003 : 200003;
    OptimConfig cfgs[3] = {optim_sgd(0.0f, 1e-4f), optim_sgd(0.9f, 1e-4f), optim_adamw(0.9f, 0.999f, 1e-8f, 0.05f)};
    cfgs[1].nesterov = 1;
    const char *names[3] = {"sgd", "sgd nesterov", "adamw"};
    float max_norms[2] = {1.0f, 1e9f};   // clips / does not
    Rng r; rng_seed(&r, 5);
    for (int k = 0; k < 3; k++)
        for (int c = 0; c < 2; c++) {
            ParamSet a, b;
            int shape[1] = {(int)n};
            params_init(&a, 1); params_declare(&a, "x", 1, shape); params_alloc(&a);
            params_init(&b, 1); params_declare(&b, "x", 1, shape); params_alloc(&b);
            rng_fill_normal(&r, a.params, (long)n, 0, 1);
            memcpy(b.params, a.params, n * sizeof(float));
            ParamSet *sa[1] = {&a}, *sb[1] = {&b};
            int same = 1, cleared = 1, flops_same = 1, clipped = 0;
            for (int s = 0; s < 3; s++) {
                rng_fill_normal(&r, a.grads, (long)n, 0, 0.01f);
                memcpy(b.grads, a.grads, n * sizeof(float));
                Counters c0 = counters_get();
                double ta = grad_clip_sets(sa, 1, max_norms[c]);
                optim_step(&cfgs[k], &a, 1e-2f);
                Counters c1 = counters_get();
                double tb = grad_norm_sets(sb, 1), coef = grad_clip_coef(tb, max_norms[c]);
                optim_step_clipped(&cfgs[k], &b, 1e-2f, coef, 1);
                Counters c2 = counters_get();
                clipped |= coef < 1.0;
                same &= ta == tb && memcmp(a.params, b.params, n * sizeof(float)) == 0;
                if (a.opt_m) same &= memcmp(a.opt_m, b.opt_m, n * sizeof(float)) == 0;
                if (a.opt_v) same &= memcmp(a.opt_v, b.opt_v, n * sizeof(float)) == 0;
                for (size_t i = 0; i < n; i++) cleared &= b.grads[i] == 0.0f;
                flops_same &= counters_diff(c1, c0).flops[phase_get()] == counters_diff(c2, c1).flops[phase_get()];
            }
            EXPECT(clipped == (c == 0), "%s: max_norm %g %s", names[k], (double)max_norms[c], c == 0 ? "clips" : "does not clip");
            EXPECT(same, "%s max_norm %g: fused clip+step bit-identical to clip then step", names[k], (double)max_norms[c]);
            EXPECT(cleared, "%s: the fused step leaves the gradients at 0", names[k]);
            EXPECT(flops_same, "%s: the fused step charges the FLOPs of clip + step", names[k]);
            rng_fill_normal(&r, b.grads, (long)n, 0, 0.01f);
            memcpy(a.grads, b.grads, n * sizeof(float));
            optim_step_clipped(&cfgs[k], &b, 1e-2f, 0.5, 0);
            EXPECT(memcmp(a.grads, b.grads, n * sizeof(float)) == 0, "%s: clear_grads = 0 leaves the gradients as they were", names[k]);
            params_free(&a); params_free(&b);
        }
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    threads_set(0);
    RUN(test_sgd_plain_vs_torch);
    RUN(test_sgd_momentum_dampening_vs_torch);
    RUN(test_sgd_nesterov_vs_torch);
    RUN(test_adamw_vs_torch);
    RUN(test_clip_grad_norm_clips_vs_torch);
    RUN(test_clip_grad_norm_below_vs_torch);
    RUN(test_clip_edge_cases);
    RUN(test_lr_schedule_vs_torch);
    RUN(test_first_steps_by_hand);
    RUN(test_state_allocation_and_flops);
    RUN(test_threads_bit_identical);
    RUN(test_fused_clip_step_bit_identical);
    return tl_finish();
}
