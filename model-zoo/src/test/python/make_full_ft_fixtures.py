#!/usr/bin/env python3
"""A few full fine-tuning steps of the real stories260K model in torch, for laketune's trainer to reproduce.

    /usr/bin/python3 model-zoo/src/test/python/make_full_ft_fixtures.py

Reads the Hugging Face form of stories260K (`hf/model.safetensors`, `hf/config.json`) from the shared model folder
(`../shared/models/stories260K/` relative to the project root, or `$LAKETUNE_MODELS_DIR/stories260K/`) and writes
`model-zoo/src/test/resources/fixtures/stories260k/full_ft.safetensors`. The Java test
(`Stories260KFullFineTuneTest` in spark-trainer) runs the same steps through laketune's training job and compares.

The model is make_fixtures.py's re-statement of transformers' LlamaForCausalLM (eager attention, right padding
masks keys, tied embeddings) and its ForCausalLMLoss; the training step is what HF Trainer does with these
settings, in torch's own pieces:

    loss.backward()                                      mean token cross-entropy of the whole batch
    torch.nn.utils.clip_grad_norm_(params, MAX_GRAD_NORM)  one global L2 norm over every gradient
    torch.optim.AdamW, two groups                        weight decay on the matrices, none on the 1-D norm
                                                         weights (Trainer.get_decay_parameter_names)
    lr of step k = get_cosine_schedule_with_warmup(k)    k / warmup during warmup, then half a cosine to 0

The batch: ROWS token rows (llama2.c's encode of TinyStories-like text, BOS first, cut to each row's length),
right-padded to SEQ with attention_mask 0 and label -100; labels are the ids (the model shifts them). Every step
trains on the whole batch, so a trainer whose global batch is these rows sees exactly this gradient at every step
whatever order it visits them in.

The reference runs in float64 (parameters upcast from the stored float32) and is what gets written; the same
steps in float32 torch are run too, and how far they land from float64 is recorded in the metadata: the Java
test's tolerances are measured against that floor.

full_ft.safetensors:
    input_ids, attention_mask, labels    I64 [ROWS, SEQ]
    loss F64 [STEPS]                     loss of the batch before update k (what the trainer logs for step k+1)
    grad_norm F64 [STEPS]                global gradient norm before clipping
    lr F64 [STEPS]                       learning rate of update k
    delta.<name> F32                     (final - initial) weights, in full, for the FULL_DELTA tensors
    delta_row_norm.<name> F64 [rows]     per output row (1-D tensors: one row) L2 norm of final - initial,
    delta_row_sum.<name> F64 [rows]      and its sum, for every tensor
"""

import math
import os
import sys
from collections import OrderedDict
from pathlib import Path
import json

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_fixtures as mf  # noqa: E402  (Llama forward, loss, safetensors reader / writer)
import make_llama2c_fixtures as l2c  # noqa: E402  (run.c's encode on tok512.bin)

OUT = HERE.parent / "resources" / "fixtures" / "stories260k" / "full_ft.safetensors"

SEQ = 32
STEPS = 6
LR = 2e-3
WARMUP = 2
WEIGHT_DECAY = 0.1
MAX_GRAD_NORM = 1.0
BETAS = (0.9, 0.999)
EPS = 1e-8
TEXTS = [
    ("Once upon a time, there was a little boy named Ben. He liked to run in the green grass with his dog.", 32),
    ("Sara had a big red kite. One windy day she took it to the hill and it flew up high into the sky.", 32),
    ("The cat sat on the mat and looked at the bird. The bird sang a happy song.", 27),
    ("Mom made a cake for Tim. He said thank you and gave her a hug.", 21),
]
FULL_DELTA = [
    "model.embed_tokens.weight",
    "model.layers.0.self_attn.q_proj.weight",
    "model.layers.0.self_attn.k_proj.weight",
    "model.layers.0.input_layernorm.weight",
    "model.layers.4.mlp.down_proj.weight",
    "model.norm.weight",
]


def lr_at(k):
    """transformers get_cosine_schedule_with_warmup(num_cycles=0.5) lr_lambda, times the peak lr."""
    if k < WARMUP:
        return LR * k / max(1, WARMUP)
    progress = (k - WARMUP) / max(1, STEPS - WARMUP)
    return LR * max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress)))


def batch(tok):
    ids = torch.zeros(len(TEXTS), SEQ, dtype=torch.int64)
    mask = torch.zeros_like(ids)
    for r, (text, n) in enumerate(TEXTS):
        t = tok.encode(text, bos=True, eos=False)
        if len(t) < n:
            raise AssertionError(f"row {r}: {len(t)} tokens, {n} wanted")
        ids[r, :n] = torch.tensor(t[:n])
        mask[r, :n] = 1
    labels = ids.masked_fill(mask == 0, mf.IGNORE_INDEX)
    ids = ids.masked_fill(mask == 0, mf.PAD_TOKEN)
    return ids, mask, labels


def train(cfg, w32, ids, mask, labels, dtype):
    # make_fixtures.py builds the RoPE tables in float64; the float32 pass takes them in float32 as HF does
    tables64 = mf.rope_cos_sin
    mf.rope_cos_sin = lambda inv_freq, T: tuple(t.to(dtype) for t in tables64(inv_freq, T))
    try:
        return _train(cfg, w32, ids, mask, labels, dtype)
    finally:
        mf.rope_cos_sin = tables64


def _train(cfg, w32, ids, mask, labels, dtype):
    params = OrderedDict((k, torch.nn.Parameter(v.to(dtype).clone())) for k, v in w32.items())
    decay = [p for k, p in params.items() if p.dim() >= 2]
    no_decay = [p for k, p in params.items() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=LR, betas=BETAS, eps=EPS)
    losses, norms, lrs = [], [], []
    for k in range(STEPS):
        opt.zero_grad(set_to_none=True)
        loss = mf.causal_lm_loss(mf.llama_forward(cfg, params, ids, mask), labels)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(list(params.values()), MAX_GRAD_NORM)
        for g in opt.param_groups:
            g["lr"] = lr_at(k)
        opt.step()
        losses.append(float(loss))
        norms.append(float(norm))
        lrs.append(lr_at(k))
    return OrderedDict((k, p.detach()) for k, p in params.items()), losses, norms, lrs


def rows_of(t):
    return t.reshape(1, -1) if t.dim() == 1 else t.reshape(t.shape[0], -1)


def main():
    torch.set_num_threads(2)
    root = l2c.models_dir() / "stories260K"
    hf = root / "hf"
    if not (hf / "model.safetensors").is_file():
        sys.exit(f"{hf} is missing: set LAKETUNE_MODELS_DIR to the folder that holds stories260K/")
    cfg = json.loads((hf / "config.json").read_text())
    w32, _ = mf.read_safetensors(hf / "model.safetensors")
    assert list(w32) == list(mf.llama_param_shapes(cfg)), "unexpected tensor names"
    tok = l2c.Tokenizer(root / "tok512.bin", cfg["vocab_size"])
    ids, mask, labels = batch(tok)

    final64, losses, norms, lrs = train(cfg, w32, ids, mask, labels, torch.float64)
    final32, losses32, norms32, _ = train(cfg, w32, ids, mask, labels, torch.float32)

    # float32 torch vs the float64 reference: the floor any float32 implementation stands on
    loss_rel32 = max(abs(a - b) / abs(a) for a, b in zip(losses, losses32))
    delta_rel32 = 0.0
    for k in w32:
        d64 = final64[k] - w32[k].double()
        d32 = final32[k].double() - w32[k].double()
        delta_rel32 = max(delta_rel32, float((d32 - d64).norm() / d64.norm()))
    clipped = sum(n > MAX_GRAD_NORM for n in norms)
    if clipped == 0 or clipped == STEPS:
        raise AssertionError(f"grad norms {norms}: clipping should act on some steps and not others")

    golden = OrderedDict()
    golden["input_ids"], golden["attention_mask"], golden["labels"] = ids, mask, labels
    golden["loss"] = torch.tensor(losses, dtype=torch.float64)
    golden["grad_norm"] = torch.tensor(norms, dtype=torch.float64)
    golden["lr"] = torch.tensor(lrs, dtype=torch.float64)
    for k in w32:
        d = final64[k] - w32[k].double()
        if k in FULL_DELTA:
            golden["delta." + k] = d.to(torch.float32)
        golden["delta_row_norm." + k] = rows_of(d).norm(dim=1)
        golden["delta_row_sum." + k] = rows_of(d).sum(dim=1)
    meta = {
        "source": "make_full_ft_fixtures.py: float64 torch, HF LlamaForCausalLM re-statement (make_fixtures.py)",
        "torch_version": torch.__version__,
        "steps": str(STEPS), "lr": repr(LR), "warmup_steps": str(WARMUP), "schedule": "cosine",
        "weight_decay": repr(WEIGHT_DECAY), "max_grad_norm": repr(MAX_GRAD_NORM), "beta1": repr(BETAS[0]),
        "beta2": repr(BETAS[1]), "eps": repr(EPS),
        "decay": "tensors with 2 or more dimensions; the 1-D norm weights get none",
        "float32_torch_loss_max_rel": f"{loss_rel32:.3e}",
        "float32_torch_delta_max_rel": f"{delta_rel32:.3e}",
        "full_delta": ",".join(FULL_DELTA),
    }
    mf.write_safetensors(OUT, golden, meta)
    back, _ = mf.read_safetensors(OUT)
    for k in golden:
        assert torch.equal(back[k], golden[k]), k
    print(f"rows {mask.sum(1).tolist()} tokens, {int((labels[:, 1:] != -100).sum())} loss tokens")
    print("loss      " + " ".join(f"{x:.6f}" for x in losses))
    print("grad norm " + " ".join(f"{x:.4f}" for x in norms) + f"  (clip at {MAX_GRAD_NORM}: {clipped} of {STEPS})")
    print("lr        " + " ".join(f"{x:.2e}" for x in lrs))
    print(f"float32 torch vs float64: loss within {loss_rel32:.2e} relative; per-tensor ||delta32 - delta64|| / "
          f"||delta64|| at most {delta_rel32:.2e}")
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
