"""reflib.py: shared helpers of the PyTorch reference scripts (tests/ref_*.py):
a tiny safetensors writer/reader (the format the C side reads) and the
version-tag check that lets make_reference.sh skip work already done."""
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
