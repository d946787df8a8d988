// hosvd_ranks.c: the truncated-HOSVD ranks (and the paper measure of hosvd)
// of the MLP inputs of vit_b_32 on one batch, through the rank calibration
// of core/compress/rank_calib.h. The ranks are data-dependent; this measures them for
// a RANDOMLY initialised vit_b_32 (no pretrained weights offline) on
// Fashion-MNIST images resized to 224 px, so it is a data point, not the
// paper's number. Build like bench_mlp.c; run:
//   build/hosvd_ranks [B=128] [eps=0.9] [threads=2]
#include "baselines/registry_model.h"
#include "core/data/dataset.h"
#include "core/runtime/memory.h"
#include "core/compress/rank_calib.h"
#include "core/linalg/blas.h"
#include "core/runtime/counters.h"
#include "core/models/vit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    int B = argc > 1 ? atoi(argv[1]) : 128;
    float eps = argc > 2 ? (float)atof(argv[2]) : 0.9f;
    threads_set(argc > 3 ? atoi(argv[3]) : 2);
    DataConfig dc;
    data_config_default(&dc);
    dc.image_size = 224;
    Dataset ds;
    WbError err;
    if (dataset_open(&ds, &dc, &err) < 0) { fprintf(stderr, "%s\n", err.msg); return 1; }
    float *img = mem_alloc_floats((size_t)B * 3 * 224 * 224, MEM_DATA);
    int *y = mem_alloc(sizeof(int) * (size_t)B, MEM_DATA), *idx = mem_alloc(sizeof(int) * (size_t)B, MEM_DATA);
    for (int i = 0; i < B; i++) idx[i] = i;
    if (dataset_batch(&ds, idx, B, 0, img, y, &err) < 0) { fprintf(stderr, "%s\n", err.msg); return 1; }
    ViTConfig cfg;
    vit_preset("vit_b_32", &cfg);
    cfg.num_classes = 10;
    ModelBinding bind;
    memset(&bind, 0, sizeof bind);
    bind.method = &rank_probe_method;
    bind.num_finetune = -1;
    ViT m;
    vit_build(&m, &cfg, &bind, B);
    vit_init_random(&m, 1);
    RankCalib rc;
    double t0 = wall_seconds();
    rank_calib_measure(&rc, &m, img, y, B, &eps, 1);
    printf("calibration %.1f s\n", wall_seconds() - t0);
    rank_calib_select(&rc, 0, 100, stdout);
    LayerRanks lr[64];
    for (int l = 0; l < rc.n_layers; l++) {
        memcpy(lr[l].act_ranks, rank_calib_chosen(&rc, l), sizeof lr[l].act_ranks);
        lr[l].weight_rank = 0;
    }
    bind.mcfg.epsilon = eps;
    ModelPaperMemory pm = methods_paper_memory(&cfg, B, &bind, "hosvd", lr);
    printf("hosvd eps %.2f, vit_b_32 random init, Fashion-MNIST 224 px, B=%d, MLP: %.3f MB activations + %.3f MB weights = %.3f MB\n",
           (double)eps, B, pm.paper_act_mb, pm.paper_weight_mb, pm.paper_act_mb + pm.paper_weight_mb);
    rank_calib_free(&rc);
    vit_free(&m);
    dataset_close(&ds);
    return 0;
}
