// registry_model.c: the paper measure of any model config (see registry_model.h).
#include "baselines/registry_model.h"
#include "core/runtime/common.h"

#define MAX_SHAPES 4096

ModelPaperMemory model_methods_paper_memory(const ModelConfig *cfg, int B, const ModelBinding *bind, const char *method,
                                            const LayerRanks *ranks) {
    const ModelFamily *f = model_family(cfg->kind);
    CHECK(f->counted_shapes, "model family %s lists no counted linears", f->name);
    static LinearShape shapes[MAX_SHAPES];   // not reentrant: the config and cost code is single-threaded
    int n = f->counted_shapes(cfg, B, bind, shapes, MAX_SHAPES);
    ModelPaperMemory pm = {0, 0, 0};
    for (int i = 0; i < n; i++) paper_memory_add(&pm, method, shapes[i].O, shapes[i].dims, shapes[i].nd, &bind->mcfg, ranks);
    return pm;
}
