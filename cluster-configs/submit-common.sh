# Sourced by submit-yarn.sh, submit-k8s.sh, submit-standalone.sh and stage-jars.sh: what every
# laketune spark-submit line has in common. Not meant to be run on its own.
#
# After `submit_parse_args "$@"` and `submit_common_args`, the array SUBMIT holds the spark-submit
# options shared by all cluster managers and APP_ARGS the laketune arguments; each script adds its
# manager's options and calls submit_run.

LAKETUNE_HOME="${LAKETUNE_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
LAKETUNE_CLASS=io.laketune.cli.Laketune

submit_die() {
  echo "$(basename "$0"): $*" >&2
  exit 2
}

submit_usage() {
  cat >&2 <<EOF
usage: $(basename "$0") prepare|train RUN_FILE [laketune options, e.g. --set max_steps=100]

Environment (default in brackets):
  SPARK_HOME        the Spark 4.1 (Scala 2.13) distribution whose bin/spark-submit runs the job
  SPARK_MASTER      standalone: spark://HOST:7077 (required); yarn, k8s: set by the script
  WORKERS           train: executors, one training worker each [the run file's workers]
  CORES_PER_WORKER  CPU cores of a worker's executor, all used by its one task [1]
  GPUS_PER_WORKER   GPUs of a worker's executor (build with -Pcuda) [$GPUS_DEFAULT]
  EXECUTOR_MEMORY   JVM heap of an executor [8g]
  OFFHEAP_MEMORY    native memory of an executor for ND4J: frozen weights, activations [24g]
  DRIVER_MEMORY     JVM heap of the driver [8g]
  DRIVER_OFFHEAP    native memory of the driver (it loads the base model too) [OFFHEAP_MEMORY]
  DEPLOY_MODE       client or cluster [$DEPLOY_DEFAULT]
  PREP_EXECUTORS    prepare: executors [4]
  PREP_CORES        prepare: cores per executor [4]
  NATIVE_BUILDS     ND4J CPU builds to ship, comma-separated (plain, onednn-avx2, ...) or all: every
                    build of the local build's class path; each executor loads the fastest one its
                    own CPU runs [all: plain and onednn-avx2, safe on mixed hardware]
  EXTRA_SUBMIT_ARGS more spark-submit options, split at spaces
  DRY_RUN=1         print the spark-submit command instead of running it
EOF
  exit 2
}

# Reads COMMAND and RUN_FILE; the rest are laketune options.
submit_parse_args() {
  [ $# -ge 2 ] || submit_usage
  COMMAND="$1"
  RUN_FILE="$2"
  shift 2
  EXTRA_APP_ARGS=("$@")
  case "$COMMAND" in
    prepare|train) ;;
    *) submit_die "the command must be prepare or train (eval, generate and export run in one JVM: use bin/laketune), not '$COMMAND'" ;;
  esac
  [ -f "$RUN_FILE" ] || submit_die "the run file $RUN_FILE does not exist"
  [ -n "${SPARK_HOME:-}" ] || submit_die "set SPARK_HOME to a Spark 4.1 distribution (its bin/spark-submit runs the job)"
  [ -d "$SPARK_HOME/jars" ] || submit_die "SPARK_HOME=$SPARK_HOME has no jars/ folder; is it a Spark distribution?"
  CORES_PER_WORKER="${CORES_PER_WORKER:-1}"
  GPUS_PER_WORKER="${GPUS_PER_WORKER:-$GPUS_DEFAULT}"
  EXECUTOR_MEMORY="${EXECUTOR_MEMORY:-8g}"
  OFFHEAP_MEMORY="${OFFHEAP_MEMORY:-24g}"
  DRIVER_MEMORY="${DRIVER_MEMORY:-8g}"
  DRIVER_OFFHEAP="${DRIVER_OFFHEAP:-$OFFHEAP_MEMORY}"
  DEPLOY_MODE="${DEPLOY_MODE:-$DEPLOY_DEFAULT}"
  laketune_check_build
  if [ "$COMMAND" = train ]; then
    # the run file's `workers = N` (the last one set), else reference.conf's default
    local from_file
    from_file="$(sed -n -E 's/^[[:space:]]*workers[[:space:]]*=[[:space:]]*([0-9]+).*/\1/p' "$RUN_FILE" | tail -n 1)"
    WORKERS="${WORKERS:-${from_file:-2}}"
    EXECUTORS="$WORKERS"
    EXECUTOR_CORES="$CORES_PER_WORKER"
    EXECUTOR_GPUS="$GPUS_PER_WORKER"
  else
    EXECUTORS="${PREP_EXECUTORS:-4}"
    EXECUTOR_CORES="${PREP_CORES:-4}"
    EXECUTOR_GPUS=0
  fi
}

# Comma-separated jars for --jars: laketune's data-prep and model-zoo and every dependency the Spark
# distribution does not already have (compared by artifact name: Spark's own copy wins on its class
# path anyway), less the ND4J native builds NATIVE_BUILDS leaves out. The application jar itself is
# spark-trainer's.
laketune_dependency_jars() {
  local cp_file="$LAKETUNE_HOME/spark-trainer/target/classpath.txt"
  [ -f "$cp_file" ] || submit_die "laketune is not built: run 'mvn -q -B package -DskipTests' in $LAKETUNE_HOME first"
  local provided jar name build out=""
  provided="$(for jar in "$SPARK_HOME"/jars/*.jar; do [ -e "$jar" ] && laketune_artifact "$(basename "$jar")"; done | sort -u)"
  for jar in $(tr ':' ' ' < "$cp_file"); do
    build="$(laketune_native_build "$(basename "$jar")")"
    if [ -n "$build" ]; then
      laketune_wanted_build "$build" || continue
    fi
    name="$(laketune_artifact "$(basename "$jar")")"
    if ! grep -qxF -- "$name" <<< "$provided"; then
      out="${out:+$out,}$jar"
    fi
  done
  echo "$out"
}

# Called in the scripts' own shell (laketune_dependency_jars runs in a subshell, where exiting would
# not stop them): the build must exist and NATIVE_BUILDS name builds it has.
laketune_check_build() {
  local cp_file="$LAKETUNE_HOME/spark-trainer/target/classpath.txt" want available
  [ -f "$cp_file" ] || submit_die "laketune is not built: run 'mvn -q -B package -DskipTests' in $LAKETUNE_HOME first"
  [ -n "${NATIVE_BUILDS:-}" ] && [ "$NATIVE_BUILDS" != all ] || return 0
  available="$(laketune_native_builds_available "$cp_file")"
  for want in ${NATIVE_BUILDS//,/ }; do
    [[ ", $available," == *", $want,"* ]] || submit_die "NATIVE_BUILDS names $want, but the local build has no such ND4J build (it has: $available); build with -Pall-native-builds for the others"
  done
}

# nd4j-native-1.0.0-M2.1-linux-x86_64-onednn-avx2.jar -> onednn-avx2; ...-linux-x86_64.jar -> plain;
# any other jar (the Java classes included) -> nothing.
laketune_native_build() {
  case "$1" in
    nd4j-native-[0-9]*-linux-x86_64.jar) echo plain ;;
    nd4j-native-[0-9]*-linux-x86_64-*.jar) sed -E 's/^nd4j-native-[0-9][^-]*(-M[0-9.]+)?-linux-x86_64-(.*)\.jar$/\2/' <<< "$1" ;;
  esac
}

laketune_wanted_build() {
  [ -z "${NATIVE_BUILDS:-}" ] || [ "$NATIVE_BUILDS" = all ] || [[ ",$NATIVE_BUILDS," == *",$1,"* ]]
}

laketune_native_builds_available() {
  local jar b out=""
  for jar in $(tr ':' ' ' < "$1"); do
    b="$(laketune_native_build "$(basename "$jar")")"
    [ -n "$b" ] && out="${out:+$out, }$b"
  done
  echo "${out:-none}"
}

# jackson-databind-2.21.2.jar -> jackson-databind; log4j-1.2-api-2.24.3.jar -> log4j-1.2-api;
# netty-transport-native-epoll-4.2.7.Final-linux-x86_64.jar -> netty-transport-native-epoll
laketune_artifact() {
  sed -E 's/^(.*)-[0-9].*\.jar$/\1/' <<< "$1"
}

laketune_app_jar() {
  local jar
  jar="$(ls "$LAKETUNE_HOME"/spark-trainer/target/spark-trainer-*.jar 2>/dev/null | grep -v -e '-tests.jar$' -e '-sources.jar$' | head -n 1)"
  [ -n "$jar" ] || submit_die "laketune is not built: run 'mvn -q -B package -DskipTests' in $LAKETUNE_HOME first"
  echo "$jar"
}

# What bin/laketune and the root pom's spark.java.options give an embedded Spark on Java 17.
# Spark's launcher adds the --add-opens itself; repeating them is harmless and keeps executors
# right where a cluster's spark-defaults.conf sets its own extraJavaOptions.
laketune_java_options() {
  local opts="-XX:+IgnoreUnrecognizedVMOptions --add-modules=jdk.incubator.vector" p
  for p in java.lang java.lang.invoke java.lang.reflect java.io java.net java.nio java.util \
      java.util.concurrent java.util.concurrent.atomic jdk.internal.ref sun.nio.ch sun.nio.cs \
      sun.security.action sun.util.calendar; do
    opts="$opts --add-opens=java.base/$p=ALL-UNNAMED"
  done
  echo "$opts -Djdk.reflect.useDirectMethodHandle=false -Dio.netty.tryReflectionSetAccessible=true -Dai.djl.offline=true"
}

# "24g" -> bytes, for JavaCPP's limits on native memory.
laketune_bytes() {
  local v="$1" n unit
  n="${v%[kKmMgGtT]}"
  unit="${v#"$n"}"
  case "$unit" in
    k|K) echo $((n * 1024)) ;;
    m|M) echo $((n * 1024 * 1024)) ;;
    g|G) echo $((n * 1024 * 1024 * 1024)) ;;
    t|T) echo $((n * 1024 * 1024 * 1024 * 1024)) ;;
    *) echo "$n" ;;
  esac
}

# ND4J allocates outside the JVM heap through JavaCPP, which by default refuses to go past the heap
# size: raise its limits to what the container has, and tell the cluster manager about it.
laketune_jvm_options() {
  local heap="$1" offheap="$2"
  local max_bytes physical
  max_bytes="$(laketune_bytes "$offheap")"
  physical=$(($(laketune_bytes "$heap") + max_bytes))
  echo "$(laketune_java_options) -Dorg.bytedeco.javacpp.maxbytes=$max_bytes -Dorg.bytedeco.javacpp.maxphysicalbytes=$physical"
}

submit_common_args() {
  SUBMIT=(--class "$LAKETUNE_CLASS" --name "laketune $COMMAND $(basename "$RUN_FILE")" --deploy-mode "$DEPLOY_MODE"
    --driver-memory "$DRIVER_MEMORY" --executor-memory "$EXECUTOR_MEMORY"
    --conf "spark.driver.memoryOverhead=$DRIVER_OFFHEAP"
    --conf "spark.executor.memoryOverhead=$OFFHEAP_MEMORY"
    --conf "spark.driver.extraJavaOptions=$(laketune_jvm_options "$DRIVER_MEMORY" "$DRIVER_OFFHEAP")"
    --conf "spark.executor.extraJavaOptions=$(laketune_jvm_options "$EXECUTOR_MEMORY" "$OFFHEAP_MEMORY")"
    # no network call the user did not ask for: DJL's usage tracking stays off on every JVM
    --conf spark.executorEnv.OPT_OUT_TRACKING=true
    --conf spark.executorEnv.DJL_OFFLINE=true
    # DJL unpacks its tokenizer library here: the container's working directory, not $HOME
    --conf spark.executorEnv.DJL_CACHE_DIR=./djl-cache
    --conf "spark.executorEnv.OMP_NUM_THREADS=$EXECUTOR_CORES"
    # one task per executor: a training worker owns its executor's cores (and GPU)
    --conf "spark.executor.cores=$EXECUTOR_CORES")
  if [ "$COMMAND" = train ]; then
    SUBMIT+=(--conf "spark.task.cpus=$EXECUTOR_CORES"
      # the executors keep the base model in memory across rounds: keep the executors
      --conf spark.dynamicAllocation.enabled=false
      # gradients of a full fine-tune come back to the driver: no 1 GB cap
      --conf spark.driver.maxResultSize=0)
  fi
  if [ "$EXECUTOR_GPUS" -gt 0 ]; then
    SUBMIT+=(--conf "spark.executor.resource.gpu.amount=$EXECUTOR_GPUS"
      --conf "spark.task.resource.gpu.amount=$EXECUTOR_GPUS")
  fi
  APP_ARGS=("$COMMAND" --config "$(submit_config_path)")
  if [ "$COMMAND" = train ]; then APP_ARGS+=(--set "workers=$WORKERS"); fi
  APP_ARGS+=("${EXTRA_APP_ARGS[@]}")
}

# Where the driver reads the run file. Each script may override this.
submit_config_path() {
  if [ "$DEPLOY_MODE" = cluster ]; then basename "$RUN_FILE"; else (cd "$(dirname "$RUN_FILE")" && echo "$(pwd)/$(basename "$RUN_FILE")"); fi
}

submit_run() {
  local extra=()
  if [ -n "${EXTRA_SUBMIT_ARGS:-}" ]; then read -r -a extra <<< "$EXTRA_SUBMIT_ARGS"; fi
  local cmd=("$SPARK_HOME/bin/spark-submit" "${SUBMIT[@]}" "${extra[@]}" "$@" "${APP_ARGS[@]}")
  if [ -n "${DRY_RUN:-}" ]; then
    printf '%q ' "${cmd[@]}"
    echo
  else
    exec "${cmd[@]}"
  fi
}
