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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reflib import vit_model, write_model_reference  # noqa: E402

VERSION = "ref_vit v2"
CONFIGS = {
    # name: (image, patch, layers, heads, hidden, mlp, classes, batch)
    "micro": (32, 8, 3, 4, 64, 128, 10, 4),
    "b32": (224, 32, 12, 12, 768, 3072, 1000, 2),
}
SGD = dict(lr=0.01, momentum=0.9, weight_decay=1e-4)
CLIP = 2.0
ADAMW = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05)


def main(out):
    torch.set_num_threads(2)
    for name, cfg in CONFIGS.items():
        image, patch, layers, heads, hidden, mlp, classes, batch = cfg
        done = write_model_reference(os.path.join(out, f"vit_{name}_weights.safetensors"),
                                     os.path.join(out, f"vit_{name}_ref.safetensors"), VERSION, name,
                                     lambda: vit_model(image, patch, layers, heads, hidden, mlp, classes, 1234),
                                     image, classes, batch, 99, SGD, ADAMW, CLIP)
        if done:
            loss, _, ref = done
            print(f"{name}: loss {loss.item():.6f}, sgd {ref['sgd_losses'].tolist()}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/ref")
