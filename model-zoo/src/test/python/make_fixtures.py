#!/usr/bin/env python3
"""Builds the tiny seeded checkpoints and golden values that the Java model-zoo tests assert against.

Run with a Python that has torch (tested with torch 1.13), e.g. Debian's /usr/bin/python3:

    /usr/bin/python3 model-zoo/src/test/python/make_fixtures.py

Neither `transformers` nor `safetensors` is needed: the reference models below are an independent,
functional re-statement of the Hugging Face modeling code (Llama / Mistral / Qwen2 / GPT-2, eager
attention path) and the safetensors files are written by a small writer in this file.

All model maths runs in float64 on the float32 (or bf16) weights upcast to double; the results are
stored as float32. See README.md next to this file for the conventions.
"""

import json
import math
import os
import struct
import sys
import time
from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
OUT_ROOT = HERE.parent / "resources" / "fixtures"

IGNORE_INDEX = -100
GEN_STEPS = 8
PAD_TOKEN = 0  # token id written at padded positions (attention_mask 0); never attended, never a label

# ----------------------------------------------------------------------------------------------
# safetensors writer / reader
# ----------------------------------------------------------------------------------------------

_ST_DTYPES = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.uint8: "U8",
}
_ST_DTYPES_REV = {v: k for k, v in _ST_DTYPES.items()}


def _raw_bytes(t):
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bf16: reinterpret the 16-bit patterns
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    """u64 LE header length | JSON header (space padded to 8) | raw LE data, in header order."""
    assert sys.byteorder == "little"
    header = OrderedDict()
    meta = {"format": "pt"}
    if metadata:
        meta.update({k: str(v) for k, v in metadata.items()})
    header["__metadata__"] = meta
    blobs = []
    offset = 0
    for name, t in tensors.items():
        if t.dtype not in _ST_DTYPES:
            raise ValueError(f"unsupported dtype {t.dtype} for {name}")
        data = _raw_bytes(t)
        header[name] = {
            "dtype": _ST_DTYPES[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    hbytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hbytes += b" " * (-len(hbytes) % 8)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hbytes)))
        f.write(hbytes)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Minimal reader, used only to round-trip-check what was written."""
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert n % 8 == 0, "header not 8-aligned"
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = OrderedDict()
    expect = 0
    for name, info in header.items():
        b, e = info["data_offsets"]
        assert b == expect, "data not contiguous"
        expect = e
        dt = _ST_DTYPES_REV[info["dtype"]]
        buf = bytearray(raw[base + b : base + e])
        t = torch.frombuffer(buf, dtype=dt) if len(buf) else torch.empty(0, dtype=dt)
        out[name] = t.reshape(info["shape"])
    assert base + expect == len(raw), "trailing bytes"
    return out, meta


# ----------------------------------------------------------------------------------------------
# shared maths
# ----------------------------------------------------------------------------------------------


def rms_norm(x, w, eps):
    # LlamaRMSNorm: w * (x * rsqrt(mean(x^2) + eps))
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def layer_norm(x, w, b, eps):
    # nn.LayerNorm: biased variance
    mu = x.mean(-1, keepdim=True)
    var = (x - mu).pow(2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def gelu_new(x):
    # transformers.activations.NewGELUActivation (tanh approximation)
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def silu(x):
    return x * torch.sigmoid(x)


def visible_keys(attention_mask, sliding_window=None):
    """Boolean [B, Tq, Tk]: key k visible from query q.

    masking_utils: causal_mask_function `kv_idx <= q_idx`, sliding_window_overlay `kv_idx > q_idx - W`,
    padding_mask_function `padding_mask[b, kv_idx]` (padding masks KEYS only; padded queries still compute).
    """
    B, T = attention_mask.shape
    q = torch.arange(T)[:, None]
    k = torch.arange(T)[None, :]
    allowed = k <= q
    if sliding_window is not None:
        allowed = allowed & (k > q - sliding_window)
    allowed = allowed[None, :, :] & attention_mask.bool()[:, None, :]
    assert bool(allowed.any(-1).all()), "a query row with no visible key (ambiguous in HF)"
    return allowed


def eager_attention(q, k, v, allowed, scaling):
    """q [B,H,T,D], k/v [B,KV,T,D]; query head h reads kv head h // (H/KV) (repeat_kv)."""
    n_rep = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(n_rep, dim=1)
    v = v.repeat_interleave(n_rep, dim=1)
    scores = torch.matmul(q, k.transpose(-1, -2)) * scaling
    scores = scores.masked_fill(~allowed[:, None, :, :], torch.finfo(scores.dtype).min)
    probs = torch.softmax(scores, dim=-1)
    return torch.matmul(probs, v)  # [B,H,T,D]


def causal_lm_loss(logits, labels):
    """ForCausalLMLoss: pad labels right with -100, shift left by one, CE mean over non-ignored."""
    shift = F.pad(labels, (0, 1), value=IGNORE_INDEX)[:, 1:]
    flat_logits = logits.reshape(-1, logits.shape[-1])
    flat = shift.reshape(-1)
    keep = flat != IGNORE_INDEX
    logp = torch.log_softmax(flat_logits[keep], dim=-1)
    nll = -logp.gather(1, flat[keep][:, None])[:, 0]
    return nll.mean()


# ----------------------------------------------------------------------------------------------
# RoPE (modeling_rope_utils)
# ----------------------------------------------------------------------------------------------


def rope_inv_freq(cfg):
    """Returns (inv_freq float64 [D/2], per-frequency branch label list or None)."""
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    base = float(cfg["rope_theta"])
    # _compute_default_rope_parameters: 1 / base^(arange(0, dim, 2) / dim)
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    rs = cfg.get("rope_scaling")
    if rs is None:
        return inv_freq, None
    rtype = rs.get("rope_type", rs.get("type"))
    if rtype != "llama3":
        raise NotImplementedError(rtype)
    # _compute_llama3_parameters
    factor = rs["factor"]
    low_ff = rs["low_freq_factor"]
    high_ff = rs["high_freq_factor"]
    old_ctx = rs["original_max_position_embeddings"]
    low_freq_wavelen = old_ctx / low_ff
    high_freq_wavelen = old_ctx / high_ff
    wavelen = 2 * math.pi / inv_freq
    scaled = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth = (old_ctx / wavelen - low_ff) / (high_ff - low_ff)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    is_medium = (~(wavelen < high_freq_wavelen)) & (~(wavelen > low_freq_wavelen))
    out = torch.where(is_medium, smoothed, scaled)
    branches = [
        "high(kept)" if w < high_freq_wavelen else ("low(/factor)" if w > low_freq_wavelen else "medium(smoothed)")
        for w in wavelen.tolist()
    ]
    return out, branches


def rope_cos_sin(inv_freq, T):
    pos = torch.arange(T, dtype=torch.float64)  # position_ids default = arange(T) for every row
    freqs = pos[:, None] * inv_freq[None, :]
    emb = torch.cat([freqs, freqs], dim=-1)  # [T, D]
    return emb.cos(), emb.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


# ----------------------------------------------------------------------------------------------
# Llama / Mistral / Qwen2 (decoder-only, RMSNorm, RoPE, SwiGLU)
# ----------------------------------------------------------------------------------------------


def llama_bias_flags(cfg):
    """Which linears carry a bias, per model_type (the HF class decides, not only the config)."""
    mt = cfg["model_type"]
    if mt == "llama":
        a, m = cfg["attention_bias"], cfg["mlp_bias"]
        return {"q": a, "k": a, "v": a, "o": a, "mlp": m}
    if mt == "qwen2":  # Qwen2Attention: q/k/v bias=True, o_proj bias=False; Qwen2MLP bias=False
        return {"q": True, "k": True, "v": True, "o": False, "mlp": False}
    if mt == "mistral":
        return {"q": False, "k": False, "v": False, "o": False, "mlp": False}
    raise ValueError(mt)


def llama_sliding_window(cfg, layer):
    mt = cfg["model_type"]
    if mt == "mistral":
        return cfg.get("sliding_window")  # every layer uses the sliding-window causal mask when set
    if mt == "qwen2":
        if cfg.get("use_sliding_window") and layer >= cfg["max_window_layers"]:
            return cfg["sliding_window"]
        return None  # use_sliding_window false -> sliding_window is ignored
    return None


def llama_param_shapes(cfg):
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    C, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    D = cfg.get("head_dim") or C // H
    bias = llama_bias_flags(cfg)
    shapes = OrderedDict()
    shapes["model.embed_tokens.weight"] = (V, C)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes[p + "input_layernorm.weight"] = (C,)
        for n, (o, inp) in {"q": (H * D, C), "k": (KV * D, C), "v": (KV * D, C), "o": (C, H * D)}.items():
            shapes[p + f"self_attn.{n}_proj.weight"] = (o, inp)
            if bias[n]:
                shapes[p + f"self_attn.{n}_proj.bias"] = (o,)
        shapes[p + "post_attention_layernorm.weight"] = (C,)
        for n, (o, inp) in {"gate": (I, C), "up": (I, C), "down": (C, I)}.items():
            shapes[p + f"mlp.{n}_proj.weight"] = (o, inp)
            if bias["mlp"]:
                shapes[p + f"mlp.{n}_proj.bias"] = (o,)
    shapes["model.norm.weight"] = (C,)
    if not cfg["tie_word_embeddings"]:
        shapes["lm_head.weight"] = (V, C)
    return shapes


def _lin(x, p, name):
    y = x @ p[name + ".weight"].transpose(0, 1)
    b = p.get(name + ".bias")
    return y if b is None else y + b


def llama_forward(cfg, p, input_ids, attention_mask, lm_head=None):
    B, T = input_ids.shape
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    D = cfg.get("head_dim") or cfg["hidden_size"] // H
    eps = cfg["rms_norm_eps"]
    inv_freq, _ = rope_inv_freq(cfg)
    cos, sin = rope_cos_sin(inv_freq, T)
    x = p["model.embed_tokens.weight"][input_ids]
    for i in range(cfg["num_hidden_layers"]):
        pre = f"model.layers.{i}."
        allowed = visible_keys(attention_mask, llama_sliding_window(cfg, i))
        h = rms_norm(x, p[pre + "input_layernorm.weight"], eps)
        q = _lin(h, p, pre + "self_attn.q_proj").view(B, T, H, D).transpose(1, 2)
        k = _lin(h, p, pre + "self_attn.k_proj").view(B, T, KV, D).transpose(1, 2)
        v = _lin(h, p, pre + "self_attn.v_proj").view(B, T, KV, D).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        a = eager_attention(q, k, v, allowed, D ** -0.5)
        a = a.transpose(1, 2).reshape(B, T, H * D)
        x = x + _lin(a, p, pre + "self_attn.o_proj")
        h = rms_norm(x, p[pre + "post_attention_layernorm.weight"], eps)
        m = silu(_lin(h, p, pre + "mlp.gate_proj")) * _lin(h, p, pre + "mlp.up_proj")
        x = x + _lin(m, p, pre + "mlp.down_proj")
    x = rms_norm(x, p["model.norm.weight"], eps)
    if lm_head is None:
        lm_head = p["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else p["lm_head.weight"]
    return x @ lm_head.transpose(0, 1)


# ----------------------------------------------------------------------------------------------
# GPT-2 (Conv1D [in, out] weights, learned positions, LayerNorm, gelu_new)
# ----------------------------------------------------------------------------------------------


def gpt2_param_shapes(cfg):
    C, V, P = cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"]
    inner = cfg["n_inner"] if cfg["n_inner"] is not None else 4 * C
    shapes = OrderedDict()
    shapes["transformer.wte.weight"] = (V, C)
    shapes["transformer.wpe.weight"] = (P, C)
    for i in range(cfg["n_layer"]):
        p = f"transformer.h.{i}."
        shapes[p + "ln_1.weight"] = (C,)
        shapes[p + "ln_1.bias"] = (C,)
        shapes[p + "attn.c_attn.weight"] = (C, 3 * C)
        shapes[p + "attn.c_attn.bias"] = (3 * C,)
        shapes[p + "attn.c_proj.weight"] = (C, C)
        shapes[p + "attn.c_proj.bias"] = (C,)
        shapes[p + "ln_2.weight"] = (C,)
        shapes[p + "ln_2.bias"] = (C,)
        shapes[p + "mlp.c_fc.weight"] = (C, inner)
        shapes[p + "mlp.c_fc.bias"] = (inner,)
        shapes[p + "mlp.c_proj.weight"] = (inner, C)
        shapes[p + "mlp.c_proj.bias"] = (C,)
    shapes["transformer.ln_f.weight"] = (C,)
    shapes["transformer.ln_f.bias"] = (C,)
    # lm_head.weight is tied to transformer.wte.weight and not saved
    return shapes


def _conv1d(x, p, name):
    return x @ p[name + ".weight"] + p[name + ".bias"]  # Conv1D: weight [in, out]


def gpt2_forward(cfg, p, input_ids, attention_mask, lm_head=None):
    B, T = input_ids.shape
    C, H = cfg["n_embd"], cfg["n_head"]
    D = C // H
    eps = cfg["layer_norm_epsilon"]
    assert cfg["scale_attn_weights"] and not cfg["scale_attn_by_inverse_layer_idx"]
    allowed = visible_keys(attention_mask, None)
    x = p["transformer.wte.weight"][input_ids] + p["transformer.wpe.weight"][torch.arange(T)][None]
    for i in range(cfg["n_layer"]):
        pre = f"transformer.h.{i}."
        h = layer_norm(x, p[pre + "ln_1.weight"], p[pre + "ln_1.bias"], eps)
        q, k, v = _conv1d(h, p, pre + "attn.c_attn").split(C, dim=-1)
        q, k, v = (t.view(B, T, H, D).transpose(1, 2) for t in (q, k, v))
        a = eager_attention(q, k, v, allowed, 1.0 / math.sqrt(D))
        a = a.transpose(1, 2).reshape(B, T, C)
        x = x + _conv1d(a, p, pre + "attn.c_proj")
        h = layer_norm(x, p[pre + "ln_2.weight"], p[pre + "ln_2.bias"], eps)
        x = x + _conv1d(gelu_new(_conv1d(h, p, pre + "mlp.c_fc")), p, pre + "mlp.c_proj")
    x = layer_norm(x, p["transformer.ln_f.weight"], p["transformer.ln_f.bias"], eps)
    if lm_head is None:
        lm_head = p["transformer.wte.weight"]
    return x @ lm_head.transpose(0, 1)


# ----------------------------------------------------------------------------------------------
# configs (laid out as transformers 4.4x/4.5x save_pretrained writes them)
# ----------------------------------------------------------------------------------------------


def llama_config(**kw):
    c = {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "head_dim": None,
        "hidden_act": "silu",
        "hidden_size": 32,
        "initializer_range": 0.02,
        "intermediate_size": 64,
        "max_position_embeddings": 2048,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "num_key_value_heads": 4,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "rope_scaling": None,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "use_cache": True,
        "vocab_size": 128,
    }
    c.update(kw)
    if c["head_dim"] is None:  # LlamaConfig always writes head_dim (defaults to hidden/heads)
        c["head_dim"] = c["hidden_size"] // c["num_attention_heads"]
    return dict(sorted(c.items()))


def mistral_config(**kw):
    c = {
        "architectures": ["MistralForCausalLM"],
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "head_dim": 8,
        "hidden_act": "silu",
        "hidden_size": 48,
        "initializer_range": 0.02,
        "intermediate_size": 96,
        "max_position_embeddings": 32768,
        "model_type": "mistral",
        "num_attention_heads": 6,
        "num_hidden_layers": 2,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-05,
        "rope_theta": 10000.0,
        "sliding_window": 4,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "use_cache": True,
        "vocab_size": 112,
    }
    c.update(kw)
    return dict(sorted(c.items()))


def qwen2_config(**kw):
    c = {
        "architectures": ["Qwen2ForCausalLM"],
        "attention_dropout": 0.0,
        "bos_token_id": 94,
        "eos_token_id": 95,
        "hidden_act": "silu",
        "hidden_size": 32,
        "initializer_range": 0.02,
        "intermediate_size": 80,
        "max_position_embeddings": 32768,
        "max_window_layers": 1,
        "model_type": "qwen2",
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-06,
        "rope_scaling": None,
        "rope_theta": 1000000.0,
        # Real Qwen2/2.5 checkpoints ship a sliding_window value together with use_sliding_window false;
        # the window must then be ignored. A window (4) shorter than T makes that observable.
        "sliding_window": 4,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": 96,
    }
    c.update(kw)
    return dict(sorted(c.items()))


def gpt2_config(**kw):
    # dropouts set to 0.0 (GPT2Config defaults are 0.1) so that train-mode maths equals the goldens
    c = {
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.0,
        "bos_token_id": 127,
        "embd_pdrop": 0.0,
        "eos_token_id": 127,
        "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-05,
        "model_type": "gpt2",
        "n_embd": 32,
        "n_head": 4,
        "n_inner": None,
        "n_layer": 2,
        "n_positions": 32,
        "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.0,
        "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True,
        "summary_activation": None,
        "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True,
        "summary_type": "cls_index",
        "summary_use_proj": True,
        "torch_dtype": "float32",
        "use_cache": True,
        "vocab_size": 128,
    }
    c.update(kw)
    return dict(sorted(c.items()))


# ----------------------------------------------------------------------------------------------
# cases
# ----------------------------------------------------------------------------------------------


def init_params(shapes, gen):
    """float32 weights: matrices N(0, 0.15) (embeddings 0.2, wpe 0.1), norm weights 1 + 0.1 N, biases 0.1 N."""
    out = OrderedDict()
    for name, shape in shapes.items():
        z = torch.randn(shape, generator=gen, dtype=torch.float32)
        is_norm = "norm" in name or ".ln_" in name
        if name.endswith(".bias"):
            t = 0.1 * z
        elif is_norm:
            t = 1.0 + 0.1 * z
        elif "embed_tokens" in name or "wte" in name:
            t = 0.2 * z
        elif "wpe" in name:
            t = 0.1 * z
        else:
            t = 0.15 * z
        out[name] = t.contiguous()
    return out


def make_batch(vocab, T, gen):
    """Right padding: row 0 full, row 1 padded in its last 3 positions.

    labels = input_ids, -100 at padded positions and at row-0 prompt positions 0..2 (positions 1 and 2
    are the two that matter: label 0 is never a target after the shift)."""
    ids = torch.randint(3, vocab, (2, T), generator=gen, dtype=torch.int64)
    mask = torch.ones(2, T, dtype=torch.int64)
    mask[1, T - 3 :] = 0
    ids[1, T - 3 :] = PAD_TOKEN
    labels = ids.clone()
    labels[mask == 0] = IGNORE_INDEX
    labels[0, :3] = IGNORE_INDEX
    return ids, mask, labels


CASES = OrderedDict()


def case(name, seed, T, kind, cfg, store_dtype=torch.float32, weights_from=None, note=""):
    CASES[name] = dict(name=name, seed=seed, T=T, kind=kind, cfg=cfg, store_dtype=store_dtype,
                       weights_from=weights_from, note=note)


case("llama", 1001, 10, "llama", llama_config(),
     note="Llama-2 style: MHA (4 heads x 8), untied lm_head, default RoPE theta 1e4, rms eps 1e-5")
case("llama3", 1002, 12, "llama", llama_config(
    num_key_value_heads=2, head_dim=16, tie_word_embeddings=True, rope_theta=500000.0,
    max_position_embeddings=131072, bos_token_id=1, eos_token_id=2,
    rope_scaling={"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                  "original_max_position_embeddings": 8192, "rope_type": "llama3"}),
     note="Llama-3.x style: GQA 4q/2kv, explicit head_dim 16 != hidden/heads (8), tied embeddings, llama3 RoPE scaling")
case("mistral", 1003, 12, "llama", mistral_config(),
     note="Mistral: GQA 6q/2kv, sliding_window 4 < T=12, untied")
case("qwen2", 1004, 10, "llama", qwen2_config(),
     note="Qwen2: q/k/v bias, no o_proj bias, tied embeddings, rms eps 1e-6, theta 1e6, "
          "sliding_window 4 present but use_sliding_window false (ignored)")
case("llama_bias", 1005, 10, "llama", llama_config(vocab_size=100, num_key_value_heads=2, intermediate_size=48,
                                                    attention_bias=True, mlp_bias=True),
     note="Llama with attention_bias (q/k/v/o) and mlp_bias (gate/up/down), GQA 4q/2kv")
case("gpt2", 1006, 10, "gpt2", gpt2_config(),
     note="GPT-2: Conv1D [in,out], learned wpe, LayerNorm+bias, gelu_new, tied lm_head, scale_attn_weights")
case("llama_bf16", 1001, 10, "llama", llama_config(torch_dtype="bfloat16"), store_dtype=torch.bfloat16,
     weights_from="llama",
     note="the `llama` weights rounded to bf16 and stored as BF16; goldens from the bf16 values")


def run_model(c, p, ids, mask, lm_head=None):
    fwd = gpt2_forward if c["kind"] == "gpt2" else llama_forward
    return fwd(c["cfg"], p, ids, mask, lm_head=lm_head)


def vocab_of(cfg):
    return cfg["vocab_size"]


def embed_name(c):
    return "transformer.wte.weight" if c["kind"] == "gpt2" else "model.embed_tokens.weight"


def is_tied(c):
    return c["kind"] == "gpt2" or c["cfg"]["tie_word_embeddings"]


def greedy(c, p, prompt, steps):
    seq = prompt.clone()
    margins = []
    with torch.no_grad():
        for _ in range(steps):
            logits = run_model(c, p, seq, torch.ones_like(seq))[0, -1]
            top = torch.topk(logits, 2).values
            margins.append(float(top[0] - top[1]))
            nxt = int(torch.argmax(logits))
            seq = torch.cat([seq, torch.tensor([[nxt]], dtype=torch.int64)], dim=1)
    return seq[:, prompt.shape[1]:], min(margins)


def check_close(what, a, b, tol):
    err = float((a - b).abs().max())
    if not err <= tol:
        raise AssertionError(f"{what}: max abs diff {err:.3e} > {tol:.1e}")
    return err


def build_case(c, weights_cache):
    name, cfg = c["name"], c["cfg"]
    gen = torch.Generator().manual_seed(c["seed"])
    torch.manual_seed(c["seed"])
    shapes = gpt2_param_shapes(cfg) if c["kind"] == "gpt2" else llama_param_shapes(cfg)
    if c["weights_from"]:
        w32 = weights_cache[c["weights_from"]]
        assert list(w32) == list(shapes)
        gen = torch.Generator().manual_seed(c["seed"])
        init_params(shapes, gen)  # advance the generator exactly as the source case did
    else:
        w32 = init_params(shapes, gen)
    weights_cache[name] = w32
    stored = OrderedDict((k, v.to(c["store_dtype"])) for k, v in w32.items())
    params = OrderedDict((k, v.to(torch.float64).requires_grad_(True)) for k, v in stored.items())

    V = vocab_of(cfg)
    ids, mask, labels = make_batch(V, c["T"], gen)

    # forward + backward in float64
    logits = run_model(c, params, ids, mask)
    loss = causal_lm_loss(logits, labels)
    grads = torch.autograd.grad(loss, list(params.values()))
    grads = OrderedDict(zip(params.keys(), grads))

    checks = []
    # (1) loss == torch cross_entropy with ignore_index after the shift
    ref = F.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=IGNORE_INDEX)
    checks.append(("loss==F.cross_entropy", check_close("loss", loss, ref, 1e-13)))
    # (2) padding invariance: row 1 alone, truncated to its real length, gives the same logits
    n1 = int(mask[1].sum())
    with torch.no_grad():
        solo = run_model(c, params, ids[1:, :n1], mask[1:, :n1])
    checks.append(("pad-invariance", check_close("pad", logits[1, :n1].detach(), solo[0], 1e-12)))
    # (3) tie handling: untied copy of the embedding as lm_head -> grads sum to the tied grad
    if is_tied(c):
        assert "lm_head.weight" not in params
        en = embed_name(c)
        head = params[en].detach().clone().requires_grad_(True)
        l2 = causal_lm_loss(run_model(c, params, ids, mask, lm_head=head), labels)
        g_emb, g_head = torch.autograd.grad(l2, [params[en], head])
        checks.append(("tie: g_emb+g_head==g_tied", check_close("tie", g_emb + g_head, grads[en], 1e-13)))
    else:
        assert "lm_head.weight" in params
    # (4) central finite differences on a few entries
    fd_names = [embed_name(c), list(params)[2], list(params)[-1], list(params)[len(params) // 2]]
    worst = 0.0
    with torch.no_grad():
        for pn in fd_names:
            t = params[pn]
            flat_g = grads[pn].reshape(-1)
            # entry with the largest gradient plus one fixed other entry
            for idx in (int(flat_g.abs().argmax()), (7 * 31) % t.numel()):
                h = 1e-6
                orig = float(t.reshape(-1)[idx])
                t.reshape(-1)[idx] = orig + h
                lp = float(causal_lm_loss(run_model(c, params, ids, mask), labels))
                t.reshape(-1)[idx] = orig - h
                lm = float(causal_lm_loss(run_model(c, params, ids, mask), labels))
                t.reshape(-1)[idx] = orig
                fd = (lp - lm) / (2 * h)
                an = float(flat_g[idx])
                err = abs(fd - an) / (abs(an) + 1e-4)
                worst = max(worst, err)
                if err > 1e-5:
                    raise AssertionError(f"{name}: finite difference {pn}[{idx}]: fd {fd} vs autograd {an}")
    checks.append(("finite-diff rel", worst))
    # (5) sliding window actually matters (mistral) / is ignored (qwen2)
    if cfg["model_type"] in ("mistral", "qwen2"):
        alt = dict(cfg)
        if cfg["model_type"] == "mistral":
            alt["sliding_window"] = None
        else:
            alt["use_sliding_window"] = True
            alt["max_window_layers"] = 0
        with torch.no_grad():
            l_alt = run_model(dict(c, cfg=alt), params, ids, mask)
        diff = float((l_alt - logits.detach()).abs().max())
        assert diff > 1e-3, f"{name}: sliding window has no visible effect ({diff})"
        checks.append(("window-effect", diff))

    # greedy generation: 8 tokens, full recompute, argmax of last position, no EOS stop
    prompt_len = 5
    for attempt in range(400):
        pg = torch.Generator().manual_seed(c["seed"] * 100 + attempt)
        prompt = torch.randint(3, V, (1, prompt_len), generator=pg, dtype=torch.int64)
        with torch.no_grad():
            toks, margin = greedy(c, params, prompt, GEN_STEPS)
        eos = cfg.get("eos_token_id")
        # a clear argmax at every step, no EOS, and not a collapsed single-token loop
        if margin > 1e-2 and eos not in toks[0].tolist() and len(set(toks[0].tolist())) >= 4:
            break
    else:
        raise AssertionError(f"{name}: no prompt with a clear greedy margin")
    with torch.no_grad():  # consistency: one forward over prompt+generated reproduces every argmax
        full = torch.cat([prompt, toks], dim=1)
        lg = run_model(c, params, full, torch.ones_like(full))[0]
        again = lg[prompt_len - 1 : -1].argmax(-1)
    assert again.tolist() == toks[0].tolist(), f"{name}: greedy not self-consistent"
    checks.append(("greedy min top1-top2 margin", margin))

    # write
    d = OUT_ROOT / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    write_safetensors(d / "model.safetensors", stored)
    golden = OrderedDict()
    golden["input_ids"] = ids
    golden["attention_mask"] = mask
    golden["labels"] = labels
    golden["logits"] = logits.detach().to(torch.float32)
    golden["loss"] = loss.detach().to(torch.float32).reshape(())
    for k, g in grads.items():
        golden["grad." + k] = g.to(torch.float32)
    golden["gen.prompt"] = prompt
    golden["gen.greedy"] = toks
    meta = {
        "case": name,
        "reference": "float64 forward/backward on the stored weights upcast to double; stored as F32",
        "loss": "mean token cross-entropy over shifted labels != -100 (HF ForCausalLMLoss, no num_items_in_batch)",
        "position_ids": "arange(T) for every row",
        "loss_value_f64": repr(float(loss)),
        "num_loss_tokens": str(int((labels[:, 1:] != IGNORE_INDEX).sum())),
        "gen": f"{GEN_STEPS} greedy tokens, full recompute each step, argmax of last position, no EOS stop",
        "gen_min_margin": f"{margin:.6g}",
        "seed": str(c["seed"]),
    }
    write_safetensors(d / "golden.safetensors", golden, meta)

    # round trip
    back, _ = read_safetensors(d / "model.safetensors")
    for k in stored:
        assert torch.equal(back[k], stored[k]), k
    gback, gmeta = read_safetensors(d / "golden.safetensors")
    for k in golden:
        assert torch.equal(gback[k], golden[k]), k
    assert gmeta["case"] == name

    size = sum(f.stat().st_size for f in d.iterdir())
    assert size < 1_000_000, f"{name}: {size} bytes"
    return dict(name=name, loss=float(loss), checks=checks, size=size, n_params=len(params),
                ids=ids, prompt=prompt, toks=toks, logits_shape=list(logits.shape))


# ----------------------------------------------------------------------------------------------
# AdamW
# ----------------------------------------------------------------------------------------------


def adamw_reference(p0, grads, lr, b1, b2, eps, wd):
    """Independent float64 statement of torch.optim.AdamW (decoupled decay, bias-corrected)."""
    p = p0.double().clone()
    m = torch.zeros_like(p)
    v = torch.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        g = g.double()
        p = p * (1 - lr * wd)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        denom = v.sqrt() / math.sqrt(1 - b2 ** t) + eps
        p = p - (lr / (1 - b1 ** t)) * m / denom
    return p, m, v


def build_adamw(fname, lr, wd, seed, steps=3):
    b1, b2, eps = 0.9, 0.999, 1e-8
    gen = torch.Generator().manual_seed(seed)
    p0 = [torch.randn(4, 3, generator=gen), torch.randn(5, generator=gen)]
    params = [torch.nn.Parameter(t.clone()) for t in p0]
    opt = torch.optim.AdamW(params, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd, amsgrad=False)
    out = OrderedDict()
    for i, t in enumerate(p0):
        out[f"param0.{i}"] = t.clone()
    all_grads = [[], []]
    for step in range(1, steps + 1):
        gs = [torch.randn(4, 3, generator=gen), torch.randn(5, generator=gen)]
        # tiny gradient entries so that eps (added after sqrt and bias correction) is visible
        gs[1][0] = 3e-9 * (1 if step % 2 else -1)
        gs[1][1] = 2e-8
        for prm, g in zip(params, gs):
            prm.grad = g.clone()
        opt.step()
        for i, (prm, g) in enumerate(zip(params, gs)):
            out[f"grad{step}.{i}"] = g.clone()
            out[f"param{step}.{i}"] = prm.detach().clone()
            all_grads[i].append(g)
    worst = 0.0
    for i, prm in enumerate(params):
        st = opt.state[prm]
        out[f"exp_avg.{i}"] = st["exp_avg"].detach().clone()
        out[f"exp_avg_sq.{i}"] = st["exp_avg_sq"].detach().clone()
        rp, rm, rv = adamw_reference(p0[i], all_grads[i], lr, b1, b2, eps, wd)
        worst = max(worst, float((rp - prm.detach().double()).abs().max()))
        assert torch.allclose(rm, st["exp_avg"].double(), rtol=1e-5, atol=1e-7)
        assert torch.allclose(rv, st["exp_avg_sq"].double(), rtol=1e-5, atol=1e-12)
    assert worst < 1e-5, f"AdamW differs from the float64 restatement by {worst}"
    meta = {
        "optimizer": "torch.optim.AdamW",
        "torch_version": torch.__version__,
        "dtype": "float32",
        "lr": repr(lr),
        "beta1": repr(b1),
        "beta2": repr(b2),
        "eps": repr(eps),
        "weight_decay": repr(wd),
        "amsgrad": "false",
        "maximize": "false",
        "steps": str(steps),
        "num_params": "2",
        "keys": "param0.<i> initial; grad<s>.<i> gradient fed at step s; param<s>.<i> after step s; "
                "exp_avg.<i>/exp_avg_sq.<i> state after the last step",
        "update": "p*=1-lr*wd; m=b1*m+(1-b1)g; v=b2*v+(1-b2)g^2; "
                  "p-=lr/(1-b1^t)*m/(sqrt(v)/sqrt(1-b2^t)+eps)",
    }
    path = OUT_ROOT / "adamw" / fname
    write_safetensors(path, out, meta)
    back, _ = read_safetensors(path)
    for k in out:
        assert torch.equal(back[k], out[k]), k
    return worst


# ----------------------------------------------------------------------------------------------


def check_primitives():
    """Cross-check the hand-written primitives against torch's own ops."""
    g = torch.Generator().manual_seed(7)
    x = torch.randn(3, 5, 16, generator=g, dtype=torch.float64) * 3
    w, b = torch.randn(16, generator=g, dtype=torch.float64), torch.randn(16, generator=g, dtype=torch.float64)
    check_close("layer_norm", layer_norm(x, w, b, 1e-5), F.layer_norm(x, (16,), w, b, 1e-5), 1e-12)
    check_close("gelu_new", gelu_new(x), F.gelu(x, approximate="tanh"), 1e-12)
    check_close("silu", silu(x), F.silu(x), 1e-12)
    # eager attention with a plain causal mask == explicit per-query loop
    q, k, v = (torch.randn(2, 4, 6, 8, generator=g, dtype=torch.float64) for _ in range(3))
    k, v = k[:, :2], v[:, :2]
    out = eager_attention(q, k, v, visible_keys(torch.ones(2, 6, dtype=torch.int64), 3), 8 ** -0.5)
    for h in range(4):
        for t in range(6):
            lo = max(0, t - 3 + 1)  # window 3: keys t-2..t
            s = (q[:, h, t : t + 1] @ k[:, h // 2, lo : t + 1].transpose(-1, -2)) / math.sqrt(8)
            ref = torch.softmax(s, -1) @ v[:, h // 2, lo : t + 1]
            check_close("attention", out[:, h, t : t + 1], ref, 1e-12)


def main():
    t0 = time.time()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    assert sys.byteorder == "little"
    print(f"torch {torch.__version__}; writing to {OUT_ROOT}")
    check_primitives()

    _, br = rope_inv_freq(CASES["llama3"]["cfg"])
    # llama3 case (head_dim 16, theta 5e5, orig ctx 8192): wavelengths 6.3, 32, 167, 862 -> high (kept);
    # 4443 -> medium (smoothed); 22913, 118141, 609135 -> low (divided by factor 8).
    assert {"high(kept)", "medium(smoothed)", "low(/factor)"} <= set(br), br
    print("llama3 rope branches per frequency:", ", ".join(br))

    cache = {}
    for c in CASES.values():
        r = build_case(c, cache)
        chk = "; ".join(f"{k} {v:.2e}" if isinstance(v, float) else k for k, v in r["checks"])
        print(f"  {r['name']:<11} logits {r['logits_shape']} loss {r['loss']:.6f} params {r['n_params']:>2} "
              f"size {r['size'] / 1024:.0f} KiB | gen {r['toks'][0].tolist()} | {chk}")

    w1 = build_adamw("golden.safetensors", lr=1e-2, wd=0.1, seed=2001)
    w2 = build_adamw("golden_wd0.safetensors", lr=5e-2, wd=0.0, seed=2002)
    print(f"  adamw       golden.safetensors (lr 1e-2, wd 0.1) vs f64 restatement {w1:.1e}; "
          f"golden_wd0.safetensors (lr 5e-2, wd 0) {w2:.1e}")
    print(f"done in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
