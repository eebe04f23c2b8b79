#!/usr/bin/env bash
# Runs `laketune prepare|train RUN_FILE` on a Spark standalone cluster: one executor per training
# worker, CPU by default; GPUS_PER_WORKER=1 where the standalone workers offer GPUs (their
# spark.worker.resource.gpu.amount and discoveryScript; they hand the GPUs to executors).
#
#   SPARK_HOME=/opt/spark SPARK_MASTER=spark://master:7077 CORES_PER_WORKER=16 \
#     cluster-configs/submit-standalone.sh train cluster-configs/mistral-7b_lora_standalone.conf
#
# Client mode by default: the driver loop runs here and prints its progress. In cluster mode the run
# file must be at the same path on the machine that runs the driver. `submit-standalone.sh` with no
# arguments lists every setting.
set -euo pipefail
GPUS_DEFAULT=0
DEPLOY_DEFAULT=client
. "$(dirname "${BASH_SOURCE[0]}")/submit-common.sh"
submit_parse_args "$@"
# client mode reads the run file here; cluster mode at the same path on the driver's machine
submit_config_path() {
  (cd "$(dirname "$RUN_FILE")" && echo "$(pwd)/$(basename "$RUN_FILE")")
}
submit_common_args
[ -n "${SPARK_MASTER:-}" ] || submit_die "set SPARK_MASTER to the standalone master, e.g. spark://master:7077"

# standalone has no executor count: it follows from the cores the application may take
SUBMIT+=(--master "$SPARK_MASTER" --total-executor-cores "$((EXECUTORS * EXECUTOR_CORES))"
  --jars "$(laketune_dependency_jars)")
submit_run "$(laketune_app_jar)"
