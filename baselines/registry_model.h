// registry_model.h: the closed-form paper measure of any model config, for
// code that holds a ModelConfig (the dry run's cost table, the equal-memory
// budget fit) and for the tests that check a built model against it. It
// follows from the model family's counted linears and their activation
// shapes (ModelFamily.counted_shapes) and the method's per-linear formula
// (paper_memory_add, registry.h): no model has a closed form of its own.
#ifndef WB_REGISTRY_MODEL_H
#define WB_REGISTRY_MODEL_H

#include "baselines/registry.h"
#include "core/models/model.h"

// model_paper_memory() of a model built as model_build(cfg, bind, B) with
// bind->method = method_by_name(method): method_paper_elems summed over the
// counted trainable linears (layers and num_finetune as the binding says).
// ranks (n_counted, forward order) or NULL (then every layer uses mcfg's
// act_ranks; a part that needs data or weights, as wasi's k, is NAN).
ModelPaperMemory model_methods_paper_memory(const ModelConfig *cfg, int B, const ModelBinding *bind, const char *method,
                                            const LayerRanks *ranks);

#endif
