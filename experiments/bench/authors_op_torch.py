#!/usr/bin/env python3
# authors_op_torch.py: what fraction of the authors' on-device WASI op's
# elapsed time its own time.time() sums cover (experiments/paper/README.md,
# "The authors' on-device op", item 3). Runs their op
# (on_device_latency/custom_op/linear/linear_WASI.py of a checkout of
# Le-TrungNguyen/ICLR2026-WASI) unmodified on a synthetic layer like
# experiments/bench/authors_op.c: W (3072, 768) with a power-law spectrum
# (k = 115 at epsilon 0.9), x ~ N(0, 1) of (8, 50, 768), activation ranks
# 4, 8, 32. Steps 2..: their op reads self.previous_p, which nothing sets;
# we set it to the current L before each forward (what the code means), so
# steps after the first can be timed. Wall time of forward + backward of
# each step (no optimizer, as in their sums) against their sums.
#   python3 experiments/bench/authors_op_torch.py PATH/TO/ICLR2026-WASI [threads=1] [steps=6]
import sys, time
import torch

repo = sys.argv[1]
torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 6
sys.path.insert(0, repo + "/on_device_latency")
from custom_op.linear.linear_WASI import wrap_linearWASI  # noqa: E402

torch.manual_seed(233)
O, I, B, N = 3072, 768, 8, 50
U, _ = torch.linalg.qr(torch.randn(O, I))
V, _ = torch.linalg.qr(torch.randn(I, I))
W = (U * torch.arange(1, I + 1, dtype=torch.float32).pow(-0.65)) @ V.t()
W *= 0.03 / W.pow(2).mean().sqrt()
lin = torch.nn.Linear(I, O)
with torch.no_grad():
    lin.weight.copy_(W)
    lin.bias.copy_(0.03 * torch.randn(O))
t = dict(backward_time=[], forward_time=[], inference_time=[], output_calculation_time=[], orthogonalization_time=[],
         matmuls_time=[])
m = wrap_linearWASI(lin, [4, 8, 32], 0.9, t["backward_time"], t["forward_time"], t["inference_time"], None,
                    output_calculation_time=t["output_calculation_time"],
                    orthogonalization_time=t["orthogonalization_time"], matmuls_time=t["matmuls_time"])
x = torch.randn(B, N, I, requires_grad=True)
dy = 0.01 * torch.randn(B, N, O)
walls, sums, parts = [], [], []
for s in range(steps):
    if s > 0:
        m.previous_p = m.L.data
    nf, nb = len(t["forward_time"]), len(t["backward_time"])
    t0 = time.perf_counter()
    y = m(x)
    y.backward(dy)
    wall = time.perf_counter() - t0
    timed = sum(t["forward_time"][nf:]) + sum(t["backward_time"][nb:])
    if s == 0:   # the SVD is left out of their sums on purpose: time it alone and take it off the wall
        t1 = time.perf_counter()
        torch.linalg.svd(m.weight.detach().clone(), full_matrices=False)
        svd = time.perf_counter() - t1
        print(f"step 1 (SVD, extra subspace step, forward, backward): k = {m.weight_rank}, wall {1e3 * wall:.1f} ms "
              f"of which the SVD alone {1e3 * svd:.1f} ms; their sums {1e3 * timed:.1f} ms: left out "
              f"{100 * (1 - timed / (wall - svd)):.0f}% of the wall time besides the SVD")
        continue
    walls.append(wall); sums.append(timed)
    parts.append((t["output_calculation_time"][-1], t["matmuls_time"][-1], t["orthogonalization_time"][-1],
                  t["backward_time"][-1]))
    x.grad = None
    m.weight.grad = None
    m.bias.grad = None
n = len(walls)
w, sm = sum(walls) / n, sum(sums) / n
o, mm, q, b = (sum(p[i] for p in parts) / n for i in range(4))
print(f"steps 2..{steps}, threads {torch.get_num_threads()}, mean per step: wall {1e3 * w:.1f} ms; their sums "
      f"{1e3 * sm:.1f} ms (output {1e3 * o:.1f}, matmuls {1e3 * mm:.1f}, QRs {1e3 * q:.1f}, backward {1e3 * b:.1f}); "
      f"left out {100 * (1 - sm / w):.0f}% of the wall time")
