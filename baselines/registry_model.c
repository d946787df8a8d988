// registry_model.c: the paper measure of any model config (see registry_model.h).
#include "baselines/registry_model.h"
#include "baselines/registry_llama.h"
#include "baselines/registry_swin.h"
#include "core/runtime/common.h"

ModelPaperMemory model_methods_paper_memory(const ModelConfig *cfg, int B, const ModelBinding *bind, const char *method,
                                            const LayerRanks *ranks) {
    switch (cfg->kind) {
    case MODEL_VIT: return methods_paper_memory(&cfg->vit, B, bind, method, ranks);
    case MODEL_SWIN: return swin_methods_paper_memory(&cfg->swin, B, bind, method, ranks);
    case MODEL_LLAMA: return llama_methods_paper_memory(&cfg->llama, B, bind, method, ranks);
    }
    die("model config of unknown kind %d", (int)cfg->kind);
}
