// registry_model.h: the closed-form paper measure of any model config (the
// ViT's of registry.h, the Swin's of registry_swin.h, the Llama's of
// registry_llama.h), for code that holds a ModelConfig: the dry run's cost
// table and the equal-memory budget fit.
#ifndef WB_REGISTRY_MODEL_H
#define WB_REGISTRY_MODEL_H

#include "baselines/registry.h"
#include "core/models/model.h"

ModelPaperMemory model_methods_paper_memory(const ModelConfig *cfg, int B, const ModelBinding *bind, const char *method,
                                            const LayerRanks *ranks);

#endif
