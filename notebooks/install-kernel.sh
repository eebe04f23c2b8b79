#!/usr/bin/env bash
# Installs the Jupyter kernel "laketune-java": rapaio-jupyter-kernel (a JShell kernel) on a JVM whose
# class path is laketune's, from the jars the build made (mvn -q -B package -DskipTests first).
#
#   notebooks/install-kernel.sh                 # into ~/.local/share/jupyter/kernels/laketune-java
#   notebooks/install-kernel.sh --prefix DIR    # into DIR/kernels/laketune-java (then JUPYTER_PATH=DIR)
#
# The kernel's JVM gets the project root as LAKETUNE_HOME (the notebooks find the models and the
# cluster-configs from it) and what a multi-process Spark cluster on this machine needs
# (SPARK_HOME, SPARK_DIST_CLASSPATH): notebook 04 starts one.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="${XDG_DATA_HOME:-$HOME/.local/share}/jupyter"
if [ "${1:-}" = "--prefix" ]; then
  [ $# -eq 2 ] || { echo "install-kernel.sh: --prefix needs a directory" >&2; exit 2; }
  prefix="$2"
elif [ $# -gt 0 ]; then
  echo "install-kernel.sh: unknown argument '$1'; use --prefix DIR or nothing" >&2
  exit 2
fi
cp_file="$here/spark-trainer/target/classpath.txt"
kernel_jar="$here/notebooks/target/kernel/rapaio-jupyter-kernel.jar"
launcher="$here/notebooks/target/classes"
if [ ! -f "$cp_file" ] || [ ! -f "$kernel_jar" ] || [ ! -d "$here/spark-trainer/target/classes/io/laketune" ] \
    || [ ! -f "$launcher/io/laketune/notebooks/KernelMain.class" ]; then
  echo "install-kernel.sh: not built yet; run 'mvn -q -B package -DskipTests' in $here first." >&2
  exit 2
fi
cp="$here/spark-trainer/target/classes:$here/data-prep/target/classes:$here/model-zoo/target/classes:$(cat "$cp_file")"
dir="$prefix/kernels/laketune-java"
mkdir -p "$dir" "$here/notebooks/target/spark-home/jars"
# What Spark's launcher passes to its JVMs on Java 17 (as bin/laketune): Spark runs inside the kernel.
opens=()
for p in java.lang java.lang.invoke java.lang.reflect java.io java.net java.nio java.util \
    java.util.concurrent java.util.concurrent.atomic jdk.internal.ref sun.nio.ch sun.nio.cs \
    sun.security.action sun.util.calendar; do
  opens+=("--add-opens=java.base/$p=ALL-UNNAMED")
done
python3 - "$dir/kernel.json" "$kernel_jar" "$launcher" "$cp" "$here" "${LAKETUNE_KERNEL_XMX:-6g}" "${opens[@]}" <<'PY'
import json, sys
out, jar, launcher, cp, home, xmx, opens = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7:]
argv = (["java", "-Xmx" + xmx, "-XX:+IgnoreUnrecognizedVMOptions", "--add-modules=jdk.incubator.vector"] + opens
        + ["-Djdk.reflect.useDirectMethodHandle=false", "-Dio.netty.tryReflectionSetAccessible=true",
           "-Dai.djl.offline=true", "-Djava.awt.headless=true",
           # KernelMain starts the kernel's MainApp; laketune's classes come first so that the channels
           # run on its LoopThread, without 3.0.1's start-up races (see LoopThread's javadoc).
           "-cp", launcher + ":" + jar + ":" + cp, "io.laketune.notebooks.KernelMain", "{connection_file}"])
env = {
    # JShell compiles cells against this class path (the kernel reads it ';'-separated).
    "RJK_CLASSPATH": (jar + ":" + cp).replace(":", ";"),
    "LAKETUNE_HOME": home,
    "OPT_OUT_TRACKING": "true", "DJL_OFFLINE": "true",
    "SPARK_HOME": home + "/notebooks/target/spark-home", "SPARK_SCALA_VERSION": "2.13",
    "SPARK_DIST_CLASSPATH": cp, "SPARK_LOCAL_IP": "127.0.0.1",
}
spec = {"argv": argv, "display_name": "Java (laketune)", "language": "java",
        "interrupt_mode": "message", "env": env}
with open(out, "w") as f:
    json.dump(spec, f, indent=1)
PY
echo "installed kernel laketune-java in $dir"
