#!/usr/bin/python3
"""Longest trainable context within one memory budget: laketune against its PyTorch eager peer.

For each tool, seq_len doubles from 256 until a step fails, its peak resident memory exceeds the
budget (the child is killed there), or --max-seq. Each step is `laketune bench --method LORA
--batch 1 --checkpointing` or long_context_peer.py (LoRA r=16 all-linear, activation checkpointing
in both; one warm-up step and one timed step each). Peak memory is the child's VmHWM from
/proc/<pid>/status, polled every 50 ms. laketune gets the budget as -Xmx2g plus JavaCPP
maxbytes/maxphysicalbytes; PyTorch has no such knob and is held to it by the same kill.
Every child runs under the shared heavy lock; the machine is shared, so tokens/s is noisy.

Run (from the repository root, after mvn -q package -DskipTests):
  /usr/bin/python3 model-zoo/src/test/python/long_context_bench.py [--budget-gb 16] [--max-seq 32768]
      [--tools laketune,pytorch] [--seqs 1024,4096] [--method lora|full|qlora (laketune only)]
"""
import argparse
import fcntl
import os
import re
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../../../.."))
LOCK = "/tmp/laketune-heavy.lock"


def require_torch():
    """Stops with one sentence when the PyTorch peer cannot run on this machine."""
    if subprocess.run(["/usr/bin/python3", "-c", "import torch"], capture_output=True).returncode != 0:
        raise SystemExit("the PyTorch peer needs Debian's torch: apt-get install python3-torch libopenblas0-pthread"
                         " (or leave pytorch out of --tools)")


def vm_hwm_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def run(cmd, env, budget_kb, timeout_s, keep_output=False):
    """(status, tokens/s or None, peak KB, seconds[, its output]) of one child; the heavy lock held
    around it."""
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        t0 = time.time()
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        peak, status = 0, None
        while p.poll() is None:
            hwm = vm_hwm_kb(p.pid)
            if hwm is not None:
                peak = max(peak, hwm)
            if peak > budget_kb:
                status = "over budget"
                p.kill()
            elif time.time() - t0 > timeout_s:
                status = "time limit"
                p.kill()
            time.sleep(0.05)
        out = p.stdout.read()
        seconds = time.time() - t0
    m = re.search(r"([0-9.]+) tokens/s", out) or re.search(r"tokens/s: ([0-9.]+)", out)
    if status is None:
        status = "ok" if p.returncode == 0 and m else "failed: " + (out.strip().splitlines() or ["?"])[-1][:120]
    result = (status, float(m.group(1)) if m and status == "ok" else None, peak, seconds)
    return result + (out,) if keep_output else result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget-gb", type=float, default=16.0)
    ap.add_argument("--max-seq", type=int, default=32768)
    ap.add_argument("--tools", default="laketune,pytorch")
    ap.add_argument("--seqs", default=None,
                    help="comma-separated seq_lens to run instead of doubling from 256 (e.g. 1024,4096)")
    ap.add_argument("--timeout-s", type=int, default=1500)
    ap.add_argument("--method", default="lora", choices=["lora", "full", "qlora"],
                    help="laketune's method (the PyTorch peer trains LoRA only)")
    ap.add_argument("--single-step-from", type=int, default=16384,
                    help="from this seq_len on, laketune runs its one timed step without a warm-up step "
                         "(its first step is slower: it sizes the workspaces)")
    a = ap.parse_args()
    budget_kb = int(a.budget_gb * 1024 * 1024)
    if "pytorch" in a.tools.split(","):
        require_torch()
        if a.method != "lora":
            raise SystemExit("the PyTorch peer trains LoRA only: give --tools laketune with --method " + a.method)
    env = dict(os.environ, OMP_NUM_THREADS="2", OMP_WAIT_POLICY="PASSIVE")
    gb = int(a.budget_gb)
    java_env = dict(env, LAKETUNE_JAVA_OPTS=f"-Xmx2g -Dorg.bytedeco.javacpp.maxbytes={gb - 2}g "
                    f"-Dorg.bytedeco.javacpp.maxphysicalbytes={gb}g")
    tools = {
        "laketune": lambda s: ([os.path.join(ROOT, "bin/laketune"), "bench", "--method", a.method.upper(), "--batch", "1",
                                "--seq", str(s), "--steps", "1", "--warmup", "0" if s >= a.single_step_from else "1",
                                "--checkpointing"], java_env),
        "pytorch": lambda s: (["/usr/bin/python3", os.path.join(HERE, "long_context_peer.py"), str(s), "1",
                               "--checkpointing"], env),
    }
    what = {"lora": "LoRA r=16 all-linear", "qlora": "QLoRA NF4 r=16 all-linear", "full": "full fine-tuning"}[a.method]
    print(f"budget {a.budget_gb:g} GB peak resident memory (VmHWM), {what}, batch 1, "
          f"activation checkpointing on, 2 threads")
    print(f"{'tool':<9} {'seq':>6} {'tokens/s':>9} {'peak RSS GB':>12} {'wall s':>7}  status", flush=True)
    best = {}
    for tool in a.tools.split(","):
        seqs = [int(x) for x in a.seqs.split(",")] if a.seqs else []
        seq = seqs.pop(0) if a.seqs else 256
        while seq <= a.max_seq:
            cmd, e = tools[tool](seq)
            status, tps, peak, secs = run(cmd, e, budget_kb, a.timeout_s)
            print(f"{tool:<9} {seq:>6} {tps if tps else float('nan'):>9.1f} {peak / 1024 / 1024:>12.2f} "
                  f"{secs:>7.0f}  {status}", flush=True)
            if status != "ok":
                break
            best[tool] = seq
            if a.seqs and not seqs:
                break
            seq = seqs.pop(0) if a.seqs else seq * 2
    for tool, seq in best.items():
        print(f"max context within {a.budget_gb:g} GB: {tool} {seq} (tried up to {a.max_seq})")


if __name__ == "__main__":
    main()
