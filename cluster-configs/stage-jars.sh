#!/usr/bin/env bash
# Copies what a laketune container image needs into DIR: jars/ (laketune's and the dependencies the
# Spark distribution at SPARK_HOME lacks) and conf/ (the run files of cluster-configs/). Build the
# image FROM a Spark 4.1 / Java 17 image with `COPY DIR /opt/laketune` (see README.md here).
#
#   SPARK_HOME=/opt/spark cluster-configs/stage-jars.sh build/laketune-image
#
# NATIVE_BUILDS (default all) picks the ND4J CPU builds the image carries, as for the submit scripts.
set -euo pipefail
GPUS_DEFAULT=1
DEPLOY_DEFAULT=cluster
. "$(dirname "${BASH_SOURCE[0]}")/submit-common.sh"
[ $# -eq 1 ] || submit_die "usage: stage-jars.sh DIR (SPARK_HOME set to the image's Spark distribution)"
[ -n "${SPARK_HOME:-}" ] && [ -d "$SPARK_HOME/jars" ] || submit_die "set SPARK_HOME to the Spark distribution the image is built from"
laketune_check_build
mkdir -p "$1/jars" "$1/conf"
cp "$(laketune_app_jar)" "$1/jars/"
IFS=, read -r -a jars <<< "$(laketune_dependency_jars)"
cp "${jars[@]}" "$1/jars/"
cp "$(dirname "${BASH_SOURCE[0]}")"/*.conf "$1/conf/"
echo "staged $(ls "$1/jars" | wc -l) jars and $(ls "$1/conf" | wc -l) run files in $1"
