#!/usr/bin/env bash
# On a GPU machine (no Node, no registry): build the addon against the machine's own torch, run the native tests
# (CPU-vs-CUDA agreement, double-backward gradient checks on CUDA) and the benchmarks on CUDA; write everything
# to the folder given as $1. Needs .gpu/ (bench/gpu/prepare.sh) and dist/ carried from the development machine.
set -uo pipefail
source "$(dirname "$0")/setup.sh" "$@"
# The CUDA tests; not the node-gyp build of binding.gyp (CI builds it on a CPU; node-gyp is not in .gpu/).
MMDISCO_SKIP_GYP_BUILD=1 node node_modules/mocha/bin/mocha.js --no-config --timeout 600000 'dist/test/native/*.test.js' 2>&1 | tee "$out/tests.txt"
bench() {
  echo "== $*" | tee -a "$out/bench.txt"
  timeout "${BENCH_LIMIT:-200}" node "$@" 2>&1 | tee -a "$out/bench.txt"
}
bench dist/bench/toyStep.js --device cuda --steps 100
# MM-Diffusion discriminator at the paper shape (spec/performance-anchors.md: batch 8 of 16×3×64×64 + 25,600 samples)
bench dist/bench/discriminatorStep.js --device cuda --frames 16 --size 64 --audio-samples 25600 --batch 8 --repeats 3
bench dist/bench/baseStep.js --device cuda --profile
# Data-parallel scaling over the node's GPUs (NCCL, 1, 2, 4, 8 ranks up to the GPU count); a 1-GPU machine has no
# scaling to measure, and its device time goes to the curves instead
gpus=$(nvidia-smi --list-gpus 2>/dev/null | wc -l)
[ "$gpus" -ge 2 ] && bench dist/bench/dataParallel.js --device cuda
# Scaling curves of the training step from the paper's base point (16 frames of 64², 25,600 samples): batch, frames,
# resolution; last, as the longest (each point a fresh process pair; the results file grows point by point, so a run
# stopped at its limit keeps the points it finished)
BENCH_LIMIT=400 bench dist/bench/stepCurves.js --device cuda --base-frames 16 --base-size 64 --base-audio-samples 25600 \
  --batch 1,2,4,8 --frames 4,8,16 --size 16,32,64 --repeats 2
