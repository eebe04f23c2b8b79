#!/usr/bin/python3
"""PyTorch 1.13 eager peer of `laketune bench`: the same Llama-shaped benchmark model (hidden 512,
8 layers, 8 heads, intermediate 1408, vocab 8192, untied), HF eager attention (softmax(Q K^T / sqrt(D)
+ causal mask) V), one step = forward + backward + clip_grad_norm_(1.0) + AdamW (lr 2e-4, no weight
decay: laketune's defaults). Methods:
  full   every weight trains (embeddings, norms, lm_head too)
  lora   LoRA r=16 alpha 32 on every linear module of the blocks (PEFT "all-linear": not lm_head) over
         a frozen fp32 base
  qlora  the same adapters over NF4 + double-quant block weights (bitsandbytes' layout: 64-element
         blocks, absmax 8-bit quantised in blocks of 256), dequantised to fp32 in forward and again
         in backward as bitsandbytes' MatMul4Bit does; embeddings and lm_head stored bf16
--checkpointing wraps each decoder block in torch.utils.checkpoint.

Run: OMP_NUM_THREADS=2 /usr/bin/python3 long_context_peer.py SEQ [STEPS] [--batch B] [--method M]
     [--checkpointing] [--warmup W]
Prints "tokens/s: X" for the timed steps after the warm-up steps.
"""
import argparse
import math
import sys
import time

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))
import make_quant_fixtures as mq  # noqa: E402  (NF4 / 8-bit quantisation as bitsandbytes does it)

C, L, H, I, V, R, ALPHA = 512, 8, 8, 1408, 8192, 16, 32
D = C // H
CODE8 = mq.create_dynamic_map()
NF4 = mq.get_4bit_type("nf4")


class FullLinear(torch.nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(n_out, n_in) * 0.02)

    def forward(self, x):
        return F.linear(x, self.weight)


class LoraLinear(torch.nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(n_out, n_in) * 0.02, requires_grad=False)
        self.lora_A = torch.nn.Parameter(torch.randn(R, n_in) / math.sqrt(n_in))
        self.lora_B = torch.nn.Parameter(torch.zeros(n_out, R))
        self.scaling = ALPHA / R

    def base(self, x):
        return F.linear(x, self.weight)

    def forward(self, x):
        return self.base(x) + F.linear(F.linear(x, self.lora_A), self.lora_B) * self.scaling


class Nf4Weight:
    """A weight [out, in] as NF4 codes (two per byte) with double-quantised absmax, the layout of
    make_quant_fixtures.quantize (which re-states bitsandbytes' kernels)."""

    def __init__(self, w):
        st = mq.quantize(w.reshape(-1), "nf4", 64, True, CODE8)
        self.shape, self.packed = w.shape, st["packed"]
        self.qabsmax, self.nested, self.offset = st["qabsmax"].long(), st["nested_absmax"], st["offset"]

    def dequantize(self):
        absmax = (CODE8[self.qabsmax].view(-1, 256) * self.nested[:, None]).reshape(-1)[:self.qabsmax.numel()]
        codes = torch.stack([self.packed >> 4, self.packed & 0x0F], dim=1).reshape(-1, 64).long()
        return (NF4[codes] * (absmax + self.offset)[:, None]).view(self.shape)


class MatMulNf4(torch.autograd.Function):
    """bitsandbytes MatMul4Bit: y = x dequant(W)^T; backward dequantises again for dx (W is frozen)."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.w = w
        return F.linear(x, w.dequantize())

    @staticmethod
    def backward(ctx, dy):
        return torch.matmul(dy, ctx.w.dequantize()), None


class QloraLinear(LoraLinear):
    def __init__(self, n_in, n_out):
        super().__init__(n_in, n_out)
        self.nf4 = Nf4Weight(self.weight.data)
        del self.weight

    def base(self, x):
        return MatMulNf4.apply(x, self.nf4)


class RmsNorm(torch.nn.Module):
    def __init__(self, trainable=False):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(C), requires_grad=trainable)

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5))


def rotate_half(x):
    return torch.cat((-x[..., D // 2:], x[..., :D // 2]), dim=-1)


class Block(torch.nn.Module):
    def __init__(self, linear, trainable_norms):
        super().__init__()
        self.n1, self.n2 = RmsNorm(trainable_norms), RmsNorm(trainable_norms)
        self.q, self.k, self.v, self.o = (linear(C, C) for _ in range(4))
        self.gate, self.up, self.down = linear(C, I), linear(C, I), linear(I, C)

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


LINEAR = {"full": FullLinear, "lora": LoraLinear, "qlora": QloraLinear}


class Model(torch.nn.Module):
    """The benchmark model for `method` (`vocab` tokens; 8192 by default); forward(ids, labels) is the mean cross-entropy of the next
    token over the positions whose label is not -100 (HF's shift and ignore_index)."""

    def __init__(self, method="lora", checkpointing=True, vocab=V):
        super().__init__()
        full = method == "full"
        self.checkpointing, self.vocab = checkpointing, vocab
        self.embed = torch.nn.Parameter(torch.randn(vocab, C) * 0.02, requires_grad=full)
        self.blocks = torch.nn.ModuleList(Block(LINEAR[method], full) for _ in range(L))
        self.norm = RmsNorm(full)
        self.lm_head = torch.nn.Parameter(torch.randn(vocab, C) * 0.02, requires_grad=full)
        if method == "qlora":  # frozen embeddings stay bf16, expanded where used
            self.embed.data, self.lm_head.data = self.embed.data.bfloat16(), self.lm_head.data.bfloat16()

    def forward(self, ids, labels=None):
        t = ids.shape[1]
        inv = 1.0 / (10000.0 ** (torch.arange(0, D, 2).float() / D))
        freqs = torch.outer(torch.arange(t).float(), inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        mask = torch.full((t, t), torch.finfo(torch.float32).min).triu(1)[None, None]
        x = F.embedding(ids, self.embed).float()
        if self.checkpointing:
            x.requires_grad_(True)  # so that checkpointed blocks see a tensor that needs grad
        for blk in self.blocks:
            x = checkpoint(blk, x, cos, sin, mask) if self.checkpointing else blk(x, cos, sin, mask)
        logits = F.linear(self.norm(x), self.lm_head.float())
        labels = ids if labels is None else labels
        return F.cross_entropy(logits[:, :-1].reshape(-1, self.vocab), labels[:, 1:].reshape(-1), ignore_index=-100)


def optimizer(model):
    """laketune's defaults: AdamW lr 2e-4, betas (0.9, 0.999), eps 1e-8, no weight decay."""
    return torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4, weight_decay=0.0)


def train_step(model, opt, ids, labels=None):
    """forward + backward + clip_grad_norm_(1.0) + AdamW; returns the loss."""
    opt.zero_grad(set_to_none=True)
    loss = model(ids, labels)
    loss.backward()
    torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
    opt.step()
    return loss.item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("seq", type=int)
    ap.add_argument("steps", type=int, nargs="?", default=1)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--method", choices=sorted(LINEAR), default="lora")
    ap.add_argument("--checkpointing", action="store_true")
    ap.add_argument("--warmup", type=int, default=1)
    a = ap.parse_args()
    torch.manual_seed(1)
    model = Model(a.method, a.checkpointing)
    opt = optimizer(model)
    ids = torch.randint(0, V, (a.batch, a.seq))
    for _ in range(a.warmup):
        train_step(model, opt, ids)
    t0 = time.time()
    for _ in range(a.steps):
        train_step(model, opt, ids)
    dt = time.time() - t0
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {a.method}, batch {a.batch} x seq {a.seq}, "
          f"checkpointing {'on' if a.checkpointing else 'off'}: {dt / a.steps:.3f} s/step")
    print(f"tokens/s: {a.batch * a.seq * a.steps / dt:.1f}")


if __name__ == "__main__":
    main()
