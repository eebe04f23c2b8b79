#!/usr/bin/env python3
"""Greedy generations of the real stories260K model by llama2.c's own algorithm, for laketune's parity test.

    /usr/bin/python3 model-zoo/src/test/python/make_llama2c_fixtures.py

Reads llama2.c's original files `stories260K.bin` and `tok512.bin` from the shared model folder
(`../shared/models/stories260K/` relative to the project root, or `$LAKETUNE_MODELS_DIR/stories260K/`) and
writes `model-zoo/src/test/resources/fixtures/stories260k/greedy.json` and `greedy_logits.safetensors`.
The Java test (`Stories260KParityTest`) runs laketune on the Hugging Face form of the same model (`hf/`) and
must reproduce the token ids and generations recorded here.

This is a numpy re-statement of karpathy/llama2.c `run.c` (master, commit 350e04f), read from its source:

    read_checkpoint / memory_map_weights   the .bin layout: 7 int32 (dim, hidden_dim, n_layers, n_heads,
                                           n_kv_heads, vocab_size, seq_len; vocab_size < 0 = untied wcls),
                                           then fp32 token_embedding_table, rms_att_weight, wq, wk, wv, wo,
                                           rms_ffn_weight, w1, w2, w3, rms_final_weight, 2 x seq_len*head_size/2
                                           of unused freq_cis, then wcls when untied (export.py legacy_export)
    rmsnorm                                o = w * (x / sqrt(mean(x^2) + 1e-5))
    forward                                one token at one position against the KV cache: llama2.c's
                                           interleaved RoPE (pairs (i, i+1), freq 1/10000^((i % head_size)
                                           / head_size)), scores / sqrt(head_size), query head h reads kv head
                                           h / (n_heads / n_kv_heads), SwiGLU w2(silu(w1 x) * w3 x)
    build_tokenizer                        tok512.bin: uint32 max_token_length, then per token float score,
                                           int32 length, bytes (tokenizer.py export: '▁' written as ' ', BOS as
                                           '\\n<s>\\n', EOS as '\\n</s>\\n')
    encode                                 optional BOS (1), a dummy-prefix " " token when the text is not empty,
                                           one token per UTF-8 code point found in the vocabulary (else its bytes
                                           + 3: byte fallback), then repeatedly merge the adjacent pair whose
                                           concatenation is in the vocabulary with the highest score (first such
                                           pair on ties)
    decode                                 a piece after BOS loses its leading space; '<0xXX>' pieces are bytes
    sample_argmax / generate               temperature 0: argmax (first maximum); the prompt is fed token by token
                                           (encode with BOS, no EOS), generation stops when BOS (1) comes out

All maths is float64 on the stored float32 weights (run.c computes in float32; the recorded top-1 / top-2 margins
show that the choices do not hang on rounding). A float32 pass of the same code must choose the same tokens.
"""

import json
import os
import struct
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[3]
OUT = HERE.parent / "resources" / "fixtures" / "stories260k"
sys.path.insert(0, str(HERE))

MAX_NEW_TOKENS = 48
# Prompts a TinyStories model has seen the like of, and the empty prompt (run.c then starts from BOS alone).
PROMPTS = [
    "Once upon a time",
    "Lily and Tom went to the park",
    "The little dog was sad because",
    "One day, a big bear found a red ball",
    "",
]
# Cases whose logits at every position are stored too (the others: ids only, to keep the fixture small).
LOGITS_CASES = (0, 2)
# Texts whose ids only are compared (laketune's HF tokenizer vs run.c encode): spaces, punctuation, digits,
# capitals, non-ASCII code points in and outside the vocabulary (byte fallback), a tab and a newline.
ENCODE_ONLY = [
    "Hello world!",
    "  two leading spaces and two trailing  ",
    "\"Yes,\" said Mom. \"It's 3 o'clock.\"",
    "tab\there, newline\nthere",
    "caf\u00e9 na\u00efve \u00fcber",
    "emoji \U0001F600 and \u4e2d\u6587",
    "BIG LETTERS and small",
]


def models_dir():
    configured = os.environ.get("LAKETUNE_MODELS_DIR")
    return Path(configured) if configured else (PROJECT / ".." / "shared" / "models").resolve()


# ----------------------------------------------------------------------------------------------
# checkpoint (run.c read_checkpoint / memory_map_weights)
# ----------------------------------------------------------------------------------------------


def read_checkpoint(path):
    raw = Path(path).read_bytes()
    dim, hidden, n_layers, n_heads, n_kv, vocab, seq_len = struct.unpack("<7i", raw[:28])
    shared = vocab > 0
    vocab = abs(vocab)
    cfg = dict(dim=dim, hidden_dim=hidden, n_layers=n_layers, n_heads=n_heads, n_kv_heads=n_kv, vocab_size=vocab,
               seq_len=seq_len)
    head = dim // n_heads
    kv_dim = dim * n_kv // n_heads
    data = np.frombuffer(raw, dtype="<f4", offset=28)
    pos = 0

    def take(*shape):
        nonlocal pos
        n = int(np.prod(shape))
        a = data[pos : pos + n].reshape(shape)
        pos += n
        return a

    w = {}
    w["token_embedding_table"] = take(vocab, dim)
    w["rms_att_weight"] = take(n_layers, dim)
    w["wq"] = take(n_layers, dim, dim)  # [layer, out, in]: matmul(xout, x, w, n, d) is W (d,n) @ x (n,)
    w["wk"] = take(n_layers, kv_dim, dim)
    w["wv"] = take(n_layers, kv_dim, dim)
    w["wo"] = take(n_layers, dim, dim)
    w["rms_ffn_weight"] = take(n_layers, dim)
    w["w1"] = take(n_layers, hidden, dim)
    w["w2"] = take(n_layers, dim, hidden)
    w["w3"] = take(n_layers, hidden, dim)
    w["rms_final_weight"] = take(dim)
    pos += seq_len * head // 2  # freq_cis_real, unused since RoPE is computed on the fly
    pos += seq_len * head // 2  # freq_cis_imag
    if shared:
        w["wcls"] = w["token_embedding_table"]
    else:
        w["wcls"] = take(vocab, dim)
    if pos != data.size:
        raise AssertionError(f"{path}: {data.size - pos} floats left over after the weights")
    return cfg, w


# ----------------------------------------------------------------------------------------------
# forward (run.c rmsnorm / softmax / forward), one token at a time against a KV cache
# ----------------------------------------------------------------------------------------------


class Llama2c:
    def __init__(self, cfg, weights, dtype):
        self.c = cfg
        self.dt = dtype
        self.w = {k: v.astype(dtype) for k, v in weights.items()}
        kv_dim = cfg["dim"] * cfg["n_kv_heads"] // cfg["n_heads"]
        self.key_cache = np.zeros((cfg["n_layers"], cfg["seq_len"], kv_dim), dtype)
        self.value_cache = np.zeros_like(self.key_cache)

    def rmsnorm(self, x, weight):
        ss = np.mean(x * x) + self.dt(1e-5)
        return weight * (x / np.sqrt(ss))

    @staticmethod
    def softmax(x):
        e = np.exp(x - x.max())
        return e / e.sum()

    def forward(self, token, pos):
        c, w, dt = self.c, self.w, self.dt
        dim, n_heads = c["dim"], c["n_heads"]
        head_size = dim // n_heads
        kv_dim = dim * c["n_kv_heads"] // n_heads
        kv_mul = n_heads // c["n_kv_heads"]
        x = w["token_embedding_table"][token].copy()
        for l in range(c["n_layers"]):
            xb = self.rmsnorm(x, w["rms_att_weight"][l])
            q = w["wq"][l] @ xb
            k = w["wk"][l] @ xb
            v = w["wv"][l] @ xb
            # RoPE: rotate the pairs (i, i+1) of q (and of k where i < kv_dim) by pos * freq
            for i in range(0, dim, 2):
                head_dim = i % head_size
                freq = dt(1.0) / np.power(dt(10000.0), dt(head_dim) / dt(head_size))
                val = dt(pos) * freq
                fcr, fci = np.cos(val), np.sin(val)
                for vec in (q, k) if i < kv_dim else (q,):
                    v0, v1 = vec[i], vec[i + 1]
                    vec[i] = v0 * fcr - v1 * fci
                    vec[i + 1] = v0 * fci + v1 * fcr
            self.key_cache[l, pos] = k
            self.value_cache[l, pos] = v
            att_out = np.zeros(dim, dt)
            for h in range(n_heads):
                qh = q[h * head_size : (h + 1) * head_size]
                kvh = (h // kv_mul) * head_size
                keys = self.key_cache[l, : pos + 1, kvh : kvh + head_size]
                att = self.softmax(keys @ qh / np.sqrt(dt(head_size)))
                att_out[h * head_size : (h + 1) * head_size] = att @ self.value_cache[l, : pos + 1, kvh : kvh + head_size]
            x = x + w["wo"][l] @ att_out
            xb = self.rmsnorm(x, w["rms_ffn_weight"][l])
            hb = w["w1"][l] @ xb
            hb2 = w["w3"][l] @ xb
            hb = hb * (dt(1.0) / (dt(1.0) + np.exp(-hb))) * hb2
            x = x + w["w2"][l] @ hb
        x = self.rmsnorm(x, w["rms_final_weight"])
        return w["wcls"] @ x


# ----------------------------------------------------------------------------------------------
# tokenizer (run.c build_tokenizer / encode / decode)
# ----------------------------------------------------------------------------------------------


class Tokenizer:
    def __init__(self, path, vocab_size):
        raw = Path(path).read_bytes()
        (self.max_token_length,) = struct.unpack("<I", raw[:4])
        off = 4
        self.vocab, self.scores = [], []
        for _ in range(vocab_size):
            score, n = struct.unpack("<fi", raw[off : off + 8])
            off += 8
            self.vocab.append(raw[off : off + n])
            off += n
            self.scores.append(score)
        if off != len(raw):
            raise AssertionError(f"{path}: {len(raw) - off} bytes after {vocab_size} tokens")
        self.lookup = {piece: i for i, piece in enumerate(self.vocab)}  # str_lookup over the sorted vocabulary
        if len(self.lookup) != vocab_size:
            raise AssertionError("duplicate pieces: str_lookup's bsearch would be ambiguous")

    def encode(self, text, bos, eos):
        data = text.encode("utf-8")
        tokens = []
        if bos:
            tokens.append(1)
        if data:
            tokens.append(self.lookup[b" "])  # add_dummy_prefix
        i = 0
        while i < len(data):
            # one code point: this byte plus following continuation bytes (10xxxxxx), at most 4 bytes in all
            j = i + 1
            while j < len(data) and (data[j] & 0xC0) == 0x80 and j - i < 4:
                j += 1
            cp = data[i:j]
            if cp in self.lookup:
                tokens.append(self.lookup[cp])
            else:
                tokens.extend(b + 3 for b in cp)  # byte fallback: <0x00> is id 3
            i = j
        while True:
            best_score, best_id, best_idx = -1e10, -1, -1
            for k in range(len(tokens) - 1):
                merged = self.vocab[tokens[k]] + self.vocab[tokens[k + 1]]
                cand = self.lookup.get(merged, -1)
                if cand != -1 and self.scores[cand] > best_score:
                    best_score, best_id, best_idx = self.scores[cand], cand, k
            if best_idx == -1:
                break
            tokens[best_idx : best_idx + 2] = [best_id]
        if eos:
            tokens.append(2)
        return tokens

    def decode(self, prev_token, token):
        piece = self.vocab[token]
        if prev_token == 1 and piece[:1] == b" ":
            piece = piece[1:]
        if len(piece) == 6 and piece.startswith(b"<0x") and piece.endswith(b">"):
            piece = bytes([int(piece[3:5], 16)])
        return piece


def sample_argmax(logits):
    return int(np.argmax(logits))  # first index of the maximum, as run.c's strict '>' scan


def generate(model, tok, prompt, max_new_tokens):
    """run.c generate() with temperature 0 and steps = len(prompt ids) - 1 + max_new_tokens.

    Returns (prompt ids, generated ids, the text run.c prints, logits at every position, margins of each choice).
    """
    ids = tok.encode(prompt, bos=True, eos=False)
    steps = len(ids) - 1 + max_new_tokens
    token, pos = ids[0], 0
    out, text, all_logits, margins = [], b"", [], []
    while pos < steps:
        logits = model.forward(token, pos)
        all_logits.append(logits.copy())
        if pos < len(ids) - 1:
            nxt = ids[pos + 1]
        else:
            nxt = sample_argmax(logits)
            top2 = np.sort(logits)[-2:]
            margins.append(float(top2[1] - top2[0]))
            out.append(nxt)
        pos += 1
        if nxt == 1:
            break
        text += tok.decode(token, nxt)
        token = nxt
    return ids, out, text.decode("utf-8", errors="replace"), np.stack(all_logits), margins


def main():
    import make_fixtures as mf  # safetensors writer and reader

    root = models_dir() / "stories260K"
    ckpt, tokfile = root / "stories260K.bin", root / "tok512.bin"
    for f in (ckpt, tokfile):
        if not f.is_file():
            sys.exit(f"{f} is missing: set LAKETUNE_MODELS_DIR to the folder that holds stories260K/")
    cfg, weights = read_checkpoint(ckpt)
    tok = Tokenizer(tokfile, cfg["vocab_size"])
    print(f"stories260K: {cfg}; tokenizer max_token_length {tok.max_token_length}")

    cases = []
    golden = {}
    for n, prompt in enumerate(PROMPTS):
        ids, out, text, logits, margins = generate(Llama2c(cfg, weights, np.float64), tok, prompt, MAX_NEW_TOKENS)
        ids32, out32, _, logits32, _ = generate(Llama2c(cfg, weights, np.float32), tok, prompt, MAX_NEW_TOKENS)
        if ids32 != ids or out32 != out:
            raise AssertionError(f"prompt {prompt!r}: the float32 pass chooses other tokens")
        f32_err = float(np.abs(logits32.astype(np.float64) - logits).max())
        stopped = out[-1] == 1
        if len(out) < 30:
            raise AssertionError(f"prompt {prompt!r}: only {len(out)} tokens before BOS")
        cases.append({
            "prompt": prompt,
            "prompt_ids": ids,
            "generated_ids": out,
            "stopped_at_bos": stopped,
            "text": text,
            "min_margin": min(margins),
            "float32_max_logit_diff": f32_err,
        })
        if n in LOGITS_CASES:
            golden[f"logits.{n}"] = logits.astype(np.float32)
        print(f"  {prompt!r}: ids {ids} -> {len(out)} tokens, min top1-top2 margin {min(margins):.4f}, "
              f"float32 logits within {f32_err:.1e}\n    {text!r}")

    encode_only = [{"text": t, "ids": tok.encode(t, bos=True, eos=False)} for t in ENCODE_ONLY]
    doc = {
        "source": "make_llama2c_fixtures.py: numpy re-statement of llama2.c run.c (karpathy/llama2.c 350e04f) "
                  "on stories260K.bin and tok512.bin, float64",
        "generation": f"run.c generate, temperature 0, encode(prompt, bos=1, eos=0), at most {MAX_NEW_TOKENS} "
                      "new tokens, stops when BOS (1) comes out (it is then the last generated id)",
        "text": "what run.c prints: the prompt pieces then the generated pieces, decoded as run.c decode does",
        "logits": f"greedy_logits.safetensors logits.<case> for cases {list(LOGITS_CASES)}: F32 [positions, vocab], "
                  "the logits run.c's forward returns at positions 0..len(prompt_ids)+len(generated_ids)-2",
        "cases": cases,
        "encode_only": encode_only,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "greedy.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    import torch

    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in golden.items()}
    mf.write_safetensors(OUT / "greedy_logits.safetensors", tensors,
                         {"source": "make_llama2c_fixtures.py", "dtype": "float64 maths stored as F32"})
    back, _ = mf.read_safetensors(OUT / "greedy_logits.safetensors")
    for k, v in tensors.items():
        assert torch.equal(back[k], v), k
    for e in encode_only:
        print(f"  encode {e['text']!r}: {e['ids']}")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
