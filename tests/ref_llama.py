"""ref_llama.py OUTDIR: PyTorch reference for the Llama decoder (test_llama.c).

Debian has torch but not transformers, so the model is written here from
Hugging Face's LlamaForSequenceClassification equations (modeling_llama.py):
LlamaRMSNorm in float32, rotary embedding with rotate_half and
inv_freq = 1/theta^(2i/hd), repeat_kv grouped-query attention with a causal
and a key-padding mask (additive min-float, as HF's eager path), SwiGLU MLP,
final norm, score (no bias) read at the last non-padding token. Parameter
names are HF's. A tiny config with GQA and a padded batch; writes
  llama_tiny_weights.safetensors  every parameter (+ an lm_head.weight the
                                  classifier must ignore)
  llama_tiny_ref.safetensors      input (token ids as floats), labels,
                                  logits, loss, grad.<name> of every parameter
"""
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reflib import redraw_parameters, write_model_reference  # noqa: E402

VERSION = "ref_llama v1"
# must match tiny_cfg() in test_llama.c
CFG = dict(vocab=64, dim=32, hidden=48, layers=3, heads=4, kv_heads=2, eps=1e-5, theta=10000.0,
           seq=12, pad=2, classes=3, batch=3)
LENGTHS = [12, 7, 3]
SGD = dict(lr=0.01, momentum=0.9, weight_decay=1e-4)
CLIP = 2.0
ADAMW = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        var = x.float().pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.nh, self.nkv, self.hd = c["heads"], c["kv_heads"], c["dim"] // c["heads"]
        self.q_proj = nn.Linear(c["dim"], self.nh * self.hd, bias=False)
        self.k_proj = nn.Linear(c["dim"], self.nkv * self.hd, bias=False)
        self.v_proj = nn.Linear(c["dim"], self.nkv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.nh * self.hd, c["dim"], bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.nh, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.nh // self.nkv   # repeat_kv
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        s = q @ k.transpose(2, 3) / math.sqrt(self.hd) + mask
        p = F.softmax(s, dim=-1, dtype=torch.float32)
        return self.o_proj((p @ v).transpose(1, 2).reshape(B, T, -1))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gate_proj = nn.Linear(c["dim"], c["hidden"], bias=False)
        self.up_proj = nn.Linear(c["dim"], c["hidden"], bias=False)
        self.down_proj = nn.Linear(c["hidden"], c["dim"], bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c["dim"], c["eps"])
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c["dim"], c["eps"])
        self.mlp = MLP(c)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Decoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab"], c["dim"])
        self.layers = nn.ModuleList([Layer(c) for _ in range(c["layers"])])
        self.norm = RMSNorm(c["dim"], c["eps"])


class LlamaForSequenceClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.model = Decoder(c)
        self.score = nn.Linear(c["dim"], c["classes"], bias=False)

    def forward(self, ids):
        c, (B, T) = self.c, ids.shape
        # length = index of the first pad (T if none), as llama.h defines it
        is_pad = ids == c["pad"]
        lens = torch.where(is_pad.any(1), is_pad.int().argmax(1), torch.full((B,), T))
        hd = c["dim"] // c["heads"]
        inv_freq = 1.0 / (c["theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
        freqs = torch.arange(T).float()[:, None] * inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
        allowed = (j <= i)[None] & (j[None] < lens[:, None, None])   # (B,T,T)
        mask = torch.zeros(B, 1, T, T).masked_fill(~allowed[:, None], torch.finfo(torch.float32).min)
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x, cos, sin, mask)
        logits = self.score(self.model.norm(x))
        return logits[torch.arange(B), lens - 1]


def build():
    torch.manual_seed(4321)
    m = LlamaForSequenceClassification(CFG)
    redraw_parameters(m, "norm", lambda name, p: (1.0 if "embed" in name else 0.1) * torch.randn_like(p))
    return m


def make_batch(g):
    B, T = CFG["batch"], CFG["seq"]
    ids = torch.randint(3, CFG["vocab"], (B, T), generator=g)   # no pad (2) inside a sequence
    for b, n in enumerate(LENGTHS):
        ids[b, n:] = CFG["pad"]
    y = torch.randint(0, CFG["classes"], (B,), generator=g)
    return ids, y


def main(out):
    torch.set_num_threads(2)
    g = torch.Generator().manual_seed(77)
    lm_head = torch.randn(CFG["vocab"], CFG["dim"], generator=g)
    done = write_model_reference(os.path.join(out, "llama_tiny_weights.safetensors"),
                                 os.path.join(out, "llama_tiny_ref.safetensors"), VERSION, "tiny", build,
                                 0, CFG["classes"], CFG["batch"], 99, SGD, ADAMW, CLIP,
                                 make_batch=make_batch, extra_weights={"lm_head.weight": lm_head})
    if done:
        loss, logits, _ = done
        print(f"llama tiny: loss {loss.item():.6f}, logits {logits.detach().flatten().tolist()}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/ref")
