#!/usr/bin/env bash
# On a GPU machine (no Node, no registry): build the addon against the machine's own torch, run the native tests
# (CPU-vs-CUDA agreement, double-backward gradient checks on CUDA) and the benchmarks on CUDA; write everything
# to the folder given as $1. Needs .gpu/ (bench/gpu/prepare.sh) and dist/ carried from the development machine.
set -uo pipefail
out=${1:?usage: bench/gpu/run.sh OUT_DIR}
cd "$(dirname "$0")/../.."
mkdir -p "$out" /tmp/node/bin
xz -dc .gpu/node.xz > /tmp/node/bin/node && chmod +x /tmp/node/bin/node
export PATH=/tmp/node/bin:$PATH
[ -e node_modules ] || ln -s .gpu/node_modules node_modules
export MMDISCO_PYTHON=${MMDISCO_PYTHON:-$(command -v python3)}
export GLOO_INCLUDE_DIR=$PWD/.gpu/include CUDA_TOOLKIT_ROOT_DIR=${CUDA_TOOLKIT_ROOT_DIR:-/usr/local/cuda}
export MMDISCO_BENCH_OUT=$out
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  "$MMDISCO_PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
} > "$out/machine.txt" 2>&1
start=$(date +%s)
node node_modules/cmake-js/bin/cmake-js compile --out build -p 16 \
  --CDCUDA_TOOLKIT_ROOT_DIR="$CUDA_TOOLKIT_ROOT_DIR" > "$out/build.log" 2>&1 || { tail -50 "$out/build.log"; exit 1; }
echo "build: $(( $(date +%s) - start )) s" | tee -a "$out/machine.txt"
node -e 'const {native}=require("./dist/ts/native"); const i=native.runtimeInfo(); console.log(JSON.stringify({cuda:i.cudaAvailable, devices:i.cudaDevices, gloo:i.gloo}))' | tee -a "$out/machine.txt"
node node_modules/mocha/bin/mocha.js --no-config --timeout 600000 'dist/test/native/*.test.js' 2>&1 | tee "$out/tests.txt"
bench() {
  echo "== $*" | tee -a "$out/bench.txt"
  timeout 200 node "$@" 2>&1 | tee -a "$out/bench.txt"
}
bench dist/bench/toyStep.js --device cuda --steps 100
# MM-Diffusion discriminator at the paper shape (spec/performance-anchors.md: batch 8 of 16×3×64×64 + 25,600 samples)
bench dist/bench/discriminatorStep.js --device cuda --frames 16 --size 64 --audio-samples 25600 --batch 8 --repeats 3 \
  --python "$MMDISCO_PYTHON"
[ -f dist/bench/baseStep.js ] && bench dist/bench/baseStep.js --device cuda
