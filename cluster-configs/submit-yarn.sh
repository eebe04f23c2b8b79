#!/usr/bin/env bash
# Runs `laketune prepare|train RUN_FILE` on YARN: one executor per training worker, with GPUs
# (YARN's yarn.io/gpu resource; GPUS_PER_WORKER=0 for CPU workers).
#
#   SPARK_HOME=/opt/spark HADOOP_CONF_DIR=/etc/hadoop/conf \
#     cluster-configs/submit-yarn.sh train cluster-configs/llama3-8b_qlora_yarn-gpu.conf
#
# Cluster mode by default: the driver loads the base model too, and with the CUDA build it needs a
# GPU, which the driver's container gets there. QUEUE picks the YARN queue; `submit-yarn.sh` with no
# arguments lists every setting.
set -euo pipefail
GPUS_DEFAULT=1
DEPLOY_DEFAULT=cluster
. "$(dirname "${BASH_SOURCE[0]}")/submit-common.sh"
submit_parse_args "$@"
submit_common_args

# Spark ships getGpusResources.sh; YARN containers run it from their working directory.
GPU_DISCOVERY_SCRIPT="${GPU_DISCOVERY_SCRIPT:-$SPARK_HOME/examples/src/main/scripts/getGpusResources.sh}"
files="$RUN_FILE"
if [ "$EXECUTOR_GPUS" -gt 0 ]; then
  [ -f "$GPU_DISCOVERY_SCRIPT" ] || submit_die "no GPU discovery script at $GPU_DISCOVERY_SCRIPT; set GPU_DISCOVERY_SCRIPT"
  files="$files,$GPU_DISCOVERY_SCRIPT"
  SUBMIT+=(--conf "spark.executor.resource.gpu.discoveryScript=./$(basename "$GPU_DISCOVERY_SCRIPT")")
  if [ "$DEPLOY_MODE" = cluster ]; then
    SUBMIT+=(--conf spark.driver.resource.gpu.amount=1
      --conf "spark.driver.resource.gpu.discoveryScript=./$(basename "$GPU_DISCOVERY_SCRIPT")")
  fi
fi
SUBMIT+=(--master yarn --num-executors "$EXECUTORS" --files "$files"
  --jars "$(laketune_dependency_jars)"
  # the driver's environment in cluster mode (the application master's container)
  --conf spark.yarn.appMasterEnv.OPT_OUT_TRACKING=true
  --conf spark.yarn.appMasterEnv.DJL_OFFLINE=true
  --conf spark.yarn.appMasterEnv.DJL_CACHE_DIR=./djl-cache)
if [ -n "${QUEUE:-}" ]; then SUBMIT+=(--queue "$QUEUE"); fi
if [ -n "${NODE_JAVA_HOME:-}" ]; then
  SUBMIT+=(--conf "spark.executorEnv.JAVA_HOME=$NODE_JAVA_HOME" --conf "spark.yarn.appMasterEnv.JAVA_HOME=$NODE_JAVA_HOME")
fi
submit_run "$(laketune_app_jar)"
