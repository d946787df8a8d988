#!/usr/bin/env python3
"""ref_subspace.py OUTDIR: reference principal angles for tests/test_linalg.c
(linalg.h subspace_max_angle), written to OUTDIR/subspace_v1.safetensors:
  case<c>/v0, case<c>/v   (K, I) float32, orthonormal rows (QR of a Gaussian,
                          v partly rotated towards v0's complement)
  case<c>/angle           (1) the largest principal angle in radians, in
                          float64: arccos of the smallest of torch.linalg.svdvals
                          of v0 v^T, or below pi/4 the arcsine of the largest
                          sine ||(I - v0^T v0) v^T||_2 (numpy), accurate there.
Cases (K, I, mix): mix 0 = independent random subspaces, else v = orth(v0 +
mix * G): a small rotation of v0."""
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reflib import save_safetensors, up_to_date  # noqa: E402

VERSION = "v1"
CASES = [(3, 10, 0.0), (5, 40, 0.005), (4, 30, 0.05), (8, 24, 0.5), (1, 7, 0.0), (12, 12, 0.3), (6, 50, 2.0)]  # tests/test_linalg.c repeats the count


def orth_rows(a):
    q, _ = torch.linalg.qr(a.T)   # (I, K) orthonormal columns
    return q.T.contiguous()


def main(out):
    path = os.path.join(out, "subspace_%s.safetensors" % VERSION)
    if up_to_date([path], VERSION):
        return
    g = torch.Generator().manual_seed(15)
    ref = {}
    for c, (k, i, mix) in enumerate(CASES):
        v0 = orth_rows(torch.randn(k, i, generator=g, dtype=torch.float64))
        if mix == 0:
            v = orth_rows(torch.randn(k, i, generator=g, dtype=torch.float64))
        else:
            v = orth_rows(v0 + mix * torch.randn(k, i, generator=g, dtype=torch.float64))
        v0, v = v0.float(), v.float()
        a, b = v0.double(), v.double()
        cos_min = torch.linalg.svdvals(a @ b.T).min().clamp(0, 1).item()
        # the largest sine is ||(I - V0^T V0) V^T||_2 (numpy); below pi/4 the
        # arcsine is the accurate one (Knyazev & Argentati 2002)
        an, bn = a.numpy(), b.numpy()
        sin_max = min(float(np.linalg.norm(bn.T - an.T @ (an @ bn.T), 2)), 1.0)
        angle = math.acos(cos_min) if cos_min < math.sqrt(0.5) else math.asin(sin_max)
        assert abs(math.asin(sin_max) - math.acos(cos_min)) < 1e-3, (c, cos_min, sin_max)
        ref["case%d/v0" % c] = v0
        ref["case%d/v" % c] = v
        ref["case%d/angle" % c] = torch.tensor([angle], dtype=torch.float32)
    save_safetensors(path, ref, {"version": VERSION, "writer": "tests/ref_subspace.py"})


if __name__ == "__main__":
    main(sys.argv[1])
