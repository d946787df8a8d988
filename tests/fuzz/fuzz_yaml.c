// fuzz_yaml.c: libFuzzer target for the experiment loader (experiments/config.c).
// The input is an experiment YAML file; `extends: base.yaml` finds a valid
// base beside it. cfg_load must return 0 or -1 with a message, never crash,
// hang or leak. Property checked on success: the resolved YAML of the first
// and the last run (when not tied to a stage) loads back to one run whose
// resolved YAML is the same text (the fixed point experiments/README.md
// promises); a violation aborts, so libFuzzer reports it.
#include "experiments/config.h"
#include "tests/fuzz/fuzz.h"

static const char base_yaml[] =
    "experiment: base\n"
    "model: {preset: vit_micro}\n"
    "dataset: {format: fashion_mnist, limit_train: 64}\n"
    "training: {epochs: 1, batch_size: 8, lr: 0.01}\n"
    "methods: [vanilla]\n";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    fz_setup("yaml");
    fz_write("base.yaml", base_yaml, sizeof base_yaml - 1);
    return 0;
}

static void roundtrip(const RunSpec *r) {
    if (r->pretrained_stage[0]) return;   // from_stage: not standalone (documented)
    fz_write("resolved.yaml", r->resolved_yaml, strlen(r->resolved_yaml));
    char p[512];
    fz_path(p, sizeof p, "resolved.yaml");
    Experiment back;
    WbError err;
    if (cfg_load(&back, p, &err) < 0) {
        fprintf(stderr, "fuzz_yaml: the resolved YAML of run '%s' does not load back: %s\n---\n%s\n", r->name, err.msg, r->resolved_yaml);
        abort();
    }
    const char *a = strstr(r->resolved_yaml, "\nexperiment: "), *b = back.n == 1 ? strstr(back.runs[0].resolved_yaml, "\nexperiment: ") : NULL;
    if (back.n != 1 || !a || !b || strcmp(a, b)) {
        fprintf(stderr, "fuzz_yaml: the resolved YAML of run '%s' is not a fixed point (%d runs)\n---\n%s\n---\n%s\n", r->name, back.n,
                r->resolved_yaml, back.n ? back.runs[0].resolved_yaml : "");
        abort();
    }
    cfg_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_begin();
    fz_write("exp.yaml", data, size);
    char p[512];
    fz_path(p, sizeof p, "exp.yaml");
    Experiment ex;
    WbError err = {{0}};
    if (cfg_load(&ex, p, &err) == 0) {
        if (ex.n < 1) { fprintf(stderr, "fuzz_yaml: cfg_load succeeded with %d runs\n", ex.n); abort(); }
        roundtrip(&ex.runs[0]);
        if (ex.n > 1) roundtrip(&ex.runs[ex.n - 1]);
    } else if (!err.msg[0]) {
        fprintf(stderr, "fuzz_yaml: cfg_load failed without a message\n");
        abort();
    }
    cfg_free(&ex);
    fz_end("cfg_load");
    return 0;
}
