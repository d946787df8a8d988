// test_swin_calib.c: rank selection (core/compress/rank_calib.h) and the equal-memory
// budget (experiments/budget.h) on Swin, whose counted linears have 4-mode
// activations. In process on swin_micro: the calibration table (4 ranks per
// candidate, cost = core + factors, monotone in epsilon), the DP under a
// budget, the re-bind to asi/wasi at the chosen ranks (the layers report
// them, the paper measure equals the DP's cost) and training afterwards.
// Through the runner on a small generated CIFAR-10-format set: asi and wasi
// with `budget_mb` and at the minimum budget complete, keep 4-mode ranks,
// fit their budget in the paper's measure and lower the training loss.
#include "baselines/registry.h"
#include "core/compress/act_store.h"
#include "core/linalg/blas.h"
#include "core/runtime/memory.h"
#include "core/models/model.h"
#include "core/compress/rank_calib.h"
#include "core/runtime/rng.h"
#include "experiments/results.h"
#include "experiments/runner.h"
#include "tests/testlib.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const float g_cand[6] = {0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f};

// A learnable batch for swin_micro (32 px, 3 channels, 10 classes): class c
// lifts one 8x8 block of the image, plus noise.
static void pattern_batch(float *img, int *y, int B, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < B; i++) {
        int c = (i * 3) % 10;
        y[i] = c;
        for (int ch = 0; ch < 3; ch++)
            for (int yy = 0; yy < 32; yy++)
                for (int x = 0; x < 32; x++) {
                    int on = yy / 8 == c / 4 && x / 8 == c % 4;
                    img[(((size_t)i * 3 + ch) * 32 + yy) * 32 + x] = (on ? 1.5f : 0.0f) + 0.5f * rng_normal(&r);
                }
    }
}

// --- in process: calibration, DP, re-bind, training --------------------------------------

static void calib_case(int all_linear, const LinearMethod *meth) {
    ModelConfig mc;
    CHECK(model_preset("swin_micro", &mc) == 0, "swin_micro preset");
    const int B = 4;
    float *img = mem_alloc_floats((size_t)B * 3 * 32 * 32, MEM_DATA);
    int y[4];
    pattern_batch(img, y, B, 21);
    ModelBinding bind;
    memset(&bind, 0, sizeof bind);
    bind.method = &rank_probe_method;
    bind.mcfg.seed = 17;
    bind.mcfg.epsilon = 0.9f;
    bind.all_linear = all_linear;
    bind.num_finetune = -1;
    Model m;
    model_build(&m, &mc, &bind, B);
    model_init_random(&m, 5);

    // calibrate on a smaller batch than the model's: the re-bind must size for B
    RankCalib rc;
    rank_calib_measure_model(&rc, &m, img, y, B - 1, g_cand, 6);
    const int nblk = 6, J = 6;   // swin_micro: depths 2-2-2
    int n_grew = 0;
    EXPECT(rc.n_layers == (all_linear ? 4 : 2) * nblk && rc.nd == 4 && rc.nd == model_config_act_modes(&mc),
           "%d layers, %d modes", rc.n_layers, rc.nd);
    for (int l = 0; l < rc.n_layers; l++) {
        const LinearLayer *L = rc.lin[l];
        EXPECT(L == model_linear(&m, rc.layer[l]) && model_linear_counted_index(&m, rc.layer[l]) == l, "layer %d order", l);
        for (int j = 0; j < J; j++) {
            const int *k = rc.ranks + ((size_t)l * J + j) * 4;
            int ok = 1;
            for (int d = 0; d < 4; d++) ok &= k[d] >= 1 && k[d] <= L->dims[d];
            EXPECT(ok, "%s eps %.1f: ranks %d %d %d %d within dims %d %d %d %d", L->name, (double)g_cand[j], k[0], k[1], k[2],
                   k[3], L->dims[0], L->dims[1], L->dims[2], L->dims[3]);
            EXPECT(tucker_elems(L->dims, k, 4) == (double)rc.cost[l * J + j], "%s: cost = core + factors", L->name);
            if (j) EXPECT(rc.cost[l * J + j] >= rc.cost[l * J + j - 1], "%s: cost not monotone in epsilon", L->name);
        }
        // Same ranks at 0.4 and 0.9 (random-init attention outputs are close
        // to rank 1 per window): the same error; otherwise a smaller one.
        int grew = rc.cost[l * J + 5] > rc.cost[l * J];
        n_grew += grew;
        EXPECT(rc.gnorm[l] > 0 && (grew ? rc.err[l * J + 5] < rc.err[l * J] : rc.err[l * J + 5] == rc.err[l * J]),
               "%s: err %.3g at 0.9 vs %.3g at 0.4 (|dW| %.3g)", L->name, rc.err[l * J + 5], rc.err[l * J], rc.gnorm[l]);
    }
    EXPECT(n_grew >= rc.n_layers * 2 / 3, "%d of %d layers keep more at 0.9 than at 0.4", n_grew, rc.n_layers);
    int64_t maxc = 0;
    for (int l = 0; l < rc.n_layers; l++) maxc += rc.cost[l * J + 5];
    int64_t budget = rc.min_budget + (maxc - rc.min_budget) / 3;
    RankSelection s = rank_calib_select(&rc, budget, 500, NULL);
    EXPECT(!s.raised && s.cost_sum <= budget && s.cost_sum > rc.min_budget, "used %lld of %lld (min %lld)",
           (long long)s.cost_sum, (long long)budget, (long long)rc.min_budget);
    double cheapest = 0;
    for (int l = 0; l < rc.n_layers; l++) cheapest += rc.err[l * J];
    EXPECT(s.err_sum < cheapest, "DP error %.4g below the all-cheapest %.4g", s.err_sum, cheapest);

    // re-bind and check what the layers report
    MethodConfig mcfg = bind.mcfg;
    rank_calib_rebind_model(&m, &rc, meth, &mcfg);
    EXPECT(m.u.swin.bind.method == meth, "binding updated");
    // A full-batch step: the paper measure at B is the DP's cost scaled by the
    // batch mode's factor only where k1 = the calibration batch; check the
    // per-layer ranks and that the measure is the Tucker size at B.
    OptimConfig oc = optim_sgd(0.0f, 0.0f);
    float l0 = 0, l1 = 0;
    for (int st = 0; st < 4; st++) {
        model_zero_grad(&m);
        float L = model_forward(&m, img, y, B, 1);
        model_backward(&m);
        model_update(&m, &oc, 0.05f);
        if (st == 0) l0 = L;
        l1 = L;
    }
    double act = 0, want = 0;
    for (int l = 0; l < rc.n_layers; l++) {
        const LinearLayer *L = rc.lin[l];
        LinearAccount acc;
        L->method->account(L, &acc);
        const int *k = rank_calib_chosen(&rc, l);
        EXPECT(L->method == meth && L->ndim == 4 && acc.act_ranks[0] == k[0] && acc.act_ranks[1] == k[1] &&
                   acc.act_ranks[2] == k[2] && acc.act_ranks[3] == k[3],
               "%s: ranks %d %d %d %d vs chosen %d %d %d %d", L->name, acc.act_ranks[0], acc.act_ranks[1], acc.act_ranks[2],
               acc.act_ranks[3], k[0], k[1], k[2], k[3]);
        act += acc.paper_act_elems;
        want += tucker_elems(L->dims, k, 4);
    }
    EXPECT(act == want && act > 0, "paper activations %.0f = Tucker size at the chosen ranks %.0f", act, want);
    EXPECT(isfinite(l1) && l1 < l0, "%s after calibration: loss %.5f -> %.5f", meth->name, (double)l0, (double)l1);
    printf("  swin_micro %s %s: %d layers x 4 modes, min budget %lld, chosen %lld of %lld elements; loss %.4f -> %.4f in 4 steps\n",
           all_linear ? "all_linear" : "mlp", meth->name, rc.n_layers, (long long)rc.min_budget, (long long)s.cost_sum,
           (long long)budget, (double)l0, (double)l1);
    rank_calib_free(&rc);
    model_free(&m);
    mem_free(img);
}

static void test_calib_mlp_asi(void) { calib_case(0, method_by_name("asi")); }
static void test_calib_all_linear_wasi(void) { calib_case(1, method_by_name("wasi")); }

// --- through the runner -----------------------------------------------------------------

static char g_dir[600];

// CIFAR-10 binary layout: data_batch_1..5.bin (train; val is 20% of it) and
// test_batch.bin, records of 1 label byte + 3 planes of 32x32 bytes; class c
// lights one 8x8 block.
static void make_cifar(const char *dir, int per_file) {
    char p[800];
    Rng r;
    rng_seed(&r, 3);
    unsigned char rec[1 + 3072];
    for (int f = 0; f < 6; f++) {
        if (f < 5) snprintf(p, sizeof p, "%s/data_batch_%d.bin", dir, f + 1);
        else snprintf(p, sizeof p, "%s/test_batch.bin", dir);
        FILE *fp = fopen(p, "wb");
        CHECK(fp, "cannot write %s", p);
        for (int i = 0; i < per_file; i++) {
            int c = (f * per_file + i) % 10;
            rec[0] = (unsigned char)c;
            for (int ch = 0; ch < 3; ch++)
                for (int y = 0; y < 32; y++)
                    for (int x = 0; x < 32; x++) {
                        int on = y / 8 == c / 4 && x / 8 == c % 4;
                        rec[1 + ch * 1024 + y * 32 + x] = (unsigned char)(on ? 150 + rng_below(&r, 100) : rng_below(&r, 80));
                    }
            fwrite(rec, 1, sizeof rec, fp);
        }
        fclose(fp);
    }
}

// layer_ranks_by_epoch (epochs, layers, 5: weight rank, k1..k4) of a run.
static int read_layer_ranks(const char *path, const char *run, int32_t *out, int max, int *n_epochs, int *n_layers) {
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return -1;
    char ds[400];
    snprintf(ds, sizeof ds, "/runs/%s/layer_ranks_by_epoch", run);
    int rc = -1;
    hid_t d = H5Dopen2(f, ds, H5P_DEFAULT);
    if (d >= 0) {
        hid_t sp = H5Dget_space(d);
        hsize_t dims[3] = {0, 0, 0};
        int nd = H5Sget_simple_extent_dims(sp, dims, NULL);
        if (nd == 3 && dims[2] == 5 && dims[0] * dims[1] * 5 <= (hsize_t)max &&
            H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0) {
            *n_epochs = (int)dims[0];
            *n_layers = (int)dims[1];
            rc = 0;
        }
        H5Sclose(sp);
        H5Dclose(d);
    }
    H5Fclose(f);
    return rc;
}

static void test_runner_budget(void) {
    char data[700], yaml[700], out[700];
    snprintf(data, sizeof data, "%s/cifar", g_dir);
    CHECK(mkdir(data, 0777) == 0 || errno == EEXIST, "mkdir %s", data);
    make_cifar(data, 32);
    snprintf(yaml, sizeof yaml, "%s/swin_budget.yaml", g_dir);
    snprintf(out, sizeof out, "%s/swin_budget.h5", g_dir);
    unlink(out);   // a results file of an earlier invocation would be resumed
    // swin_micro's MLP weights are 344064 elements (1.31 MB dense): asi's
    // budget must hold them plus the minimum activations; wasi's weights are
    // low-rank, so it fits a budget below the dense weights.
    FILE *f = fopen(yaml, "w");
    CHECK(f, "cannot write %s", yaml);
    fprintf(f,
            "experiment: swin_budget\n"
            "model: {preset: swin_micro}\n"
            "dataset: {format: cifar10, path: %s, image_size: 32, normalize: half, limit_train: 32, limit_val: 8}\n"
            "training: {epochs: 3, batch_size: 8, lr: 0.05, momentum: 0.9, grad_clip: 2.0}\n"
            "layers: mlp\n"
            "methods:\n"
            "  - name: asi\n"
            "  - name: asi\n"
            "    budget_mb: 1.324\n"
            "  - name: wasi\n"
            "    epsilon: 0.9\n"
            "  - name: wasi\n"
            "    epsilon: 0.9\n"
            "    activation: {budget_mb: 0.6}\n",
            data);
    fclose(f);
    RunnerOptions opt = {.out = out, .shard_i = 0, .shard_n = 1, .threads = 1, .progress = PROGRESS_QUIET};   // 1 thread: a test binary has spinning OpenMP threads (see experiments/main.c)
    int rc = runner_run(yaml, &opt);
    EXPECT(rc == EXIT_OK, "wasibench run exit %d", rc);
    RunList l;
    WbError err;
    if (results_list(out, &l, &err) < 0) { EXPECT(0, "%s", err.msg); return; }
    EXPECT(l.n == 4, "%d runs", l.n);
    double act_min[2] = {0, 0}, act_budget[2] = {0, 0};
    for (int i = 0; i < l.n; i++) {
        const RunSummary *s = &l.runs[i];
        int wasi = !strcmp(s->method, "wasi"), budgeted = s->budget_mb > 0;
        EXPECT(s->status == RUN_COMPLETE, "%s: %s %s", s->name, run_status_name(s->status), s->error);
        if (s->status != RUN_COMPLETE) continue;
        if (budgeted) {
            EXPECT(s->paper_total_mb <= s->budget_mb + 1e-9 && s->paper_total_mb > 0.5 * s->budget_mb,
                   "%s: paper measure %.4f MB (act %.4f + weights %.4f) within the budget %.3f MB", s->name, s->paper_total_mb,
                   s->paper_act_mb, s->paper_weight_mb, s->budget_mb);
            act_budget[wasi] = s->paper_act_mb;
        } else {
            act_min[wasi] = s->paper_act_mb;
        }
        if (wasi) EXPECT(s->epsilon > 0.0 && s->epsilon <= 0.9 + 1e-6, "%s: epsilon %.2f", s->name, s->epsilon);
        // 4-mode ranks on every counted layer, every epoch
        int32_t rr[3 * 64 * 5];
        int ne = 0, nl = 0;
        if (read_layer_ranks(out, s->name, rr, 3 * 64 * 5, &ne, &nl) < 0) {
            EXPECT(0, "%s: no layer_ranks_by_epoch", s->name);
        } else {
            int ok = ne == 3 && nl == 12;
            for (int e = 0; e < ne * nl; e++)
                for (int d = 1; d <= 4; d++) ok &= rr[e * 5 + d] >= 1;
            EXPECT(ok, "%s: %d epochs x %d layers of 4 activation ranks (layer 0: %d %d %d %d)", s->name, ne, nl, rr[1], rr[2],
                   rr[3], rr[4]);
        }
        EpochRow *ep = NULL;
        int n = 0;
        if (results_read_epochs(out, s->name, &ep, &n, &err) < 0) { EXPECT(0, "%s", err.msg); continue; }
        EXPECT(n == 3 && isfinite(ep[n - 1].train_loss) && ep[n - 1].train_loss < ep[0].train_loss,
               "%s: train loss %.4f -> %.4f over %d epochs", s->name, n ? ep[0].train_loss : (double)NAN,
               n ? ep[n - 1].train_loss : (double)NAN, n);
        printf("  %-28s paper %.4f MB (act %.4f + weights %.4f), budget %s, train loss %.4f -> %.4f\n", s->name,
               s->paper_total_mb, s->paper_act_mb, s->paper_weight_mb, budgeted ? "given" : "minimum",
               n ? ep[0].train_loss : (double)NAN, n ? ep[n - 1].train_loss : (double)NAN);
        mem_free(ep);
    }
    for (int w = 0; w < 2; w++)
        EXPECT(act_min[w] > 0 && act_min[w] <= act_budget[w] * (1 + 1e-9), "%s: activations at the minimum %.4f MB <= with a budget %.4f MB",
               w ? "wasi" : "asi", act_min[w], act_budget[w]);
    results_list_free(&l);
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    threads_set(1);
    snprintf(g_dir, sizeof g_dir, "%s", tl_tmpdir());
    RUN(test_calib_mlp_asi);
    RUN(test_calib_all_linear_wasi);
    RUN(test_runner_budget);
    return tl_finish();
}
