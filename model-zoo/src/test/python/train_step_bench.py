#!/usr/bin/python3
"""Training-step throughput, laketune against its PyTorch eager peer, side by side, equal work.

Both run the benchmark model (Llama-shaped, hidden 512, 8 layers, 8 heads, intermediate 1408,
vocab 8192) in fp32 with the same threads, the same batch and one step = forward + backward +
clip_grad_norm(1.0) + AdamW: `laketune bench` (io.laketune.bench.TrainStepBenchmark) and
long_context_peer.py (torch 1.13 with OpenBLAS, Debian's python3). Every child runs under the shared
heavy lock (long_context_bench.run); the machine may be shared, so figures are noisy.
MFU and the GEMM peak are laketune's: the best 2048^3 fp32 Nd4j.gemm measured in the same JVM.

Run (from the repository root, after mvn -q package -DskipTests):
  /usr/bin/python3 model-zoo/src/test/python/train_step_bench.py [--methods full,lora,qlora]
      [--shapes 4x256,1x2048] [--steps 3] [--threads 2]
Prints a markdown table: method, batch x seq, laketune tokens/s, PyTorch tokens/s, ratio, MFU, GEMM peak.
"""
import argparse
import os
import re

from long_context_bench import HERE, ROOT, require_torch, run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--methods", default="full,lora,qlora")
    ap.add_argument("--shapes", default="4x256,1x2048", help="comma-separated BATCHxSEQ")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--timeout-s", type=int, default=1800)
    a = ap.parse_args()
    require_torch()
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OMP_WAIT_POLICY="PASSIVE")
    no_budget = 1 << 60
    print("| method | batch x seq | laketune tokens/s | PyTorch tokens/s | ratio | MFU | GEMM peak GFLOP/s |")
    print("|---|---|---|---|---|---|---|", flush=True)
    for shape in a.shapes.split(","):
        batch, seq = (int(v) for v in shape.split("x"))
        for method in a.methods.split(","):
            common = ["--batch", str(batch), "--warmup", str(a.warmup)]
            lt = [os.path.join(ROOT, "bin/laketune"), "bench", "--method", method.upper(), "--seq", str(seq),
                  "--steps", str(a.steps)] + common
            pt = ["/usr/bin/python3", os.path.join(HERE, "long_context_peer.py"), str(seq), str(a.steps),
                  "--method", method] + common
            lt_status, lt_tps, _, _, lt_out = run(lt, env, no_budget, a.timeout_s, keep_output=True)
            pt_status, pt_tps, _, _ = run(pt, env, no_budget, a.timeout_s)
            mfu = re.search(r"MFU ([0-9.]+)%", lt_out)
            peak = re.search(r"Nd4j\.gemm\): ([0-9.]+) GFLOP/s", lt_out)
            ratio = f"{lt_tps / pt_tps:.2f}x" if lt_tps and pt_tps else f"({lt_status} / {pt_status})"
            row = (f"| {method} | {batch} x {seq} | {lt_tps or float('nan'):.0f} | {pt_tps or float('nan'):.0f} | "
                   f"{ratio} | {mfu.group(1) + '%' if mfu else '?'} | "
                   f"{peak.group(1) if peak else '?'} |")
            print(row, flush=True)


if __name__ == "__main__":
    main()
