#!/usr/bin/python3
"""PyTorch peer of the SFT-epoch benchmark (sft_epoch_bench.py): one epoch of LoRA SFT as HF Trainer
does it by default, over the exact token ids laketune prepared (SftEpochBenchmark export).

The model is long_context_peer.Model (the benchmark shape: hidden 512, 8 layers, HF eager attention)
with the tokenizer's vocab, its frozen base read from the same model.safetensors laketune trains
(seeded init), LoRA r=16 alpha 32 on every linear module of the blocks, A kaiming-uniform as PEFT,
B zero. HF Trainer's defaults: the records in a seeded random order (RandomSampler), batches of
--batch records right-padded to their longest row (a padded position is never attended by a real one
under the causal mask, so no attention mask changes the real logits), labels -100 on prompt and
padding, logits for every position of the padded batch, the mean cross-entropy over the batch's
labelled tokens; AdamW (no weight decay), clip_grad_norm_(1.0), linear decay without warm-up.
Validation: the token-weighted mean cross-entropy over every completion token of the validation
records, as laketune's evaluation.

Run: OMP_NUM_THREADS=2 /usr/bin/python3 sft_epoch_peer.py MODEL_DIR TRAIN.jsonl VAL.jsonl --batch B
     [--lr 1e-3] [--threads 2] [--seed 42]
Prints one JSON line: trained tokens (non-padding), steps, epoch seconds, validation loss.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import long_context_peer as lcp  # noqa: E402  (the benchmark model)
from make_fixtures import read_safetensors  # noqa: E402

HF_NAMES = {"n1": "input_layernorm", "n2": "post_attention_layernorm", "q": "self_attn.q_proj",
            "k": "self_attn.k_proj", "v": "self_attn.v_proj", "o": "self_attn.o_proj",
            "gate": "mlp.gate_proj", "up": "mlp.up_proj", "down": "mlp.down_proj"}


def load_model(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        vocab = json.load(f)["vocab_size"]
    model = lcp.Model("lora", checkpointing=False, vocab=vocab)
    w, _ = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    with torch.no_grad():
        model.embed.copy_(w["model.embed_tokens.weight"])
        model.lm_head.copy_(w["lm_head.weight"])
        model.norm.weight.copy_(w["model.norm.weight"])
        for i, blk in enumerate(model.blocks):
            for short, hf in HF_NAMES.items():
                getattr(blk, short).weight.copy_(w[f"model.layers.{i}.{hf}.weight"])
                if hasattr(getattr(blk, short), "lora_A"):
                    torch.nn.init.kaiming_uniform_(getattr(blk, short).lora_A, a=math.sqrt(5))
    return model


def read_records(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def padded(records):
    """(ids, labels) [B, longest]: right padding, labels -100 there."""
    t = max(len(r["input_ids"]) for r in records)
    ids = torch.zeros(len(records), t, dtype=torch.long)
    labels = torch.full((len(records), t), -100, dtype=torch.long)
    for b, r in enumerate(records):
        ids[b, :len(r["input_ids"])] = torch.tensor(r["input_ids"])
        labels[b, :len(r["labels"])] = torch.tensor(r["labels"])
    return ids, labels


def validation_loss(model, records, batch):
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(records), batch):
            ids, labels = padded(records[i:i + batch])
            n = int((labels[:, 1:] != -100).sum())
            total += model(ids, labels).item() * n
            count += n
    return total / count


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("train")
    ap.add_argument("validation")
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = load_model(a.model)
    train, val = read_records(a.train), read_records(a.validation)
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(a.seed)).tolist()
    batches = [[train[j] for j in order[i:i + a.batch]] for i in range(0, len(order), a.batch)]
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1.0 - s / len(batches)))
    tokens = sum(len(r["input_ids"]) for r in train)
    t0 = time.time()
    for step, records in enumerate(batches):
        ids, labels = padded(records)
        opt.zero_grad(set_to_none=True)
        loss = model(ids, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        print(f"step {step + 1}/{len(batches)} loss {loss.item():.4f} padded {ids.numel()}", file=sys.stderr, flush=True)
    seconds = time.time() - t0
    print(json.dumps({"trained_tokens": tokens, "steps": len(batches), "epoch_s": round(seconds, 2),
                      "tokens_per_s": round(tokens / seconds, 1), "val_loss": round(validation_loss(model, val, a.batch), 4),
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
