// results_schema.c: the run tables of the results file (see results_schema.h).
#include "experiments/results_schema.h"

#include <string.h>

#define NF(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const ResField epoch_fields[] = {
    {"epoch", offsetof(EpochRow, epoch), RF_I32, 0},
    {"train_loss", offsetof(EpochRow, train_loss), RF_F64, 0},
    {"train_acc", offsetof(EpochRow, train_acc), RF_F64, 0},
    {"val_loss", offsetof(EpochRow, val_loss), RF_F64, 0},
    {"val_acc", offsetof(EpochRow, val_acc), RF_F64, 0},
    {"lr", offsetof(EpochRow, lr), RF_F64, 0},
    {"seconds", offsetof(EpochRow, seconds), RF_F64, 0},
};
const ResTable RES_EPOCHS = {"epochs", sizeof(EpochRow), epoch_fields, NF(epoch_fields)};

static const ResField step_fields[] = {
    {"step", offsetof(StepRow, step), RF_I64, 0},
    {"epoch", offsetof(StepRow, epoch), RF_I32, 0},
    {"loss", offsetof(StepRow, loss), RF_F64, 0},
    {"lr", offsetof(StepRow, lr), RF_F64, 0},
};
const ResTable RES_STEPS = {"steps", sizeof(StepRow), step_fields, NF(step_fields)};

#define K(n) offsetof(LayerRow, act_ranks) + 4 * (n)
static const ResField layer_fields[] = {
    {"name", offsetof(LayerRow, name), RF_STR, RES_LAYER_NAME_MAX},
    {"in_features", offsetof(LayerRow, in_features), RF_I32, 0},
    {"out_features", offsetof(LayerRow, out_features), RF_I32, 0},
    {"weight_rank", offsetof(LayerRow, weight_rank), RF_I32, 0},
    {"k1", K(0), RF_I32, 0},
    {"k2", K(1), RF_I32, 0},
    {"k3", K(2), RF_I32, 0},
    {"k4", K(3), RF_I32, 0},
    {"paper_act_mb", offsetof(LayerRow, paper_act_mb), RF_F64, 0},
    {"paper_weight_mb", offsetof(LayerRow, paper_weight_mb), RF_F64, 0},
};
const ResTable RES_LAYERS = {"layers", sizeof(LayerRow), layer_fields, NF(layer_fields)};

// subspace (optional): the stable-subspace log, one row per (epoch, layer)
static const ResField subspace_fields[] = {
    {"epoch", offsetof(SubspaceRow, epoch), RF_I32, 0},
    {"layer", offsetof(SubspaceRow, layer), RF_I32, 0},
    {"eps_rank", offsetof(SubspaceRow, eps_rank), RF_I32, 0},
    {"k", offsetof(SubspaceRow, k), RF_I32, 0},
    {"max_angle", offsetof(SubspaceRow, max_angle), RF_F64, 0},
};
const ResTable RES_SUBSPACE = {"subspace", sizeof(SubspaceRow), subspace_fields, NF(subspace_fields)};

// spectrum (optional): the activation spectrum, one row per (layer, mode, component)
static const ResField spectrum_fields[] = {
    {"layer", offsetof(SpectrumRow, layer), RF_I32, 0},
    {"mode", offsetof(SpectrumRow, mode), RF_I32, 0},
    {"dim", offsetof(SpectrumRow, dim), RF_I32, 0},
    {"index", offsetof(SpectrumRow, index), RF_I32, 0},
    {"energy", offsetof(SpectrumRow, energy), RF_F64, 0},
    {"explained", offsetof(SpectrumRow, explained), RF_F64, 0},
};
const ResTable RES_SPECTRUM = {"spectrum", sizeof(SpectrumRow), spectrum_fields, NF(spectrum_fields)};

static const ResField mem_fields[] = {
    {"category", offsetof(MemRow, category), RF_STR, 16},
    {"current_bytes", offsetof(MemRow, current_bytes), RF_U64, 0},
    {"peak_bytes", offsetof(MemRow, peak_bytes), RF_U64, 0},
};
const ResTable RES_MEMORY = {"memory", sizeof(MemRow), mem_fields, NF(mem_fields)};

// maxbatch (file level, wasibench maxbatch): one row per run and cap (results.h MaxBatchRow)
static const ResField mb_fields[] = {
    {"run", offsetof(MaxBatchRow, run), RF_STR, RES_NAME_MAX},
    {"method", offsetof(MaxBatchRow, method), RF_STR, 16},
    {"epsilon", offsetof(MaxBatchRow, epsilon), RF_F64, 0},
    {"cap_bytes", offsetof(MaxBatchRow, cap_bytes), RF_F64, 0},
    {"max_batch", offsetof(MaxBatchRow, max_batch), RF_I32, 0},
    {"plan_exact", offsetof(MaxBatchRow, plan_exact), RF_I32, 0},
    {"plan_bytes", offsetof(MaxBatchRow, plan_bytes), RF_F64, 0},
    {"measured_bytes", offsetof(MaxBatchRow, measured_bytes), RF_F64, 0},
    {"error_pct", offsetof(MaxBatchRow, error_pct), RF_F64, 0},
    {"build_peak_bytes", offsetof(MaxBatchRow, build_peak_bytes), RF_F64, 0},
};
const ResTable RES_MAXBATCH = {"maxbatch", sizeof(MaxBatchRow), mb_fields, NF(mb_fields)};

// flops: (phase, flops, flops_per_step, steps); time: (phase, seconds, seconds_per_step, steps)
static const ResField flops_fields[] = {
    {"phase", offsetof(PhaseRow, phase), RF_STR, 16},
    {"flops", offsetof(PhaseRow, total), RF_F64, 0},
    {"flops_per_step", offsetof(PhaseRow, per_step), RF_F64, 0},
    {"steps", offsetof(PhaseRow, steps), RF_I64, 0},
};
const ResTable RES_FLOPS = {"flops", sizeof(PhaseRow), flops_fields, NF(flops_fields)};
static const ResField time_fields[] = {
    {"phase", offsetof(PhaseRow, phase), RF_STR, 16},
    {"seconds", offsetof(PhaseRow, total), RF_F64, 0},
    {"seconds_per_step", offsetof(PhaseRow, per_step), RF_F64, 0},
    {"steps", offsetof(PhaseRow, steps), RF_I64, 0},
};
const ResTable RES_TIME = {"time", sizeof(PhaseRow), time_fields, NF(time_fields)};
static const ResField energy_fields[] = {
    {"phase", offsetof(PhaseRow, phase), RF_STR, 16},
    {"joules", offsetof(PhaseRow, total), RF_F64, 0},
    {"joules_per_step", offsetof(PhaseRow, per_step), RF_F64, 0},
    {"steps", offsetof(PhaseRow, steps), RF_I64, 0},
};
const ResTable RES_ENERGY = {"energy", sizeof(PhaseRow), energy_fields, NF(energy_fields)};

static const ResField inference_fields[] = {
    {"batches", offsetof(InferenceStats, batches), RF_I64, 0},
    {"batch_size", offsetof(InferenceStats, batch_size), RF_I32, 0},
    {"mean_seconds", offsetof(InferenceStats, mean_s), RF_F64, 0},
    {"min_seconds", offsetof(InferenceStats, min_s), RF_F64, 0},
    {"max_seconds", offsetof(InferenceStats, max_s), RF_F64, 0},
};
const ResTable RES_INFERENCE = {"inference", sizeof(InferenceStats), inference_fields, NF(inference_fields)};

static int wanted(const char *name, const char *const *only) {
    if (!only) return 1;
    for (; *only; only++)
        if (!strcmp(*only, name)) return 1;
    return 0;
}

hid_t res_table_type(const ResTable *t, const char *const *only) {
    hid_t ct = H5Tcreate(H5T_COMPOUND, t->row_size);
    if (ct < 0) return -1;
    for (int i = 0; i < t->n_fields; i++) {
        const ResField *f = &t->fields[i];
        if (!wanted(f->name, only)) continue;
        hid_t ft = -1, s = -1;
        switch (f->kind) {
        case RF_I32: ft = H5T_NATIVE_INT32; break;
        case RF_I64: ft = H5T_NATIVE_INT64; break;
        case RF_U64: ft = H5T_NATIVE_UINT64; break;
        case RF_F64: ft = H5T_NATIVE_DOUBLE; break;
        case RF_STR:
            if ((s = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_size(s, f->str_len) < 0) goto bad;
            ft = s;
            break;
        }
        herr_t rc = H5Tinsert(ct, f->name, f->off, ft);
        if (s >= 0) H5Tclose(s);
        if (rc < 0) goto bad;
        continue;
    bad:
        if (s >= 0) H5Tclose(s);
        H5Tclose(ct);
        return -1;
    }
    return ct;
}
