#!/usr/bin/env bash
# Runs `laketune prepare|train RUN_FILE` on Kubernetes: one executor pod per training worker, with
# an NVIDIA GPU each (GPUS_PER_WORKER=0 for CPU pods).
#
#   SPARK_HOME=/opt/spark K8S_API=https://k8s-api:6443 LAKETUNE_IMAGE=my-registry/laketune:0.1.0 \
#     cluster-configs/submit-k8s.sh train cluster-configs/llama3-8b_lora_k8s.conf
#
# The image is a Spark 4.1 / Java 17 image with laketune's jars and run files added by
# cluster-configs/stage-jars.sh (see cluster-configs/README.md): the driver pod reads the run file
# from the image, so rebuild it after editing one. K8S_NAMESPACE and K8S_SERVICE_ACCOUNT pick where
# the pods run [default, spark]; `submit-k8s.sh` with no arguments lists every setting.
set -euo pipefail
GPUS_DEFAULT=1
DEPLOY_DEFAULT=cluster
. "$(dirname "${BASH_SOURCE[0]}")/submit-common.sh"
submit_parse_args "$@"
IMAGE_DIR="${LAKETUNE_IMAGE_DIR:-/opt/laketune}"
submit_config_path() {
  echo "$IMAGE_DIR/conf/$(basename "$RUN_FILE")"
}
submit_common_args
[ -n "${K8S_API:-}" ] || submit_die "set K8S_API to the Kubernetes API server, e.g. https://k8s-api:6443"
[ -n "${LAKETUNE_IMAGE:-}" ] || submit_die "set LAKETUNE_IMAGE to an image with laketune's jars (see cluster-configs/README.md)"

SUBMIT+=(--master "k8s://$K8S_API"
  --conf "spark.kubernetes.container.image=$LAKETUNE_IMAGE"
  --conf "spark.kubernetes.namespace=${K8S_NAMESPACE:-default}"
  --conf "spark.kubernetes.authenticate.driver.serviceAccountName=${K8S_SERVICE_ACCOUNT:-spark}"
  --conf "spark.executor.instances=$EXECUTORS"
  # the jars are in the image: on the class path of every pod, nothing to upload
  --conf "spark.driver.extraClassPath=$IMAGE_DIR/jars/*"
  --conf "spark.executor.extraClassPath=$IMAGE_DIR/jars/*"
  --conf spark.kubernetes.driverEnv.OPT_OUT_TRACKING=true
  --conf spark.kubernetes.driverEnv.DJL_OFFLINE=true
  --conf spark.kubernetes.driverEnv.DJL_CACHE_DIR=/tmp/djl-cache
  --conf spark.executorEnv.DJL_CACHE_DIR=/tmp/djl-cache)
if [ "$EXECUTOR_GPUS" -gt 0 ]; then
  # Spark's images hold getGpusResources.sh at this path
  discovery="${GPU_DISCOVERY_SCRIPT:-/opt/spark/examples/src/main/scripts/getGpusResources.sh}"
  SUBMIT+=(--conf spark.executor.resource.gpu.vendor=nvidia.com
    --conf "spark.executor.resource.gpu.discoveryScript=$discovery"
    --conf spark.driver.resource.gpu.amount=1
    --conf spark.driver.resource.gpu.vendor=nvidia.com
    --conf "spark.driver.resource.gpu.discoveryScript=$discovery")
fi
submit_run "local://$IMAGE_DIR/jars/$(basename "$(laketune_app_jar)")"
