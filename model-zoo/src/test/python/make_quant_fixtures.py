#!/usr/bin/env python3
"""Builds the 4-bit quantisation fixtures that the Java io.laketune.quant tests assert against.

Run with Debian's Python (torch 1.13), after make_fixtures.py (it reads the `llama` case):

    /usr/bin/python3 model-zoo/src/test/python/make_quant_fixtures.py

bitsandbytes cannot be installed here, so this file re-states its algorithms in torch, element for
element. Citations are to bitsandbytes at commit 95f9af30 (bitsandbytes-foundation/bitsandbytes):

  csrc/kernels.cu      dQuantizeFP4 (l.64), dQuantizeNF4 (l.110), dQuantize<0> (l.160),
                       kQuantizeBlockwise (l.271; scale = 1.0f / absmax at l.332, zero padding at l.319),
                       kDequantizeBlockwise (l.466; code * absmax at l.508-521)
  bitsandbytes/functional.py
                       create_dynamic_map (l.296), get_4bit_type (l.772), quantize_4bit (l.884;
                       compress_statistics at l.939-940), dequantize_4bit (l.992; nested absmax at
                       l.1053-1054), QuantState.as_dict (l.545), QuantState.from_dict (l.494)
  bitsandbytes/utils.py pack_dict_to_tensor (l.166: json.dumps of the non-tensor items, as uint8)
  bitsandbytes/nn/modules.py Linear4bit._save_to_state_dict (l.593: "weight." + as_dict(packed=True) keys)

The CUDA kernels are the reference (they made nearly every bnb checkpoint there is). Two places where
this file, and laketune, decide what bnb leaves to the hardware:
  * 1/absmax is the correctly rounded float32 reciprocal. bnb's CUDA build uses --use_fast_math, whose
    reciprocal may differ by one ulp; that can move a value by one code only when it lies within an
    ulp of a decision threshold.
  * The double-quant offset is the mean of the fp32 absmax summed in float64 in index order, divided
    in float64 and rounded once to float32. bnb uses torch's float32 `absmax.mean()`, whose last bit
    depends on the device's reduction order; main() reports how far torch's value is (in ulps).

Writes model-zoo/src/test/resources/fixtures/quant/ (see README.md next to this file).
"""

import json
import math
import struct
import sys
from collections import OrderedDict
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures as mf  # noqa: E402  (safetensors writer/reader, the llama reference model)

OUT = mf.OUT_ROOT / "quant"
F32 = np.float32


def f32_literal(text):
    """The float32 nearest to a decimal literal, as a C/Java `f` literal rounds it (no double rounding)."""
    exact = Fraction(text)
    c = F32(float(text))
    best = None
    for cand in (np.nextafter(c, F32(-np.inf)), c, np.nextafter(c, F32(np.inf))):
        d = abs(Fraction(float(cand)) - exact)
        even = (int(np.array(cand).view(np.uint32)) & 1) == 0
        if best is None or d < best[0] or (d == best[0] and even):
            best = (d, cand)
    return best[1]


# ----------------------------------------------------------------------------------------------
# code books (functional.get_4bit_type, l.772-859)
# ----------------------------------------------------------------------------------------------

NF4_LITERALS = [
    "-1.0", "-0.6961928009986877", "-0.5250730514526367", "-0.39491748809814453",
    "-0.28444138169288635", "-0.18477343022823334", "-0.09105003625154495", "0.0",
    "0.07958029955625534", "0.16093020141124725", "0.24611230194568634", "0.33791524171829224",
    "0.44070982933044434", "0.5626170039176941", "0.7229568362236023", "1.0",
]


def get_4bit_type(name):
    # torch.tensor(list of python floats) is float32; then data.div_(data.abs().max()) in float32 (l.855)
    if name == "nf4":
        data = torch.tensor([float(s) for s in NF4_LITERALS], dtype=torch.float32)
    else:
        data = torch.tensor([0, 0.0625, 8.0, 12.0, 4.0, 6.0, 2.0, 3.0,
                             -0.0, -0.0625, -8.0, -12.0, -4.0, -6.0, -2.0, -3.0], dtype=torch.float32)
    return data / data.abs().max()


# kernels.cu l.15-24: the CUDA dequantisation table for FP4 magnitudes; the sign is bit 3 (l.59-62).
FP4_CUDA_LUT = [f32_literal(s) for s in
                ("0.0", "0.005208333333", "0.66666667", "1.0", "0.33333333", "0.5", "0.16666667", "0.25")]

# ----------------------------------------------------------------------------------------------
# 4-bit encoders: the CUDA decision trees, literally
# ----------------------------------------------------------------------------------------------

NF4_T = {k: F32(f32_literal(v)) for k, v in {
    "root": "0.03979014977812767", "1": "0.3893125355243683", "11": "0.6427869200706482",
    "111": "0.8614784181118011", "110": "0.5016634166240692", "10": "0.2035212516784668",
    "101": "0.2920137718319893", "100": "0.1202552504837513", "0": "-0.33967943489551544",
    "01": "-0.13791173323988914", "011": "-0.045525018125772476", "010": "-0.23460740596055984",
    "00": "-0.6106329262256622", "001": "-0.4599952697753906", "000": "-0.8480964004993439"}.items()}

FP4_T = [F32(f32_literal(s)) for s in
         ("0.29166667", "0.583333", "0.8333333", "0.4166667", "0.0859375", "0.20833333", "0.00260417")]


def t_(key):
    return torch.tensor(NF4_T[key], dtype=torch.float32)


def dquantize_nf4(x):
    """kernels.cu dQuantizeNF4 (l.110-157): nested `x > threshold`; NaN takes every else branch -> 0."""
    W = torch.where
    right = W(x > t_("1"),
              W(x > t_("11"), W(x > t_("111"), 15, 14), W(x > t_("110"), 13, 12)),
              W(x > t_("10"), W(x > t_("101"), 11, 10), W(x > t_("100"), 9, 8)))
    left = W(x > t_("0"),
             W(x > t_("01"), W(x > t_("011"), 7, 6), W(x > t_("010"), 5, 4)),
             W(x > t_("00"), W(x > t_("001"), 3, 2), W(x > t_("000"), 1, 0)))
    return W(x > t_("root"), right, left).to(torch.uint8)


def dquantize_fp4(x):
    """kernels.cu dQuantizeFP4 (l.64-104): sign = x < 0 (so -0.0 and NaN are positive), tree on |x|."""
    W = torch.where
    a, b, c, d, e, f, g = (torch.tensor(v, dtype=torch.float32) for v in FP4_T)
    sign = W(x < 0, 8, 0)
    ax = x.abs()
    mag = W(ax > a,
            W(ax > b, W(ax > c, 3, 2), W(ax > d, 5, 4)),
            W(ax > e, W(ax > f, 7, 6), W(ax > g, 1, 0)))
    return (mag + sign).to(torch.uint8)


# ----------------------------------------------------------------------------------------------
# quantize_4bit / dequantize_4bit (kQuantizeBlockwise / kDequantizeBlockwise with FP4 or NF4)
# ----------------------------------------------------------------------------------------------


def blockwise_absmax_and_scaled(a, blocksize):
    """a: float32 flat. Pads with zeros to whole blocks (LoadT(..., (T)0.0f), l.319); absmax = max|v|
    per block (l.325-328); scaled = v * (1.0f / absmax) in float32 (l.332, l.349-365)."""
    n = a.numel()
    blocks = -(-n // blocksize)
    padded = torch.zeros(blocks * blocksize, dtype=torch.float32)
    padded[:n] = a
    vals = padded.view(blocks, blocksize)
    absmax = vals.abs().max(dim=1).values
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = torch.from_numpy(F32(1.0) / absmax.numpy())  # 1/0 = inf; 0 * inf = NaN below, as on the GPU
    scaled = (vals * inv[:, None]).reshape(-1)
    return absmax, scaled


def quantize_4bit(a, quant_type, blocksize):
    """Returns packed uint8 [(n+1)//2] and absmax float32 [ceil(n/blocksize)].

    Two codes per byte, the element with the even index in the HIGH nibble (`<< 4`, l.357/364). The
    kernel codes the zero padding too, so for odd n the last byte's low nibble is the code of 0.0 (7 for
    NF4, 0 for FP4; 0 for both when the block's absmax is 0 and 0 * inf is NaN); StoreChar keeps
    (valid_items + 1) / 2 bytes (l.371-373)."""
    n = a.numel()
    absmax, scaled = blockwise_absmax_and_scaled(a, blocksize)
    enc = dquantize_nf4 if quant_type == "nf4" else dquantize_fp4
    codes = enc(scaled)
    if codes.numel() % 2:
        codes = torch.cat([codes, torch.zeros(1, dtype=torch.uint8)])
    packed = (codes[0::2] << 4) | codes[1::2]
    return packed[: (n + 1) // 2].clone(), absmax


def dequantize_4bit(packed, absmax, quant_type, blocksize, n, dtype):
    """kDequantizeBlockwise (l.513-521): lut[code] * absmax in float32, stored as `dtype` (T)."""
    hi = (packed >> 4).long()
    lo = (packed & 0x0F).long()
    codes = torch.stack([hi, lo], dim=1).reshape(-1)[:n]
    if quant_type == "nf4":
        lut = torch.tensor([F32(f32_literal(s)) for s in NF4_LITERALS], dtype=torch.float32)
        vals = lut[codes]
    else:  # dDequantizeFP4Tree: lut[val & 7] * (1 - 2 * sign)
        lut = torch.tensor(FP4_CUDA_LUT, dtype=torch.float32)
        sign = 1.0 - 2.0 * ((codes & 8) >> 3).to(torch.float32)
        vals = lut[codes & 7] * sign
    block = torch.arange(n) // blocksize
    return (vals * absmax[block]).to(dtype)


# ----------------------------------------------------------------------------------------------
# 8-bit blockwise with the dynamic map (double quantisation of absmax)
# ----------------------------------------------------------------------------------------------


def create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8):
    """functional.create_dynamic_map (l.296-349), the same torch calls."""
    data = []
    non_sign_bits = total_bits - 1
    additional_items = 2 ** (non_sign_bits - max_exponent_bits) - 1
    for i in range(max_exponent_bits):
        fraction_items = int(2 ** (i + non_sign_bits - max_exponent_bits) + 1 if signed
                             else 2 ** (i + non_sign_bits - max_exponent_bits + 1) + 1)
        boundaries = torch.linspace(0.1, 1, fraction_items, dtype=torch.float32)
        means = (boundaries[:-1] + boundaries[1:]) / 2.0
        data += ((10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
        if signed:
            data += (-(10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
    assert additional_items == 0  # the signed 8-bit map has none
    data.append(0)
    data.append(1.0)
    assert len(data) == 2 ** total_bits
    data.sort()
    return torch.tensor(data, dtype=torch.float32)


def dquantize_8bit(code, x):
    """kernels.cu dQuantize<0> (l.160-215): binary search from pivot 127 with steps 64..1 using
    `x > code[pivot]`, then the nearest of pivot and its bracketing neighbour by the float32 midpoint
    (upper + val) * 0.5f or (lower + val) * 0.5f; ties go to `pivot`. lower/upper start at -1/1 and
    become code[0]/code[255] when the search never moved off that side (l.183-186)."""
    m = x.numel()
    pivot = torch.full((m,), 127, dtype=torch.long)
    upper_pivot = torch.full((m,), 255, dtype=torch.long)
    lower_pivot = torch.zeros(m, dtype=torch.long)
    lower = torch.full((m,), -1.0, dtype=torch.float32)
    upper = torch.full((m,), 1.0, dtype=torch.float32)
    val = code[pivot]
    i = 64
    while i > 0:
        gt = x > val
        lower_pivot = torch.where(gt, pivot, lower_pivot)
        lower = torch.where(gt, val, lower)
        upper_pivot = torch.where(gt, upper_pivot, pivot)
        upper = torch.where(gt, upper, val)
        pivot = torch.where(gt, pivot + i, pivot - i)
        val = code[pivot]
        i >>= 1
    upper = torch.where(upper_pivot == 255, code[255], upper)
    lower = torch.where(lower_pivot == 0, code[0], lower)
    gt = x > val
    mid_up = (upper + val) * F32(0.5)
    mid_lo = (lower + val) * F32(0.5)
    q = torch.where(gt, torch.where(x > mid_up, upper_pivot, pivot), torch.where(x < mid_lo, lower_pivot, pivot))
    return q.to(torch.uint8)


def quantize_blockwise(a, code, blocksize):
    """bitsandbytes::quantize_blockwise on CUDA (kQuantizeBlockwise with General8bit)."""
    n = a.numel()
    absmax, scaled = blockwise_absmax_and_scaled(a, blocksize)
    return dquantize_8bit(code, scaled)[:n].clone(), absmax


def dequantize_blockwise(q, absmax, code, blocksize):
    """kDequantizeBlockwise General8bit (l.508): code[q] * absmax in float32."""
    return code[q.long()] * absmax[torch.arange(q.numel()) // blocksize]


def mean_offset(absmax):
    """laketune's offset: float64 sum in index order, / n in float64, rounded once to float32."""
    s = 0.0
    for v in absmax.tolist():
        s += v
    return torch.tensor(s / absmax.numel(), dtype=torch.float32)


def ulps_apart(a, b):
    ia = int(np.array(F32(a)).view(np.int32))
    ib = int(np.array(F32(b)).view(np.int32))
    return abs(ia - ib)


def quantize(a, quant_type, blocksize, double_quant, code8):
    """functional.quantize_4bit (l.884-969). Returns the QuantState pieces as a dict of tensors."""
    packed, absmax = quantize_4bit(a, quant_type, blocksize)
    out = OrderedDict(packed=packed, absmax=absmax)
    if double_quant:
        offset = mean_offset(absmax)
        qabsmax, nested = quantize_blockwise(absmax - offset, code8, 256)  # l.939-940
        out.update(qabsmax=qabsmax, nested_absmax=nested, offset=offset.reshape(()))
        out["torch_mean_ulps"] = ulps_apart(float(absmax.mean()), float(offset))
    return out


def effective_absmax(st, code8):
    """dequantize_4bit l.1053-1054: dequantize_blockwise(qabsmax) then += offset, both float32."""
    if "qabsmax" not in st:
        return st["absmax"]
    return dequantize_blockwise(st["qabsmax"], st["nested_absmax"], code8, 256) + st["offset"]


# ----------------------------------------------------------------------------------------------
# element-wise cases
# ----------------------------------------------------------------------------------------------


def edge_values():
    """Inputs that sit exactly on the decisions: every NF4/FP4 threshold and exact float midpoint of
    adjacent codes, one ulp either side, every code value, signed zeros. Block absmax is 1.0."""
    vals = []
    for t in list(NF4_T.values()) + FP4_T + [-v for v in FP4_T]:
        vals += [np.nextafter(t, F32(-2)), t, np.nextafter(t, F32(2))]
    for name in ("nf4", "fp4"):
        c = sorted(set(get_4bit_type(name).tolist()))
        vals += c
        for lo, hi in zip(c[:-1], c[1:]):
            m = F32((lo + hi) / 2.0)
            vals += [np.nextafter(m, F32(-2)), m, np.nextafter(m, F32(2))]
    vals += [0.0, -0.0, 1.0, -1.0]
    vals = [F32(v) for v in vals]
    pad = (-len(vals)) % 64
    vals += [F32(1.0)] * pad  # every block holds 1.0, so each block's absmax (and scale) is exactly 1
    out = torch.tensor(np.array(vals, dtype=np.float32))
    for b in range(0, out.numel(), 64):
        out[b] = 1.0
    return out


def build_inputs():
    g = torch.Generator().manual_seed(4242)
    cases = OrderedDict()

    def add(name, tensor, note, blocksize=64, dtype=torch.float32, dq_only=False):
        cases[name] = dict(x=tensor, note=note, blocksize=blocksize, dtype=dtype, dq_only=dq_only)

    add("randn", 0.02 * torch.randn(64, 96, generator=g), "N(0, 0.02) [64,96]: 96 blocks, one partial nested block")
    add("randn_bs128", 0.02 * torch.randn(64, 96, generator=g), "N(0, 0.02) [64,96], blocksize 128", blocksize=128)
    add("many_blocks", torch.randn(130, 255, generator=g),
        "N(0,1) [130,255]: 517.97 -> 518 blocks (last holds 62), 3 nested blocks (256+256+6); double quant only",
        dq_only=True)
    z = 0.05 * torch.randn(4, 64, generator=g)
    z[1] = 0.0
    add("zero_block", z.reshape(-1), "4 blocks, block 1 all +0.0 (absmax 0: 1/0 = inf, 0 * inf = NaN)")
    h = 1e-3 * torch.randn(3, 64, generator=g)
    h[1, 17] = 1.0e4
    h[2, 5] = -3.0e3
    add("huge_value", h.reshape(-1), "blocks 1 and 2 each hold one huge value among 1e-3 noise")
    cb = []
    for k, name in enumerate(("nf4", "fp4")):
        s = 2.0 ** (k - 3)
        code = get_4bit_type(name)
        for rep in range(2):
            cb.append(code * s)
            cb.append(code.flip(0) * -s)
    add("codebook_values", torch.cat(cb), "every nf4 and fp4 code times a power of two (16 values a half block)")
    add("decision_edges", edge_values(), "thresholds, float midpoints of adjacent codes, +-1 ulp; absmax 1")
    nz = torch.zeros(2, 64)
    nz[0, ::2] = -0.0
    nz[0, 1::2] = 0.25 * torch.randn(32, generator=g)
    nz[1] = -0.0
    add("negative_zero", nz.reshape(-1), "-0.0 among values, and a block of only -0.0")
    add("odd_length", 0.1 * torch.randn(127, generator=g), "127 values: odd, tail block of 63")
    add("not_multiple_of_64", 0.1 * torch.randn(10, 20, generator=g), "[10,20]: 200 values, tail block of 8")
    add("single_block", 0.1 * torch.randn(64, generator=g),
        "one block: the offset equals the only absmax, so absmax - offset = 0 (nested NaN path)")
    add("bf16_weights", (0.05 * torch.randn(32, 64, generator=g)).to(torch.bfloat16),
        "bf16 input; dtype bfloat16, so dequantised values are rounded to bf16", dtype=torch.bfloat16)
    return cases


def dynamic_map_case(code8, g):
    """8-bit quantize_blockwise with the dynamic map on its own, blocksize 256, 1300 values (tail 20):
    every code value, every float midpoint of adjacent codes +-1 ulp (blocks 0-3, absmax 1), then N(0,1)."""
    c = code8.tolist()
    vals = list(c)
    for lo, hi in zip(c[:-1], c[1:]):
        m = F32((F32(lo) + F32(hi)) * F32(0.5))
        vals += [np.nextafter(m, F32(-2)), m, np.nextafter(m, F32(2))]
    vals = torch.tensor(np.array(vals, dtype=np.float32))
    x = torch.cat([vals, torch.randn(1300 - vals.numel(), generator=g)])
    for b in range(0, 1024, 256):
        x[b] = 1.0
    return x


# ----------------------------------------------------------------------------------------------
# the bnb-format llama checkpoint
# ----------------------------------------------------------------------------------------------


def bnb_config(quant_type, double_quant):
    """transformers BitsAndBytesConfig.to_dict() as save_pretrained writes it into config.json."""
    return {
        "_load_in_4bit": True,
        "_load_in_8bit": False,
        "bnb_4bit_compute_dtype": "float32",
        "bnb_4bit_quant_storage": "uint8",
        "bnb_4bit_quant_type": quant_type,
        "bnb_4bit_use_double_quant": double_quant,
        "llm_int8_enable_fp32_cpu_offload": False,
        "llm_int8_has_fp16_weight": False,
        "llm_int8_skip_modules": None,
        "llm_int8_threshold": 6.0,
        "load_in_4bit": True,
        "load_in_8bit": False,
        "quant_method": "bitsandbytes",
    }


def quant_state_tensors(st, quant_type, blocksize, shape, dtype_name, code8):
    """QuantState.as_dict(packed=True) (l.545-578) in its order: tensors absmax, quant_map,
    [nested_absmax, nested_quant_map], then quant_state.bitsandbytes__<type> holding json.dumps of
    the non-tensor items (utils.pack_dict_to_tensor, l.166)."""
    t = OrderedDict()
    non_tensor = OrderedDict(quant_type=quant_type, blocksize=blocksize, dtype=dtype_name, shape=list(shape))
    if "qabsmax" in st:
        t["absmax"] = st["qabsmax"]
        t["quant_map"] = get_4bit_type(quant_type)
        t["nested_absmax"] = st["nested_absmax"]
        t["nested_quant_map"] = code8.clone()
        non_tensor.update(nested_blocksize=256, nested_dtype="float32", nested_offset=float(st["offset"]))
    else:
        t["absmax"] = st["absmax"]
        t["quant_map"] = get_4bit_type(quant_type)
    blob = json.dumps(non_tensor).encode("utf-8")
    t["quant_state.bitsandbytes__" + quant_type] = torch.tensor(list(blob), dtype=torch.uint8)
    return t


def is_quantized_linear(name):
    # transformers replaces every nn.Linear but lm_head (get_keys_to_not_convert); embeddings and norms
    # are not Linear.
    return name.endswith("_proj.weight")


def build_bnb_llama(dirname, quant_type, double_quant, code8):
    src = mf.OUT_ROOT / "llama"
    weights, _ = mf.read_safetensors(src / "model.safetensors")
    golden_src, _ = mf.read_safetensors(src / "golden.safetensors")
    cfg = json.loads((src / "config.json").read_text())
    cfg["quantization_config"] = bnb_config(quant_type, double_quant)
    cfg = dict(sorted(cfg.items()))

    state = OrderedDict()
    deq = OrderedDict()
    for name, w in weights.items():
        if not is_quantized_linear(name):
            state[name] = w
            deq[name] = w
            continue
        st = quantize(w.reshape(-1), quant_type, 64, double_quant, code8)
        n = w.numel()
        state[name] = st["packed"].reshape(-1, 1)  # Params4bit data: [(n+1)//2, 1] uint8
        for k, v in quant_state_tensors(st, quant_type, 64, w.shape, "float32", code8).items():
            state[name + "." + k] = v
        am = effective_absmax(st, code8)
        deq[name] = dequantize_4bit(st["packed"], am, quant_type, 64, n, torch.float32).reshape(w.shape)

    p = OrderedDict((k, v.to(torch.float64)) for k, v in deq.items())
    ids, mask = golden_src["input_ids"], golden_src["attention_mask"]
    with torch.no_grad():
        logits = mf.llama_forward(cfg, p, ids, mask)
        ref = mf.llama_forward(cfg, OrderedDict((k, v.to(torch.float64)) for k, v in weights.items()), ids, mask)
    drift = float((logits - ref).abs().max())
    scale = float(ref.abs().max())
    assert 1e-3 < drift < 0.5 * scale, f"{dirname}: 4-bit logits drift {drift} (logits up to {scale}) is implausible"

    d = mf.OUT_ROOT / dirname
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    mf.write_safetensors(d / "model.safetensors", state)
    golden = OrderedDict(input_ids=ids, attention_mask=mask, labels=golden_src["labels"],
                         logits=logits.to(torch.float32))
    for k, v in deq.items():
        if is_quantized_linear(k):
            golden["dequant." + k] = v
    mf.write_safetensors(d / "golden.safetensors", golden, {
        "case": dirname,
        "reference": "float64 llama forward on the dequantised weights (float32), stored as F32",
        "quant": f"{quant_type}, blocksize 64, double_quant {double_quant}",
        "max_logit_drift_vs_float_model": f"{drift:.4g}",
    })
    back, _ = mf.read_safetensors(d / "model.safetensors")
    for k in state:
        assert torch.equal(back[k], state[k]), k
    return drift, scale, sum(1 for k in state if k.endswith(".quant_state.bitsandbytes__" + quant_type))


# ----------------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------------


def check_encoders():
    """The trees agree with a nearest-code search over the sorted code book wherever no threshold
    rounding is involved, and the CUDA FP4 table equals get_4bit_type('fp4')."""
    g = torch.Generator().manual_seed(5)
    x = torch.rand(200000, generator=g) * 2 - 1
    for name, enc in (("nf4", dquantize_nf4), ("fp4", dquantize_fp4)):
        code = get_4bit_type(name)
        nearest = (x[:, None] - code[None, :]).abs().argmin(1)
        got = enc(x).long()
        same = (code[got] == code[nearest]).float().mean().item()
        assert same > 0.9999, (name, same)
    fp4 = get_4bit_type("fp4")
    for i in range(8):
        assert F32(fp4[i].item()) == FP4_CUDA_LUT[i], i
        assert float(fp4[i + 8]) == -float(FP4_CUDA_LUT[i]), i


def main():
    torch.set_num_threads(2)
    assert sys.byteorder == "little"
    OUT.mkdir(parents=True, exist_ok=True)
    check_encoders()
    code8 = create_dynamic_map()
    assert code8.numel() == 256 and float(code8[255]) == 1.0 and float(code8[127]) == 0.0
    mf.write_safetensors(OUT / "dynamic_map.safetensors",
                         OrderedDict(code=code8, nf4=get_4bit_type("nf4"), fp4=get_4bit_type("fp4")),
                         {"source": "create_dynamic_map(signed=True) and get_4bit_type, torch " + torch.__version__})

    g = torch.Generator().manual_seed(77)
    x8 = dynamic_map_case(code8, g)
    q8, a8 = quantize_blockwise(x8, code8, 256)
    mf.write_safetensors(OUT / "blockwise8.safetensors", OrderedDict(
        input=x8, q=q8, absmax=a8, dequant=dequantize_blockwise(q8, a8, code8, 256)),
        {"blocksize": "256", "note": "dynamic-map 8-bit blockwise: codes, float midpoints +-1 ulp, N(0,1)"})
    print(f"dynamic map and 8-bit blockwise: {x8.numel()} values")

    worst_ulps = 0
    for name, c in build_inputs().items():
        x = c["x"]
        flat = x.reshape(-1).float()
        tensors = OrderedDict(input=x)
        for qt in ("nf4", "fp4"):
            for dq in (True,) if c["dq_only"] else (False, True):
                st = quantize(flat, qt, c["blocksize"], dq, code8)
                v = qt + ("_dq" if dq else "")
                tensors[v + ".packed"] = st["packed"]
                tensors[v + ".absmax"] = st["absmax"]
                if dq:
                    tensors[v + ".qabsmax"] = st["qabsmax"]
                    tensors[v + ".nested_absmax"] = st["nested_absmax"]
                    tensors[v + ".offset"] = st["offset"]
                    worst_ulps = max(worst_ulps, st["torch_mean_ulps"])
                am = effective_absmax(st, code8)
                tensors[v + ".dequant_absmax"] = am
                tensors[v + ".dequant"] = dequantize_4bit(
                    st["packed"], am, qt, c["blocksize"], x.numel(), c["dtype"]).float().reshape(x.shape)
        dtype = "bfloat16" if c["dtype"] == torch.bfloat16 else "float32"
        mf.write_safetensors(OUT / f"{name}.safetensors", tensors,
                             {"blocksize": str(c["blocksize"]), "dtype": dtype, "note": c["note"]})
        back, _ = mf.read_safetensors(OUT / f"{name}.safetensors")
        for k in tensors:
            assert torch.equal(back[k], tensors[k]), (name, k)
        print(f"  {name:<20} {list(x.shape)} blocksize {c['blocksize']} {dtype}")
    print(f"torch float32 absmax.mean() vs the float64-summed offset: at most {worst_ulps} ulp apart")

    for dirname, qt, dq in (("llama_bnb_nf4", "nf4", True), ("llama_bnb_fp4", "fp4", False)):
        drift, scale, nq = build_bnb_llama(dirname, qt, dq, code8)
        print(f"  {dirname}: {nq} quantised linears, max |logit - float model logit| {drift:.3f}"
              f" (max |logit| {scale:.2f})")


if __name__ == "__main__":
    main()
