// config.h: an experiment YAML resolved into a list of runs. A RunSpec holds
// every setting of one run, typed; the runner never looks at YAML. The
// parser (config.c, libyaml) is strict: an unknown key, a wrong type or a
// missing required key is an error with file:line:column and the valid keys.
// Keys are documented in experiments/README.md.
#ifndef WB_CONFIG_H
#define WB_CONFIG_H

#include "core/runtime/common.h"
#include "core/data/dataset.h"
#include "core/nn/linear_method.h"
#include "core/train/optim.h"
#include "core/models/model.h"

#define CFG_NAME_MAX 256
#define CFG_PATH_MAX 1024

typedef enum { ACT_RANKS_FIXED = 0, ACT_RANKS_EPSILON, ACT_RANKS_BUDGET } ActRankMode;

typedef struct {
    // identity
    char experiment[CFG_NAME_MAX];   // `experiment:` (defaults to the file's base name)
    char stage[64];                  // `stages:` entry name ("main" when the file has no stages)
    char name[CFG_NAME_MAX];         // unique group name, e.g. "finetune/wasi-eps0.7-seed233"
    int index;                       // position in the expanded run list (0-based)

    // model:
    char model_preset[64];           // preset name or "custom"
    ModelConfig model;               // kind (vit | swin) and resolved sizes (num_classes = the data set's
                                     // classes after filtering); Swin comes only from its presets
    char pretrained[CFG_PATH_MAX];   // safetensors path, "" = random init
    char model_config[CFG_PATH_MAX]; // llama: the Hugging Face config.json its sizes came from, "" = the preset's
    char pretrained_stage[64];       // "from_stage: NAME": the checkpoint written by that stage's run
    int from_run;                    // index in Experiment.runs of that run (-1 = none): the stage's only run,
                                     // or its run with the same seed
    int new_head;                    // 1: heads.head re-initialised (fine-tuning on other classes)
    uint64_t init_seed;

    // dataset: (train split; val = same config with split val)
    DataConfig data;
    int limit_train, limit_val;      // 0 = all items; >0 = first n of the (shuffled-once) split, for quick runs
    int eval_split;                  // dataset.eval_split: 0 val (per epoch, the default), 1 test (train on the whole
                                     // official training set, evaluate on its test set), 2 both (val per epoch, test at the end)

    // training:
    int epochs;
    int batch_size;
    OptimConfig opt;
    LrSchedule sched;                // cfg_load fills lr, eta_min (absolute), cosine, warmup_start; the runner
                                     // fills warmup and total (ticks = optimizer steps) from epochs x steps
    float warmup_epochs;             // converted by the runner
    float eta_min_ratio;             // eta_min = ratio * lr (the paper: 0.1), unless eta_min given (then
                                     // eta_min / lr); sched.eta_min holds the absolute value either way
    float grad_clip;                 // <= 0: none
    uint64_t seed;                   // data order, augmentation, method randomness
    long max_steps;                  // 0 = no limit (per run, for smoke tests)
    int eval_every;                  // epochs between val evaluations (1)
    int log_subspace;                // training.log_subspace: -1 unset (on for methods with a weight rank), 0, 1
    float subspace_epsilon;          // training.subspace_epsilon: 0 unset (the method's epsilon, else 0.8)
    int log_spectrum;                // training.log_spectrum: 1 = the counted layers' input spectrum per mode
                                     // on the first training batch at the starting weights (paper Fig. 4)

    // method:
    char method[16];                 // vanilla | lora | hosvd | asi | wasi
    MethodConfig mcfg;               // epsilon, lora rank/alpha, act_ranks, r_update, storage
    int all_linear;                  // layers: all_linear (1) | mlp (0)
    int num_finetune;                // -1 = all
    ActRankMode act_mode;            // asi/wasi activations: fixed ranks (mcfg.act_ranks), epsilon per mode
                                     // (mcfg.act_epsilon), or DP under budget_mb over candidates
    float budget_mb;                 // 0 = none; >0: equal-memory comparison (method picks settings to fit).
                                     // Always 0 for vanilla. With act_mode ACT_RANKS_BUDGET, 0 = the
                                     // minimum budget (the paper's setting)
    float candidates[16];            // DP candidate epsilons (0.4..0.9)
    int n_candidates;

    // outputs:
    int strict_budget;               // 1: a budget_mb the method cannot fit fails the run (default: raised to the minimum, over_budget)
    int save_checkpoint;             // write <results dir>/<experiment>-<stage>[-name].safetensors after training

    // memory:
    double mem_cap;                  // memory.cap in bytes (0 = none): a run whose planned peak exceeds it stops as over_cap

    char *resolved_yaml;             // the run's full resolved config as YAML text (mem_alloc, workspace)
} RunSpec;

typedef struct {
    char path[CFG_PATH_MAX];         // the YAML file
    char experiment[CFG_NAME_MAX];
    char output[CFG_PATH_MAX];       // results file (`output:`), default results/<experiment>.h5
    int n;
    RunSpec *runs;                   // (n) expanded runs in execution order (stages in file order)
} Experiment;

// Parse and expand. Returns 0, or -1 with err naming file:line:column, the
// key, and what was expected (for unknown keys: the valid ones); on error ex
// is left empty (cfg_free is harmless). Memory: runs and resolved_yaml in the
// workspace category, everything else freed before returning. Call from one
// thread (the tracked allocator is not thread-safe).
int cfg_load(Experiment *ex, const char *path, WbError *err);
// The largest LoRA rank the run's model takes (min(O, I) of its smallest counted linear).
int cfg_lora_rank_max(const RunSpec *r);
void cfg_free(Experiment *ex);

#endif
