// svdllm_lora.h: SVD-LLM (Wang et al., 2024: truncation-aware data
// whitening) then LoRA, the WASI paper's strongest baseline (its Fig. 5).
//
// Calibration (METHOD_DATA_CALIB): the runner runs calib_batches (default 8)
// training batches forward (training = 0) before training; each layer keeps
// its pretrained W (O,I) meanwhile and sums the Gram G = X^T X (I,I) of its
// inputs. calib_end then, per layer:
//   S = the Cholesky factor of G (G = S S^T, S lower; when G is not positive
//       definite, G + lambda I with lambda = 1e-6 mean(diag G), times 10 until
//       it factors, at most 8 tries; svdllm_ridge() reports the lambda used),
//   U Sigma V^T = SVD of W S,
//   K = truncation_rank, or the smallest K whose Sigma^2 energy reaches
//       epsilon (the whitened spectrum, core/linalg/linalg.h svd_energy_rank),
//   W ~ B_t A_t with B_t = U_K Sigma_K (O,K) and A_t = V_K^T S^-1 (K,I):
//       two frozen linears; ||(W - B_t A_t) X^T||_F^2 = sum_{i>K} sigma_i^2
//       (the truncation is optimal for the calibration data).
// Training: y = (x A_t^T) B_t^T + b + s (x A^T) B^T (no b with no_bias), the LoRA adapters A, B
// (rank, alpha as the lora method: baselines/lora.h) the only trainable
// parameters. A layer that starts training without the runner's calibration
// calibrates on its first training batch.
// Memory: tracked, x (rows,I) and u = x A^T (rows,r) saved, z = x A_t^T
// (rows,K) scratch (the frozen factors need no saved input). The paper's
// measure counts what the paper's implementation keeps, the inputs of both
// sub-layers and LoRA's: activations rows (I + K + r), weights
// K (O + I) + r (O + I).
// FLOPs: calibration (PHASE_DECOMPOSITION, once): 2 rows I^2 per batch (the
// Gram, gemm), I^3 / 3 per Cholesky try (spotrf, textbook), 2 O I^2 (W S,
// gemm), the SVD as linalg.h counts sgesdd (6 m n^2 + 20 n^3), K I^2 (the
// triangular solve, strsm). Forward 2 rows I K + 2 rows K O + rows O (bias, not with no_bias) +
// LoRA's 2 rows I r + 2 rows r O; backward 2 rows O K + 2 rows K I (dx through
// the factors) + LoRA's.
// Tensor names: trainable "lora_A" (r,I), "lora_B" (O,r).
#ifndef WB_SVDLLM_LORA_H
#define WB_SVDLLM_LORA_H

#include "core/nn/linear_method.h"

extern const LinearMethod method_svdllm_lora;

// The ridge lambda the Cholesky needed (0: G was positive definite), the
// truncation rank K, and the frozen factors B_t (O,K), A_t (K,I); after calibration.
double svdllm_ridge(const LinearLayer *L);
int svdllm_rank(const LinearLayer *L);
void svdllm_factors(const LinearLayer *L, const float **Bt, const float **At);
// The whitened singular values (min(O,I)), descending, of the last calibration.
const float *svdllm_sigma(const LinearLayer *L);

#endif
