// rank_select.h: the rank selection of asi/wasi activations: pick one
// candidate per layer (e.g. the truncated HOSVD at epsilon 0.4 ... 0.9)
// minimising the summed error ||dW_lowrank - dW_exact||_F under a total
// activation-memory budget. A multiple-choice knapsack, solved by dynamic
// programming over the budget cut into bins; plus the exhaustive reference.
#ifndef WB_RANK_SELECT_H
#define WB_RANK_SELECT_H

#include <stdint.h>

typedef struct {
    double err_sum;    // sum of the chosen errors (summed in layer order)
    int64_t cost_sum;  // sum of the chosen costs in real units, <= budget
    int64_t budget;    // the budget used: the one asked for, or sum_l min_j cost if that was lower
    int raised;        // 1 when the budget asked for was below sum_l min_j cost (the caller warns)
} RankSelection;

// cost (L,J) >= 0 in one integer unit (bytes or elements), err (L,J) finite;
// row l lists the J candidates of layer l. choice (L) out: the candidate per layer.
// nbins >= 1: the budget is cut into nbins equal bins and every cost is
// rounded UP to whole bins, bins = ceil(cost nbins / budget), so a selection
// that fits in nbins bins never exceeds the budget in real units (the price:
// a selection that fits only thanks to the rounding is missed). If nothing
// fits in bins, or budget <= sum of per-layer minima, the answer is the
// cheapest candidate of every layer (ties: smaller error), which is then the
// optimum. Among equally good selections the choice is deterministic.
// O(L J nbins) time, L (nbins+1) ints of workspace.
RankSelection rank_select(int *choice, const int64_t *cost, const double *err, int L, int J, int64_t budget, int nbins);

// Exhaustive reference over all J^L selections (small tables only). nbins > 0:
// the binned feasibility rule of rank_select (so err_sum must match it
// exactly); nbins = 0: feasibility in real units (the true optimum).
RankSelection rank_select_brute(int *choice, const int64_t *cost, const double *err, int L, int J, int64_t budget,
                                int nbins);

#endif
