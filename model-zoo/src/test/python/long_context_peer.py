#!/usr/bin/python3
"""PyTorch 1.13 eager peer of `laketune bench --method LORA --checkpointing --batch 1`: the same
Llama-shaped benchmark model (hidden 512, 8 layers, 8 heads, intermediate 1408, vocab 8192, untied),
LoRA r=16 alpha 32 on every linear module of the blocks (PEFT "all-linear": not lm_head), frozen base,
HF eager attention (softmax(Q K^T / sqrt(D) + causal mask) V), torch.utils.checkpoint around each
decoder block, one step = forward + backward + AdamW on the adapters.

Run: OMP_NUM_THREADS=2 /usr/bin/python3 long_context_peer.py SEQ [STEPS]
Prints "tokens/s: X" for the timed steps after one warm-up step.
"""
import math
import sys
import time

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

C, L, H, I, V, R, ALPHA = 512, 8, 8, 1408, 8192, 16, 32
D = C // H


class LoraLinear(torch.nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(n_out, n_in) * 0.02, requires_grad=False)
        self.lora_A = torch.nn.Parameter(torch.randn(R, n_in) / math.sqrt(n_in))
        self.lora_B = torch.nn.Parameter(torch.zeros(n_out, R))
        self.scaling = ALPHA / R

    def forward(self, x):
        return F.linear(x, self.weight) + F.linear(F.linear(x, self.lora_A), self.lora_B) * self.scaling


class RmsNorm(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(C), requires_grad=False)

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5))


def rotate_half(x):
    return torch.cat((-x[..., D // 2:], x[..., :D // 2]), dim=-1)


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.n1, self.n2 = RmsNorm(), RmsNorm()
        self.q, self.k, self.v, self.o = (LoraLinear(C, C) for _ in range(4))
        self.gate, self.up, self.down = LoraLinear(C, I), LoraLinear(C, I), LoraLinear(I, C)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        h = self.n1(x)
        q = self.q(h).view(b, t, H, D).transpose(1, 2)
        k = self.k(h).view(b, t, H, D).transpose(1, 2)
        v = self.v(h).view(b, t, H, D).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(D) + mask
        probs = torch.softmax(scores, dim=-1)
        a = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, C)
        x = x + self.o(a)
        h = self.n2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Parameter(torch.randn(V, C) * 0.02, requires_grad=False)
        self.blocks = torch.nn.ModuleList(Block() for _ in range(L))
        self.norm = RmsNorm()
        self.lm_head = torch.nn.Parameter(torch.randn(V, C) * 0.02, requires_grad=False)

    def forward(self, ids):
        t = ids.shape[1]
        inv = 1.0 / (10000.0 ** (torch.arange(0, D, 2).float() / D))
        freqs = torch.outer(torch.arange(t).float(), inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        mask = torch.full((t, t), torch.finfo(torch.float32).min).triu(1)[None, None]
        x = F.embedding(ids, self.embed)
        x.requires_grad_(True)  # so that checkpointed blocks see a tensor that needs grad
        for blk in self.blocks:
            x = checkpoint(blk, x, cos, sin, mask)
        logits = F.linear(self.norm(x), self.lm_head)
        return F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))


def main():
    seq = int(sys.argv[1])
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    torch.manual_seed(1)
    model = Model()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    ids = torch.randint(0, V, (1, seq))

    def step():
        opt.zero_grad(set_to_none=True)
        model(ids).backward()
        opt.step()

    step()  # warm-up
    t0 = time.time()
    for _ in range(steps):
        step()
    dt = time.time() - t0
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, seq {seq}: {dt / steps:.3f} s/step")
    print(f"tokens/s: {seq * steps / dt:.1f}")


if __name__ == "__main__":
    main()
