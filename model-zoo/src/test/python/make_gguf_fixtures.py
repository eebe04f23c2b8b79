"""Golden values for laketune's GGUF writer: ggml's Q8_0 and BF16 encodings.

    /usr/bin/python3 model-zoo/src/test/python/make_gguf_fixtures.py

writes model-zoo/src/test/resources/io/laketune/gguf/ggml_golden.json. Only numpy is needed.

The functions below restate ggml's reference C code (ggml-quants.c quantize_row_q8_0_ref and
ggml-impl.h ggml_compute_fp32_to_bf16) in numpy float32 arithmetic, one value at a time so that the
order of operations is the C code's:

  Q8_0, per block of 32 floats x:  amax = max |x|;  d = amax / 127;  id = d ? 1/d : 0;
        store f16(d) (round to nearest even), then int8 roundf(x_j * id) (halves away from zero).
  BF16: NaN -> (bits >> 16) | 64 (quiet);  else (bits + 0x7fff + ((bits >> 16) & 1)) >> 16.

Inputs are stored as float32 bit patterns so that Java reads exactly the same values.
"""
import json
import math
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "resources", "io", "laketune", "gguf", "ggml_golden.json")


def roundf(v):
    """C roundf on a float32: nearest integer, halves away from zero (exact in float64)."""
    r = math.floor(abs(float(v)) + 0.5)
    return -r if v < 0 else r


def quantize_row_q8_0(x):
    x = np.asarray(x, dtype=np.float32)
    assert x.size % 32 == 0
    out = bytearray()
    for block in x.reshape(-1, 32):
        amax = np.float32(0)
        for v in block:
            amax = max(amax, np.float32(abs(v)))
        d = np.float32(amax / np.float32(127))
        inv = np.float32(np.float32(1) / d) if d != 0 else np.float32(0)
        out += np.float16(d).tobytes()  # numpy narrows with round-to-nearest-even, like F16C
        for v in block:
            q = roundf(np.float32(v * inv))
            out += np.int8(q).tobytes()
    return bytes(out)


def fp32_to_bf16(v):
    u = int(np.float32(v).view(np.uint32))
    if (u & 0x7FFFFFFF) > 0x7F800000:
        return (u >> 16) | 64
    return ((u + (0x7FFF + ((u >> 16) & 1))) >> 16) & 0xFFFF


def bits(x):
    return [format(int(b), "08x") for b in np.asarray(x, dtype=np.float32).view(np.uint32)]


def main():
    rng = np.random.default_rng(20261201)
    cases = []

    def add(name, x):
        x = np.asarray(x, dtype=np.float32)
        cases.append({"name": name, "input_bits": bits(x), "q8_0": quantize_row_q8_0(x).hex()})

    add("gaussian rows", rng.standard_normal(32 * 16).astype(np.float32) * np.float32(0.05))
    add("mixed magnitudes", (rng.standard_normal(32 * 8) * np.repeat(10.0 ** rng.integers(-6, 4, 8), 32)).astype(np.float32))
    add("zeros", np.zeros(32))
    ties = np.zeros(32, dtype=np.float32)
    ties[0] = 127  # d = 1, so x * id is x itself
    ties[1:9] = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5, -126.5]
    add("halves round away from zero", ties)
    add("one value", np.eye(1, 32, 7, dtype=np.float32)[0] * np.float32(-3.25))
    add("equal values", np.full(32, 0.3, dtype=np.float32))
    add("tiny block (scale underflows f16)", rng.standard_normal(32).astype(np.float32) * np.float32(1e-7))
    add("huge block (scale overflows f16)", rng.standard_normal(32).astype(np.float32) * np.float32(1e7))

    bf16_inputs = np.concatenate([
        rng.standard_normal(64).astype(np.float32),
        np.array([0.0, -0.0, 1.0, 1.00390625, 1.01171875, 3.0e38, -3.4e38, np.inf, -np.inf, 1e-40], dtype=np.float32),
        np.array([0x7FC00001, 0xFFA00000, 0x7F800001], dtype=np.uint32).view(np.float32),
    ])
    bf16 = {"input_bits": bits(bf16_inputs), "bf16": [format(fp32_to_bf16(v), "04x") for v in bf16_inputs]}

    with open(OUT, "w") as f:
        json.dump({"generator": "model-zoo/src/test/python/make_gguf_fixtures.py", "q8_0": cases, "bf16": bf16}, f, indent=1)
        f.write("\n")
    print("wrote", os.path.normpath(OUT), len(cases), "Q8_0 cases,", len(bf16_inputs), "BF16 values")


if __name__ == "__main__":
    main()
