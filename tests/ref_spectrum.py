#!/usr/bin/env python3
"""ref_spectrum.py OUTDIR: reference activation spectra for
tests/test_act_spectrum.c (core/compress/act_spectrum.h), written to
OUTDIR/spectrum_v1.safetensors:
  case<c>/x        the tensor (dims of CASES[c]), float32: a sum of a few
                   rank-one terms (outer products) plus small noise, so every
                   mode's spectrum decays as activations do
  case<c>/e<n>     (d_n) float32: the squared singular values of the mode-n
                   unfolding x.movedim(n, 0).reshape(d_n, -1), descending,
                   from torch.linalg.svdvals in float64
  case<c>/ev<n>    (d_n) float32: their cumulative fraction of the total"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reflib import save_safetensors, up_to_date  # noqa: E402

VERSION = "v1"
CASES = [(6, 5, 7), (16, 9, 24), (3, 4, 5, 6), (8, 6, 6, 10)]  # tests/test_act_spectrum.c repeats the count


def main(out):
    path = os.path.join(out, "spectrum_%s.safetensors" % VERSION)
    if up_to_date([path], VERSION):
        return
    g = torch.Generator().manual_seed(4)
    ref = {}
    for c, dims in enumerate(CASES):
        x = 0.01 * torch.randn(*dims, generator=g, dtype=torch.float64)
        for t in range(3):   # three rank-one terms of decreasing weight
            term = torch.ones((), dtype=torch.float64)
            for d in dims:
                term = term.unsqueeze(-1) * torch.randn(d, generator=g, dtype=torch.float64)
            x = x + (0.5 ** t) * term
        x = x.float()
        ref["case%d/x" % c] = x
        for n, d in enumerate(dims):
            s = torch.linalg.svdvals(x.double().movedim(n, 0).reshape(d, -1))
            e = torch.zeros(d, dtype=torch.float64)
            e[: s.numel()] = s * s
            ref["case%d/e%d" % (c, n)] = e.float()
            ref["case%d/ev%d" % (c, n)] = (torch.cumsum(e, 0) / e.sum()).float()
    save_safetensors(path, ref, {"version": VERSION, "writer": "tests/ref_spectrum.py"})


if __name__ == "__main__":
    main(sys.argv[1])
