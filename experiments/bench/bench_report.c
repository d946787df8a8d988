// bench_report.c: the last step of `make bench`: reads the "key value"
// lines every bench process printed (collected by experiments/bench/run.sh
// into one file), prints the one table (rows 1-5 as ratios, then the
// targets) and writes it with every raw value to an HDF5 file. Row 2b is
// row 2 for Swin-T (keys swin_t.c.*, swin_t.torch.*); row 5 the whole model
// per method (keys whole.<method>.*).
//   bench_report RAW.txt TABLE.txt RESULTS.h5
// A missing value (a process that failed) prints as "n/a"; the report never
// fails on timings. HDF5 layout (experiments/bench/README.md):
//   /            attributes: schema = "wasibench-bench", schema_version = 1, table (the text), meta.* strings
//   /values      table (key string[64], value f64): every numeric value, in input order
#include "core/runtime/common.h"
#include "core/runtime/memory.h"

#include <hdf5.h>

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXKV 4096
#define KEYLEN 64

typedef struct { char key[KEYLEN]; double v; char s[192]; int is_str; } Kv;
static Kv kvs[MAXKV];
static int nkv;

// Rounds of the same measurement (run.sh repeats the sgemm and row 2 to
// see past other load): times keep their minimum, sgemm GFLOP/s its maximum.
// Returns 1 when old stays.
static int keep_best(const Kv *old, const Kv *new_) {
    if (old->is_str || new_->is_str) return 0;
    size_t n = strlen(old->key);
    int is_time = (n > 2 && !strcmp(old->key + n - 2, "_s")) || (n > 7 && !strcmp(old->key + n - 7, "seconds"));
    if (is_time) return old->v <= new_->v;
    if (!strcmp(old->key, "sgemm.gflops") || !strcmp(old->key, "triad.gbs")) return old->v >= new_->v;
    return 0;
}

static int read_raw(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) { fprintf(stderr, "bench_report: cannot open %s\n", path); return -1; }
    char line[512];
    while (fgets(line, sizeof line, f) && nkv < MAXKV) {
        line[strcspn(line, "\n")] = 0;
        if (!line[0] || line[0] == '#') continue;
        char *sp = strchr(line, ' ');
        if (!sp || sp - line >= KEYLEN) continue;
        Kv *k = &kvs[nkv];
        memcpy(k->key, line, (size_t)(sp - line));
        k->key[sp - line] = 0;
        const char *val = sp + 1;
        char *end;
        k->v = strtod(val, &end);
        k->is_str = end == val || *end != 0;
        snprintf(k->s, sizeof k->s, "%s", val);
        for (int i = 0; i < nkv; i++)   // a repeated measurement: the best (see keep_best), else the later one
            if (!strcmp(kvs[i].key, k->key)) { if (!keep_best(&kvs[i], k)) kvs[i] = *k; nkv--; break; }
        nkv++;
    }
    fclose(f);
    return 0;
}

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static double get(const char *fmt, ...) {
    char key[KEYLEN * 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(key, sizeof key, fmt, ap);
    va_end(ap);
    for (int i = 0; i < nkv; i++)
        if (!kvs[i].is_str && !strcmp(kvs[i].key, key)) return kvs[i].v;
    return NAN;
}

// The text of a value (numbers as they were printed).
static const char *gets_(const char *key) {
    for (int i = 0; i < nkv; i++)
        if (!strcmp(kvs[i].key, key)) return kvs[i].s;
    return "n/a";
}

// The table goes to stdout and to a text buffer (for the file and the HDF5 attribute).
static char table[1 << 16];
static size_t tlen;

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static void out(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(table + tlen, sizeof table - tlen, fmt, ap);
    va_end(ap);
    if (n > 0) tlen += (size_t)n < sizeof table - tlen ? (size_t)n : sizeof table - tlen - 1;
}

// A number in a fixed width, or n/a.
static const char *num(char *buf, double v, int w, int prec, const char *suffix) {
    if (isnan(v) || isinf(v)) snprintf(buf, 32, "%*s", w, "n/a");
    else snprintf(buf, 32, "%*.*f%s", w - (int)strlen(suffix), prec, v, suffix);
    return buf;
}

static const double MB = 1048576.0;

static const char *yesno(int ok, int known) { return !known ? "unknown" : ok ? "MET" : "NOT MET"; }

static int write_h5(const char *path) {
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) { fprintf(stderr, "bench_report: cannot create %s\n", path); return -1; }
    int rc = 0;
    hid_t str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, H5T_VARIABLE);
    H5Tset_cset(str, H5T_CSET_UTF8);
    hid_t scal = H5Screate(H5S_SCALAR);
    const char *schema = "wasibench-bench", *tab = table;
    hid_t a = H5Acreate2(f, "schema", str, scal, H5P_DEFAULT, H5P_DEFAULT);
    rc |= H5Awrite(a, str, &schema) < 0;
    H5Aclose(a);
    int ver = 1;
    a = H5Acreate2(f, "schema_version", H5T_STD_I32LE, scal, H5P_DEFAULT, H5P_DEFAULT);
    rc |= H5Awrite(a, H5T_NATIVE_INT, &ver) < 0;
    H5Aclose(a);
    a = H5Acreate2(f, "table", str, scal, H5P_DEFAULT, H5P_DEFAULT);
    rc |= H5Awrite(a, str, &tab) < 0;
    H5Aclose(a);
    int nnum = 0;
    for (int i = 0; i < nkv; i++) {
        if (!kvs[i].is_str) { nnum++; continue; }
        const char *s = kvs[i].s;
        a = H5Acreate2(f, kvs[i].key, str, scal, H5P_DEFAULT, H5P_DEFAULT);
        rc |= a < 0 || H5Awrite(a, str, &s) < 0;
        if (a >= 0) H5Aclose(a);
    }
    typedef struct { char key[KEYLEN]; double value; } Row;
    Row *rows = mem_alloc(sizeof(Row) * (size_t)(nnum ? nnum : 1), MEM_WORKSPACE);
    int j = 0;
    for (int i = 0; i < nkv; i++)
        if (!kvs[i].is_str) { memcpy(rows[j].key, kvs[i].key, KEYLEN); rows[j].value = kvs[i].v; j++; }
    hid_t kt = H5Tcopy(H5T_C_S1);
    H5Tset_size(kt, KEYLEN);
    hid_t ct = H5Tcreate(H5T_COMPOUND, sizeof(Row));
    H5Tinsert(ct, "key", offsetof(Row, key), kt);
    H5Tinsert(ct, "value", offsetof(Row, value), H5T_NATIVE_DOUBLE);
    hsize_t dim = (hsize_t)nnum;
    hid_t sp = H5Screate_simple(1, &dim, NULL);
    hid_t d = H5Dcreate2(f, "values", ct, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    rc |= d < 0 || (nnum && H5Dwrite(d, ct, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0);
    if (d >= 0) H5Dclose(d);
    H5Sclose(sp); H5Tclose(ct); H5Tclose(kt); H5Sclose(scal); H5Tclose(str);
    mem_free(rows);
    rc |= H5Fclose(f) < 0;
    if (rc) fprintf(stderr, "bench_report: writing %s failed\n", path);
    return rc ? -1 : 0;
}

// Rows 2 and 2b: training step and inference forward, wasibench (keys
// <p>.c.*) against PyTorch (<p>.torch.*), GFLOP/s from wasibench's counted FLOPs.
static void step_table(const char *p, double peak) {
    char b1[32], b2[32], b3[32], lbl[96];
    double ct = get("%s.c.train_s", p), tt = get("%s.torch.train_s", p), ci = get("%s.c.infer_s", p), ti = get("%s.torch.infer_s", p);
    double gf = get("%s.c.train_gflop", p), gi = get("%s.c.infer_gflop", p);
    out("   %-36s %12s %12s %12s\n", "", "wasibench", "PyTorch", "wasibench x");
    out("   %-36s %12s %12s %12s\n", "training step, s", num(b1, ct, 12, 3, ""), num(b2, tt, 12, 3, ""),
        num(b3, tt / ct, 11, 2, "x"));
    snprintf(lbl, sizeof lbl, "  GFLOP/s (%.1f GFLOP per step)", gf);
    out("   %-36s %12s %12s\n", lbl, num(b1, gf / ct, 12, 1, ""), num(b2, gf / tt, 12, 1, ""));
    out("   %-36s %12s %12s\n", "  fraction of the sgemm peak", num(b1, 100 * gf / ct / peak, 11, 1, "%"),
        num(b2, 100 * gf / tt / peak, 11, 1, "%"));
    out("   %-36s %12s %12s %12s\n", "inference forward, s", num(b1, ci, 12, 3, ""), num(b2, ti, 12, 3, ""), num(b3, ti / ci, 11, 2, "x"));
    snprintf(lbl, sizeof lbl, "  GFLOP/s (%.1f GFLOP per forward)", gi);
    out("   %-36s %12s %12s\n", lbl, num(b1, gi / ci, 12, 1, ""), num(b2, gi / ti, 12, 1, ""));
    out("   %-36s %12s %12s\n", "  fraction of the sgemm peak", num(b1, 100 * gi / ci / peak, 11, 1, "%"),
        num(b2, 100 * gi / ti / peak, 11, 1, "%"));
    out("   %-36s %12s %12s\n", "peak RSS of the steps, MB", num(b1, get("%s.c.peak_rss_bytes", p) / MB, 12, 1, ""),
        num(b2, get("%s.torch.peak_rss_bytes", p) / MB, 12, 1, ""));
}

static const int ranks[] = {61, 92, 135, 178, 245, 350};
#define NRANK 6
static const char *methods[] = {"vanilla", "lora", "asi", "wasi_dense", "wasi_factored"};
static const char *method_label[] = {"vanilla", "lora r=8", "asi 8,8,32", "wasi dense K=245", "wasi fact. K=245"};
#define NMETH 5

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: bench_report RAW.txt TABLE.txt RESULTS.h5\n"); return 2; }
    if (read_raw(argv[1]) < 0) return 1;
    char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32], b7[32], b8[32], b9[32], b10[32], b11[32], b12[32], b13[32], b14[32], b15[32];

    out("wasibench bench  %s  host %s  (%s)\n", gets_("meta.date"), gets_("meta.host"), gets_("meta.cpu"));
    out("code %s; %s; %s; threads %s\n", gets_("meta.version"), gets_("meta.blas"), gets_("meta.torch"), gets_("meta.threads"));
    out("load average (1 min) before %s, after %s; every row measured in this invocation, each side in its own process\n\n",
        gets_("meta.load_before"), gets_("meta.load_after"));

    // 1. the limit
    double peak = get("sgemm.gflops");
    double bw = get("triad.gbs");
    out("1. sgemm peak, OpenBLAS, %.0f^3, %.0f threads, best of 5 x %s rounds:  %s GFLOP/s  (the limit of rows 2-3)\n",
        get("sgemm.n"), get("sgemm.threads"), gets_("meta.sgemm_rounds"), num(b1, peak, 7, 1, ""));
    out("   memory bandwidth, STREAM triad a = b + s c (3 x 32 MB, 3 arrays counted), same threads:  %s GB/s\n\n",
        num(b1, bw, 6, 1, ""));

    // 2. the whole model against PyTorch (2b: Swin-T)
    out("2. vit_b_32, batch %.0f, 224 px, %.0f threads, same weights, best of %s reps x 2 rounds (C and PyTorch alternating);\n"
        "   FLOPs counted by wasibench (the same model for both)\n", get("meta.step_batch"), get("step.c.threads"), gets_("meta.reps"));
    step_table("step", peak);
    out("   PyTorch with OMP_WAIT_POLICY unset (libgomp's default, spinning threads): training step %s s, inference %s s\n"
        "   (every other process here runs with OMP_WAIT_POLICY=passive)\n",
        num(b1, get("step.torch_default.train_s"), 5, 3, ""), num(b2, get("step.torch_default.infer_s"), 5, 3, ""));
    out("   wasibench step: forward %s s, backward %s s, update (clip + SGD) %s s\n\n", num(b1, get("step.c.fwd_s"), 5, 3, ""),
        num(b2, get("step.c.bwd_s"), 5, 3, ""), num(b3, get("step.c.update_s"), 5, 3, ""));
    out("2b. swin_t (torchvision's Swin-T: patch 4, embed 96, depths 2-2-6-2, heads 3-6-12-24, window 7; stochastic depth\n"
        "   0 on both sides), batch %.0f, 224 px, %.0f threads, same weights, best of %s reps x 2 rounds (C and PyTorch\n"
        "   alternating); FLOPs counted by wasibench\n", get("meta.step_batch"), get("swin_t.c.threads"), gets_("meta.reps"));
    step_table("swin_t", peak);
    out("   wasibench step: forward %s s, backward %s s, update (clip + SGD) %s s\n\n", num(b1, get("swin_t.c.fwd_s"), 5, 3, ""),
        num(b2, get("swin_t.c.bwd_s"), 5, 3, ""), num(b3, get("swin_t.c.update_s"), 5, 3, ""));

    // 3. the authors' on-device protocol
    double cv = get("mlp.c.vanilla.seconds"), fv = get("mlp.c.vanilla.gflop"), tv = get("mlp.torch.vanilla.seconds");
    out("3. the 24 MLP linears of vit_b_32, batch 128, N = 50, forward + backward summed (compression included),\n"
        "   activation ranks (8, 8, 32); speedup = vanilla time / wasi time; eff = speedup / FLOP ratio (1 = the FLOP\n"
        "   saving fully realised). PyTorch: the same op written with torch matmuls (bench_torch.py), FLOPs as C dense;\n"
        "   torch/C = PyTorch time / C dense time (> 1: C faster).\n");
    out("   %-8s %8s %6s | %8s %7s %5s | %8s %7s %5s | %8s %7s %5s | %7s\n", "", "GFLOP", "ratio", "C dense", "speedup",
        "eff", "C fact.", "speedup", "eff", "torch", "speedup", "eff", "torch/C");
    out("   %-8s %8s %6s | %8s %7s %5s | %8s %7s %5s | %8s %7s %5s | %7s\n", "vanilla", num(b1, fv, 8, 1, ""), "1.00",
        num(b2, cv, 8, 2, ""), "1.00", "1.00", num(b3, cv, 8, 2, ""), "1.00", "1.00", num(b4, tv, 8, 2, ""), "1.00", "1.00",
        num(b5, tv / cv, 6, 2, "x"));
    double eff_min_c = INFINITY, eff_min_f = INFINITY, eff_min_t = INFINITY;
    for (int i = 0; i < NRANK; i++) {
        int k = ranks[i];
        double gd = get("mlp.c.dense.k%d.gflop", k), sd = get("mlp.c.dense.k%d.seconds", k);
        double gfa = get("mlp.c.factored.k%d.gflop", k), sf = get("mlp.c.factored.k%d.seconds", k);
        double st = get("mlp.torch.dense.k%d.seconds", k);
        double rd = fv / gd, rf = fv / gfa;
        double ed = (cv / sd) / rd, ef = (cv / sf) / rf, et = (tv / st) / rd;
        if (!isnan(ed) && ed < eff_min_c) eff_min_c = ed;
        if (!isnan(ef) && ef < eff_min_f) eff_min_f = ef;
        if (!isnan(et) && et < eff_min_t) eff_min_t = et;
        char name[16];
        snprintf(name, sizeof name, "k=%d", k);
        out("   %-8s %8s %6s | %8s %7s %5s | %8s %7s %5s | %8s %7s %5s | %7s\n", name, num(b1, gd, 8, 1, ""),
            num(b2, rd, 6, 2, ""), num(b3, sd, 8, 2, ""), num(b4, cv / sd, 7, 2, ""), num(b5, ed, 5, 2, ""),
            num(b6, sf, 8, 2, ""), num(b7, cv / sf, 7, 2, ""), num(b8, ef, 5, 2, ""), num(b9, st, 8, 2, ""),
            num(b10, tv / st, 7, 2, ""), num(b11, et, 5, 2, ""), num(b12, st / sd, 6, 2, "x"));
    }
    double sa = get("mlp.c.asi.seconds"), ga = get("mlp.c.asi.gflop");
    out("   %-8s %8s %6s | %8s %7s %5s | (asi: dense W, activations compressed at the same ranks)\n", "asi",
        num(b1, ga, 8, 1, ""), num(b2, fv / ga, 6, 2, ""), num(b3, sa, 8, 2, ""), num(b4, cv / sa, 7, 2, ""),
        num(b5, (cv / sa) / (fv / ga), 5, 2, ""));
    out("   (C factored: only the ranks in BENCH_FACTORED_RANKS; n/a elsewhere)\n");
    out("   Per phase against its roofline max(GFLOP / sgemm peak, GB / triad bandwidth) (bytes: the fewest each phase\n"
        "   moves, bench_mlp.c phase_bytes; compression: x read twice); %% = roofline / measured (100 = at the limit):\n");
    out("   %-12s | %7s %7s %5s | %7s %7s %5s %8s | %7s %7s %5s\n", "", "fwd s", "roof", "%", "compr s", "roof", "%",
        "GFLOP", "bwd s", "roof", "%");
    double cmp_worst = 0;   // max compression time / roofline over asi and wasi
    for (int i = -2; i < 2 * NRANK; i++) {
        char key[48], name[24];
        if (i == -2) { snprintf(key, sizeof key, "mlp.c.vanilla"); snprintf(name, sizeof name, "vanilla"); }
        else if (i == -1) { snprintf(key, sizeof key, "mlp.c.asi"); snprintf(name, sizeof name, "asi"); }
        else {
            snprintf(key, sizeof key, "mlp.c.%s.k%d", i % 2 ? "factored" : "dense", ranks[i / 2]);
            snprintf(name, sizeof name, "%s k=%d", i % 2 ? "fact." : "dense", ranks[i / 2]);
        }
        double t[3], r[3];
        const char *ph[3] = {"fwd", "compress", "bwd"};
        for (int j = 0; j < 3; j++) {
            t[j] = get("%s.%s_s", key, ph[j]);
            double g = get("%s.%s_gflop", key, ph[j]), by = get("%s.%s_gbyte", key, ph[j]);
            r[j] = fmax(g / peak, by / bw);
        }
        if (isnan(t[0])) continue;
        if (i >= -1 && t[1] / r[1] > cmp_worst) cmp_worst = t[1] / r[1];
        out("   %-12s | %7s %7s %5s | %7s %7s %5s %8s | %7s %7s %5s\n", name, num(b1, t[0], 7, 3, ""),
            num(b2, r[0], 7, 3, ""), num(b3, 100 * r[0] / t[0], 5, 0, ""), num(b4, t[1], 7, 3, ""), num(b5, r[1], 7, 3, ""),
            num(b6, i == -2 ? (double)NAN : 100 * r[1] / t[1], 5, 0, ""), num(b7, get("%s.compress_gflop", key), 8, 1, ""),
            num(b8, t[2], 7, 3, ""), num(b9, r[2], 7, 3, ""), num(b10, 100 * r[2] / t[2], 5, 0, ""));
    }
    out("   C dense at k=245: forward %s s, compression %s s, backward %s s (vanilla: forward %s s, backward %s s)\n\n",
        num(b1, get("mlp.c.dense.k245.fwd_s"), 5, 2, ""), num(b2, get("mlp.c.dense.k245.compress_s"), 5, 2, ""),
        num(b3, get("mlp.c.dense.k245.bwd_s"), 5, 2, ""), num(b4, get("mlp.c.vanilla.fwd_s"), 5, 2, ""),
        num(b5, get("mlp.c.vanilla.bwd_s"), 5, 2, ""));

    // 4. whole-model memory per method
    out("4. vit_b_32 training step at batch %.0f, layers: mlp, one process per method; MB = 2^20 bytes. Tracked = the\n"
        "   allocator's peak during %s step(s) after loading; plan = vit_memory_plan (core/models/vit_cost.h) + the batch.\n",
        get("meta.mem_batch"), gets_("meta.mem_steps"));
    out("   %-16s %7s %7s %7s | %7s %7s %7s | %7s %7s | %8s %8s %6s | %8s %7s | %7s %6s\n", "method", "weights", "grads",
        "optim", "act.sh", "act.cnt", "act.oth", "work", "data", "tracked", "plan", "err", "RSS", "RSS-tr", "paper", "p.x");
    double err_max = 0, over_max = -INFINITY, over_min = INFINITY;
    int mem_known = 1;
    double paper_v = get("mem.vanilla.paper_act_mb") + get("mem.vanilla.paper_weight_mb"), tracked_v = get("mem.vanilla.total_peak");
    for (int i = 0; i < NMETH; i++) {
        const char *m = methods[i];
        double tp = get("mem.%s.total_peak", m), pl = get("mem.%s.total_plan", m), rss = get("mem.%s.rss_peak", m);
        double paper = get("mem.%s.paper_act_mb", m) + get("mem.%s.paper_weight_mb", m);
        double err = (pl - tp) / tp;
        if (isnan(err)) mem_known = 0;
        else if (fabs(err) > err_max) err_max = fabs(err);
        double over = (rss - tp) / MB;
        if (!isnan(over)) { if (over > over_max) over_max = over; if (over < over_min) over_min = over; }
        out("   %-16s %7s %7s %7s | %7s %7s %7s | %7s %7s | %8s %8s %6s | %8s %7s | %7s %6s\n", method_label[i],
            num(b1, get("mem.%s.weights_peak", m) / MB, 7, 1, ""), num(b2, get("mem.%s.gradients_peak", m) / MB, 7, 1, ""),
            num(b3, get("mem.%s.optimizer_peak", m) / MB, 7, 1, ""), num(b4, get("mem.%s.act_shared_meas", m) / MB, 7, 1, ""),
            num(b5, get("mem.%s.act_counted_meas", m) / MB, 7, 1, ""), num(b6, get("mem.%s.act_other_meas", m) / MB, 7, 1, ""),
            num(b7, get("mem.%s.workspace_peak", m) / MB, 7, 1, ""), num(b8, get("mem.%s.data_peak", m) / MB, 7, 1, ""),
            num(b9, tp / MB, 8, 1, ""), num(b10, pl / MB, 8, 1, ""), num(b11, 100 * err, 5, 2, "%"), num(b12, rss / MB, 8, 1, ""),
            num(b13, over, 7, 1, ""), num(b14, paper, 7, 1, ""), num(b15, paper_v / paper, 5, 1, "x"));
    }
    out("   act.sh = saved by LayerNorm, attention (q, k, v, probabilities), GELU input, class token and loss; act.cnt =\n"
        "   saved by the counted (MLP) linears, the only activations in the paper's measure; act.oth = saved by the\n"
        "   other linears (q, k, v, out: dense here). paper = the paper's measure (counted linears' activations +\n"
        "   weights), p.x = vanilla's paper measure / the method's. Whole tracked memory shrinks only %s (vanilla /\n"
        "   wasi factored) where the paper's measure shrinks %s: it leaves out act.sh, act.oth, the other weights,\n"
        "   gradients and workspace.\n",
        num(b1, tracked_v / get("mem.wasi_factored.total_peak"), 4, 2, "x"),
        num(b2, paper_v / (get("mem.wasi_factored.paper_act_mb") + get("mem.wasi_factored.paper_weight_mb")), 4, 1, "x"));
    out("   RSS-tr = process peak RSS - peak tracked: code and libraries (RSS at main(): %s MB) + OpenBLAS's own\n"
        "   buffers + thread stacks + allocator overhead (64-byte header and rounding per block, %s blocks).\n\n",
        num(b1, get("mem.vanilla.rss_start") / MB, 4, 1, ""), num(b2, get("mem.vanilla.n_allocs"), 4, 0, ""));

    // 4b. whole-process memory with and without the lean options
    static const int lean_b[] = {32, 128};
    static const char *const lean_label[] = {"vanilla", "lora r=8", "asi 8,8,32", "wasi dense .9", "wasi fact. .9"};
    double lean_best = NAN;   // vanilla plain RSS / wasi lean RSS at batch 128, the better storage
    const char *lean_best_m = "-";
    double lean_err = 0;
    int lean_any = 0;
    for (int bi = 0; bi < 2; bi++) {
        int b = lean_b[bi];
        if (isnan(get("lean.b%d.vanilla.plain.total_peak", b))) continue;
        if (!lean_any)
            out("4b. whole-process memory, vit_b_32, layers mlp, one step, one process per row: plain = as row 4; lean = the\n"
                "   memory section's recompute + gelu_f16 + softmax_f16 (README \"Memory\"); wasi at eps 0.9. RSS x = vanilla\n"
                "   plain's peak RSS / the row's; paper x = the same for the paper's measure (counted linears only).\n");
        lean_any = 1;
        out("   batch %d\n   %-15s %-5s %7s %7s %7s %7s %7s | %8s %8s %6s | %8s %6s | %7s %6s\n", b, "method", "", "weights",
            "grads", "optim", "act", "work", "tracked", "plan", "err", "RSS", "RSS x", "paper", "p.x");
        double rss_v = get("lean.b%d.vanilla.plain.rss_peak", b);
        double paper_lv = get("lean.b%d.vanilla.plain.paper_act_mb", b) + get("lean.b%d.vanilla.plain.paper_weight_mb", b);
        for (int i = 0; i < NMETH; i++)
            for (int v = 0; v < 2; v++) {
                const char *m = methods[i], *var = v ? "lean" : "plain";
                double tp = get("lean.b%d.%s.%s.total_peak", b, m, var), pl = get("lean.b%d.%s.%s.total_plan", b, m, var);
                double rss = get("lean.b%d.%s.%s.rss_peak", b, m, var);
                double paper = get("lean.b%d.%s.%s.paper_act_mb", b, m, var) + get("lean.b%d.%s.%s.paper_weight_mb", b, m, var);
                double err = (pl - tp) / tp;
                if (!isnan(err) && fabs(err) > lean_err) lean_err = fabs(err);
                out("   %-15s %-5s %7s %7s %7s %7s %7s | %8s %8s %6s | %8s %6s | %7s %6s\n", v ? "" : lean_label[i], var,
                    num(b1, get("lean.b%d.%s.%s.weights_peak", b, m, var) / MB, 7, 1, ""),
                    num(b2, get("lean.b%d.%s.%s.gradients_peak", b, m, var) / MB, 7, 1, ""),
                    num(b3, get("lean.b%d.%s.%s.optimizer_peak", b, m, var) / MB, 7, 1, ""),
                    num(b4, get("lean.b%d.%s.%s.activations_peak", b, m, var) / MB, 7, 1, ""),
                    num(b5, get("lean.b%d.%s.%s.workspace_peak", b, m, var) / MB, 7, 1, ""), num(b6, tp / MB, 8, 1, ""),
                    num(b7, pl / MB, 8, 1, ""), num(b8, 100 * err, 5, 2, "%"), num(b9, rss / MB, 8, 1, ""),
                    num(b10, rss_v / rss, 5, 2, "x"), num(b11, paper, 7, 1, ""), num(b12, paper_lv / paper, 5, 1, "x"));
                if (b == 128 && v && !strncmp(m, "wasi", 4) && !(rss_v / rss <= lean_best)) {
                    lean_best = rss_v / rss;
                    lean_best_m = m;
                }
            }
    }
    if (lean_any) out("\n");

    // 5. whole model, the paper's Fig. 8 / Table 2 protocol
    double wb_ = get("whole.vanilla.batch"), wvt = get("whole.vanilla.train_s"), wvi = get("whole.vanilla.infer_s");
    out("5. vit_b_32 whole model, batch %.0f, 224 px, layers mlp, num_of_finetune all, %s threads: ONE timed training step\n"
        "   per method (after one warm-up step) and one inference forward (after one untimed): batch 128 steps take\n"
        "   tens of seconds each on 2 cores. speedup = vanilla time / method time; wasi K = the weight ranks eps gives\n"
        "   on the bench's weights (MLP weights of exact rank 245), activation ranks 8, 8, 32; inference from the factors.\n",
        wb_, gets_("meta.threads"));
    out("   %-22s %7s | %8s %7s %8s %7s | %8s %7s %8s\n", "method", "K", "train s", "speedup", "GFLOP", "GFLOP/s",
        "infer s", "speedup", "GFLOP");
    double w9_train = INFINITY, w9_infer = INFINITY;   // the worse of dense and factored at eps 0.9
    for (int i = 0; i < nkv; i++) {
        size_t n = strlen(kvs[i].key);
        if (strncmp(kvs[i].key, "whole.", 6) || n < 14 || strcmp(kvs[i].key + n - 8, ".train_s")) continue;
        char m[KEYLEN];
        snprintf(m, sizeof m, "%.*s", (int)(n - 14), kvs[i].key + 6);
        double tt = kvs[i].v, ti = get("whole.%s.infer_s", m), gt = get("whole.%s.train_gflop", m);
        double k0 = get("whole.%s.k_min", m), k1 = get("whole.%s.k_max", m);
        char kb[24];
        if (k1 > 0) snprintf(kb, sizeof kb, k0 == k1 ? "%.0f" : "%.0f-%.0f", k0, k1); else snprintf(kb, sizeof kb, "-");
        out("   %-22s %7s | %8s %7s %8s %7s | %8s %7s %8s\n", m, kb, num(b1, tt, 8, 2, ""), num(b2, wvt / tt, 6, 2, "x"),
            num(b3, gt, 8, 1, ""), num(b4, gt / tt, 7, 1, ""), num(b5, ti, 8, 2, ""), num(b6, wvi / ti, 6, 2, "x"),
            num(b7, get("whole.%s.infer_gflop", m), 8, 1, ""));
        if (!strcmp(m, "wasi_dense_eps0.9") || !strcmp(m, "wasi_factored_eps0.9")) {
            w9_train = fmin(w9_train, wvt / tt);
            w9_infer = fmin(w9_infer, wvi / ti);
        }
    }
    out("\n");
    // targets
    double ct = get("step.c.train_s"), tt = get("step.torch.train_s"), gf = get("step.c.train_gflop");
    double spd = tt / ct, frac = gf / ct / peak;
    out("targets (they steer the work; not tests):\n");
    out("   row 2: wasibench training step >= 1.5x PyTorch: %s x -> %s; vanilla step at >= 85%% of the sgemm peak: %s -> %s\n",
        num(b1, spd, 4, 2, ""), yesno(spd >= 1.5, !isnan(spd)), num(b2, 100 * frac, 4, 1, "%"), yesno(frac >= 0.85, !isnan(frac)));
    out("   row 3: speedup >= 0.8 x FLOP ratio at every rank: min eff C dense %s -> %s; C factored %s -> %s; (PyTorch %s)\n",
        num(b1, eff_min_c, 4, 2, ""), yesno(eff_min_c >= 0.8, isfinite(eff_min_c)), num(b2, eff_min_f, 4, 2, ""),
        yesno(eff_min_f >= 0.8, isfinite(eff_min_f)), num(b3, eff_min_t, 4, 2, ""));
    double tc_min = INFINITY;   // torch-op time / C dense time, the worst K
    for (int i = 0; i < NRANK; i++) {
        double r = get("mlp.torch.dense.k%d.seconds", ranks[i]) / get("mlp.c.dense.k%d.seconds", ranks[i]);
        if (!isnan(r) && r < tc_min) tc_min = r;
    }
    out("   row 3: C wasi >= 1.3x faster than the torch-matmul op at every rank: min torch/C %s -> %s\n",
        num(b1, tc_min, 4, 2, "x"), yesno(tc_min >= 1.3, isfinite(tc_min)));
    out("   row 3: compression (asi, wasi) within 1.5x of its roofline: worst measured / roofline %s -> %s\n",
        num(b1, cmp_worst, 5, 1, "x"), yesno(cmp_worst <= 1.5, cmp_worst > 0));
    out("   row 5: whole-model wasi (dense and factored) at eps 0.9 vs vanilla: training step >= 1.5x: %s -> %s; "
        "inference >= 1.3x: %s -> %s\n", num(b1, w9_train, 4, 2, "x"), yesno(w9_train >= 1.5, isfinite(w9_train)),
        num(b2, w9_infer, 4, 2, "x"), yesno(w9_infer >= 1.3, isfinite(w9_infer)));
    out("   row 4: plan within 5%% of the tracked peak for every method: max error %s -> %s; RSS - tracked %s .. %s MB\n",
        num(b1, 100 * err_max, 4, 2, "%"), yesno(err_max <= 0.05, mem_known), num(b2, over_min, 4, 1, ""), num(b3, over_max, 4, 1, ""));

    out("   row 4b: wasi eps 0.9 lean at batch 128, whole-process peak RSS >= 5x below vanilla's: %s (%s) -> %s; "
        "plan error max %s\n", num(b1, lean_best, 4, 2, "x"), lean_best_m, yesno(lean_best >= 5, isfinite(lean_best)),
        num(b2, 100 * lean_err, 4, 2, "%"));

    fputs(table, stdout);
    FILE *f = fopen(argv[2], "w");
    if (!f) { fprintf(stderr, "bench_report: cannot write %s\n", argv[2]); return 1; }
    fputs(table, f);
    fclose(f);
    return write_h5(argv[3]) < 0 ? 1 : 0;
}
