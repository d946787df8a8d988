#!/usr/bin/env python3
"""Turn torchvision weights into a safetensors file wasibench loads.

    python3 experiments/torchvision_to_safetensors.py vit_b_32 weights/vit_b_32.safetensors
    python3 experiments/torchvision_to_safetensors.py vit_b_32 out.safetensors --pth vit_b_32-d86f8d99.pth
    python3 experiments/torchvision_to_safetensors.py swin_t out.safetensors --pth swin_t-704ceda3.pth

Without --pth, torchvision downloads its ImageNet weights (needs network:
run it on a machine that has it, then copy the file). The output keeps
torchvision's parameter names (float32, little-endian); buffers such as
Swin's relative_position_index are left out (wasibench computes them).
Needs only torch and torchvision (Debian: python3-torch, python3-torchvision).
"""
import argparse
import os

import torch
import torchvision

from safetensors_io import save_safetensors


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="torchvision model name, e.g. vit_b_32, vit_b_16, swin_t")
    ap.add_argument("out", help="output .safetensors path")
    ap.add_argument("--pth", help="a torchvision .pth state dict already on disk (no download)")
    args = ap.parse_args()
    builder = getattr(torchvision.models, args.model)
    if args.pth:
        model = builder()
        model.load_state_dict(torch.load(args.pth, map_location="cpu"))
        source = os.path.basename(args.pth)
    else:
        model = builder(weights="DEFAULT")
        source = "torchvision DEFAULT weights"
    params = dict(model.named_parameters())
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    save_safetensors(args.out, params, {"format": "pt", "model": args.model, "source": source,
                                        "torchvision": torchvision.__version__})
    n = sum(p.numel() for p in params.values())
    print(f"{args.out}: {len(params)} tensors, {n / 1e6:.1f} M parameters from {source}")


if __name__ == "__main__":
    main()
