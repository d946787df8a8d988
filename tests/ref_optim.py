#!/usr/bin/env python3
"""ref_optim.py OUTDIR: PyTorch reference data for tests/test_optim.c and a
small file for tests/test_safetensors.c, both written as safetensors by the
tiny writer below (no safetensors package needed).

optim_v1.safetensors
  p0/<t>                 initial parameters, t in w1 (7,5), b1 (13,), w2 (3,4,6)
  g<s>/<t>               gradient fed at step s = 1..5
  lr/<cfg>               (5) lr used at each step (float32-exact values)
  <cfg>/step<s>/<t>      parameters after step s, cfg in
                         sgd_plain, sgd_mom, sgd_nesterov, adamw (hyper-parameters below)
  clip_big|clip_small/g_in/<t>, .../g_out/<t>, .../total (1)
                         clip_grad_norm_(max_norm=2.0) over all three tensors
  sched/<name>           (total+1) lr after 0..total scheduler.step() calls
st_python_v1.safetensors
  a (2,3) F32, b.weight (4,) F32, scalar () F32, empty (0,3) F32, h16 (2,) F16,
  ids (3,) I64, metadata {"format": "pt", "writer": "tests/ref_optim.py"};
  the data section is laid out in the reverse of the header order.
"""
import json
import math
import os
import sys
import warnings

import numpy as np
import torch

VERSION = "v1"
f32 = lambda x: float(np.float32(x))  # hyper-parameters exactly representable in float32 (as the C side holds them)

# Hyper-parameters; tests/test_optim.c repeats them.
SGD_CFGS = {
    "sgd_plain": dict(momentum=0.0, dampening=0.0, nesterov=False, weight_decay=f32(1e-4)),
    "sgd_mom": dict(momentum=f32(0.9), dampening=f32(0.1), nesterov=False, weight_decay=f32(1e-4)),
    "sgd_nesterov": dict(momentum=f32(0.9), dampening=0.0, nesterov=True, weight_decay=f32(1e-4)),
}
ADAMW = dict(betas=(f32(0.9), f32(0.999)), eps=f32(1e-8), weight_decay=f32(0.05))
SHAPES = {"w1": (7, 5), "b1": (13,), "w2": (3, 4, 6)}
STEPS = 5
# name: (lr, warmup, warmup_start, total, eta_min, cosine)
SCHEDS = {
    "warm5_cos50": (f32(1e-3), 5, f32(0.1), 50, f32(1e-4), 1),
    "nowarm_cos50": (f32(1e-3), 0, 1.0, 50, f32(1e-4), 1),
    "warm10_cos30_min0": (f32(0.01), 10, f32(1 / 3), 30, 0.0, 1),
    "warm4_const20": (f32(0.05), 4, f32(0.25), 20, 0.0, 0),
}


def save_safetensors(path, tensors, metadata=None, reverse_data=False):
    """tensors: list of (name, numpy array); dtypes F32/F16/I64."""
    codes = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", np.dtype(np.int64): "I64"}
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    order = list(reversed(tensors)) if reverse_data else tensors
    offsets = {}
    for name, a in order:
        b = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        offsets[name] = (off, off + len(b))
        blobs.append(b)
        off += len(b)
    for name, a in tensors:
        header[name] = {"dtype": codes[a.dtype], "shape": list(a.shape), "data_offsets": list(offsets[name])}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def np32(t):
    return t.detach().numpy().astype(np.float32).copy()


def optim_reference():
    torch.manual_seed(1234)
    out = []
    p0 = {n: torch.randn(s) for n, s in SHAPES.items()}
    grads = [{n: torch.randn(s) * (0.5 + 0.25 * k) for n, s in SHAPES.items()} for k in range(STEPS)]
    for n in SHAPES:
        out.append((f"p0/{n}", np32(p0[n])))
    for k in range(STEPS):
        for n in SHAPES:
            out.append((f"g{k + 1}/{n}", np32(grads[k][n])))

    def run(name, make, lrs):
        params = [torch.nn.Parameter(p0[n].clone()) for n in SHAPES]
        opt = make(params, lrs[0])
        for k in range(STEPS):
            for g in opt.param_groups:
                g["lr"] = lrs[k]
            for p, n in zip(params, SHAPES):
                p.grad = grads[k][n].clone()
            opt.step()
            for p, n in zip(params, SHAPES):
                out.append((f"{name}/step{k + 1}/{n}", np32(p)))
        out.append((f"lr/{name}", np.array(lrs, dtype=np.float32)))

    for name, c in SGD_CFGS.items():
        lrs = [f32(0.1 * (1 - 0.1 * k)) for k in range(STEPS)]
        run(name, lambda ps, lr, c=c: torch.optim.SGD(ps, lr=lr, **c), lrs)
    lrs = [f32(1e-2 * (1 - 0.1 * k)) for k in range(STEPS)]
    run("adamw", lambda ps, lr: torch.optim.AdamW(ps, lr=lr, **ADAMW), lrs)

    for name, scale in (("clip_big", 3.0), ("clip_small", 0.05)):
        params = [torch.nn.Parameter(torch.zeros(s)) for s in SHAPES.values()]
        for p in params:
            p.grad = torch.randn(p.shape) * scale
        for p, n in zip(params, SHAPES):
            out.append((f"{name}/g_in/{n}", np32(p.grad)))
        total = torch.nn.utils.clip_grad_norm_(params, max_norm=2.0)
        for p, n in zip(params, SHAPES):
            out.append((f"{name}/g_out/{n}", np32(p.grad)))
        out.append((f"{name}/total", np.array([float(total)], dtype=np.float32)))
    assert float(dict(out)["clip_big/total"][0]) > 2.0 and float(dict(out)["clip_small/total"][0]) < 2.0

    for name, (lr, warmup, start, total, eta_min, cosine) in SCHEDS.items():
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
        if warmup == 0:
            # SequentialLR with milestone 0 is degenerate in torch (it holds
            # lr*start_factor for two ticks); no warmup means the cosine alone.
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total, eta_min=eta_min)
        elif not cosine:
            sched = torch.optim.lr_scheduler.LinearLR(opt, start_factor=start, end_factor=1.0, total_iters=warmup)
        else:
            lin = torch.optim.lr_scheduler.LinearLR(opt, start_factor=start, end_factor=1.0, total_iters=warmup)
            cos = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total - warmup, eta_min=eta_min)
            sched = torch.optim.lr_scheduler.SequentialLR(opt, [lin, cos], milestones=[warmup])
        lrs = [opt.param_groups[0]["lr"]]
        for _ in range(total):
            opt.step()
            sched.step()
            lrs.append(opt.param_groups[0]["lr"])
        if cosine:
            # The C side uses the closed form; the recursive torch form must agree.
            for t in range(warmup, total + 1):
                closed = eta_min + (lr - eta_min) * (1 + math.cos(math.pi * (t - warmup) / (total - warmup))) / 2
                assert abs(lrs[t] - closed) <= 1e-12 + 1e-9 * abs(closed), (name, t, lrs[t], closed)
        out.append((f"sched/{name}", np.array(lrs, dtype=np.float32)))
    return out


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "tests/data/ref"
    os.makedirs(outdir, exist_ok=True)
    p_opt = os.path.join(outdir, f"optim_{VERSION}.safetensors")
    p_st = os.path.join(outdir, f"st_python_{VERSION}.safetensors")
    if os.path.exists(p_opt) and os.path.exists(p_st):
        print(f"ref_optim: {p_opt} and {p_st} exist (version {VERSION}), skipping")
        return
    warnings.simplefilter("ignore")
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    save_safetensors(p_opt, optim_reference(), {"version": VERSION, "torch": torch.__version__, "writer": "tests/ref_optim.py"})

    st = [
        ("a", (np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5 - 1).astype(np.float32)),
        ("b.weight", np.array([1.5, -0.0, 1e-45, -3.4e38], dtype=np.float32)),
        ("scalar", np.array(3.25, dtype=np.float32)),
        ("empty", np.zeros((0, 3), dtype=np.float32)),
        ("h16", np.array([1.0, -2.0], dtype=np.float16)),
        ("ids", np.array([7, 8, 9], dtype=np.int64)),
    ]
    save_safetensors(p_st, st, {"format": "pt", "writer": "tests/ref_optim.py"}, reverse_data=True)
    print(f"ref_optim: wrote {p_opt} and {p_st}")


if __name__ == "__main__":
    main()
