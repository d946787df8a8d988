"""reflib.py: shared helpers of the PyTorch reference scripts (tests/ref_*.py)
and of experiments/bench/bench_torch.py: a tiny safetensors writer/reader
(the format the C side reads), the version-tag check that lets
make_reference.sh skip work already done, and torchvision's Swin built
directly (torchvision 0.14's swin_t(stochastic_depth_prob=0.0) raises)."""
import json
import os
import struct

import torch


def save_safetensors(path, tensors, metadata=None):
    """tensors: dict name -> torch tensor (saved as float32, little-endian)."""
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        a = t.detach().to(torch.float32).contiguous().cpu().numpy().astype('<f4')
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_metadata(path):
    try:
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            return json.loads(f.read(n)).get("__metadata__", {})
    except (OSError, ValueError, struct.error):
        return None


def up_to_date(paths, version):
    """True when every file exists and carries this version tag."""
    for p in paths:
        md = read_metadata(p)
        if md is None or md.get("version") != version:
            return False
    return True


# torchvision's swin_t arguments (models/swin_transformer.py), as core/swin.c's "swin_t" preset.
SWIN_T = dict(patch=4, embed=96, depths=[2, 2, 6, 2], heads=[3, 6, 12, 24], window=7)


def swin_transformer(patch, embed, depths, heads, window, classes, stochastic_depth=0.0):
    """torchvision's SwinTransformer with square patch and window (v1 blocks,
    torchvision's init). Stochastic depth 0 by default: training parity with
    the C side, where torchvision's swin_t draws 0.2."""
    from torchvision.models.swin_transformer import SwinTransformer
    return SwinTransformer(patch_size=[patch, patch], embed_dim=embed, depths=depths, num_heads=heads,
                           window_size=[window, window], stochastic_depth_prob=stochastic_depth, num_classes=classes)
