#!/usr/bin/env bash
# Installs the real llama.cpp client for laketune's GGUF tests: node-llama-cpp 3.21.1 and its
# prebuilt linux-x64 CPU binaries (no CUDA/Vulkan builds, no install scripts: nothing is compiled
# or downloaded after npm), exactly as pinned by package-lock.json beside this script.
#
#   model-zoo/src/test/node/llama-cpp/install.sh [TARGET_DIR]
#
# TARGET_DIR defaults to model-zoo/target/llama-cpp, where the tests look first; elsewhere, point
# them at it with -Dlaketune.llamacpp.dir=DIR or LAKETUNE_LLAMA_CPP_DIR=DIR. Needs node (20+) and npm.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target="${1:-$here/../../../../target/llama-cpp}"
mkdir -p "$target"
target="$(cd "$target" && pwd)"
cp "$here/package.json" "$here/package-lock.json" "$target/"
(cd "$target" && npm ci --omit=optional --ignore-scripts --no-audit --no-fund)
node "$here/llama_cpp_client.mjs" "$target/node_modules" --version
echo "llama.cpp client installed in $target"
