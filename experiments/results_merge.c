// results_merge.c: `wasibench merge OUT IN...`: the runs of several shard
// files into one new file, one copy per run name (a complete copy wins),
// refused when the inputs belong to different experiments or a run has
// other settings in two inputs.
#include "experiments/results.h"
#include "experiments/results_h5.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

// ---------------------------------------------------------------------------
// merging shards

typedef struct { int input; int index; } Pick;

// Inputs of one experiment: each shares an experiment_hash with the first
// input (runs without one, from older files, are not compared).
static int merge_same_experiment(Ctx *c, const char *const *inputs, const RunList *lists, int n_inputs) {
    for (int i = 1; i < n_inputs; i++) {
        const RunSummary *a = NULL, *b = NULL;
        int shared = 0;
        for (int x = 0; x < lists[0].n && !shared; x++)
            for (int y = 0; y < lists[i].n && !shared; y++) {
                const RunSummary *p = &lists[0].runs[x], *q = &lists[i].runs[y];
                if (!p->experiment_hash[0] || !q->experiment_hash[0]) continue;
                if (!strcmp(p->experiment_hash, q->experiment_hash)) shared = 1;
                else if (!a) { a = p; b = q; }
            }
        if (!shared && a)
            return FAIL(c, "%s and %s hold runs of different experiments (run '%s' of %s has experiment_hash %s, run '%s' of %s has %s: "
                        "other settings); merge only the shards of one sweep, nothing merged",
                        inputs[0], inputs[i], a->name, inputs[0], a->experiment_hash, b->name, inputs[i], b->experiment_hash);
    }
    return 0;
}

int results_merge(const char *out, const char *const *inputs, int n_inputs, FILE *log, WbError *err) {
    Ctx c = {err, out, 0};
    char tmp[4096];
    int warnings = 0, n_pick = 0, made_tmp = 0;
    hid_t fapl = -1, fo = -1, runs_out = -1, parent = -1;
    hid_t *fin = NULL;
    RunList *lists = NULL;
    Pick *picks = NULL;
    h5_quiet();
    if (n_inputs < 1) return FAIL(&c, "merge needs at least one input file");
    if (path_with(&c, tmp, sizeof tmp, ".tmp") || remove_stale(&c, tmp)) return -1;
    if ((fapl = new_fapl(&c)) < 0) goto done;
    fin = mem_alloc((size_t)n_inputs * sizeof(hid_t), MEM_WORKSPACE);
    lists = mem_alloc((size_t)n_inputs * sizeof(RunList), MEM_WORKSPACE);
    for (int i = 0; i < n_inputs; i++) fin[i] = -1;
    int total = 0;
    for (int i = 0; i < n_inputs; i++) {
        Ctx ci = {err, inputs[i], 0};  // errors name the input file
        if (access(inputs[i], F_OK) != 0) { FAIL(&ci, "cannot read input: %s", strerror(errno)); c.failed = 1; goto done; }
        if ((fin[i] = open_results_file(&ci, inputs[i], H5F_ACC_RDONLY, fapl)) < 0 || list_open(&ci, fin[i], &lists[i])) {
            c.failed = 1;
            goto done;
        }
        total += lists[i].n;
    }
    if (merge_same_experiment(&c, inputs, lists, n_inputs)) goto done;
    // Pick one copy per run name, in order of first appearance.
    picks = mem_alloc((size_t)(total > 0 ? total : 1) * sizeof(Pick), MEM_WORKSPACE);
    for (int i = 0; i < n_inputs; i++)
        for (int j = 0; j < lists[i].n; j++) {
            const RunSummary *s = &lists[i].runs[j];
            int k = 0;
            while (k < n_pick && strcmp(lists[picks[k].input].runs[picks[k].index].name, s->name)) k++;
            if (k == n_pick) { picks[n_pick++] = (Pick){i, j}; continue; }
            const RunSummary *kept = &lists[picks[k].input].runs[picks[k].index];
            if (strcmp(kept->config_hash, s->config_hash)) {
                FAIL(&c, "run '%s' has other settings in %s than in %s (config_hash %s vs %s): not copies of one run, nothing merged",
                     s->name, inputs[i], inputs[picks[k].input], s->config_hash, kept->config_hash);
                goto done;
            }
            if (kept->status != RUN_COMPLETE && s->status == RUN_COMPLETE) {
                picks[k] = (Pick){i, j};
            } else if (kept->status == RUN_COMPLETE && s->status == RUN_COMPLETE) {
                warnings++;
                if (log) fprintf(log, "warning: run '%s' is complete in both %s and %s; kept the copy from %s\n",
                                 s->name, inputs[picks[k].input], inputs[i], inputs[picks[k].input]);
            }
        }
    made_tmp = 1;
    if ((fo = create_results_file(&c, tmp, fapl)) < 0) goto done;
    if (H5CK(&c, runs_out = H5Gopen2(fo, "runs", H5P_DEFAULT), "opening /runs")) goto done;
    for (int k = 0; k < n_pick; k++) {
        const char *name = lists[picks[k].input].runs[picks[k].index].name;
        const char *leaf = NULL;
        hid_t src = -1;
        if (open_parent(&c, runs_out, name, 1, &parent, &leaf)) goto done;
        if (!H5CK(&c, src = H5Gopen2(fin[picks[k].input], "runs", H5P_DEFAULT), "opening /runs of an input"))
            H5CK(&c, H5Ocopy(src, name, parent, leaf, H5P_DEFAULT, H5P_DEFAULT), "copying a run group between files (disk full?)");
        xclose(&c, &src);
        xclose(&c, &parent);
        if (c.failed) goto done;
    }
    xclose(&c, &runs_out);
    if (maxbatch_merge_open(&c, fo, fin, n_inputs)) goto done;   // the file-level /maxbatch rows too
    if (!c.failed && H5CK(&c, H5Fflush(fo, H5F_SCOPE_GLOBAL), "flushing (disk full?)")) goto done;
    xclose(&c, &fo);
    for (int i = 0; i < n_inputs; i++) xclose(&c, &fin[i]);
    if (c.failed || commit_tmp(&c, tmp)) goto done;
    made_tmp = 0;
done:
    xclose(&c, &parent);
    xclose(&c, &runs_out);
    xclose(&c, &fo);
    if (fin)
        for (int i = 0; i < n_inputs; i++) xclose(&c, &fin[i]);
    if (lists)
        for (int i = 0; i < n_inputs; i++) results_list_free(&lists[i]);
    mem_free(picks);
    mem_free(lists);
    mem_free(fin);
    xclose(&c, &fapl);
    if (c.failed && made_tmp) unlink(tmp);
    return c.failed ? -1 : warnings;
}
