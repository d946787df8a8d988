#!/usr/bin/python3
"""bench_torch.py: the PyTorch side of `make bench` (Debian's python3-torch).

  bench_torch.py weights PATH [MODEL]    write random weights of MODEL (vit_b_32, the default, or
                                         swin_t; torchvision names) once
  bench_torch.py step PATH B THREADS REPS [PREFIX [MODEL]]   rows 2 and 2b: one training step and one
                                         inference forward (keys PREFIX.*, default step.torch; MODEL
                                         vit_b_32, the default, or swin_t)
  bench_torch.py mlp THREADS REPS RANKS      row 3: the wasi op of ARCHITECTURE.md in PyTorch vs nn.Linear

Output: "key value" lines for experiments/bench/run.sh; comments start with '#'.

Weights. No pretrained weights exist offline, so torchvision's vit_b_32 is
built with its own random init (torch.manual_seed(0)) and written as
safetensors with torchvision's names; the C side loads the same file
(core/models/vit.h vit_load). swin_t (row 2b) likewise, torchvision's own init
(seed 0), with the relative_position_index buffers as F32 (the C side
computes them; torch copies them back into its int64 buffers). The
vit_b_32 file's 24 MLP weights (mlp.0, mlp.3) are replaced by
exact rank-245 matrices with the same Frobenius norm, so that wasi at
epsilon 0.99999 keeps K = 245 in row 4 (a pretrained ViT-B/32 at eps 0.8
gives about that rank); speed does not depend on the values.

Row 2 runs the stock torchvision model (row 2b: torchvision's
SwinTransformer with swin_t's arguments and stochastic depth 0, built
directly as tests/reflib.py does, since torchvision 0.14's
swin_t(stochastic_depth_prob=0.0) raises): train() mode, SGD (lr 0.05,
momentum 0, weight decay 1e-4, the paper's), cross-entropy, gradient
clipping at 2.0, as the C step (core/train/train.c). Inference is eval() under
torch.inference_mode().

Row 3 implements the wasi linear op exactly as ARCHITECTURE.md ("Methods") describes it, with
plain torch matmuls (no autograd): forward y = (x R^T) L^T + b; x saved as
a Tucker (core S, factors U1 (B,k1), U2 (N,k2), U3 (I,k3)) from ONE
warm-started subspace-iteration step per mode (V = X_(n)^T U_prev,
U = orth(X_(n) V) by QR); backward dx = (dy L) R, dW = T U3^T with
T = contraction of dy with (S, U1, U2) (dense storage, as the authors'
code), db = sum dy. Vanilla is nn.Linear forward + autograd backward.
"""
import os
import resource
import sys
import time

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
from reflib import SWIN_T, load_safetensors, save_safetensors, swin_transformer  # noqa: E402

MLP_RANK = 245


# --- process facts -----------------------------------------------------------------

def peak_rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def kv(key, value):
    print(f"{key} {value}", flush=True)


# --- weights ---------------------------------------------------------------------------

def build(model):
    """The torchvision model of a bench row, 1000 classes, its own random init."""
    if model == "vit_b_32":
        return torchvision.models.vit_b_32()
    if model == "swin_t":
        return swin_transformer(classes=1000, **SWIN_T)
    raise SystemExit(f"bench_torch.py: unknown model '{model}' (vit_b_32, swin_t)")


def cmd_weights(path, model="vit_b_32"):
    torch.manual_seed(0)
    m = build(model)
    sd = m.state_dict()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if model != "vit_b_32":
        save_safetensors(path, sd, {"format": "pt", "producer": "experiments/bench/bench_torch.py",
                            "note": f"random torchvision {model} init (seed 0), stochastic depth 0"})
        print(f"# wrote {path}: {len(sd)} tensors, {sum(t.numel() for t in sd.values())} floats")
        return
    g = torch.Generator().manual_seed(1)
    for name, t in sd.items():
        if name.endswith("mlp.0.weight") or name.endswith("mlp.3.weight"):
            O, I = t.shape
            U = torch.randn(O, MLP_RANK, generator=g)
            V = torch.randn(MLP_RANK, I, generator=g)
            W = U @ V
            sd[name] = W * (t.norm() / W.norm())
    save_safetensors(path, sd, {"format": "pt", "producer": "experiments/bench/bench_torch.py",
                        "note": f"random torchvision vit_b_32 init (seed 0), MLP weights at exact rank {MLP_RANK}"})
    print(f"# wrote {path}: {len(sd)} tensors, {sum(t.numel() for t in sd.values())} floats")


# --- row 2: one training step and one inference forward -----------------------------------

def cmd_step(path, B, threads, reps, prefix="step.torch", model="vit_b_32"):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    m = build(model)
    m.load_state_dict(load_safetensors(path))
    x = torch.randn(B, 3, 224, 224)
    y = torch.randint(0, 1000, (B,))
    opt = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.0, weight_decay=1e-4)
    lossf = torch.nn.CrossEntropyLoss()
    reset_peak_rss()   # the step's peak, not the load's (the C side does the same)

    def step():
        opt.zero_grad(set_to_none=False)
        loss = lossf(m(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 2.0)
        opt.step()
        return loss

    m.train()
    step()   # warm-up
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        step()
        ts.append(time.perf_counter() - t)
    m.eval()
    ti = []
    with torch.inference_mode():
        m(x)   # warm-up
        for _ in range(reps):
            t = time.perf_counter()
            m(x)
            ti.append(time.perf_counter() - t)
    print(f"# {model}: torch {torch.__version__} torchvision {torchvision.__version__}, {torch.get_num_threads()} threads, "
          f"B={B}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}: train {min(ts):.3f} s "
          f"(median {sorted(ts)[len(ts) // 2]:.3f}), infer {min(ti):.3f} s")
    kv(f"{prefix}.train_s", f"{min(ts):.6f}")
    kv(f"{prefix}.train_median_s", f"{sorted(ts)[len(ts) // 2]:.6f}")
    kv(f"{prefix}.infer_s", f"{min(ti):.6f}")
    kv(f"{prefix}.peak_rss_bytes", peak_rss_bytes())
    kv(f"{prefix}.threads", torch.get_num_threads())


# --- row 3: the wasi op in PyTorch ------------------------------------------------------------

def orth(A):
    return torch.linalg.qr(A, mode="reduced")[0]


class WasiLinear:
    """One wasi linear (dense storage) with fixed activation ranks (k1, k2, k3)."""

    def __init__(self, O, I, k, ranks, B, N, g):
        self.L = orth(torch.randn(O, k, generator=g))
        self.R = torch.randn(k, I, generator=g) * 0.02
        self.b = torch.zeros(O)
        self.W = self.L @ self.R   # the dense master of the authors' code (only updated, never read here)
        self.dW = torch.zeros(O, I)
        self.db = torch.zeros(O)
        k1, k2, k3 = ranks
        self.U = [orth(torch.randn(B, k1, generator=g)), orth(torch.randn(N, k2, generator=g)),
                  orth(torch.randn(I, k3, generator=g))]

    def compress(self, x):
        # one warm-started subspace-iteration step per mode, then the core
        Bb, N, I = x.shape
        x2 = x.reshape(Bb * N, I)
        U1, U2, U3 = self.U
        U1 = orth(x.reshape(Bb, N * I) @ (x.reshape(Bb, N * I).t() @ U1))     # mode 0: X V, V = X^T U
        V2 = torch.matmul(x.transpose(1, 2), U2)                              # (B, I, k2) = X_(1)^T U2
        U2 = orth(torch.matmul(x, V2).sum(0))                                 # (N, k2)
        U3 = orth(x2.t() @ (x2 @ U3))                                         # mode 2 (channels)
        self.U = [U1, U2, U3]
        y3 = (x2 @ U3).reshape(Bb, N, -1)                                     # x x_3 U3^T
        self.S = torch.einsum("bnk,bp,nq->pqk", y3, U1, U2)                   # core (k1, k2, k3)

    def forward(self, x):
        Bb, N, I = x.shape
        y = torch.addmm(self.b, (x.reshape(Bb * N, I) @ self.R.t()), self.L.t())
        self.compress(x)
        self.shape = x.shape
        return y.reshape(Bb, N, -1)

    def backward(self, dy):
        Bb, N, I = self.shape
        O = dy.shape[-1]
        dy2 = dy.reshape(Bb * N, O)
        dx = (dy2 @ self.L) @ self.R
        U1, U2, U3 = self.U
        # Z (k1, k2, O) = dy x_1 U1^T x_2 U2^T, T (O, k3) = Z_(3) S_(3)^T, dW = T U3^T
        Z = (U1.t() @ dy.reshape(Bb, N * O)).reshape(-1, N, O)
        Z = torch.einsum("pno,nq->pqo", Z, U2)
        T = Z.reshape(-1, O).t() @ self.S.reshape(-1, self.S.shape[-1])
        self.dW.addmm_(T, U3.t())
        self.db += dy2.sum(0)
        return dx.reshape(Bb, N, I)


def cmd_mlp(threads, reps, ranks):
    torch.set_num_threads(threads)
    B, N, C, M = 128, 50, 768, 3072
    g = torch.Generator().manual_seed(1)
    x1, x2 = torch.randn(B, N, C, generator=g), torch.randn(B, N, M, generator=g)
    dy1, dy2 = torch.randn(B, N, M, generator=g) * 1e-3, torch.randn(B, N, C, generator=g) * 1e-3
    shapes = [(M, C) if l % 2 == 0 else (C, M) for l in range(24)]   # (O, I): fc1, fc2, ...
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads, B={B} N={N}, 24 MLP linears, best of {reps}")

    def timed(fwd_bwd):
        best = 1e30
        for rep in range(reps + 1):   # rep 0 warms up
            t = time.perf_counter()
            fwd_bwd()
            e = time.perf_counter() - t
            if rep > 0:
                best = min(best, e)
        return best

    # vanilla: nn.Linear, autograd
    lins = [torch.nn.Linear(I, O) for (O, I) in shapes]
    xs = [(x1 if l % 2 == 0 else x2).clone().requires_grad_(True) for l in range(24)]

    def vanilla():
        for lin in lins:
            lin.zero_grad(set_to_none=False)
        ys = [lins[l](xs[l]) for l in range(24)]
        for l in reversed(range(24)):
            ys[l].backward(dy1 if l % 2 == 0 else dy2)

    t = timed(vanilla)
    print(f"# vanilla fwd+bwd {t:.3f} s")
    kv("mlp.torch.vanilla.seconds", f"{t:.6f}")
    del lins, xs

    for k in ranks:
        layers = [WasiLinear(O, I, k, (8, 8, 32), B, N, g) for (O, I) in shapes]

        def wasi():
            for L in layers:
                L.dW.zero_()
                L.db.zero_()
            for l in range(24):
                layers[l].forward(x1 if l % 2 == 0 else x2)
            for l in reversed(range(24)):
                layers[l].backward(dy1 if l % 2 == 0 else dy2)

        t = timed(wasi)
        print(f"# wasi dense k={k} fwd+bwd {t:.3f} s")
        kv(f"mlp.torch.dense.k{k}.seconds", f"{t:.6f}")
        del layers


def main(argv):
    if len(argv) >= 3 and argv[1] == "weights":
        cmd_weights(argv[2], *argv[3:4])
    elif len(argv) >= 6 and argv[1] == "step":
        cmd_step(argv[2], int(argv[3]), int(argv[4]), int(argv[5]), *argv[6:8])
    elif len(argv) >= 5 and argv[1] == "mlp":
        cmd_mlp(int(argv[2]), int(argv[3]), [int(k) for k in argv[4].split(",")])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
