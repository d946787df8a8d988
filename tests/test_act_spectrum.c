// test_act_spectrum.c: the activation spectrum per mode (core/compress/act_spectrum.h,
// the paper's Fig. 4):
//   1. against torch.linalg.svdvals of each unfolding (tests/ref_spectrum.py,
//      float64) on 3- and 4-mode tensors: sigma^2 and the explained fraction;
//   2. the rows' structure: one per component of each mode, sigma^2 descending
//      and >= 0, the fraction rising to exactly 1, the same total on every mode;
//   3. the rank a curve gives at epsilon is the rank hosvd_exact keeps there;
//   4. an all-zero activation: sigma^2 = 0, one direction suffices.
#include "core/compress/act_spectrum.h"
#include "core/compress/tucker.h"
#include "core/io/safetensors.h"
#include "core/linalg/blas.h"
#include "core/linalg/linalg.h"
#include "core/runtime/memory.h"
#include "core/runtime/rng.h"
#include "tests/testlib.h"

#include <math.h>
#include <string.h>

enum { N_CASES = 4 };   // tests/ref_spectrum.py CASES

typedef struct {
    int nd, dims[4];
    float *x;
    size_t n;
} Case;

static int load_case(const SafeTensors *st, int c, Case *cs) {
    char name[32];
    snprintf(name, sizeof name, "case%d/x", c);
    const StTensor *t = st_find(st, name);
    if (!t) return -1;
    cs->nd = (int)t->ndim;
    for (int d = 0; d < cs->nd; d++) cs->dims[d] = (int)t->shape[d];
    cs->x = tl_read_tensor(st, name, &cs->n);
    return 0;
}

static int open_ref(SafeTensors *st) {
    WbError err;
    if (st_open(st, "tests/data/ref/spectrum_v1.safetensors", &err) < 0) {
        EXPECT(0, "%s (generate it with: bash tests/make_reference.sh)", err.msg);
        return -1;
    }
    return 0;
}

static void test_vs_torch(void) {
    SafeTensors st;
    if (open_ref(&st) < 0) return;
    int cases = 0;
    for (int c = 0; c < N_CASES; c++) {
        Case cs;
        if (load_case(&st, c, &cs) < 0) break;
        long nr = act_spectrum_rows(cs.dims, cs.nd);
        SpectrumRow *rows = mem_alloc(sizeof(SpectrumRow) * (size_t)nr, MEM_WORKSPACE);
        act_spectrum(cs.x, cs.dims, cs.nd, 7, rows);
        const SpectrumRow *r = rows;
        for (int n = 0; n < cs.nd; n++) {
            const int d = cs.dims[n];
            char en[32], evn[32];
            snprintf(en, sizeof en, "case%d/e%d", c, n);
            snprintf(evn, sizeof evn, "case%d/ev%d", c, n);
            size_t k;
            float *e_ref = tl_read_tensor(&st, en, &k), *ev_ref = tl_read_tensor(&st, evn, &k);
            float *e = mem_alloc_floats((size_t)d, MEM_WORKSPACE), *ev = mem_alloc_floats((size_t)d, MEM_WORKSPACE);
            for (int i = 0; i < d; i++) { e[i] = (float)r[i].energy; ev[i] = (float)r[i].explained; }
            char what[64];
            snprintf(what, sizeof what, "case %d mode %d sigma^2 vs torch", c, n);
            // a Gram's eigenvalues carry float rounding of the largest one
            EXPECT_CLOSE(what, e, e_ref, (size_t)d, 2e-6 * (double)e_ref[0], 1e-4);
            snprintf(what, sizeof what, "case %d mode %d explained vs torch", c, n);
            EXPECT_CLOSE(what, ev, ev_ref, (size_t)d, 2e-6, 0);
            if (n == 0) printf("  case %d (%d modes, d_0 = %d): sigma_1^2 %.6g (torch %.6g), explained by 1: %.6f (torch %.6f)\n", c, cs.nd, d,
                               (double)e[0], (double)e_ref[0], (double)ev[0], (double)ev_ref[0]);
            mem_free(e_ref); mem_free(ev_ref); mem_free(e); mem_free(ev);
            r += d;
        }
        mem_free(rows);
        mem_free(cs.x);
        cases++;
    }
    EXPECT(cases == N_CASES, "tests/ref_spectrum.py writes %d cases, read %d", N_CASES, cases);
    st_close(&st);
}

static void test_rows_structure(void) {
    Rng g;
    rng_seed(&g, 3);
    const int dims[4] = {5, 3, 4, 9};
    for (int nd = 3; nd <= 4; nd++) {
        size_t n = 1;
        for (int d = 0; d < nd; d++) n *= (size_t)dims[d];
        float *x = tl_randn(&g, n, 1.0f);
        double norm2 = 0;
        for (size_t i = 0; i < n; i++) norm2 += (double)x[i] * (double)x[i];
        long nr = act_spectrum_rows(dims, nd);
        EXPECT(nr == 5 + 3 + 4 + (nd == 4 ? 9 : 0), "rows = sum of the mode sizes: %ld", nr);
        SpectrumRow *rows = mem_alloc(sizeof(SpectrumRow) * (size_t)nr, MEM_WORKSPACE);
        act_spectrum(x, dims, nd, 2, rows);
        long j = 0;
        for (int m = 0; m < nd; m++) {
            double total = 0;
            for (int i = 0; i < dims[m]; i++, j++) {
                const SpectrumRow *r = &rows[j];
                EXPECT(r->layer == 2 && r->mode == m && r->dim == dims[m] && r->index == i + 1, "row %ld: layer %d mode %d dim %d index %d", j,
                       r->layer, r->mode, r->dim, r->index);
                EXPECT(r->energy >= 0 && (i == 0 || r->energy <= rows[j - 1].energy), "mode %d: sigma^2 descending and >= 0 at %d", m, i);
                EXPECT(i == 0 || r->explained >= rows[j - 1].explained, "mode %d: the explained fraction rises at %d", m, i);
                total += r->energy;
            }
            EXPECT(rows[j - 1].explained == 1.0, "mode %d: explained ends at exactly 1 (%.17g)", m, rows[j - 1].explained);
            EXPECT(fabs(total - norm2) <= 1e-5 * norm2, "mode %d: sum sigma^2 = ||x||^2 (%.8g vs %.8g)", m, total, norm2);
        }
        mem_free(rows);
        mem_free(x);
    }
}

static void test_rank_is_hosvds(void) {
    SafeTensors st;
    if (open_ref(&st) < 0) return;
    static const float eps[5] = {0.5f, 0.8f, 0.9f, 0.99f, 1.0f};
    int checked = 0;
    for (int c = 0; c < N_CASES; c++) {
        Case cs;
        if (load_case(&st, c, &cs) < 0) break;
        long nr = act_spectrum_rows(cs.dims, cs.nd);
        SpectrumRow *rows = mem_alloc(sizeof(SpectrumRow) * (size_t)nr, MEM_WORKSPACE);
        act_spectrum(cs.x, cs.dims, cs.nd, 0, rows);
        HosvdWork w;
        hosvd_work_init(&w, cs.nd, cs.dims, NULL, 1, HOSVD_EXACT);
        for (int e = 0; e < 5; e++) {
            Tucker t;
            tucker_init(&t, cs.nd, cs.dims, NULL, 1);
            float ev[4] = {eps[e], eps[e], eps[e], eps[e]};
            hosvd_exact(&t, cs.x, cs.dims, ev, &w);
            const SpectrumRow *r = rows;
            for (int n = 0; n < cs.nd; n++) {
                int k = act_spectrum_rank(r, eps[e]);
                EXPECT(k == t.ranks[n], "case %d mode %d eps %g: spectrum rank %d, hosvd_exact keeps %d", c, n, (double)eps[e], k, t.ranks[n]);
                checked++;
                r += cs.dims[n];
            }
            tucker_free(&t);
        }
        hosvd_work_free(&w);
        mem_free(rows);
        mem_free(cs.x);
    }
    EXPECT(checked > 0, "no case was checked");
    printf("  %d (case, mode, epsilon) ranks equal hosvd_exact's\n", checked);
    st_close(&st);
}

static void test_zero_activation(void) {
    const int dims[3] = {4, 3, 6};
    float *x = mem_alloc_floats(72, MEM_WORKSPACE);
    memset(x, 0, sizeof(float) * 72);
    SpectrumRow rows[13];
    act_spectrum(x, dims, 3, 0, rows);
    for (int j = 0; j < 13; j++) EXPECT(rows[j].energy == 0 && rows[j].explained == 1.0, "row %d: %g %g", j, rows[j].energy, rows[j].explained);
    EXPECT(act_spectrum_rank(rows, 0.9f) == 1 && act_spectrum_rank(rows + 4, 0.9f) == 1, "a zero mode keeps one direction");
    EXPECT(act_spectrum_rank(rows, 1.0f) == 4, "epsilon 1 keeps the whole mode");
    mem_free(x);
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    threads_set(1);
    RUN(test_vs_torch);
    RUN(test_rows_structure);
    RUN(test_rank_is_hosvds);
    RUN(test_zero_activation);
    return tl_finish();
}
