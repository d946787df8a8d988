// rank_select.c: the multiple-choice knapsack of the rank selection, by
// dynamic programming over a discretised budget, and its brute-force
// reference (see rank_select.h).
#include "core/compress/rank_select.h"
#include "core/runtime/common.h"
#include "core/runtime/memory.h"

#include <math.h>
#include <string.h>

static void check_table(const int64_t *cost, const double *err, int L, int J) {
    CHECK(L >= 1 && J >= 1, "rank selection over L=%d layers, J=%d candidates", L, J);
    for (int i = 0; i < L * J; i++) {
        CHECK(cost[i] >= 0, "layer %d candidate %d: negative cost %lld", i / J, i % J, (long long)cost[i]);
        CHECK(isfinite(err[i]), "layer %d candidate %d: error %g is not finite", i / J, i % J, err[i]);
    }
}

static RankSelection finish(int *choice, const int64_t *cost, const double *err, int L, int J, int64_t budget, int raised) {
    RankSelection r = {0, 0, budget, raised};
    for (int l = 0; l < L; l++) {
        r.err_sum += err[l * J + choice[l]];
        r.cost_sum += cost[l * J + choice[l]];
    }
    return r;
}

// The cheapest candidate of every layer (ties: smaller error, then lower index).
static int64_t cheapest(int *choice, const int64_t *cost, const double *err, int L, int J) {
    int64_t sum = 0;
    for (int l = 0; l < L; l++) {
        int b = 0;
        for (int j = 1; j < J; j++) {
            const int64_t c = cost[l * J + j], cb = cost[l * J + b];
            if (c < cb || (c == cb && err[l * J + j] < err[l * J + b])) b = j;
        }
        if (choice) choice[l] = b;
        sum += cost[l * J + b];
    }
    return sum;
}

// ceil(c nbins / budget) with exact integer arithmetic.
static int64_t to_bins(int64_t c, int64_t budget, int nbins) {
    CHECK(c <= INT64_MAX / nbins, "cost %lld too large for %d bins", (long long)c, nbins);
    return (c * nbins + budget - 1) / budget;
}

RankSelection rank_select(int *choice, const int64_t *cost, const double *err, int L, int J, int64_t budget, int nbins) {
    check_table(cost, err, L, J);
    CHECK(nbins >= 1, "nbins=%d", nbins);
    int64_t minsum = cheapest(NULL, cost, err, L, J);
    if (budget <= minsum) { // only the cheapest candidates fit
        int raised = budget < minsum;
        cheapest(choice, cost, err, L, J);
        return finish(choice, cost, err, L, J, raised ? minsum : budget, raised);
    }
    int nb = nbins + 1;
    double *dp = mem_alloc((size_t)nb * sizeof(double), MEM_WORKSPACE);   // best error in <= b bins, layers so far
    double *nx = mem_alloc((size_t)nb * sizeof(double), MEM_WORKSPACE);
    int *arg = mem_alloc((size_t)L * nb * sizeof(int), MEM_WORKSPACE);    // (L, nbins+1) the argmin
    int64_t *cb = mem_alloc((size_t)L * J * sizeof(int64_t), MEM_WORKSPACE);
    for (int i = 0; i < L * J; i++) cb[i] = to_bins(cost[i], budget, nbins);
    for (int b = 0; b < nb; b++) dp[b] = 0.0;
    for (int l = 0; l < L; l++) {
        for (int b = 0; b < nb; b++) {
            double best = HUGE_VAL;
            int bj = -1;
            for (int j = 0; j < J; j++) {
                int64_t c = cb[l * J + j];
                if (c > b || dp[b - c] == HUGE_VAL) continue;
                double v = dp[b - c] + err[l * J + j];
                if (v < best) { best = v; bj = j; }
            }
            nx[b] = best;
            arg[(size_t)l * nb + b] = bj;
        }
        double *t = dp; dp = nx; nx = t;
    }
    if (dp[nbins] == HUGE_VAL) { // nothing fits once rounded up to bins
        cheapest(choice, cost, err, L, J);
    } else {
        int64_t b = nbins;
        for (int l = L - 1; l >= 0; l--) {
            int j = arg[(size_t)l * nb + b];
            CHECK(j >= 0, "rank selection backtrack lost its way at layer %d", l);
            choice[l] = j;
            b -= cb[l * J + j];
        }
    }
    mem_free(dp); mem_free(nx); mem_free(arg); mem_free(cb);
    return finish(choice, cost, err, L, J, budget, 0);
}

RankSelection rank_select_brute(int *choice, const int64_t *cost, const double *err, int L, int J, int64_t budget,
                                int nbins) {
    check_table(cost, err, L, J);
    CHECK(nbins >= 0, "nbins=%d", nbins);
    CHECK(L <= 16 && pow((double)J, (double)L) <= 1e7, "brute force over %d^%d selections is too many", J, L);
    int64_t minsum = cheapest(NULL, cost, err, L, J);
    if (budget <= minsum) {
        int raised = budget < minsum;
        cheapest(choice, cost, err, L, J);
        return finish(choice, cost, err, L, J, raised ? minsum : budget, raised);
    }
    int cur[16] = {0}, found = 0;
    double best = HUGE_VAL;
    for (;;) {
        int64_t c = 0;
        double e = 0;
        for (int l = 0; l < L; l++) {
            int64_t cl = cost[l * J + cur[l]];
            c += nbins ? to_bins(cl, budget, nbins) : cl;
            e += err[l * J + cur[l]];
        }
        if (c <= (nbins ? (int64_t)nbins : budget) && e < best) {
            best = e; found = 1;
            memcpy(choice, cur, (size_t)L * sizeof(int));
        }
        int l = L - 1; // next selection in lexicographic order; the first best is kept
        while (l >= 0 && ++cur[l] == J) cur[l--] = 0;
        if (l < 0) break;
    }
    if (!found) cheapest(choice, cost, err, L, J);
    return finish(choice, cost, err, L, J, budget, 0);
}
