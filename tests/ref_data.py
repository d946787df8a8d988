#!/usr/bin/env python3
"""ref_data.py OUTDIR: torchvision reference for the data preprocessing
(tests/test_image.c). Writes two deterministic images (data_rgb.png 37x53 RGB,
data_gray.png 28x28 gray), a JPEG of the RGB one (data_rgb.jpg, PIL), and
data_ref.safetensors with their pixels, PIL's decoding of the JPEG, and the
outputs of torchvision's tensor transforms (Resize antialias=False,
CenterCrop, resized_crop, hflip, Grayscale, Normalize) on them, plus
F.interpolate on random floats and RandomResizedCrop.get_params statistics.
The case list here and in tests/test_image.c must agree. Skips the work when
the outputs carry the same VERSION."""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms as T
import torchvision.transforms.functional as TF
from PIL import Image

VERSION = "data-v1"
IMNET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
HALF = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


def write_safetensors(path, tensors, meta):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = meta
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)


def have_version(path):
    try:
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            return json.loads(f.read(n))["__metadata__"]["version"] == VERSION
    except Exception:
        return False


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/data/ref"
    os.makedirs(out, exist_ok=True)
    st = os.path.join(out, "data_ref.safetensors")
    if have_version(st):
        print("ref_data: %s is up to date (%s)" % (st, VERSION))
        return
    torch.manual_seed(233)
    g = np.random.default_rng(233)

    # Images with structure (gradients, a square, a diagonal) and noise, so
    # interpolation errors and off-by-one offsets show.
    H, W = 37, 53
    yy, xx = np.mgrid[0:H, 0:W]
    rgb = np.stack([xx * 255.0 / (W - 1), yy * 255.0 / (H - 1), ((xx + yy) % 17) * 15.0], -1)
    rgb[8:20, 10:30] = (250, 20, 120)
    rgb += g.integers(-20, 21, rgb.shape)
    rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    gy, gx = np.mgrid[0:28, 0:28]
    gray = np.clip(((gx * 9 + gy * 5) % 256) + g.integers(-30, 31, (28, 28)), 0, 255).astype(np.uint8)
    Image.fromarray(rgb, "RGB").save(os.path.join(out, "data_rgb.png"))
    Image.fromarray(gray, "L").save(os.path.join(out, "data_gray.png"))
    Image.fromarray(rgb, "RGB").save(os.path.join(out, "data_rgb.jpg"), quality=90)
    Image.fromarray(gray, "L").save(os.path.join(out, "data_gray.jpg"), quality=90)
    jpg_rgb = np.asarray(Image.open(os.path.join(out, "data_rgb.jpg")).convert("RGB"))
    jpg_gray = np.asarray(Image.open(os.path.join(out, "data_gray.jpg")))

    t = {"rgb_u8": rgb.astype(np.float32), "gray_u8": gray.astype(np.float32),
         "jpeg_rgb_pil": jpg_rgb.astype(np.float32), "jpeg_gray_pil": jpg_gray.astype(np.float32)}

    x = torch.from_numpy(rgb).permute(2, 0, 1).float() / 255   # ToTensor
    xg = torch.from_numpy(gray)[None].float() / 255

    def norm(v, mv):
        return TF.normalize(v, list(mv[0][:v.shape[0]]), list(mv[1][:v.shape[0]]))

    def resize(v, size):
        return TF.resize(v, size, interpolation=T.InterpolationMode.BILINEAR, antialias=False)

    # Plain F.interpolate on random floats: (OH, OW) cases.
    inp = torch.rand(3, H, W)
    t["interp_in"] = inp.numpy()
    for oh, ow in [(32, 32), (224, 224), (17, 11), (53, 37), (37, 53), (100, 7)]:
        t["interp_%dx%d" % (oh, ow)] = F.interpolate(inp[None], size=(oh, ow), mode="bilinear", align_corners=False)[0].numpy()

    # Pipelines on the RGB image.
    t["squash32_imagenet"] = norm(resize(x, [32, 32]), IMNET).numpy()
    t["squash224_half"] = norm(resize(x, [224, 224]), HALF).numpy()
    t["squash20_half"] = norm(resize(x, [20, 20]), HALF).numpy()
    for R, S in [(32, 32), (40, 32), (256, 224), (33, 24)]:
        t["short%d_crop%d_imagenet" % (R, S)] = norm(TF.center_crop(resize(x, R), [S, S]), IMNET).numpy()
    for k, (i, j, h, w, S) in enumerate([(3, 5, 20, 30, 32), (0, 0, 37, 53, 24), (10, 7, 9, 13, 64), (30, 40, 7, 13, 16)]):
        t["rrc%d_half" % k] = norm(TF.resized_crop(x, i, j, h, w, [S, S], interpolation=T.InterpolationMode.BILINEAR,
                                                   antialias=False), HALF).numpy()
    t["squash32_flip_imagenet"] = norm(TF.hflip(resize(x, [32, 32])), IMNET).numpy()
    t["rgb2gray_squash32_half"] = norm(resize(TF.rgb_to_grayscale(x), [32, 32]), HALF).numpy()
    # Fashion-MNIST path: 28x28 gray, replicated to 3 channels, upsampled.
    fm = ((0.2860,) * 3, (0.3530,) * 3)
    for S in (32, 224):
        t["gray3_squash%d_fm" % S] = norm(resize(xg.repeat(3, 1, 1), [S, S]), fm).numpy()
    t["gray1_squash32_fm"] = norm(resize(xg, [32, 32]), fm).numpy()

    # RandomResizedCrop.get_params statistics: mean and std of (i, j, h, w).
    stats = []
    for (h_, w_) in [(37, 53), (300, 40), (224, 224)]:
        img = torch.zeros(1, h_, w_)
        p = np.array([T.RandomResizedCrop.get_params(img, [0.08, 1.0], [3 / 4, 4 / 3]) for _ in range(20000)], dtype=np.float64)
        stats.append(np.concatenate([p.mean(0), p.std(0)]))
    t["rrc_stats"] = np.array(stats, dtype=np.float32)

    write_safetensors(st, t, {"version": VERSION, "torch": torch.__version__})
    print("ref_data: wrote %s (%d tensors)" % (st, len(t)))


if __name__ == "__main__":
    main()
