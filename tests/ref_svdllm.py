#!/usr/bin/env python3
"""ref_svdllm.py OUTDIR: the SVD-LLM whitening computed with torch.linalg for
tests/test_svdllm.c, written to OUTDIR/svdllm_v1.safetensors:
  W (O, I), b (O), X (rows, I)       float32 inputs (X with correlated channels)
  sigma (min(O, I))                  float32, the singular values of W S, S = cholesky(X^T X) (lower)
  Wk<K> (O, I)                       float32, U_K Sigma_K V_K^T S^-1 for K in KS
  err<K> (1)                         float32, ||(W - Wk) X^T||_F^2 (computed in float64)
All in float64, rounded to float32 at the end."""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reflib import save_safetensors, up_to_date  # noqa: E402

VERSION = "v1"
O, I, ROWS = 48, 32, 200
KS = [4, 8, 16]   # tests/test_svdllm.c repeats them


def main(out):
    path = os.path.join(out, "svdllm_%s.safetensors" % VERSION)
    if up_to_date([path], VERSION):
        return
    g = torch.Generator().manual_seed(7)
    W = (0.2 * torch.randn(O, I, generator=g, dtype=torch.float64)).float()
    b = (0.1 * torch.randn(O, generator=g, dtype=torch.float64)).float()
    M = torch.randn(I, I, generator=g, dtype=torch.float64) + 3 * torch.eye(I, dtype=torch.float64)
    M[: I // 2] *= 0.05
    X = (torch.randn(ROWS, I, generator=g, dtype=torch.float64) @ M).float()
    Wd, Xd = W.double(), X.double()
    S = torch.linalg.cholesky(Xd.T @ Xd)
    U, sig, Vh = torch.linalg.svd(Wd @ S, full_matrices=False)
    ref = {"W": W, "b": b, "X": X, "sigma": sig.float()}
    for k in KS:
        Wk = (U[:, :k] * sig[:k]) @ torch.linalg.solve_triangular(S, Vh[:k], upper=False, left=False)
        ref["Wk%d" % k] = Wk.float()
        ref["err%d" % k] = torch.tensor([float(((Wd - Wk) @ Xd.T).pow(2).sum())], dtype=torch.float32)
        dropped = float(sig[k:].pow(2).sum())
        assert abs(ref["err%d" % k].item() - dropped) <= 1e-6 * float(sig.pow(2).sum()), (k, dropped)
    save_safetensors(path, ref, {"version": VERSION, "writer": "tests/ref_svdllm.py"})


if __name__ == "__main__":
    main(sys.argv[1])
