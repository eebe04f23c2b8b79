#!/usr/bin/python3
"""Generates half_golden.tsv: how torch rounds float32 to bfloat16 and float16, and widens float16 back.

Run with Debian's python3-torch:  /usr/bin/python3 half_golden.py > half_golden.tsv
Each line: kind, input bits (hex), output bits (hex).
  f32>bf16  float32 bits -> x.to(torch.bfloat16) bits
  f32>f16   float32 bits -> x.to(torch.float16) bits
  f16>f32   float16 bits -> x.to(torch.float32) bits
The inputs are hand-picked edge cases (ties, subnormals, overflow, inf, nan) plus a fixed-seed sample
of random bit patterns, so the Java conversions are checked against torch, not against themselves.
"""
import random
import struct

import torch


def f32_bits(values):
    return [struct.unpack("<I", struct.pack("<f", v))[0] for v in values]


hand = [0.0, -0.0, 1.0, -2.5, 65504.0, 65519.99, 65520.0, 1e-8, -1e-8, 5.96e-8, 2.98e-8, 2.99e-8,
        6.1e-5, 1e-40, -1e-45, 3.4028235e38, 1.00390625, 1.01171875, 1.0029296875, 1.0048828125,
        0.1, 1.0 / 3.0, 3.14159265, 1e30, -7e-39, 1.00048828125, 1.00146484375, 2049.0, 2051.0,
        float("inf"), float("-inf")]
bits = f32_bits(hand)
bits += [0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FBFFFFF, 0xFF812345, 0x00000001, 0x807FFFFF,
         0x3F808000, 0x3F818000, 0x3F808001, 0x3F80FFFF, 0x477FEFFF, 0x477FF000, 0x33000000,
         0x33000001, 0x387FC000, 0x387FE000]
rng = random.Random(20240601)
bits += [rng.getrandbits(32) for _ in range(600)]
bits += f32_bits([rng.uniform(-70000.0, 70000.0) for _ in range(100)])
bits += f32_bits([rng.uniform(-1e-4, 1e-4) for _ in range(100)])

x = torch.tensor(bits, dtype=torch.int64).to(torch.int32).view(torch.float32)
bf = x.to(torch.bfloat16).view(torch.int16).to(torch.int64) & 0xFFFF
hf = x.to(torch.float16).view(torch.int16).to(torch.int64) & 0xFFFF
for b, o in zip(bits, bf.tolist()):
    print(f"f32>bf16\t{b:08x}\t{o:04x}")
for b, o in zip(bits, hf.tolist()):
    print(f"f32>f16\t{b:08x}\t{o:04x}")

halves = [0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x3C00, 0x7BFF, 0x7C00, 0xFC00, 0x7E00, 0x7C01,
          0xFE00, 0x7FFF, 0xC100]
halves += [rng.getrandbits(16) for _ in range(300)]
h = torch.tensor(halves, dtype=torch.int64).to(torch.int16).view(torch.float16)
f = h.to(torch.float32).view(torch.int32).to(torch.int64) & 0xFFFFFFFF
for b, o in zip(halves, f.tolist()):
    print(f"f16>f32\t{b:04x}\t{o:08x}")
