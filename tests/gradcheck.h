// gradcheck.h: the generic layer gradient check of the layer tests
// (test_layers.c for core/nn/layers.h, test_llama_layers.c for
// core/nn/llama_layers.h): a case holds differentiable tensors t[j], an
// output and forward/backward closures; the fake loss L = sum(out * R) in
// double gives dL/dout = R. Checks: per-element central differences
// (gc_gradcheck), one random direction on shapes large enough to take the
// OpenMP paths (gc_dircheck), accumulation (+= into preexisting values,
// twice doubles) and NULL gradient outputs (gc_accumcheck).
#ifndef WB_GRADCHECK_H
#define WB_GRADCHECK_H

#include "core/runtime/rng.h"

#define MAXT 4
typedef struct GcCase GcCase;
struct GcCase {
    const char *name;
    int nt;
    const char *tname[MAXT];
    float *t[MAXT];
    long tn[MAXT];
    float *out, *R;
    long nout;
    void (*fwd)(GcCase *c);
    void (*bwd)(GcCase *c, float **g);   // g[j] += dL/dt[j]; g[j] may be NULL
    int B, N, C, NH, Cin, H, W, P, I, O;
    int T, NKV, hd, V;                   // the Llama layers' dimensions
    float eps;
    float *s[3];                         // saved state and workspaces
    float *aux;                          // an input without gradient (the image)
    int *ints;                           // integer inputs (token ids, lengths), mem_alloc'ed; freed with the case
};

float *gc_falloc(long n);                          // MEM_WORKSPACE floats
float *gc_frandn(Rng *r, long n, float std);       // ~ N(0, std^2)
void gc_case_outputs(GcCase *c, long nout, Rng *r);   // out and a random R of nout floats
void gc_case_free(GcCase *c);
// Per-element central differences with step h against backward: |diff| <= atol + rtol |fd|, never all zero.
void gc_gradcheck(GcCase *c, float h, double atol, double rtol);
// One random direction (step eps) for all tensors at once, relative error <= rtol.
void gc_dircheck(GcCase *c, float eps, double rtol, Rng *r);
void gc_accumcheck(GcCase *c, Rng *r);
void gc_run_case(GcCase *c, float h, double atol, double rtol, Rng *r);   // gradcheck + accumcheck
void gc_run_big(GcCase *c, Rng *r);                                       // dircheck + accumcheck

#endif
