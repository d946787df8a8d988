"""ref_lora.py OUTDIR: PyTorch reference for the LoRA method (test_methods.c).

A micro torchvision VisionTransformer with seeded random weights whose MLP
linears (mlp.0, mlp.3 of every block) are wrapped in LoRA:
    y = x W^T + b + (alpha / r) (x A^T) B^T,  W, b frozen,
A (r, I) and B (O, r) drawn here (B NOT zero, so every adapter gradient is
non-zero), every other parameter trained with plain gradients (the
harness's `num_of_finetune: all`). Writes
  lora_weights.safetensors  the base model, torchvision names
  lora_ref.safetensors      input, labels, loss, lora.<layer>.A / .B,
                            grad.<layer>.lora_A / .lora_B, grad.<name> for
                            every other trainable parameter, and the losses
                            of 3 SGD steps (momentum 0.9, lr 0.01) on the batch.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reflib import save_safetensors, up_to_date, vit_model  # noqa: E402

VERSION = "ref_lora v1"
# must match lora_cfg() in test_methods.c
IMAGE, PATCH, LAYERS, HEADS, HIDDEN, MLP, CLASSES, BATCH = 32, 8, 2, 4, 64, 128, 10, 3
RANK, ALPHA = 4, 8.0
SGD = dict(lr=0.01, momentum=0.9)


class LoRALinear(nn.Module):
    def __init__(self, base, r, alpha, A, B):
        super().__init__()
        self.base = base
        base.weight.requires_grad_(False)
        base.bias.requires_grad_(False)
        self.lora_A = nn.Parameter(A.clone())
        self.lora_B = nn.Parameter(B.clone())
        self.s = alpha / r

    def forward(self, x):
        return self.base(x) + self.s * (x @ self.lora_A.t()) @ self.lora_B.t()


def build(seed):
    return vit_model(IMAGE, PATCH, LAYERS, HEADS, HIDDEN, MLP, CLASSES, seed)


def adapters(seed):
    """(layer name, A, B) for every MLP linear, in forward order."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for l in range(LAYERS):
        for idx, (I, O) in ((0, (HIDDEN, MLP)), (3, (MLP, HIDDEN))):
            A = torch.randn(RANK, I, generator=g) / RANK ** 0.5
            B = 0.05 * torch.randn(O, RANK, generator=g)
            out.append((f"encoder.layers.encoder_layer_{l}.mlp.{idx}", A, B))
    return out


def wrap(m, ad):
    for name, A, B in ad:
        l, idx = int(name.split("encoder_layer_")[1].split(".")[0]), int(name[-1])
        mlp = m.encoder.layers[l].mlp
        mlp[idx] = LoRALinear(mlp[idx], RANK, ALPHA, A, B)
    return m


def main(out):
    torch.set_num_threads(2)
    wpath = os.path.join(out, "lora_weights.safetensors")
    rpath = os.path.join(out, "lora_ref.safetensors")
    if up_to_date([wpath, rpath], VERSION):
        return
    seed = 4321
    base = build(seed)
    state = {k: v.clone() for k, v in base.state_dict().items()}
    ad = adapters(77)
    m = wrap(base, ad)
    g = torch.Generator().manual_seed(5)
    x = torch.randn(BATCH, 3, IMAGE, IMAGE, generator=g)
    y = torch.randint(0, CLASSES, (BATCH,), generator=g)
    loss = F.cross_entropy(m(x), y)
    loss.backward()
    ref = {"input": x, "labels": y.float(), "loss": loss.reshape(1)}
    for name, A, B in ad:
        ref[f"lora.{name}.A"] = A
        ref[f"lora.{name}.B"] = B
    for pname, p in m.named_parameters():
        if not p.requires_grad:
            continue
        key = pname.replace(".lora_A", ".lora_A").replace(".lora_B", ".lora_B")
        ref["grad." + key] = p.grad
    # 3 SGD steps from the same start
    m = wrap(build(seed), adapters(77))
    opt = torch.optim.SGD([p for p in m.parameters() if p.requires_grad], **SGD)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        lo = F.cross_entropy(m(x), y)
        losses.append(lo.item())
        lo.backward()
        opt.step()
    ref["sgd_losses"] = torch.tensor(losses)
    meta = {"version": VERSION, "torch": torch.__version__, "rank": RANK, "alpha": ALPHA, "sgd": str(SGD)}
    save_safetensors(wpath, state, meta)
    save_safetensors(rpath, ref, meta)
    print(f"lora: loss {loss.item():.6f}, sgd {losses}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/ref")
