"""ref_vit.py OUTDIR: PyTorch reference for the ViT model tests (test_vit.c).

For each config (a micro ViT and torchvision's vit_b_32 itself) builds
torchvision's VisionTransformer with seeded random weights, then writes
  vit_<cfg>_weights.safetensors   every parameter, torchvision names
  vit_<cfg>_ref.safetensors       input, labels, logits, loss, grad.<name>
                                  for every parameter, and the losses of
                                  5 SGD steps (momentum 0.9, wd 1e-4,
                                  grad-clip 2.0) and 5 AdamW steps (wd 0.05)
                                  on the same batch.
"""
import os
import sys

import torch
import torch.nn.functional as F
from torchvision.models.vision_transformer import VisionTransformer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reflib import redraw_parameters, save_safetensors, trajectory, up_to_date  # noqa: E402

VERSION = "ref_vit v2"
CONFIGS = {
    # name: (image, patch, layers, heads, hidden, mlp, classes, batch)
    "micro": (32, 8, 3, 4, 64, 128, 10, 4),
    "b32": (224, 32, 12, 12, 768, 3072, 1000, 2),
}
SGD = dict(lr=0.01, momentum=0.9, weight_decay=1e-4)
CLIP = 2.0
ADAMW = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05)


def build(cfg, seed):
    image, patch, layers, heads, hidden, mlp, classes, _ = cfg
    torch.manual_seed(seed)
    m = VisionTransformer(image_size=image, patch_size=patch, num_layers=layers, num_heads=heads,
                          hidden_dim=hidden, mlp_dim=mlp, num_classes=classes)
    redraw_parameters(m, "ln", lambda name, p: 0.05 * torch.randn_like(p))
    return m


def main(out):
    torch.set_num_threads(2)
    for name, cfg in CONFIGS.items():
        wpath = os.path.join(out, f"vit_{name}_weights.safetensors")
        rpath = os.path.join(out, f"vit_{name}_ref.safetensors")
        if up_to_date([wpath, rpath], VERSION):
            continue
        image, classes, batch = cfg[0], cfg[6], cfg[7]
        seed = 1234
        m = build(cfg, seed)
        g = torch.Generator().manual_seed(99)
        x = torch.randn(batch, 3, image, image, generator=g)
        y = torch.randint(0, classes, (batch,), generator=g)
        logits = m(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        ref = {"input": x, "labels": y.float(), "logits": logits, "loss": loss.reshape(1)}
        for pname, p in m.named_parameters():
            ref["grad." + pname] = p.grad
        ref["sgd_losses"] = trajectory(build(cfg, seed), x, y, "sgd", SGD, ADAMW, CLIP)
        ref["adamw_losses"] = trajectory(build(cfg, seed), x, y, "adamw", SGD, ADAMW, CLIP)
        meta = {"version": VERSION, "torch": torch.__version__, "config": name,
                "sgd": str(SGD), "clip": CLIP, "adamw": str(ADAMW)}
        save_safetensors(wpath, dict(m.state_dict()), meta)
        save_safetensors(rpath, ref, meta)
        print(f"{name}: loss {loss.item():.6f}, sgd {ref['sgd_losses'].tolist()}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/ref")
