// registry_swin.c: the closed-form paper measure of a Swin (see registry_swin.h).
#include "baselines/registry_swin.h"
#include "core/runtime/common.h"
#include "core/nn/swin_layers.h"

SwinPaperMemory swin_methods_paper_memory(const SwinConfig *cfg, int B, const SwinBinding *bind, const char *method,
                                          const LayerRanks *ranks) {
    const int ws = cfg->window, T = ws * ws;
    int nblocks = 0;
    for (int s = 0; s < cfg->stages; s++) nblocks += cfg->depths[s];
    const int per_block = bind->all_linear ? 4 : 2, counted = nblocks * per_block;
    const int n_train = bind->num_finetune < 0 ? counted : bind->num_finetune;
    CHECK(n_train <= counted, "num_finetune %d > %d counted linears", n_train, counted);
    SwinPaperMemory pm = {0, 0, 0};
    int idx = 0, H = cfg->image_size / cfg->patch, W = H;
    for (int s = 0; s < cfg->stages; s++) {
        const int C = cfg->embed_dim << s, M = cfg->mlp_ratio * C;
        for (int i = 0; i < cfg->depths[s]; i++) {
            int Hp, Wp, sh, sw;
            window_geometry(H, W, ws, (i % 2) ? ws / 2 : 0, &Hp, &Wp, &sh, &sw);
            const int nW = (Hp / ws) * (Wp / ws);
            for (int w = 0; w < SWIN_NLIN; w++) {
                if (!(w == SWIN_FC1 || w == SWIN_FC2 || bind->all_linear)) continue;
                if (idx++ < counted - n_train) continue;   // frozen: not part of the measure
                int dims[4], O;
                if (w <= SWIN_PROJ) { dims[1] = nW; dims[2] = T; dims[3] = C; O = w == SWIN_QKV ? 3 * C : C; }
                else { dims[1] = H; dims[2] = W; dims[3] = w == SWIN_FC1 ? C : M; O = w == SWIN_FC1 ? M : C; }
                dims[0] = B;
                paper_memory_add(&pm, method, O, dims, 4, &bind->mcfg, ranks);
            }
        }
        H = (H + 1) / 2; W = (W + 1) / 2;
    }
    return pm;
}
