#!/usr/bin/python3
"""One SFT epoch, laketune against PyTorch as HF Trainer does it, on the same data (issue 12, goal 2).

Data: prompt/completion records at their natural lengths: the Debian FAQ's sections (question ->
answer, Debian's /usr/share/doc/debian/FAQ/debian-faq.en.txt.gz) and the demo's State of the Union
passages (two sentences -> the next two), every --every'th record kept; tokenized once by
`laketune prepare` (Llama 3's tokenizer, prompts masked, EOS appended and trained, seq_len 1024,
greedy packing with document masks, laketune's seeded 10% validation split). The documents of both
splits are exported from the prepared shards (SftEpochBenchmark export), so the peer trains on the
identical token ids and labels. Model: the benchmark shape (hidden 512, 8 layers, 8 heads,
intermediate 1408) with Llama 3's 128,256-token vocab, seeded init (SyncBenchmark.writeModel),
fp32, LoRA r=16 alpha 32 on all linear modules of the blocks, no dropout.

laketune: `laketune train` in local mode, 1 worker with 2 threads, micro-batch 1 packed row of up to
1024 tokens per step. PyTorch (sft_epoch_peer.py): batches of round(train records / laketune's
steps) records padded to their longest, logits for every position. Both: AdamW lr --lr, no weight
decay, linear decay without warm-up, clipping at 1.0, one epoch, validation loss = token-weighted
mean cross-entropy over the completion tokens of the validation records.
Trained tokens/s = the non-padding tokens of the training records (prompt + completion; the same
count for both) / epoch training seconds. Every child runs under the shared heavy lock.

Run (from the repository root, after mvn -q package -DskipTests):
  /usr/bin/python3 model-zoo/src/test/python/sft_epoch_bench.py [--workdir /tmp/laketune-sft-bench]
      [--every 2] [--lr 1e-3] [--tools laketune,pytorch]
"""
import argparse
import fcntl
import gzip
import json
import os
import shutil
import subprocess
import time

from long_context_bench import HERE, LOCK, ROOT, require_torch

FAQ = "/usr/share/doc/debian/FAQ/debian-faq.en.txt.gz"
TOKENIZER = os.path.join(ROOT, "model-zoo/src/test/resources/tokenizers/llama3")
LAKETUNE = os.path.join(ROOT, "bin/laketune")


def locked(cmd, env, log):
    """Runs cmd under the heavy lock, its output into log; returns its wall seconds."""
    with open(LOCK, "w") as lock, open(log, "w") as out:
        fcntl.flock(lock, fcntl.LOCK_EX)
        t0 = time.time()
        rc = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT).returncode
        seconds = time.time() - t0
    if rc != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {rc}); see {log}")
    return seconds


def prepare(work, every, env):
    """records.jsonl, model/, data/ and the exported {train,validation}.tokens.jsonl under work."""
    tok = os.path.join(work, "tokenizer")
    os.makedirs(tok, exist_ok=True)
    with gzip.open(os.path.join(TOKENIZER, "tokenizer.json.gz")) as src, open(os.path.join(tok, "tokenizer.json"), "wb") as dst:
        shutil.copyfileobj(src, dst)
    shutil.copy(os.path.join(TOKENIZER, "tokenizer_config.json"), tok)
    with open(os.path.join(tok, "tokenizer.json")) as f:
        t = json.load(f)
    vocab = max(list(t["model"]["vocab"].values()) + [a["id"] for a in t["added_tokens"]]) + 1
    bench = dict(env, LAKETUNE_MAIN="io.laketune.bench.SftEpochBenchmark")
    locked([LAKETUNE, "setup", work, FAQ, tok, str(vocab)], bench, os.path.join(work, "setup.log"))
    with open(os.path.join(work, "records.jsonl")) as f:
        kept = [line for i, line in enumerate(f) if i % every == 0]
    with open(os.path.join(work, "records.jsonl"), "w") as f:
        f.writelines(kept)
    with open(os.path.join(work, "prepare.conf"), "w") as f:
        f.write(f"""laketune.prep {{
  input = "{work}/records.jsonl"
  output = "{work}/data"
  tokenizer = "{work}/model"
  format.type = prompt_completion
  length.seq_len = 1024
  split.validation_fraction = 0.1
  progress_seconds = 0
}}
""")
    locked([LAKETUNE, "prepare", "--config", os.path.join(work, "prepare.conf")], env, os.path.join(work, "prepare.log"))
    for split in ("train", "validation"):
        locked([LAKETUNE, "export", os.path.join(work, "data"), split, os.path.join(work, f"{split}.tokens.jsonl")],
               bench, os.path.join(work, f"export-{split}.log"))


def laketune_epoch(work, lr, env):
    run = os.path.join(work, "run")
    shutil.rmtree(run, ignore_errors=True)
    conf = os.path.join(work, "train.conf")
    with open(conf, "w") as f:
        f.write(f"""laketune.train {{
  model = "{work}/model"
  data = "{work}/data"
  output = "{run}"
  method = lora
  frozen_dtype = fp32
  lora {{ r = 16, alpha = 32, dropout = 0.0, target_modules = all-linear }}
  workers = 1
  batch.micro_batch_size = 1
  epochs = 1
  optimizer {{ lr = {lr}, weight_decay = 0.0, max_grad_norm = 1.0 }}
  schedule {{ type = linear, warmup_steps = 0 }}
}}
""")
    wall = locked([LAKETUNE, "train", "--config", conf], env, os.path.join(work, "train.log"))
    with open(os.path.join(run, "metrics.jsonl")) as f:
        metrics = [json.loads(line) for line in f]
    steps = [m for m in metrics if "round_ms" in m]
    evals = [m for m in metrics if "eval_loss" in m]
    return {"epoch_s": sum(m["round_ms"] for m in steps) / 1000.0, "wall_s": wall, "steps": len(steps),
            "val_loss": evals[-1]["eval_loss"]}


def pytorch_epoch(work, lr, batch, env):
    log = os.path.join(work, "peer.log")
    cmd = ["/usr/bin/python3", os.path.join(HERE, "sft_epoch_peer.py"), os.path.join(work, "model"),
           os.path.join(work, "train.tokens.jsonl"), os.path.join(work, "validation.tokens.jsonl"),
           "--batch", str(batch), "--lr", str(lr)]
    wall = locked(cmd, env, log)
    with open(log) as f:
        r = json.loads([line for line in f if line.startswith("{")][-1])
    return {"epoch_s": r["epoch_s"], "wall_s": wall, "steps": r["steps"], "val_loss": r["val_loss"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", default="/tmp/laketune-sft-bench")
    ap.add_argument("--every", type=int, default=2, help="keep every N-th record (1: all 585)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--tools", default="laketune,pytorch")
    ap.add_argument("--reuse", action="store_true", help="reuse the workdir's prepared data")
    a = ap.parse_args()
    work = os.path.abspath(a.workdir)
    if "pytorch" in a.tools.split(","):
        require_torch()
    env = dict(os.environ, OMP_NUM_THREADS="2", OMP_WAIT_POLICY="PASSIVE")
    if not a.reuse:
        shutil.rmtree(work, ignore_errors=True)
        prepare(work, a.every, env)
    with open(os.path.join(work, "train.tokens.jsonl")) as f:
        train = [json.loads(line) for line in f]
    with open(os.path.join(work, "data", "manifest.json")) as f:
        rows = json.load(f)["splits"]["train"]["rows"]
    tokens = sum(len(r["input_ids"]) for r in train)
    trained = sum(sum(1 for x in r["labels"] if x != -100) for r in train)
    batch = max(1, round(len(train) / rows))
    print(f"train: {len(train)} records, {tokens} tokens ({trained} completion tokens), {rows} packed rows of <= 1024; "
          f"PyTorch batch {batch} records", flush=True)
    results = {}
    for tool in a.tools.split(","):
        results[tool] = laketune_epoch(work, a.lr, env) if tool == "laketune" else pytorch_epoch(work, a.lr, batch, env)
        print(tool, json.dumps(results[tool]), flush=True)
    print("| tool | steps | trained tokens/s | epoch s (training) | wall s (incl. startup) | validation loss |")
    print("|---|---|---|---|---|---|")
    for tool, r in results.items():
        print(f"| {tool} | {r['steps']} | {tokens / r['epoch_s']:.0f} | {r['epoch_s']:.1f} | {r['wall_s']:.1f} | {r['val_loss']:.4f} |")
    if len(results) == 2:
        lt, pt = results["laketune"], results["pytorch"]
        print(f"| ratio laketune/PyTorch | | {pt['epoch_s'] / lt['epoch_s']:.2f}x | {pt['epoch_s'] / lt['epoch_s']:.2f}x faster | "
              f"{pt['wall_s'] / lt['wall_s']:.2f}x faster | {lt['val_loss'] - pt['val_loss']:+.4f} |")


if __name__ == "__main__":
    main()
