// gradcheck.c: the generic layer gradient check (see gradcheck.h).
#include "tests/gradcheck.h"
#include "tests/testlib.h"
#include "core/runtime/memory.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

float *gc_falloc(long n) { return mem_alloc_floats(n, MEM_WORKSPACE); }
float *gc_frandn(Rng *r, long n, float std) { float *x = gc_falloc(n); rng_fill_normal(r, x, n, 0.0f, std); return x; }


void gc_case_outputs(GcCase *c, long nout, Rng *r) {
    c->nout = nout;
    c->out = gc_falloc(nout);
    c->R = gc_frandn(r, nout, 1.0f);
}

void gc_case_free(GcCase *c) {
    for (int j = 0; j < c->nt; j++) mem_free(c->t[j]);
    for (int j = 0; j < 3; j++) mem_free(c->s[j]);
    mem_free(c->ints);
    mem_free(c->out); mem_free(c->R); mem_free(c->aux);
}

static double gc_fake_loss(GcCase *c) {
    c->fwd(c);
    double L = 0.0;
    for (long i = 0; i < c->nout; i++) L += (double)c->out[i] * (double)c->R[i];
    return L;
}

// fresh gradients at the current point (fwd then bwd into zeroed buffers)
static void gc_case_grads(GcCase *c, float **g) {
    for (int j = 0; j < c->nt; j++) g[j] = gc_falloc(c->tn[j]);
    c->fwd(c);
    c->bwd(c, g);
}

// Per-element central differences for every tensor. The step actually taken
// is (float)(x+h) - (float)(x-h), not 2h, so rounding of x+h costs nothing.
void gc_gradcheck(GcCase *c, float h, double atol, double rtol) {
    float *g[MAXT];
    gc_case_grads(c, g);
    for (int j = 0; j < c->nt; j++) {
        float *x = c->t[j], *num = gc_falloc(c->tn[j]);
        for (long i = 0; i < c->tn[j]; i++) {
            float x0 = x[i], xp = x0 + h, xm = x0 - h;
            x[i] = xp; double Lp = gc_fake_loss(c);
            x[i] = xm; double Lm = gc_fake_loss(c);
            x[i] = x0;
            num[i] = (float)((Lp - Lm) / ((double)xp - (double)xm));
        }
        char what[96];
        snprintf(what, sizeof what, "%s d%s", c->name, c->tname[j]);
        EXPECT_NONZERO(what, g[j], (size_t)c->tn[j]);
        EXPECT_NONZERO(what, num, (size_t)c->tn[j]);
        double maxabs = EXPECT_CLOSE(what, g[j], num, (size_t)c->tn[j], atol, rtol);
        double maxrel = 0.0; // over elements whose reference is not tiny
        for (long i = 0; i < c->tn[j]; i++) {
            double ref = fabs((double)num[i]);
            if (ref >= 1e-2) { double rel = fabs((double)g[j][i] - (double)num[i]) / ref; if (rel > maxrel) maxrel = rel; }
        }
        printf("  gradcheck %-28s n=%5ld max|g|=%.3g  max abs err %.2e  max rel err %.2e (|ref|>=1e-2)\n", what,
               c->tn[j], tl_max_abs(num, (size_t)c->tn[j]), maxabs, maxrel);
        mem_free(num);
    }
    c->fwd(c); // leave the saved state at the unperturbed point
    for (int j = 0; j < c->nt; j++) mem_free(g[j]);
}

// One random direction d for all tensors at once: (L(x+ed) - L(x-ed)) against
// sum g . (actual step). Cheap enough for shapes that take the OpenMP paths.
void gc_dircheck(GcCase *c, float eps, double rtol, Rng *r) {
    float *g[MAXT], *x0[MAXT], *xp[MAXT], *xm[MAXT];
    gc_case_grads(c, g);
    double gd = 0.0, gnorm = 0.0;
    for (int j = 0; j < c->nt; j++) {
        long n = c->tn[j];
        EXPECT_NONZERO(c->tname[j], g[j], (size_t)n);
        x0[j] = gc_falloc(n); xp[j] = gc_falloc(n); xm[j] = gc_falloc(n);
        memcpy(x0[j], c->t[j], (size_t)n * sizeof(float));
        for (long i = 0; i < n; i++) {
            float d = rng_normal(r);
            xp[j][i] = x0[j][i] + eps * d;
            xm[j][i] = x0[j][i] - eps * d;
            gd += (double)g[j][i] * ((double)xp[j][i] - (double)xm[j][i]);
            gnorm += (double)g[j][i] * (double)g[j][i];
        }
    }
    for (int j = 0; j < c->nt; j++) memcpy(c->t[j], xp[j], (size_t)c->tn[j] * sizeof(float));
    double Lp = gc_fake_loss(c);
    for (int j = 0; j < c->nt; j++) memcpy(c->t[j], xm[j], (size_t)c->tn[j] * sizeof(float));
    double Lm = gc_fake_loss(c);
    for (int j = 0; j < c->nt; j++) memcpy(c->t[j], x0[j], (size_t)c->tn[j] * sizeof(float));
    c->fwd(c);
    double err = fabs((Lp - Lm) - gd), scale = fabs(gd) + 2.0 * (double)eps * sqrt(gnorm);
    EXPECT(err <= rtol * scale, "%s directional: finite difference %.9g vs g.step %.9g (rel %.2e)", c->name, Lp - Lm, gd,
           err / scale);
    printf("  dircheck  %-28s rel err %.2e\n", c->name, err / scale);
    for (int j = 0; j < c->nt; j++) { mem_free(g[j]); mem_free(x0[j]); mem_free(xp[j]); mem_free(xm[j]); }
}

// Accumulation: backward into preexisting values adds; a second call adds
// again. NULL: each gradient alone (all others NULL) equals the full call;
// an all-NULL call must not touch anything or crash.
void gc_accumcheck(GcCase *c, Rng *r) {
    float *g[MAXT], *pre[MAXT], *acc[MAXT], *want[MAXT];
    gc_case_grads(c, g);
    for (int j = 0; j < c->nt; j++) {
        long n = c->tn[j];
        pre[j] = gc_frandn(r, n, 1.0f);
        acc[j] = gc_falloc(n); memcpy(acc[j], pre[j], (size_t)n * sizeof(float));
        want[j] = gc_falloc(n);
    }
    char what[96];
    c->bwd(c, acc);
    for (int j = 0; j < c->nt; j++) {
        for (long i = 0; i < c->tn[j]; i++) want[j][i] = pre[j][i] + g[j][i];
        snprintf(what, sizeof what, "%s d%s accumulates into preexisting", c->name, c->tname[j]);
        EXPECT_CLOSE(what, acc[j], want[j], (size_t)c->tn[j], 1e-5, 1e-5);
    }
    c->bwd(c, acc);
    for (int j = 0; j < c->nt; j++) {
        for (long i = 0; i < c->tn[j]; i++) want[j][i] = pre[j][i] + 2.0f * g[j][i];
        snprintf(what, sizeof what, "%s d%s second call adds again", c->name, c->tname[j]);
        EXPECT_CLOSE(what, acc[j], want[j], (size_t)c->tn[j], 1e-5, 1e-5);
    }
    for (int j = 0; j < c->nt; j++) {
        float *only[MAXT] = {NULL, NULL, NULL, NULL};
        only[j] = gc_falloc(c->tn[j]);
        c->bwd(c, only);
        snprintf(what, sizeof what, "%s d%s alone (others NULL)", c->name, c->tname[j]);
        EXPECT_CLOSE(what, only[j], g[j], (size_t)c->tn[j], 1e-6, 1e-6);
        mem_free(only[j]);
    }
    float *none[MAXT] = {NULL, NULL, NULL, NULL};
    c->bwd(c, none);
    for (int j = 0; j < c->nt; j++) { mem_free(g[j]); mem_free(pre[j]); mem_free(acc[j]); mem_free(want[j]); }
}

void gc_run_case(GcCase *c, float h, double atol, double rtol, Rng *r) {
    gc_gradcheck(c, h, atol, rtol);
    gc_accumcheck(c, r);
}

void gc_run_big(GcCase *c, Rng *r) {
    gc_dircheck(c, 1e-2f, 1e-3, r);
    gc_accumcheck(c, r);
}
