"""ref_swin.py OUTDIR: PyTorch reference for the Swin model tests (test_swin.c).

For each config (two small Swins and torchvision's swin_t itself) builds
torchvision's SwinTransformer with seeded random weights and stochastic depth
0 (training parity: torchvision's swin_t draws 0.2), then writes
  swin_<cfg>_weights.safetensors   the state_dict (torchvision names; the
                                   relative_position_index buffers as float)
  swin_<cfg>_ref.safetensors       input, labels, logits, loss, grad.<name>
                                   for every parameter, the losses of 5 SGD
                                   steps (momentum 0.9, wd 1e-4, grad-clip
                                   2.0) and, for the small configs, of 5
                                   AdamW steps (wd 0.05), all on one batch.
The "odd" config has feature maps that are not multiples of the window
(18, 9, 5, 3 with window 4) and odd sizes before patch merging, so the
padding paths, the shifted-window mask on padded maps and a window larger
than the map (shift dropped) are all exercised.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reflib import redraw_parameters, swin_transformer, write_model_reference  # noqa: E402

VERSION = "ref_swin v1"
CONFIGS = {
    # name: (image, patch, embed, depths, heads, window, classes, batch, adamw)
    "micro": (32, 2, 32, [2, 2, 2], [2, 4, 8], 4, 10, 3, True),
    "odd": (36, 2, 16, [2, 2, 2, 2], [1, 2, 2, 4], 4, 7, 2, True),
    "t": (224, 4, 96, [2, 2, 6, 2], [3, 6, 12, 24], 7, 1000, 2, False),
}
SGD = dict(lr=0.01, momentum=0.9, weight_decay=1e-4)
CLIP = 2.0
ADAMW = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05)


def build(cfg, seed):
    image, patch, embed, depths, heads, window, classes = cfg[:7]
    torch.manual_seed(seed)
    m = swin_transformer(patch, embed, depths, heads, window, classes)
    # Re-draw every parameter so no gradient is trivially zero (torchvision
    # zero-initialises biases); weights scaled by 1/sqrt(fan-in) so the
    # activations keep their scale through the 12 blocks of swin_t.
    def draw(name, p):
        if "relative_position_bias_table" in name:
            return 0.5 * torch.randn_like(p)
        return torch.randn_like(p) / p[0].numel() ** 0.5

    redraw_parameters(m, "norm", draw)
    return m


def main(out):
    torch.set_num_threads(2)
    for name, cfg in CONFIGS.items():
        image, classes, batch, adamw = cfg[0], cfg[6], cfg[7], cfg[8]
        done = write_model_reference(os.path.join(out, f"swin_{name}_weights.safetensors"),
                                     os.path.join(out, f"swin_{name}_ref.safetensors"), VERSION, name,
                                     lambda: build(cfg, 4321), image, classes, batch, 77, SGD, ADAMW, CLIP,
                                     with_adamw=adamw)
        if done:
            loss, logits, ref = done
            print(f"swin {name}: loss {loss.item():.6f}, |logits| max {logits.abs().max().item():.3f}, "
                  f"sgd {ref['sgd_losses'].tolist()}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/ref")
