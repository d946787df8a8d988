// params.h: a ParamSet is one contiguous block of parameters with a table of
// named tensors (torchvision names), plus, when trainable, one contiguous
// block each for gradients and optimizer state. The optimizer is one loop
// over a block, zero_grad one memset, a checkpoint one pass over the table.
// Frozen and trainable tensors live in separate sets.
#ifndef WB_PARAMS_H
#define WB_PARAMS_H

#include <stddef.h>

#define PARAM_NAME_MAX 128
#define PARAM_MAX_DIMS 4

typedef struct {
    char name[PARAM_NAME_MAX];
    int ndim;
    int shape[PARAM_MAX_DIMS];
    size_t offset;    // in floats from the start of the block
    size_t numel;
} ParamInfo;

typedef struct {
    ParamInfo *info;  // (n)
    int n, cap;
    size_t numel;     // total floats
    int trainable;
    float *params;    // (numel) category weights
    float *grads;     // (numel) category gradients, NULL when frozen
    float *opt_m;     // (numel) category optimizer, allocated by the optimizer on first step
    float *opt_v;     // (numel) second moment (AdamW), idem
    long step;        // optimizer steps taken on this set
} ParamSet;

// Two phases: declare every tensor, then allocate once.
void params_init(ParamSet *ps, int trainable);
void params_declare(ParamSet *ps, const char *name, int ndim, const int *shape);
void params_alloc(ParamSet *ps);
void params_free(ParamSet *ps);

int params_index(const ParamSet *ps, const char *name);          // -1 if absent
float *params_get(const ParamSet *ps, const char *name);          // dies if absent
float *params_grad(const ParamSet *ps, const char *name);         // NULL if frozen
void params_zero_grad(ParamSet *ps);
double params_grad_sqnorm(const ParamSet *ps);                    // sum of squares of all grads (double)
void params_scale_grad(ParamSet *ps, float s);

#endif
