"""safetensors_io.py: the safetensors format (F32 only) in Python, for the
scripts around wasibench: experiments/torchvision_to_safetensors.py (user
weights), experiments/bench/bench_torch.py (the bench's shared weights) and
tests/reflib.py (PyTorch reference tensors). The C reader is core/io/safetensors.c.

Layout: 8-byte little-endian header length, a JSON header
{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}
padded with spaces to 8 bytes, then the raw little-endian data."""
import json
import os
import struct

import numpy as np
import torch


def save_safetensors(path, tensors, metadata=None):
    """tensors: dict name -> torch tensor, written as float32; metadata values
    become strings. Written to path.tmp and renamed: never a half file."""
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        a = t.detach().to(torch.float32).contiguous().cpu().numpy().astype("<f4")
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


def load_safetensors(path):
    """dict name -> float32 torch tensor (F32 files only, as written above)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if e["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {e['dtype']}, expected F32")
        b, en = e["data_offsets"]
        a = np.frombuffer(data, dtype="<f4", count=(en - b) // 4, offset=b).copy()
        out[name] = torch.from_numpy(a).reshape(e["shape"])
    return out


def read_metadata(path):
    """The __metadata__ mapping, or None when the file is missing or unreadable."""
    try:
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            return json.loads(f.read(n)).get("__metadata__", {})
    except (OSError, ValueError, struct.error):
        return None
