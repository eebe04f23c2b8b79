"""Starts the laketune-java kernel N times, as nbclient does, and counts the starts that answer.

    JUPYTER_PATH=notebooks/target/jupyter /usr/bin/python3 notebooks/src/test/python/kernel_starts.py 30 [TIMEOUT_S]

Each start is a fresh kernel JVM that must answer kernel_info (jupyter_client's wait_for_ready) within
TIMEOUT_S seconds; its output goes to kernel-start-I.log in the working directory, and a kernel that hangs
gets a thread dump (jstack) beside it. Exits 1 if any start hung. NotebooksTest runs it; with
rapaio-jupyter-kernel 3.0.1's own LoopThread, 3 of 12 starts hung on a 2-core machine.
"""
import subprocess
import sys
import time

from jupyter_client import KernelManager


def main():
    starts = int(sys.argv[1])
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 60
    answered, ready_s = 0, []
    for i in range(starts):
        km = KernelManager(kernel_name="laketune-java")
        with open(f"kernel-start-{i}.log", "w") as log:
            km.start_kernel(stdout=log, stderr=log)
            kc = km.client()
            kc.start_channels()
            t0 = time.time()
            try:
                kc.wait_for_ready(timeout=timeout)
                answered += 1
                ready_s.append(time.time() - t0)
                print(f"start {i}: ready in {ready_s[-1]:.1f} s", flush=True)
            except RuntimeError as e:
                print(f"start {i}: {e}; thread dump in kernel-start-{i}.jstack", flush=True)
                with open(f"kernel-start-{i}.jstack", "w") as dump:
                    subprocess.run(["jstack", str(km.provisioner.process.pid)], stdout=dump, stderr=dump)
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    median = sorted(ready_s)[len(ready_s) // 2] if ready_s else float("nan")
    print(f"{answered} of {starts} starts answered kernel_info; median {median:.1f} s to ready")
    sys.exit(0 if answered == starts else 1)


if __name__ == "__main__":
    main()
