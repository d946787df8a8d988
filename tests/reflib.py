"""reflib.py: shared helpers of the PyTorch reference scripts (tests/ref_*.py)
and of experiments/bench/bench_torch.py: the safetensors writer/reader
(experiments/safetensors_io.py, re-exported), the version-tag check that lets
make_reference.sh skip work already done, the parameter re-draw, the
5-step optimizer trajectory and the whole weights + gradients reference
file the model references share, torchvision's micro ViT as ref_vit.py and
ref_lora.py draw it, and torchvision's Swin built directly (torchvision
0.14's swin_t(stochastic_depth_prob=0.0) raises)."""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "experiments"))
from safetensors_io import load_safetensors, read_metadata, save_safetensors  # noqa: E402,F401


def up_to_date(paths, version):
    """True when every file exists and carries this version tag."""
    for p in paths:
        md = read_metadata(p)
        if md is None or md.get("version") != version:
            return False
    return True


def vit_model(image, patch, layers, heads, hidden, mlp, classes, seed):
    """torchvision's VisionTransformer seeded with `seed`, every parameter
    re-drawn (weights 0.05 N): the model of ref_vit.py and ref_lora.py."""
    from torchvision.models.vision_transformer import VisionTransformer
    torch.manual_seed(seed)
    m = VisionTransformer(image_size=image, patch_size=patch, num_layers=layers, num_heads=heads,
                          hidden_dim=hidden, mlp_dim=mlp, num_classes=classes)
    redraw_parameters(m, "ln", lambda name, p: 0.05 * torch.randn_like(p))
    return m


# torchvision's swin_t arguments (models/swin_transformer.py), as core/models/swin.c's "swin_t" preset.
SWIN_T = dict(patch=4, embed=96, depths=[2, 2, 6, 2], heads=[3, 6, 12, 24], window=7)


def swin_transformer(patch, embed, depths, heads, window, classes, stochastic_depth=0.0):
    """torchvision's SwinTransformer with square patch and window (v1 blocks,
    torchvision's init). Stochastic depth 0 by default: training parity with
    the C side, where torchvision's swin_t draws 0.2."""
    from torchvision.models.swin_transformer import SwinTransformer
    return SwinTransformer(patch_size=[patch, patch], embed_dim=embed, depths=depths, num_heads=heads,
                           window_size=[window, window], stochastic_depth_prob=stochastic_depth, num_classes=classes)


def redraw_parameters(m, norm_marker, draw_weight):
    """Re-draw every parameter so no gradient is trivially zero (torchvision
    zero-initialises the head and several biases): norm weights 1 + 0.1 N,
    biases 0.02 N, everything else draw_weight(name, p). Names containing
    norm_marker ("ln" for ViT, "norm" for Swin) are the norms."""
    with torch.no_grad():
        for name, p in m.named_parameters():
            if norm_marker in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.02 * torch.randn_like(p))
            else:
                p.copy_(draw_weight(name, p))


def trajectory(m, x, y, opt_name, sgd, adamw, clip, steps=5):
    """Losses of `steps` optimizer steps on one batch: SGD(**sgd) with the
    gradient norm clipped to clip, or AdamW(**adamw) without clipping."""
    if opt_name == "sgd":
        opt = torch.optim.SGD(m.parameters(), **sgd)
    else:
        opt = torch.optim.AdamW(m.parameters(), **adamw)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(m(x), y)
        losses.append(loss.item())
        loss.backward()
        if opt_name == "sgd":
            torch.nn.utils.clip_grad_norm_(m.parameters(), clip)
        opt.step()
    return torch.tensor(losses)


def write_model_reference(wpath, rpath, version, name, build, image, classes, batch, data_seed,
                          sgd, adamw, clip, with_adamw=True, make_batch=None, extra_weights=None):
    """The reference pair a model test reads (test_vit.c, test_swin.c): wpath
    holds build()'s state_dict, rpath one batch (input, labels from a
    generator seeded with data_seed), its logits and loss, grad.<name> of
    every parameter, and the losses of 5 SGD steps (gradient norm clipped to
    clip) and, with with_adamw, of 5 AdamW steps, each from a fresh build().
    make_batch(generator) -> (x, y) replaces the image batch (token ids for
    ref_llama.py); extra_weights are written beside the state_dict (tensors
    the C model must ignore). Skipped (returns None) when both files carry
    `version`; else returns (loss, logits, ref) for the caller's report line."""
    if up_to_date([wpath, rpath], version):
        return None
    m = build()
    g = torch.Generator().manual_seed(data_seed)
    if make_batch is None:
        x = torch.randn(batch, 3, image, image, generator=g)
        y = torch.randint(0, classes, (batch,), generator=g)
    else:
        x, y = make_batch(g)
    logits = m(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    ref = {"input": x.float(), "labels": y.float(), "logits": logits, "loss": loss.reshape(1)}
    for pname, p in m.named_parameters():
        ref["grad." + pname] = p.grad
    ref["sgd_losses"] = trajectory(build(), x, y, "sgd", sgd, adamw, clip)
    if with_adamw:
        ref["adamw_losses"] = trajectory(build(), x, y, "adamw", sgd, adamw, clip)
    meta = {"version": version, "torch": torch.__version__, "config": name,
            "sgd": str(sgd), "clip": clip, "adamw": str(adamw)}
    save_safetensors(wpath, dict(m.state_dict(), **(extra_weights or {})), meta)
    save_safetensors(rpath, ref, meta)
    return loss, logits, ref
